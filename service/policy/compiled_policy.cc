#include "service/policy/compiled_policy.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/common/deterministic_bytes.h"
#include "service/common/status_macros.h"
#include "service/jwt/private_key.h"
#include "service/policy/initiator.h"
#include "service/url/url.h"

namespace logout::policy {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxLogoutUriBytes = 2048;
constexpr size_t kMaxSigningKeys = 32;

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 256)), "\"");
}

absl::Status Prefixed(absl::string_view where, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", status.message()));
}

bool ValidName(absl::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<AllowList>> CompileList(
    const google::protobuf::RepeatedPtrField<std::string>& entries, AllowList::Mode mode) {
  return AllowList::Create(std::vector<std::string>(entries.begin(), entries.end()), mode);
}

absl::Status CompileHintSettings(const v1::Client& c, CompiledClient& client) {
  if (!c.id_token_signed_response_alg().empty()) {
    std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(c.id_token_signed_response_alg());
    if (!alg.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("id_token_signed_response_alg ", Quote(c.id_token_signed_response_alg()),
                       " is not accepted (RS256/384/512, PS256/384/512, ES256/384, EdDSA, "
                       "HS256/384/512)"));
    }
    client.id_token_alg = *alg;
  }
  if (jwt::IsHmac(client.id_token_alg)) {
    if (c.client_secret().size() < jwt::HashBytes(client.id_token_alg)) {
      return absl::InvalidArgumentError(
          absl::StrCat("client_secret must be at least ", jwt::HashBytes(client.id_token_alg),
                       " bytes for ", jwt::AlgorithmName(client.id_token_alg)));
    }
  }
  client.client_secret = c.client_secret();
  if (c.has_client_secret_expires_at()) {
    const auto& ts = c.client_secret_expires_at();
    if (ts.nanos() < 0 || ts.nanos() > 999999999) {
      return absl::InvalidArgumentError("client_secret_expires_at is not a valid timestamp");
    }
    client.client_secret_expires_at =
        absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  }
  return absl::OkStatus();
}

// CheckLogoutUri validates a front- or back-channel logout URI: absolute https (http only for
// loopback hosts with allow_http_loopback), no userinfo, no fragment.
absl::StatusOr<url::Url> CheckLogoutUri(absl::string_view field, const std::string& raw,
                                        const PolicyOptions& options) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", Quote(raw), " ", why));
  };
  if (raw.size() > kMaxLogoutUriBytes) return bad("must be at most 2048 bytes");
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("must not contain spaces or control characters");
  }
  absl::StatusOr<url::Url> parsed = url::Url::Parse(raw);
  if (!parsed.ok()) return bad("is not an absolute URL");
  if (parsed->scheme() != "https") {
    if (parsed->scheme() != "http" || !url::IsLoopback(*parsed)) {
      return bad("must be an absolute https URL");
    }
    if (!options.allow_http_loopback) {
      return bad(
          "must be an absolute https URL; http is accepted only for localhost, 127.0.0.1 or "
          "[::1] with allow_http_loopback");
    }
  }
  if (parsed->saw_userinfo_delimiter() || parsed->has_credentials()) {
    return bad("must not contain userinfo ('@' in the authority)");
  }
  if (parsed->has_fragment()) return bad("must not contain a fragment");
  return parsed;
}

// SharesOrigin is true when a non-wildcard entry of `entries` has the scheme, host and port of
// `u`. Wildcard entries never count: they do not name one origin.
bool SharesOrigin(const url::Url& u,
                  const google::protobuf::RepeatedPtrField<std::string>& entries) {
  for (const std::string& entry : entries) {
    if (absl::StrContains(entry, '*')) continue;
    absl::StatusOr<url::Url> e = url::Url::Parse(entry);
    if (!e.ok()) continue;
    if (e->scheme() == u.scheme() && e->hostname() == u.hostname() &&
        e->effective_port() == u.effective_port()) {
      return true;
    }
  }
  return false;
}

absl::Status CompileSingleLogout(const v1::Client& c, const CompiledTenant& tenant,
                                 const PolicyOptions& options, CompiledClient& client) {
  if (!c.frontchannel_logout_uri().empty()) {
    LOGOUT_ASSIGN_OR_RETURN(url::Url u, CheckLogoutUri("frontchannel_logout_uri",
                                                       c.frontchannel_logout_uri(), options));
    if (!SharesOrigin(u, c.allowed_logout_urls())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "frontchannel_logout_uri ", Quote(c.frontchannel_logout_uri()),
          " must have the scheme, host and port of one of the client's allowed_logout_urls "
          "(wildcard entries do not count)"));
    }
    if (c.frontchannel_logout_session_required() && tenant.issuer.empty()) {
      return absl::InvalidArgumentError(
          "frontchannel_logout_session_required needs the tenant's issuer (the `iss` parameter)");
    }
  }
  client.frontchannel_logout_uri = c.frontchannel_logout_uri();
  client.frontchannel_logout_session_required = c.frontchannel_logout_session_required();

  const v1::BackchannelLogoutInitiators& bi = c.backchannel_logout_initiators();
  if (!v1::BackchannelLogoutInitiators::Mode_IsValid(bi.mode())) {
    return absl::InvalidArgumentError("backchannel_logout_initiators.mode is not a known mode");
  }
  for (int i = 0; i < bi.selected_initiators_size(); ++i) {
    std::optional<v1::LogoutInitiator> initiator = InitiatorFromName(bi.selected_initiators(i));
    if (!initiator.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "backchannel_logout_initiators.selected_initiators[", i, "] ",
          Quote(bi.selected_initiators(i)),
          " is not a known initiator (rp-logout, idp-logout, password-changed, session-expired, "
          "session-revoked, account-deleted, email-identifier-changed, mfa-phone-unenrolled, "
          "account-deactivated)"));
    }
    client.backchannel_initiators.insert(static_cast<int>(*initiator));
  }
  if (bi.mode() == v1::BackchannelLogoutInitiators::MODE_CUSTOM) {
    if (bi.selected_initiators_size() == 0) {
      return absl::InvalidArgumentError(
          "backchannel_logout_initiators: mode MODE_CUSTOM needs at least one selected initiator");
    }
    client.backchannel_all_initiators = false;
  } else {
    client.backchannel_initiators.clear();  // ALL: names are validated but not used
  }

  if (!c.backchannel_logout_uri().empty()) {
    LOGOUT_RETURN_IF_ERROR(
        CheckLogoutUri("backchannel_logout_uri", c.backchannel_logout_uri(), options).status());
    if (tenant.issuer.empty()) {
      return absl::InvalidArgumentError(
          "backchannel_logout_uri needs the tenant's issuer (the logout tokens' `iss`)");
    }
    if (!jwt::IsHmac(client.id_token_alg) &&
        tenant.FindSigningKey(client.id_token_alg) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("backchannel_logout_uri: the tenant has no signing_keys entry with alg ",
                       jwt::AlgorithmName(client.id_token_alg),
                       " (the client's id_token_signed_response_alg) to sign its logout tokens"));
    }
  }
  client.backchannel_logout_uri = c.backchannel_logout_uri();
  client.backchannel_logout_session_required = c.backchannel_logout_session_required();
  return absl::OkStatus();
}

absl::Status CompileSigningKeys(const v1::Tenant& t, const std::string& where,
                                CompiledTenant& tenant) {
  if (t.signing_keys_size() > static_cast<int>(kMaxSigningKeys)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": at most ", kMaxSigningKeys, " signing_keys"));
  }
  for (int i = 0; i < t.signing_keys_size(); ++i) {
    const v1::SigningKey& k = t.signing_keys(i);
    const std::string kwhere =
        absl::StrCat(where, " signing_keys[", i, "] (kid ", Quote(k.kid()), ")");
    if (!ValidName(k.kid())) {
      return absl::InvalidArgumentError(
          absl::StrCat(kwhere, ": kid must be 1-256 printable bytes"));
    }
    for (const CompiledSigningKey& other : tenant.signing_keys) {
      if (other.kid == k.kid()) {
        return absl::InvalidArgumentError(absl::StrCat(kwhere, ": duplicate kid"));
      }
    }
    std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(k.alg());
    if (!alg.has_value() || jwt::IsHmac(*alg)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kwhere, ": alg ", Quote(k.alg()),
                       " is not accepted (RS256/384/512, PS256/384/512, ES256/384, EdDSA)"));
    }
    absl::StatusOr<jwt::SharedPkey> pkey = jwt::ParsePrivateKeyPem(k.private_key_pem(), *alg);
    if (!pkey.ok()) return Prefixed(kwhere, pkey.status());
    tenant.signing_keys.push_back({k.kid(), *alg, *std::move(pkey)});
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ToDuration(const google::protobuf::Duration& d,
                                          absl::string_view field) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be a non-negative duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// CompileSharedSignals validates the tenant's Shared Signals streams (after its signing keys).
absl::Status CompileSharedSignals(const v1::Tenant& t, const PolicyOptions& options,
                                  CompiledTenant& tenant) {
  const v1::SharedSignals& ssf = t.shared_signals();
  if (ssf.streams_size() > 32) {
    return absl::InvalidArgumentError("shared_signals: at most 32 streams");
  }
  if (!ssf.jwks_uri().empty()) {
    absl::StatusOr<url::Url> u = url::Url::Parse(ssf.jwks_uri());
    if (!u.ok() || u->scheme() != "https" || u->has_credentials() || u->has_fragment() ||
        ssf.jwks_uri().size() > kMaxLogoutUriBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shared_signals.jwks_uri ", Quote(ssf.jwks_uri()), " must be an absolute https URL"));
    }
  } else if (ssf.streams_size() > 0) {
    return absl::InvalidArgumentError(
        "shared_signals.jwks_uri is required with streams (receivers verify SETs with it)");
  }
  tenant.ssf_jwks_uri = ssf.jwks_uri();
  if (!ssf.jwks_uri().empty() && t.issuer().empty()) {
    return absl::InvalidArgumentError(
        "shared_signals need the tenant's issuer (the SETs' `iss` and the SSF metadata's "
        "`issuer`)");
  }
  for (int i = 0; i < ssf.streams_size(); ++i) {
    const v1::SsfStream& st = ssf.streams(i);
    const std::string where = absl::StrCat("shared_signals.streams[", i, "]");
    const bool id_ok = !st.stream_id().empty() && st.stream_id().size() <= 128 &&
                       std::all_of(st.stream_id().begin(), st.stream_id().end(), [](char c) {
                         return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                c == '_' || c == '~' || c == '-';
                       });
    if (!id_ok) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".stream_id ", Quote(st.stream_id()),
                                                     " must be 1-128 of [A-Za-z0-9._~-]"));
    }
    if (tenant.FindStream(st.stream_id()) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".stream_id ", Quote(st.stream_id()), " is a duplicate"));
    }
    CompiledStream stream;
    stream.stream_id = st.stream_id();
    LOGOUT_RETURN_IF_ERROR(
        CheckLogoutUri(absl::StrCat(where, ".endpoint_url"), st.endpoint_url(), options).status());
    stream.endpoint_url = st.endpoint_url();
    if (st.audience().empty() || st.audience().size() > 1024) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".audience must be 1-1024 bytes"));
    }
    stream.audience = st.audience();
    if (st.authorization_header().size() > 4096 ||
        std::any_of(st.authorization_header().begin(), st.authorization_header().end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u < 0x20 || u == 0x7f;
        })) {
      // The value is a secret: never echoed.
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".authorization_header must be at most 4096 bytes without control characters"));
    }
    stream.authorization_header = st.authorization_header();
    for (int e = 0; e < st.events_requested_size(); ++e) {
      if (st.events_requested(e) != kSessionRevokedEvent) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".events_requested[", e, "] ", Quote(st.events_requested(e)),
                         " is not supported (only ", kSessionRevokedEvent, ")"));
      }
      stream.session_revoked = true;
    }
    const std::string alg_name = st.signing_alg().empty() ? "RS256" : st.signing_alg();
    const std::optional<jwt::Algorithm> alg = jwt::AlgorithmFromName(alg_name);
    if (!alg.has_value() || jwt::IsHmac(*alg)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".signing_alg ", Quote(alg_name),
                                                     " is not an asymmetric JWS algorithm"));
    }
    if (tenant.FindSigningKey(*alg) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".signing_alg: the tenant has no ",
                                                     "signing_keys entry with alg ", alg_name));
    }
    stream.alg = *alg;
    tenant.ssf_streams.push_back(std::move(stream));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CompiledTenant>> CompileOneTenant(const v1::Tenant& t,
                                                                 const PolicyOptions& options) {
  auto tenant = std::make_unique<CompiledTenant>();
  const std::string where = absl::StrCat("tenant ", Quote(t.name()));
  if (!ValidName(t.name())) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": name must be 1-256 printable bytes"));
  }
  tenant->name = t.name();
  if (!t.issuer().empty()) {
    absl::StatusOr<url::Url> iss = url::Url::Parse(t.issuer());
    if (!iss.ok() || (iss->scheme() != "https" && iss->scheme() != "http") ||
        iss->has_credentials() || iss->has_fragment()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": issuer ", Quote(t.issuer()), " is not an http(s) URL"));
    }
  }
  tenant->issuer = t.issuer();
  if (!t.end_session_endpoint().empty()) {
    // Published in discovery and used by browsers: the same rule as the logout URIs.
    absl::StatusOr<url::Url> e =
        CheckLogoutUri("end_session_endpoint", t.end_session_endpoint(), options);
    if (!e.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.status().message()));
    }
    tenant->end_session_endpoint = t.end_session_endpoint();
  } else if (!t.issuer().empty()) {
    tenant->end_session_endpoint = absl::StrCat(absl::StripSuffix(t.issuer(), "/"), "/oidc/logout");
  }
  if (absl::Status s = CompileSigningKeys(t, where, *tenant); !s.ok()) return s;
  if (absl::Status s = CompileSharedSignals(t, options, *tenant); !s.ok()) {
    return Prefixed(where, s);
  }
  tenant->redirect_matching = t.redirect_matching();
  tenant->oidc_profile = t.oidc_profile();
  tenant->prompt_enabled = !t.has_prompt_enabled() || t.prompt_enabled();
  {
    auto keys = jwt::KeySet::Create(t.jwks());
    if (!keys.ok()) return Prefixed(where, keys.status());
    tenant->keys = *std::move(keys);
  }
  if (t.has_max_hint_age()) {
    auto age = ToDuration(t.max_hint_age(), "max_hint_age");
    if (!age.ok()) return Prefixed(where, age.status());
    tenant->max_hint_age = *age;
  }
  if (t.has_clock_skew()) {
    auto skew = ToDuration(t.clock_skew(), "clock_skew");
    if (!skew.ok()) return Prefixed(where, skew.status());
    if (*skew > absl::Minutes(10)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": clock_skew must be at most 10m"));
    }
    tenant->clock_skew = *skew;
  }
  for (int i = 0; i < t.enabled_locales_size(); ++i) {
    const std::string& loc = t.enabled_locales(i);
    const bool ok =
        !loc.empty() && loc.size() <= 35 && std::all_of(loc.begin(), loc.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
        });
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": enabled_locales[", i, "] ", Quote(loc), " is not a BCP 47 tag"));
    }
    tenant->enabled_locales.insert(absl::AsciiStrToLower(loc));
  }
  const AllowList::Mode mode = t.redirect_matching() == v1::REDIRECT_MATCHING_EXACT
                                   ? AllowList::Mode::kExact
                                   : AllowList::Mode::kAuth0;
  const bool strict = t.oidc_profile() == v1::OIDC_PROFILE_STRICT;
  {
    auto list = CompileList(t.allowed_logout_urls(), mode);
    if (!list.ok()) return Prefixed(where, list.status());
    tenant->allowed_logout_urls = *std::move(list);
    if (strict) {
      auto exact = CompileList(t.allowed_logout_urls(), AllowList::Mode::kExact);
      if (!exact.ok()) return Prefixed(absl::StrCat(where, " (STRICT profile)"), exact.status());
      tenant->exact_allowed_logout_urls = *std::move(exact);
    }
  }
  federation::ConnectionOptions connection_options;
  connection_options.allow_http_loopback = options.allow_http_loopback;
  connection_options.allow_template_fragments = options.tolerate_stored_legacy;
  for (const v1::Connection& c : t.connections()) {
    auto compiled = federation::CompiledConnection::Compile(c, connection_options);
    if (!compiled.ok()) return Prefixed(where, compiled.status());
    if (!tenant->connections.emplace(c.name(), *std::move(compiled)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " connection ", Quote(c.name()), ": duplicate name"));
    }
  }
  for (const v1::Client& c : t.clients()) {
    const std::string cwhere = absl::StrCat(where, " client ", Quote(c.client_id()));
    if (!ValidName(c.client_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(cwhere, ": client_id must be 1-256 printable bytes"));
    }
    if (tenant->clients.contains(c.client_id())) {
      return absl::InvalidArgumentError(absl::StrCat(cwhere, ": duplicate client_id"));
    }
    auto list = CompileList(c.allowed_logout_urls(), mode);
    if (!list.ok()) return Prefixed(cwhere, list.status());
    CompiledClient client;
    if (strict) {
      auto exact = CompileList(c.allowed_logout_urls(), AllowList::Mode::kExact);
      if (!exact.ok()) return Prefixed(absl::StrCat(cwhere, " (STRICT profile)"), exact.status());
      client.exact_allowed_logout_urls = *std::move(exact);
    }
    if (absl::Status s = CompileHintSettings(c, client); !s.ok()) return Prefixed(cwhere, s);
    if (absl::Status s = CompileSingleLogout(c, *tenant, options, client); !s.ok()) {
      return Prefixed(cwhere, s);
    }
    client.client_id = c.client_id();
    client.allowed_logout_urls = *std::move(list);
    tenant->clients.emplace(c.client_id(), std::move(client));
  }
  return tenant;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledTenant>> CompiledPolicy::CompileTenant(
    const v1::Tenant& tenant, const PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<CompiledTenant> compiled,
                          CompileOneTenant(tenant, options));
  compiled->source_bytes = common::DeterministicBytes(tenant);
  return std::shared_ptr<const CompiledTenant>(std::move(compiled));
}

absl::StatusOr<std::unique_ptr<CompiledPolicy>> CompiledPolicy::BuildUnversioned(
    const v1::PolicyConfig& config, const PolicyOptions& options) {
  std::array<std::shared_ptr<Shard>, kShards> shards;
  for (const v1::Tenant& t : config.tenants()) {
    LOGOUT_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledTenant> tenant,
                            CompileTenant(t, options));
    std::shared_ptr<Shard>& shard = shards[ShardOf(t.name())];
    if (shard == nullptr) shard = std::make_shared<Shard>();
    if (!shard->emplace(t.name(), TenantEntry{std::move(tenant), 0}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant ", Quote(t.name()), ": duplicate name"));
    }
  }
  std::unique_ptr<CompiledPolicy> policy(new CompiledPolicy());
  for (size_t i = 0; i < kShards; ++i) policy->shards_[i] = std::move(shards[i]);
  policy->live_tenants_ = static_cast<size_t>(config.tenants_size());
  return policy;
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::Publish(
    std::unique_ptr<CompiledPolicy> policy, uint64_t version) {
  policy->version_ = version;
  for (std::shared_ptr<const Shard>& shard : policy->shards_) {
    if (shard == nullptr) continue;
    // Not yet shared: Build made every shard, and nobody else holds it.
    auto* mutable_shard = const_cast<Shard*>(shard.get());
    for (auto& [name, entry] : *mutable_shard) entry.revision = version;
  }
  return {std::move(policy)};
}

void CompiledPolicy::Apply(const TenantChange& change, std::array<bool, kShards>& copied) {
  const size_t i = ShardOf(change.name);
  const TenantEntry* old = nullptr;
  if (shards_[i] != nullptr) {
    const auto it = shards_[i]->find(change.name);
    if (it != shards_[i]->end()) old = &it->second;
  }
  if (old != nullptr && old->revision != 0 && old->revision >= change.revision) return;
  if (old == nullptr && change.revision <= floor_) return;
  if (old != nullptr && old->tenant != nullptr) --live_tenants_;
  if (change.tenant != nullptr) ++live_tenants_;
  if (!copied[i]) {
    shards_[i] =
        shards_[i] == nullptr ? std::make_shared<Shard>() : std::make_shared<Shard>(*shards_[i]);
    copied[i] = true;
  }
  // Copied above for this policy alone: safe to change until it is published.
  auto* shard = const_cast<Shard*>(shards_[i].get());
  (*shard)[change.name] = TenantEntry{change.tenant, change.revision};
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::WithChanges(
    const CompiledPolicy* base, const std::vector<TenantChange>& changes, uint64_t version) {
  std::unique_ptr<CompiledPolicy> next(new CompiledPolicy());
  if (base != nullptr) {
    next->shards_ = base->shards_;  // pointers only: every shard and tenant is shared
    next->version_ = base->version_;
    next->floor_ = base->floor_;
    next->live_tenants_ = base->live_tenants_;
  }
  next->version_ = std::max(next->version_, version);
  std::array<bool, kShards> copied{};
  for (const TenantChange& change : changes) next->Apply(change, copied);
  return {std::move(next)};
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::Rebase(std::unique_ptr<CompiledPolicy> full,
                                                             uint64_t version,
                                                             const CompiledPolicy* live) {
  full->floor_ = version;
  std::shared_ptr<const CompiledPolicy> published = Publish(std::move(full), version);
  if (live == nullptr) return published;
  std::vector<TenantChange> newer;
  for (const std::shared_ptr<const Shard>& shard : live->shards_) {
    if (shard == nullptr) continue;
    for (const auto& [name, entry] : *shard) {
      if (entry.revision > version) newer.push_back({name, entry.tenant, entry.revision});
    }
  }
  if (newer.empty()) return published;
  return WithChanges(published.get(), newer, live->version_);
}

std::optional<v1::Tenant> CompiledPolicy::TenantSource(absl::string_view name) const {
  const CompiledTenant* t = FindTenant(name);
  if (t == nullptr) return std::nullopt;
  v1::Tenant out;
  if (!out.ParseFromString(t->source_bytes)) return std::nullopt;  // written by us: cannot fail
  return out;
}

std::vector<std::string> CompiledPolicy::TenantNames() const {
  std::vector<std::string> names;
  names.reserve(live_tenants_);
  for (const std::shared_ptr<const Shard>& shard : shards_) {
    if (shard == nullptr) continue;
    for (const auto& [name, entry] : *shard) {
      if (entry.tenant != nullptr) names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

v1::PolicyConfig CompiledPolicy::Source() const {
  v1::PolicyConfig config;
  for (const std::string& name : TenantNames()) {
    (void)config.add_tenants()->ParseFromString(FindTenant(name)->source_bytes);
  }
  return config;
}

absl::StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Build(
    const v1::PolicyConfig& config, uint64_t version, const PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<CompiledPolicy> policy,
                          BuildUnversioned(config, options));
  return Publish(std::move(policy), version);
}

}  // namespace logout::policy

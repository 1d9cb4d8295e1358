#include "service/policy/compiled_policy.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/url/url.h"

namespace logout::policy {
namespace {

constexpr size_t kMaxNameBytes = 256;

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

absl::StatusOr<absl::Duration> ToDuration(const google::protobuf::Duration& d,
                                          absl::string_view field) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be a non-negative duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::StatusOr<std::unique_ptr<CompiledTenant>> CompileTenant(const v1::Tenant& t,
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
    client.client_id = c.client_id();
    client.allowed_logout_urls = *std::move(list);
    tenant->clients.emplace(c.client_id(), std::move(client));
  }
  return tenant;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CompiledPolicy>> CompiledPolicy::BuildUnversioned(
    const v1::PolicyConfig& config, const PolicyOptions& options) {
  std::unique_ptr<CompiledPolicy> policy(new CompiledPolicy());
  policy->source_ = config;
  for (const v1::Tenant& t : config.tenants()) {
    LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<CompiledTenant> tenant, CompileTenant(t, options));
    if (policy->tenants_.contains(tenant->name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant ", Quote(t.name()), ": duplicate name"));
    }
    policy->tenants_.emplace(tenant->name, std::move(tenant));
  }
  return policy;
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::Publish(
    std::unique_ptr<CompiledPolicy> policy, uint64_t version) {
  policy->version_ = version;
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

absl::StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Build(
    const v1::PolicyConfig& config, uint64_t version, const PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<CompiledPolicy> policy,
                          BuildUnversioned(config, options));
  return Publish(std::move(policy), version);
}

}  // namespace logout::policy

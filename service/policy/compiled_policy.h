// An immutable, fully validated policy snapshot compiled from a logout.v1.PolicyConfig.
//
//   absl::StatusOr<std::shared_ptr<const CompiledPolicy>> p = CompiledPolicy::Build(config, 7);
//   const CompiledTenant* t = (*p)->FindTenant("acme");
//
// Everything a decision needs is parsed and indexed here, once: allow-lists, locales, flags.
// A policy with any invalid part fails to build as a whole.
#ifndef SERVICE_POLICY_COMPILED_POLICY_H_
#define SERVICE_POLICY_COMPILED_POLICY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "logout/v1/policy.pb.h"
#include "service/federation/connection.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/key_set.h"
#include "service/jwt/openssl.h"
#include "service/policy/allow_list.h"

namespace logout::policy {

struct CompiledClient {
  std::string client_id;
  std::unique_ptr<AllowList> allowed_logout_urls;
  // STRICT tenants: the same list compiled for exact matching.
  std::unique_ptr<AllowList> exact_allowed_logout_urls;
  // The only algorithm this client's ID tokens may use (RS256 when not configured).
  jwt::Algorithm id_token_alg = jwt::Algorithm::kRS256;
  // HS* only. Never logged.
  std::string client_secret;
  std::optional<absl::Time> client_secret_expires_at;

  // Single logout (validated: absolute https, no fragment, no userinfo; the front-channel URI
  // shares its origin with a non-wildcard allowed_logout_urls entry). Empty: not registered.
  std::string frontchannel_logout_uri;
  bool frontchannel_logout_session_required = false;
  std::string backchannel_logout_uri;
  bool backchannel_logout_session_required = false;
  // False: only the initiators in `backchannel_initiators` send this client a logout token.
  bool backchannel_all_initiators = true;
  absl::flat_hash_set<int> backchannel_initiators;  // v1::LogoutInitiator values
};

// A private key the tenant signs logout tokens with. Never logged.
struct CompiledSigningKey {
  std::string kid;
  jwt::Algorithm alg = jwt::Algorithm::kRS256;
  jwt::SharedPkey pkey;
};

// A Shared Signals push stream (v1::SsfStream), validated.
struct CompiledStream {
  std::string stream_id;
  std::string endpoint_url;
  std::string audience;
  // The Authorization header value ("": none). A secret.
  std::string authorization_header;
  // The receiver asked for CAEP session-revoked.
  bool session_revoked = false;
  jwt::Algorithm alg = jwt::Algorithm::kRS256;
};

// The CAEP 1.0 session-revoked event type.
inline constexpr char kSessionRevokedEvent[] =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

struct CompiledTenant {
  std::string name;
  std::string issuer;
  v1::RedirectMatching redirect_matching = v1::REDIRECT_MATCHING_AUTH0;
  v1::OidcProfile oidc_profile = v1::OIDC_PROFILE_AUTH0;
  bool prompt_enabled = true;
  // Lower-cased enabled locales.
  absl::flat_hash_set<std::string> enabled_locales;
  std::unique_ptr<AllowList> allowed_logout_urls;
  // STRICT tenants keep a second, exact-mode copy of each list for the OIDC endpoint.
  std::unique_ptr<AllowList> exact_allowed_logout_urls;
  absl::flat_hash_map<std::string, CompiledClient> clients;
  // Public keys for asymmetric id_token_hint verification.
  std::unique_ptr<jwt::KeySet> keys;
  // Hints whose `iat` is older are refused (nullopt: no limit).
  std::optional<absl::Duration> max_hint_age;
  // Tolerance for `iat`/`nbf` in the future.
  absl::Duration clock_skew = absl::Seconds(60);
  // Upstream connections by name (validated: https URLs, safe templates).
  absl::flat_hash_map<std::string, federation::CompiledConnection> connections;
  // Logout-token signing keys, in configuration order (kids unique).
  std::vector<CompiledSigningKey> signing_keys;
  // The end_session_endpoint for discovery (configured, else issuer + "oidc/logout"; empty
  // when neither is set).
  std::string end_session_endpoint;
  // Shared Signals: the transmitter's jwks_uri and the push streams, in configuration order.
  std::string ssf_jwks_uri;
  std::vector<CompiledStream> ssf_streams;
  // The logout.v1.Tenant this was compiled from, serialised (deterministic): what admin reads
  // and exports return. Kept as bytes, the compact form; decisions never read it.
  std::string source_bytes;

  // FindSigningKey returns the first signing key for `alg`, or nullptr.
  const CompiledSigningKey* FindSigningKey(jwt::Algorithm alg) const {
    for (const CompiledSigningKey& k : signing_keys) {
      if (k.alg == alg) return &k;
    }
    return nullptr;
  }

  const CompiledStream* FindStream(absl::string_view stream_id) const {
    for (const CompiledStream& s : ssf_streams) {
      if (s.stream_id == stream_id) return &s;
    }
    return nullptr;
  }

  const CompiledClient* FindClient(absl::string_view client_id) const {
    const auto it = clients.find(client_id);
    return it == clients.end() ? nullptr : &it->second;
  }
};

// Options that change what a valid policy is.
struct PolicyOptions {
  // Development only: allow http://localhost / 127.0.0.1 / [::1] connection URLs.
  bool allow_http_loopback = false;
  // Policies already stored: tolerate what a release before this one accepted and writes now
  // refuse (see federation::ConnectionOptions::allow_template_fragments).
  bool tolerate_stored_legacy = false;
};

// One tenant of a snapshot: the compiled tenant (null: deleted, a tombstone that keeps an
// older change from bringing it back) and the store revision that wrote it.
struct TenantEntry {
  std::shared_ptr<const CompiledTenant> tenant;
  uint64_t revision = 0;
};

// A change to one tenant, as a write or a replica's change-log read produces it.
struct TenantChange {
  std::string name;
  std::shared_ptr<const CompiledTenant> tenant;  // null: the tenant was deleted
  uint64_t revision = 0;
};

// CompiledPolicy is one immutable policy version: a map of tenant name -> immutable compiled
// tenant, split by hash into kShards immutable shards. A new version made by WithChanges
// shares every tenant it does not change and every shard it does not touch: it copies the
// array of shard pointers and the few shards the change falls in. Thread safety: immutable;
// share freely.
class CompiledPolicy {
 public:
  // Build validates and compiles `config`. Returns InvalidArgumentError naming the tenant, the
  // client and the entry of the first problem (e.g. `tenant "acme" client "web":
  // allowed_logout_urls[1] "https://*.com": a wildcard needs at least two labels to its right`).
  // Every tenant gets `version` as its revision.
  static absl::StatusOr<std::shared_ptr<const CompiledPolicy>> Build(
      const v1::PolicyConfig& config, uint64_t version, const PolicyOptions& options = {});

  // BuildUnversioned is Build for a write whose version is only known once it commits: the
  // result is published with Publish. Same errors as Build.
  static absl::StatusOr<std::unique_ptr<CompiledPolicy>> BuildUnversioned(
      const v1::PolicyConfig& config, const PolicyOptions& options = {});
  // Publish stamps `policy` (and each of its tenants) with the committed `version` and freezes
  // it.
  static std::shared_ptr<const CompiledPolicy> Publish(std::unique_ptr<CompiledPolicy> policy,
                                                       uint64_t version);

  // CompileTenant validates and compiles one tenant, with the errors of Build.
  static absl::StatusOr<std::shared_ptr<const CompiledTenant>> CompileTenant(
      const v1::Tenant& tenant, const PolicyOptions& options = {});

  // WithChanges returns `base` (null: an empty policy) with `changes` applied: each replaces,
  // or removes, its tenant unless `base` already holds that tenant at an equal or newer
  // revision (a write and the change log may report the same change, in either order). Every
  // other tenant is shared. The version is the larger of base's and `version`.
  static std::shared_ptr<const CompiledPolicy> WithChanges(const CompiledPolicy* base,
                                                           const std::vector<TenantChange>& changes,
                                                           uint64_t version);

  // Rebase is Publish for a full reload made at `version` while `live` kept serving: tenants
  // `live` holds at a newer revision than `version` (written here meanwhile) are kept.
  static std::shared_ptr<const CompiledPolicy> Rebase(std::unique_ptr<CompiledPolicy> full,
                                                      uint64_t version, const CompiledPolicy* live);

  // FindTenant returns the tenant or nullptr. The pointer lives as long as this policy.
  const CompiledTenant* FindTenant(absl::string_view name) const {
    const TenantEntry* e = FindEntry(name);
    return e == nullptr ? nullptr : e->tenant.get();
  }
  // TenantRevision is the revision that wrote `name` (0 when this policy never heard of it).
  uint64_t TenantRevision(absl::string_view name) const {
    const TenantEntry* e = FindEntry(name);
    return e == nullptr ? 0 : e->revision;
  }
  // TenantSource parses the configuration `name` was compiled from (nullopt: no such tenant).
  std::optional<v1::Tenant> TenantSource(absl::string_view name) const;
  // TenantNames lists the tenants, sorted.
  std::vector<std::string> TenantNames() const;
  // Source is the whole configuration this snapshot serves, tenants sorted by name. O(policy):
  // for exports and policy-wide checks only.
  v1::PolicyConfig Source() const;

  uint64_t version() const { return version_; }
  size_t tenant_count() const { return live_tenants_; }

 private:
  static constexpr size_t kShards = 256;
  using Shard = absl::flat_hash_map<std::string, TenantEntry>;

  CompiledPolicy() = default;
  // The top bits of the hash: the shards' own tables index by the low bits, which must vary.
  static size_t ShardOf(absl::string_view name) {
    return static_cast<size_t>(absl::Hash<absl::string_view>{}(name) >> 56) % kShards;
  }
  const TenantEntry* FindEntry(absl::string_view name) const {
    const Shard* shard = shards_[ShardOf(name)].get();
    if (shard == nullptr) return nullptr;
    const auto it = shard->find(name);
    return it == shard->end() ? nullptr : &it->second;
  }
  // Applies one change to this (unpublished) policy, copying its shard once per `copied`.
  void Apply(const TenantChange& change, std::array<bool, kShards>& copied);

  uint64_t version_ = 0;
  // Rebase's full-load revision: a change at or below it to a tenant this policy does not hold
  // is older than that load (the load saw the tenant deleted), so it is not applied.
  uint64_t floor_ = 0;
  size_t live_tenants_ = 0;
  std::array<std::shared_ptr<const Shard>, kShards> shards_;
};

}  // namespace logout::policy

#endif  // SERVICE_POLICY_COMPILED_POLICY_H_

#include "service/store/policy_writer.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/deterministic_bytes.h"
#include "service/common/status_macros.h"
#include "service/federation/connection.h"

namespace logout::store {
namespace {

using common::DeterministicBytes;

// The options stored policies are compiled with: what an earlier release accepted and writes
// now refuse is tolerated (a policy in the store keeps serving after an upgrade).
policy::PolicyOptions Stored(policy::PolicyOptions options) {
  options.tolerate_stored_legacy = true;
  return options;
}

// CheckChangedConnections holds every connection that `after` adds or changes relative to
// `before` to today's rules in full (the whole policy is compiled tolerating what is stored),
// so a write is refused for what it writes, never for another tenant's stored settings.
absl::Status CheckChangedConnections(const v1::PolicyConfig& before, const v1::PolicyConfig& after,
                                     const policy::PolicyOptions& options) {
  absl::flat_hash_map<std::string, std::string> stored;
  for (const v1::Tenant& t : before.tenants()) {
    for (const v1::Connection& c : t.connections()) {
      stored.emplace(absl::StrCat(t.name().size(), ":", t.name(), c.name()), DeterministicBytes(c));
    }
  }
  federation::ConnectionOptions strict;
  strict.allow_http_loopback = options.allow_http_loopback;
  for (const v1::Tenant& t : after.tenants()) {
    for (const v1::Connection& c : t.connections()) {
      auto it = stored.find(absl::StrCat(t.name().size(), ":", t.name(), c.name()));
      if (it != stored.end() && it->second == DeterministicBytes(c)) continue;
      absl::StatusOr<federation::CompiledConnection> compiled =
          federation::CompiledConnection::Compile(c, strict);
      if (!compiled.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("tenant \"",
                                                       absl::CEscape(t.name().substr(0, 256)),
                                                       "\": ", compiled.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> PolicyWriter::Write(absl::string_view actor, const Mutation& apply) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError(
        "this logoutd serves a read-only policy file (--store=file): change the file instead");
  }
  std::unique_ptr<policy::CompiledPolicy> compiled;
  absl::StatusOr<StoredPolicy> committed =
      store_->Update([&](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
        const v1::PolicyConfig before = config;
        absl::StatusOr<v1::AuditEvent> event = apply(config);
        if (!event.ok()) return event.status();
        if (absl::Status s = CheckChangedConnections(before, config, options_); !s.ok()) return s;
        absl::StatusOr<std::unique_ptr<policy::CompiledPolicy>> built =
            policy::CompiledPolicy::BuildUnversioned(config, Stored(options_));
        if (!built.ok()) return built.status();
        compiled = *std::move(built);
        event->set_actor(std::string(actor));
        return event;
      });
  if (!committed.ok()) return committed.status();
  if (holder_->InstallIfNewer(
          policy::CompiledPolicy::Publish(std::move(compiled), committed->version)) &&
      on_installed_) {
    on_installed_();
  }
  return committed->version;
}

absl::StatusOr<uint64_t> PolicyWriter::Preview(const Mutation& apply) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError(
        "this logoutd serves a read-only policy file (--store=file): change the file instead");
  }
  absl::StatusOr<StoredPolicy> stored = store_->Load();
  if (!stored.ok()) return stored.status();
  const v1::PolicyConfig before = stored->config;
  absl::StatusOr<v1::AuditEvent> event = apply(stored->config);
  if (!event.ok()) return event.status();
  LOGOUT_RETURN_IF_ERROR(CheckChangedConnections(before, stored->config, options_));
  absl::StatusOr<std::unique_ptr<policy::CompiledPolicy>> built =
      policy::CompiledPolicy::BuildUnversioned(stored->config, Stored(options_));
  if (!built.ok()) return built.status();
  return stored->version;
}

absl::Status PolicyWriter::Reload() {
  if (store_ == nullptr) return absl::OkStatus();
  absl::StatusOr<StoredPolicy> stored = store_->Load();
  if (!stored.ok()) return stored.status();
  if (stored->version == 0) return absl::OkStatus();
  const std::shared_ptr<const policy::CompiledPolicy> live = holder_->Get();
  if (live != nullptr && live->version() >= stored->version) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const policy::CompiledPolicy>> compiled =
      policy::CompiledPolicy::Build(stored->config, stored->version, Stored(options_));
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored policy version ", stored->version,
                     " does not compile: ", compiled.status().message()));
  }
  if (holder_->InstallIfNewer(*std::move(compiled)) && on_installed_) on_installed_();
  return absl::OkStatus();
}

}  // namespace logout::store

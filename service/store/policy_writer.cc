#include "service/store/policy_writer.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

absl::Status ReadOnlyError() {
  return absl::FailedPreconditionError(
      "this logoutd serves a read-only policy file (--store=file): change the file instead");
}

// CompileChanged compiles the tenants of `after` whose content differs from `before`, and
// returns them (and the tenants `after` no longer has, as deletions) as changes without a
// revision. Errors as CompiledPolicy::Build, including a duplicate tenant name.
absl::StatusOr<std::vector<policy::TenantChange>> CompileChanged(
    const v1::PolicyConfig& before, const v1::PolicyConfig& after,
    const policy::PolicyOptions& options) {
  absl::flat_hash_map<std::string, std::string> old;
  for (const v1::Tenant& t : before.tenants()) old[t.name()] = DeterministicBytes(t);
  std::vector<policy::TenantChange> changes;
  absl::flat_hash_set<std::string> seen;
  for (const v1::Tenant& t : after.tenants()) {
    if (!seen.insert(t.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant \"", absl::CEscape(t.name().substr(0, 256)), "\": duplicate name"));
    }
    const auto it = old.find(t.name());
    if (it != old.end() && it->second == DeterministicBytes(t)) continue;
    LOGOUT_ASSIGN_OR_RETURN(std::shared_ptr<const policy::CompiledTenant> compiled,
                            policy::CompiledPolicy::CompileTenant(t, options));
    changes.push_back({t.name(), std::move(compiled), 0});
  }
  for (const auto& [name, body] : old) {
    if (!seen.contains(name)) changes.push_back({name, nullptr, 0});
  }
  return changes;
}

}  // namespace

absl::StatusOr<uint64_t> PolicyWriter::WriteTenant(absl::string_view actor,
                                                   const std::string& tenant,
                                                   const Mutation& apply) {
  if (store_ == nullptr) return ReadOnlyError();
  std::shared_ptr<const policy::CompiledTenant> compiled;
  absl::StatusOr<uint64_t> revision =
      store_->UpdateTenant(tenant, [&](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
        const v1::PolicyConfig before = config;
        absl::StatusOr<v1::AuditEvent> event = apply(config);
        if (!event.ok()) return event.status();
        LOGOUT_RETURN_IF_ERROR(CheckChangedConnections(before, config, options_));
        compiled = nullptr;
        if (config.tenants_size() == 1) {
          LOGOUT_ASSIGN_OR_RETURN(
              compiled, policy::CompiledPolicy::CompileTenant(config.tenants(0), Stored(options_)));
        }
        event->set_actor(std::string(actor));
        return event;
      });
  if (!revision.ok()) return revision.status();
  Install({{tenant, std::move(compiled), *revision}}, *revision);
  return revision;
}

absl::StatusOr<uint64_t> PolicyWriter::Write(absl::string_view actor, const Mutation& apply) {
  if (store_ == nullptr) return ReadOnlyError();
  std::vector<policy::TenantChange> changes;
  absl::StatusOr<StoredPolicy> committed =
      store_->Update([&](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
        const v1::PolicyConfig before = config;
        absl::StatusOr<v1::AuditEvent> event = apply(config);
        if (!event.ok()) return event.status();
        LOGOUT_RETURN_IF_ERROR(CheckChangedConnections(before, config, options_));
        LOGOUT_ASSIGN_OR_RETURN(changes, CompileChanged(before, config, Stored(options_)));
        event->set_actor(std::string(actor));
        return event;
      });
  if (!committed.ok()) return committed.status();
  for (policy::TenantChange& change : changes) change.revision = committed->version;
  Install(changes, committed->version);
  return committed->version;
}

absl::StatusOr<uint64_t> PolicyWriter::Preview(const Mutation& apply) {
  if (store_ == nullptr) return ReadOnlyError();
  absl::StatusOr<StoredPolicy> stored = store_->Load();
  if (!stored.ok()) return stored.status();
  const v1::PolicyConfig before = stored->config;
  absl::StatusOr<v1::AuditEvent> event = apply(stored->config);
  if (!event.ok()) return event.status();
  LOGOUT_RETURN_IF_ERROR(CheckChangedConnections(before, stored->config, options_));
  LOGOUT_RETURN_IF_ERROR(CompileChanged(before, stored->config, Stored(options_)).status());
  return stored->version;
}

void PolicyWriter::Install(const std::vector<policy::TenantChange>& changes, uint64_t revision) {
  if (holder_->Get() == nullptr && revision > 1) {
    // Nothing complete to apply the change to (the stored policy never compiled, or another
    // replica wrote first): read everything. A failure keeps the replica NOT_SERVING.
    (void)CatchUp();
    return;
  }
  holder_->Publish([&](const policy::CompiledPolicy* live) {
    return policy::CompiledPolicy::WithChanges(live, changes, revision);
  });
  Advance(revision);
  if (on_installed_) on_installed_();
}

void PolicyWriter::Advance(uint64_t revision) {
  absl::MutexLock lock(&applied_mu_);
  uint64_t applied = applied_.load();
  if (revision > applied) installed_.insert(revision);
  // Everything up to `applied` is in; own writes directly above it extend it.
  while (!installed_.empty() && *installed_.begin() <= applied + 1) {
    applied = std::max(applied, *installed_.begin());
    installed_.erase(installed_.begin());
  }
  applied_.store(applied, std::memory_order_release);
}

absl::Status PolicyWriter::InstallLoaded(StoredPolicy stored) {
  absl::MutexLock lock(&catch_up_mu_);
  return InstallFull(std::move(stored));
}

absl::Status PolicyWriter::InstallFull(StoredPolicy stored) {
  if (stored.version == 0) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<policy::CompiledPolicy>> compiled =
      policy::CompiledPolicy::BuildUnversioned(stored.config, Stored(options_));
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored policy revision ", stored.version,
                     " does not compile: ", compiled.status().message()));
  }
  holder_->Publish(
      [&](const policy::CompiledPolicy* live) -> std::shared_ptr<const policy::CompiledPolicy> {
        if (live != nullptr && live->version() >= stored.version &&
            applied_.load() >= stored.version) {
          return nullptr;  // already there
        }
        return policy::CompiledPolicy::Rebase(*std::move(compiled), stored.version, live);
      });
  {
    absl::MutexLock applied_lock(&applied_mu_);
    if (stored.version > applied_.load()) applied_.store(stored.version);
  }
  Advance(stored.version);
  if (on_installed_) on_installed_();
  return absl::OkStatus();
}

absl::Status PolicyWriter::CatchUp() {
  if (store_ == nullptr) return absl::OkStatus();
  absl::MutexLock lock(&catch_up_mu_);
  const uint64_t from = applied_.load();
  if (from == 0 || holder_->Get() == nullptr) {
    absl::StatusOr<StoredPolicy> stored = store_->Load();
    if (!stored.ok()) return stored.status();
    return InstallFull(*std::move(stored));
  }
  absl::StatusOr<StoredChanges> changes = store_->LoadChanges(from);
  if (!changes.ok()) return changes.status();
  if (!changes->complete) {
    absl::StatusOr<StoredPolicy> stored = store_->Load();
    if (!stored.ok()) return stored.status();
    return InstallFull(*std::move(stored));
  }
  if (changes->revision <= from) return absl::OkStatus();
  const std::shared_ptr<const policy::CompiledPolicy> live = holder_->Get();
  std::vector<policy::TenantChange> compiled;
  absl::Status failed;
  for (StoredTenant& t : changes->tenants) {
    if (live->TenantRevision(t.name) >= t.revision) continue;  // installed by its own write
    if (!t.config.has_value()) {
      compiled.push_back({t.name, nullptr, t.revision});
      continue;
    }
    absl::StatusOr<std::shared_ptr<const policy::CompiledTenant>> tenant =
        policy::CompiledPolicy::CompileTenant(*t.config, Stored(options_));
    if (!tenant.ok()) {
      if (failed.ok()) {
        failed = absl::InvalidArgumentError(
            absl::StrCat("stored policy revision ", t.revision,
                         " does not compile: ", tenant.status().message()));
      }
      continue;
    }
    compiled.push_back({t.name, *std::move(tenant), t.revision});
  }
  holder_->Publish([&](const policy::CompiledPolicy* current) {
    return policy::CompiledPolicy::WithChanges(current, compiled,
                                               failed.ok() ? changes->revision : 0);
  });
  if (failed.ok()) {
    {
      absl::MutexLock applied_lock(&applied_mu_);
      if (changes->revision > applied_.load()) applied_.store(changes->revision);
    }
    Advance(changes->revision);
  }
  if (on_installed_ && !compiled.empty()) on_installed_();
  return failed;
}

}  // namespace logout::store

#include "service/store/policy_writer.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace logout::store {

absl::StatusOr<uint64_t> PolicyWriter::Write(absl::string_view actor, const Mutation& apply) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError(
        "this logoutd serves a read-only policy file (--store=file): change the file instead");
  }
  std::unique_ptr<policy::CompiledPolicy> compiled;
  absl::StatusOr<StoredPolicy> committed =
      store_->Update([&](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
        absl::StatusOr<v1::AuditEvent> event = apply(config);
        if (!event.ok()) return event.status();
        absl::StatusOr<std::unique_ptr<policy::CompiledPolicy>> built =
            policy::CompiledPolicy::BuildUnversioned(config, options_);
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
  absl::StatusOr<v1::AuditEvent> event = apply(stored->config);
  if (!event.ok()) return event.status();
  absl::StatusOr<std::unique_ptr<policy::CompiledPolicy>> built =
      policy::CompiledPolicy::BuildUnversioned(stored->config, options_);
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
      policy::CompiledPolicy::Build(stored->config, stored->version, options_);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored policy version ", stored->version,
                     " does not compile: ", compiled.status().message()));
  }
  if (holder_->InstallIfNewer(*std::move(compiled)) && on_installed_) on_installed_();
  return absl::OkStatus();
}

}  // namespace logout::store

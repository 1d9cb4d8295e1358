#include "service/server/server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "service/common/status_macros.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/admin_mutations.h"
#include "service/rpc/logout_admin_service.h"
#include "service/rpc/logout_policy_service.h"
#include "service/server/health_service.h"
#include "service/server/log.h"
#include "service/store/policy_file.h"
#include "service/store/policy_store.h"
#include "service/store/policy_writer.h"

namespace logout::server {
namespace {

constexpr const char* kServices[] = {"", "logout.v1.LogoutPolicy", "logout.v1.LogoutAdmin"};

absl::StatusOr<std::shared_ptr<const policy::CompiledPolicy>> LoadPolicy(
    const std::string& path, const policy::PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(v1::PolicyConfig config, store::ReadPolicyFile(path));
  return policy::CompiledPolicy::Build(config, /*version=*/1, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogoutServer>> LogoutServer::Create(const ServerOptions& options) {
  std::unique_ptr<rpc::AdminAuthenticator> admin_auth = rpc::AdminAuthenticator::Disabled();
  if (!options.admin_token_file.empty()) {
    LOGOUT_ASSIGN_OR_RETURN(admin_auth,
                            rpc::AdminAuthenticator::FromTokenFile(options.admin_token_file));
  }
  std::unique_ptr<LogoutServer> self(new LogoutServer());
  self->admin_auth_ = std::move(admin_auth);
  self->health_ = std::make_unique<HealthService>();
  self->SetServing(false);
  self->SetStoreHealth(true);

  policy::PolicyOptions policy_options;
  policy_options.allow_http_loopback = options.allow_http_loopback;
  // The policy source, validated before anything listens.
  std::shared_ptr<const policy::CompiledPolicy> initial;
  if (options.store == "file") {
    if (!options.policy_path.empty()) {
      LOGOUT_ASSIGN_OR_RETURN(initial, LoadPolicy(options.policy_path, policy_options));
    }
  } else {
    LOGOUT_ASSIGN_OR_RETURN(self->store_, store::OpenPolicyStore(options.store));
  }
  LogoutServer* raw = self.get();
  self->writer_ = std::make_unique<store::PolicyWriter>(
      self->store_.get(), &self->snapshots_, [raw] { raw->SetServing(true); }, policy_options);
  if (self->store_ != nullptr) {
    LOGOUT_ASSIGN_OR_RETURN(store::StoredPolicy stored, self->store_->Load());
    if (stored.version == 0 && !options.policy_path.empty()) {
      LOGOUT_ASSIGN_OR_RETURN(v1::PolicyConfig seed, store::ReadPolicyFile(options.policy_path));
      v1::ImportPolicyRequest import;
      *import.mutable_policy() = std::move(seed);
      LOGOUT_ASSIGN_OR_RETURN(
          uint64_t version,
          self->writer_->Write("seed:" + options.policy_path, [&import](v1::PolicyConfig& c) {
            return rpc::ApplyImportPolicy(import, c);
          }));
      LogEvent(LogLevel::kInfo, "store seeded from policy file",
               {{"path", options.policy_path}, {"version", absl::StrCat(version), true}});
    } else if (stored.version > 0) {
      if (!options.policy_path.empty()) {
        LogEvent(LogLevel::kInfo, "store already holds a policy; --policy not used",
                 {{"version", absl::StrCat(stored.version), true}});
      }
      if (absl::Status s = self->writer_->Reload(); !s.ok()) {
        // Fail closed: keep NOT_SERVING; an admin import can repair the store.
        LogEvent(LogLevel::kError, "stored policy refused", {{"error", std::string(s.message())}});
        self->SetStoreHealth(false);
      }
    }
    self->store_->WatchChanges([raw](uint64_t version) { raw->Reconcile(version); });
    // A reload that failed (database blip) is retried until the snapshot catches up, instead
    // of waiting for the next write to announce itself.
    self->reconciler_ = std::thread([raw] {
      absl::MutexLock lock(&raw->reconcile_mu_);
      while (!raw->stopping_) {
        raw->reconcile_mu_.AwaitWithTimeout(absl::Condition(&raw->stopping_), absl::Seconds(2));
        if (raw->stopping_) break;
        const uint64_t wanted = raw->announced_version_.load();
        const auto live = raw->snapshots_.Get();
        if (wanted > (live == nullptr ? 0 : live->version())) {
          raw->reconcile_mu_.Unlock();
          raw->Reconcile(wanted);
          raw->reconcile_mu_.Lock();
        }
      }
    });
  }

  self->policy_service_ = std::make_unique<rpc::LogoutPolicyService>(&self->snapshots_);
  self->admin_service_ = std::make_unique<rpc::LogoutAdminService>(
      &self->snapshots_, self->writer_.get(), self->admin_auth_.get());

  // logoutd's own health service (reflection can describe it), not gRPC's built-in one.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &self->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.RegisterService(self->health_.get());
  builder.RegisterService(self->policy_service_.get());
  builder.RegisterService(self->admin_service_.get());
  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  if (initial != nullptr) {
    LogEvent(LogLevel::kInfo, "policy loaded",
             {{"path", options.policy_path},
              {"tenants", absl::StrCat(initial->tenant_count()), true},
              {"version", absl::StrCat(initial->version()), true}});
    self->InstallPolicy(std::move(initial));
  }
  if (self->snapshots_.Get() != nullptr) self->SetServing(true);
  return self;
}

LogoutServer::~LogoutServer() {
  Shutdown(absl::ZeroDuration());
  {
    absl::MutexLock lock(&reconcile_mu_);
    stopping_ = true;
  }
  if (reconciler_.joinable()) reconciler_.join();
  store_.reset();  // stops the change watcher before the writer it calls goes away
}

void LogoutServer::SetServing(bool serving) {
  for (const char* name : kServices) {
    health_->SetStatus(name, serving ? grpc::health::v1::HealthCheckResponse::SERVING
                                     : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
}

void LogoutServer::Reconcile(uint64_t version) {
  uint64_t seen = announced_version_.load();
  while (version > seen && !announced_version_.compare_exchange_weak(seen, version)) {
  }
  if (absl::Status s = writer_->Reload(); !s.ok()) {
    // The last good snapshot keeps serving; the health detail says the store is ahead.
    LogEvent(LogLevel::kError, "policy reload failed; serving the last good snapshot",
             {{"version", absl::StrCat(version), true}, {"error", std::string(s.message())}});
    SetStoreHealth(false);
  } else {
    SetStoreHealth(true);
  }
}

void LogoutServer::SetStoreHealth(bool fresh) {
  health_->SetStatus(std::string(kStoreHealthService),
                     fresh ? grpc::health::v1::HealthCheckResponse::SERVING
                           : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

void LogoutServer::InstallPolicy(std::shared_ptr<const policy::CompiledPolicy> policy) {
  snapshots_.Swap(std::move(policy));
  SetServing(true);
}

void LogoutServer::Drain() {
  if (server_ != nullptr) SetServing(false);
}

void LogoutServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  health_->Shutdown();  // NOT_SERVING everywhere; Watch streams end.
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
}

void LogoutServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace logout::server

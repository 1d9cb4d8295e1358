#include "service/server/server.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "service/common/status_macros.h"
#include "service/metrics/metrics.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/admin_mutations.h"
#include "service/rpc/call_limits.h"
#include "service/rpc/credentials.h"
#include "service/rpc/logout_admin_service.h"
#include "service/rpc/logout_policy_service.h"
#include "service/server/delivery_audit_writer.h"
#include "service/server/health_service.h"
#include "service/server/log.h"
#include "service/slo/backchannel_dispatch.h"
#include "service/store/policy_file.h"
#include "service/store/policy_store.h"
#include "service/store/policy_writer.h"

namespace logout::server {
namespace {

constexpr const char* kServices[] = {"", "logout.v1.LogoutPolicy", "logout.v1.LogoutAdmin"};

// Settings every logoutd gRPC port shares: message size, keepalive, the metrics interceptor.
void ConfigureBuilder(const ServerOptions& options, metrics::Metrics& metrics,
                      grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(metrics.NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  const auto ms = [](absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
  };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(options.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               ms(options.max_connection_age_grace));
  }
}

// One line per back-channel job (the delivery audit record): where (origin only), the result
// and the attempts; never the token or the response body.
void LogBackchannelOutcome(const slo::DeliveryOutcome& o) {
  LogEvent(o.result == slo::DeliveryResult::kDelivered ? LogLevel::kInfo : LogLevel::kWarning,
           "backchannel delivery",
           {{"tenant", o.tenant},
            {"client_id", o.client_id.substr(0, 256)},
            {"uri_origin", o.uri_origin},
            {"result", std::string(slo::DeliveryResultName(o.result))},
            {"attempts", absl::StrCat(o.attempts), true},
            {"http_status", absl::StrCat(o.last_http_status), true},
            {"detail", o.detail},
            {"elapsed_ms", absl::StrCat(absl::ToInt64Milliseconds(o.elapsed)), true}});
}

// The delivery audit row for one finished job (the same fields as the log line, no token).
v1::BackchannelDeliveryEvent DeliveryEventOf(const slo::DeliveryOutcome& o) {
  v1::BackchannelDeliveryEvent e;
  const int64_t micros = absl::ToUnixMicros(absl::Now());
  e.mutable_time()->set_seconds(micros / 1000000);
  e.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  // Whole names (validation bounds tenant and client ids to 256 bytes): a cut name would
  // misattribute rows, miss its own tenant filter and could split a UTF-8 character. The
  // origin is the ASCII serialisation of a validated URL's origin.
  e.set_tenant(o.tenant);
  e.set_client_id(o.client_id);
  e.set_uri_origin(o.uri_origin);
  e.set_result(std::string(slo::DeliveryResultName(o.result)));
  e.set_attempts(static_cast<uint32_t>(std::max(o.attempts, 0)));
  e.set_http_status(static_cast<uint32_t>(std::max(o.last_http_status, 0)));
  e.set_detail(o.detail.substr(0, 64));
  return e;
}

// Leaves server reflection off one builder (the plaintext health-only port): reflection is a
// process-wide builder plugin, and that port answers only health checks.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

// An authenticator for a bearer-token file and/or client-certificate identities (which need
// mutual TLS); with neither, one that refuses every call.
absl::StatusOr<std::unique_ptr<rpc::AdminAuthenticator>> MakeAuthenticator(
    const std::string& token_file, const std::vector<std::string>& identities, const TlsFiles& tls,
    rpc::AdminAuthenticator::Purpose purpose) {
  std::unique_ptr<rpc::AdminAuthenticator> auth = rpc::AdminAuthenticator::Disabled();
  if (!token_file.empty()) {
    LOGOUT_ASSIGN_OR_RETURN(auth, rpc::AdminAuthenticator::FromTokenFile(token_file));
  }
  if (!identities.empty()) {
    if (tls.client_ca.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(purpose.identities_flag, " needs mutual TLS (--tls_client_ca)"));
    }
    LOGOUT_RETURN_IF_ERROR(auth->AllowClientIdentities(identities));
  }
  auth->SetPurpose(std::move(purpose));
  return auth;
}

absl::StatusOr<std::shared_ptr<const policy::CompiledPolicy>> LoadPolicy(
    const std::string& path, const policy::PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(v1::PolicyConfig config, store::ReadPolicyFile(path));
  return policy::CompiledPolicy::Build(config, /*version=*/1, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogoutServer>> LogoutServer::Create(const ServerOptions& options) {
  std::unique_ptr<rpc::CredentialsFile> scoped_credentials;
  if (!options.admin_credentials_file.empty()) {
    absl::StatusOr<std::unique_ptr<rpc::CredentialsFile>> opened =
        rpc::CredentialsFile::Open(options.admin_credentials_file);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("--admin_credentials_file: ", opened.status().message()));
    }
    scoped_credentials = *std::move(opened);
    if (options.tls.client_ca.empty()) {
      for (const rpc::Credential& c : scoped_credentials->Get()->credentials()) {
        if (c.client_identity.empty()) continue;
        LogEvent(LogLevel::kWarning,
                 "credentials with a client_identity need mutual TLS (--tls_client_ca); without "
                 "it only their tokens can match",
                 {{"credential", c.name}});
        break;
      }
    }
  }
  LOGOUT_ASSIGN_OR_RETURN(
      std::unique_ptr<rpc::AdminAuthenticator> admin_auth,
      MakeAuthenticator(options.admin_token_file, options.admin_client_identities, options.tls,
                        rpc::AdminAuthenticator::Purpose()));
  if (scoped_credentials != nullptr) {
    admin_auth->UseCredentialsFile(scoped_credentials.get(),
                                   {rpc::Role::kReader, rpc::Role::kWriter, rpc::Role::kAdmin});
  }
  // Single-logout planning hands out signed logout tokens for any user the caller names: only
  // holders of a planner credential may ask for a plan, unless the operator opened it.
  std::unique_ptr<rpc::AdminAuthenticator> plan_auth;
  if (options.slo_allow_unauthenticated) {
    LogEvent(LogLevel::kWarning,
             "single-logout planning is open to every caller of the decision port "
             "(--slo_allow_unauthenticated): anyone who reaches it can log any user out");
  } else {
    LOGOUT_ASSIGN_OR_RETURN(
        plan_auth,
        MakeAuthenticator(options.slo_token_file, options.slo_client_identities, options.tls,
                          {"single-logout planning", "--slo_token_file", "--slo_client_identities",
                           rpc::Role::kPlanner}));
    if (scoped_credentials != nullptr)
      plan_auth->UseCredentialsFile(scoped_credentials.get(), {rpc::Role::kPlanner});
    if (!plan_auth->HasAnyCredential()) {
      LogEvent(LogLevel::kInfo,
               "single-logout planning is refused until a planner credential is configured "
               "(--slo_token_file, --slo_client_identities or a \"planner\" in "
               "--admin_credentials_file)");
    }
  }
  LOGOUT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                          MakeServerCredentials(options.tls));
  std::unique_ptr<LogoutServer> self(new LogoutServer());
  self->metrics_ = std::make_unique<metrics::Metrics>();
  if (!options.metrics_listen.empty()) {
    if (absl::Status s = self->metrics_->Serve(options.metrics_listen); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("--metrics_listen: ", s.message()));
    }
  }
  self->admin_auth_ = std::move(admin_auth);
  self->plan_auth_ = std::move(plan_auth);
  self->credentials_ = std::move(scoped_credentials);
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
      self->store_.get(), &self->snapshots_, [raw] { raw->OnInstalled(); }, policy_options);
  if (self->store_ != nullptr) {
    LOGOUT_ASSIGN_OR_RETURN(store::StoredPolicy stored, self->store_->Load());
    if (stored.version == 0 && !options.policy_path.empty()) {
      LOGOUT_ASSIGN_OR_RETURN(v1::PolicyConfig seed, store::ReadPolicyFile(options.policy_path));
      v1::ImportPolicyRequest import;
      *import.mutable_policy() = std::move(seed);
      import.set_force(true);  // the store is empty: there is nothing to guard
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
        self->metrics_->RecordReloadFailure();
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

  if (self->credentials_ != nullptr) {
    // Like certificate rotation: a changed file takes effect without a restart; one that does
    // not parse is reported and the last good credentials stay in force.
    self->credentials_watcher_ = std::thread(
        [raw, interval = std::max(options.credentials_refresh_interval, absl::Milliseconds(100))] {
          absl::MutexLock lock(&raw->reconcile_mu_);
          while (!raw->stopping_) {
            raw->reconcile_mu_.AwaitWithTimeout(absl::Condition(&raw->stopping_), interval);
            if (raw->stopping_) break;
            raw->reconcile_mu_.Unlock();
            const absl::StatusOr<bool> reloaded = raw->credentials_->ReloadIfChanged();
            if (!reloaded.ok()) {
              LogEvent(LogLevel::kError, "credentials file refused",
                       {{"error", std::string(reloaded.status().message())}});
              raw->metrics_->RecordCredentialsReloadFailure();
            } else if (*reloaded) {
              LogEvent(LogLevel::kInfo, "credentials reloaded",
                       {{"path", raw->credentials_->path()},
                        {"credentials",
                         absl::StrCat(raw->credentials_->Get()->credentials().size()), true}});
            }
            raw->reconcile_mu_.Lock();
          }
        });
  }

  metrics::Metrics* metrics = self->metrics_.get();
  self->limiter_ = std::make_unique<rpc::ConcurrencyLimiter>(
      options.max_concurrent_rpcs, [metrics] { metrics->RecordRejected("concurrency_limit"); });
  rpc::PolicyServiceHooks hooks;
  hooks.limiter = self->limiter_.get();
  hooks.metrics = metrics;
  hooks.plan_auth = self->plan_auth_.get();
  hooks.decision_log_sample_rate = options.decision_log_sample_rate;
  if (options.deliver_backchannel) {
    if (self->store_ != nullptr) {
      self->delivery_audit_ = std::make_unique<DeliveryAuditWriter>(
          self->store_.get(),
          [metrics](const absl::Status&) { metrics->RecordStoreError("write"); });
    }
    DeliveryAuditWriter* audit = self->delivery_audit_.get();
    self->backchannel_ = std::make_unique<slo::BackchannelDispatcher>(
        options.backchannel, [metrics, audit](const slo::DeliveryOutcome& o) {
          LogBackchannelOutcome(o);
          if (audit != nullptr) audit->Add(DeliveryEventOf(o));
          const absl::string_view result = slo::DeliveryResultName(o.result);
          metrics->RecordBackchannelDelivery(std::string_view(result.data(), result.size()),
                                             o.attempts);
        });
    hooks.backchannel = self->backchannel_.get();
  }
  self->policy_service_ = std::make_unique<rpc::LogoutPolicyService>(&self->snapshots_, hooks);
  self->admin_service_ = std::make_unique<rpc::LogoutAdminService>(
      &self->snapshots_, self->writer_.get(), self->admin_auth_.get(), self->limiter_.get(),
      metrics);

  // logoutd's own health service (reflection can describe it), not gRPC's built-in one.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const bool separate_admin = !options.admin_listen.empty();
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.listen_address, credentials, &self->port_);
    ConfigureBuilder(options, *self->metrics_, builder);
    builder.RegisterService(self->health_.get());
    builder.RegisterService(self->policy_service_.get());
    if (!separate_admin) builder.RegisterService(self->admin_service_.get());
    self->server_ = builder.BuildAndStart();
    if (self->server_ == nullptr || self->port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
    }
    self->admin_port_ = self->port_;
  }
  if (separate_admin) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.admin_listen, credentials, &self->admin_port_);
    ConfigureBuilder(options, *self->metrics_, builder);
    builder.RegisterService(self->health_.get());
    builder.RegisterService(self->admin_service_.get());
    self->admin_server_ = builder.BuildAndStart();
    if (self->admin_server_ == nullptr || self->admin_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.admin_listen));
    }
  }
  if (!options.health_listen.empty()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(),
                             &self->health_port_);
    ConfigureBuilder(options, *self->metrics_, builder);
    builder.SetOption(std::make_unique<WithoutReflection>());
    builder.RegisterService(self->health_.get());
    self->health_server_ = builder.BuildAndStart();
    if (self->health_server_ == nullptr || self->health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.health_listen));
    }
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
  if (credentials_watcher_.joinable()) credentials_watcher_.join();
  // Also when Create failed before Shutdown could run: no delivery or audit thread may touch
  // the store once it is gone.
  if (backchannel_ != nullptr) backchannel_->Shutdown(absl::ZeroDuration());
  if (delivery_audit_ != nullptr) delivery_audit_->Shutdown(absl::ZeroDuration());
  store_.reset();  // stops the change watcher before the writer it calls goes away
}

void LogoutServer::SetServing(bool serving) {
  // Once draining, a policy installed meanwhile (another replica's write, a retried reload)
  // must not bring readiness back: the pod is on its way out.
  if (serving && draining_.load()) return;
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
    metrics_->RecordReloadFailure();
    if (s.code() == absl::StatusCode::kUnavailable) metrics_->RecordStoreError("read");
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
  OnInstalled();
}

void LogoutServer::OnInstalled() {
  if (const auto live = snapshots_.Get(); live != nullptr) {
    metrics_->SetPolicy(live->version(), absl::Now());
  }
  SetServing(true);
}

int LogoutServer::metrics_port() const { return metrics_->port(); }

void LogoutServer::Drain() {
  draining_.store(true);
  if (server_ != nullptr) SetServing(false);
}

void LogoutServer::Shutdown(absl::Duration grace) {
  draining_.store(true);
  if (server_ == nullptr) return;
  health_->Shutdown();  // NOT_SERVING everywhere; Watch streams end.
  const absl::Time end = absl::Now() + grace;
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  // In parallel: each Shutdown blocks until its calls finish or the deadline passes.
  std::vector<std::thread> stoppers;
  for (grpc::Server* s : {admin_server_.get(), health_server_.get()}) {
    if (s != nullptr) stoppers.emplace_back([s, deadline] { s->Shutdown(deadline); });
  }
  server_->Shutdown(deadline);
  for (std::thread& t : stoppers) t.join();
  // Back-channel jobs still queued get what is left of the same grace (then they are given
  // up and logged), minus a slice kept for the delivery audit to record those outcomes, so
  // the whole shutdown stays within `grace`.
  if (backchannel_ != nullptr) {
    const absl::Duration left = std::max(absl::ZeroDuration(), end - absl::Now());
    const absl::Duration audit_slice =
        delivery_audit_ == nullptr ? absl::ZeroDuration() : std::min(absl::Seconds(1), left / 10);
    backchannel_->Shutdown(left - audit_slice);
  }
  // Then the delivery audit writes what those jobs reported, within what is left.
  if (delivery_audit_ != nullptr) {
    delivery_audit_->Shutdown(std::max(absl::ZeroDuration(), end - absl::Now()));
  }
}

void LogoutServer::Wait() {
  if (server_ != nullptr) server_->Wait();
  if (admin_server_ != nullptr) admin_server_->Wait();
  if (health_server_ != nullptr) health_server_->Wait();
}

}  // namespace logout::server

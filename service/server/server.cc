#include "service/server/server.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "service/admin/admin_mutations.h"
#include "service/admin/policy_difference.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/metrics/metrics.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/call_limits.h"
#include "service/rpc/credentials.h"
#include "service/rpc/logout_admin_service.h"
#include "service/rpc/logout_policy_service.h"
#include "service/server/delivery_audit_writer.h"
#include "service/server/health_service.h"
#include "service/server/periodic_task.h"
#include "service/server/policy_reconciler.h"
#include "service/slo/backchannel_dispatch.h"
#include "service/slo/outbox_deliverer.h"
#include "service/store/outbox.h"
#include "service/store/policy_file.h"
#include "service/store/policy_store.h"
#include "service/store/policy_writer.h"

namespace logout::server {

using common::LogEvent;
using common::LogLevel;
namespace {

constexpr const char* kServices[] = {"", "logout.v1.LogoutPolicy", "logout.v1.LogoutAdmin"};

// Settings every logoutd gRPC port shares: message size, keepalive, the metrics interceptor.
void ConfigureBuilder(const ConnectionOptions& options, metrics::Metrics& metrics,
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
  // A port another process holds is an error at start, never a silently shared port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(options.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               ms(options.max_connection_age_grace));
  }
}

// One line per finished outbox job (the delivery audit record): where (origin only), the
// result and the attempts; never the token, subject, session or response body. A job that
// will be retried is not logged (its attempts are counted in metrics).
void LogDeliveryReport(const slo::DeliveryReport& r) {
  const store::OutboxJob& j = *r.job;
  LogEvent(r.result == "delivered" ? LogLevel::kInfo : LogLevel::kWarning,
           j.kind == store::kJobKindSet ? "set delivery" : "backchannel delivery",
           {{"tenant", j.tenant},
            {"client_id", j.target.substr(0, 256)},
            {"job_id", absl::StrCat(j.id), true},
            {"uri_origin", j.origin},
            {"result", r.result},
            {"attempts", absl::StrCat(j.attempts), true},
            {"http_status", absl::StrCat(j.http_status), true},
            {"detail", j.detail},
            {"elapsed_ms", absl::StrCat(absl::ToInt64Milliseconds(r.since_created)), true}});
}

// The delivery audit row for one finished job (the same fields as the log line, no token).
v1::BackchannelDeliveryEvent DeliveryEventOf(const slo::DeliveryReport& r) {
  const store::OutboxJob& j = *r.job;
  v1::BackchannelDeliveryEvent e;
  const int64_t micros = absl::ToUnixMicros(absl::Now());
  e.mutable_time()->set_seconds(micros / 1000000);
  e.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  // Whole names (validation bounds tenant and client ids to 256 bytes): a cut name would
  // misattribute rows, miss its own tenant filter and could split a UTF-8 character. The
  // origin is the ASCII serialisation of a validated URL's origin.
  e.set_tenant(j.tenant);
  e.set_client_id(j.target);
  e.set_uri_origin(j.origin);
  e.set_result(r.result);
  e.set_attempts(static_cast<uint32_t>(std::max(j.attempts, 0)));
  e.set_http_status(static_cast<uint32_t>(std::max(j.http_status, 0)));
  e.set_detail(j.detail.substr(0, 64));
  return e;
}

// The outbox flags' bounds, naming the flag.
absl::Status CheckOutboxOptions(const ServerOptions& options) {
  const slo::OutboxDeliveryOptions& o = options.outbox;
  auto bad = [](absl::string_view flag, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
  };
  if (o.horizon < absl::Seconds(1) || o.horizon > absl::Hours(168)) {
    return bad("backchannel_horizon", "must be between 1s and 168h");
  }
  if (o.attempt_timeout < absl::Milliseconds(100) || o.attempt_timeout > absl::Minutes(1)) {
    return bad("backchannel_attempt_timeout", "must be between 100ms and 1m");
  }
  if (o.initial_backoff < absl::Milliseconds(10) || o.max_backoff < o.initial_backoff ||
      o.max_backoff > absl::Hours(6)) {
    return bad("backchannel_max_backoff",
               "needs 10ms <= --backchannel_initial_backoff <= --backchannel_max_backoff <= 6h");
  }
  if (o.workers < 1 || o.workers > 256) return bad("outbox_workers", "must be 1..256");
  if (o.per_origin_concurrency < 1 || o.per_origin_concurrency > 256) {
    return bad("outbox_origin_concurrency", "must be 1..256");
  }
  if (o.lease < o.attempt_timeout + absl::Seconds(2) || o.lease > absl::Hours(1)) {
    return bad("outbox_lease",
               "must be at least --backchannel_attempt_timeout + 2s and at most 1h");
  }
  if (options.max_delivery_wait < absl::ZeroDuration() ||
      options.max_delivery_wait > absl::Minutes(5)) {
    return bad("max_delivery_wait", "must be between 0s and 5m");
  }
  return absl::OkStatus();
}

// A replica's name in outbox leases: host, pid and a random suffix (a restarted process with
// the same pid is a new owner).
std::string LeaseOwner() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  absl::BitGen rng;
  return absl::StrCat(host, ":", getpid(), ":", absl::Hex(absl::Uniform<uint32_t>(rng)));
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

// CheckListenAddress refuses an address without a port: gRPC would take "localhost" as
// port 443.
absl::Status CheckListenAddress(absl::string_view flag, absl::string_view address) {
  if (address.empty()) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  const size_t bracket = address.rfind(']');
  const bool has_port = colon != absl::string_view::npos &&
                        (bracket == absl::string_view::npos || colon > bracket) &&
                        colon + 1 < address.size();
  int port = -1;
  if (!has_port || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": \"", address, "\" needs a port: HOST:PORT, e.g. 0.0.0.0:50051 (port 0: any)"));
  }
  return absl::OkStatus();
}

// An authenticator for a bearer-token file and/or client-certificate identities (which need
// mutual TLS); with neither, one that refuses every call.
absl::StatusOr<std::unique_ptr<rpc::AdminAuthenticator>> MakeAuthenticator(
    const AuthOptions& auth_options, const TlsFiles& tls,
    rpc::AdminAuthenticator::Purpose purpose) {
  std::unique_ptr<rpc::AdminAuthenticator> auth = rpc::AdminAuthenticator::Disabled();
  if (!auth_options.token_file.empty()) {
    LOGOUT_ASSIGN_OR_RETURN(auth, rpc::AdminAuthenticator::FromTokenFile(auth_options.token_file));
  }
  if (!auth_options.client_identities.empty()) {
    if (tls.client_ca.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(purpose.identities_flag, " needs mutual TLS (--tls_client_ca)"));
    }
    LOGOUT_RETURN_IF_ERROR(auth->AllowClientIdentities(auth_options.client_identities));
  }
  auth->SetPurpose(std::move(purpose));
  return auth;
}

// Opens --admin_credentials_file (null without one).
absl::StatusOr<std::unique_ptr<rpc::CredentialsFile>> OpenCredentials(
    const ServerOptions& options) {
  if (options.admin_credentials_file.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<rpc::CredentialsFile>> opened =
      rpc::CredentialsFile::Open(options.admin_credentials_file);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("--admin_credentials_file: ", opened.status().message()));
  }
  if (options.tls.client_ca.empty()) {
    for (const rpc::Credential& c : (*opened)->Get()->credentials()) {
      if (c.client_identity.empty()) continue;
      LogEvent(LogLevel::kWarning,
               "credentials with a client_identity need mutual TLS (--tls_client_ca); without "
               "it only their tokens can match",
               {{"credential", c.name}});
      break;
    }
  }
  return opened;
}

// The planning authenticator: null when --slo_allow_unauthenticated opened planning.
absl::StatusOr<std::unique_ptr<rpc::AdminAuthenticator>> MakePlanAuthenticator(
    const ServerOptions& options, const rpc::CredentialsFile* credentials) {
  // Single-logout planning hands out signed logout tokens for any user the caller names: only
  // holders of a planner credential may ask for a plan, unless the operator opened it.
  if (options.slo_allow_unauthenticated) {
    LogEvent(LogLevel::kWarning,
             "single-logout planning is open to every caller of the decision port "
             "(--slo_allow_unauthenticated): anyone who reaches it can log any user out");
    return nullptr;
  }
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<rpc::AdminAuthenticator> plan_auth,
                          MakeAuthenticator(options.slo_auth, options.tls,
                                            {"single-logout planning", "--slo_token_file",
                                             "--slo_client_identities", rpc::Role::kPlanner}));
  if (credentials != nullptr) plan_auth->UseCredentialsFile(credentials, {rpc::Role::kPlanner});
  if (!plan_auth->HasAnyCredential()) {
    LogEvent(LogLevel::kInfo,
             "single-logout planning is refused until a planner credential is configured "
             "(--slo_token_file, --slo_client_identities or a \"planner\" in "
             "--admin_credentials_file)");
  }
  return plan_auth;
}

// What one gRPC port serves.
struct Port {
  const char* flag;
  const std::string& address;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::vector<grpc::Service*> services;
  bool reflection = true;
};

// StartPort builds and starts one gRPC server with the settings every port shares; `bound`
// receives the port it listens on. UnavailableError when the address cannot be bound.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartPort(const Port& port,
                                                        const ConnectionOptions& connection,
                                                        metrics::Metrics& metrics, int* bound) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(port.address, port.credentials, bound);
  ConfigureBuilder(connection, metrics, builder);
  if (!port.reflection) builder.SetOption(std::make_unique<WithoutReflection>());
  for (grpc::Service* service : port.services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound == 0) {
    return absl::UnavailableError(absl::StrCat(port.flag, ": cannot listen on ", port.address,
                                               " (is the port in use by another process?)"));
  }
  return server;
}

absl::StatusOr<std::shared_ptr<const policy::CompiledPolicy>> LoadPolicy(
    const std::string& path, const policy::PolicyOptions& options) {
  LOGOUT_ASSIGN_OR_RETURN(v1::PolicyConfig config, store::ReadPolicyFile(path));
  return policy::CompiledPolicy::Build(config, /*version=*/1, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogoutServer>> LogoutServer::Create(const ServerOptions& options) {
  if (!(options.decision_log_sample_rate >= 0 && options.decision_log_sample_rate <= 1)) {
    return absl::InvalidArgumentError("--decision_log_sample_rate must be between 0 and 1");
  }
  LOGOUT_RETURN_IF_ERROR(CheckListenAddress("--listen", options.listen_address));
  LOGOUT_RETURN_IF_ERROR(CheckListenAddress("--admin_listen", options.admin_listen));
  LOGOUT_RETURN_IF_ERROR(CheckListenAddress("--health_listen", options.health_listen));
  LOGOUT_RETURN_IF_ERROR(CheckListenAddress("--metrics_listen", options.metrics_listen));
  if (options.policy_mode != "seed" && options.policy_mode != "replace") {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy_mode must be seed or replace, not \"", options.policy_mode, "\""));
  }
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<rpc::CredentialsFile> scoped_credentials,
                          OpenCredentials(options));
  LOGOUT_ASSIGN_OR_RETURN(
      std::unique_ptr<rpc::AdminAuthenticator> admin_auth,
      MakeAuthenticator(options.admin_auth, options.tls, rpc::AdminAuthenticator::Purpose()));
  if (scoped_credentials != nullptr) {
    admin_auth->UseCredentialsFile(scoped_credentials.get(),
                                   {rpc::Role::kReader, rpc::Role::kWriter, rpc::Role::kAdmin});
  }
  LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<rpc::AdminAuthenticator> plan_auth,
                          MakePlanAuthenticator(options, scoped_credentials.get()));
  if (scoped_credentials != nullptr) {
    // The same checks at start and on every reload: no credential of the file may be one of
    // the flags' (credentials for every tenant, which would shadow its narrower scope).
    const rpc::AdminAuthenticator* admin_check = admin_auth.get();
    const rpc::AdminAuthenticator* plan_check = plan_auth.get();
    auto validate = [admin_check, plan_check](const rpc::CredentialSet& set) -> absl::Status {
      LOGOUT_RETURN_IF_ERROR(admin_check->CheckOverlap(set));
      if (plan_check != nullptr) LOGOUT_RETURN_IF_ERROR(plan_check->CheckOverlap(set));
      return absl::OkStatus();
    };
    if (absl::Status s = validate(*scoped_credentials->Get()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--admin_credentials_file: ", s.message()));
    }
    scoped_credentials->SetValidator(validate);
  }
  LOGOUT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> tls_credentials,
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
    if (options.deliver_backchannel) {
      return absl::InvalidArgumentError(
          "--deliver_backchannel needs a database store (--store=sqlite:PATH or "
          "--store=postgresql://...): logoutd keeps every queued logout in the store's outbox "
          "until it is delivered, so a crash or restart loses none, and --store=file has "
          "nowhere to keep them");
    }
    if (!options.policy_path.empty()) {
      LOGOUT_ASSIGN_OR_RETURN(initial, LoadPolicy(options.policy_path, policy_options));
    } else {
      LogEvent(LogLevel::kWarning,
               "no policy loaded: --store=file serves the --policy file, and none was given; "
               "decisions answer UNAVAILABLE and health reports NOT_SERVING");
    }
  } else {
    LOGOUT_ASSIGN_OR_RETURN(self->store_, store::OpenPolicyStore(options.store));
  }
  LogoutServer* raw = self.get();
  self->writer_ = std::make_unique<store::PolicyWriter>(
      self->store_.get(), &self->snapshots_, [raw] { raw->OnInstalled(); }, policy_options);
  if (self->store_ != nullptr) {
    LOGOUT_RETURN_IF_ERROR(self->LoadStore(options.policy_path, options.policy_mode));
    // Loading parsed the whole stored policy once; what the snapshot does not keep is free heap
    // now: give it back to the system (glibc keeps it otherwise), so RSS is what serving needs.
    malloc_trim(0);
    self->reconciler_ = std::make_unique<PolicyReconciler>(
        self->writer_.get(),
        [raw](uint64_t version, const absl::Status& s) { raw->OnReconciled(version, s); });
    PolicyReconciler* reconciler = self->reconciler_.get();
    self->store_->WatchChanges([reconciler](uint64_t version) { reconciler->Announce(version); });
  }
  if (self->credentials_ != nullptr) {
    // Like certificate rotation: a changed file takes effect without a restart; one that does
    // not parse is reported and the last good credentials stay in force.
    self->credentials_watcher_ = std::make_unique<PeriodicTask>(
        std::max(options.credentials_refresh_interval, absl::Milliseconds(100)),
        [raw] { raw->ReloadCredentials(); });
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
    LOGOUT_RETURN_IF_ERROR(CheckOutboxOptions(options));
    // Checked before anything listens (see the --store=file refusal above).
    self->delivery_audit_ = std::make_unique<DeliveryAuditWriter>(
        self->store_.get(), [metrics](const absl::Status&) { metrics->RecordStoreError("write"); });
    LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<store::Outbox> outbox,
                            store::OpenOutbox(options.store));
    DeliveryAuditWriter* audit = self->delivery_audit_.get();
    slo::DeliveryObserver observer;
    observer.on_report = [metrics, audit](const slo::DeliveryReport& r) {
      const std::string& kind = r.job->kind;
      metrics->RecordOutboxReport(kind, r.result, r.attempted,
                                  absl::ToDoubleSeconds(r.since_created));
      if (r.result == "retry") return;
      LogDeliveryReport(r);
      if (kind == store::kJobKindBackchannel) {
        audit->Add(DeliveryEventOf(r));
        metrics->RecordBackchannelDelivery(r.result, r.job->attempts);
      }
    };
    observer.on_gauges = [metrics](const slo::OutboxGauges& g) {
      metrics->SetOutboxGauges(g.pending, g.dead, absl::ToDoubleSeconds(g.oldest_due_age));
    };
    observer.on_enqueued = [metrics](const std::vector<store::OutboxJob>& jobs) {
      for (const store::OutboxJob& j : jobs) metrics->RecordOutboxEnqueued(j.kind, 1);
    };
    observer.on_lost_leases = [metrics](int n) { metrics->RecordOutboxLostLeases(n); };
    observer.on_takeovers = [metrics](int n) {
      metrics->RecordOutboxTakeovers(n);
      LogEvent(LogLevel::kWarning, "took over notification jobs whose lease had expired",
               {{"jobs", absl::StrCat(n), true}});
    };
    observer.on_store_error = [metrics](const absl::Status& s) {
      metrics->RecordStoreError("outbox");
      LogEvent(LogLevel::kError, "notification outbox: store error",
               {{"error", std::string(s.message())}});
    };
    self->deliverer_ = std::make_unique<slo::OutboxDeliverer>(
        std::move(outbox), options.outbox, slo::BackchannelPreparer(&self->snapshots_),
        std::move(observer), LeaseOwner());
    LOGOUT_RETURN_IF_ERROR(self->deliverer_->Start());
    self->backchannel_ = std::make_unique<slo::BackchannelDispatcher>(self->deliverer_.get(),
                                                                      options.outbox.horizon);
    hooks.backchannel = self->backchannel_.get();
    hooks.max_delivery_wait = options.max_delivery_wait;
  }
  self->policy_service_ = std::make_unique<rpc::LogoutPolicyService>(&self->snapshots_, hooks);
  self->admin_service_ = std::make_unique<rpc::LogoutAdminService>(
      &self->snapshots_, self->writer_.get(), self->admin_auth_.get(), self->limiter_.get(),
      metrics);
  if (self->deliverer_ != nullptr) {
    self->admin_service_->SetOutbox(self->deliverer_->outbox(), options.outbox.horizon);
  }

  // logoutd's own health service (reflection can describe it), not gRPC's built-in one.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const bool separate_admin = !options.admin_listen.empty();
  Port decision_port{"--listen",
                     options.listen_address,
                     tls_credentials,
                     {self->health_.get(), self->policy_service_.get()}};
  if (!separate_admin) decision_port.services.push_back(self->admin_service_.get());
  LOGOUT_ASSIGN_OR_RETURN(self->server_,
                          StartPort(decision_port, options.connection, *metrics, &self->port_));
  self->admin_port_ = self->port_;
  if (separate_admin) {
    LOGOUT_ASSIGN_OR_RETURN(self->admin_server_,
                            StartPort({"--admin_listen",
                                       options.admin_listen,
                                       tls_credentials,
                                       {self->health_.get(), self->admin_service_.get()}},
                                      options.connection, *metrics, &self->admin_port_));
  }
  if (!options.health_listen.empty()) {
    // Plaintext and health only: Kubernetes' gRPC probes cannot speak TLS.
    LOGOUT_ASSIGN_OR_RETURN(self->health_server_,
                            StartPort({"--health_listen",
                                       options.health_listen,
                                       grpc::InsecureServerCredentials(),
                                       {self->health_.get()},
                                       /*reflection=*/false},
                                      options.connection, *metrics, &self->health_port_));
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

absl::Status LogoutServer::LoadStore(const std::string& policy_path,
                                     const std::string& policy_mode) {
  LOGOUT_ASSIGN_OR_RETURN(store::StoredPolicy stored, store_->Load());
  if (stored.version == 0 && policy_path.empty()) {
    LogEvent(LogLevel::kWarning,
             "no policy loaded: the store is empty. Load one with --policy=FILE (it seeds an "
             "empty store) or LogoutAdmin.ImportPolicy (logoutctl policy import FILE --yes); "
             "until then decisions answer UNAVAILABLE and health reports NOT_SERVING");
    return absl::OkStatus();
  }
  const bool replace = policy_mode == "replace";
  bool write = false;  // whether --policy was written to the store (or lost the race to)
  if (!policy_path.empty()) {
    absl::StatusOr<v1::PolicyConfig> file = store::ReadPolicyFile(policy_path);
    if (!file.ok() && stored.version > 0 && !replace) {
      // Seed mode: the file only matters for an empty store; this one already serves.
      LogEvent(LogLevel::kWarning, "--policy file not usable; serving the stored policy",
               {{"path", policy_path},
                {"stored_version", absl::StrCat(stored.version), true},
                {"error", std::string(file.status().message())}});
    } else {
      if (!file.ok()) return file.status();
      v1::ImportPolicyRequest import;
      *import.mutable_policy() = *std::move(file);
      import.set_allow_deletions(true);
      // The import applies only to the policy it was compared with: another replica seeding,
      // or an admin import, landing first makes it ABORTED instead of overwritten.
      import.set_expected_etag(admin::PolicyEtag(stored.config));
      write = stored.version == 0;
      if (stored.version > 0) {
        // What importing the file would change (stored secrets kept, as an import keeps them).
        v1::PolicyConfig imported = stored.config;
        LOGOUT_RETURN_IF_ERROR(admin::ApplyImportPolicy(import, imported).status());
        const v1::PolicyDifference difference = admin::DiffPolicies(stored.config, imported);
        if (admin::IsEmpty(difference)) {
          LogEvent(LogLevel::kInfo, "store already holds the --policy file's policy",
                   {{"path", policy_path}, {"version", absl::StrCat(stored.version), true}});
        } else if (!replace) {
          LogEvent(LogLevel::kWarning,
                   "the store holds a policy different from --policy; serving the stored one "
                   "(--policy_mode=replace imports the file over it)",
                   {{"path", policy_path},
                    {"stored_version", absl::StrCat(stored.version), true},
                    {"stored_etag", admin::PolicyEtag(stored.config)},
                    {"file_etag", admin::PolicyEtag(imported)}});
        } else {
          write = true;
        }
      }
      if (write) {
        const bool replacing = stored.version > 0;
        const std::string actor = absl::StrCat(replacing ? "policy-file:" : "seed:", policy_path);
        absl::StatusOr<uint64_t> version = writer_->Write(
            actor, [&import](v1::PolicyConfig& c) { return admin::ApplyImportPolicy(import, c); });
        if (version.ok()) {
          LogEvent(
              LogLevel::kInfo,
              replacing ? "stored policy replaced by --policy" : "store seeded from policy file",
              {{"path", policy_path}, {"version", absl::StrCat(*version), true}});
          return absl::OkStatus();
        }
        if (!absl::IsAborted(version.status())) return version.status();
        LogEvent(LogLevel::kWarning,
                 "the store changed while --policy was applied (another replica or an admin "
                 "wrote first); serving the stored policy",
                 {{"path", policy_path}});
      }
    }
  }
  // Nothing written at start-up: install what was read; else read what the other writer wrote.
  absl::Status installed = write ? writer_->CatchUp() : writer_->InstallLoaded(std::move(stored));
  if (absl::Status s = installed; !s.ok()) {
    // Fail closed: keep NOT_SERVING; an admin import can repair the store.
    LogEvent(LogLevel::kError, "stored policy refused", {{"error", std::string(s.message())}});
    metrics_->RecordReloadFailure();
    SetStoreHealth(false);
  }
  return absl::OkStatus();
}

void LogoutServer::ReloadCredentials() {
  const absl::StatusOr<bool> reloaded = credentials_->ReloadIfChanged();
  if (!reloaded.ok()) {
    LogEvent(LogLevel::kError, "credentials file refused",
             {{"error", std::string(reloaded.status().message())}});
    metrics_->RecordCredentialsReloadFailure();
  } else if (*reloaded) {
    LogEvent(LogLevel::kInfo, "credentials reloaded",
             {{"path", credentials_->path()},
              {"credentials", absl::StrCat(credentials_->Get()->credentials().size()), true}});
  }
}

LogoutServer::~LogoutServer() {
  Shutdown(absl::ZeroDuration());
  credentials_watcher_.reset();
  // Retries read the store: they stop first; the store's change watcher (which announces to
  // the reconciler) stops with the store, below.
  if (reconciler_ != nullptr) reconciler_->StopRetrying();
  // Also when Create failed before Shutdown could run: no delivery or audit thread may touch
  // the store once it is gone.
  if (deliverer_ != nullptr) deliverer_->Shutdown(absl::ZeroDuration());
  if (delivery_audit_ != nullptr) delivery_audit_->Shutdown(absl::ZeroDuration());
  store_.reset();  // stops the change watcher before the reconciler and writer it calls go away
  reconciler_.reset();
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

void LogoutServer::OnReconciled(uint64_t version, const absl::Status& status) {
  uint64_t heard = store_revision_.load();
  while (version > heard && !store_revision_.compare_exchange_weak(heard, version)) {
  }
  metrics_->SetRevisions(writer_->applied_revision(), store_revision_.load());
  if (!status.ok()) {
    // The last good snapshot keeps serving; the health detail says the store is ahead.
    LogEvent(LogLevel::kError, "policy reload failed; serving the last good snapshot",
             {{"version", absl::StrCat(version), true}, {"error", std::string(status.message())}});
    metrics_->RecordReloadFailure();
    if (status.code() == absl::StatusCode::kUnavailable) metrics_->RecordStoreError("read");
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
  if (writer_ != nullptr) {
    const uint64_t applied = writer_->applied_revision();
    uint64_t heard = store_revision_.load();
    while (applied > heard && !store_revision_.compare_exchange_weak(heard, applied)) {
    }
    metrics_->SetRevisions(applied, std::max(heard, applied));
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
  // Calls waiting for deliveries answer now with what is known (pending jobs stay queued).
  if (deliverer_ != nullptr) deliverer_->EndWaits();
  server_->Shutdown(deadline);
  for (std::thread& t : stoppers) t.join();
  // Attempts in flight get what is left of the same grace, minus a slice kept for the
  // delivery audit to record their outcomes, so the whole shutdown stays within `grace`.
  // Every job not delivered stays in the outbox, its lease released for the next process.
  if (deliverer_ != nullptr) {
    const absl::Duration left = std::max(absl::ZeroDuration(), end - absl::Now());
    const absl::Duration audit_slice =
        delivery_audit_ == nullptr ? absl::ZeroDuration() : std::min(absl::Seconds(1), left / 10);
    deliverer_->Shutdown(left - audit_slice);
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

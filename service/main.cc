// logoutd: turns flags into ServerOptions, starts the server, waits for SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"
#include "service/common/log.h"
#include "service/server/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "host:port for gRPC (port 0 = any free port)");
ABSL_FLAG(std::string, store, "sqlite:logoutd.db",
          "policy store: sqlite:PATH, postgresql://..., or file (read-only --policy)");
ABSL_FLAG(std::string, policy, "",
          "policy file, JSON (proto3 mapping) or text format: seeds an empty store, or is served "
          "read-only with --store=file");
ABSL_FLAG(std::string, policy_mode, "seed",
          "with a database store: seed (--policy only fills an empty store; a store holding a "
          "different policy is kept, with a warning) or replace (--policy replaces the stored "
          "policy, as an audited import)");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(2),
          "after SIGTERM: how long to keep serving while health reports NOT_SERVING");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "after the drain delay: how long in-flight calls may finish before they are cancelled");
ABSL_FLAG(std::string, admin_token_file, "",
          "file with the bearer token admin calls must present (empty: admin API disabled)");
ABSL_FLAG(bool, dev_allow_http_loopback, false,
          "development only: accept http://localhost / 127.0.0.1 / [::1] connection logout URLs");
ABSL_FLAG(int, max_receive_message_bytes, 1024 * 1024, "largest request message accepted");
ABSL_FLAG(std::string, admin_listen, "",
          "host:port serving only the admin API (empty: admin is served on --listen)");
ABSL_FLAG(std::string, health_listen, "",
          "host:port serving only grpc.health.v1 in plaintext, for Kubernetes gRPC probes");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain for the gRPC ports (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: clients must present a certificate it verifies (mutual TLS)");
ABSL_FLAG(absl::Duration, tls_refresh_interval, absl::Seconds(60),
          "how often the TLS files are re-read (rotation without restart)");
ABSL_FLAG(std::vector<std::string>, admin_client_identities, {},
          "client-certificate identities (SAN URI/DNS, else CN) allowed to call the admin API");
ABSL_FLAG(std::string, slo_token_file, "",
          "bearer token of a planner for every tenant: single-logout plans "
          "(PlanLogoutNotifications, plan_notifications) need a planner credential");
ABSL_FLAG(std::vector<std::string>, slo_client_identities, {},
          "client-certificate identities allowed to ask for single-logout plans");
ABSL_FLAG(std::string, admin_credentials_file, "",
          "JSON file of scoped credentials (token SHA-256 and/or client identity, tenants, role: "
          "reader, writer, admin or planner); re-read when it changes");
ABSL_FLAG(absl::Duration, credentials_refresh_interval, absl::Seconds(10),
          "how often --admin_credentials_file is checked for changes");
ABSL_FLAG(bool, slo_allow_unauthenticated, false,
          "open single-logout planning to every caller of the decision port (locked-down "
          "networks only; by default planning needs a planner credential)");
ABSL_FLAG(int, max_concurrent_rpcs, 1000,
          "calls in progress beyond which calls get RESOURCE_EXHAUSTED (0: no bound)");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(60),
          "ping an idle client connection this often");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "drop a connection whose ping is unanswered this long");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(5),
          "close connections gracefully after this long so clients rebalance (0: never)");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(30),
          "how long calls may finish on a connection closed for its age");
ABSL_FLAG(bool, deliver_backchannel, false,
          "single logout: POST the back-channel logout tokens of every plan from logoutd itself");
ABSL_FLAG(absl::Duration, backchannel_horizon, absl::Hours(24),
          "--deliver_backchannel: how long a queued notification keeps being retried (from when "
          "it was planned) before it becomes a dead letter; 1s..168h");
ABSL_FLAG(absl::Duration, backchannel_timeout, absl::ZeroDuration(),
          "deprecated name of --backchannel_horizon (0: unset)");
ABSL_FLAG(absl::Duration, backchannel_attempt_timeout, absl::Seconds(5),
          "--deliver_backchannel: the time one HTTP attempt may take");
ABSL_FLAG(absl::Duration, backchannel_initial_backoff, absl::Seconds(1),
          "--deliver_backchannel: the pause before the first retry (doubling, jittered)");
ABSL_FLAG(absl::Duration, backchannel_max_backoff, absl::Minutes(5),
          "--deliver_backchannel: the longest pause between retries");
ABSL_FLAG(int, outbox_workers, 8, "--deliver_backchannel: HTTP attempts in flight per replica");
ABSL_FLAG(int, outbox_origin_concurrency, 2,
          "--deliver_backchannel: HTTP attempts in flight per receiver origin per replica");
ABSL_FLAG(absl::Duration, outbox_lease, absl::Seconds(30),
          "--deliver_backchannel: how long a replica holds a claimed job; another replica takes "
          "it over after that (at least --backchannel_attempt_timeout + 2s)");
ABSL_FLAG(absl::Duration, max_delivery_wait, absl::Seconds(10),
          "the longest wait_for_delivery a call may ask for");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port for the Prometheus endpoint GET /metrics (plaintext; empty: off)");
ABSL_FLAG(double, decision_log_sample_rate, 0.01,
          "fraction of decisions logged as JSON lines (0..1); failed calls are always logged");

namespace {

// --help: every flag, grouped, with its default. A flag missing from the groups is still
// shown, under "Other".
struct FlagGroup {
  const char* title;
  std::vector<std::string> names;
};

void PrintUsage() {
  const std::vector<FlagGroup> groups = {
      {"Serving",
       {"listen", "admin_listen", "health_listen", "metrics_listen", "max_concurrent_rpcs",
        "max_receive_message_bytes", "drain_delay", "shutdown_grace"}},
      {"Policy and store", {"store", "policy", "policy_mode", "dev_allow_http_loopback"}},
      {"Credentials",
       {"admin_credentials_file", "credentials_refresh_interval", "admin_token_file",
        "admin_client_identities", "slo_token_file", "slo_client_identities",
        "slo_allow_unauthenticated"}},
      {"TLS", {"tls_cert", "tls_key", "tls_client_ca", "tls_refresh_interval"}},
      {"Connections",
       {"keepalive_time", "keepalive_timeout", "max_connection_age", "max_connection_age_grace"}},
      {"Single logout",
       {"deliver_backchannel", "backchannel_horizon", "backchannel_attempt_timeout",
        "backchannel_initial_backoff", "backchannel_max_backoff", "outbox_workers",
        "outbox_origin_concurrency", "outbox_lease", "max_delivery_wait", "backchannel_timeout"}},
      {"Logs", {"decision_log_sample_rate"}},
  };
  std::printf(
      "logoutd %s: logout policy decisions over gRPC.\n\n"
      "Usage: logoutd [--flag=value ...]\n"
      "  e.g. logoutd --listen=0.0.0.0:50051 --store=sqlite:logoutd.db --policy=policy.json\n",
      LOGOUT_VERSION);
  absl::flat_hash_set<std::string> shown;
  const auto print = [&shown](const absl::CommandLineFlag& flag) {
    shown.insert(std::string(flag.Name()));
    std::printf("  --%s (default: %s)\n      %s\n", std::string(flag.Name()).c_str(),
                flag.DefaultValue().empty() ? "\"\"" : flag.DefaultValue().c_str(),
                flag.Help().c_str());
  };
  for (const FlagGroup& group : groups) {
    std::printf("\n%s:\n", group.title);
    for (const std::string& name : group.names) {
      if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name)) print(*flag);
    }
  }
  bool other = false;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (shown.contains(name) || !absl::EndsWith(flag->Filename(), "service/main.cc")) continue;
    if (!other) std::printf("\nOther:\n");
    other = true;
    print(*flag);
  }
  std::printf("\n  --help, --version\n");
}

// gRPC's own log lines (handshake failures, ...) as JSON lines like every other line on stderr.
// Credentials gRPC's tracing (GRPC_TRACE) could print with request headers: a bearer token
// is replaced by "<redacted>".
std::string RedactBearer(std::string text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (size_t at = lower.find("bearer "); at != std::string::npos;
       at = lower.find("bearer ", at + 1)) {
    const size_t begin = at + 7;
    size_t end = begin;
    while (end < text.size() && text[end] != ' ' && text[end] != '"' && text[end] != '\'' &&
           text[end] != ',' && text[end] != '\n') {
      ++end;
    }
    if (end > begin) text.replace(begin, end - begin, "<redacted>");
  }
  return text;
}

void LogGrpcMessage(gpr_log_func_args* args) {
  using logout::common::LogLevel;
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR   ? LogLevel::kError
                         : args->severity == GPR_LOG_SEVERITY_INFO  ? LogLevel::kInfo
                         : args->severity == GPR_LOG_SEVERITY_DEBUG ? LogLevel::kInfo
                                                                    : LogLevel::kWarning;
  logout::common::LogEvent(
      level, "grpc",
      {{"grpc_message", RedactBearer(args->message == nullptr ? "" : args->message)},
       {"file", args->file == nullptr ? "" : args->file},
       {"line", absl::StrCat(args->line), true}});
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpfull") {
      PrintUsage();
      return EXIT_SUCCESS;
    }
    if (arg == "--version" || arg == "-version") {
      std::printf("logoutd %s (git %s)\n", LOGOUT_VERSION, LOGOUT_GIT_REVISION);
      return EXIT_SUCCESS;
    }
  }
  absl::SetProgramUsageMessage("logoutd [--flag=value ...] (logoutd --help lists them)");
  absl::ParseCommandLine(argc, argv);
  gpr_set_log_function(LogGrpcMessage);
  // Debian's Abseil checks every mutex acquisition for lock-order cycles (gRPC locks through
  // absl::Mutex): a debugging aid that costs ~5% of an RPC's server CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  using logout::common::LogEvent;
  using logout::common::LogLevel;

  // Block the shutdown signals in every thread (gRPC's included); main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  logout::server::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.store = absl::GetFlag(FLAGS_store);
  options.policy_path = absl::GetFlag(FLAGS_policy);
  options.policy_mode = absl::GetFlag(FLAGS_policy_mode);
  options.admin_auth.token_file = absl::GetFlag(FLAGS_admin_token_file);
  options.allow_http_loopback = absl::GetFlag(FLAGS_dev_allow_http_loopback);
  options.connection.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  options.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  options.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval);
  options.admin_auth.client_identities = absl::GetFlag(FLAGS_admin_client_identities);
  options.slo_auth.token_file = absl::GetFlag(FLAGS_slo_token_file);
  options.slo_auth.client_identities = absl::GetFlag(FLAGS_slo_client_identities);
  options.admin_credentials_file = absl::GetFlag(FLAGS_admin_credentials_file);
  options.credentials_refresh_interval = absl::GetFlag(FLAGS_credentials_refresh_interval);
  options.slo_allow_unauthenticated = absl::GetFlag(FLAGS_slo_allow_unauthenticated);
  options.max_concurrent_rpcs = absl::GetFlag(FLAGS_max_concurrent_rpcs);
  options.connection.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.connection.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.connection.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.connection.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  options.decision_log_sample_rate = absl::GetFlag(FLAGS_decision_log_sample_rate);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.deliver_backchannel = absl::GetFlag(FLAGS_deliver_backchannel);
  options.outbox.horizon = absl::GetFlag(FLAGS_backchannel_horizon);
  if (const absl::Duration old = absl::GetFlag(FLAGS_backchannel_timeout);
      old > absl::ZeroDuration()) {
    LogEvent(LogLevel::kWarning, "--backchannel_timeout is deprecated: use --backchannel_horizon");
    options.outbox.horizon = old;
  }
  options.outbox.attempt_timeout = absl::GetFlag(FLAGS_backchannel_attempt_timeout);
  options.outbox.connect_timeout = std::min(absl::Seconds(3), options.outbox.attempt_timeout);
  options.outbox.initial_backoff = absl::GetFlag(FLAGS_backchannel_initial_backoff);
  options.outbox.max_backoff = absl::GetFlag(FLAGS_backchannel_max_backoff);
  options.outbox.workers = absl::GetFlag(FLAGS_outbox_workers);
  options.outbox.per_origin_concurrency = absl::GetFlag(FLAGS_outbox_origin_concurrency);
  options.outbox.lease = absl::GetFlag(FLAGS_outbox_lease);
  options.max_delivery_wait = absl::GetFlag(FLAGS_max_delivery_wait);
  auto server = logout::server::LogoutServer::Create(options);
  if (!server.ok()) {
    LogEvent(LogLevel::kError, "cannot start", {{"error", std::string(server.status().message())}});
    return EXIT_FAILURE;
  }
  LogEvent(LogLevel::kInfo, "serving",
           {{"address", options.listen_address},
            {"port", absl::StrCat((*server)->port()), /*raw_number=*/true},
            {"admin_port", absl::StrCat((*server)->admin_port()), true},
            {"health_port", absl::StrCat((*server)->health_port()), true},
            {"metrics_port", absl::StrCat((*server)->metrics_port()), true},
            {"tls", options.tls.cert.empty()        ? "off"
                    : options.tls.client_ca.empty() ? "tls"
                                                    : "mtls"}});

  int sig = 0;
  sigwait(&signals, &sig);
  const absl::Duration drain = absl::GetFlag(FLAGS_drain_delay);
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  LogEvent(LogLevel::kInfo, "shutting down",
           {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
            {"drain_delay", absl::FormatDuration(drain)},
            {"grace", absl::FormatDuration(grace)}});
  (*server)->Drain();
  absl::SleepFor(drain);
  (*server)->Shutdown(grace);
  (*server)->Wait();
  LogEvent(LogLevel::kInfo, "stopped");
  return EXIT_SUCCESS;
}

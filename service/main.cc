// logoutd: turns flags into ServerOptions, starts the server, waits for SIGTERM/SIGINT.
#include <csignal>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/server/log.h"
#include "service/server/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "host:port for gRPC (port 0 = any free port)");
ABSL_FLAG(std::string, store, "sqlite:logoutd.db",
          "policy store: sqlite:PATH, postgresql://..., or file (read-only --policy)");
ABSL_FLAG(std::string, policy, "",
          "policy file, JSON (proto3 mapping) or text format: seeds an empty store, or is served "
          "read-only with --store=file");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(2),
          "after SIGTERM: how long to keep serving while health reports NOT_SERVING");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "after the drain delay: how long in-flight calls may finish before they are cancelled");
ABSL_FLAG(std::string, admin_token_file, "",
          "file with the bearer token admin calls must present (empty: admin API disabled)");
ABSL_FLAG(bool, dev_allow_http_loopback, false,
          "development only: accept http://localhost / 127.0.0.1 / [::1] connection logout URLs");
ABSL_FLAG(int, max_receive_message_bytes, 1024 * 1024, "largest request message accepted");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("logoutd --listen=HOST:PORT --policy=FILE");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every mutex acquisition for lock-order cycles (gRPC locks through
  // absl::Mutex): a debugging aid that costs ~5% of an RPC's server CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  using logout::server::LogEvent;
  using logout::server::LogLevel;

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
  options.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  options.allow_http_loopback = absl::GetFlag(FLAGS_dev_allow_http_loopback);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  auto server = logout::server::LogoutServer::Create(options);
  if (!server.ok()) {
    LogEvent(LogLevel::kError, "cannot start", {{"error", std::string(server.status().message())}});
    return EXIT_FAILURE;
  }
  LogEvent(LogLevel::kInfo, "serving",
           {{"address", options.listen_address},
            {"port", absl::StrCat((*server)->port()), /*raw_number=*/true}});

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

#include "service/store/postgres_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace logout::store::pg {
namespace {

// The safety-net poll interval, the reconnect backoff, and the bound on each connection
// attempt and query.
constexpr absl::Duration kPollInterval = absl::Seconds(2);
constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);
constexpr absl::Duration kWatchIoTimeout = absl::Seconds(10);
constexpr const char* kChannel = kChangeChannel;

// ChangeWatcher owns the LISTEN thread. Its connection is private to the thread; Stop() wakes the
// thread through an eventfd that every wait polls alongside the socket.
class ChangeWatcherImpl final : public ChangeWatcher {
 public:
  ChangeWatcherImpl(const Redactor& redactor, std::string url,
                    std::function<void(uint64_t)> on_change)
      : redactor_(redactor), url_(std::move(url)), on_change_(std::move(on_change)) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { Run(); });
  }

  ~ChangeWatcherImpl() override {
    stopping_.store(true, std::memory_order_release);
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof(one));
    }
    thread_.join();
    if (wake_fd_ >= 0) close(wake_fd_);
  }

 private:
  enum class Wait { kReady, kTimeout, kStopped };

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // WaitFor waits until `fd` (if >= 0) has `events`, the deadline passes, or Stop is called.
  Wait WaitFor(int fd, short events, absl::Time deadline) {
    while (true) {
      if (stopping()) return Wait::kStopped;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return Wait::kTimeout;
      // poll ignores negative descriptors; without an eventfd, wake up often to see the flag.
      pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, events, 0}};
      const absl::Duration cap = wake_fd_ >= 0 ? absl::Seconds(60) : absl::Milliseconds(100);
      const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(std::min(left, cap)) + 1);
      const int n = poll(fds, 2, timeout_ms);
      if (n < 0 && errno != EINTR) return Wait::kTimeout;
      if (stopping()) return Wait::kStopped;
      if (n > 0 && fd >= 0 && (fds[1].revents & (events | POLLERR | POLLHUP)) != 0) {
        return Wait::kReady;
      }
    }
  }

  // Connect opens a connection without blocking Stop (PQconnectStart/PQconnectPoll).
  ConnPtr Connect() {
    ConnectParams params(url_);
    ConnPtr conn(PQconnectStartParams(params.keywords.data(), params.values.data(), 1));
    if (conn == nullptr || PQstatus(conn.get()) == CONNECTION_BAD) return nullptr;
    Quiet(conn.get());
    const absl::Time deadline = absl::Now() + kWatchIoTimeout;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    while (true) {
      if (poll_status == PGRES_POLLING_OK) return conn;
      if (poll_status == PGRES_POLLING_FAILED) return nullptr;
      const short events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (WaitFor(PQsocket(conn.get()), events, deadline) != Wait::kReady) return nullptr;
      poll_status = PQconnectPoll(conn.get());
    }
  }

  // Query sends `sql` and collects its result, waiting on the socket so Stop stays prompt.
  absl::StatusOr<ResultPtr> Query(PGconn* conn, const char* sql) {
    if (!PQsendQueryParams(conn, sql, 0, nullptr, nullptr, nullptr, nullptr, 1)) {
      return ConnectionError(redactor_, conn, "query");
    }
    const absl::Time deadline = absl::Now() + kWatchIoTimeout;
    while (true) {
      const int flushed = PQflush(conn);
      if (flushed < 0) return ConnectionError(redactor_, conn, "query");
      if (flushed == 0) break;
      if (WaitFor(PQsocket(conn), POLLOUT, deadline) != Wait::kReady) {
        return absl::UnavailableError("PostgreSQL query timed out");
      }
    }
    ResultPtr last;
    absl::Status error;
    while (true) {
      while (PQisBusy(conn)) {
        if (WaitFor(PQsocket(conn), POLLIN, deadline) != Wait::kReady) {
          return absl::UnavailableError("PostgreSQL query timed out");
        }
        if (!PQconsumeInput(conn)) return ConnectionError(redactor_, conn, "query");
      }
      ResultPtr r(PQgetResult(conn));
      if (r == nullptr) break;
      const ExecStatusType s = PQresultStatus(r.get());
      if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && error.ok()) {
        error = absl::UnavailableError(absl::StrCat(
            "PostgreSQL query failed: ", redactor_.Clean(PQresultErrorMessage(r.get()))));
      }
      last = std::move(r);
    }
    if (!error.ok()) return error;
    if (last == nullptr) return absl::UnavailableError("PostgreSQL query returned no result");
    return last;
  }

  void Deliver(uint64_t version) {
    if (version <= last_seen_) return;
    last_seen_ = version;
    on_change_(version);
  }

  // PollVersion reads the committed revision and delivers it when newer than the last seen.
  bool PollVersion(PGconn* conn) {
    absl::StatusOr<ResultPtr> r = Query(conn, "SELECT revision FROM logoutd_revision WHERE id = 1");
    if (!r.ok()) return false;
    if (PQntuples(r->get()) == 0) return true;
    absl::StatusOr<int64_t> version = GetInt(r->get(), 0, 0);
    if (version.ok() && *version > 0) Deliver(static_cast<uint64_t>(*version));
    return true;
  }

  // Listen serves one connection until it breaks or Stop is called.
  void Listen(PGconn* conn) {
    if (!Query(conn, "LISTEN logoutd_changes").ok()) return;
    backoff_ = kInitialBackoff;
    absl::Time next_poll = absl::Now();
    while (!stopping()) {
      bool poll_now = false;
      while (PGnotify* n = PQnotifies(conn)) {
        uint64_t version = 0;
        if (std::strcmp(n->relname, kChannel) == 0 && absl::SimpleAtoi(n->extra, &version)) {
          Deliver(version);
        } else {
          poll_now = true;  // unknown payload: look at the table instead
        }
        PQfreemem(n);
      }
      if (stopping()) return;
      if (poll_now || absl::Now() >= next_poll) {
        if (!PollVersion(conn)) return;
        next_poll = absl::Now() + kPollInterval;
        continue;  // the poll may have consumed notifications
      }
      const Wait w = WaitFor(PQsocket(conn), POLLIN, next_poll);
      if (w == Wait::kStopped) return;
      if (w == Wait::kReady && !PQconsumeInput(conn)) return;
      if (PQstatus(conn) != CONNECTION_OK) return;
    }
  }

  void Run() {
    while (!stopping()) {
      ConnPtr conn = Connect();
      if (conn != nullptr) Listen(conn.get());
      conn.reset();
      if (stopping()) return;
      WaitFor(-1, 0, absl::Now() + backoff_);
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
  }

  const Redactor& redactor_;
  const std::string url_;
  const std::function<void(uint64_t)> on_change_;
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;
  // Touched only by the watcher thread.
  uint64_t last_seen_ = 0;
  absl::Duration backoff_ = kInitialBackoff;
  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace

std::unique_ptr<ChangeWatcher> StartChangeWatcher(const Redactor& redactor, std::string url,
                                                  std::function<void(uint64_t)> on_change) {
  return std::make_unique<ChangeWatcherImpl>(redactor, std::move(url), std::move(on_change));
}

}  // namespace logout::store::pg

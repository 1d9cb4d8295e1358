// A real, throw-away PostgreSQL server for tests: initdb into a fresh temporary directory,
// postgres on 127.0.0.1 and a free port, databases created on demand, stopped and removed by
// the destructor.
//
//   if (!PostgresServer::Available()) GTEST_SKIP() << PostgresServer::kSkipMessage;
//   auto server = PostgresServer::Create();                    // ~1-2 s (initdb + start)
//   absl::StatusOr<std::string> url = (*server)->NewDatabase();  //
//   postgresql://...@127.0.0.1:P/db1
//
// Everything the server writes (data, socket, log, dynamic shared memory) is inside the temporary
// directory. When the test runs as root, the directory is given to the `postgres` system user and
// initdb runs through `runuser -u postgres --`; postgres itself is forked directly and drops to
// that user before exec, so that its pid is ours to signal and it gets SIGINT (fast shutdown)
// if the test process dies without running the destructor (PR_SET_PDEATHSIG: start and restart
// the server from the thread that lives longest, normally the main thread).
#ifndef TESTS_TESTING_POSTGRES_SERVER_H_
#define TESTS_TESTING_POSTGRES_SERVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace logout::testing {

// PostgresServer owns one postgres process and its directory. Not thread-safe: create, stop and
// start it from one thread (databases may be used from any thread, through their URLs).
class PostgresServer {
 public:
  // What a test prints when it skips because the server binaries are missing.
  static constexpr char kSkipMessage[] =
      "PostgreSQL server binaries not found (initdb, postgres); run scripts/setup.sh "
      "(Debian package postgresql)";
  // The superuser initdb creates; URLs connect as this user (trust authentication).
  static constexpr char kUser[] = "logoutd_test";

  // BinDir returns the directory holding initdb and postgres: $LOGOUT_PG_BINDIR, else the
  // newest /usr/lib/postgresql/<major>/bin that has both; std::nullopt when there is none.
  static std::optional<std::string> BinDir() {
    auto has_both = [](const std::filesystem::path& dir) {
      return access((dir / "initdb").c_str(), X_OK) == 0 &&
             access((dir / "postgres").c_str(), X_OK) == 0;
    };
    if (const char* env = std::getenv("LOGOUT_PG_BINDIR"); env != nullptr && *env != '\0') {
      if (has_both(env)) return std::string(env);
      return std::nullopt;
    }
    std::error_code ec;
    int best = -1;
    std::string best_dir;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      int major = 0;
      if (!absl::SimpleAtoi(entry.path().filename().string(), &major)) continue;
      const std::filesystem::path bin = entry.path() / "bin";
      if (major > best && has_both(bin)) {
        best = major;
        best_dir = bin.string();
      }
    }
    if (best < 0) return std::nullopt;
    return best_dir;
  }

  // Available is true when the server binaries are installed (tests skip otherwise).
  static bool Available() { return BinDir().has_value(); }

  // Create initialises a data directory and starts the server, waiting (up to 20 s) until it
  // accepts connections. FailedPreconditionError when the binaries or the `postgres` user (when
  // running as root) are missing; InternalError with the log's tail when initdb or the server
  // fails.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Create() {
    std::optional<std::string> bin = BinDir();
    if (!bin.has_value()) return absl::FailedPreconditionError(kSkipMessage);
    std::unique_ptr<PostgresServer> server(new PostgresServer(*bin));
    if (absl::Status s = server->Init(); !s.ok()) return s;
    absl::Status started;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a picked port may be taken meanwhile
      absl::StatusOr<int> port = FreePort();
      if (!port.ok()) return port.status();
      server->port_ = *port;
      started = server->Start();
      if (started.ok()) return server;
    }
    return started;
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The destructor stops the server (if running) and removes the directory.
  ~PostgresServer() {
    Stop().IgnoreError();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  // log returns what the server and initdb wrote so far (for failure messages).
  std::string log() const {
    std::ifstream in(dir_ + "/postgres.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Url returns the connection URL of database `database` (which need not exist yet).
  std::string Url(absl::string_view database) const {
    return absl::StrCat("postgresql://", kUser, "@127.0.0.1:", port_, "/", database);
  }

  // CreateDatabase creates database `name` (lower-case letters, digits, '_') and returns its
  // URL. InvalidArgumentError for another name; UnavailableError when the server refuses.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name) {
    if (name.empty()) return absl::InvalidArgumentError("empty database name");
    for (char c : name) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
        return absl::InvalidArgumentError(absl::StrCat("bad database name ", name));
      }
    }
    const std::string admin = Url("postgres");
    PGconn* conn = PQconnectdb(admin.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      absl::Status s = absl::UnavailableError(
          absl::StrCat("connect for CREATE DATABASE: ", PQerrorMessage(conn)));
      PQfinish(conn);
      return s;
    }
    char* ident = PQescapeIdentifier(conn, name.data(), name.size());
    const std::string sql = absl::StrCat("CREATE DATABASE ", ident);
    PQfreemem(ident);
    PGresult* r = PQexec(conn, sql.c_str());
    absl::Status s;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      s = absl::UnavailableError(absl::StrCat("CREATE DATABASE: ", PQresultErrorMessage(r)));
    }
    PQclear(r);
    PQfinish(conn);
    if (!s.ok()) return s;
    return Url(name);
  }

  // NewDatabase creates a database with a fresh name ("db1", "db2", ...) and returns its URL.
  absl::StatusOr<std::string> NewDatabase() {
    return CreateDatabase(absl::StrCat("db", ++databases_));
  }

  // Stop shuts the server down (fast: SIGINT, then SIGQUIT after 15 s, then SIGKILL). OK when
  // it was not running.
  absl::Status Stop() {
    if (pid_ <= 0) return absl::OkStatus();
    const pid_t pid = pid_;
    pid_ = -1;
    for (int sig : {SIGINT, SIGQUIT, SIGKILL}) {
      kill(pid, sig);
      if (WaitExit(pid, absl::Seconds(15))) return absl::OkStatus();
    }
    return absl::InternalError("postgres did not exit");
  }

  // Start starts the server again on the same data directory and port, waiting until it
  // accepts connections. InternalError with the log's tail when it does not come up in 20 s.
  absl::Status Start() {
    if (pid_ > 0) return absl::OkStatus();
    const std::string data = dir_ + "/data";
    std::vector<std::string> argv = {bin_ + "/postgres",
                                     "-D",
                                     data,
                                     "-k",
                                     dir_,
                                     "-p",
                                     absl::StrCat(port_),
                                     "-c",
                                     "listen_addresses=127.0.0.1",
                                     "-c",
                                     "fsync=off",
                                     "-c",
                                     "full_page_writes=off",
                                     "-c",
                                     "synchronous_commit=off",
                                     "-c",
                                     "shared_buffers=16MB",
                                     "-c",
                                     "max_connections=100",
                                     "-c",
                                     "dynamic_shared_memory_type=mmap",
                                     "-c",
                                     "logging_collector=off"};
    const pid_t parent = getpid();
    const pid_t pid = Spawn(argv, [this, parent] {
      // Runs in the child between fork and exec: async-signal-safe calls only.
      if (as_root_ && !DropToPostgres()) _exit(126);
      prctl(PR_SET_PDEATHSIG, SIGINT);
      if (getppid() != parent) _exit(125);
    });
    if (pid < 0) return absl::InternalError("fork failed");
    pid_ = pid;
    const std::string ping = absl::StrCat("host=127.0.0.1 port=", port_, " user=", kUser,
                                          " dbname=postgres connect_timeout=2");
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) return absl::OkStatus();
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid_ = -1;
        return absl::InternalError(absl::StrCat("postgres exited at start; log:\n", LogTail()));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    Stop().IgnoreError();
    return absl::InternalError(absl::StrCat("postgres did not come up in 20 s; log:\n", LogTail()));
  }

 private:
  explicit PostgresServer(std::string bin) : bin_(std::move(bin)) {}

  static absl::StatusOr<int> FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    if (port <= 0) return absl::InternalError("could not find a free port");
    return port;
  }

  static std::string FindRunuser() {
    for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
      if (access(p, X_OK) == 0) return p;
    }
    return "runuser";
  }

  // Init makes the directory and runs initdb in it.
  absl::Status Init() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/logoutd-pg-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    dir_ = pattern;
    as_root_ = geteuid() == 0;
    if (as_root_) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        return absl::FailedPreconditionError(
            "running as root but there is no `postgres` user to run the server as");
      }
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (chown(dir_.c_str(), uid_, gid_) != 0) return absl::InternalError("chown failed");
    }
    chmod(dir_.c_str(), 0700);
    std::vector<std::string> argv;
    if (as_root_) argv = {FindRunuser(), "-u", "postgres", "--"};
    for (const std::string& a :
         {bin_ + "/initdb", std::string("-D"), dir_ + "/data", std::string("-A"),
          std::string("trust"), std::string("-U"), std::string(kUser), std::string("--no-sync"),
          std::string("-E"), std::string("UTF8"), std::string("--locale=C")}) {
      argv.push_back(a);
    }
    const pid_t pid = Spawn(argv, [] {});
    if (pid < 0) return absl::InternalError("fork failed");
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError(absl::StrCat("initdb failed; log:\n", LogTail()));
    }
    return absl::OkStatus();
  }

  // DropToPostgres switches the (forked) process to the postgres user.
  bool DropToPostgres() const {
    return setgroups(1, &gid_) == 0 && setgid(gid_) == 0 && setuid(uid_) == 0;
  }

  // Spawn forks, sends the child's output to the log, runs `in_child`, and execs `argv`.
  template <typename InChild>
  pid_t Spawn(const std::vector<std::string>& argv, InChild in_child) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log_path = dir_ + "/postgres.log";
    const pid_t pid = fork();
    if (pid != 0) return pid;
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    if (chdir(dir_.c_str()) != 0) _exit(124);
    in_child();
    execv(args[0], args.data());
    _exit(127);
  }

  // WaitExit reaps `pid`, polling until `timeout`; false when it is still running.
  static bool WaitExit(pid_t pid, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      int status = 0;
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) return true;
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  std::string LogTail() const {
    const std::string all = log();
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

  const std::string bin_;
  std::string dir_;
  bool as_root_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

}  // namespace logout::testing

#endif  // TESTS_TESTING_POSTGRES_SERVER_H_

// A real child process for integration tests: started with fork/exec, its stdout and stderr
// read line by line, stopped with real signals.
//
//   auto p = Subprocess::Start({"/path/logoutd", "--listen=127.0.0.1:0"});
//   std::optional<std::string> line = p->WaitForLine("\"serving\"", absl::Seconds(10));
//   p->Signal(SIGTERM);  std::optional<int> code = p->Wait(absl::Seconds(10));
#ifndef TESTS_TESTING_SUBPROCESS_H_
#define TESTS_TESTING_SUBPROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace logout::testing {

// Subprocess owns one child. Not thread-safe. The destructor SIGKILLs a child still running.
class Subprocess {
 public:
  static std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
    const pid_t pid = fork();
    if (pid < 0) return nullptr;
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    auto p = std::unique_ptr<Subprocess>(new Subprocess());
    p->pid_ = pid;
    p->fd_ = fds[0];
    return p;
  }

  ~Subprocess() {
    if (pid_ > 0 && !exit_code_.has_value()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // WaitForLine returns the first complete output line (from the start) containing `needle`,
  // or std::nullopt on timeout or when the child closed its output first.
  std::optional<std::string> WaitForLine(absl::string_view needle, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    size_t scanned = 0;
    while (true) {
      size_t nl;
      while ((nl = output_.find('\n', scanned)) != std::string::npos) {
        const std::string line = output_.substr(scanned, nl - scanned);
        scanned = nl + 1;
        if (absl::StrContains(line, needle)) return line;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration() || !ReadSome(left)) return std::nullopt;
    }
  }

  void Signal(int sig) { kill(pid_, sig); }

  // Wait returns the exit code (128 + signal when killed by one), or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!exit_code_.has_value()) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (absl::Now() > deadline) return std::nullopt;
      ReadSome(absl::Milliseconds(20));
    }
    while (ReadSome(absl::Milliseconds(50))) {
    }
    return exit_code_;
  }

  // output is everything the child wrote so far.
  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

 private:
  Subprocess() = default;

  // Reads what is available within `timeout`; false on timeout or EOF.
  bool ReadSome(absl::Duration timeout) {
    if (fd_ < 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(fd_, buf, sizeof(buf));
    if (n <= 0) {
      close(fd_);
      fd_ = -1;
      return false;
    }
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
  std::optional<int> exit_code_;
};

}  // namespace logout::testing

#endif  // TESTS_TESTING_SUBPROCESS_H_

// A real HTTP/1.1 server on 127.0.0.1 (port 0) for delivery tests: each connection gets the
// next scripted reply (a status with headers and body, a connection reset, or a stall), and
// every request is recorded.
//
//   HttpReceiver rp({Reply::Status(503), Reply::Reset(), Reply::Status(200)});
//   std::string uri = rp.Url("/backchannel");
//   ... rp.Requests()[0].body == "logout_token=..."
#ifndef TESTS_TESTING_HTTP_RECEIVER_H_
#define TESTS_TESTING_HTTP_RECEIVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace logout::testing {

struct Reply {
  enum class Kind { kStatus, kReset, kStall };
  Kind kind = Kind::kStatus;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration stall = absl::ZeroDuration();

  static Reply Status(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string body = "") {
    Reply r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
  }
  // Answers `status` after `delay` (a slow receiver).
  static Reply Delayed(int status, absl::Duration delay) {
    Reply r = Status(status);
    r.stall = delay;
    return r;
  }
  // Closes the connection (with RST) after reading the request, without answering.
  static Reply Reset() {
    Reply r;
    r.kind = Kind::kReset;
    return r;
  }
  // Reads the request, then answers nothing for `d` before closing.
  static Reply Stall(absl::Duration d) {
    Reply r;
    r.kind = Kind::kStall;
    r.stall = d;
    return r;
  }
};

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
  absl::Time at;
};

// HttpReceiver serves until destroyed. Replies past the end of the script repeat the last one.
// `port` 0 picks a free one; another one is a receiver coming back on a known address.
class HttpReceiver {
 public:
  explicit HttpReceiver(std::vector<Reply> script, int port = 0) : script_(std::move(script)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpReceiver() {
    stop_.store(true);
    thread_.join();
    close(listen_fd_);
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  std::vector<ReceivedRequest> Requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // Connections accepted (including ones that sent no complete request).
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      const int n = connections_.fetch_add(1);
      const Reply reply =
          script_.empty() ? Reply::Status(200) : script_[std::min<size_t>(n, script_.size() - 1)];
      Handle(fd, reply);
    }
  }

  // Reads one request (headers + Content-Length body), records it, answers per `reply`.
  void Handle(int fd, const Reply& reply) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up && !stop_.load()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t got = read(fd, buf, sizeof(buf));
      if (got <= 0) break;
      data.append(buf, static_cast<size_t>(got));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) content_length = ContentLength(data, header_end);
      }
      if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
        break;
      }
    }
    if (header_end != std::string::npos) Record(data, header_end, content_length);
    switch (reply.kind) {
      case Reply::Kind::kReset: {
        linger l{1, 0};  // RST instead of FIN
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        break;
      }
      case Reply::Kind::kStall: {
        const absl::Time until = absl::Now() + reply.stall;
        while (absl::Now() < until && !stop_.load()) absl::SleepFor(absl::Milliseconds(10));
        break;
      }
      case Reply::Kind::kStatus: {
        if (reply.stall > absl::ZeroDuration()) absl::SleepFor(reply.stall);
        std::string out = absl::StrCat("HTTP/1.1 ", reply.status, " Scripted\r\n");
        for (const auto& [k, v] : reply.headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
        absl::StrAppend(&out, "Content-Length: ", reply.body.size(),
                        "\r\nConnection: close\r\n\r\n", reply.body);
        size_t sent = 0;
        while (sent < out.size()) {
          const ssize_t w = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
          if (w <= 0) break;
          sent += static_cast<size_t>(w);
        }
        break;
      }
    }
    close(fd);
  }

  static size_t ContentLength(const std::string& data, size_t header_end) {
    const std::string head = data.substr(0, header_end);
    for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      if (absl::AsciiStrToLower(line.substr(0, colon)) == "content-length") {
        size_t n = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(colon + 1)), &n)) return n;
      }
    }
    return 0;
  }

  void Record(const std::string& data, size_t header_end, size_t content_length) {
    ReceivedRequest r;
    r.at = absl::Now();
    const std::string head = data.substr(0, header_end);
    std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
    std::vector<absl::string_view> first = absl::StrSplit(lines[0], ' ');
    if (first.size() >= 2) {
      r.method = std::string(first[0]);
      r.path = std::string(first[1]);
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) continue;
      if (absl::AsciiStrToLower(lines[i].substr(0, colon)) == "content-type") {
        r.content_type = std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
    }
    r.body = data.substr(header_end + 4, content_length);
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(r));
  }

  const std::vector<Reply> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace logout::testing

#endif  // TESTS_TESTING_HTTP_RECEIVER_H_

// Test helper: a tiny blocking HTTP/1.1 client over POSIX sockets (no TLS) for scraping and
// probing local servers. Sends `Connection: close` and reads until the server closes.
//
//   absl::StatusOr<testing::HttpResponse> r = testing::HttpGet("127.0.0.1", port, "/metrics");
//   EXPECT_EQ(r->status, 200);  EXPECT_EQ(r->Header("content-type"), "text/plain; ...");
#ifndef TESTS_TESTING_HTTP_GET_H_
#define TESTS_TESTING_HTTP_GET_H_

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace logout::testing {

struct HttpResponse {
  int status = 0;
  std::string reason;
  // Header names lower-cased, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Header returns the first value of `name` (lower case), or "" when absent.
  std::string Header(absl::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

namespace internal_http {

// DecodeChunked decodes a Transfer-Encoding: chunked body.
inline absl::StatusOr<std::string> DecodeChunked(absl::string_view in) {
  std::string out;
  while (true) {
    const size_t eol = in.find("\r\n");
    if (eol == absl::string_view::npos) return absl::DataLossError("truncated chunk size");
    absl::string_view size_text = in.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) {
      return absl::DataLossError("bad chunk size");
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return absl::DataLossError("truncated chunk");
    out.append(in.data(), size);
    in.remove_prefix(size + 2);
  }
}

}  // namespace internal_http

// HttpRequest sends `method` `path` to host:port with `body` (if non-empty, with
// Content-Length) and `extra_headers` ("Name: value" lines), and returns the parsed response.
// UNAVAILABLE when it cannot connect, DEADLINE_EXCEEDED after `timeout`, DATA_LOSS for a
// malformed response, RESOURCE_EXHAUSTED beyond 16 MiB. Thread-compatible.
inline absl::StatusOr<HttpResponse> HttpRequest(const std::string& method, const std::string& host,
                                                int port, const std::string& path,
                                                const std::string& body = "",
                                                const std::vector<std::string>& extra_headers = {},
                                                absl::Duration timeout = absl::Seconds(10)) {
  constexpr size_t kMaxResponse = 16 << 20;
  const absl::Time deadline = absl::Now() + timeout;
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string port_text = std::to_string(port);
  if (getaddrinfo(host.c_str(), port_text.c_str(), &hints, &addresses) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(addresses);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", host, ":", port, ": ", std::strerror(errno)));
  }

  std::string request = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: ", host, ":", port,
                                     "\r\nConnection: close\r\nUser-Agent: logoutd-test\r\n");
  for (const std::string& h : extra_headers) absl::StrAppend(&request, h, "\r\n");
  if (!body.empty()) absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  absl::StrAppend(&request, "\r\n", body);

  auto wait = [&](short events) -> absl::Status {
    const absl::Duration left = deadline - absl::Now();
    pollfd p{fd, events, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(left));
    if (ms <= 0 || poll(&p, 1, ms) <= 0) return absl::DeadlineExceededError("HTTP timeout");
    return absl::OkStatus();
  };
  size_t sent = 0;
  while (sent < request.size()) {
    if (absl::Status s = wait(POLLOUT); !s.ok()) {
      close(fd);
      return s;
    }
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("send failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  while (true) {
    if (absl::Status s = wait(POLLIN); !s.ok()) {
      close(fd);
      return s;
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // a reset after a complete response still leaves `raw` usable
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
    if (raw.size() > kMaxResponse) {
      close(fd);
      return absl::ResourceExhaustedError("HTTP response too large");
    }
  }
  close(fd);

  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) return absl::DataLossError("no end of HTTP headers");
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, header_end), "\r\n");
  HttpResponse response;
  // Status line: HTTP/1.x SP code SP reason
  std::vector<absl::string_view> status = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status.size() < 2 || !absl::StartsWith(status[0], "HTTP/1.") ||
      !absl::SimpleAtoi(status[1], &response.status)) {
    return absl::DataLossError("bad HTTP status line");
  }
  if (status.size() == 3) response.reason = std::string(status[2]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) return absl::DataLossError("bad HTTP header line");
    response.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  absl::string_view rest = absl::string_view(raw).substr(header_end + 4);
  if (absl::EqualsIgnoreCase(response.Header("transfer-encoding"), "chunked")) {
    absl::StatusOr<std::string> decoded = internal_http::DecodeChunked(rest);
    if (!decoded.ok()) return decoded.status();
    response.body = *std::move(decoded);
  } else if (const std::string length = response.Header("content-length"); !length.empty()) {
    size_t n = 0;
    if (!absl::SimpleAtoi(length, &n) || (method != "HEAD" && n != rest.size())) {
      return absl::DataLossError("body length differs from Content-Length");
    }
    response.body = std::string(rest.substr(0, method == "HEAD" ? 0 : n));
  } else {
    response.body = std::string(rest);
  }
  return response;
}

// HttpGet is HttpRequest("GET", ...).
inline absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port,
                                            const std::string& path,
                                            absl::Duration timeout = absl::Seconds(10)) {
  return HttpRequest("GET", host, port, path, "", {}, timeout);
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_HTTP_GET_H_

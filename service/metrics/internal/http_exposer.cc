#include "service/metrics/internal/http_exposer.h"

#include <cstring>
#include <string_view>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "civetweb.h"

namespace logout::metrics::internal {
namespace {

// ValidAddress accepts "HOST:PORT" with an IPv4 address or host name, or "[V6]:PORT". It keeps
// civetweb's own option syntax (",", "s"/"r" suffixes, "+") out of the listening_ports value.
bool ValidAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  int port_value = 0;
  if (port.empty() || port.size() > 5 || !absl::c_all_of(port, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_value) || port_value > 65535) {
    return false;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    return absl::c_all_of(host.substr(1, host.size() - 2),
                          [](char c) { return absl::ascii_isxdigit(c) || c == ':' || c == '.'; });
  }
  return absl::c_all_of(host,
                        [](char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-'; });
}

// Keeps civetweb quiet: logoutd's stderr carries JSON lines only; errors come back as statuses.
int SwallowLog(const mg_connection*, const char*) { return 1; }

}  // namespace

absl::StatusOr<std::unique_ptr<HttpExposer>> HttpExposer::Start(
    const std::string& listen_address, std::function<std::string()> render) {
  if (!ValidAddress(listen_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen address must be HOST:PORT, got \"", listen_address, "\""));
  }
  std::unique_ptr<HttpExposer> exposer(new HttpExposer(std::move(render)));

  const char* options[] = {
      "listening_ports", listen_address.c_str(), "num_threads", "2",    "request_timeout_ms",
      "10000",           "enable_keep_alive",    "no",          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &SwallowLog;
  mg_init_data init;
  std::memset(&init, 0, sizeof(init));
  init.callbacks = &callbacks;
  init.user_data = exposer.get();
  init.configuration_options = options;
  unsigned error_code = 0;
  char error_text[256] = {0};
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);

  exposer->context_ = mg_start2(&init, &error);
  if (exposer->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", listen_address, ": ", error_text));
  }
  mg_set_request_handler(exposer->context_, "/metrics$", &HttpExposer::HandleMetrics,
                         exposer.get());
  mg_server_port port;
  std::memset(&port, 0, sizeof(port));
  if (mg_get_server_ports(exposer->context_, 1, &port) != 1) {
    return absl::UnavailableError(absl::StrCat("metrics: no listening port for ", listen_address));
  }
  exposer->port_ = port.port;
  return exposer;
}

HttpExposer::~HttpExposer() {
  if (context_ != nullptr) mg_stop(context_);
}

int HttpExposer::HandleMetrics(mg_connection* conn, void* self) {
  const mg_request_info* request = mg_get_request_info(conn);
  const std::string_view method = request->request_method == nullptr ? "" : request->request_method;
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
    return 405;
  }
  const std::string body = static_cast<HttpExposer*>(self)->render_();
  const std::string headers =
      absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: ", kExpositionContentType,
                   "\r\nContent-Length: ", body.size(),
                   "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
  mg_write(conn, headers.data(), headers.size());
  if (!head) mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace logout::metrics::internal

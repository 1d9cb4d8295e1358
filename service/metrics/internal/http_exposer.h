// A minimal HTTP/1.1 server (civetweb) answering GET /metrics with a rendered text exposition
// (internal to service/metrics).
//
//   auto exposer = HttpExposer::Start("127.0.0.1:0", [&] { return Render(); });
//   int port = (*exposer)->port();
#ifndef SERVICE_METRICS_INTERNAL_HTTP_EXPOSER_H_
#define SERVICE_METRICS_INTERNAL_HTTP_EXPOSER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace logout::metrics::internal {

// The Content-Type of the Prometheus text exposition format.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// HttpExposer serves `render()` on GET/HEAD /metrics with kExpositionContentType; other paths
// are 404 and other methods 405. Serves no files. Thread-safe; `render` is called from the
// server's worker threads (two) and must be thread-safe.
class HttpExposer {
 public:
  // Start binds `listen_address` ("HOST:PORT", "[V6]:PORT"). INVALID_ARGUMENT for a malformed
  // address, UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpExposer>> Start(const std::string& listen_address,
                                                            std::function<std::string()> render);
  // Stops the server and waits for its worker threads.
  ~HttpExposer();
  HttpExposer(const HttpExposer&) = delete;
  HttpExposer& operator=(const HttpExposer&) = delete;

  // port returns the bound port.
  int port() const { return port_; }

 private:
  explicit HttpExposer(std::function<std::string()> render) : render_(std::move(render)) {}
  static int HandleMetrics(mg_connection* conn, void* self);

  std::function<std::string()> render_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace logout::metrics::internal

#endif  // SERVICE_METRICS_INTERNAL_HTTP_EXPOSER_H_

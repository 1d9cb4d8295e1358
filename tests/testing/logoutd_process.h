// A real logoutd process for integration tests: started on 127.0.0.1 port 0, its port read
// from the "serving" log line, a gRPC channel to it.
//
//   std::unique_ptr<LogoutdProcess> d = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=file"});
//   auto stub = v1::LogoutPolicy::NewStub(d->channel);
#ifndef TESTS_TESTING_LOGOUTD_PROCESS_H_
#define TESTS_TESTING_LOGOUTD_PROCESS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/subprocess.h"

namespace logout::testing {

struct LogoutdProcess {
  std::unique_ptr<Subprocess> process;
  int port = 0;
  std::shared_ptr<grpc::Channel> channel;

  // Start runs `binary --listen=127.0.0.1:0 --drain_delay=0s args...` and waits (20 s at most)
  // for it to serve. Returns nullptr (and records a test failure with its output) otherwise.
  static std::unique_ptr<LogoutdProcess> Start(const std::string& binary,
                                               const std::vector<std::string>& args) {
    std::vector<std::string> argv = {binary, "--listen=127.0.0.1:0", "--drain_delay=0s"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto d = std::make_unique<LogoutdProcess>();
    d->process = Subprocess::Start(argv);
    if (d->process == nullptr) return nullptr;
    const std::optional<std::string> line =
        d->process->WaitForLine("\"msg\":\"serving\"", absl::Seconds(20));
    if (!line.has_value()) {
      ADD_FAILURE() << "logoutd did not start: " << d->process->output();
      return nullptr;
    }
    const size_t at = line->find("\"port\":");
    const std::string digits =
        line->substr(at + 7, line->find_first_not_of("0123456789", at + 7) - at - 7);
    if (!absl::SimpleAtoi(digits, &d->port)) return nullptr;
    d->channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", d->port),
                                     grpc::InsecureChannelCredentials());
    return d;
  }
};

// A client context with a 10 s deadline and, when given, a bearer token.
inline std::unique_ptr<grpc::ClientContext> CallContext(const std::string& bearer_token = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!bearer_token.empty()) ctx->AddMetadata("authorization", "Bearer " + bearer_token);
  return ctx;
}

// DecideV2 calls ValidateLogout for /v2/logout with `raw_query` on `tenant` and expects an OK RPC.
inline v1::ValidateLogoutResponse DecideV2(const LogoutdProcess& d, const std::string& tenant,
                                           const std::string& raw_query) {
  v1::ValidateLogoutRequest req;
  req.set_tenant(tenant);
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query(raw_query);
  v1::ValidateLogoutResponse resp;
  auto ctx = CallContext();
  const grpc::Status s =
      v1::LogoutPolicy::NewStub(d.channel)->ValidateLogout(ctx.get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

// HealthOf returns the grpc.health.v1 status of `service`, or minus the gRPC error code.
inline int HealthOf(const LogoutdProcess& d, const std::string& service) {
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  auto ctx = CallContext();
  const grpc::Status s = grpc::health::v1::Health::NewStub(d.channel)->Check(ctx.get(), req, &resp);
  return s.ok() ? resp.status() : -static_cast<int>(s.error_code());
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_LOGOUTD_PROCESS_H_

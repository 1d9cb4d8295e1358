// A blocking unary call through gRPC's generic stub, for methods a test has no generated stub
// for (reflection, unknown methods) or wants to send raw bytes to.
//
//   std::string reply;
//   grpc::Status s = GenericUnaryCall(channel, "/grpc.health.v1.Health/Check", "", &reply);
#ifndef TESTS_TESTING_GENERIC_CALL_H_
#define TESTS_TESTING_GENERIC_CALL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace logout::testing {

// GenericUnaryCall sends `request` (serialised message bytes) to `method` ("/pkg.Service/M")
// with a 5 s deadline and waits for the status; the response bytes go to `response` if given.
inline grpc::Status GenericUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& method, const std::string& request,
                                     std::string* response = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (response != nullptr) {
    response->clear();
    std::vector<grpc::Slice> slices;
    if (response_buffer.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return status;
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_GENERIC_CALL_H_

#include "service/rpc/grpc_status.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logout::rpc {
namespace {

struct Case {
  absl::StatusCode from;
  grpc::StatusCode to;
};

TEST(GrpcStatusTest, MapsEveryCanonicalCodeOneToOneAndKeepsTheMessage) {
  const std::vector<Case> cases = {
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const Case& c : cases) {
    const std::string message = "what went wrong: " + absl::StatusCodeToString(c.from);
    const grpc::Status s = ToGrpcStatus(absl::Status(c.from, message));
    EXPECT_EQ(s.error_code(), c.to) << message;
    EXPECT_EQ(s.error_message(), message);
  }
}

TEST(GrpcStatusTest, OkIsOkWithNoMessage) {
  const grpc::Status s = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.error_message(), "");
}

}  // namespace
}  // namespace logout::rpc

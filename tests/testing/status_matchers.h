// gMock matchers for absl::Status, absl::StatusOr<T> and grpc::Status: a test names the code and
// a piece of the message it expects, so a failure says what went wrong instead of "not ok".
//
//   EXPECT_THAT(CompiledPolicy::Build(config, 1),
//               StatusIs(absl::StatusCode::kInvalidArgument, "private_key_pem is required"));
//   EXPECT_THAT(stub->GetTenant(ctx.get(), req, &out),
//               GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, "may not read"));
#ifndef TESTS_TESTING_STATUS_MATCHERS_H_
#define TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace logout::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// StatusIs matches an absl::Status or absl::StatusOr<T> whose code is `code` and whose message
// contains `substring` ("" matches any message).
MATCHER_P2(StatusIs, code, substring,
           absl::StrCat(negation ? "is not " : "is ", "a status ", absl::StatusCodeToString(code),
                        " containing \"", std::string(substring), "\"")) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code && absl::StrContains(status.message(), std::string(substring));
}

// GrpcStatusIs is StatusIs for a grpc::Status.
MATCHER_P2(GrpcStatusIs, code, substring,
           absl::StrCat(negation ? "is not " : "is ", "a gRPC status ", static_cast<int>(code),
                        " containing \"", std::string(substring), "\"")) {
  *result_listener << "whose code is " << static_cast<int>(arg.error_code()) << " (\""
                   << arg.error_message() << "\")";
  return arg.error_code() == code && absl::StrContains(arg.error_message(), std::string(substring));
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_STATUS_MATCHERS_H_

// The one converter from absl::Status to grpc::Status at the RPC boundary.
//
//   return reactor->Finish(ToGrpcStatus(status));
#ifndef SERVICE_RPC_GRPC_STATUS_H_
#define SERVICE_RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace logout::rpc {

// ToGrpcStatus maps the canonical code one to one and keeps the message (which, by project
// rule, never contains secrets or tokens).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace logout::rpc

#endif  // SERVICE_RPC_GRPC_STATUS_H_

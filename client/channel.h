// CreateClientChannel: the gRPC channel every logoutd client uses — plaintext or TLS (optionally
// with a client certificate for mTLS), with a service config chosen by the caller.
//
//   TlsOptions tls{.ca_file = "/etc/logoutd/ca.pem"};
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> ch = CreateClientChannel(target, &tls, json);
#ifndef CLIENT_CHANNEL_H_
#define CLIENT_CHANNEL_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace logout {

// TlsOptions: TLS towards logoutd. Files are PEM and read once, when the channel is created.
struct TlsOptions {
  // Roots that verify logoutd's certificate; empty = the system roots.
  std::string ca_file;
  // Client certificate chain and key for mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  // The name to verify logoutd's certificate against instead of the target's host (for
  // addressing pods by IP, or tests); empty = the target's host.
  std::string server_name;
};

// CreateClientChannel returns a channel to `target` (any gRPC target: "host:port",
// "dns:///name:port", "ipv4:a:p,b:p"). `tls` null = plaintext. `service_config_json` becomes the
// channel's default service config (service configs published in DNS are ignored).
// INVALID_ARGUMENT for an empty target, only one of cert_file/key_file, or an oversized file;
// NOT_FOUND when a TLS file cannot be read. The channel connects lazily.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(
    const std::string& target, const TlsOptions* tls, const std::string& service_config_json);

}  // namespace logout

#endif  // CLIENT_CHANNEL_H_

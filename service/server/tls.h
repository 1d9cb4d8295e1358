// Transport credentials for logoutd's gRPC ports: plaintext, TLS, or mutual TLS, with the
// certificate files re-read while serving (Kubernetes rotates Secret volumes in place).
//
//   TlsFiles files{.cert = "/etc/logoutd/tls/tls.crt", .key = "/etc/logoutd/tls/tls.key"};
//   auto creds = MakeServerCredentials(files);   // checks the files first
#ifndef SERVICE_SERVER_TLS_H_
#define SERVICE_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace logout::server {

struct TlsFiles {
  // PEM certificate chain and private key. Both empty: plaintext.
  std::string cert;
  std::string key;
  // PEM CA bundle for client certificates. Set: clients must present a certificate it
  // verifies (mutual TLS).
  std::string client_ca;
  // How often the files are re-read; a changed, valid pair is used for new handshakes.
  absl::Duration refresh_interval = absl::Seconds(60);
};

// CheckTlsFiles parses the files with OpenSSL and checks that the key matches the
// certificate, so a misconfiguration stops logoutd at start with a clear error (naming the
// file, never echoing its content) instead of failing every handshake later.
absl::Status CheckTlsFiles(const TlsFiles& files);

// MakeServerCredentials returns insecure credentials when no cert/key is set, otherwise TLS
// credentials (TLS 1.2+) backed by gRPC's file-watching certificate provider.
// InvalidArgumentError when only one of cert/key is set, when client_ca is set without them,
// or when CheckTlsFiles fails.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

}  // namespace logout::server

#endif  // SERVICE_SERVER_TLS_H_

#include "client/channel.h"

#include "absl/status/status.h"
#include "client/internal/read_file.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "service/common/status_macros.h"

namespace logout {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

absl::StatusOr<std::string> ReadPemIfSet(const std::string& path) {
  if (path.empty()) return std::string();
  return client_internal::ReadFileLimited(path, kMaxPemBytes);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(
    const std::string& target, const TlsOptions* tls, const std::string& service_config_json) {
  if (target.empty()) return absl::InvalidArgumentError("empty target");
  grpc::ChannelArguments args;
  if (!service_config_json.empty()) args.SetServiceConfigJSON(service_config_json);
  // Only our service config applies; a DNS TXT record cannot change retries or balancing.
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls == nullptr) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    if (tls->cert_file.empty() != tls->key_file.empty()) {
      return absl::InvalidArgumentError("a client certificate needs both cert_file and key_file");
    }
    grpc::SslCredentialsOptions ssl;
    LOGOUT_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPemIfSet(tls->ca_file));
    LOGOUT_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPemIfSet(tls->cert_file));
    LOGOUT_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPemIfSet(tls->key_file));
    if (!tls->server_name.empty()) args.SetSslTargetNameOverride(tls->server_name);
    creds = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(target, creds, args);
}

}  // namespace logout

#include "service/rpc/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/auth_context.h"

namespace logout::rpc {
namespace {

std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminAuthenticator>> AdminAuthenticator::FromToken(
    absl::string_view token) {
  token = absl::StripAsciiWhitespace(token);
  if (token.size() < kMinTokenBytes) {
    return absl::InvalidArgumentError("admin token must be at least 16 bytes");
  }
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f) {
      return absl::InvalidArgumentError(
          "admin token must not contain spaces or control characters");
    }
  }
  std::unique_ptr<AdminAuthenticator> auth(new AdminAuthenticator());
  auth->token_digest_ = Sha256(token);
  return auth;
}

absl::StatusOr<std::unique_ptr<AdminAuthenticator>> AdminAuthenticator::FromTokenFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read admin token file " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  auto auth = FromToken(buf.str());
  if (!auth.ok()) {
    return absl::InvalidArgumentError(std::string(auth.status().message()) + " (" + path + ")");
  }
  return auth;
}

std::unique_ptr<AdminAuthenticator> AdminAuthenticator::Disabled() {
  return std::unique_ptr<AdminAuthenticator>(new AdminAuthenticator());
}

absl::Status AdminAuthenticator::AllowClientIdentities(std::vector<std::string> identities) {
  for (const std::string& id : identities) {
    if (absl::StripAsciiWhitespace(id).empty() || id.size() > 1024) {
      return absl::InvalidArgumentError(absl::StrCat(
          purpose_.identities_flag, ": identities must be non-empty and at most 1024 bytes"));
    }
  }
  client_identities_ = std::move(identities);
  return absl::OkStatus();
}

void AdminAuthenticator::SetPurpose(Purpose purpose) { purpose_ = std::move(purpose); }

absl::StatusOr<std::string> AdminAuthenticator::Authorize(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  // gRPC sets the x509 properties only for a certificate its TLS handshake verified against
  // the configured client CA (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
  bool presented_certificate = false;
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    presented_certificate = true;
    if (!client_identities_.empty()) {
      const auto authorised = [this](const grpc::string_ref& value) {
        for (const std::string& id : client_identities_) {
          if (absl::string_view(value.data(), value.size()) == id) return true;
        }
        return false;
      };
      // SANs (URI/SPIFFE and DNS) first; the common name only when there is no SAN at all.
      const std::vector<grpc::string_ref> sans =
          auth_context->FindPropertyValues("x509_subject_alternative_name");
      for (const grpc::string_ref& san : sans) {
        if (authorised(san)) return "cert:" + std::string(san.data(), san.size());
      }
      if (sans.empty()) {
        for (const grpc::string_ref& cn : auth_context->FindPropertyValues("x509_common_name")) {
          if (authorised(cn)) return "cert:" + std::string(cn.data(), cn.size());
        }
      }
    }
  }
  const auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    if (presented_certificate && !client_identities_.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the client certificate is not authorised for ", purpose_.what, " (",
                       purpose_.identities_flag, ")"));
    }
    return absl::UnauthenticatedError(
        absl::StrCat(purpose_.what, " need 'authorization: Bearer <token>' metadata"));
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("more than one 'authorization' header");
  }
  const absl::string_view value(range.first->second.data(), range.first->second.size());
  constexpr absl::string_view kBearer = "bearer ";
  if (value.size() <= kBearer.size() || !absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError("the 'authorization' metadata is not a Bearer credential");
  }
  if (!token_digest_.has_value()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "bearer tokens are not accepted for ", purpose_.what, " (no ", purpose_.token_flag, ")"));
  }
  const std::array<unsigned char, 32> presented =
      Sha256(absl::StripAsciiWhitespace(value.substr(kBearer.size())));
  if (CRYPTO_memcmp(presented.data(), token_digest_->data(), presented.size()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("the credential is not authorised for ", purpose_.what));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string actor = "token:";
  for (size_t i = 0; i < 6; ++i) {
    actor.push_back(kHex[presented[i] >> 4]);
    actor.push_back(kHex[presented[i] & 0xf]);
  }
  return actor;
}

}  // namespace logout::rpc

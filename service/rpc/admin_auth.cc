#include "service/rpc/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/auth_context.h"

namespace logout::rpc {
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

void AdminAuthenticator::UseCredentialsFile(const CredentialsFile* file, std::vector<Role> roles) {
  file_ = file;
  file_roles_ = std::move(roles);
}

std::vector<const Credential*> AdminAuthenticator::FileCredentials(const CredentialSet* set) const {
  std::vector<const Credential*> out;
  if (set == nullptr) return out;
  for (const Credential& c : set->credentials()) {
    if (std::find(file_roles_.begin(), file_roles_.end(), c.role) != file_roles_.end()) {
      out.push_back(&c);
    }
  }
  return out;
}

Caller AdminAuthenticator::LegacyCaller(std::string actor) const {
  return Caller{
      .actor = std::move(actor), .role = purpose_.legacy_role, .all_tenants = true, .tenants = {}};
}

namespace {

Caller CallerOf(const Credential& c) {
  return Caller{
      .actor = c.name, .role = c.role, .all_tenants = c.all_tenants, .tenants = c.tenants};
}

}  // namespace

absl::Status AdminAuthenticator::CheckOverlap(const CredentialSet& set) const {
  for (const Credential* c : FileCredentials(&set)) {
    if (token_digest_.has_value() && c->token_sha256.has_value() &&
        *c->token_sha256 == *token_digest_) {
      return absl::InvalidArgumentError(
          absl::StrCat("credential \"", c->name, "\" has the ", purpose_.token_flag,
                       " token, a credential for every tenant that is checked first: remove one"));
    }
    if (!c->client_identity.empty() &&
        std::find(client_identities_.begin(), client_identities_.end(), c->client_identity) !=
            client_identities_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "credential \"", c->name, "\" has a client_identity also in ", purpose_.identities_flag,
          ", a credential for every tenant that is checked first: remove one"));
    }
  }
  return absl::OkStatus();
}

bool AdminAuthenticator::HasAnyCredential() const {
  if (token_digest_.has_value() || !client_identities_.empty()) return true;
  const std::shared_ptr<const CredentialSet> set = file_ == nullptr ? nullptr : file_->Get();
  return !FileCredentials(set.get()).empty();
}

absl::StatusOr<std::string> AdminAuthenticator::Authorize(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  absl::StatusOr<Caller> caller = Authenticate(metadata, auth_context);
  if (!caller.ok()) return caller.status();
  return std::move(caller->actor);
}

absl::StatusOr<Caller> AdminAuthenticator::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  // The file's set is taken once: the whole call sees one version of it.
  const std::shared_ptr<const CredentialSet> set = file_ == nullptr ? nullptr : file_->Get();
  const std::vector<const Credential*> file_credentials = FileCredentials(set.get());
  bool file_identities = false;
  bool file_tokens = false;
  for (const Credential* c : file_credentials) {
    file_identities |= !c->client_identity.empty();
    file_tokens |= c->token_sha256.has_value();
  }
  // gRPC sets the x509 properties only for a certificate its TLS handshake verified against
  // the configured client CA (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
  bool presented_certificate = false;
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    presented_certificate = true;
    // SANs (URI/SPIFFE and DNS) first; the common name only when there is no SAN at all.
    std::vector<grpc::string_ref> names =
        auth_context->FindPropertyValues("x509_subject_alternative_name");
    if (names.empty()) names = auth_context->FindPropertyValues("x509_common_name");
    for (const grpc::string_ref& name : names) {
      const absl::string_view id(name.data(), name.size());
      for (const std::string& legacy : client_identities_) {
        if (id == legacy) return LegacyCaller(absl::StrCat("cert:", id));
      }
    }
    for (const grpc::string_ref& name : names) {
      const absl::string_view id(name.data(), name.size());
      for (const Credential* c : file_credentials) {
        if (!c->client_identity.empty() && id == c->client_identity) return CallerOf(*c);
      }
    }
  }
  const auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    if (presented_certificate && (!client_identities_.empty() || file_identities)) {
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
  if (!token_digest_.has_value() && !file_tokens) {
    return absl::PermissionDeniedError(absl::StrCat(
        "bearer tokens are not accepted for ", purpose_.what, " (no ", purpose_.token_flag, ")"));
  }
  const std::array<unsigned char, 32> presented =
      Sha256(absl::StripAsciiWhitespace(value.substr(kBearer.size())));
  if (token_digest_.has_value() &&
      CRYPTO_memcmp(presented.data(), token_digest_->data(), presented.size()) == 0) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string actor = "token:";
    for (size_t i = 0; i < 6; ++i) {
      actor.push_back(kHex[presented[i] >> 4]);
      actor.push_back(kHex[presented[i] & 0xf]);
    }
    return LegacyCaller(std::move(actor));
  }
  // Every stored digest is compared in full, in constant time per comparison.
  const Credential* match = nullptr;
  for (const Credential* c : file_credentials) {
    if (c->token_sha256.has_value() &&
        CRYPTO_memcmp(presented.data(), c->token_sha256->data(), presented.size()) == 0) {
      match = c;
    }
  }
  if (match != nullptr) return CallerOf(*match);
  return absl::PermissionDeniedError(
      absl::StrCat("the credential is not authorised for ", purpose_.what));
}

}  // namespace logout::rpc

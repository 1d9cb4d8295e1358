#include "service/rpc/credentials.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "service/common/strict_json.h"

namespace logout::rpc {
namespace {

constexpr size_t kMaxCredentials = 10000;
constexpr size_t kMaxFileBytes = 4 << 20;
constexpr size_t kMaxTenantBytes = 256;
constexpr size_t kMaxIdentityBytes = 1024;

bool IsName(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::optional<Role> ParseRole(absl::string_view s) {
  if (s == "reader") return Role::kReader;
  if (s == "writer") return Role::kWriter;
  if (s == "admin") return Role::kAdmin;
  if (s == "planner") return Role::kPlanner;
  return std::nullopt;
}

std::optional<Sha256Digest> ParseDigest(absl::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string bytes = absl::HexStringToBytes(absl::AsciiStrToLower(hex));
  Sha256Digest d{};
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

bool IsPrintable(absl::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

absl::StatusOr<Credential> ParseCredential(const nlohmann::json& j, size_t index) {
  std::string where = absl::StrCat("credentials[", index, "]");
  const auto invalid = [&where](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  };
  if (!j.is_object()) return invalid("must be an object");
  Credential c;
  if (!j.contains("name") || !j["name"].is_string() || !IsName(j["name"].get<std::string>())) {
    return invalid("name must be 1-64 characters of [A-Za-z0-9._-]");
  }
  c.name = j["name"].get<std::string>();
  where = absl::StrCat("credentials[", index, "] (\"", c.name, "\")");
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "token_sha256" && key != "client_identity" && key != "role" &&
        key != "tenants") {
      return invalid(
          absl::StrCat("unknown field \"", absl::CEscape(key.substr(0, 40)),
                       "\" (known: name, token_sha256, client_identity, role, tenants)"));
    }
  }
  if (j.contains("token_sha256")) {
    const nlohmann::json& t = j["token_sha256"];
    if (!t.is_string() || !(c.token_sha256 = ParseDigest(t.get<std::string>()))) {
      return invalid(
          "token_sha256 must be the 64 hex digits of the token's SHA-256 (printf %s \"$TOKEN\" | "
          "sha256sum)");
    }
  }
  if (j.contains("client_identity")) {
    const nlohmann::json& id = j["client_identity"];
    if (!id.is_string() || absl::StripAsciiWhitespace(id.get<std::string>()).empty() ||
        id.get<std::string>().size() > kMaxIdentityBytes || !IsPrintable(id.get<std::string>())) {
      return invalid("client_identity must be 1-1024 printable bytes");
    }
    c.client_identity = id.get<std::string>();
  }
  if (!c.token_sha256.has_value() && c.client_identity.empty()) {
    return invalid("needs a token_sha256 or a client_identity (or both)");
  }
  std::optional<Role> role;
  if (j.contains("role") && j["role"].is_string()) role = ParseRole(j["role"].get<std::string>());
  if (!role.has_value()) {
    return invalid("role must be \"reader\", \"writer\", \"admin\" or \"planner\"");
  }
  c.role = *role;
  if (!j.contains("tenants") || !j["tenants"].is_array() || j["tenants"].empty()) {
    return invalid("tenants must be a non-empty list of tenant names, or [\"*\"] for every tenant");
  }
  absl::flat_hash_set<std::string> seen;
  for (const nlohmann::json& t : j["tenants"]) {
    if (!t.is_string() || t.get<std::string>().empty() ||
        t.get<std::string>().size() > kMaxTenantBytes || !IsPrintable(t.get<std::string>())) {
      return invalid("tenants: each must be a tenant name of 1-256 printable bytes, or \"*\"");
    }
    const std::string name = t.get<std::string>();
    if (name == "*") {
      c.all_tenants = true;
    } else if (seen.insert(name).second) {
      c.tenants.push_back(name);
    }
  }
  if (c.all_tenants && !c.tenants.empty()) {
    return invalid("tenants: \"*\" (every tenant) cannot be combined with tenant names");
  }
  std::sort(c.tenants.begin(), c.tenants.end());
  return c;
}

}  // namespace

Sha256Digest Sha256(absl::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kWriter:
      return "writer";
    case Role::kAdmin:
      return "admin";
    case Role::kPlanner:
      return "planner";
  }
  return "reader";
}

bool Caller::InScope(absl::string_view tenant) const {
  return all_tenants || std::binary_search(tenants.begin(), tenants.end(), tenant);
}
bool Caller::MayRead(absl::string_view tenant) const {
  return role != Role::kPlanner && InScope(tenant);
}
bool Caller::MayWrite(absl::string_view tenant) const {
  return (role == Role::kWriter || role == Role::kAdmin) && InScope(tenant);
}
bool Caller::MayAdminister(absl::string_view tenant) const {
  return role == Role::kAdmin && InScope(tenant);
}
bool Caller::MayPlan(absl::string_view tenant) const {
  return role == Role::kPlanner && InScope(tenant);
}

absl::StatusOr<std::shared_ptr<const CredentialSet>> CredentialSet::Parse(absl::string_view json) {
  if (absl::Status s = common::CheckStrictJson(json); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not strict JSON: ", s.message()));
  }
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("credentials") || !doc["credentials"].is_array()) {
    return absl::InvalidArgumentError(
        "must be an object with a \"credentials\" list: {\"credentials\": [...]}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "credentials") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field \"", absl::CEscape(key.substr(0, 40)), "\" (known: credentials)"));
    }
  }
  if (doc["credentials"].size() > kMaxCredentials) {
    return absl::InvalidArgumentError("more than 10000 credentials");
  }
  std::vector<Credential> out;
  absl::flat_hash_set<std::string> names;
  // A token or identity names one credential per side: the admin API's, and planning's.
  absl::flat_hash_set<std::string> admin_keys;
  absl::flat_hash_set<std::string> plan_keys;
  for (size_t i = 0; i < doc["credentials"].size(); ++i) {
    absl::StatusOr<Credential> c = ParseCredential(doc["credentials"][i], i);
    if (!c.ok()) return c.status();
    const std::string where = absl::StrCat("credentials[", i, "] (\"", c->name, "\")");
    if (!names.insert(c->name).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": name is used twice"));
    }
    absl::flat_hash_set<std::string>& keys = c->role == Role::kPlanner ? plan_keys : admin_keys;
    if (c->token_sha256.has_value() &&
        !keys.insert(absl::StrCat("t:", absl::string_view(
                                            reinterpret_cast<const char*>(c->token_sha256->data()),
                                            c->token_sha256->size())))
             .second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": token_sha256 is already another credential's on the same side (",
                       c->role == Role::kPlanner ? "planner" : "reader/writer/admin", ")"));
    }
    if (!c->client_identity.empty() && !keys.insert("i:" + c->client_identity).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": client_identity is already another credential's on the same side (",
          c->role == Role::kPlanner ? "planner" : "reader/writer/admin", ")"));
    }
    out.push_back(*std::move(c));
  }
  return Of(std::move(out));
}

std::shared_ptr<const CredentialSet> CredentialSet::Of(std::vector<Credential> credentials) {
  return std::shared_ptr<const CredentialSet>(new CredentialSet(std::move(credentials)));
}

namespace {

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read credentials file ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("credentials file ", path, " is larger than 4 MiB"));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialsFile>> CredentialsFile::Open(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::shared_ptr<const CredentialSet>> set = CredentialSet::Parse(*text);
  if (!set.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("credentials file ", path, ": ", set.status().message()));
  }
  std::unique_ptr<CredentialsFile> file(new CredentialsFile(path));
  absl::MutexLock lock(&file->mu_);
  file->live_ = *std::move(set);
  file->live_bytes_digest_ = Sha256(*text);
  return file;
}

std::shared_ptr<const CredentialSet> CredentialsFile::Get() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

absl::StatusOr<bool> CredentialsFile::ReloadIfChanged() {
  absl::StatusOr<std::string> text = ReadSmallFile(path_);
  absl::Status refused;
  std::shared_ptr<const CredentialSet> set;
  Sha256Digest digest{};
  if (!text.ok()) {
    refused = absl::Status(
        text.status().code(),
        absl::StrCat(text.status().message(), " (the previous credentials stay in force)"));
  } else {
    digest = Sha256(*text);
    {
      absl::MutexLock lock(&mu_);
      if (digest == live_bytes_digest_) {
        last_error_.clear();
        return false;
      }
    }
    absl::StatusOr<std::shared_ptr<const CredentialSet>> parsed = CredentialSet::Parse(*text);
    absl::Status valid = parsed.ok() && validator_ ? validator_(**parsed) : parsed.status();
    if (!valid.ok()) {
      refused =
          absl::InvalidArgumentError(absl::StrCat("credentials file ", path_, ": ", valid.message(),
                                                  " (the previous credentials stay in force)"));
    } else {
      set = *std::move(parsed);
    }
  }
  absl::MutexLock lock(&mu_);
  if (!refused.ok()) {
    // Reported once per distinct error, not at every refresh.
    if (last_error_ == refused.message()) return false;
    last_error_ = std::string(refused.message());
    return refused;
  }
  live_ = std::move(set);
  live_bytes_digest_ = digest;
  last_error_.clear();
  return true;
}

}  // namespace logout::rpc

#include "service/policy/compiled_policy.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/url/url.h"

namespace logout::policy {
namespace {

constexpr size_t kMaxNameBytes = 256;

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 256)), "\"");
}

absl::Status Prefixed(absl::string_view where, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", status.message()));
}

bool ValidName(absl::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<AllowList>> CompileList(
    const google::protobuf::RepeatedPtrField<std::string>& entries, AllowList::Mode mode) {
  return AllowList::Create(std::vector<std::string>(entries.begin(), entries.end()), mode);
}

absl::StatusOr<std::unique_ptr<CompiledTenant>> CompileTenant(const v1::Tenant& t) {
  auto tenant = std::make_unique<CompiledTenant>();
  const std::string where = absl::StrCat("tenant ", Quote(t.name()));
  if (!ValidName(t.name())) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": name must be 1-256 printable bytes"));
  }
  tenant->name = t.name();
  if (!t.issuer().empty()) {
    absl::StatusOr<url::Url> iss = url::Url::Parse(t.issuer());
    if (!iss.ok() || (iss->scheme() != "https" && iss->scheme() != "http") ||
        iss->has_credentials() || iss->has_fragment()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": issuer ", Quote(t.issuer()), " is not an http(s) URL"));
    }
  }
  tenant->issuer = t.issuer();
  tenant->redirect_matching = t.redirect_matching();
  tenant->oidc_profile = t.oidc_profile();
  tenant->prompt_enabled = !t.has_prompt_enabled() || t.prompt_enabled();
  for (int i = 0; i < t.enabled_locales_size(); ++i) {
    const std::string& loc = t.enabled_locales(i);
    const bool ok =
        !loc.empty() && loc.size() <= 35 && std::all_of(loc.begin(), loc.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
        });
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": enabled_locales[", i, "] ", Quote(loc), " is not a BCP 47 tag"));
    }
    tenant->enabled_locales.insert(absl::AsciiStrToLower(loc));
  }
  const AllowList::Mode mode = t.redirect_matching() == v1::REDIRECT_MATCHING_EXACT
                                   ? AllowList::Mode::kExact
                                   : AllowList::Mode::kAuth0;
  const bool strict = t.oidc_profile() == v1::OIDC_PROFILE_STRICT;
  {
    auto list = CompileList(t.allowed_logout_urls(), mode);
    if (!list.ok()) return Prefixed(where, list.status());
    tenant->allowed_logout_urls = *std::move(list);
    if (strict) {
      auto exact = CompileList(t.allowed_logout_urls(), AllowList::Mode::kExact);
      if (!exact.ok()) return Prefixed(absl::StrCat(where, " (STRICT profile)"), exact.status());
      tenant->exact_allowed_logout_urls = *std::move(exact);
    }
  }
  for (const v1::Client& c : t.clients()) {
    const std::string cwhere = absl::StrCat(where, " client ", Quote(c.client_id()));
    if (!ValidName(c.client_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(cwhere, ": client_id must be 1-256 printable bytes"));
    }
    if (tenant->clients.contains(c.client_id())) {
      return absl::InvalidArgumentError(absl::StrCat(cwhere, ": duplicate client_id"));
    }
    auto list = CompileList(c.allowed_logout_urls(), mode);
    if (!list.ok()) return Prefixed(cwhere, list.status());
    if (strict) {
      auto exact = CompileList(c.allowed_logout_urls(), AllowList::Mode::kExact);
      if (!exact.ok()) return Prefixed(absl::StrCat(cwhere, " (STRICT profile)"), exact.status());
      tenant->exact_client_lists.emplace(c.client_id(), *std::move(exact));
    }
    CompiledClient client;
    client.client_id = c.client_id();
    client.allowed_logout_urls = *std::move(list);
    tenant->clients.emplace(c.client_id(), std::move(client));
  }
  return tenant;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Build(
    const v1::PolicyConfig& config, uint64_t version) {
  std::shared_ptr<CompiledPolicy> policy(new CompiledPolicy());
  policy->version_ = version;
  policy->source_ = config;
  for (const v1::Tenant& t : config.tenants()) {
    LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<CompiledTenant> tenant, CompileTenant(t));
    if (policy->tenants_.contains(tenant->name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant ", Quote(t.name()), ": duplicate name"));
    }
    policy->tenants_.emplace(tenant->name, std::move(tenant));
  }
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

}  // namespace logout::policy

#include "service/policy/engine.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/federation/federated_logout.h"
#include "service/policy/id_token_hint.h"
#include "service/policy/reason.h"
#include "service/policy/request_params.h"
#include "service/url/url.h"

namespace logout::policy {
namespace {

constexpr size_t kMaxTenantBytes = 256;
constexpr size_t kMaxSessionIdBytes = 1024;

bool IsOidc(v1::Endpoint e) { return e == v1::ENDPOINT_OIDC_LOGOUT; }

void Deny(v1::ValidateLogoutResponse* r, v1::Reason reason, std::string description) {
  r->set_decision(v1::DECISION_DENY);
  r->set_reason(reason);
  r->set_reason_code(std::string(ReasonCode(reason)));
  r->set_http_status(400);
  r->set_error("invalid_request");
  r->set_error_description(std::move(description));
  r->clear_redirect_url();
  r->clear_session();
  r->set_federated(false);
}

// Parses the `federated` parameter. Returns std::nullopt when the value is invalid.
std::optional<bool> ParseFederated(v1::Endpoint endpoint, const LogoutRequestParams& p) {
  if (!p.federated_present) return false;
  if (p.federated.empty() || p.federated == "true") return true;
  if (p.federated == "false") return false;
  // Auth0's /v2/logout treats the presence of `federated` as a request for federated logout.
  if (endpoint == v1::ENDPOINT_V2_LOGOUT) return true;
  return std::nullopt;
}

// The outcome of validating one requested target against one allow-list.
struct TargetCheck {
  v1::Reason deny_reason = v1::REASON_UNSPECIFIED;
  std::string description;
  size_t entry = 0;
};

// Parses `raw` once with WHATWG semantics into `*target` and matches it on components against
// `list`.
TargetCheck CheckTarget(const AllowList& list, absl::string_view raw, absl::string_view name,
                        bool application_scope, url::Url* target) {
  TargetCheck out;
  const auto deny = [&](v1::Reason reason, absl::string_view what) {
    out.deny_reason = reason;
    out.description = absl::StrCat("'", name, "' ", what);
    return out;
  };
  if (!url::Url::ParseInto(raw, target).ok()) {
    return deny(v1::REASON_TARGET_INVALID_URL, "is not a valid absolute URL");
  }
  if (target->scheme() != "https" && target->scheme() != "http") {
    return deny(v1::REASON_TARGET_SCHEME_NOT_ALLOWED, "must be an http or https URL");
  }
  if (target->saw_userinfo_delimiter() || target->has_credentials()) {
    return deny(v1::REASON_TARGET_HAS_USERINFO, "must not contain userinfo");
  }
  if (list.empty()) {
    return deny(v1::REASON_ALLOW_LIST_EMPTY, "cannot be used: no logout URLs are allowed");
  }
  const std::optional<size_t> hit = list.Match(*target, raw);
  if (!hit.has_value()) {
    return deny(v1::REASON_TARGET_NOT_ALLOWED,
                absl::StrCat("is not in the ", application_scope ? "application's" : "tenant's",
                             " Allowed Logout URLs"));
  }
  out.entry = *hit;
  return out;
}

// `target` with its `state` query parameter set to `state`, written into `*out`; `query` is a
// buffer for the new query.
void WithStateInto(const url::Url& target, absl::string_view state, std::string* query,
                   url::Url* out) {
  query->clear();
  query->reserve(target.query().size() + state.size() * 3 + 8);
  for (absl::string_view piece : absl::StrSplit(target.query(), '&')) {
    if (piece.empty()) continue;
    if (FormNameIs(piece.substr(0, piece.find('=')), "state")) continue;
    absl::StrAppend(query, piece, "&");
  }
  query->append("state=");
  url::AppendComponentEncoded(state, query);
  target.WithQueryInto(*query, out);
}

// Decide's working buffers, one set per thread. Their capacity is kept from call to call, so a
// decision whose strings fit in what earlier calls needed allocates nothing.
struct DecideScratch {
  ParamsOutcome extracted;
  HintResult hint;
  url::Url target;
  url::Url with_state;
  std::string query;
};

DecideScratch& Scratch() {
  thread_local DecideScratch scratch;
  return scratch;
}

void SetString(std::string* field, absl::string_view value) {
  field->assign(value.data(), value.size());
}

}  // namespace

url::Url WithState(const url::Url& target, absl::string_view state) {
  std::string query;
  url::Url out;
  WithStateInto(target, state, &query, &out);
  return out;
}

absl::Status Decide(const CompiledPolicy& policy, const v1::ValidateLogoutRequest& request,
                    absl::Time now, v1::ValidateLogoutResponse* response) {
  // A response the server reuses keeps its strings' capacity through Clear(); the session
  // message, which Clear() would delete, is kept aside and put back when a session is set.
  std::unique_ptr<v1::SessionToEnd> spare_session(response->release_session());
  response->Clear();
  const v1::Endpoint endpoint = request.endpoint();
  if (request.tenant().empty() || request.tenant().size() > kMaxTenantBytes) {
    return absl::InvalidArgumentError("tenant is required (at most 256 bytes)");
  }
  if (endpoint != v1::ENDPOINT_V2_LOGOUT && endpoint != v1::ENDPOINT_OIDC_LOGOUT) {
    return absl::InvalidArgumentError(
        "endpoint must be ENDPOINT_V2_LOGOUT or ENDPOINT_OIDC_LOGOUT");
  }
  if (request.session_id().size() > kMaxSessionIdBytes ||
      HasForbiddenCharacters(request.session_id())) {
    return absl::InvalidArgumentError(
        "session_id must be at most 1024 bytes of UTF-8 without control characters");
  }
  const CompiledTenant* tenant = policy.FindTenant(request.tenant());
  if (tenant == nullptr) return absl::NotFoundError("unknown tenant");
  response->set_policy_version(policy.version());

  // 1. Input checks that come before any parsing.
  DecideScratch& scratch = Scratch();
  ParamsOutcome& extracted = scratch.extracted;
  ExtractParamsInto(endpoint, request, &extracted);
  if (extracted.denied()) {
    Deny(response, extracted.deny_reason, std::move(extracted.description));
    return absl::OkStatus();
  }
  const LogoutRequestParams& p = extracted.params;
  const absl::string_view target_name = TargetParamName(endpoint);

  const std::optional<bool> federated = ParseFederated(endpoint, p);
  if (!federated.has_value()) {
    Deny(response, v1::REASON_INVALID_FEDERATED,
         "'federated' parameter must be empty, 'true' or 'false'");
    return absl::OkStatus();
  }

  if (!p.ui_locales.empty()) {
    const absl::string_view first = *absl::StrSplit(p.ui_locales, ' ', absl::SkipEmpty()).begin();
    if (!tenant->enabled_locales.contains(absl::AsciiStrToLower(first))) {
      Deny(response, v1::REASON_UNSUPPORTED_LOCALE,
           "the first locale in 'ui_locales' is not enabled for this tenant");
      return absl::OkStatus();
    }
  }

  // 2. id_token_hint: verified completely before any part of it is used.
  const bool strict = IsOidc(endpoint) && tenant->oidc_profile == v1::OIDC_PROFILE_STRICT;
  const HintResult* hint = nullptr;
  if (!p.id_token_hint.empty()) {
    ValidateIdTokenHintInto(*tenant, p.id_token_hint, now, &scratch.hint);
    if (scratch.hint.denied()) {
      Deny(response, scratch.hint.deny_reason, scratch.hint.description);
      return absl::OkStatus();
    }
    hint = &scratch.hint;
  }
  if (strict && hint == nullptr) {
    Deny(response, v1::REASON_ID_TOKEN_HINT_REQUIRED,
         "'id_token_hint' parameter is required by this tenant");
    return absl::OkStatus();
  }
  if (strict && p.target.empty()) {
    Deny(response, v1::REASON_REDIRECT_URI_REQUIRED,
         "'post_logout_redirect_uri' parameter is required by this tenant");
    return absl::OkStatus();
  }
  if (hint != nullptr && !p.logout_hint.empty() && p.logout_hint != hint->sid) {
    Deny(response, v1::REASON_LOGOUT_HINT_MISMATCH,
         "'logout_hint' does not match the session of 'id_token_hint'");
    return absl::OkStatus();
  }

  // 3. Which allow-list: the hint's client, else client_id's, else the tenant's. An unknown
  // client never falls back to the tenant list.
  const CompiledClient* client = nullptr;
  if (hint != nullptr) {
    client = hint->client;
    if (!p.client_id.empty() && p.client_id != client->client_id) {
      Deny(response, v1::REASON_CLIENT_ID_MISMATCH,
           "'client_id' does not match the client of 'id_token_hint'");
      return absl::OkStatus();
    }
    response->set_client_id(client->client_id);
    response->set_client_source(v1::CLIENT_SOURCE_ID_TOKEN_HINT);
  } else if (!p.client_id.empty()) {
    client = tenant->FindClient(p.client_id);
    if (client == nullptr) {
      Deny(response, v1::REASON_UNKNOWN_CLIENT, "'client_id' is not a client of this tenant");
      return absl::OkStatus();
    }
    response->set_client_id(client->client_id);
    response->set_client_source(v1::CLIENT_SOURCE_CLIENT_ID);
  }
  // STRICT tenants match exactly on the OIDC endpoint.
  const AllowList& list =
      strict ? (client != nullptr ? *client->exact_allowed_logout_urls
                                  : *tenant->exact_allowed_logout_urls)
             : (client != nullptr ? *client->allowed_logout_urls : *tenant->allowed_logout_urls);
  response->set_allow_list_scope(client != nullptr ? v1::ALLOW_LIST_SCOPE_APPLICATION
                                                   : v1::ALLOW_LIST_SCOPE_TENANT);

  // 4. The target: parsed once with WHATWG semantics, matched on components.
  // Strings are assigned through mutable_*(): protobuf 3.21's (pointer, size) setter copies
  // through a temporary std::string, and assign() keeps a reused response's capacity.
  const url::Url* redirect = nullptr;
  v1::Reason allow_reason = v1::REASON_LOGGED_OUT_PAGE;
  if (!p.target.empty()) {
    TargetCheck check =
        CheckTarget(list, p.target, target_name, client != nullptr, &scratch.target);
    if (check.deny_reason != v1::REASON_UNSPECIFIED) {
      Deny(response, check.deny_reason, std::move(check.description));
      return absl::OkStatus();
    }
    SetString(response->mutable_matched_entry(), list.entry(check.entry).raw());
    response->set_target_source(v1::TARGET_SOURCE_REQUESTED);
    redirect = &scratch.target;
    allow_reason = v1::REASON_REDIRECT_ALLOWED;
  } else if (client != nullptr && list.DefaultEntry().has_value()) {
    const AllowList::Entry& e = list.entry(*list.DefaultEntry());
    SetString(response->mutable_matched_entry(), e.raw());
    response->set_target_source(v1::TARGET_SOURCE_DEFAULT_FIRST_ALLOWED);
    redirect = &e.url;
    allow_reason = v1::REASON_DEFAULT_REDIRECT;
  }

  // 5. The response.
  if (redirect != nullptr) {
    if (IsOidc(endpoint) && !p.state.empty()) {
      WithStateInto(*redirect, p.state, &scratch.query, &scratch.with_state);
      redirect = &scratch.with_state;
    }
    SetString(response->mutable_redirect_url(), redirect->href());
  }
  response->set_federated(*federated);
  // 6. Confirmation: only when a session exists that the request does not prove it is about:
  // a verified hint for that very session, or (without a hint) a logout_hint naming it.
  const bool proven = hint != nullptr ? (!hint->sid.empty() && hint->sid == request.session_id())
                                      : p.logout_hint == request.session_id();
  // The session to end. The hint's `sub` describes it only when the hint is for that session
  // (or there is no OP session): a hint from another session must not pair its user with this
  // session's sid (single-logout tokens are built from these two values).
  const auto session = [&]() -> v1::SessionToEnd* {
    if (spare_session != nullptr) {
      spare_session->Clear();
      response->set_allocated_session(spare_session.release());
    }
    return response->mutable_session();
  };
  if (!request.session_id().empty()) session()->set_sid(request.session_id());
  if (hint != nullptr && (request.session_id().empty() || proven)) session()->set_sub(hint->sub);
  const bool needs_confirmation =
      IsOidc(endpoint) && !request.session_id().empty() && tenant->prompt_enabled && !proven;
  if (needs_confirmation) {
    response->set_decision(v1::DECISION_REQUIRE_CONFIRMATION);
    response->set_reason(v1::REASON_CONFIRMATION_REQUIRED);
    response->set_http_status(200);
  } else {
    response->set_decision(v1::DECISION_ALLOW);
    response->set_reason(allow_reason);
    response->set_http_status(redirect != nullptr ? 302 : 200);
  }
  SetString(response->mutable_reason_code(), ReasonCode(response->reason()));
  return absl::OkStatus();
}

void ClearForReuse(v1::ValidateLogoutResponse* response) {
  std::unique_ptr<v1::SessionToEnd> session(response->release_session());
  response->Clear();
  if (session != nullptr) {
    session->Clear();
    response->set_allocated_session(session.release());
  }
}

absl::Status BuildFederatedLogout(const CompiledPolicy& policy,
                                  const v1::BuildFederatedLogoutUrlRequest& request,
                                  v1::BuildFederatedLogoutUrlResponse* response) {
  response->Clear();
  if (request.tenant().empty() || request.connection().empty()) {
    return absl::InvalidArgumentError("tenant and connection are required");
  }
  const CompiledTenant* tenant = policy.FindTenant(request.tenant());
  if (tenant == nullptr) return absl::NotFoundError("unknown tenant");
  const auto conn = tenant->connections.find(request.connection());
  if (conn == tenant->connections.end()) return absl::NotFoundError("unknown connection");
  const auto deny = [response](v1::Reason reason, std::string description) {
    response->set_decision(v1::DECISION_DENY);
    response->set_reason(reason);
    response->set_error_description(std::move(description));
    return absl::OkStatus();
  };
  for (const std::string* value : {&request.return_to(), &request.client_id(), &request.state()}) {
    if (value->size() > kMaxUrlBytes || HasForbiddenCharacters(*value)) {
      return deny(v1::REASON_INVALID_CHARACTERS,
                  "'return_to', 'client_id' and 'state' must be at most 2048 bytes of UTF-8 "
                  "without control characters");
    }
  }
  for (const std::string* token :
       {&request.upstream_id_token(), &request.upstream_access_token()}) {
    if (token->size() > kMaxHintBytes || HasForbiddenCharacters(*token)) {
      return deny(v1::REASON_INVALID_CHARACTERS, "upstream tokens must be at most 16 KiB of UTF-8");
    }
  }
  // The return URL obeys exactly the rules of ValidateLogout: the client's list, else the
  // tenant's; an unknown client never falls back.
  const CompiledClient* client = nullptr;
  if (!request.client_id().empty()) {
    client = tenant->FindClient(request.client_id());
    if (client == nullptr) {
      return deny(v1::REASON_UNKNOWN_CLIENT, "'client_id' is not a client of this tenant");
    }
  }
  std::string return_to;
  if (!request.return_to().empty()) {
    const AllowList& list =
        client != nullptr ? *client->allowed_logout_urls : *tenant->allowed_logout_urls;
    url::Url target;
    TargetCheck check =
        CheckTarget(list, request.return_to(), "return_to", client != nullptr, &target);
    if (check.deny_reason != v1::REASON_UNSPECIFIED) {
      return deny(check.deny_reason, std::move(check.description));
    }
    return_to = std::string(target.href());
  }
  federation::FederatedLogoutInput input;
  input.return_to = return_to;
  input.client_id = request.client_id();
  input.state = request.state();
  input.upstream_id_token = request.upstream_id_token();
  input.upstream_access_token = request.upstream_access_token();
  input.query = &request.query();
  absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> built =
      federation::BuildFederatedLogoutUrl(conn->second, input);
  if (!built.ok()) return built.status();
  *response = *std::move(built);
  response->set_decision(v1::DECISION_ALLOW);
  return absl::OkStatus();
}

}  // namespace logout::policy

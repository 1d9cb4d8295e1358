#include "service/federation/federated_logout.h"

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/federation/uri_template.h"
#include "service/url/url.h"

namespace logout::federation {
namespace {

// Param is one query parameter logoutd adds; an empty value means "do not add".
struct Param {
  absl::string_view name;
  absl::string_view value;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// FormDecode decodes an application/x-www-form-urlencoded name: '+' is a space and each
// "%XX" its byte; any other '%' stays.
std::string FormDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && s.size() - i >= 3 && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// WithParams returns the serialisation of `base` with the non-empty `params` appended to its
// query, in order, replacing configured parameters of the same names.
std::string WithParams(const url::Url& base, std::initializer_list<Param> params) {
  bool any = false;
  for (const Param& p : params) any = any || !p.value.empty();
  if (!any) return std::string(base.href());

  std::string query;
  for (absl::string_view piece : absl::StrSplit(base.query(), '&')) {
    if (piece.empty()) continue;
    const std::string name = FormDecode(piece.substr(0, piece.find('=')));
    bool replaced = false;
    for (const Param& p : params) replaced = replaced || (!p.value.empty() && name == p.name);
    if (replaced) continue;
    absl::StrAppend(&query, piece, "&");
  }
  for (const Param& p : params) {
    if (p.value.empty()) continue;
    absl::StrAppend(&query, p.name, "=");
    url::AppendComponentEncoded(p.value, &query);
    query.push_back('&');
  }
  query.pop_back();  // the last '&'; `any` guarantees there is one
  return std::string(base.WithQuery(query).href());
}

absl::Status TemplateError(const CompiledConnection& c, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("connection \"", absl::CEscape(c.name()),
                                                 "\": logout.logout_url_template: ", problem));
}

// TemplateValueFor is the value of template variable `name` (see the header); empty means
// undefined.
absl::string_view TemplateValueFor(const CompiledConnection& c, const FederatedLogoutInput& in,
                                   const std::string& name) {
  if (name == "returnTo" || name == "post_logout_redirect_uri") return in.return_to;
  if (name == "client_id") return in.client_id;
  if (name == "state") return in.state;
  if (name == "id_token_hint") {
    return c.send_id_token_hint() ? in.upstream_id_token : absl::string_view();
  }
  if (name == "upstream_client_id") return c.upstream_client_id();
  if (name == "access_token") return {};
  if (in.query == nullptr) return {};
  const auto it = in.query->find(name);
  return it == in.query->end() ? absl::string_view() : absl::string_view(it->second);
}

absl::StatusOr<std::string> ExpandTemplate(const CompiledConnection& c,
                                           const FederatedLogoutInput& in) {
  const UriTemplate& t = *c.logout_url_template();
  TemplateVariables vars;
  vars.reserve(t.variable_names().size());
  for (const std::string& name : t.variable_names()) {
    const absl::string_view value = TemplateValueFor(c, in, name);
    if (!value.empty()) vars.emplace(name, TemplateValue::String(std::string(value)));
  }
  absl::StatusOr<std::string> expanded = t.Expand(vars);
  if (!expanded.ok()) return TemplateError(c, expanded.status().message());
  absl::StatusOr<url::Url> parsed = url::Url::Parse(*expanded);
  if (!parsed.ok()) return TemplateError(c, "the expansion is not a valid URL");
  if (parsed->origin() != c.template_origin()) {
    return TemplateError(c, absl::StrCat("the expansion leaves the origin ", c.template_origin()));
  }
  if (parsed->saw_userinfo_delimiter() || parsed->has_credentials()) {
    return TemplateError(c, "the expansion contains userinfo");
  }
  return std::string(parsed->href());
}

void Unsupported(v1::BuildFederatedLogoutUrlResponse* r) {
  r->clear_url();
  r->set_supported(false);
}

void Supported(std::string url, v1::BuildFederatedLogoutUrlResponse* r) {
  r->set_url(std::move(url));
  r->set_supported(true);
}

}  // namespace

absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> BuildFederatedLogoutUrl(
    const CompiledConnection& connection, const FederatedLogoutInput& input) {
  const CompiledConnection& c = connection;
  v1::BuildFederatedLogoutUrlResponse r;

  if (c.logout_url_template().has_value()) {
    absl::StatusOr<std::string> url = ExpandTemplate(c, input);
    if (!url.ok()) return url.status();
    r.set_source(v1::FEDERATED_URL_SOURCE_TEMPLATE);
    Supported(*std::move(url), &r);
    return r;
  }

  if (c.logout_url().has_value()) {
    r.set_source(v1::FEDERATED_URL_SOURCE_STATIC);
    const absl::string_view return_to =
        c.return_to_param().empty() ? absl::string_view() : input.return_to;
    Supported(WithParams(*c.logout_url(), {{c.return_to_param(), return_to}}), &r);
    return r;
  }

  r.set_source(v1::FEDERATED_URL_SOURCE_PROVIDER_DEFAULT);
  switch (c.default_logout()) {
    case DefaultLogout::kOidcEndSession: {
      if (!c.end_session_endpoint().has_value()) {
        Unsupported(&r);
        break;
      }
      const bool send_token = c.send_id_token_hint() && !input.upstream_id_token.empty();
      const absl::string_view client_id =
          (c.send_client_id() || !send_token) ? c.upstream_client_id() : absl::string_view();
      Supported(WithParams(*c.end_session_endpoint(),
                           {{"id_token_hint", send_token ? input.upstream_id_token : ""},
                            {"client_id", client_id},
                            {"post_logout_redirect_uri", input.return_to},
                            {"state", input.state}}),
                &r);
      break;
    }
    case DefaultLogout::kFacebook:
      if (input.upstream_access_token.empty() || !c.provider_logout_url().has_value()) {
        Unsupported(&r);
        break;
      }
      Supported(
          WithParams(*c.provider_logout_url(),
                     {{"next", input.return_to}, {"access_token", input.upstream_access_token}}),
          &r);
      break;
    case DefaultLogout::kSamlSignOut:
      if (c.disable_signout() || !c.sign_out_endpoint().has_value()) {
        Unsupported(&r);
        break;
      }
      Supported(std::string(c.sign_out_endpoint()->href()), &r);
      break;
    case DefaultLogout::kUpstreamMayNotReturn:
      Supported(std::string(), &r);
      r.add_warnings(v1::FEDERATED_WARNING_UPSTREAM_MAY_NOT_RETURN);
      break;
  }
  return r;
}

}  // namespace logout::federation

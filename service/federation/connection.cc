#include "service/federation/connection.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace logout::federation {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxReturnToParamBytes = 64;
constexpr size_t kMaxUpstreamClientIdBytes = 256;
// Values are quoted in error messages up to this many bytes, then "...".
constexpr size_t kQuoteBytes = 128;

constexpr absl::string_view kNotHttps = "must be an absolute https URL";
constexpr absl::string_view kLoopbackNeedsOption =
    "must be an absolute https URL; http is accepted only for localhost, 127.0.0.1 or [::1] "
    "with allow_http_loopback";

constexpr absl::string_view kFacebookLogoutUrl = "https://www.facebook.com/logout.php";

// The one variable that is a connection setting rather than request input.
constexpr absl::string_view kTrustedVariable = "upstream_client_id";

std::string Quote(absl::string_view s) {
  if (s.size() <= kQuoteBytes) return absl::StrCat("\"", absl::CEscape(s), "\"");
  return absl::StrCat("\"", absl::CEscape(s.substr(0, kQuoteBytes)), "\"...");
}

bool HasSpaceOrControl(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return true;
  }
  return false;
}

bool IsPrintableToken(absl::string_view s) {
  return !s.empty() && s.size() <= kMaxNameBytes && !HasSpaceOrControl(s);
}

bool IsReturnToParam(absl::string_view s) {
  if (s.empty() || s.size() > kMaxReturnToParamBytes) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

// IsUtf8WithoutControls: well-formed UTF-8 (RFC 3629) and no C0 control or DEL.
bool IsUtf8WithoutControls(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      if (b0 < 0x20 || b0 == 0x7F) return false;
      ++i;
      continue;
    }
    // Lead byte ranges of RFC 3629 (no C0/C1 overlong leads, nothing above F4).
    size_t len = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
    } else {
      return false;
    }
    constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    char32_t cp = b0 & (0x7F >> len);
    const char32_t min = kMin[len];
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool HasHttpSchemePrefix(absl::string_view s) {
  return absl::StartsWithIgnoreCase(s, "https://") || absl::StartsWithIgnoreCase(s, "http://");
}

// CheckOrigin applies the scheme and userinfo rules to a parsed URL. Returns a reason or
// std::nullopt.
std::optional<absl::string_view> CheckOrigin(const url::Url& u, const ConnectionOptions& options) {
  if (u.scheme() != "https") {
    if (u.scheme() != "http" || !url::IsLoopback(u)) return kNotHttps;
    if (!options.allow_http_loopback) return kLoopbackNeedsOption;
  }
  if (u.saw_userinfo_delimiter() || u.has_credentials()) {
    return "must not contain userinfo ('@' in the authority)";
  }
  return std::nullopt;
}

// CheckUrl validates one configured URL; on success stores the parsed form in *out.
std::optional<absl::string_view> CheckUrl(absl::string_view raw, const ConnectionOptions& options,
                                          std::optional<url::Url>* out) {
  if (raw.size() > kMaxUrlBytes) return "must be at most 2048 bytes";
  if (HasSpaceOrControl(raw)) return "must not contain spaces or control characters";
  if (!HasHttpSchemePrefix(raw)) return kNotHttps;
  absl::StatusOr<url::Url> parsed = url::Url::Parse(raw);
  if (!parsed.ok()) return "is not a valid URL";
  if (auto why = CheckOrigin(*parsed, options)) return why;
  if (parsed->has_fragment()) return "must not have a fragment";
  *out = *std::move(parsed);
  return std::nullopt;
}

bool StartsPathQueryOrFragment(char c) { return c == '/' || c == '?' || c == '#'; }

// CheckTemplateOrigin applies the literal-origin rule of the file comment to `t`. On success
// stores the ASCII origin of the literal prefix in *origin.
std::optional<absl::string_view> CheckTemplateOrigin(const UriTemplate& t,
                                                     const ConnectionOptions& options,
                                                     std::string* origin) {
  constexpr absl::string_view kNotLiteral =
      "the origin must be literal text: a variable may not supply or extend the host or port";
  const absl::string_view text = t.text();
  const std::vector<UriTemplate::Expression> expressions = t.expressions();
  // Parse admits '{' only as the opening of an expression and '}' only as its end.
  const size_t first_brace = text.find('{');
  const absl::string_view prefix = text.substr(0, first_brace);
  if (!HasHttpSchemePrefix(prefix)) return "must start with \"https://\" and a literal host";
  const size_t authority_begin = prefix.find("://") + 3;
  const size_t authority_end = prefix.find_first_of("/?#", authority_begin);
  if (authority_end == authority_begin || authority_begin == prefix.size()) return kNotLiteral;
  if (authority_end == absl::string_view::npos && first_brace != absl::string_view::npos) {
    // The literal text ends inside the authority. Every expansion until the first literal
    // '/', '?' or '#' must itself start a path, query or fragment (or be empty).
    size_t i = first_brace;
    size_t k = 0;
    while (i < text.size()) {
      if (text[i] == '{') {
        if (!StartsPathQueryOrFragment(expressions[k].op)) return kNotLiteral;
        ++k;
        i = text.find('}', i) + 1;
        continue;
      }
      if (!StartsPathQueryOrFragment(text[i])) return kNotLiteral;
      break;
    }
  }
  const absl::string_view scheme_and_authority =
      prefix.substr(0, authority_end == absl::string_view::npos ? prefix.size() : authority_end);
  absl::StatusOr<url::Url> parsed = url::Url::Parse(scheme_and_authority);
  if (!parsed.ok()) return "the literal scheme and host are not a valid URL";
  if (auto why = CheckOrigin(*parsed, options)) return why;
  *origin = parsed->origin();
  return std::nullopt;
}

// TemplateFragment says why `t` could give a URL with a fragment: a literal '#' or a "{#...}"
// expression.
std::optional<absl::string_view> TemplateFragment(const UriTemplate& t) {
  const absl::string_view text = t.text();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      i = text.find('}', i);  // Parse admits '{' only as the opening of a closed expression
      continue;
    }
    if (text[i] == '#') return "must not have a fragment (a literal '#')";
  }
  for (const UriTemplate::Expression& e : t.expressions()) {
    if (e.op == '#') return "must not have a fragment (a \"{#...}\" expression)";
  }
  return std::nullopt;
}

bool UsesReservedExpansionOf(const UriTemplate& t, absl::string_view name) {
  for (const UriTemplate::Expression& e : t.expressions()) {
    if (e.op != '+') continue;
    for (const std::string& n : e.names) {
      if (n == name) return true;
    }
  }
  return false;
}

DefaultLogout DefaultFor(absl::string_view strategy, bool has_end_session_endpoint) {
  if (strategy == "oidc" || strategy == "okta" || strategy == "waad") {
    return DefaultLogout::kOidcEndSession;
  }
  if (strategy == "facebook") return DefaultLogout::kFacebook;
  if (strategy == "samlp") return DefaultLogout::kSamlSignOut;
  return has_end_session_endpoint ? DefaultLogout::kOidcEndSession
                                  : DefaultLogout::kUpstreamMayNotReturn;
}

}  // namespace

absl::StatusOr<CompiledConnection> CompiledConnection::Compile(const v1::Connection& connection,
                                                               const ConnectionOptions& options) {
  if (!IsPrintableToken(connection.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("connection: name ", Quote(connection.name()),
                     ": must be 1-256 printable bytes (no spaces or control characters)"));
  }
  const std::string where = absl::StrCat("connection ", Quote(connection.name()), ": ");
  auto invalid = [&where](absl::string_view field, absl::string_view value, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(where, field, " ", Quote(value), ": ", why));
  };
  if (!IsPrintableToken(connection.strategy())) {
    return invalid("strategy", connection.strategy(),
                   "must be 1-256 printable bytes (no spaces or control characters)");
  }
  CompiledConnection c;
  c.name_ = connection.name();
  c.strategy_ = connection.strategy();
  const v1::ConnectionLogout& logout = connection.logout();

  if (!logout.logout_url_template().empty()) {
    constexpr absl::string_view kField = "logout.logout_url_template";
    absl::StatusOr<UriTemplate> t = UriTemplate::Parse(logout.logout_url_template());
    if (!t.ok()) return invalid(kField, logout.logout_url_template(), t.status().message());
    if (auto why = CheckTemplateOrigin(*t, options, &c.template_origin_)) {
      return invalid(kField, logout.logout_url_template(), *why);
    }
    for (const UriTemplate::Expression& e : t->expressions()) {
      if (e.op != '+' && e.op != '#') continue;
      for (const std::string& name : e.names) {
        if (name == kTrustedVariable) continue;
        return invalid(kField, logout.logout_url_template(),
                       absl::StrCat("variable \"", absl::CEscape(name),
                                    "\" must not use reserved expansion (\"{+...}\" or "
                                    "\"{#...}\"); only ",
                                    kTrustedVariable, " may"));
      }
    }
    // The upstream URL never carries a fragment (a static logout_url may not either): not as
    // literal text, not from a "{#...}" expression, and not through the one variable that may
    // use reserved expansion, where a '#' in its value would pass unencoded.
    if (auto why = TemplateFragment(*t); why && !options.allow_template_fragments) {
      return invalid(kField, logout.logout_url_template(), *why);
    }
    if (!options.allow_template_fragments && UsesReservedExpansionOf(*t, kTrustedVariable) &&
        absl::StrContains(logout.upstream_client_id(), '#')) {
      return invalid("logout.upstream_client_id", logout.upstream_client_id(),
                     "must not contain '#' when logout.logout_url_template expands it with "
                     "\"{+upstream_client_id}\" (it would start a fragment)");
    }
    c.template_ = *std::move(t);
  }

  struct UrlField {
    absl::string_view field;
    const std::string& value;
    std::optional<url::Url>* out;
  };
  for (const UrlField& f : {
           UrlField{"logout.logout_url", logout.logout_url(), &c.logout_url_},
           UrlField{"logout.end_session_endpoint", logout.end_session_endpoint(),
                    &c.end_session_endpoint_},
           UrlField{"logout.sign_out_endpoint", logout.sign_out_endpoint(), &c.sign_out_endpoint_},
       }) {
    if (f.value.empty()) continue;
    if (auto why = CheckUrl(f.value, options, f.out)) return invalid(f.field, f.value, *why);
  }

  if (!logout.return_to_param().empty() && !IsReturnToParam(logout.return_to_param())) {
    return invalid("logout.return_to_param", logout.return_to_param(),
                   "must be 1-64 characters of [A-Za-z0-9_.-]");
  }
  if (logout.upstream_client_id().size() > kMaxUpstreamClientIdBytes ||
      !IsUtf8WithoutControls(logout.upstream_client_id())) {
    return invalid("logout.upstream_client_id", logout.upstream_client_id(),
                   "must be at most 256 bytes of UTF-8 without control characters");
  }

  c.default_logout_ = DefaultFor(c.strategy_, c.end_session_endpoint_.has_value());
  if (c.default_logout_ == DefaultLogout::kFacebook) {
    absl::StatusOr<url::Url> facebook = url::Url::Parse(kFacebookLogoutUrl);
    if (!facebook.ok()) return facebook.status();  // cannot happen: a constant
    c.provider_logout_url_ = *std::move(facebook);
  }
  c.upstream_client_id_ = logout.upstream_client_id();
  c.return_to_param_ = logout.return_to_param();
  c.send_id_token_hint_ = logout.send_id_token_hint();
  c.send_client_id_ = logout.send_client_id();
  c.disable_signout_ = logout.disable_signout();
  return c;
}

}  // namespace logout::federation

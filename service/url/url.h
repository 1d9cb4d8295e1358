// WHATWG URL parsing for logoutd: what the browser will do with a redirect target.
//
//   absl::StatusOr<logout::url::Url> u =
//   logout::url::Url::Parse("https://EXAMPLE.com:443/a/../b?x#y");
//   // u->href() == "https://example.com/b?x#y", u->hostname() == "example.com", u->port() == ""
//
// The parser follows the URL Standard's basic URL parser (https://url.spec.whatwg.org/) for every
// scheme, so it can tell exactly what a browser would navigate to. logoutd only ever *accepts*
// http and https targets; other schemes are parsed so that they can be recognised and refused.
// Domain-to-ASCII uses ICU's UTS #46 implementation plus the URL Standard's own host rules.
#ifndef SERVICE_URL_URL_H_
#define SERVICE_URL_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace logout::url {

// HostType says what kind of host a parsed URL has.
enum class HostType : uint8_t {
  kNone,    // no host at all (e.g. "mailto:x", "sc:/path")
  kEmpty,   // an empty host (e.g. "file:///x", "sc://")
  kDomain,  // a domain, already lower-cased and converted to ASCII (punycode)
  kIPv4,    // an IPv4 address, serialised canonically ("127.0.0.1")
  kIPv6,    // an IPv6 address, serialised canonically with brackets ("[::1]")
  kOpaque,  // an opaque host of a non-special URL
};

// Url is an immutable, parsed and serialised URL.
//
// The accessors return views into the URL's own serialisation (`href()`); they stay valid for
// the lifetime of the Url object and are invalidated by moving from it or assigning to it.
// Thread safety: immutable after construction; safe to share between threads.
class Url {
 public:
  // Parse runs the URL Standard's basic URL parser over `input`, against `base` if given.
  // Returns the parsed URL, or InvalidArgumentError when the parser returns failure (the
  // message names the failure kind, never echoes the input). Leading/trailing C0 control or
  // space characters and ASCII tab/newline are removed as the standard says; callers that
  // must refuse such input check it before calling.
  static absl::StatusOr<Url> Parse(absl::string_view input, const Url* base = nullptr);
  // ParseInto is Parse writing into `out`, whose serialisation buffer it reuses (a caller that
  // keeps one Url per thread parses without allocating once the buffer is large enough). On
  // failure `*out` is an empty Url. `out` must not be `base`, and `input` must not point into
  // `*out` (its buffer is taken before the input is read).
  static absl::Status ParseInto(absl::string_view input, Url* out, const Url* base = nullptr);

  // href is the URL serialiser's output (the only form logoutd ever emits).
  absl::string_view href() const;
  // scheme is the lower-case scheme without ':' ("https").
  absl::string_view scheme() const;
  // protocol is scheme() + ":" as in the JavaScript URL API.
  std::string protocol() const;
  absl::string_view username() const;
  absl::string_view password() const;
  // has_credentials is true when username or password is non-empty.
  bool has_credentials() const;
  // saw_userinfo_delimiter is true when the authority of the *input* contained an '@' at all,
  // even if the resulting username and password are empty ("https://@host/" serialises to
  // "https://host/" but still had one). logoutd refuses such targets.
  bool saw_userinfo_delimiter() const;
  HostType host_type() const;
  // hostname is the serialised host ("example.com", "127.0.0.1", "[::1]"); empty when there is
  // none.
  absl::string_view hostname() const;
  // host is hostname() + ":" + port() when a port is present, as in the JavaScript URL API.
  std::string host() const;
  // port is the serialised explicit port, "" when absent or equal to the scheme's default.
  absl::string_view port() const;
  // effective_port is the explicit port, else the special scheme's default port, else -1.
  int effective_port() const;
  // pathname is the serialised path ("/a/b"; an opaque path as is).
  absl::string_view pathname() const;
  // search is "" when the query is null or empty, else "?" + query (JavaScript URL API).
  absl::string_view search() const;
  // hash is "" when the fragment is null or empty, else "#" + fragment.
  absl::string_view hash() const;
  // has_query / has_fragment distinguish a null query/fragment from an empty one ("x?").
  bool has_query() const;
  bool has_fragment() const;
  // query / fragment without the leading '?' / '#'.
  absl::string_view query() const;
  absl::string_view fragment() const;
  // is_special is true for the special schemes (http, https, ws, wss, ftp, file).
  bool is_special() const;
  bool has_opaque_path() const;
  // origin is the ASCII serialisation of the URL's origin ("https://example.com:8443"), or
  // "null" for opaque origins.
  std::string origin() const;

  // WithQuery returns a copy whose query is `query` (no leading '?'), percent-encoded with the
  // URL Standard's query (or special-query) percent-encode set exactly as the query state of the
  // parser would, and with the fragment kept. Never fails for a URL that has a host.
  Url WithQuery(absl::string_view query) const;
  // WithQueryInto is WithQuery writing into `out` (its buffer reused); `out` must not be this.
  void WithQueryInto(absl::string_view query, Url* out) const;

 private:
  // Implementation-defined representation (the serialisation plus component offsets).
  friend class UrlBuilder;
  std::string href_;
  uint32_t scheme_end_ = 0;      // href_[0, scheme_end_) is the scheme
  uint32_t username_begin_ = 0;  // component boundaries into href_
  uint32_t username_end_ = 0;
  uint32_t password_begin_ = 0;
  uint32_t password_end_ = 0;
  uint32_t host_begin_ = 0;
  uint32_t host_end_ = 0;
  uint32_t port_begin_ = 0;  // digits only, without ':'
  uint32_t port_end_ = 0;
  uint32_t path_begin_ = 0;
  uint32_t path_end_ = 0;
  uint32_t query_begin_ = 0;  // after '?'
  uint32_t query_end_ = 0;
  uint32_t fragment_begin_ = 0;  // after '#'
  int32_t port_value_ = -1;      // explicit non-default port, or -1
  HostType host_type_ = HostType::kNone;
  bool has_query_ = false;
  bool has_fragment_ = false;
  bool special_ = false;
  bool opaque_path_ = false;
  bool saw_userinfo_delimiter_ = false;
};

// DomainToAscii runs the URL Standard's "domain to ASCII" (UTS #46 via ICU: non-transitional,
// CheckHyphens=false, CheckBidi=true, CheckJoiners=true, UseSTD3ASCIIRules=false,
// VerifyDnsLength=false) followed by the forbidden-domain-code-point check. Returns the ASCII
// domain, or InvalidArgumentError. Does not percent-decode its input and does not parse IPv4.
absl::StatusOr<std::string> DomainToAscii(absl::string_view domain);

// IsLoopback is true for the loopback hosts RFC 8252 §7.3 names: `localhost`, `127.0.0.1` and
// `[::1]` (as the parser serialises them).
bool IsLoopback(const Url& url);

// AppendComponentEncoded appends `value` to `out`, percent-encoding (upper-case hex) every
// byte except RFC 3986 unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~"): safe as
// a query parameter name or value in any URL.
void AppendComponentEncoded(absl::string_view value, std::string* out);

}  // namespace logout::url

#endif  // SERVICE_URL_URL_H_

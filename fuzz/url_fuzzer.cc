// libFuzzer target for logout::url::Url::Parse, WithQuery and DomainToAscii.
//
// The first byte picks a base URL (or none) and whether WithQuery is exercised; the rest is the
// input. Invariants (abort() on violation):
//   - a parsed URL's href holds only printable ASCII: no tab, newline, C0, DEL or non-ASCII,
//     and no space except inside an opaque path, where the URL Standard keeps it;
//   - Parse(href) succeeds and yields the identical href and components (idempotence);
//   - href is exactly the serialisation of the components the accessors return;
//   - a parsed http(s) URL has a non-empty host;
//   - WithQuery's result satisfies the same and has the given query's encoding;
//   - DomainToAscii's result is non-empty printable ASCII without forbidden code points.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/url/url.h"

namespace {

using logout::url::HostType;
using logout::url::Url;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "url_fuzzer invariant violated: %s\n", what);
    std::abort();
  }
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F) return false;
  }
  return true;
}

// HrefIsClean: printable ASCII only, except that the URL Standard keeps U+0020 inside an opaque
// path ("sc:a b"); tab, newline, other C0, DEL and non-ASCII never appear.
bool HrefIsClean(const Url& url) {
  const absl::string_view href = url.href();
  const size_t path_begin = static_cast<size_t>(url.pathname().data() - href.data());
  const size_t path_end = path_begin + url.pathname().size();
  for (size_t i = 0; i < href.size(); ++i) {
    const auto b = static_cast<unsigned char>(href[i]);
    if (b == ' ' && url.has_opaque_path() && i >= path_begin && i < path_end) continue;
    if (b <= 0x20 || b >= 0x7F) return false;
  }
  return true;
}

void Append(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }

// Serialise re-builds href from the accessors, as the URL serialiser would.
std::string Serialise(const Url& url) {
  std::string out;
  Append(&out, url.scheme());
  out.push_back(':');
  if (url.host_type() != HostType::kNone) {
    out.append("//");
    if (url.has_credentials()) {
      Append(&out, url.username());
      if (!url.password().empty()) {
        out.push_back(':');
        Append(&out, url.password());
      }
      out.push_back('@');
    }
    Append(&out, url.hostname());
    if (!url.port().empty()) {
      out.push_back(':');
      Append(&out, url.port());
    }
  } else if (!url.has_opaque_path() && url.pathname().size() > 1 && url.pathname()[0] == '/' &&
             url.pathname()[1] == '/') {
    out.append("/.");
  }
  Append(&out, url.pathname());
  if (url.has_query()) {
    out.push_back('?');
    Append(&out, url.query());
  }
  if (url.has_fragment()) {
    out.push_back('#');
    Append(&out, url.fragment());
  }
  return out;
}

// `absolute` is true when `url` was parsed without a base (credentials can then only come from
// the input's own userinfo).
void CheckUrl(const Url& url, bool absolute) {
  Check(HrefIsClean(url), "href holds tab, newline, space, C0, DEL or non-ASCII");
  if (url.is_special()) Check(IsPrintableAscii(url.href()), "special URL href holds a space");
  Check(Serialise(url) == url.href(), "href differs from the serialised components");
  if (url.scheme() == "http" || url.scheme() == "https") {
    Check(!url.hostname().empty(), "http(s) URL without a host");
    Check(url.is_special(), "http(s) URL not special");
  }
  Check(url.has_credentials() == (!url.username().empty() || !url.password().empty()),
        "has_credentials disagrees with username/password");
  Check(!absolute || !url.has_credentials() || url.saw_userinfo_delimiter(),
        "credentials without a userinfo delimiter");
  const absl::StatusOr<Url> again = Url::Parse(url.href());
  Check(again.ok(), "href does not parse");
  Check(again->href() == url.href(), "Parse(href) changes href");
  Check(again->scheme() == url.scheme() && again->username() == url.username() &&
            again->password() == url.password() && again->hostname() == url.hostname() &&
            again->port() == url.port() && again->pathname() == url.pathname() &&
            again->has_query() == url.has_query() && again->query() == url.query() &&
            again->has_fragment() == url.has_fragment() && again->fragment() == url.fragment() &&
            again->host_type() == url.host_type() &&
            again->has_opaque_path() == url.has_opaque_path() &&
            again->effective_port() == url.effective_port(),
        "Parse(href) changes a component");
}

const Url* Base(int index) {
  static const char* const kBases[] = {
      "https://user:pass@example.com:8443/a/b/c?q=1#f",
      "file:///C:/dir/file",
      "sc://host/dir/file?q",
      "sc:opaque-path",
  };
  static const Url* const kParsed[] = {
      new Url(*Url::Parse(kBases[0])),
      new Url(*Url::Parse(kBases[1])),
      new Url(*Url::Parse(kBases[2])),
      new Url(*Url::Parse(kBases[3])),
  };
  return index == 0 ? nullptr : kParsed[index - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const Url* base = Base(mode % 5);
  const absl::StatusOr<Url> url = Url::Parse(input, base);
  if (url.ok()) {
    CheckUrl(*url, base == nullptr);
    if ((mode & 0x80) != 0 && url->host_type() != HostType::kNone) {
      const Url with = url->WithQuery(input);
      CheckUrl(with, base == nullptr);
      Check(with.has_query(), "WithQuery left no query");
      Check(with.fragment() == url->fragment() && with.pathname() == url->pathname() &&
                with.hostname() == url->hostname(),
            "WithQuery changed another component");
    }
  }

  if ((mode & 0x40) != 0) {
    const absl::StatusOr<std::string> ascii = logout::url::DomainToAscii(input);
    if (ascii.ok()) {
      Check(!ascii->empty(), "DomainToAscii returned empty");
      for (char c : *ascii) {
        const auto b = static_cast<unsigned char>(c);
        Check(b > 0x20 && b < 0x7F && c != '%' && c != '/' && c != ':' && c != '?' && c != '#' &&
                  c != '@' && c != '[' && c != ']' && c != '\\' && c != '^' && c != '|' &&
                  c != '<' && c != '>',
              "DomainToAscii result holds a forbidden code point");
      }
    }
  }
  return 0;
}

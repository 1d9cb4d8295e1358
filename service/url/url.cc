#include "service/url/url.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "service/url/internal/host.h"
#include "service/url/internal/percent_encode.h"

namespace logout::url {

using internal::AppendEncoded;
using internal::AsciiLower;
using internal::HostError;
using internal::IsAsciiAlpha;
using internal::IsAsciiAlphanumeric;
using internal::IsAsciiDigit;

namespace {

// Why the basic URL parser returned failure. Each has one short, stable message.
enum class ParseError : uint8_t {
  kNone,
  kMissingScheme,  // relative input without a usable base
  kInvalidCredentials,
  kMissingHost,
  kInvalidHost,
  kInvalidIPv4,
  kInvalidIPv6,
  kInvalidDomain,
  kForbiddenHostCodePoint,
  kInvalidPort,
  kTooLong,
};

absl::Status ToStatus(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return absl::OkStatus();
    case ParseError::kMissingScheme:
      return absl::InvalidArgumentError("missing scheme (relative URL without a base)");
    case ParseError::kInvalidCredentials:
      return absl::InvalidArgumentError("invalid credentials");
    case ParseError::kMissingHost:
      return absl::InvalidArgumentError("missing host");
    case ParseError::kInvalidHost:
      return absl::InvalidArgumentError("invalid host");
    case ParseError::kInvalidIPv4:
      return absl::InvalidArgumentError("invalid host: bad IPv4 address");
    case ParseError::kInvalidIPv6:
      return absl::InvalidArgumentError("invalid host: bad IPv6 address");
    case ParseError::kInvalidDomain:
      return absl::InvalidArgumentError("invalid host: domain to ASCII failed");
    case ParseError::kForbiddenHostCodePoint:
      return absl::InvalidArgumentError("invalid host: forbidden code point");
    case ParseError::kInvalidPort:
      return absl::InvalidArgumentError("invalid port");
    case ParseError::kTooLong:
      return absl::InvalidArgumentError("URL too long");
  }
  return absl::InvalidArgumentError("invalid URL");
}

ParseError FromHostError(HostError error) {
  switch (error) {
    case HostError::kNone:
      return ParseError::kNone;
    case HostError::kInvalidIPv6:
      return ParseError::kInvalidIPv6;
    case HostError::kInvalidIPv4:
      return ParseError::kInvalidIPv4;
    case HostError::kInvalidDomain:
      return ParseError::kInvalidDomain;
    case HostError::kForbiddenCodePoint:
      return ParseError::kForbiddenHostCodePoint;
  }
  return ParseError::kInvalidHost;
}

enum class SchemeType : uint8_t { kNotSpecial, kHttp, kHttps, kWs, kWss, kFtp, kFile };

SchemeType ClassifyScheme(absl::string_view scheme) {
  if (scheme == "http") return SchemeType::kHttp;
  if (scheme == "https") return SchemeType::kHttps;
  if (scheme == "ws") return SchemeType::kWs;
  if (scheme == "wss") return SchemeType::kWss;
  if (scheme == "ftp") return SchemeType::kFtp;
  if (scheme == "file") return SchemeType::kFile;
  return SchemeType::kNotSpecial;
}

int DefaultPort(SchemeType type) {
  switch (type) {
    case SchemeType::kHttp:
    case SchemeType::kWs:
      return 80;
    case SchemeType::kHttps:
    case SchemeType::kWss:
      return 443;
    case SchemeType::kFtp:
      return 21;
    default:
      return -1;
  }
}

void Append(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }

constexpr bool IsTabOrNewline(char c) { return c == '\t' || c == '\n' || c == '\r'; }
constexpr bool IsC0ControlOrSpace(char c) { return static_cast<unsigned char>(c) <= 0x20; }

// "A Windows drive letter is two code points, of which the first is an ASCII alpha and the
// second is either U+003A (:) or U+007C (|)."
bool IsWindowsDriveLetter(absl::string_view s) {
  return s.size() == 2 && IsAsciiAlpha(s[0]) && (s[1] == ':' || s[1] == '|');
}
bool IsNormalizedWindowsDriveLetter(absl::string_view s) {
  return s.size() == 2 && IsAsciiAlpha(s[0]) && s[1] == ':';
}
// "starts with a Windows drive letter": the first two code points are a drive letter and
// either that is all, or the third is one of / \ ? #.
bool StartsWithWindowsDriveLetter(absl::string_view s) {
  if (s.size() < 2 || !IsWindowsDriveLetter(s.substr(0, 2))) return false;
  if (s.size() == 2) return true;
  const char c = s[2];
  return c == '/' || c == '\\' || c == '?' || c == '#';
}

bool EqualsIgnoreCaseAscii(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsSingleDotSegment(absl::string_view s) { return s == "." || EqualsIgnoreCaseAscii(s, "%2e"); }
bool IsDoubleDotSegment(absl::string_view s) {
  return s == ".." || EqualsIgnoreCaseAscii(s, ".%2e") || EqualsIgnoreCaseAscii(s, "%2e.") ||
         EqualsIgnoreCaseAscii(s, "%2e%2e");
}

}  // namespace

// UrlBuilder runs the basic URL parser, writing the serialisation straight into the new Url's
// href_ and recording component offsets as it goes. The state machine follows the standard's
// states one for one; "buffer"s that the standard keeps are either ranges of the input or
// are written to href_ directly and inspected in place.
class UrlBuilder {
 public:
  // `buffer`'s capacity becomes the serialisation's (its contents are dropped).
  UrlBuilder(absl::string_view input, const Url* base, std::string buffer = {})
      : input_(input), base_(base) {
    url_.href_ = std::move(buffer);
    url_.href_.clear();
  }

  ParseError Run();
  Url& url() { return url_; }

  // Appends the query-state encoding of `query` (valid UTF-8) for a URL of this kind.
  static void AppendQuery(absl::string_view query, bool special, std::string* out) {
    internal::AppendPercentEncoded(query,
                                   special ? internal::kSpecialQuerySet : internal::kQuerySet, out);
  }

 private:
  enum class State : uint8_t {
    kSchemeStart,
    kScheme,
    kNoScheme,
    kSpecialRelativeOrAuthority,
    kPathOrAuthority,
    kRelative,
    kRelativeSlash,
    kSpecialAuthoritySlashes,
    kSpecialAuthorityIgnoreSlashes,
    kAuthority,
    kHost,
    kPort,
    kFile,
    kFileSlash,
    kFileHost,
    kPathStart,
    kPath,
    kOpaquePath,
    kQuery,
    kFragment,
  };

  static constexpr int kEof = -1;

  int At(ptrdiff_t i) const {
    return (i >= 0 && static_cast<size_t>(i) < input_.size())
               ? static_cast<unsigned char>(input_[static_cast<size_t>(i)])
               : kEof;
  }
  // The "remaining" substring after the current code point.
  absl::string_view Remaining(ptrdiff_t p) const {
    const auto next = static_cast<size_t>(p + 1);
    return next <= input_.size() ? input_.substr(next) : absl::string_view();
  }
  std::string& out() { return url_.href_; }
  uint32_t Pos() const { return static_cast<uint32_t>(url_.href_.size()); }
  bool IsFile() const { return scheme_type_ == SchemeType::kFile; }

  void SetScheme(absl::string_view lower_scheme) {
    scheme_type_ = ClassifyScheme(lower_scheme);
    url_.special_ = scheme_type_ != SchemeType::kNotSpecial;
  }
  // Writes base's scheme and ':' (the output is empty at that point).
  void CopyBaseScheme() {
    out().append(base_->href_, 0, base_->scheme_end_ + 1);
    url_.scheme_end_ = base_->scheme_end_;
    SetScheme(base_->scheme());
  }
  // Copies base's username, password, host and port ("//...", if base has a host).
  void CopyBaseAuthority();
  // Copies base's path, then base's query when `with_query`.
  void CopyBasePath();
  void CopyBaseQuery();
  void BeginPath() { url_.path_begin_ = Pos(); }
  void EndPath() { url_.path_end_ = Pos(); }
  void StartQuery() {
    EndPath();
    out().push_back('?');
    url_.has_query_ = true;
    url_.query_begin_ = Pos();
  }
  void StartFragment() {
    if (url_.has_query_) {
      url_.query_end_ = Pos();
    } else {
      EndPath();
    }
    out().push_back('#');
    url_.has_fragment_ = true;
    url_.fragment_begin_ = Pos();
  }
  void ShortenPath();
  ParseError FinishAuthorityCredentials();
  ParseError ParseHostInto(absl::string_view host_input);
  void Finalize();

  absl::string_view input_;
  const Url* base_;
  Url url_;
  SchemeType scheme_type_ = SchemeType::kNotSpecial;
  bool has_host_ = false;             // url's host is non-null
  bool password_token_seen_ = false;  // authority state
};

void UrlBuilder::CopyBaseAuthority() {
  const Url& b = *base_;
  const uint32_t begin = b.scheme_end_ + 1;
  const uint32_t end = b.port_end_;
  const auto delta = static_cast<int64_t>(Pos()) - static_cast<int64_t>(begin);
  out().append(b.href_, begin, end - begin);
  auto shift = [delta](uint32_t v) { return static_cast<uint32_t>(v + delta); };
  url_.username_begin_ = shift(b.username_begin_);
  url_.username_end_ = shift(b.username_end_);
  url_.password_begin_ = shift(b.password_begin_);
  url_.password_end_ = shift(b.password_end_);
  url_.host_begin_ = shift(b.host_begin_);
  url_.host_end_ = shift(b.host_end_);
  url_.port_begin_ = shift(b.port_begin_);
  url_.port_end_ = shift(b.port_end_);
  url_.port_value_ = b.port_value_;
  url_.host_type_ = b.host_type_;
  has_host_ = b.host_type_ != HostType::kNone;
}

void UrlBuilder::CopyBasePath() {
  BeginPath();
  out().append(base_->href_, base_->path_begin_, base_->path_end_ - base_->path_begin_);
  url_.opaque_path_ = base_->opaque_path_;
}

void UrlBuilder::CopyBaseQuery() {
  if (!base_->has_query_) return;
  StartQuery();
  Append(&out(), base_->query());
  url_.query_end_ = Pos();
}

// "Shorten url's path": remove the last segment unless it is the only one and is a normalized
// Windows drive letter of a file URL.
void UrlBuilder::ShortenPath() {
  std::string& href = out();
  const absl::string_view path = absl::string_view(href).substr(url_.path_begin_);
  if (path.empty()) return;
  const size_t last_slash = path.rfind('/');
  if (IsFile() && last_slash == 0 && IsNormalizedWindowsDriveLetter(path.substr(1))) return;
  href.resize(url_.path_begin_ + last_slash);
}

ParseError UrlBuilder::ParseHostInto(absl::string_view host_input) {
  url_.host_begin_ = Pos();
  HostType type = HostType::kNone;
  const HostError error = internal::ParseHost(host_input, !url_.special_, &out(), &type);
  if (error != HostError::kNone) return FromHostError(error);
  url_.host_type_ = type;
  url_.host_end_ = Pos();
  has_host_ = true;
  return ParseError::kNone;
}

ParseError UrlBuilder::Run() {
  State state = State::kSchemeStart;
  const auto n = static_cast<ptrdiff_t>(input_.size());
  ptrdiff_t p = 0;
  // Authority and host states: start of the pending buffer in input_.
  ptrdiff_t buffer_begin = 0;
  bool at_sign_seen = false;
  // Host state.
  bool inside_brackets = false;
  // Port state.
  uint32_t port = 0;
  bool port_digits = false;
  // Path state: whether a segment is open in href_ and where its '/' is.
  bool segment_open = false;
  size_t segment_begin = 0;

  out().reserve(input_.size() + 16);

  for (;; ++p) {
    const int c = At(p);
    switch (state) {
      case State::kSchemeStart:
        if (c != kEof && IsAsciiAlpha(static_cast<char>(c))) {
          state = State::kScheme;
          buffer_begin = p;
        } else {
          state = State::kNoScheme;
          --p;
        }
        break;

      case State::kScheme:
        if (c != kEof &&
            (IsAsciiAlphanumeric(static_cast<char>(c)) || c == '+' || c == '-' || c == '.')) {
          break;
        }
        if (c == ':') {
          for (ptrdiff_t i = buffer_begin; i < p; ++i) {
            out().push_back(AsciiLower(input_[static_cast<size_t>(i)]));
          }
          url_.scheme_end_ = Pos();
          out().push_back(':');
          SetScheme(url_.scheme());
          if (IsFile()) {
            state = State::kFile;
          } else if (url_.special_ && base_ != nullptr && base_->scheme() == url_.scheme()) {
            state = State::kSpecialRelativeOrAuthority;
          } else if (url_.special_) {
            state = State::kSpecialAuthoritySlashes;
          } else if (At(p + 1) == '/') {
            state = State::kPathOrAuthority;
            ++p;
          } else {
            url_.opaque_path_ = true;
            BeginPath();
            state = State::kOpaquePath;
          }
        } else {
          state = State::kNoScheme;
          p = -1;
        }
        break;

      case State::kNoScheme:
        if (base_ == nullptr || (base_->opaque_path_ && c != '#')) {
          return ParseError::kMissingScheme;
        }
        CopyBaseScheme();
        if (base_->opaque_path_ && c == '#') {
          CopyBaseAuthority();  // a no-op: opaque-path URLs have no host
          CopyBasePath();
          CopyBaseQuery();
          StartFragment();
          state = State::kFragment;
        } else if (!IsFile()) {
          state = State::kRelative;
          --p;
        } else {
          state = State::kFile;
          --p;
        }
        break;

      case State::kSpecialRelativeOrAuthority:
        if (c == '/' && At(p + 1) == '/') {
          state = State::kSpecialAuthorityIgnoreSlashes;
          ++p;
        } else {
          state = State::kRelative;
          --p;
        }
        break;

      case State::kPathOrAuthority:
        if (c == '/') {
          out().append("//");
          state = State::kAuthority;
          buffer_begin = p + 1;
          url_.username_begin_ = Pos();
        } else {
          state = State::kPath;
          BeginPath();
          --p;
        }
        break;

      case State::kRelative:
        if (c == '/' || (url_.special_ && c == '\\')) {
          state = State::kRelativeSlash;
        } else {
          CopyBaseAuthority();
          CopyBasePath();
          if (c == '?') {
            StartQuery();
            state = State::kQuery;
          } else if (c == '#') {
            CopyBaseQuery();
            StartFragment();
            state = State::kFragment;
          } else if (c != kEof) {
            ShortenPath();
            state = State::kPath;
            --p;
          } else {
            CopyBaseQuery();
          }
        }
        break;

      case State::kRelativeSlash:
        if (url_.special_ && (c == '/' || c == '\\')) {
          state = State::kSpecialAuthorityIgnoreSlashes;
        } else if (c == '/') {
          out().append("//");
          state = State::kAuthority;
          buffer_begin = p + 1;
          url_.username_begin_ = Pos();
        } else {
          CopyBaseAuthority();
          BeginPath();
          state = State::kPath;
          --p;
        }
        break;

      case State::kSpecialAuthoritySlashes:
        state = State::kSpecialAuthorityIgnoreSlashes;
        if (c == '/' && At(p + 1) == '/') {
          ++p;
        } else {
          --p;
        }
        break;

      case State::kSpecialAuthorityIgnoreSlashes:
        if (c != '/' && c != '\\') {
          out().append("//");
          state = State::kAuthority;
          buffer_begin = p;
          url_.username_begin_ = Pos();
          --p;
        }
        break;

      case State::kAuthority:
        if (c == '@') {
          // The buffer [buffer_begin, p) holds credentials; append them to username/password.
          if (at_sign_seen) {
            out().append("%40");
          }
          at_sign_seen = true;
          url_.saw_userinfo_delimiter_ = true;
          for (ptrdiff_t i = buffer_begin; i < p; ++i) {
            const char ch = input_[static_cast<size_t>(i)];
            if (ch == ':' && !password_token_seen_) {
              password_token_seen_ = true;
              url_.username_end_ = Pos();
              out().push_back(':');
              url_.password_begin_ = Pos();
              continue;
            }
            AppendEncoded(static_cast<unsigned char>(ch), internal::kUserinfoSet, &out());
          }
          buffer_begin = p + 1;
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (url_.special_ && c == '\\')) {
          if (at_sign_seen && buffer_begin == p) return ParseError::kInvalidCredentials;
          const ParseError error = FinishAuthorityCredentials();
          if (error != ParseError::kNone) return error;
          p = buffer_begin - 1;
          state = State::kHost;
        }
        break;

      case State::kHost:
        if (c == ':' && !inside_brackets) {
          if (buffer_begin == p) return ParseError::kMissingHost;
          const ParseError error = ParseHostInto(input_.substr(
              static_cast<size_t>(buffer_begin), static_cast<size_t>(p - buffer_begin)));
          if (error != ParseError::kNone) return error;
          state = State::kPort;
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (url_.special_ && c == '\\')) {
          if (url_.special_ && buffer_begin == p) return ParseError::kMissingHost;
          const ParseError error = ParseHostInto(input_.substr(
              static_cast<size_t>(buffer_begin), static_cast<size_t>(p - buffer_begin)));
          if (error != ParseError::kNone) return error;
          url_.port_begin_ = url_.port_end_ = Pos();
          state = State::kPathStart;
          --p;
        } else {
          if (c == '[') inside_brackets = true;
          if (c == ']') inside_brackets = false;
        }
        break;

      case State::kPort:
        if (c != kEof && IsAsciiDigit(static_cast<char>(c))) {
          port = port * 10 + static_cast<uint32_t>(c - '0');
          if (port > 65535) return ParseError::kInvalidPort;
          port_digits = true;
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (url_.special_ && c == '\\')) {
          url_.port_begin_ = url_.port_end_ = Pos();
          if (port_digits && static_cast<int>(port) != DefaultPort(scheme_type_)) {
            out().push_back(':');
            url_.port_begin_ = Pos();
            out().append(std::to_string(port));
            url_.port_end_ = Pos();
            url_.port_value_ = static_cast<int32_t>(port);
          }
          state = State::kPathStart;
          --p;
        } else {
          return ParseError::kInvalidPort;
        }
        break;

      case State::kFile:
        // url's host is the empty string unless it comes from the input or base.
        out().append("//");
        url_.username_begin_ = url_.username_end_ = url_.password_begin_ = url_.password_end_ =
            url_.host_begin_ = url_.host_end_ = url_.port_begin_ = url_.port_end_ = Pos();
        url_.host_type_ = HostType::kEmpty;
        has_host_ = true;
        if (c == '/' || c == '\\') {
          state = State::kFileSlash;
        } else if (base_ != nullptr && base_->scheme() == "file") {
          out().resize(url_.scheme_end_ + 1);
          CopyBaseAuthority();
          CopyBasePath();
          if (c == '?') {
            StartQuery();
            state = State::kQuery;
          } else if (c == '#') {
            CopyBaseQuery();
            StartFragment();
            state = State::kFragment;
          } else if (c != kEof) {
            if (!StartsWithWindowsDriveLetter(input_.substr(static_cast<size_t>(p)))) {
              ShortenPath();
            } else {
              out().resize(url_.path_begin_);
            }
            state = State::kPath;
            --p;
          } else {
            CopyBaseQuery();
          }
        } else {
          BeginPath();
          state = State::kPath;
          --p;
        }
        break;

      case State::kFileSlash:
        if (c == '/' || c == '\\') {
          state = State::kFileHost;
          buffer_begin = p + 1;
        } else {
          if (base_ != nullptr && base_->scheme() == "file") {
            out().resize(url_.scheme_end_ + 1);
            CopyBaseAuthority();
            BeginPath();
            const absl::string_view rest =
                p < n ? input_.substr(static_cast<size_t>(p)) : absl::string_view();
            const absl::string_view base_path = base_->pathname();
            // base's path[0] is the text between the first and second '/'.
            if (!StartsWithWindowsDriveLetter(rest) && base_path.size() >= 3 &&
                base_path[0] == '/' && IsNormalizedWindowsDriveLetter(base_path.substr(1, 2)) &&
                (base_path.size() == 3 || base_path[3] == '/')) {
              Append(&out(), base_path.substr(0, 3));
            }
          } else {
            BeginPath();
          }
          state = State::kPath;
          --p;
        }
        break;

      case State::kFileHost:
        if (c == kEof || c == '/' || c == '\\' || c == '?' || c == '#') {
          --p;
          const absl::string_view buffer = input_.substr(static_cast<size_t>(buffer_begin),
                                                         static_cast<size_t>(p + 1 - buffer_begin));
          if (IsWindowsDriveLetter(buffer)) {
            // The drive-letter quirk: the buffer becomes the first path segment.
            BeginPath();
            segment_begin = Pos();
            out().push_back('/');
            Append(&out(), buffer);
            segment_open = true;
            state = State::kPath;
          } else if (buffer.empty()) {
            state = State::kPathStart;
          } else {
            const ParseError error = ParseHostInto(buffer);
            if (error != ParseError::kNone) return error;
            if (url_.host() == "localhost") {
              out().resize(url_.host_begin_);
              url_.host_end_ = url_.host_begin_;
              url_.host_type_ = HostType::kEmpty;
            }
            url_.port_begin_ = url_.port_end_ = Pos();
            state = State::kPathStart;
          }
        }
        break;

      case State::kPathStart:
        if (url_.special_) {
          BeginPath();
          state = State::kPath;
          if (c != '/' && c != '\\') --p;
        } else if (c == '?') {
          BeginPath();
          StartQuery();
          state = State::kQuery;
        } else if (c == '#') {
          BeginPath();
          StartFragment();
          state = State::kFragment;
        } else if (c != kEof) {
          BeginPath();
          state = State::kPath;
          if (c != '/') --p;
        } else {
          BeginPath();
        }
        break;

      case State::kPath: {
        if (!segment_open) {
          segment_begin = out().size();
          out().push_back('/');
          segment_open = true;
        }
        const bool slash = c == '/' || (url_.special_ && c == '\\');
        if (slash || c == kEof || c == '?' || c == '#') {
          std::string& href = out();
          const absl::string_view segment = absl::string_view(href).substr(segment_begin + 1);
          if (IsDoubleDotSegment(segment)) {
            href.resize(segment_begin);
            ShortenPath();
            if (!slash) href.push_back('/');
          } else if (IsSingleDotSegment(segment)) {
            href.resize(segment_begin);
            if (!slash) href.push_back('/');
          } else if (IsFile() && segment_begin == url_.path_begin_ &&
                     IsWindowsDriveLetter(segment)) {
            href[segment_begin + 2] = ':';
          }
          segment_open = false;
          if (c == '?') {
            StartQuery();
            state = State::kQuery;
          } else if (c == '#') {
            StartFragment();
            state = State::kFragment;
          }
        } else {
          AppendEncoded(static_cast<unsigned char>(c), internal::kPathSet, &out());
        }
        break;
      }

      case State::kOpaquePath:
        if (c == '?') {
          StartQuery();
          state = State::kQuery;
        } else if (c == '#') {
          StartFragment();
          state = State::kFragment;
        } else if (c == ' ') {
          const int next = At(p + 1);
          if (next == '?' || next == '#') {
            out().append("%20");
          } else {
            out().push_back(' ');
          }
        } else if (c != kEof) {
          AppendEncoded(static_cast<unsigned char>(c), internal::kC0ControlSet, &out());
        }
        break;

      case State::kQuery: {
        // Encode the run up to '#' or the end in one go.
        const auto begin = static_cast<size_t>(p < n ? p : n);
        size_t end = input_.find('#', begin);
        if (end == absl::string_view::npos) end = input_.size();
        AppendQuery(input_.substr(begin, end - begin), url_.special_, &out());
        url_.query_end_ = Pos();
        p = static_cast<ptrdiff_t>(end);
        if (p < n) {
          StartFragment();
          state = State::kFragment;
        } else {
          p = n;
        }
        break;
      }

      case State::kFragment: {
        const auto begin = static_cast<size_t>(p < n ? p : n);
        internal::AppendPercentEncoded(input_.substr(begin), internal::kFragmentSet, &out());
        p = n;
        break;
      }
    }
    if (p >= n) break;
  }
  Finalize();
  if (out().size() > UINT32_MAX) return ParseError::kTooLong;
  return ParseError::kNone;
}

// Called when the authority state hands over to the host state: closes the username and
// password that were written as they were seen, and drops the parts the serialiser omits.
ParseError UrlBuilder::FinishAuthorityCredentials() {
  std::string& href = out();
  if (!password_token_seen_) {
    url_.username_end_ = Pos();
    url_.password_begin_ = url_.password_end_ = Pos();
  } else {
    url_.password_end_ = Pos();
    if (url_.password_begin_ == url_.password_end_) {
      href.resize(url_.username_end_);  // drop the ':' of an empty password
      url_.password_begin_ = url_.password_end_ = url_.username_end_;
    }
  }
  if (url_.username_end_ != url_.username_begin_ || url_.password_end_ != url_.password_begin_) {
    href.push_back('@');
  }
  return ParseError::kNone;
}

void UrlBuilder::Finalize() {
  if (!url_.has_query_ && !url_.has_fragment_) EndPath();
  if (url_.has_query_ && !url_.has_fragment_) url_.query_end_ = Pos();
  if (!url_.has_query_) url_.query_begin_ = url_.query_end_ = url_.path_end_;
  if (!url_.has_fragment_) url_.fragment_begin_ = Pos();
  if (!has_host_) {
    const uint32_t at = url_.scheme_end_ + 1;
    url_.username_begin_ = url_.username_end_ = url_.password_begin_ = url_.password_end_ =
        url_.host_begin_ = url_.host_end_ = url_.port_begin_ = url_.port_end_ = at;
    url_.host_type_ = HostType::kNone;
    url_.port_value_ = -1;
    // A host-less URL whose path starts with an empty segment gets "/." so that the path
    // cannot be re-read as an authority.
    if (!url_.opaque_path_ && url_.path_end_ - url_.path_begin_ >= 2 &&
        url_.href_[url_.path_begin_] == '/' && url_.href_[url_.path_begin_ + 1] == '/') {
      url_.href_.insert(url_.path_begin_, "/.");
      url_.path_begin_ += 2;
      url_.path_end_ += 2;
      url_.query_begin_ += 2;
      url_.query_end_ += 2;
      url_.fragment_begin_ += 2;
    }
  }
}

absl::StatusOr<Url> Url::Parse(absl::string_view input, const Url* base) {
  Url url;
  if (absl::Status s = ParseInto(input, &url, base); !s.ok()) return s;
  return url;
}

absl::Status Url::ParseInto(absl::string_view input, Url* out, const Url* base) {
  // Inputs whose serialisation could not be indexed with 32-bit offsets are refused up front
  // (percent-encoding at most triples the length).
  if (input.size() > (uint32_t{1} << 30)) {
    *out = Url();
    return ToStatus(ParseError::kTooLong);
  }
  std::string decoded;
  if (!internal::IsValidUtf8(input)) {
    // The input is decoded as UTF-8 (ill-formed sequences become U+FFFD) before parsing, as a
    // browser decodes a document before it parses the URLs in it.
    internal::AppendUtf8Replacing(input, &decoded);
    input = decoded;
  }
  while (!input.empty() && IsC0ControlOrSpace(input.front())) input.remove_prefix(1);
  while (!input.empty() && IsC0ControlOrSpace(input.back())) input.remove_suffix(1);
  std::string stripped;
  for (char c : input) {
    if (IsTabOrNewline(c)) {
      stripped.reserve(input.size());
      for (char d : input) {
        if (!IsTabOrNewline(d)) stripped.push_back(d);
      }
      input = stripped;
      break;
    }
  }
  UrlBuilder builder(input, base, std::move(out->href_));
  const ParseError error = builder.Run();
  if (error != ParseError::kNone) {
    *out = Url();
    return ToStatus(error);
  }
  *out = std::move(builder.url());
  return absl::OkStatus();
}

absl::string_view Url::href() const { return href_; }

absl::string_view Url::scheme() const { return absl::string_view(href_).substr(0, scheme_end_); }

std::string Url::protocol() const {
  std::string result(scheme());
  result.push_back(':');
  return result;
}

absl::string_view Url::username() const {
  return absl::string_view(href_).substr(username_begin_, username_end_ - username_begin_);
}

absl::string_view Url::password() const {
  return absl::string_view(href_).substr(password_begin_, password_end_ - password_begin_);
}

bool Url::has_credentials() const {
  return username_end_ != username_begin_ || password_end_ != password_begin_;
}

bool Url::saw_userinfo_delimiter() const { return saw_userinfo_delimiter_; }

HostType Url::host_type() const { return host_type_; }

absl::string_view Url::hostname() const {
  return absl::string_view(href_).substr(host_begin_, host_end_ - host_begin_);
}

std::string Url::host() const {
  std::string result(hostname());
  if (port_end_ != port_begin_) {
    result.push_back(':');
    Append(&result, port());
  }
  return result;
}

absl::string_view Url::port() const {
  return absl::string_view(href_).substr(port_begin_, port_end_ - port_begin_);
}

int Url::effective_port() const {
  if (port_value_ >= 0) return port_value_;
  return DefaultPort(ClassifyScheme(scheme()));
}

absl::string_view Url::pathname() const {
  return absl::string_view(href_).substr(path_begin_, path_end_ - path_begin_);
}

absl::string_view Url::search() const {
  if (!has_query_ || query_end_ == query_begin_) return {};
  return absl::string_view(href_).substr(query_begin_ - 1, query_end_ - query_begin_ + 1);
}

absl::string_view Url::hash() const {
  if (!has_fragment_ || fragment_begin_ == href_.size()) return {};
  return absl::string_view(href_).substr(fragment_begin_ - 1);
}

bool Url::has_query() const { return has_query_; }

bool Url::has_fragment() const { return has_fragment_; }

absl::string_view Url::query() const {
  return absl::string_view(href_).substr(query_begin_, query_end_ - query_begin_);
}

absl::string_view Url::fragment() const {
  if (!has_fragment_) return {};
  return absl::string_view(href_).substr(fragment_begin_);
}

bool Url::is_special() const { return special_; }

bool Url::has_opaque_path() const { return opaque_path_; }

std::string Url::origin() const {
  const SchemeType type = ClassifyScheme(scheme());
  switch (type) {
    case SchemeType::kHttp:
    case SchemeType::kHttps:
    case SchemeType::kWs:
    case SchemeType::kWss:
    case SchemeType::kFtp: {
      std::string result;
      result.reserve(port_end_);
      Append(&result, scheme());
      result.append("://");
      Append(&result, hostname());
      if (port_end_ != port_begin_) {
        result.push_back(':');
        Append(&result, port());
      }
      return result;
    }
    case SchemeType::kFile:
      return "null";  // implementation-defined; an opaque origin, as browsers do
    case SchemeType::kNotSpecial:
      break;
  }
  if (scheme() == "blob") {
    // A blob URL's origin is that of the URL in its path, when that is http(s).
    const absl::StatusOr<Url> inner = Parse(pathname());
    if (inner.ok() && (inner->scheme() == "http" || inner->scheme() == "https")) {
      return inner->origin();
    }
  }
  return "null";
}

Url Url::WithQuery(absl::string_view query) const {
  Url result;
  WithQueryInto(query, &result);
  return result;
}

void Url::WithQueryInto(absl::string_view query, Url* out) const {
  *out = *this;  // std::string's copy-assignment keeps out's buffer when it is large enough
  Url& result = *out;
  std::string& href = result.href_;
  href.resize(path_end_);
  std::string valid;
  if (!internal::IsValidUtf8(query)) {
    internal::AppendUtf8Replacing(query, &valid);
    query = valid;
  }
  href.reserve(path_end_ + 1 + query.size() +
               (has_fragment_ ? href_.size() - fragment_begin_ + 1 : 0));
  href.push_back('?');
  result.has_query_ = true;
  result.query_begin_ = static_cast<uint32_t>(href.size());
  UrlBuilder::AppendQuery(query, special_, &href);
  result.query_end_ = static_cast<uint32_t>(href.size());
  if (has_fragment_) {
    href.push_back('#');
    result.fragment_begin_ = static_cast<uint32_t>(href.size());
    Append(&href, fragment());
  } else {
    result.fragment_begin_ = static_cast<uint32_t>(href.size());
  }
}

absl::StatusOr<std::string> DomainToAscii(absl::string_view domain) {
  std::string result;
  switch (internal::AppendDomainToAscii(domain, &result)) {
    case HostError::kNone:
      return result;
    case HostError::kForbiddenCodePoint:
      return absl::InvalidArgumentError("invalid domain: forbidden code point");
    default:
      return absl::InvalidArgumentError("invalid domain");
  }
}

bool IsLoopback(const Url& url) {
  switch (url.host_type()) {
    case HostType::kDomain:
      return url.hostname() == "localhost";
    case HostType::kIPv4:
      return url.hostname() == "127.0.0.1";
    case HostType::kIPv6:
      return url.hostname() == "[::1]";
    default:
      return false;
  }
}

void AppendComponentEncoded(absl::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(ch);
    } else {
      const char triplet[3] = {'%', kHex[c >> 4], kHex[c & 0xF]};
      out->append(triplet, 3);
    }
  }
}

}  // namespace logout::url

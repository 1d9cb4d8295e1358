#include "service/policy/allow_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace logout::policy {
namespace {

constexpr size_t kMaxEntryBytes = 2048;
// Stands in for '*' while a wildcard entry is parsed; LDH and unchanged by IDNA.
constexpr absl::string_view kPlaceholder = "wildcardplaceholder0";

bool IsLdh(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-'; }

bool IsHttpScheme(absl::string_view scheme) { return scheme == "http" || scheme == "https"; }

// The authority of an absolute "scheme://authority/..." entry, or empty.
absl::string_view RawAuthority(absl::string_view entry) {
  const size_t sep = entry.find("://");
  if (sep == absl::string_view::npos) return {};
  absl::string_view rest = entry.substr(sep + 3);
  const size_t end = rest.find_first_of("/?#\\");
  return rest.substr(0, end);
}

struct WildcardParts {
  std::string substituted;  // entry with '*' replaced by kPlaceholder
  std::string prefix;
  std::string suffix;
};

// Validates Auth0's wildcard grammar on the raw entry; returns a reason on failure.
std::optional<std::string> ParseWildcard(absl::string_view entry, WildcardParts& parts) {
  const size_t sep = entry.find("://");
  if (sep == absl::string_view::npos ||
      !IsHttpScheme(absl::AsciiStrToLower(entry.substr(0, sep)))) {
    return "a wildcard entry must start with http:// or https://";
  }
  const absl::string_view authority = RawAuthority(entry);
  const size_t star = authority.find('*');
  if (authority.find('*', star + 1) != absl::string_view::npos) {
    return "at most one '*' is allowed";
  }
  if (authority.find('@') != absl::string_view::npos) return "userinfo is not allowed";
  if (authority.find('[') != absl::string_view::npos) {
    return "the wildcard must be in a domain's left-most label";
  }
  const size_t host_end = authority.find(':');
  const absl::string_view host = authority.substr(0, host_end);
  if (star > host.size()) return "the wildcard must be in the host";
  const size_t first_dot = host.find('.');
  if (first_dot == absl::string_view::npos || star > first_dot) {
    return "the wildcard must be in the left-most host label";
  }
  const absl::string_view label = host.substr(0, first_dot);
  for (char c : label) {
    if (c != '*' && !IsLdh(c)) return "the wildcard label may only contain letters, digits and '-'";
  }
  const absl::string_view right = host.substr(first_dot + 1);
  std::vector<absl::string_view> labels = absl::StrSplit(right, '.');
  if (!right.empty() && right.back() == '.') labels.pop_back();
  if (labels.size() < 2 ||
      std::any_of(labels.begin(), labels.end(), [](absl::string_view l) { return l.empty(); })) {
    return "a wildcard needs at least two labels to its right";
  }
  const size_t label_star = label.find('*');
  parts.prefix = absl::AsciiStrToLower(label.substr(0, label_star));
  parts.suffix = absl::AsciiStrToLower(label.substr(label_star + 1));
  const size_t abs_star = static_cast<size_t>(authority.data() - entry.data()) + star;
  parts.substituted =
      absl::StrCat(entry.substr(0, abs_star), kPlaceholder, entry.substr(abs_star + 1));
  return std::nullopt;
}

bool HasControlOrSpace(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// Shared validation of a parsed entry (exact or wildcard).
std::optional<std::string> ValidateParsed(const url::Url& u) {
  if (!IsHttpScheme(u.scheme())) return "only http and https URLs are allowed";
  if (u.saw_userinfo_delimiter() || u.has_credentials()) return "userinfo is not allowed";
  if (u.has_fragment()) return "a fragment is not allowed";
  if (u.hostname().empty()) return "a host is required";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> AllowList::ValidateEntry(absl::string_view entry, Mode mode) {
  if (entry.empty()) return "empty entry";
  if (entry.size() > kMaxEntryBytes) return "entry exceeds 2048 bytes";
  if (HasControlOrSpace(entry)) return "control characters or spaces are not allowed";
  if (RawAuthority(entry).empty() && entry.find("://") == absl::string_view::npos) {
    return "not an absolute URL (a scheme such as https:// is required)";
  }
  const bool wildcard = RawAuthority(entry).find('*') != absl::string_view::npos;
  absl::StatusOr<url::Url> parsed;
  if (wildcard) {
    if (mode == Mode::kExact) return "wildcards are not allowed with EXACT matching";
    WildcardParts parts;
    if (auto err = ParseWildcard(entry, parts)) return err;
    parsed = url::Url::Parse(parts.substituted);
  } else {
    parsed = url::Url::Parse(entry);
  }
  if (!parsed.ok()) return "not a valid absolute URL";
  return ValidateParsed(*parsed);
}

absl::StatusOr<std::unique_ptr<AllowList>> AllowList::Create(
    const std::vector<std::string>& entries, Mode mode) {
  std::unique_ptr<AllowList> list(new AllowList(mode));
  list->entries_.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& raw = entries[i];
    auto invalid = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed_logout_urls[", i, "] \"", absl::CEscape(raw.substr(0, 256)), "\": ", why));
    };
    if (auto err = ValidateEntry(raw, mode)) return invalid(*err);
    Entry e;
    if (RawAuthority(raw).find('*') != absl::string_view::npos) {
      WildcardParts parts;
      ParseWildcard(raw, parts);
      absl::StatusOr<url::Url> parsed = url::Url::Parse(parts.substituted);
      if (!parsed.ok()) return invalid("not a valid absolute URL");
      if (!absl::StartsWith(parsed->hostname(),
                            absl::StrCat(parts.prefix, kPlaceholder, parts.suffix, "."))) {
        return invalid("the wildcard must be in the left-most host label");
      }
      e.url = *std::move(parsed);
      e.raw_if_not_href = raw;  // the href holds the placeholder, never the configured text
      e.label = std::make_unique<WildcardLabel>(
          WildcardLabel{std::move(parts.prefix), std::move(parts.suffix)});
    } else {
      absl::StatusOr<url::Url> parsed = url::Url::Parse(raw);
      if (!parsed.ok()) return invalid("not a valid absolute URL");
      e.url = *std::move(parsed);
      if (e.url.href() != raw) e.raw_if_not_href = raw;
    }
    list->entries_.push_back(std::move(e));
  }
  // Index only after the vector is final: keys are views into the entries.
  for (size_t i = 0; i < list->entries_.size(); ++i) {
    const Entry& e = list->entries_[i];
    if (mode == Mode::kExact) {
      list->raw_.try_emplace(e.raw(), i);
    } else if (e.wildcard()) {
      const absl::string_view host = e.url.hostname();
      const Key key{e.url.scheme(), host.substr(host.find('.') + 1), e.url.effective_port(),
                    e.url.pathname()};
      list->wildcard_[key].push_back(i);
    } else {
      list->exact_.try_emplace(
          Key{e.url.scheme(), e.url.hostname(), e.url.effective_port(), e.url.pathname()}, i);
    }
    if (!e.wildcard() && !list->default_entry_.has_value()) list->default_entry_ = i;
  }
  return list;
}

std::optional<size_t> AllowList::Match(const url::Url& target, absl::string_view raw_target) const {
  if (mode_ == Mode::kExact) {
    const auto it = raw_.find(raw_target);
    if (it == raw_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<size_t> best;
  const absl::string_view host = target.hostname();
  const Key key{target.scheme(), host, target.effective_port(), target.pathname()};
  if (const auto it = exact_.find(key); it != exact_.end()) best = it->second;
  if (!wildcard_.empty() && target.host_type() == url::HostType::kDomain) {
    const size_t dot = host.find('.');
    if (dot != absl::string_view::npos && dot > 0) {
      const absl::string_view label = host.substr(0, dot);
      const Key wkey{target.scheme(), host.substr(dot + 1), key.port, key.path};
      if (const auto it = wildcard_.find(wkey); it != wildcard_.end()) {
        const bool ldh = std::all_of(label.begin(), label.end(), IsLdh);
        for (const size_t i : it->second) {
          if (best.has_value() && *best < i) break;
          const Entry& e = entries_[i];
          const WildcardLabel& w = *e.label;
          if (ldh && label.size() > w.prefix.size() + w.suffix.size() &&
              absl::StartsWith(label, w.prefix) && absl::EndsWith(label, w.suffix)) {
            best = i;
            break;
          }
        }
      }
    }
  }
  return best;
}

}  // namespace logout::policy

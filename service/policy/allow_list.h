// A compiled Allowed Logout URLs list: entries parsed and validated once, matched many times by
// hash lookup on WHATWG URL components (never by string prefix or regex).
//
//   auto list = AllowList::Create({"https://app.example.com/bye", "https://*.example.com"},
//                                 AllowList::Mode::kAuth0);
//   std::optional<size_t> hit = (*list)->Match(*url::Url::Parse("https://x.example.com/"), raw);
#ifndef SERVICE_POLICY_ALLOW_LIST_H_
#define SERVICE_POLICY_ALLOW_LIST_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/url/url.h"

namespace logout::policy {

// AllowList is an ordered, immutable list of allowed redirect targets.
//
// Matching modes:
//  - kAuth0: scheme, host (lower-cased, IDNA, canonical IPs), effective port and path must be
//    equal; query and fragment of the target are ignored. Auth0 wildcards: one '*' in the
//    left-most host label of an entry, at least two labels to its right, optional prefix/suffix
//    inside the label; it matches exactly one non-empty run of LDH characters.
//  - kExact: the raw target must be byte-identical to an entry.
//
// Thread safety: immutable after Create; Match may be called concurrently.
class AllowList {
 public:
  enum class Mode { kAuth0, kExact };

  // The text around '*' in a wildcard entry's first host label.
  struct WildcardLabel {
    std::string prefix;
    std::string suffix;
  };
  // One entry, compact: the configured text is kept only when it differs from the parsed URL's
  // href (most entries are written canonically), and only wildcard entries carry their label.
  struct Entry {
    url::Url url;  // parsed (wildcard entries: with the '*' label replaced by a placeholder)
    std::string raw_if_not_href;
    std::unique_ptr<WildcardLabel> label;  // wildcard entries only

    // raw is the entry as configured.
    absl::string_view raw() const {
      return label == nullptr && raw_if_not_href.empty() ? absl::string_view(url.href())
                                                         : absl::string_view(raw_if_not_href);
    }
    bool wildcard() const { return label != nullptr; }
  };

  // ValidateEntry checks one entry for `mode` and returns a short reason when it is invalid:
  // not an absolute http(s) URL, userinfo, fragment, control characters or surrounding spaces,
  // over 2048 bytes, or a bad wildcard. Returns std::nullopt when valid.
  static std::optional<std::string> ValidateEntry(absl::string_view entry, Mode mode);

  // Create compiles `entries` in order. Returns InvalidArgumentError naming the first invalid
  // entry by index ("allowed_logout_urls[2] \"...\": wildcard must be in the left-most host
  // label").
  static absl::StatusOr<std::unique_ptr<AllowList>> Create(const std::vector<std::string>& entries,
                                                           Mode mode);

  AllowList(const AllowList&) = delete;
  AllowList& operator=(const AllowList&) = delete;

  // Match returns the index of the first entry that `target` matches, or std::nullopt. `target`
  // must be an http(s) URL without userinfo (the caller refuses others first); `raw_target` is
  // the undecoded input, used by kExact. Does not allocate.
  std::optional<size_t> Match(const url::Url& target, absl::string_view raw_target) const;

  // DefaultEntry returns the index of the first non-wildcard entry (the default logout target
  // when a client asks for none), or std::nullopt.
  std::optional<size_t> DefaultEntry() const { return default_entry_; }

  const Entry& entry(size_t i) const { return entries_[i]; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Mode mode() const { return mode_; }

 private:
  struct Key {
    absl::string_view scheme;
    absl::string_view host;
    int port;
    absl::string_view path;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.scheme, k.host, k.port, k.path);
    }
    friend bool operator==(const Key& a, const Key& b) {
      return a.port == b.port && a.host == b.host && a.path == b.path && a.scheme == b.scheme;
    }
  };

  explicit AllowList(Mode mode) : mode_(mode) {}

  Mode mode_;
  std::vector<Entry> entries_;
  std::optional<size_t> default_entry_;
  // kAuth0: exact entries by components -> first index.
  absl::flat_hash_map<Key, size_t> exact_;
  // kAuth0: wildcard entries by (scheme, host after the first label, port, path) -> indices.
  absl::flat_hash_map<Key, std::vector<size_t>> wildcard_;
  // kExact: raw entry -> first index.
  absl::flat_hash_map<absl::string_view, size_t> raw_;
};

}  // namespace logout::policy

#endif  // SERVICE_POLICY_ALLOW_LIST_H_

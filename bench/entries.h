// Deterministic allow-list entries and matching targets of realistic shape, shared by the
// benchmarks and the load test's policy (no benchmark-library dependency).
//
//   std::vector<std::string> entries = logout::bench::MakeEntries(1000);  // 10% wildcards
//   std::string target = logout::bench::ExactEntry(3);                    // matches entry 3
#ifndef BENCH_ENTRIES_H_
#define BENCH_ENTRIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace logout::bench {

// Every kWildcardEvery-th entry of MakeEntries is an Auth0 wildcard entry.
inline constexpr size_t kWildcardEvery = 10;

// IsWildcardEntry says whether MakeEntries(n)[i] is a wildcard entry.
inline bool IsWildcardEntry(size_t i) { return i % kWildcardEvery == kWildcardEvery - 1; }

// ExactEntry is the i-th exact entry: distinct host and path per i, 45-60 bytes, the shape of a
// real application's logout URL.
inline std::string ExactEntry(size_t i) {
  return absl::StrCat("https://app-", i, ".tenant-", i % 1000, ".example.com/auth/logout/", i % 7,
                      "/done");
}

// WildcardEntry is the i-th wildcard entry ("https://pr-*.w<i>.example.com/callback").
inline std::string WildcardEntry(size_t i) {
  return absl::StrCat("https://pr-*.w", i, ".example.com/callback");
}

// WildcardTarget is a URL that matches WildcardEntry(i) (and no exact entry).
inline std::string WildcardTarget(size_t i, size_t label) {
  return absl::StrCat("https://pr-", label, ".w", i, ".example.com/callback?x=1");
}

// MakeEntries returns `n` entries: ExactEntry(i), except every kWildcardEvery-th which is
// WildcardEntry(i) (when `wildcards`).
inline std::vector<std::string> MakeEntries(size_t n, bool wildcards = true) {
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(wildcards && IsWildcardEntry(i) ? WildcardEntry(i) : ExactEntry(i));
  }
  return out;
}

// SplitMix64: a tiny deterministic generator for picking targets.
inline uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FormEncode is an application/x-www-form-urlencoded value: RFC 3986 unreserved bytes literal,
// every other byte %XX.
inline std::string FormEncode(absl::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size() * 3);
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

}  // namespace logout::bench

#endif  // BENCH_ENTRIES_H_

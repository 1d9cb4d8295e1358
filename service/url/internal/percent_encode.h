// Percent-encode sets and the small byte-level helpers of the URL Standard
// (https://url.spec.whatwg.org/#percent-encoded-bytes).
//
//   std::string out;
//   AppendPercentEncoded("a b", kPathSet, &out);  // out == "a%20b"
//
// Every set contains all bytes >= 0x7F, so encoding UTF-8 input byte by byte is the same as
// "UTF-8 percent-encode" of its code points.
#ifndef SERVICE_URL_INTERNAL_PERCENT_ENCODE_H_
#define SERVICE_URL_INTERNAL_PERCENT_ENCODE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace logout::url::internal {

// EncodeSet is a 256-bit membership table: a byte in the set is percent-encoded.
struct EncodeSet {
  std::array<uint64_t, 4> bits{};

  constexpr bool Contains(unsigned char c) const { return (bits[c >> 6] >> (c & 63)) & 1U; }
};

namespace encode_set_detail {
constexpr EncodeSet With(EncodeSet set, absl::string_view chars) {
  for (char ch : chars) {
    const auto c = static_cast<unsigned char>(ch);
    set.bits[c >> 6] |= uint64_t{1} << (c & 63);
  }
  return set;
}
constexpr EncodeSet C0ControlSet() {
  EncodeSet set;
  for (int c = 0; c < 256; ++c) {
    if (c <= 0x1F || c > 0x7E) set.bits[c >> 6] |= uint64_t{1} << (c & 63);
  }
  return set;
}
}  // namespace encode_set_detail

// The C0 control percent-encode set: C0 controls and everything above U+007E.
inline constexpr EncodeSet kC0ControlSet = encode_set_detail::C0ControlSet();
// The fragment percent-encode set.
inline constexpr EncodeSet kFragmentSet = encode_set_detail::With(kC0ControlSet, " \"<>`");
// The query percent-encode set.
inline constexpr EncodeSet kQuerySet = encode_set_detail::With(kC0ControlSet, " \"#<>");
// The special-query percent-encode set (query set plus ').
inline constexpr EncodeSet kSpecialQuerySet = encode_set_detail::With(kQuerySet, "'");
// The path percent-encode set.
inline constexpr EncodeSet kPathSet = encode_set_detail::With(kQuerySet, "?^`{}");
// The userinfo percent-encode set.
inline constexpr EncodeSet kUserinfoSet = encode_set_detail::With(kPathSet, "/:;=@[\\]|");

// AppendPercentEncodedByte appends "%XX" (upper-case hex) for `c`.
inline void AppendPercentEncodedByte(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char encoded[3] = {'%', kHex[c >> 4], kHex[c & 15]};
  out->append(encoded, 3);
}

// AppendEncoded appends `c`, percent-encoded if it is in `set`.
inline void AppendEncoded(unsigned char c, const EncodeSet& set, std::string* out) {
  if (set.Contains(c)) {
    AppendPercentEncodedByte(c, out);
  } else {
    out->push_back(static_cast<char>(c));
  }
}

// AppendPercentEncoded appends `input`, percent-encoding every byte that is in `set`.
void AppendPercentEncoded(absl::string_view input, const EncodeSet& set, std::string* out);

// PercentDecode returns `input` with every "%XX" (two hex digits) replaced by its byte; other
// '%' are kept as they are.
std::string PercentDecode(absl::string_view input);

// IsValidUtf8 is true when `input` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool IsValidUtf8(absl::string_view input);

// AppendUtf8Decoded appends `input` decoded as UTF-8 the way the Encoding Standard's decoder
// does (each maximal ill-formed subsequence becomes U+FFFD) and re-encoded as UTF-8.
void AppendUtf8Replacing(absl::string_view input, std::string* out);

// IsAsciiHexDigit and friends, without locale.
constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiAlpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool IsAsciiAlphanumeric(char c) { return IsAsciiDigit(c) || IsAsciiAlpha(c); }
constexpr bool IsAsciiHexDigit(char c) {
  return IsAsciiDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}
constexpr int HexValue(char c) { return IsAsciiDigit(c) ? c - '0' : ((c | 0x20) - 'a' + 10); }

}  // namespace logout::url::internal

#endif  // SERVICE_URL_INTERNAL_PERCENT_ENCODE_H_

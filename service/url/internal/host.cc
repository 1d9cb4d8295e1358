#include "service/url/internal/host.h"

#include <unicode/uidna.h>
#include <unicode/utypes.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "service/url/internal/percent_encode.h"

namespace logout::url::internal {
namespace {

// UTS #46 with the URL Standard's options. UseSTD3ASCIIRules is off (the URL Standard applies
// its own forbidden-code-point check afterwards); CheckHyphens and VerifyDnsLength are not ICU
// options: their error bits are masked out below.
const UIDNA* Uts46() {
  static const UIDNA* const idna_instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    UIDNA* idna =
        uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE |
                            UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ,
                        &status);
    return U_SUCCESS(status) ? idna : nullptr;
  }();
  return idna_instance;
}

// Error bits that the URL Standard's "domain to ASCII" with beStrict = false does not check:
// CheckHyphens = false (leading/trailing hyphen, "--" in positions 3-4) and
// VerifyDnsLength = false (empty labels, label and domain length). An empty *result* is still
// a failure, checked separately.
constexpr uint32_t kIgnoredErrors = UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN |
                                    UIDNA_ERROR_HYPHEN_3_4 | UIDNA_ERROR_EMPTY_LABEL |
                                    UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG;

bool StartsWithXn(absl::string_view label) {
  return label.size() >= 4 && AsciiLower(label[0]) == 'x' && AsciiLower(label[1]) == 'n' &&
         label[2] == '-' && label[3] == '-';
}

// AnyLabelStartsWithXn is true when a label of `domain` (split on '.') starts with "xn--" in
// any letter case.
bool AnyLabelStartsWithXn(absl::string_view domain) {
  size_t start = 0;
  while (true) {
    const size_t dot = domain.find('.', start);
    const absl::string_view label = domain.substr(
        start, dot == absl::string_view::npos ? absl::string_view::npos : dot - start);
    if (StartsWithXn(label)) return true;
    if (dot == absl::string_view::npos) return false;
    start = dot + 1;
  }
}

// Runs uidna_nameToASCII_UTF8 or uidna_nameToUnicode_UTF8 into `out`; returns the UIDNA error
// bits, or nullopt when ICU itself failed.
template <typename Fn>
std::optional<uint32_t> RunIcu(Fn fn, absl::string_view input, std::string* out) {
  const UIDNA* idna = Uts46();
  if (idna == nullptr || input.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return std::nullopt;
  }
  const auto length = static_cast<int32_t>(input.size());
  char stack_buffer[256];
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  UErrorCode status = U_ZERO_ERROR;
  int32_t written =
      fn(idna, input.data(), length, stack_buffer, sizeof(stack_buffer), &info, &status);
  if (status == U_BUFFER_OVERFLOW_ERROR && written > 0) {
    const size_t start = out->size();
    out->resize(start + static_cast<size_t>(written));
    info = UIDNA_INFO_INITIALIZER;
    status = U_ZERO_ERROR;
    const int32_t again =
        fn(idna, input.data(), length, out->data() + start, written, &info, &status);
    if (U_FAILURE(status) || again != written) return std::nullopt;
    return info.errors;
  }
  if (U_FAILURE(status)) return std::nullopt;
  out->append(stack_buffer, static_cast<size_t>(written));
  return info.errors;
}

// HasDecodedXnLabel is true when a punycode label of the ASCII domain `ascii` decodes to a label
// that itself starts with "xn--". UTS #46 (since Unicode 15.1) rejects that even with
// CheckHyphens = false; ICU 72 only reports it as a "--" in positions 3-4, which we mask.
bool HasDecodedXnLabel(absl::string_view ascii) {
  std::string unicode;
  if (!RunIcu(uidna_nameToUnicodeUTF8, ascii, &unicode).has_value()) return true;
  return AnyLabelStartsWithXn(unicode);
}

std::optional<uint64_t> ParseIPv4Number(absl::string_view input) {
  if (input.empty()) return std::nullopt;
  int radix = 10;
  if (input.size() >= 2 && input[0] == '0' && AsciiLower(input[1]) == 'x') {
    input.remove_prefix(2);
    radix = 16;
  } else if (input.size() >= 2 && input[0] == '0') {
    input.remove_prefix(1);
    radix = 8;
  }
  constexpr uint64_t kTooBig = uint64_t{1} << 33;  // any value above 2^32 fails the same way
  uint64_t value = 0;
  for (char c : input) {
    int digit;
    if (radix == 16) {
      if (!IsAsciiHexDigit(c)) return std::nullopt;
      digit = HexValue(c);
    } else {
      if (!IsAsciiDigit(c) || c - '0' >= radix) return std::nullopt;
      digit = c - '0';
    }
    value = value * static_cast<uint64_t>(radix) + static_cast<uint64_t>(digit);
    if (value > kTooBig) value = kTooBig;
  }
  return value;
}

}  // namespace

bool IsForbiddenHostCodePoint(unsigned char c) {
  switch (c) {
    case 0x00:
    case 0x09:
    case 0x0A:
    case 0x0D:
    case ' ':
    case '#':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '^':
    case '|':
      return true;
    default:
      return false;
  }
}

bool IsForbiddenDomainCodePoint(unsigned char c) {
  return IsForbiddenHostCodePoint(c) || c <= 0x1F || c == '%' || c == 0x7F;
}

bool EndsInANumber(absl::string_view input) {
  if (input.empty()) return false;
  if (input.back() == '.') input.remove_suffix(1);
  const size_t dot = input.rfind('.');
  const absl::string_view last = dot == absl::string_view::npos ? input : input.substr(dot + 1);
  if (!last.empty()) {
    bool all_digits = true;
    for (char c : last) all_digits = all_digits && IsAsciiDigit(c);
    if (all_digits) return true;
  }
  return ParseIPv4Number(last).has_value();
}

std::optional<uint32_t> ParseIPv4(absl::string_view input) {
  std::array<uint64_t, 4> numbers{};
  size_t count = 0;
  if (!input.empty() && input.back() == '.' && input.size() > 1) input.remove_suffix(1);
  size_t start = 0;
  while (true) {
    const size_t dot = input.find('.', start);
    const absl::string_view part =
        input.substr(start, dot == absl::string_view::npos ? absl::string_view::npos : dot - start);
    if (count == 4) return std::nullopt;
    const std::optional<uint64_t> n = ParseIPv4Number(part);
    if (!n.has_value()) return std::nullopt;
    numbers[count++] = *n;
    if (dot == absl::string_view::npos) break;
    start = dot + 1;
  }
  for (size_t i = 0; i + 1 < count; ++i) {
    if (numbers[i] > 255) return std::nullopt;
  }
  const uint64_t last = numbers[count - 1];
  if (last >= (uint64_t{1} << (8 * (5 - count)))) return std::nullopt;
  uint64_t ipv4 = last;
  for (size_t i = 0; i + 1 < count; ++i) ipv4 += numbers[i] << (8 * (3 - i));
  return static_cast<uint32_t>(ipv4);
}

std::optional<std::array<uint16_t, 8>> ParseIPv6(absl::string_view input) {
  std::array<uint16_t, 8> address{};
  int piece_index = 0;
  int compress = -1;
  size_t p = 0;
  const size_t n = input.size();
  auto at = [&](size_t i) -> int { return i < n ? static_cast<unsigned char>(input[i]) : -1; };

  if (at(p) == ':') {
    if (at(p + 1) != ':') return std::nullopt;
    p += 2;
    ++piece_index;
    compress = piece_index;
  }
  while (at(p) != -1) {
    if (piece_index == 8) return std::nullopt;
    if (at(p) == ':') {
      if (compress != -1) return std::nullopt;
      ++p;
      ++piece_index;
      compress = piece_index;
      continue;
    }
    uint32_t value = 0;
    int length = 0;
    while (length < 4 && at(p) != -1 && IsAsciiHexDigit(static_cast<char>(at(p)))) {
      value = value * 0x10 + static_cast<uint32_t>(HexValue(static_cast<char>(at(p))));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      if (length == 0) return std::nullopt;
      p -= static_cast<size_t>(length);
      if (piece_index > 6) return std::nullopt;
      int numbers_seen = 0;
      while (at(p) != -1) {
        int ipv4_piece = -1;
        if (numbers_seen > 0) {
          if (at(p) == '.' && numbers_seen < 4) {
            ++p;
          } else {
            return std::nullopt;
          }
        }
        if (at(p) == -1 || !IsAsciiDigit(static_cast<char>(at(p)))) return std::nullopt;
        while (at(p) != -1 && IsAsciiDigit(static_cast<char>(at(p)))) {
          const int number = at(p) - '0';
          if (ipv4_piece == -1) {
            ipv4_piece = number;
          } else if (ipv4_piece == 0) {
            return std::nullopt;
          } else {
            ipv4_piece = ipv4_piece * 10 + number;
          }
          if (ipv4_piece > 255) return std::nullopt;
          ++p;
        }
        address[piece_index] = static_cast<uint16_t>(address[piece_index] * 0x100 + ipv4_piece);
        ++numbers_seen;
        if (numbers_seen == 2 || numbers_seen == 4) ++piece_index;
      }
      if (numbers_seen != 4) return std::nullopt;
      break;
    }
    if (at(p) == ':') {
      ++p;
      if (at(p) == -1) return std::nullopt;
    } else if (at(p) != -1) {
      return std::nullopt;
    }
    address[piece_index] = static_cast<uint16_t>(value);
    ++piece_index;
  }
  if (compress != -1) {
    int swaps = piece_index - compress;
    piece_index = 7;
    while (piece_index != 0 && swaps > 0) {
      std::swap(address[piece_index], address[compress + swaps - 1]);
      --piece_index;
      --swaps;
    }
  } else if (piece_index != 8) {
    return std::nullopt;
  }
  return address;
}

void AppendIPv4(uint32_t address, std::string* out) {
  for (int i = 3; i >= 0; --i) {
    const unsigned byte = (address >> (8 * i)) & 0xFF;
    char digits[3];
    int len = 0;
    unsigned v = byte;
    do {
      digits[len++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (len > 0) out->push_back(digits[--len]);
    if (i != 0) out->push_back('.');
  }
}

void AppendIPv6(const std::array<uint16_t, 8>& address, std::string* out) {
  // The first longest run of two or more zero pieces is compressed.
  int compress = -1;
  int best_length = 1;
  for (int i = 0; i < 8;) {
    if (address[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && address[j] == 0) ++j;
    if (j - i > best_length) {
      best_length = j - i;
      compress = i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  bool ignore0 = false;
  for (int i = 0; i < 8; ++i) {
    if (ignore0 && address[i] == 0) continue;
    ignore0 = false;
    if (compress == i) {
      out->append(i == 0 ? "::" : ":");
      ignore0 = true;
      continue;
    }
    const unsigned piece = address[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (piece >> shift) & 0xF;
      if (nibble != 0 || started || shift == 0) {
        out->push_back(kHex[nibble]);
        started = true;
      }
    }
    if (i != 7) out->push_back(':');
  }
}

HostError AppendDomainToAscii(absl::string_view domain, std::string* out) {
  const size_t start = out->size();
  bool ascii = true;
  for (char c : domain) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    // ASCII domains are ASCII-lower-cased and not given to ICU, "xn--" labels included.
    // Without "xn--" labels this is the standard's fast path (ToASCII with these options is
    // lower-casing). With them, ToASCII either succeeds, giving the lower-cased input again,
    // or fails on invalid Punycode, in which case the URL Standard's fallback for ASCII
    // domains (whatwg/url#914, which the project's WPT data follows: "https://xn--/",
    // "http://a.b.c.xn--pokxncvks", toascii "xn--a") returns the lower-cased domain. Either
    // way the result is the lower-cased input; forbidden code points are checked below.
    out->reserve(start + domain.size());
    for (char c : domain) out->push_back(AsciiLower(c));
  } else {
    const std::optional<uint32_t> errors = RunIcu(uidna_nameToASCII_UTF8, domain, out);
    if (!errors.has_value() || (*errors & ~kIgnoredErrors) != 0) {
      return HostError::kInvalidDomain;
    }
    if ((*errors & UIDNA_ERROR_HYPHEN_3_4) != 0 &&
        HasDecodedXnLabel(absl::string_view(*out).substr(start))) {
      return HostError::kInvalidDomain;
    }
  }
  if (out->size() == start) return HostError::kInvalidDomain;
  for (size_t i = start; i < out->size(); ++i) {
    if (IsForbiddenDomainCodePoint(static_cast<unsigned char>((*out)[i]))) {
      return HostError::kForbiddenCodePoint;
    }
  }
  return HostError::kNone;
}

HostError ParseHost(absl::string_view input, bool is_opaque, std::string* out, HostType* type) {
  if (!input.empty() && input[0] == '[') {
    if (input.size() < 2 || input.back() != ']') return HostError::kInvalidIPv6;
    const auto address = ParseIPv6(input.substr(1, input.size() - 2));
    if (!address.has_value()) return HostError::kInvalidIPv6;
    out->push_back('[');
    AppendIPv6(*address, out);
    out->push_back(']');
    *type = HostType::kIPv6;
    return HostError::kNone;
  }
  if (is_opaque) {
    for (char c : input) {
      if (IsForbiddenHostCodePoint(static_cast<unsigned char>(c))) {
        return HostError::kForbiddenCodePoint;
      }
    }
    AppendPercentEncoded(input, kC0ControlSet, out);
    *type = input.empty() ? HostType::kEmpty : HostType::kOpaque;
    return HostError::kNone;
  }
  std::string decoded;
  absl::string_view domain = input;
  if (input.find('%') != absl::string_view::npos) {
    decoded = PercentDecode(input);
    domain = decoded;
  }
  const size_t start = out->size();
  const HostError error = AppendDomainToAscii(domain, out);
  if (error != HostError::kNone) return error;
  const absl::string_view ascii = absl::string_view(*out).substr(start);
  if (EndsInANumber(ascii)) {
    const std::optional<uint32_t> ipv4 = ParseIPv4(ascii);
    if (!ipv4.has_value()) return HostError::kInvalidIPv4;
    out->resize(start);
    AppendIPv4(*ipv4, out);
    *type = HostType::kIPv4;
    return HostError::kNone;
  }
  *type = HostType::kDomain;
  return HostError::kNone;
}

}  // namespace logout::url::internal

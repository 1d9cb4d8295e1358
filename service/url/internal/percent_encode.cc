#include "service/url/internal/percent_encode.h"

#include <cstddef>
#include <string>

namespace logout::url::internal {

void AppendPercentEncoded(absl::string_view input, const EncodeSet& set, std::string* out) {
  for (char ch : input) AppendEncoded(static_cast<unsigned char>(ch), set, out);
}

std::string PercentDecode(absl::string_view input) {
  std::string out;
  out.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '%' && i + 2 < input.size() && IsAsciiHexDigit(input[i + 1]) &&
        IsAsciiHexDigit(input[i + 2])) {
      out.push_back(static_cast<char>(HexValue(input[i + 1]) * 16 + HexValue(input[i + 2])));
      i += 2;
    } else {
      out.push_back(input[i]);
    }
  }
  return out;
}

namespace {

// DecodeOne decodes one code point at input[*pos] following the Encoding Standard's UTF-8
// decoder. Returns false (and advances past the maximal ill-formed subsequence) on error.
bool DecodeOne(absl::string_view input, size_t* pos) {
  const auto b0 = static_cast<unsigned char>(input[*pos]);
  ++*pos;
  if (b0 < 0x80) return true;
  int needed;
  unsigned char lower = 0x80;
  unsigned char upper = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    needed = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (b0 == 0xE0) lower = 0xA0;
    if (b0 == 0xED) upper = 0x9F;
    needed = 2;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (b0 == 0xF0) lower = 0x90;
    if (b0 == 0xF4) upper = 0x8F;
    needed = 3;
  } else {
    return false;
  }
  for (int i = 0; i < needed; ++i) {
    if (*pos >= input.size()) return false;
    const auto b = static_cast<unsigned char>(input[*pos]);
    if (b < lower || b > upper) return false;  // the byte is not consumed
    lower = 0x80;
    upper = 0xBF;
    ++*pos;
  }
  return true;
}

}  // namespace

bool IsValidUtf8(absl::string_view input) {
  size_t pos = 0;
  while (pos < input.size()) {
    if (static_cast<unsigned char>(input[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (!DecodeOne(input, &pos)) return false;
  }
  return true;
}

void AppendUtf8Replacing(absl::string_view input, std::string* out) {
  size_t pos = 0;
  while (pos < input.size()) {
    const size_t start = pos;
    if (DecodeOne(input, &pos)) {
      out->append(input.data() + start, pos - start);
    } else {
      out->append("\xEF\xBF\xBD");
    }
  }
}

}  // namespace logout::url::internal

#include "service/jwt/base64url.h"

#include <array>
#include <cstdint>

namespace logout::jwt {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kTable = MakeTable();

}  // namespace

std::optional<std::string> Base64UrlDecode(absl::string_view in) {
  std::string out;
  if (!Base64UrlDecodeTo(in, &out)) return std::nullopt;
  return out;
}

bool Base64UrlDecodeTo(absl::string_view in, std::string* decoded) {
  const size_t n = in.size();
  if (n % 4 == 1) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::string& out = *decoded;
  out.resize(n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  size_t i = 0;
  // Whole quanta: 4 characters -> 3 bytes; any invalid character makes `bad` negative.
  for (; i + 4 <= n; i += 4) {
    const int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]], d = kTable[p[i + 3]];
    if ((a | b | c | d) < 0) return false;
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    *o++ = static_cast<unsigned char>(v >> 16);
    *o++ = static_cast<unsigned char>(v >> 8);
    *o++ = static_cast<unsigned char>(v);
  }
  const size_t rest = n - i;
  if (rest == 2) {
    const int a = kTable[p[i]], b = kTable[p[i + 1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // canonical: unused bits zero
    *o = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;
    o[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
    o[1] = static_cast<unsigned char>(((b & 0x0f) << 4) | (c >> 2));
  }
  return true;
}

std::string Base64UrlEncode(absl::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace logout::jwt

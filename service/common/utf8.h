// UTF-8 encoding of one code point, shared by the project's JSON readers.
//
//   std::string s;
//   logout::common::AppendUtf8(0x20AC, &s);  // s == "\xE2\x82\xAC" (€)
#ifndef SERVICE_COMMON_UTF8_H_
#define SERVICE_COMMON_UTF8_H_

#include <cstdint>
#include <string>

namespace logout::common {

// AppendUtf8 appends the UTF-8 encoding of `code_point` (at most U+10FFFF; the caller has
// refused surrogates) to `out`.
inline void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace logout::common

#endif  // SERVICE_COMMON_UTF8_H_

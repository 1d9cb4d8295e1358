// Host parsing of the URL Standard (https://url.spec.whatwg.org/#host-parsing): domains (via
// UTS #46 domain-to-ASCII), IPv4 in all its number forms, IPv6 and opaque hosts. Each parser
// appends the host's serialisation to an output string so the URL can be built in one buffer.
//
//   std::string out;
//   HostType type;
//   HostError e = ParseHost("0x7f.1", /*is_opaque=*/false, &out, &type);
//   // e == HostError::kNone, out == "127.0.0.1", type == HostType::kIPv4
#ifndef SERVICE_URL_INTERNAL_HOST_H_
#define SERVICE_URL_INTERNAL_HOST_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "service/url/url.h"

namespace logout::url::internal {

// HostError names why a host failed to parse; kNone is success.
enum class HostError : uint8_t {
  kNone,
  kInvalidIPv6,    // bad IPv6 address or unclosed '['
  kInvalidIPv4,    // ends in a number but is not a valid IPv4 address
  kInvalidDomain,  // UTS #46 failure or empty result
  kForbiddenCodePoint,
};

// ParseHost runs the host parser over `input` (not yet percent-decoded) and appends the
// serialised host to `out`. On failure `out` may hold a partial host; the caller discards it.
HostError ParseHost(absl::string_view input, bool is_opaque, std::string* out, HostType* type);

// AppendDomainToAscii runs "domain to ASCII" (beStrict = false) over `domain` (already
// percent-decoded; any bytes) and appends the result, which is checked for forbidden domain
// code points and non-emptiness.
HostError AppendDomainToAscii(absl::string_view domain, std::string* out);

// ParseIPv4 runs the IPv4 parser. nullopt on failure.
std::optional<uint32_t> ParseIPv4(absl::string_view input);
// EndsInANumber is the "ends in a number" checker.
bool EndsInANumber(absl::string_view input);
// ParseIPv6 runs the IPv6 parser over the text between the brackets. nullopt on failure.
std::optional<std::array<uint16_t, 8>> ParseIPv6(absl::string_view input);

void AppendIPv4(uint32_t address, std::string* out);
// AppendIPv6 appends the IPv6 serialisation (without brackets), compressing the first longest
// run of two or more zero pieces.
void AppendIPv6(const std::array<uint16_t, 8>& address, std::string* out);

// IsForbiddenHostCodePoint / IsForbiddenDomainCodePoint per the standard (ASCII bytes only;
// non-ASCII bytes are never forbidden).
bool IsForbiddenHostCodePoint(unsigned char c);
bool IsForbiddenDomainCodePoint(unsigned char c);

}  // namespace logout::url::internal

#endif  // SERVICE_URL_INTERNAL_HOST_H_

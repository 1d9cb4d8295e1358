#include "service/policy/request_params.h"

#include <array>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"

namespace logout::policy {
namespace {

enum class Slot : uint8_t {
  kTarget,
  kClientId,
  kIdTokenHint,
  kLogoutHint,
  kState,
  kUiLocales,
  kFederated
};
constexpr size_t kSlotCount = 7;

struct ParamSpec {
  absl::string_view name;
  Slot slot;
  size_t max_bytes;
};

constexpr std::array<ParamSpec, 3> kV2Params = {{
    {"returnTo", Slot::kTarget, kMaxUrlBytes},
    {"client_id", Slot::kClientId, kMaxClientIdBytes},
    {"federated", Slot::kFederated, kMaxFederatedBytes},
}};

constexpr std::array<ParamSpec, 7> kOidcParams = {{
    {"post_logout_redirect_uri", Slot::kTarget, kMaxUrlBytes},
    {"client_id", Slot::kClientId, kMaxClientIdBytes},
    {"id_token_hint", Slot::kIdTokenHint, kMaxHintBytes},
    {"logout_hint", Slot::kLogoutHint, kMaxHintBytes},
    {"state", Slot::kState, kMaxStateBytes},
    {"ui_locales", Slot::kUiLocales, kMaxLocalesBytes},
    {"federated", Slot::kFederated, kMaxFederatedBytes},
}};

absl::Span<const ParamSpec> SpecsFor(v1::Endpoint endpoint) {
  if (endpoint == v1::ENDPOINT_V2_LOGOUT) return kV2Params;
  return kOidcParams;
}

std::string* SlotField(LogoutRequestParams& p, Slot slot) {
  switch (slot) {
    case Slot::kTarget:
      return &p.target;
    case Slot::kClientId:
      return &p.client_id;
    case Slot::kIdTokenHint:
      return &p.id_token_hint;
    case Slot::kLogoutHint:
      return &p.logout_hint;
    case Slot::kState:
      return &p.state;
    case Slot::kUiLocales:
      return &p.ui_locales;
    case Slot::kFederated:
      return &p.federated;
  }
  return nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Checks one decoded value; returns false and fills `out` when it must be denied.
bool CheckValue(const ParamSpec& spec, absl::string_view value, ParamsOutcome& out) {
  if (value.size() > spec.max_bytes) {
    out.deny_reason = v1::REASON_PARAMETER_TOO_LONG;
    out.description =
        absl::StrCat("'", spec.name, "' parameter exceeds ", spec.max_bytes, " bytes");
    return false;
  }
  if (HasForbiddenCharacters(value)) {
    out.deny_reason = v1::REASON_INVALID_CHARACTERS;
    out.description =
        absl::StrCat("'", spec.name, "' parameter contains control characters or invalid UTF-8");
    return false;
  }
  return true;
}

// Empties `out` for a new request, keeping the capacity of its strings.
void Reset(ParamsOutcome& out) {
  LogoutRequestParams& p = out.params;
  for (std::string* s : {&p.target, &p.client_id, &p.id_token_hint, &p.logout_hint, &p.state,
                         &p.ui_locales, &p.federated}) {
    s->clear();
  }
  p.federated_present = false;
  out.deny_reason = v1::REASON_UNSPECIFIED;
  out.description.clear();
}

void FromRawQuery(v1::Endpoint endpoint, absl::string_view query, ParamsOutcome& out) {
  if (query.size() > kMaxRawQueryBytes) {
    out.deny_reason = v1::REASON_PARAMETER_TOO_LONG;
    out.description = absl::StrCat("query exceeds ", kMaxRawQueryBytes, " bytes");
    return;
  }
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  const absl::Span<const ParamSpec> specs = SpecsFor(endpoint);
  std::array<bool, kSlotCount> seen{};
  for (absl::string_view piece : absl::StrSplit(query, '&')) {
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    const absl::string_view name = piece.substr(0, eq);
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& s : specs) {
      if (FormNameIs(name, s.name)) spec = &s;
    }
    if (spec == nullptr) continue;  // Unknown parameters are ignored.
    auto& was_seen = seen[static_cast<size_t>(spec->slot)];
    if (was_seen) {
      out.deny_reason = v1::REASON_DUPLICATE_PARAMETER;
      out.description = absl::StrCat("'", spec->name, "' parameter must not be provided twice");
      return;
    }
    was_seen = true;
    const absl::string_view raw_value =
        eq == absl::string_view::npos ? absl::string_view() : piece.substr(eq + 1);
    if (raw_value.size() > 3 * spec->max_bytes) {  // Cheap bound before decoding.
      CheckValue(*spec, raw_value, out);
      return;
    }
    std::string& value = *SlotField(out.params, spec->slot);
    FormUrlDecodeTo(raw_value, &value);
    if (!CheckValue(*spec, value, out)) return;
    if (spec->slot == Slot::kFederated) out.params.federated_present = true;
  }
}

void FromParams(v1::Endpoint endpoint, const v1::LogoutParams& p, ParamsOutcome& out) {
  for (const ParamSpec& spec : SpecsFor(endpoint)) {
    const std::string* value = nullptr;
    switch (spec.slot) {
      case Slot::kTarget:
        value = endpoint == v1::ENDPOINT_V2_LOGOUT ? &p.return_to() : &p.post_logout_redirect_uri();
        break;
      case Slot::kClientId:
        value = &p.client_id();
        break;
      case Slot::kIdTokenHint:
        value = &p.id_token_hint();
        break;
      case Slot::kLogoutHint:
        value = &p.logout_hint();
        break;
      case Slot::kState:
        value = &p.state();
        break;
      case Slot::kUiLocales:
        value = &p.ui_locales();
        break;
      case Slot::kFederated:
        if (!p.has_federated()) continue;
        value = &p.federated();
        break;
    }
    if (!CheckValue(spec, *value, out)) return;
    if (spec.slot == Slot::kFederated) out.params.federated_present = true;
    *SlotField(out.params, spec.slot) = *value;  // a copy into the kept capacity
  }
}

}  // namespace

absl::string_view TargetParamName(v1::Endpoint endpoint) {
  return endpoint == v1::ENDPOINT_V2_LOGOUT ? "returnTo" : "post_logout_redirect_uri";
}

std::string FormUrlDecode(absl::string_view in) {
  std::string out;
  FormUrlDecodeTo(in, &out);
  return out;
}

void FormUrlDecodeTo(absl::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    // The run up to the next '+' or '%' is copied as it is, in one append (an id_token_hint is
    // hundreds of bytes without either).
    size_t run = i;
    while (run < n && in[run] != '+' && in[run] != '%') ++run;
    out->append(in.data() + i, run - i);
    if (run == n) break;
    if (in[run] == '+') {
      out->push_back(' ');
      i = run + 1;
    } else if (run + 2 < n && HexValue(in[run + 1]) >= 0 && HexValue(in[run + 2]) >= 0) {
      out->push_back(static_cast<char>(HexValue(in[run + 1]) * 16 + HexValue(in[run + 2])));
      i = run + 3;
    } else {
      out->push_back('%');  // an invalid escape is kept literally
      i = run + 1;
    }
  }
}

bool FormNameIs(absl::string_view encoded, absl::string_view name) {
  size_t n = 0;
  for (size_t i = 0; i < encoded.size(); ++i, ++n) {
    char c = encoded[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < encoded.size() && HexValue(encoded[i + 1]) >= 0 &&
               HexValue(encoded[i + 2]) >= 0) {
      c = static_cast<char>(HexValue(encoded[i + 1]) * 16 + HexValue(encoded[i + 2]));
      i += 2;
    }
    if (n >= name.size() || name[n] != c) return false;
  }
  return n == name.size();
}

bool HasForbiddenCharacters(absl::string_view value) {
  const auto* s = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
  for (size_t i = 0; i < n;) {
    // Printable ASCII, the common case, in a tight loop.
    while (i < n && s[i] >= 0x20 && s[i] < 0x7f) ++i;
    if (i == n) break;
    const unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) return true;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return true;
    }
    if (i + len > n) return true;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return true;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    // Overlong forms, surrogates, out of range.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return true;
    }
    if (cp >= 0x80 && cp <= 0x9f) return true;  // C1 controls
    i += len;
  }
  return false;
}

ParamsOutcome ExtractParams(v1::Endpoint endpoint, const v1::ValidateLogoutRequest& request) {
  ParamsOutcome out;
  ExtractParamsInto(endpoint, request, &out);
  return out;
}

void ExtractParamsInto(v1::Endpoint endpoint, const v1::ValidateLogoutRequest& request,
                       ParamsOutcome* out) {
  Reset(*out);
  switch (request.input_case()) {
    case v1::ValidateLogoutRequest::kRawQuery:
      FromRawQuery(endpoint, request.raw_query(), *out);
      break;
    case v1::ValidateLogoutRequest::kParams:
      FromParams(endpoint, request.params(), *out);
      break;
    default:
      break;
  }
}

}  // namespace logout::policy

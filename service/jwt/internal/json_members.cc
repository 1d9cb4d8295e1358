#include "service/jwt/internal/json_members.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace logout::jwt::internal {
namespace {

using Json = nlohmann::json;

class Extractor final : public nlohmann::json_sax<Json> {
 public:
  // `key_stack` holds the member names seen so far in each open object (index: depth - 1);
  // its vectors are reused, not freed, as objects close.
  Extractor(absl::Span<const MemberSpec> specs, absl::Span<MemberValue> out,
            std::vector<std::vector<std::string>>* key_stack)
      : specs_(specs), out_(out), keys_(*key_stack) {}

  bool null() override { return Value(Kind::kOther); }
  bool boolean(bool /*val*/) override { return Value(Kind::kOther); }
  bool number_integer(number_integer_t val) override {
    if (!Value(Kind::kNumber)) return false;
    if (MemberValue* v = Current()) {
      v->is_integer = true;
      v->integer = val;
      v->number = static_cast<double>(val);
    }
    return true;
  }
  bool number_unsigned(number_unsigned_t val) override {
    if (!Value(Kind::kNumber)) return false;
    if (MemberValue* v = Current()) {
      v->is_integer = val <= static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max());
      v->integer = v->is_integer ? static_cast<int64_t>(val) : 0;
      v->number = static_cast<double>(val);
    }
    return true;
  }
  bool number_float(number_float_t val, const string_t& /*text*/) override {
    if (!Value(Kind::kNumber)) return false;
    if (MemberValue* v = Current()) v->number = val;
    return true;
  }
  bool string(string_t& val) override {
    if (in_string_array_ && depth_ == 2) {
      out_[current_].strings.push_back(std::move(val));
      return true;
    }
    if (!Value(Kind::kString)) return false;
    if (MemberValue* v = Current()) v->str.assign(val);  // keeps both buffers' capacity
    return true;
  }
  bool binary(binary_t& /*val*/) override { return Fail("is not valid JSON"); }

  bool start_object(std::size_t /*elements*/) override {
    if (depth_ == 0) {
      top_is_object_ = true;
    } else if (!Value(Kind::kOther)) {
      return false;
    }
    if (++depth_ > kMaxJsonDepth) return Fail("is nested too deeply");
    if (keys_.size() < static_cast<size_t>(depth_)) keys_.emplace_back();
    keys_[static_cast<size_t>(depth_) - 1].clear();
    return true;
  }
  bool key(string_t& val) override {
    std::vector<std::string>& keys = keys_[static_cast<size_t>(depth_) - 1];
    // Small objects: linear scan; large ones: kept sorted.
    constexpr size_t kLinear = 32;
    if (keys.size() < kLinear) {
      if (std::find(keys.begin(), keys.end(), val) != keys.end()) {
        return Fail("has a duplicate member name");
      }
      keys.push_back(val);
      if (keys.size() == kLinear) std::sort(keys.begin(), keys.end());
    } else {
      const auto it = std::lower_bound(keys.begin(), keys.end(), val);
      if (it != keys.end() && *it == val) return Fail("has a duplicate member name");
      keys.insert(it, val);
    }
    if (depth_ == 1) {
      current_ = specs_.size();
      for (size_t i = 0; i < specs_.size(); ++i) {
        if (specs_[i].name == val) current_ = i;
      }
    }
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t /*elements*/) override {
    if (depth_ == 1 && current_ < specs_.size() &&
        specs_[current_].want == Want::kStringOrStrings) {
      out_[current_].present = true;
      in_string_array_ = true;
    } else if (!Value(Kind::kOther)) {
      return false;
    }
    if (++depth_ > kMaxJsonDepth) return Fail("is nested too deeply");
    return true;
  }
  bool end_array() override {
    if (--depth_ == 1) in_string_array_ = false;
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    return Fail("is not valid JSON");
  }

  bool top_is_object() const { return top_is_object_; }
  const std::string& error() const { return error_; }

 private:
  enum class Kind : uint8_t { kString, kNumber, kOther };

  bool Fail(absl::string_view why) {
    if (error_.empty()) error_ = std::string(why);
    return false;
  }

  MemberValue* Current() {
    return depth_ == 1 && current_ < specs_.size() ? &out_[current_] : nullptr;
  }

  // Checks a value (scalar or container start) of `kind` where it appears.
  bool Value(Kind kind) {
    if (depth_ == 0) return Fail("is not a JSON object");
    if (in_string_array_ && depth_ == 2) {
      return Fail(absl::StrCat("member \"", specs_[current_].name, "\" has the wrong type"));
    }
    if (depth_ != 1 || current_ >= specs_.size()) return true;
    const Want want = specs_[current_].want;
    out_[current_].present = true;
    const bool ok = want == Want::kPresence ||
                    (want == Want::kNumber ? kind == Kind::kNumber : kind == Kind::kString);
    return ok || Fail(absl::StrCat("member \"", specs_[current_].name, "\" has the wrong type"));
  }

  absl::Span<const MemberSpec> specs_;
  absl::Span<MemberValue> out_;
  int depth_ = 0;
  size_t current_ = 0;
  bool in_string_array_ = false;
  bool top_is_object_ = false;
  std::vector<std::vector<std::string>>& keys_;
  std::string error_;
};

}  // namespace

absl::Status ExtractMembers(absl::string_view json, absl::Span<const MemberSpec> specs,
                            absl::Span<MemberValue> out) {
  for (MemberValue& v : out) {
    v.present = false;
    v.str.clear();
    v.strings.clear();
    v.is_integer = false;
    v.integer = 0;
    v.number = 0;
  }
  thread_local std::vector<std::vector<std::string>> key_stack;
  Extractor extractor(specs, out, &key_stack);
  const bool ok = Json::sax_parse(json.begin(), json.end(), &extractor, Json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok || !extractor.top_is_object()) {
    return absl::InvalidArgumentError(extractor.error().empty() ? "is not a JSON object"
                                                                : extractor.error());
  }
  return absl::OkStatus();
}

}  // namespace logout::jwt::internal

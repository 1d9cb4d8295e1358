// ExtractMembers (a strict JSON reader of JOSE headers and claims) against the nlohmann/json SAX
// extractor it replaced, kept here as the reference: on hand-written edge cases and on
// thousands of seeded random mutations of real headers and claims, both give the same status
// (code and message) and, when OK, the same members — except that a NUL byte no longer ends
// the input (see Compare).
#include "service/jwt/internal/json_members.h"

#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace logout::jwt::internal {
namespace {

using Json = nlohmann::json;

// ---- The reference: the nlohmann/json SAX extractor ExtractMembers used before. ----------
class Extractor final : public nlohmann::json_sax<Json> {
 public:
  Extractor(absl::Span<const MemberSpec> specs, absl::Span<MemberValue> out)
      : specs_(specs), out_(out) {}

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
    if (MemberValue* v = Current()) v->str = std::move(val);
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
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& val) override {
    std::vector<std::string>& keys = keys_.back();
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
    keys_.pop_back();
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
  std::vector<std::vector<std::string>> keys_;
  std::string error_;
};

absl::Status ReferenceExtractMembers(absl::string_view json, absl::Span<const MemberSpec> specs,
                                     absl::Span<MemberValue> out) {
  Extractor extractor(specs, out);
  const bool ok = Json::sax_parse(json.begin(), json.end(), &extractor, Json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok || !extractor.top_is_object()) {
    return absl::InvalidArgumentError(extractor.error().empty() ? "is not a JSON object"
                                                                : extractor.error());
  }
  return absl::OkStatus();
}

// ---- The comparison. -------------------------------------------------------------------

constexpr MemberSpec kClaimSpecs[] = {
    {"iss", Want::kString}, {"sub", Want::kString},          {"sid", Want::kString},
    {"azp", Want::kString}, {"aud", Want::kStringOrStrings}, {"iat", Want::kNumber},
    {"nbf", Want::kNumber}, {"exp", Want::kNumber},          {"events", Want::kPresence}};
constexpr MemberSpec kHeaderSpecs[] = {{"alg", Want::kString},
                                       {"kid", Want::kString},
                                       {"typ", Want::kString},
                                       {"crit", Want::kPresence}};

bool SameNumber(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof(a)) == 0;
}

// Runs both readers on `json`; returns "" when they agree, else what differs.
std::string Compare(const std::string& json, absl::Span<const MemberSpec> specs) {
  std::array<MemberValue, 9> mine;
  std::array<MemberValue, 9> reference;
  const absl::Status a = ExtractMembers(json, specs, absl::MakeSpan(mine.data(), specs.size()));
  const absl::Status b =
      ReferenceExtractMembers(json, specs, absl::MakeSpan(reference.data(), specs.size()));
  // The one intended difference: nlohmann/json's lexer takes a NUL byte for the end of the
  // input, so it accepted a complete object followed by NUL and anything at all; ExtractMembers
  // refuses bytes after the value, NUL included.
  const size_t nul = json.find('\0');
  if (!a.ok() && b.ok() && nul != std::string::npos && a.message() == "is not valid JSON" &&
      ExtractMembers(json.substr(0, nul), specs, absl::MakeSpan(mine.data(), specs.size())).ok()) {
    return "";
  }
  if (a != b) return absl::StrCat("status ", a.ToString(), " vs reference ", b.ToString());
  if (!a.ok()) return "";
  for (size_t i = 0; i < specs.size(); ++i) {
    const MemberValue& x = mine[i];
    const MemberValue& y = reference[i];
    if (x.present != y.present || x.str != y.str || x.strings != y.strings ||
        x.is_integer != y.is_integer || x.integer != y.integer || !SameNumber(x.number, y.number)) {
      return absl::StrCat("member ", specs[i].name, " differs");
    }
  }
  return "";
}

const std::vector<std::string>& EdgeCases() {
  static const auto* cases = new std::vector<std::string>{
      "",
      " ",
      "{}",
      " {} ",
      "{} x",
      "{}{}",
      "[]",
      R"("x")",
      "1",
      "-1",
      "true",
      "null",
      "{",
      "}",
      R"({"a"})",
      R"({"a":})",
      R"({"a":1,})",
      "{,}",
      R"({"a":1 "b":2})",
      R"({"a" 1})",
      "{'a':1}",
      "{a:1}",
      "{\"a\":1}\n",
      "\xEF\xBB\xBF{}",
      "\xEF\xBB{}",
      "\xEF{}",
      " \xEF\xBB\xBF{}",
      R"({"iss":"x","iss":"y"})",
      R"({"iss":"x","i\u0073s":"y"})",
      R"({"x":{"a":1,"a":2}})",
      R"({"x":[{"a":1},{"a":2}]})",
      R"({"x":{"a":1},"y":{"a":1}})",
      R"({"iss":1})",
      R"({"iss":null})",
      R"({"iss":["a"]})",
      R"({"iss":{}})",
      R"({"iat":"1"})",
      R"({"iat":1})",
      R"({"iat":-1})",
      R"({"iat":-0})",
      R"({"iat":0})",
      R"({"iat":01})",
      R"({"iat":-01})",
      R"({"iat":1.5})",
      R"({"iat":1e3})",
      R"({"iat":1E+3})",
      R"({"iat":1e-3})",
      R"({"iat":1.})",
      R"({"iat":.5})",
      R"({"iat":+1})",
      R"({"iat":-})",
      R"({"iat":1e})",
      R"({"iat":1e400})",
      R"({"iat":-1e400})",
      R"({"iat":1e-400})",
      R"({"iat":9223372036854775807})",
      R"({"iat":9223372036854775808})",
      R"({"iat":18446744073709551615})",
      R"({"iat":18446744073709551616})",
      R"({"iat":-9223372036854775808})",
      R"({"iat":-9223372036854775809})",
      R"({"iat":1x})",
      R"({"iat":NaN})",
      R"({"iat":Infinity})",
      R"({"iat":true})",
      R"({"aud":"a"})",
      R"({"aud":""})",
      R"({"aud":[]})",
      R"({"aud":["a","b"]})",
      R"({"aud":["a",1]})",
      R"({"aud":[["a"]]})",
      R"({"aud":[{}]})",
      R"({"aud":[null]})",
      R"({"aud":1})",
      R"({"aud":{}})",
      R"({"events":{}})",
      R"({"events":1})",
      R"({"events":null})",
      R"({"x":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]})",
      R"({"x":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]})",
      R"({"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{}}}}}}}}}}}}}}}})",
      R"({"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{}}}}}}}}}}}}}}}}})",
      R"({"iss":"a\"b\\c\/d\b\f\n\r\t"})",
      R"({"iss":"\u0041\u00e9\u20AC"})",
      R"({"iss":"\ud83d\ude00"})",
      R"({"iss":"\ud83d"})",
      R"({"iss":"\ude00"})",
      R"({"iss":"\ud83d\u0041"})",
      R"({"iss":"\ud83dx"})",
      R"({"iss":"\u00"})",
      R"({"iss":"\u0000"})",
      R"({"iss":"\x"})",
      R"({"iss":"\"})",
      R"({"iss":"a)",
      "{\"iss\":\"a\nb\"}",
      "{\"iss\":\"a\x7F\"}",
      "{\"iss\":\"\xC3\xA9\"}",
      "{\"iss\":\"\xC3\"}",
      "{\"iss\":\"\xC0\x80\"}",
      "{\"iss\":\"\xE0\x80\x80\"}",
      "{\"iss\":\"\xED\xA0\x80\"}",
      "{\"iss\":\"\xF4\x90\x80\x80\"}",
      "{\"iss\":\"\xF0\x9F\x98\x80\"}",
      "{\"iss\":\"\xFF\"}",
      "{\"iss\":\"\x80\"}",
      std::string("{\"iss\":\"a\0b\"}", 13),
      std::string("{}\0", 3),
      R"({"alg":"RS256","crit":["b64"]})",
      R"({"alg":"RS256","kid":1})",
      R"({"a":tru})",
      R"({"a":nul})",
      R"({"a":falsey})",
      R"({"a":[1,]})",
      R"({"a":[,1]})",
      R"({"a":[1 2]})",
      "\t{\r\n\"a\"\t:\n1\r}\t"};
  return *cases;
}

TEST(JsonMembersTest, AgreesWithTheReferenceOnEdgeCases) {
  for (const std::string& json : EdgeCases()) {
    for (absl::Span<const MemberSpec> specs :
         {absl::Span<const MemberSpec>(kClaimSpecs), absl::Span<const MemberSpec>(kHeaderSpecs)}) {
      EXPECT_EQ(Compare(json, specs), "") << json;
    }
  }
}

TEST(JsonMembersTest, AgreesWithTheReferenceOnRandomMutations) {
  const std::vector<std::string> seeds = {
      R"({"alg":"RS256","typ":"JWT","kid":"rsa-1"})",
      R"({"iss":"https://acme.example.com/","sub":"auth0|5f7c8ec7","aud":["web","api"],)"
      R"("sid":"s-\u00e9\ud83d\ude00","iat":1700000000,"exp":1.7e9,"nbf":-0,)"
      R"("events":{"x":{}},"nested":{"a":[1,{"b":null}],"c":true}})",
      R"({"aud":"web","azp":"web","iat":18446744073709551616,"x":[[]]})"};
  // Bytes that matter to a JSON reader, and some that do not.
  const std::string alphabet = std::string("{}[]:,\"\\/ubfnrt0123456789-+.eE \t\n\r") +
                               std::string(
                                   "\0\x7F\xC3\xA9\xED\xA0\xF0\x9F\xEF\xBB\xBF"
                                   "axz",
                                   14);
  std::mt19937 rng(20261203);
  int mutants = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < 30000; ++i) {
      std::string json = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !json.empty(); ++e) {
        const size_t at = rng() % json.size();
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            json[at] = c;
            break;
          case 1:
            json.insert(json.begin() + static_cast<ptrdiff_t>(at), c);
            break;
          default:
            json.erase(at, 1);
        }
      }
      ++mutants;
      for (absl::Span<const MemberSpec> specs : {absl::Span<const MemberSpec>(kClaimSpecs),
                                                 absl::Span<const MemberSpec>(kHeaderSpecs)}) {
        const std::string diff = Compare(json, specs);
        ASSERT_EQ(diff, "") << "mutant " << mutants << ": " << json;
      }
    }
  }
  EXPECT_EQ(mutants, 90000);
}

// A reused set of values carries nothing over from one read to the next.
TEST(JsonMembersTest, ReusedValuesAreResetBeforeEachRead) {
  std::array<MemberValue, 9> values;
  ASSERT_TRUE(ExtractMembers(R"({"iss":"a","aud":["x","y"],"iat":5,"events":{}})", kClaimSpecs,
                             absl::MakeSpan(values))
                  .ok());
  ASSERT_TRUE(ExtractMembers(R"({"sub":"b"})", kClaimSpecs, absl::MakeSpan(values)).ok());
  EXPECT_FALSE(values[0].present);
  EXPECT_EQ(values[0].str, "");
  EXPECT_EQ(values[1].str, "b");
  EXPECT_FALSE(values[4].present);
  EXPECT_TRUE(values[4].strings.empty());
  EXPECT_FALSE(values[5].present);
  EXPECT_FALSE(values[5].is_integer);
  EXPECT_EQ(values[5].integer, 0);
  EXPECT_FALSE(values[8].present);
}

}  // namespace
}  // namespace logout::jwt::internal

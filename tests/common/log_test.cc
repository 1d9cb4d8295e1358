#include "service/common/log.h"

#include <string>

#include "gtest/gtest.h"

namespace logout::common {
namespace {

TEST(LogTest, EscapesSoEveryLineIsOneValidJsonObject) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
  // Valid UTF-8 is kept; bytes that are not (text a peer chose) become U+FFFD.
  EXPECT_EQ(JsonEscape("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(JsonEscape("a\xFF"
                       "b"),
            "a\\ufffdb");
  EXPECT_EQ(JsonEscape("\xC3"), "\\ufffd");                        // truncated
  EXPECT_EQ(JsonEscape("\xC0\xAF"), "\\ufffd\\ufffd");             // overlong '/'
  EXPECT_EQ(JsonEscape("\xED\xA0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate
}

}  // namespace
}  // namespace logout::common

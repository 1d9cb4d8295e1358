#include "service/store/policy_file.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/policy/compiled_policy.h"

namespace logout::store {
namespace {

TEST(PolicyFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadPolicyFile("/nonexistent/policy.json").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PolicyFileTest, ExamplePoliciesLoadAndCompile) {
  for (const char* name : {"policy.json", "policy.textproto"}) {
    auto config = ReadPolicyFile(std::string(LOGOUT_EXAMPLES_DIR) + "/" + name);
    ASSERT_TRUE(config.ok()) << name << ": " << config.status();
    EXPECT_GT(config->tenants_size(), 0) << name;
    auto compiled = policy::CompiledPolicy::Build(*config, 1);
    EXPECT_TRUE(compiled.ok()) << name << ": " << compiled.status();
  }
}

TEST(PolicyFileTest, SyntaxErrorSaysWhere) {
  auto config = ParsePolicyText("tenants { name: \"a\" ");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("line 1"), std::string::npos) << config.status();
}

// protobuf's JSON parser alone would accept these; a policy file is strict RFC 8259 JSON.
TEST(PolicyFileTest, JsonThatIsNotStrictIsRefusedWithLineAndColumn) {
  struct Case {
    std::string json;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"tenants": [{"name": "acme",}]})",
            "policy JSON: line 1, column 30: trailing comma before '}'"},
           {"{\n  'tenants': []\n}", "policy JSON: line 2, column 3: single-quoted string"},
           {"{\"tenants\": [], \"tenants\": []}", "policy JSON: line 1, column 17: duplicate key"},
           {"{\"tenants\": [] /* none */}",
            "policy JSON: line 1, column 16: comments are not JSON"},
           {R"({"tenants": [{"name": "a", "allowed_logout_urls": ["https://a.example/"],
                             "allowedLogoutUrls": ["https://b.example/"]}]})",
            "policy JSON: tenants[0]: field \"allowed_logout_urls\" is given twice "
            "(\"allowedLogoutUrls\" and \"allowed_logout_urls\")"},
           {R"({"tenants": [{"name": "a", "clients": [{"client_id": "c", "clientId": "d"}]}]})",
            "policy JSON: tenants[0].clients[0]: field \"client_id\" is given twice"},
       }) {
    auto config = ParsePolicyText(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message().substr(0, c.message.size()), c.message) << config.status();
  }
}

}  // namespace
}  // namespace logout::store

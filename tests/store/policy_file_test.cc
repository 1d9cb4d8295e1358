#include "service/store/policy_file.h"

#include <string>

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

}  // namespace
}  // namespace logout::store

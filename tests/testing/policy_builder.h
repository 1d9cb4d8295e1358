// Test helpers: build a compiled policy from text format in one line.
//
//   std::shared_ptr<const policy::CompiledPolicy> p = testing::CompileOrDie(R"pb(tenants
//   {...})pb");
#ifndef TESTS_TESTING_POLICY_BUILDER_H_
#define TESTS_TESTING_POLICY_BUILDER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "service/policy/compiled_policy.h"
#include "service/store/policy_file.h"

namespace logout::testing {

// Compile parses `text` (JSON or text format) and compiles it as policy version `version`.
inline absl::StatusOr<std::shared_ptr<const policy::CompiledPolicy>> Compile(
    const std::string& text, uint64_t version = 1) {
  absl::StatusOr<v1::PolicyConfig> config = store::ParsePolicyText(text);
  if (!config.ok()) return config.status();
  return policy::CompiledPolicy::Build(*config, version);
}

// CompileOrDie is Compile for fixtures whose policy must be valid.
inline std::shared_ptr<const policy::CompiledPolicy> CompileOrDie(const std::string& text,
                                                                  uint64_t version = 1) {
  auto compiled = Compile(text, version);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_POLICY_BUILDER_H_

// Test helper: a fresh, empty directory per test, under GoogleTest's temporary directory.
//
//   dir_ = testing::FreshTempDir("operations");   // TempDir()/operations_<pid>_<n>
//   ASSERT_FALSE(dir_.empty());
#ifndef TESTS_TESTING_TEMP_DIR_H_
#define TESTS_TESTING_TEMP_DIR_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace logout::testing {

// FreshTempDir creates ::testing::TempDir()/PREFIX_<pid>_<n>, unique within the process and empty
// even when an earlier run left a directory of that name, and returns its path; "" when it
// cannot be created.
inline std::string FreshTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const std::string dir = ::testing::TempDir() + "/" + prefix + "_" + std::to_string(getpid()) +
                          "_" + std::to_string(counter++);
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  if (!std::filesystem::create_directories(dir, error) || error) return "";
  return dir;
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_TEMP_DIR_H_

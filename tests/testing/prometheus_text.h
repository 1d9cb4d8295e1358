// Test helper: parse the Prometheus text exposition format (version 0.0.4) into samples, so
// tests can assert exact values by metric name and labels.
//
//   absl::StatusOr<testing::Exposition> e = testing::ParseExposition(body);
//   EXPECT_EQ(e->Value("logoutd_decisions_total", {{"endpoint", "oidc_logout"}, ...}), 2);
#ifndef TESTS_TESTING_PROMETHEUS_TEXT_H_
#define TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace logout::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> help;  // family name -> HELP text
  std::map<std::string, std::string> type;  // family name -> TYPE

  // Value returns the value of the sample `name` whose labels are exactly `labels`.
  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const PromSample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  // Count returns how many samples are named `name`.
  int Count(const std::string& name) const {
    int n = 0;
    for (const PromSample& s : samples) n += s.name == name;
    return n;
  }
};

// ParseExposition parses `text`; DATA_LOSS names the first malformed line.
inline absl::StatusOr<Exposition> ParseExposition(absl::string_view text) {
  Exposition out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    auto bad = [&] { return absl::DataLossError(absl::StrCat("bad exposition line: ", line)); };
    if (line[0] == '#') {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() >= 3 && (parts[1] == "HELP" || parts[1] == "TYPE")) {
        (parts[1] == "HELP" ? out.help : out.type)[parts[2]] = parts.size() == 4 ? parts[3] : "";
      }
      continue;
    }
    PromSample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return bad();
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return bad();
        sample.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return bad();
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return bad();
    std::vector<std::string> rest = absl::StrSplit(line.substr(i + 1), ' ');
    if (rest.empty()) return bad();
    char* end = nullptr;
    sample.value = std::strtod(rest[0].c_str(), &end);
    if (end == rest[0].c_str() || *end != '\0') return bad();
    out.samples.push_back(std::move(sample));
  }
  return out;
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_PROMETHEUS_TEXT_H_

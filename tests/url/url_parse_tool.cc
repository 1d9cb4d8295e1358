// url_parse_tool reads one URL per line from stdin, each line a JSON string (so that any
// character can be given), parses it with logout::url::Url::Parse (no base) and prints one JSON
// object per line:
//   {"ok":true,"href":...,"protocol":...,"username":...,"password":...,"host":...,
//    "hostname":...,"port":...,"pathname":...,"search":...,"hash":...}
// or {"ok":false}. A line that is not a JSON string prints {"ok":false,"bad_line":true}.
#include <iostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "service/url/url.h"

namespace {

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_string()) {
      std::cout << R"({"ok":false,"bad_line":true})" << '\n';
      continue;
    }
    const absl::StatusOr<logout::url::Url> url =
        logout::url::Url::Parse(parsed.get_ref<const std::string&>());
    if (!url.ok()) {
      std::cout << R"({"ok":false})" << '\n';
      continue;
    }
    nlohmann::ordered_json out;
    out["ok"] = true;
    out["href"] = Str(url->href());
    out["protocol"] = url->protocol();
    out["username"] = Str(url->username());
    out["password"] = Str(url->password());
    out["host"] = url->host();
    out["hostname"] = Str(url->hostname());
    out["port"] = Str(url->port());
    out["pathname"] = Str(url->pathname());
    out["search"] = Str(url->search());
    out["hash"] = Str(url->hash());
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  return 0;
}

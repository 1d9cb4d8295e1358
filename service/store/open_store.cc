#include "absl/strings/match.h"
#include "service/store/policy_store.h"
#include "service/store/postgres_store.h"
#include "service/store/sqlite_store.h"

namespace logout::store {

absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPolicyStore(absl::string_view url) {
  if (absl::StartsWith(url, "sqlite:")) {
    const absl::string_view path = url.substr(7);
    if (path.empty()) return absl::InvalidArgumentError("--store=sqlite:PATH needs a path");
    return OpenSqliteStore(std::string(path));
  }
  if (absl::StartsWith(url, "postgres://") || absl::StartsWith(url, "postgresql://")) {
    return OpenPostgresStore(std::string(url));
  }
  return absl::InvalidArgumentError(
      "--store must be sqlite:PATH or postgresql://... (or file, for read-only --policy)");
}

}  // namespace logout::store

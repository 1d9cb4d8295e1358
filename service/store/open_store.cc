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

absl::StatusOr<std::unique_ptr<Outbox>> OpenOutbox(absl::string_view url) {
  if (absl::StartsWith(url, "sqlite:") && url.size() > 7) {
    return OpenSqliteOutbox(std::string(url.substr(7)));
  }
  if (absl::StartsWith(url, "postgres://") || absl::StartsWith(url, "postgresql://")) {
    return OpenPostgresOutbox(std::string(url));
  }
  return absl::InvalidArgumentError("the outbox needs a sqlite:PATH or postgresql://... store");
}

}  // namespace logout::store

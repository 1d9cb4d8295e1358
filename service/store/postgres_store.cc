// Placeholder until the PostgreSQL store lands: refuses to open.
#include "service/store/postgres_store.h"

namespace logout::store {

absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPostgresStore(const std::string& /*url*/) {
  return absl::UnimplementedError("the PostgreSQL store is not built yet");
}

}  // namespace logout::store

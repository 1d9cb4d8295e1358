// The PostgreSQL change watcher: a thread with its own connection that LISTENs for the
// revisions writers announce (NOTIFY logoutd_changes, '<revision>') and polls the revision
// every few seconds in case a notification is lost, delivering each revision higher than the
// last it delivered.
//
//   std::unique_ptr<ChangeWatcher> w = StartChangeWatcher(redactor, url, [](uint64_t r) {...});
//   w.reset();  // stops and joins the thread
#ifndef SERVICE_STORE_POSTGRES_WATCHER_H_
#define SERVICE_STORE_POSTGRES_WATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "service/store/pg_util.h"

namespace logout::store::pg {

// The NOTIFY channel writers announce revisions on.
inline constexpr char kChangeChannel[] = "logoutd_changes";

// ChangeWatcher stops its thread when destroyed (promptly: every wait also polls a wake-up fd).
class ChangeWatcher {
 public:
  virtual ~ChangeWatcher() = default;
};

// StartChangeWatcher starts the thread; `on_change` runs on it. `redactor` must outlive it.
std::unique_ptr<ChangeWatcher> StartChangeWatcher(const Redactor& redactor, std::string url,
                                                  std::function<void(uint64_t)> on_change);

}  // namespace logout::store::pg

#endif  // SERVICE_STORE_POSTGRES_WATCHER_H_

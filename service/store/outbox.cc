#include "service/store/outbox.h"

namespace logout::store {

absl::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "pending";
    case JobState::kDelivered:
      return "delivered";
    case JobState::kRejected:
      return "rejected";
    case JobState::kDead:
      return "dead";
  }
  return "pending";
}

bool ParseJobState(absl::string_view name, JobState* state) {
  for (JobState s :
       {JobState::kPending, JobState::kDelivered, JobState::kRejected, JobState::kDead}) {
    if (JobStateName(s) == name) {
      *state = s;
      return true;
    }
  }
  return false;
}

}  // namespace logout::store

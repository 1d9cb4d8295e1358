#include "service/slo/outbox_deliverer.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/slo/backchannel_delivery.h"

namespace logout::slo {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t m) { return absl::FromUnixMicros(m); }

// Why a transient attempt failed, for the job's `detail`.
std::string FailureDetail(const HttpAttempt& http) {
  switch (http.result.transport) {
    case AttemptResult::Transport::kTimeout:
      return "timeout";
    case AttemptResult::Transport::kOk:
      return "http_status";
    default:
      return "connect_error";
  }
}

// Prune runs at most this often.
constexpr absl::Duration kPruneInterval = absl::Seconds(60);
// A Retry-After is honoured up to this.
constexpr absl::Duration kMaxRetryAfter = absl::Hours(1);
// An attempt starts only with this much lease left beyond its own timeout.
constexpr absl::Duration kLeaseMargin = absl::Seconds(1);
// Calls waiting for deliveries at most (more are answered right after their commit).
constexpr size_t kMaxWaiters = 10000;
// Jobs waiting for a group commit at most (more are refused with UNAVAILABLE).
constexpr size_t kMaxUncommittedJobs = 100000;

}  // namespace

struct OutboxDeliverer::Held {
  store::OutboxJob job;
  PreparedRequest first;
  absl::Time first_usable_until = absl::InfinitePast();
};

struct OutboxDeliverer::Waiter {
  std::vector<uint64_t> ids;
  absl::flat_hash_map<uint64_t, store::OutboxJob> states;
  size_t final_count = 0;
  absl::Time deadline;
  EnqueueDone done;
  bool fired = false;
};

OutboxDeliverer::OutboxDeliverer(std::unique_ptr<store::Outbox> outbox,
                                 const OutboxDeliveryOptions& options, Preparer preparer,
                                 DeliveryObserver observer, std::string owner)
    : outbox_(std::move(outbox)),
      options_(options),
      preparer_(std::move(preparer)),
      observer_(std::move(observer)),
      owner_(std::move(owner)) {}

OutboxDeliverer::~OutboxDeliverer() { Shutdown(absl::ZeroDuration()); }

absl::Status OutboxDeliverer::Start() {
  // One process owns a SQLite file: leases from before a crash belong to nobody now.
  if (outbox_->single_process()) {
    if (absl::Status s = outbox_->ReleaseLeases(""); !s.ok()) return s;
  }
  committer_ = std::thread([this] { CommitterLoop(); });
  poller_ = std::thread([this] { PollerLoop(); });
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  return absl::OkStatus();
}

void OutboxDeliverer::Enqueue(std::vector<NewJob> jobs, absl::Time wait_until, EnqueueDone done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused =
          absl::UnavailableError("logoutd is shutting down; the notifications were not queued");
    } else if (enqueued_jobs_ + jobs.size() > kMaxUncommittedJobs) {
      // The store is not keeping up (or is down): refuse rather than grow without bound.
      refused = absl::UnavailableError(
          "the notification outbox is not keeping up (too many jobs waiting for a commit); "
          "retry later");
    } else {
      enqueued_jobs_ += jobs.size();
      enqueues_.push_back({std::move(jobs), wait_until, std::move(done)});
      return;
    }
  }
  done(std::move(refused), {});
}

void OutboxDeliverer::EndWaits() {
  {
    absl::MutexLock lock(&mu_);
    waits_ended_ = true;
  }
  ExpireWaiters(absl::Now(), true);
}

absl::Duration OutboxDeliverer::Jittered(int step, absl::Duration initial, absl::Duration max) {
  thread_local absl::BitGen rng;
  return BackoffDelay(step, initial, max, absl::Uniform<double>(rng, 0.5, 1.0));
}

void OutboxDeliverer::CommitterLoop() {
  while (true) {
    std::vector<PendingEnqueue> enqueues;
    std::vector<store::Settlement> settlements;
    size_t room = 0;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopped_ || !enqueues_.empty() || !settlements_.empty();
      };
      mu_.Await(absl::Condition(&work));
      if (enqueues_.empty() && settlements_.empty()) return;  // stopped, nothing left
      enqueues.swap(enqueues_);
      settlements.swap(settlements_);
      enqueued_jobs_ = 0;
      room =
          options_.max_in_memory > held_ids_.size() ? options_.max_in_memory - held_ids_.size() : 0;
    }
    if (!enqueues.empty()) {
      std::vector<store::OutboxJob> flat;
      for (PendingEnqueue& p : enqueues) {
        for (NewJob& j : p.jobs) flat.push_back(j.job);
      }
      const absl::Time now = absl::Now();
      store::Lease lease;
      bool stopping;
      {
        absl::MutexLock lock(&mu_);
        stopping = stopping_;
      }
      // Attempted here at once when memory has room (and we are not stopping); otherwise the
      // jobs wait in the table for a claim.
      if (flat.size() <= room && !stopping) lease = {owner_, Micros(now + options_.lease)};
      absl::Status s = outbox_->Enqueue(flat, lease);
      if (!s.ok()) {
        if (observer_.on_store_error) observer_.on_store_error(s);
        for (PendingEnqueue& p : enqueues) p.done(s, {});
      } else {
        std::vector<std::pair<EnqueueDone, std::vector<store::OutboxJob>>> immediate;
        {
          absl::MutexLock lock(&mu_);
          size_t k = 0;
          for (PendingEnqueue& p : enqueues) {
            std::vector<store::OutboxJob> mine;
            std::shared_ptr<Waiter> waiter;
            if (p.wait_until > now && !p.jobs.empty() && !waits_ended_ &&
                waiter_list_.size() < kMaxWaiters) {
              waiter = std::make_shared<Waiter>();
              waiter->deadline = p.wait_until;
              waiter->done = std::move(p.done);
            }
            for (NewJob& j : p.jobs) {
              const store::OutboxJob& committed = flat[k++];
              mine.push_back(committed);
              if (waiter != nullptr) {
                waiter->ids.push_back(committed.id);
                waiter->states[committed.id] = committed;
                waiters_[committed.id].push_back(waiter);
              }
              if (!lease.owner.empty()) {
                auto held = std::make_unique<Held>();
                held->job = committed;
                held->first = std::move(j.first);
                held->first_usable_until = j.first_usable_until;
                held_ids_[committed.id] = true;
                ready_.push_back(std::move(held));
              }
            }
            if (waiter != nullptr) {
              waiter_list_.push_back(std::move(waiter));
              poll_now_ = true;  // the poller sleeps until the nearest deadline
            } else {
              immediate.emplace_back(std::move(p.done), std::move(mine));
            }
          }
          ++generation_;
        }
        if (observer_.on_enqueued) observer_.on_enqueued(flat);
        for (auto& [done, jobs] : immediate) done(absl::OkStatus(), std::move(jobs));
      }
    }
    if (!settlements.empty()) {
      absl::StatusOr<int> lost = outbox_->Settle(settlements);
      absl::MutexLock lock(&mu_);
      if (lost.ok()) {
        // Only now may a claim hold these jobs again: until the result is committed the row
        // still carries our lease and its old state.
        for (const store::Settlement& st : settlements) held_ids_.erase(st.id);
        poll_now_ = true;  // a retry may be due soon
      } else if (!stopped_) {
        // Tried again with the next commit (the rows keep our lease meanwhile); a process
        // that dies first leaves them to be taken over when the leases expire.
        settlements_.insert(settlements_.begin(), settlements.begin(), settlements.end());
      }
      if (!lost.ok() && observer_.on_store_error) {
        observer_.on_store_error(lost.status());
      }
      if (lost.ok() && *lost > 0 && observer_.on_lost_leases) observer_.on_lost_leases(*lost);
      if (!lost.ok()) {
        // Do not spin against a failing store.
        mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::Milliseconds(500));
      }
    }
  }
}

void OutboxDeliverer::PollerLoop() {
  while (true) {
    Poll();
    absl::MutexLock lock(&mu_);
    absl::Time wake = absl::Now() + options_.poll_interval;
    for (const auto& w : waiter_list_) wake = std::min(wake, w->deadline);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || poll_now_; };
    mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
    poll_now_ = false;
    if (stopping_) return;
  }
}

void OutboxDeliverer::Release(const Held& held, absl::Time due) {
  store::Settlement s;
  s.id = held.job.id;
  s.owner = owner_;
  s.state = store::JobState::kPending;
  s.attempts = held.job.attempts;
  s.detail = held.job.detail;
  s.http_status = held.job.http_status;
  s.due_micros = std::max(held.job.due_micros, Micros(due));
  settlements_.push_back(std::move(s));
}

void OutboxDeliverer::Poll() {
  const absl::Time now = absl::Now();
  // Waits first: their callers have deadlines.
  ExpireWaiters(now, false);
  store::ClaimRequest claim;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    // Jobs whose lease would run out before an attempt could finish go back to the table
    // (another replica, or a later claim of ours, takes them).
    const int64_t too_short = Micros(now + options_.attempt_timeout + kLeaseMargin);
    for (auto it = ready_.begin(); it != ready_.end();) {
      if ((*it)->job.lease_until_micros < too_short) {
        Release(**it, now);
        it = ready_.erase(it);
      } else {
        ++it;
      }
    }
    const size_t room =
        options_.max_in_memory > held_ids_.size() ? options_.max_in_memory - held_ids_.size() : 0;
    claim.limit = static_cast<int>(std::min<size_t>(room, options_.claim_batch));
    for (const auto& [origin, state] : origins_) {
      if (state.open_until > now) claim.skip_origins.push_back(origin);
    }
  }
  if (claim.limit > 0) {
    claim.owner = owner_;
    claim.now_micros = Micros(now);
    claim.lease_until_micros = Micros(now + options_.lease);
    absl::StatusOr<std::vector<store::ClaimedJob>> claimed = outbox_->Claim(claim);
    if (!claimed.ok()) {
      if (observer_.on_store_error) observer_.on_store_error(claimed.status());
    } else if (!claimed->empty()) {
      int takeovers = 0;
      {
        absl::MutexLock lock(&mu_);
        for (store::ClaimedJob& c : *claimed) {
          if (c.taken_over) ++takeovers;
          // Still ours in memory, or its result not yet committed: not twice.
          if (held_ids_.contains(c.job.id)) continue;
          auto held = std::make_unique<Held>();
          held->job = std::move(c.job);
          held_ids_[held->job.id] = true;
          ready_.push_back(std::move(held));
        }
        ++generation_;
      }
      if (takeovers > 0 && observer_.on_takeovers) observer_.on_takeovers(takeovers);
    }
  }
  bool stats = false;
  bool prune = false;
  {
    absl::MutexLock lock(&mu_);
    if (now >= next_stats_) {
      stats = true;
      next_stats_ = now + options_.stats_interval;
    }
    if (now >= next_prune_) {
      prune = true;
      next_prune_ = now + kPruneInterval;
    }
  }
  if (stats && observer_.on_gauges) {
    absl::StatusOr<store::OutboxStats> s = outbox_->Stats(Micros(now));
    if (s.ok()) {
      observer_.on_gauges({s->pending, s->dead,
                           s->oldest_due_micros == 0 ? absl::ZeroDuration()
                                                     : now - FromMicros(s->oldest_due_micros)});
    } else if (observer_.on_store_error) {
      observer_.on_store_error(s.status());
    }
  }
  if (prune) {
    absl::StatusOr<int64_t> pruned =
        outbox_->Prune(options_.keep_finished, Micros(now - options_.keep_dead));
    if (!pruned.ok() && observer_.on_store_error) observer_.on_store_error(pruned.status());
  }
}

void OutboxDeliverer::ExpireWaiters(absl::Time now, bool all) {
  std::vector<std::shared_ptr<Waiter>> due;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = waiter_list_.begin(); it != waiter_list_.end();) {
      if ((*it)->fired) {
        it = waiter_list_.erase(it);
      } else if (all || (*it)->deadline <= now) {
        (*it)->fired = true;
        for (uint64_t id : (*it)->ids) {
          auto w = waiters_.find(id);
          if (w == waiters_.end()) continue;
          std::erase(w->second, *it);
          if (w->second.empty()) waiters_.erase(w);
        }
        due.push_back(*it);
        it = waiter_list_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::shared_ptr<Waiter>& w : due) {
    // What another replica did is in the store: read the jobs not final here.
    store::ListFilter filter;
    for (uint64_t id : w->ids) {
      if (w->states[id].state == store::JobState::kPending) filter.ids.push_back(id);
    }
    if (!filter.ids.empty()) {
      filter.limit = static_cast<int>(filter.ids.size());
      absl::StatusOr<std::vector<store::OutboxJob>> read = outbox_->List(filter);
      if (read.ok()) {
        for (store::OutboxJob& j : *read) w->states[j.id] = std::move(j);
      }
    }
    std::vector<store::OutboxJob> out;
    for (uint64_t id : w->ids) out.push_back(w->states[id]);
    w->done(absl::OkStatus(), std::move(out));
  }
}

std::vector<std::shared_ptr<OutboxDeliverer::Waiter>> OutboxDeliverer::UpdateWaiters(
    const store::OutboxJob& job) {
  std::vector<std::shared_ptr<Waiter>> complete;
  auto it = waiters_.find(job.id);
  if (it == waiters_.end()) return complete;
  const bool final = job.state != store::JobState::kPending;
  for (const std::shared_ptr<Waiter>& w : it->second) {
    if (w->fired) continue;
    w->states[job.id] = job;
    if (final && ++w->final_count == w->ids.size()) {
      w->fired = true;
      complete.push_back(w);
    }
  }
  if (final) waiters_.erase(it);
  return complete;
}

void OutboxDeliverer::WorkerLoop() {
  while (true) {
    std::unique_ptr<Held> held;
    {
      absl::MutexLock lock(&mu_);
      while (held == nullptr) {
        if (stopping_) return;
        const absl::Time now = absl::Now();
        for (auto it = ready_.begin(); it != ready_.end();) {
          Origin& origin = origins_[(*it)->job.origin];
          if (origin.open_until > now) {
            // The circuit is open: back to the table until it may close.
            Release(**it, origin.open_until);
            it = ready_.erase(it);
            continue;
          }
          const int limit =
              origin.failures >= options_.circuit_threshold ? 1 : options_.per_origin_concurrency;
          if (origin.in_flight < std::max(1, limit)) {
            ++origin.in_flight;
            ++in_flight_;
            held = std::move(*it);
            ready_.erase(it);
            break;
          }
          ++it;
        }
        if (held == nullptr) {
          const uint64_t seen = generation_;
          auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return stopping_ || generation_ != seen;
          };
          // Also wake now and then: an open circuit closes with time, not with an event.
          mu_.AwaitWithTimeout(absl::Condition(&changed), options_.poll_interval);
        }
      }
    }
    Attempt(*held);
    absl::MutexLock lock(&mu_);
    --in_flight_;
    ++generation_;
  }
}

void OutboxDeliverer::Attempt(Held& held) {
  store::OutboxJob& job = held.job;
  const bool set_push = job.kind == store::kJobKindSet;
  auto settle = [&](store::JobState state, std::string detail, int32_t http_status,
                    absl::Time due) {
    store::Settlement s;
    s.id = job.id;
    s.owner = owner_;
    s.state = state;
    s.attempts = job.attempts;
    s.detail = std::move(detail);
    s.http_status = http_status;
    s.due_micros = Micros(due);
    s.finished_micros = Micros(absl::Now());
    return s;
  };
  // kAnswered closes the origin's circuit, kFailed counts towards opening it, kNotContacted
  // (no request was made, or it was aborted) only frees the slot.
  enum class Contact { kAnswered, kFailed, kNotContacted };
  auto origin_done = [&](Contact contact) {
    absl::MutexLock lock(&mu_);
    Origin& origin = origins_[job.origin];
    --origin.in_flight;
    if (contact == Contact::kNotContacted) return;
    if (contact == Contact::kAnswered) {
      origin.failures = 0;
      origin.open_until = absl::InfinitePast();
    } else if (++origin.failures >= options_.circuit_threshold) {
      origin.open_until = absl::Now() + Jittered(origin.failures - options_.circuit_threshold + 1,
                                                 options_.initial_backoff, options_.max_backoff);
    }
  };
  const absl::Time now = absl::Now();
  if (now > FromMicros(job.expires_micros)) {
    origin_done(Contact::kNotContacted);
    Finish(held,
           settle(store::JobState::kDead, job.detail.empty() ? "horizon" : job.detail,
                  job.http_status, now),
           "dead", false);
    return;
  }
  PreparedRequest prepared;
  if (job.attempts == 0 && !held.first.body.empty() && now < held.first_usable_until) {
    prepared = std::move(held.first);
  } else {
    absl::StatusOr<PreparedRequest> made = preparer_(job);
    if (absl::IsNotFound(made.status()) || absl::IsInvalidArgument(made.status())) {
      // Gone from the policy, or a job the policy can no longer sign (e.g. the client now
      // requires a session this job lacks): retrying cannot help.
      origin_done(Contact::kNotContacted);
      const char* detail = absl::IsInvalidArgument(made.status()) ? "mint_refused"
                           : set_push                             ? "stream_removed"
                                                                  : "client_removed";
      Finish(held, settle(store::JobState::kRejected, detail, 0, now), "rejected", false);
      return;
    }
    if (!made.ok()) {
      origin_done(Contact::kNotContacted);
      job.detail = "mint_failed";
      const absl::Time next =
          now + Jittered(job.attempts + 1, options_.initial_backoff, options_.max_backoff);
      if (next > FromMicros(job.expires_micros)) {
        Finish(held, settle(store::JobState::kDead, "mint_failed", 0, now), "dead", false);
      } else {
        Finish(held, settle(store::JobState::kPending, "mint_failed", 0, next), "retry", false);
      }
      return;
    }
    prepared = *std::move(made);
  }
  held.first = {};
  // The live policy's URI when the preparer gives one (a URI fixed by the operator is used,
  // and a stream's Authorization header only ever goes to the stream's current endpoint).
  const std::string& uri = prepared.uri.empty() ? job.uri : prepared.uri;
  const HttpAttempt http =
      HttpPost({uri, prepared.content_type, prepared.body, prepared.authorization},
               std::min(options_.connect_timeout, options_.attempt_timeout),
               options_.attempt_timeout, options_.max_response_bytes, &abort_);
  if (http.aborted) {
    // Stopping: whether it arrived is unknown; the next holder sends it again.
    origin_done(Contact::kNotContacted);
    absl::MutexLock lock(&mu_);
    Release(held, now);
    return;
  }
  ++job.attempts;
  const int32_t status =
      http.result.transport == AttemptResult::Transport::kOk ? http.result.http_status : 0;
  const absl::Time after = absl::Now();
  switch (ClassifyAttempt(http.result, set_push)) {
    case AttemptVerdict::kSuccess:
      origin_done(Contact::kAnswered);
      Finish(held, settle(store::JobState::kDelivered, "", status, after), "delivered", true);
      return;
    case AttemptVerdict::kPermanentFailure:
      origin_done(http.result.transport == AttemptResult::Transport::kOk ? Contact::kAnswered
                                                                         : Contact::kNotContacted);
      Finish(held,
             settle(store::JobState::kRejected,
                    http.result.transport == AttemptResult::Transport::kOk ? "http_status"
                                                                           : "invalid_uri",
                    status, after),
             "rejected", true);
      return;
    case AttemptVerdict::kRetry:
      break;
  }
  origin_done(Contact::kFailed);
  const std::string detail = FailureDetail(http);
  absl::Duration pause = Jittered(job.attempts, options_.initial_backoff, options_.max_backoff);
  if (http.retry_after_seconds > 0) {
    pause = std::max(pause, std::min(absl::Seconds(http.retry_after_seconds), kMaxRetryAfter));
  }
  const absl::Time next = after + pause;
  if (next > FromMicros(job.expires_micros)) {
    Finish(held, settle(store::JobState::kDead, detail, status, after), "dead", true);
  } else {
    Finish(held, settle(store::JobState::kPending, detail, status, next), "retry", true);
  }
}

void OutboxDeliverer::Finish(const Held& held, store::Settlement settlement,
                             const std::string& result, bool attempted) {
  store::OutboxJob job = held.job;
  job.state = settlement.state;
  job.attempts = settlement.attempts;
  job.detail = settlement.detail;
  job.http_status = settlement.http_status;
  if (settlement.state == store::JobState::kPending) {
    job.due_micros = settlement.due_micros;
  } else {
    job.finished_micros = settlement.finished_micros;
  }
  job.lease_owner.clear();
  job.lease_until_micros = 0;
  std::vector<std::shared_ptr<Waiter>> complete;
  {
    absl::MutexLock lock(&mu_);
    settlements_.push_back(std::move(settlement));
    complete = UpdateWaiters(job);
  }
  if (observer_.on_report) {
    DeliveryReport report;
    report.job = &job;
    report.result = result;
    report.http_status = job.http_status;
    report.detail = job.detail;
    report.since_created = absl::Now() - FromMicros(job.created_micros);
    report.attempted = attempted;
    observer_.on_report(report);
  }
  for (const std::shared_ptr<Waiter>& w : complete) {
    std::vector<store::OutboxJob> out;
    for (uint64_t id : w->ids) out.push_back(w->states[id]);
    w->done(absl::OkStatus(), std::move(out));
  }
}

void OutboxDeliverer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    ++generation_;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
    mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
    abort_.store(true);
  }
  if (poller_.joinable()) poller_.join();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  {
    absl::MutexLock lock(&mu_);
    // What never started goes back to the table with its lease released below.
    ready_.clear();
    held_ids_.clear();
    stopped_ = true;
  }
  if (committer_.joinable()) committer_.join();
  absl::Status s = outbox_->ReleaseLeases(owner_);
  if (!s.ok() && observer_.on_store_error) observer_.on_store_error(s);
  ExpireWaiters(absl::Now(), true);
}

}  // namespace logout::slo

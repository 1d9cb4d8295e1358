// The PostgreSQL store against a real server: the shared PolicyStore contract, plus what only a
// multi-replica store has (LISTEN/NOTIFY, the polling safety net, the server going away,
// row-locked writers on several handles, secrets kept out of errors).
//
// One server is started per test binary (on first use) and every test gets a fresh database.
// Without the server binaries the contract is not instantiated and the named tests skip.
#include "service/store/postgres_store.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/common/deterministic_bytes.h"
#include "tests/store/policy_store_contract.h"
#include "tests/testing/postgres_server.h"

namespace logout::store {
namespace {

using ::logout::testing::PostgresServer;

// Added to every URL: a stopped server must fail connects quickly.
constexpr char kUrlOptions[] = "?connect_timeout=2";

// SharedServer is the binary's one server, started on first use and stopped after the last test.
class SharedServer : public ::testing::Environment {
 public:
  // Get returns the server, or nullptr (recording a test failure) when it cannot start.
  static PostgresServer* Get();

  void TearDown() override { server_.reset(); }

 private:
  std::unique_ptr<PostgresServer> server_;
  absl::Status status_;
};

SharedServer* const shared_server =
    static_cast<SharedServer*>(::testing::AddGlobalTestEnvironment(new SharedServer));

PostgresServer* SharedServer::Get() {
  SharedServer& self = *shared_server;
  if (self.server_ == nullptr && self.status_.ok()) {
    auto server = PostgresServer::Create();
    if (server.ok()) {
      self.server_ = *std::move(server);
    } else {
      self.status_ = server.status();
    }
  }
  if (!self.status_.ok()) ADD_FAILURE() << "PostgreSQL test server: " << self.status_;
  return self.server_.get();
}

// NewDatabaseUrl returns the URL of a fresh database on the shared server ("" on failure, which
// then fails to open).
std::string NewDatabaseUrl() {
  PostgresServer* server = SharedServer::Get();
  if (server == nullptr) return "";
  absl::StatusOr<std::string> url = server->NewDatabase();
  if (!url.ok()) {
    ADD_FAILURE() << url.status();
    return "";
  }
  return *url + kUrlOptions;
}

std::vector<StoreFactory> Factories() {
  if (!PostgresServer::Available()) return {};
  return {StoreFactory{"Postgres", NewDatabaseUrl,
                       [](const std::string& url) { return OpenPostgresStore(url); }}};
}

// ExecSql runs one statement on its own connection, as another program would.
// The tables of schema versions 1 and 2, exactly as that code created them (version 2 added
// the delivery audit).
constexpr char kVersion1Tables[] =
    "CREATE TABLE logoutd_schema (version INTEGER NOT NULL);"
    "CREATE TABLE logoutd_policy (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "version BIGINT NOT NULL, body BYTEA NOT NULL, updated_at_micros BIGINT NOT NULL);"
    "CREATE TABLE logoutd_audit (version BIGINT PRIMARY KEY, time_micros BIGINT NOT NULL, "
    "actor TEXT, action TEXT, object TEXT, before_json TEXT, after_json TEXT);";

absl::Status ExecSql(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(PQerrorMessage(conn));
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      status = absl::InternalError(PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  PQfinish(conn);
  return status;
}

// VersionRecorder collects WatchChanges callbacks with the time each arrived.
class VersionRecorder {
 public:
  std::function<void(uint64_t)> Callback() {
    return [this](uint64_t version) {
      absl::MutexLock lock(&mu_);
      seen_.push_back({version, absl::Now()});
      cv_.SignalAll();
    };
  }

  // WaitFor returns when a version >= `version` was first delivered, or nullopt after `timeout`.
  std::optional<absl::Time> WaitFor(uint64_t version, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    while (true) {
      for (const Seen& s : seen_) {
        if (s.version >= version) return s.at;
      }
      if (cv_.WaitWithDeadline(&mu_, deadline)) return std::nullopt;
    }
  }

  std::vector<uint64_t> versions() {
    absl::MutexLock lock(&mu_);
    std::vector<uint64_t> out;
    for (const Seen& s : seen_) out.push_back(s.version);
    return out;
  }

 private:
  struct Seen {
    uint64_t version;
    absl::Time at;
  };
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

Mutation AddTenant(const std::string& name) {
  return [name](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
    config.add_tenants()->set_name(name);
    v1::AuditEvent event;
    event.set_actor("test");
    event.set_action("CreateTenant");
    event.set_object("tenant/" + name);
    return event;
  };
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, PolicyStoreContractTest, ::testing::ValuesIn(Factories()),
                         [](const auto& info) { return info.param.name; });
// Without the server binaries there is nothing to instantiate; the named tests say why.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PolicyStoreContractTest);

namespace {

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresServer::Available()) GTEST_SKIP() << PostgresServer::kSkipMessage;
    url_ = NewDatabaseUrl();
    ASSERT_FALSE(url_.empty());
  }

  std::unique_ptr<PolicyStore> OpenOrDie() {
    auto store = OpenPostgresStore(url_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string url_;
};

TEST_F(PostgresStoreTest, WatchChangesSeesAnotherReplicasWritePromptly) {
  VersionRecorder seen;  // outlives the stores
  std::unique_ptr<PolicyStore> a = OpenOrDie();
  std::unique_ptr<PolicyStore> b = OpenOrDie();
  ASSERT_TRUE(a && b);
  b->WatchChanges(seen.Callback());
  // The first delivery proves B is listening (it arrives by NOTIFY or by B's first poll).
  ASSERT_TRUE(a->Update(AddTenant("t1")).ok());
  ASSERT_TRUE(seen.WaitFor(1, absl::Seconds(10)).has_value());

  std::vector<double> latencies_ms;
  for (uint64_t version = 2; version <= 6; ++version) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(a->Update(AddTenant(absl::StrCat("t", version))).ok());
    std::optional<absl::Time> at = seen.WaitFor(version, absl::Seconds(10));
    ASSERT_TRUE(at.has_value()) << "B never saw version " << version;
    latencies_ms.push_back(absl::ToDoubleMilliseconds(*at - start));
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::cout << "[ measured ] Update on A -> WatchChanges callback on B: min "
            << latencies_ms.front() << " ms, median " << latencies_ms[latencies_ms.size() / 2]
            << " ms, max " << latencies_ms.back() << " ms (5 writes)\n";
  auto p = b->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 6u);
}

TEST_F(PostgresStoreTest, PollingCatchesUpWithoutNotify) {
  VersionRecorder seen;
  std::unique_ptr<PolicyStore> store = OpenOrDie();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Update(AddTenant("t1")).ok());
  store->WatchChanges(seen.Callback());
  ASSERT_TRUE(seen.WaitFor(1, absl::Seconds(10)).has_value());  // the first poll

  // Another program bumps the version with plain SQL: no NOTIFY is sent.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(
      ExecSql(url_, "UPDATE logoutd_revision SET revision = revision + 10 WHERE id = 1").ok());
  std::optional<absl::Time> at = seen.WaitFor(11, absl::Seconds(10));
  ASSERT_TRUE(at.has_value()) << "the poll never noticed version 11";
  std::cout << "[ measured ] un-notified write noticed by polling after "
            << absl::ToDoubleMilliseconds(*at - start) << " ms (poll interval 2 s)\n";
  EXPECT_EQ(seen.versions().back(), 11u);
}

TEST_F(PostgresStoreTest, ServerDownMakesWritesFailCleanlyAndRecovers) {
  // Its own server: stopping the shared one would disturb other tests.
  auto server = PostgresServer::Create();
  ASSERT_TRUE(server.ok()) << server.status();
  auto db = (*server)->NewDatabase();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string url = *db + kUrlOptions;

  VersionRecorder seen;
  auto a = OpenPostgresStore(url);
  auto b = OpenPostgresStore(url);
  auto idle = OpenPostgresStore(url);  // not used while the server is down
  ASSERT_TRUE(a.ok() && b.ok() && idle.ok());
  (*b)->WatchChanges(seen.Callback());
  ASSERT_TRUE((*a)->Update(AddTenant("before")).ok());
  ASSERT_TRUE(seen.WaitFor(1, absl::Seconds(10)).has_value());

  ASSERT_TRUE((*server)->Stop().ok());
  const absl::Time start = absl::Now();
  auto failed = (*a)->Update(AddTenant("while-down"));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  std::cout << "[ measured ] Update with the server down failed after "
            << absl::ToDoubleMilliseconds(took) << " ms: " << failed.status() << "\n";
  EXPECT_LT(took, absl::Seconds(10));  // bounded by connect_timeout, never a hang
  EXPECT_EQ((*a)->Load().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*b)->Load().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*a)->ListAudit(0, 10).status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE((*server)->Start().ok());
  auto w = (*a)->Update(AddTenant("after"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 2u);
  auto p = (*b)->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 2u);
  ASSERT_EQ(p->config.tenants_size(), 2);  // nothing of the failed write; in name order
  EXPECT_EQ(p->config.tenants(0).name(), "after");
  EXPECT_EQ(p->config.tenants(1).name(), "before");
  auto audit = (*a)->ListAudit(0, 10);
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].policy_version(), 2u);
  EXPECT_EQ((*audit)[1].policy_version(), 1u);
  // A handle whose connections died unnoticed reconnects within the call.
  auto idle_load = (*idle)->Load();
  ASSERT_TRUE(idle_load.ok()) << idle_load.status();
  EXPECT_EQ(idle_load->version, 2u);
  auto idle_write = (*idle)->Update(AddTenant("idle"));
  ASSERT_TRUE(idle_write.ok()) << idle_write.status();
  EXPECT_EQ(idle_write->version, 3u);
  // B's watcher reconnected by itself.
  EXPECT_TRUE(seen.WaitFor(3, absl::Seconds(10)).has_value());
}

TEST_F(PostgresStoreTest, ConcurrentReplicasNeverLoseAWrite) {
  std::unique_ptr<PolicyStore> stores[2] = {OpenOrDie(), OpenOrDie()};
  ASSERT_TRUE(stores[0] && stores[1]);
  constexpr int kThreadsPerStore = 3;
  constexpr int kWrites = 5;
  constexpr int kTotal = 2 * kThreadsPerStore * kWrites;
  // The mutation names the new tenant after the count it read: if two writers ever read the
  // same policy (the read not under the lock), two tenants get the same name and the count
  // falls behind the version.
  const Mutation count_up = [](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
    const int count = config.tenants_size();
    config.add_tenants()->set_name(absl::StrCat("t", count + 1));
    v1::AuditEvent event;
    event.set_action("CountUp");
    return event;
  };
  absl::Mutex mu;
  std::vector<std::string> problems;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerStore; ++t) {
    PolicyStore* store = stores[t % 2].get();
    threads.emplace_back([store, &count_up, &mu, &problems] {
      for (int i = 0; i < kWrites; ++i) {
        auto w = store->Update(count_up);
        absl::MutexLock lock(&mu);
        if (!w.ok()) {
          problems.push_back(w.status().ToString());
        } else if (w->version != static_cast<uint64_t>(w->config.tenants_size())) {
          problems.push_back(
              absl::StrCat("version ", w->version, " but ", w->config.tenants_size(), " tenants"));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  auto p = stores[1]->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, static_cast<uint64_t>(kTotal));
  ASSERT_EQ(p->config.tenants_size(), kTotal);
  // Every count from 1 to kTotal exactly once (Load lists tenants in name order).
  std::set<std::string> names;
  for (const v1::Tenant& t : p->config.tenants()) names.insert(t.name());
  std::set<std::string> expected;
  for (int i = 0; i < kTotal; ++i) expected.insert(absl::StrCat("t", i + 1));
  EXPECT_EQ(names, expected);
}

TEST_F(PostgresStoreTest, ReplicasStartingAtOnceShareOneSchema) {
  constexpr int kReplicas = 4;
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> threads;
  threads.reserve(kReplicas);
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([this, i, &results] { results[i] = OpenPostgresStore(url_).status(); });
  }
  for (std::thread& th : threads) th.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
}

TEST_F(PostgresStoreTest, RefusesANewerSchemaVersion) {
  ASSERT_TRUE(OpenOrDie());
  ASSERT_TRUE(ExecSql(url_, "UPDATE logoutd_schema SET version = 7").ok());
  auto reopened = OpenPostgresStore(url_);
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(reopened.status().message(), "version 7")) << reopened.status();
  EXPECT_TRUE(absl::StrContains(reopened.status().message(), "version 3")) << reopened.status();
}

TEST_F(PostgresStoreTest, UpgradesAVersion1DatabaseInPlace) {
  // Exactly what the version 1 code created, with one committed policy write.
  ASSERT_TRUE(
      ExecSql(url_,
              absl::StrCat(kVersion1Tables,
                           "INSERT INTO logoutd_schema (version) VALUES (1);"
                           "INSERT INTO logoutd_policy VALUES (1, 3, '\\x0a060a0461636d65', 1);"
                           "INSERT INTO logoutd_audit VALUES (3, 1, 'token:ab', 'CreateTenant', "
                           "'tenant/acme', '', '{}');"))
          .ok());
  std::unique_ptr<PolicyStore> store = OpenOrDie();
  ASSERT_TRUE(store);
  auto p = store->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 3u);
  ASSERT_EQ(p->config.tenants_size(), 1);
  EXPECT_EQ(p->config.tenants(0).name(), "acme");
  EXPECT_EQ(store->ListAudit(0, 10)->size(), 1u);
  ASSERT_TRUE(
      store->AppendDeliveryEvents({DeliveryEvent("acme", "web", "delivered", 1, 200, 5)}).ok());
  ASSERT_TRUE(store->Update(AddTenant("beta")).ok());
  // The recorded version is now 3 and the document table is gone: an older reader refuses it,
  // this one reopens.
  ASSERT_TRUE(ExecSql(url_,
                      "DO $$ BEGIN IF (SELECT max(version) FROM logoutd_schema) <> 3 "
                      "OR to_regclass('logoutd_policy') IS NOT NULL "
                      "THEN RAISE EXCEPTION 'schema version not 3'; END IF; END $$")
                  .ok());
  store.reset();
  std::unique_ptr<PolicyStore> again = OpenOrDie();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Load()->version, 4u);
  auto events = again->ListDeliveryEvents("acme", 0, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].client_id(), "web");
}

TEST_F(PostgresStoreTest, UpgradesAVersion2DatabaseWithEverything) {
  // Exactly what the version 2 code created, holding a policy with every kind of object, two
  // audit events and a delivery event.
  const std::string body_hex =
      absl::BytesToHexString(common::DeterministicBytes(EverythingPolicy()));
  ASSERT_TRUE(
      ExecSql(url_,
              absl::StrCat(
                  kVersion1Tables,
                  "CREATE TABLE logoutd_delivery_audit (id BIGSERIAL PRIMARY KEY, "
                  "time_micros BIGINT NOT NULL, tenant TEXT NOT NULL, client_id TEXT NOT NULL, "
                  "uri_origin TEXT NOT NULL, result TEXT NOT NULL, attempts INTEGER NOT NULL, "
                  "http_status INTEGER NOT NULL, detail TEXT NOT NULL);"
                  "CREATE INDEX logoutd_delivery_audit_tenant ON logoutd_delivery_audit "
                  "(tenant, id);"
                  "INSERT INTO logoutd_schema (version) VALUES (2);"
                  "INSERT INTO logoutd_policy VALUES (1, 42, '\\x",
                  body_hex,
                  "', 2);"
                  "INSERT INTO logoutd_audit VALUES (41, 1, 'token:ab', 'ImportPolicy', "
                  "'policy', '', '{}');"
                  "INSERT INTO logoutd_audit VALUES (42, 2, 'token:ab', 'UpdateClient', "
                  "'tenant/acme/client/web', '{}', '{}');"
                  "INSERT INTO logoutd_delivery_audit (time_micros, tenant, client_id, "
                  "uri_origin, result, attempts, http_status, detail) VALUES (5, 'acme', "
                  "'web', 'https://web.example.com', 'delivered', 1, 200, '');"))
          .ok());
  std::unique_ptr<PolicyStore> store = OpenOrDie();
  ASSERT_TRUE(store);
  auto p = store->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 42u);
  EXPECT_EQ(common::DeterministicBytes(p->config),
            common::DeterministicBytes(EverythingPolicyByName()));
  auto audit = store->ListAudit(0, 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].object(), "tenant/acme/client/web");
  EXPECT_EQ(store->ListDeliveryEvents("acme", 0, 10)->size(), 1u);
  EXPECT_FALSE(store->LoadChanges(41)->complete);
  EXPECT_TRUE(store->LoadChanges(42)->tenants.empty());
  auto w = store->UpdateTenant("acme", InTenant("acme", true, [](v1::PolicyConfig& c) {
                                 c.mutable_tenants(0)->mutable_clients(0)->add_allowed_logout_urls(
                                     "https://web.example.com/2");
                               }));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, 43u);
  auto changes = store->LoadChanges(42);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->tenants.size(), 1u);
  EXPECT_EQ(changes->tenants[0].config->clients(0).client_secret(), "s3cret-that-must-survive");
}

// Writers on different tenants, from two store handles (two replicas) and several threads
// each, all succeed, and each tenant's writes are all there; two writers of one tenant that
// both check the same content see exactly one winner.
TEST_F(PostgresStoreTest, TenantWritersRunConcurrentlyAndOneEtagHasOneWinner) {
  std::unique_ptr<PolicyStore> stores[2] = {OpenOrDie(), OpenOrDie()};
  ASSERT_TRUE(stores[0] && stores[1]);
  constexpr int kTenants = 6;
  constexpr int kWrites = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kTenants; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = absl::StrCat("tenant-", t);
      for (int i = 0; i < kWrites; ++i) {
        auto w = stores[(t + i) % 2]->UpdateTenant(
            name, [&](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
              if (c.tenants_size() == 0) c.add_tenants()->set_name(name);
              c.mutable_tenants(0)->add_allowed_logout_urls(absl::StrCat("https://x/", i));
              return v1::AuditEvent();
            });
        if (!w.ok()) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto p = stores[0]->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, static_cast<uint64_t>(kTenants * kWrites));
  ASSERT_EQ(p->config.tenants_size(), kTenants);
  for (const v1::Tenant& t : p->config.tenants()) EXPECT_EQ(t.allowed_logout_urls_size(), kWrites);

  // One tenant, two writers with the same precondition ("the tenant has kWrites URLs").
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> racers;
  for (int r = 0; r < 2; ++r) {
    racers.emplace_back([&, r] {
      auto w = stores[r]->UpdateTenant(
          "tenant-0", [&](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
            if (c.tenants(0).allowed_logout_urls_size() != kWrites) {
              return absl::AbortedError("stale etag");
            }
            c.mutable_tenants(0)->add_allowed_logout_urls(absl::StrCat("https://racer/", r));
            return v1::AuditEvent();
          });
      (w.ok() ? won : lost)++;
      if (!w.ok()) EXPECT_EQ(w.status().code(), absl::StatusCode::kAborted) << w.status();
    });
  }
  for (std::thread& th : racers) th.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 1);
}

TEST_F(PostgresStoreTest, StoresEachTenantAsDeterministicBinaryTenant) {
  std::unique_ptr<PolicyStore> store = OpenOrDie();
  ASSERT_TRUE(store);
  auto w = store->Update(AddTenant("acme"));
  ASSERT_TRUE(w.ok()) << w.status();
  // Another program (or the SQLite store's reader) sees the documented row layout.
  PGconn* conn = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  PGresult* r =
      PQexecParams(conn, "SELECT name, revision, body, updated_at_micros FROM logoutd_tenants", 0,
                   nullptr, nullptr, nullptr, nullptr, /*resultFormat=*/1);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  ASSERT_EQ(PQntuples(r), 1);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "acme");
  v1::Tenant stored;
  EXPECT_TRUE(stored.ParseFromArray(PQgetvalue(r, 0, 2), PQgetlength(r, 0, 2)));
  EXPECT_EQ(stored.name(), "acme");
  EXPECT_EQ(common::DeterministicBytes(stored),
            std::string(PQgetvalue(r, 0, 2), static_cast<size_t>(PQgetlength(r, 0, 2))));
  PQclear(r);
  PQfinish(conn);
}

TEST_F(PostgresStoreTest, DestroyingAWatchingStoreIsPrompt) {
  VersionRecorder seen;
  std::unique_ptr<PolicyStore> store = OpenOrDie();
  ASSERT_TRUE(store);
  store->WatchChanges(seen.Callback());
  ASSERT_TRUE(store->Update(AddTenant("t")).ok());
  ASSERT_TRUE(seen.WaitFor(1, absl::Seconds(10)).has_value());
  const absl::Time start = absl::Now();
  store.reset();
  const absl::Duration took = absl::Now() - start;
  std::cout << "[ measured ] destroying a watching store took " << absl::ToDoubleMilliseconds(took)
            << " ms\n";
  EXPECT_LT(took, absl::Seconds(1));  // the thread is woken, not left to its 2 s poll
}

// --- Secrets in the URL never reach an error message.

struct SecretCase {
  std::string name;
  std::string url;  // "$CLOSED" is a closed local port, "$LIVE" the shared server's port
  absl::StatusCode code;

  friend void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.name; }
};

class PasswordNeverInErrorsTest : public ::testing::TestWithParam<SecretCase> {};

constexpr char kSecret[] = "Sup3r-S3cret-PW";

TEST_P(PasswordNeverInErrorsTest, PasswordNeverInErrors) {
  if (!PostgresServer::Available()) GTEST_SKIP() << PostgresServer::kSkipMessage;
  std::string live_port = "1";
  if (absl::StrContains(GetParam().url, "$LIVE")) {
    PostgresServer* server = SharedServer::Get();
    ASSERT_NE(server, nullptr);
    live_port = absl::StrCat(server->port());
  }
  // A port that was just free: nothing listens there.
  int closed_port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    closed_port = ntohs(addr.sin_port);
    close(fd);
  }
  const std::string url = absl::StrReplaceAll(
      GetParam().url, {{"$CLOSED", absl::StrCat(closed_port)}, {"$LIVE", live_port}});
  auto store = OpenPostgresStore(url);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), GetParam().code) << store.status();
  EXPECT_FALSE(absl::StrContains(store.status().message(), kSecret)) << store.status();
  EXPECT_FALSE(absl::StrContains(store.status().message(), "Sup3r%2DS3cret")) << store.status();
  EXPECT_FALSE(absl::StrContains(store.status().message(), url)) << store.status();
}

INSTANTIATE_TEST_SUITE_P(
    Urls, PasswordNeverInErrorsTest,
    ::testing::Values(
        SecretCase{"UserinfoPasswordClosedPort",
                   absl::StrCat("postgresql://logoutd:", kSecret,
                                "@127.0.0.1:$CLOSED/logoutd?connect_timeout=2"),
                   absl::StatusCode::kUnavailable},
        SecretCase{"PercentEncodedPasswordClosedPort",
                   "postgresql://logoutd:Sup3r%2DS3cret%2DPW@127.0.0.1:$CLOSED/logoutd"
                   "?connect_timeout=2",
                   absl::StatusCode::kUnavailable},
        SecretCase{"QueryPasswordClosedPort",
                   absl::StrCat("postgres://logoutd@127.0.0.1:$CLOSED/logoutd?password=", kSecret,
                                "&connect_timeout=2"),
                   absl::StatusCode::kUnavailable},
        SecretCase{"UnparsableUrlWithPassword",
                   absl::StrCat("postgresql://logoutd:", kSecret, "@127.0.0.1/logoutd%zz"),
                   absl::StatusCode::kInvalidArgument},
        // libpq checks the port only when connecting.
        SecretCase{"BadPortWithPassword",
                   absl::StrCat("postgresql://logoutd:", kSecret, "@127.0.0.1:notaport/logoutd"),
                   absl::StatusCode::kUnavailable},
        SecretCase{"UnknownParameterWithPassword",
                   absl::StrCat("postgresql://logoutd:", kSecret,
                                "@127.0.0.1:$CLOSED/logoutd?nosuchoption=", kSecret),
                   absl::StatusCode::kInvalidArgument},
        // The server echoes the database name, which here equals the password.
        SecretCase{"ServerEchoesThePassword",
                   absl::StrCat("postgresql://logoutd_test:", kSecret, "@127.0.0.1:$LIVE/", kSecret,
                                "?connect_timeout=2"),
                   absl::StatusCode::kUnavailable}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace logout::store

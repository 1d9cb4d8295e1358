// Writes what the end-to-end load test serves and sends (bench/load_scenario.h), with freshly
// generated keys so every run uses real signatures:
//
//   OUT/policy.json       tenant "bench": issuer, a JWKS with one RSA-2048 (RS256) and one P-256
//                         (ES256) key, client "app" with --entries allow-list entries (10%
//                         wildcards), clients "app-rs256" / "app-es256" registered for their alg
//   OUT/hint_rs256.txt    an id_token_hint for app-rs256 naming the bench session
//   OUT/hint_es256.txt    the same for app-es256
//   OUT/rs256_public.pem  the public keys (the load generator times a bare verify with them)
//   OUT/es256_public.pem
//
//   build-bench/bench/mint_bench_policy --out_dir=/tmp/logoutd-bench [--entries=1000]
#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/entries.h"
#include "bench/load_scenario.h"
#include "google/protobuf/util/json_util.h"
#include "logout/v1/policy.pb.h"
#include "tests/testing/jwt_minter.h"

ABSL_FLAG(std::string, out_dir, "", "directory to write policy.json, the hints and the keys to");
ABSL_FLAG(int, entries, 1000, "allow-list entries of client \"app\" (at least 100)");

namespace {

namespace v1 = logout::v1;
using logout::testing::TestKey;

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

std::string PublicPem(const TestKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.pkey());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string Hint(const TestKey& key, const std::string& alg, const std::string& kid,
                 const std::string& client) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string header =
      absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"JWT"})");
  // iat a minute ago; no max_hint_age in the policy, so the hint stays usable for later runs.
  const std::string claims = absl::StrCat(
      R"({"iss":")", logout::bench::kBenchIssuer, R"(","sub":")", logout::bench::kBenchSubject,
      R"(","aud":")", client, R"(","sid":")", logout::bench::kBenchSession, R"(","iat":)", now - 60,
      R"(,"exp":)", now + 86400, R"(,"nonce":"n-0S6_WzA2Mj","auth_time":)", now - 60, "}");
  return key.Mint(alg, header, claims);
}

void AddHintClient(v1::Tenant& t, const std::string& id, const std::string& alg) {
  v1::Client* c = t.add_clients();
  c->set_client_id(id);
  c->set_id_token_signed_response_alg(alg);
  c->add_allowed_logout_urls(logout::bench::kSignedOutUrl);
  c->add_allowed_logout_urls("https://app.bench.example.com/goodbye");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("mint_bench_policy --out_dir=DIR [--entries=1000]");
  absl::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  const int entries = absl::GetFlag(FLAGS_entries);
  if (dir.empty() || entries < static_cast<int>(logout::bench::kMinEntries)) {
    std::fprintf(stderr, "usage: mint_bench_policy --out_dir=DIR [--entries=N >= %zu]\n",
                 logout::bench::kMinEntries);
    return EXIT_FAILURE;
  }

  const TestKey rsa = TestKey::Generate(logout::jwt::KeyFamily::kRsa);
  const TestKey p256 = TestKey::Generate(logout::jwt::KeyFamily::kEcP256);

  v1::PolicyConfig config;
  v1::Tenant* t = config.add_tenants();
  t->set_name(logout::bench::kBenchTenant);
  t->set_issuer(logout::bench::kBenchIssuer);
  t->add_allowed_logout_urls("https://bench.example.com/");
  *t->mutable_jwks()->add_keys() = rsa.ToJwk("rs-1");
  *t->mutable_jwks()->add_keys() = p256.ToJwk("es-1");
  v1::Client* app = t->add_clients();
  app->set_client_id(logout::bench::kNoHintClient);
  for (std::string& e : logout::bench::MakeEntries(static_cast<size_t>(entries))) {
    app->add_allowed_logout_urls(std::move(e));
  }
  AddHintClient(*t, logout::bench::kRs256Client, "RS256");
  AddHintClient(*t, logout::bench::kEs256Client, "ES256");

  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(config, &json, options).ok()) {
    std::fprintf(stderr, "cannot serialise the policy\n");
    return EXIT_FAILURE;
  }
  const bool ok =
      WriteFile(dir + "/policy.json", json) &&
      WriteFile(dir + "/hint_rs256.txt", Hint(rsa, "RS256", "rs-1", logout::bench::kRs256Client)) &&
      WriteFile(dir + "/hint_es256.txt",
                Hint(p256, "ES256", "es-1", logout::bench::kEs256Client)) &&
      WriteFile(dir + "/rs256_public.pem", PublicPem(rsa)) &&
      WriteFile(dir + "/es256_public.pem", PublicPem(p256));
  if (!ok) return EXIT_FAILURE;
  std::printf(
      "wrote %s/{policy.json,hint_rs256.txt,hint_es256.txt,rs256_public.pem,"
      "es256_public.pem} (client \"app\": %d entries)\n",
      dir.c_str(), entries);
  return EXIT_SUCCESS;
}

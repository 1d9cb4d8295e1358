// id_token_hint verification cost per algorithm, next to a bare OpenSSL EVP_DigestVerify of the
// same signing input with the same key, in one run. Prints the ratio per algorithm at the end
// (issue target: <= 1.2x for RS256 and ES256).
//
//   build/bench/jwt_benchmark [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"
#include "tests/testing/jwt_minter.h"

namespace {

using logout::jwt::KeyFamily;
using logout::testing::TestKey;

constexpr char kClaims[] =
    R"({"iss":"https://acme.example.com/","sub":"auth0|5f7c8ec7c33c6c004bbafe82","aud":"web","sid":"7yW9Fj3lXyQ0ch8u4kXhY","iat":1700000000,"exp":1700036000,"nonce":"n-0S6_WzA2Mj","auth_time":1700000000})";

struct Setup {
  TestKey key;
  std::string alg;
  std::string token;
  std::unique_ptr<logout::jwt::KeySet> keys;
};

Setup Make(const std::string& alg) {
  const KeyFamily family = alg == "ES256"   ? KeyFamily::kEcP256
                           : alg == "ES384" ? KeyFamily::kEcP384
                           : alg == "EdDSA" ? KeyFamily::kEd25519
                                            : KeyFamily::kRsa;
  Setup s{TestKey::Generate(family), alg, "", nullptr};
  s.token =
      s.key.Mint(alg, absl::StrCat(R"({"alg":")", alg, R"(","kid":"k1","typ":"JWT"})"), kClaims);
  logout::v1::Jwks jwks;
  *jwks.add_keys() = s.key.ToJwk("k1");
  s.keys = *logout::jwt::KeySet::Create(jwks);
  return s;
}

const Setup& Get(const std::string& alg) {
  static auto* setups = new std::map<std::string, Setup>();
  auto it = setups->find(alg);
  if (it == setups->end()) it = setups->emplace(alg, Make(alg)).first;
  return it->second;
}

// logoutd's path: decode (base64url, JSON, claim types) + key selection + verification.
void BM_LogoutdVerify(benchmark::State& state, const std::string& alg) {
  const Setup& s = Get(alg);
  for (auto _ : state) {
    absl::StatusOr<logout::jwt::IdToken> t = logout::jwt::DecodeIdToken(s.token);
    absl::Status ok = logout::jwt::VerifyWithKeys(*t, *s.keys);
    if (!ok.ok()) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(ok);
  }
}

// Decoding alone (base64url, JSON with duplicate detection, claim types).
void BM_DecodeOnly(benchmark::State& state) {
  const Setup& s = Get("RS256");
  for (auto _ : state) {
    absl::StatusOr<logout::jwt::IdToken> t = logout::jwt::DecodeIdToken(s.token);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_DecodeOnly);

// The floor: EVP_DigestVerifyInit + EVP_DigestVerify of the same bytes with the same key.
void BM_BareEvpVerify(benchmark::State& state, const std::string& alg) {
  const Setup& s = Get(alg);
  const std::string input = s.token.substr(0, s.token.rfind('.'));
  std::string sig = s.key.Sign(alg, input);
  if (alg == "ES256" || alg == "ES384") {  // OpenSSL wants DER
    const size_t half = sig.size() / 2;
    ECDSA_SIG* e = ECDSA_SIG_new();
    ECDSA_SIG_set0(
        e, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), half, nullptr),
        BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + half, half, nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(e, &der);
    sig.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
    ECDSA_SIG_free(e);
  }
  const EVP_MD* md = alg == "EdDSA" ? nullptr : EVP_sha256();
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, s.key.pkey());
    if (alg == "PS256") {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    const int ok =
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    if (ok != 1) state.SkipWithError("bare verification failed");
    benchmark::DoNotOptimize(ok);
  }
}

const std::vector<std::string> kAlgs = {"RS256", "PS256", "ES256", "EdDSA"};

// Collects per-benchmark times to print ratios after the normal console output.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) times_[r.benchmark_name()] = r.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void PrintRatios() const {
    std::printf("\nid_token_hint verification vs bare EVP_DigestVerify (CPU time, same input):\n");
    for (const std::string& alg : kAlgs) {
      const auto a = times_.find("BM_LogoutdVerify/" + alg);
      const auto b = times_.find("BM_BareEvpVerify/" + alg);
      if (a == times_.end() || b == times_.end() || b->second <= 0) continue;
      std::printf("  %-6s logoutd %8.2f us  bare %8.2f us  ratio %.3fx\n", alg.c_str(),
                  a->second / 1000.0, b->second / 1000.0, a->second / b->second);
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  for (const std::string& alg : kAlgs) {
    benchmark::RegisterBenchmark(("BM_LogoutdVerify/" + alg).c_str(), BM_LogoutdVerify, alg);
    benchmark::RegisterBenchmark(("BM_BareEvpVerify/" + alg).c_str(), BM_BareEvpVerify, alg);
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}

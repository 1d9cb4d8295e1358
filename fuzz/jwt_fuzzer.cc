// libFuzzer target for the JWS / JSON side of id_token_hint: DecodeIdToken, then signature
// checks against a fixed key set and secret. Invariants (abort on violation):
//  - decoding never crashes and either fails with InvalidArgument or yields a token whose
//    signature re-encodes to the input's third segment (strict, canonical base64url);
//  - a decoded token's signing input is exactly the input's first two segments;
//  - verification with keys no attacker holds never succeeds;
//  - base64url decode/encode round-trips.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "service/jwt/base64url.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"

namespace {

using logout::jwt::KeySet;

void Check(bool ok) {
  if (!ok) abort();
}

// A key set of fresh keys generated at start-up: no input can carry a valid signature.
const KeySet& Keys() {
  static const std::unique_ptr<KeySet>* keys = [] {
    logout::v1::Jwks jwks;
    EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(ed, raw, &len);
    EVP_PKEY_free(ed);
    logout::v1::Jwk* jwk = jwks.add_keys();
    jwk->set_kty("OKP");
    jwk->set_crv("Ed25519");
    jwk->set_kid("k1");
    jwk->set_x(logout::jwt::Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), len)));
    auto set = KeySet::Create(jwks);
    Check(set.ok());
    return new std::unique_ptr<KeySet>(*std::move(set));
  }();
  return **keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (std::optional<std::string> bytes = logout::jwt::Base64UrlDecode(input)) {
    Check(logout::jwt::Base64UrlEncode(*bytes) == input);
  }
  absl::StatusOr<logout::jwt::IdToken> token = logout::jwt::DecodeIdToken(input);
  if (!token.ok()) {
    Check(token.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const size_t last_dot = input.rfind('.');
  Check(token->signing_input == input.substr(0, last_dot));
  Check(logout::jwt::Base64UrlEncode(token->signature) == input.substr(last_dot + 1));
  Check(!logout::jwt::VerifyWithKeys(*token, Keys()).ok());
  Check(!logout::jwt::VerifyWithSecret(*token, "fuzz-secret-fuzz-secret-fuzz-secret-0").ok());
  return 0;
}

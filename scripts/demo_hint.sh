#!/usr/bin/env bash
# Makes a throw-away signing key and a demo policy that trusts it, then mints an id_token_hint.
#   bash scripts/demo_hint.sh DIR [SID]
# Writes DIR/policy.json (tenant "demo" whose JWKS holds the new Ed25519 public key, and client
# "demo-app" registered for EdDSA) and DIR/key.pem, and prints
# a fresh hint for subject "alice", session SID (default sid-123). Nothing here is a fixture:
# every run makes a new key.
set -euo pipefail
dir=${1:?usage: demo_hint.sh DIR [SID]}
sid=${2:-sid-123}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

openssl genpkey -algorithm ED25519 -out "$dir/key.pem" 2>/dev/null
x=$(openssl pkey -in "$dir/key.pem" -pubout -outform DER | tail -c 32 | b64url)

cat > "$dir/policy.json" <<JSON
{
  "tenants": [{
    "name": "demo",
    "issuer": "https://demo.example.com/",
    "allowedLogoutUrls": ["https://demo.example.com/logged-out"],
    "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "demo-1", "use": "sig", "x": "$x"}]},
    "maxHintAge": "86400s",
    "enabledLocales": ["en"],
    "clients": [{
      "clientId": "demo-app",
      "idTokenSignedResponseAlg": "EdDSA",
      "allowedLogoutUrls": ["https://app.demo.example.com/signed-out"]
    }]
  }]
}
JSON

now=$(date +%s)
header=$(printf '{"alg":"EdDSA","kid":"demo-1","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"https://demo.example.com/","sub":"alice","aud":"demo-app","sid":"%s","iat":%d,"exp":%d}' \
  "$sid" "$now" $((now + 3600)) | b64url)
printf '%s.%s' "$header" "$payload" > "$dir/signing_input"
sig=$(openssl pkeyutl -sign -inkey "$dir/key.pem" -rawin -in "$dir/signing_input" | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"

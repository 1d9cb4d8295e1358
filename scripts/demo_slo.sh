#!/usr/bin/env bash
# Makes a throw-away logout-token signing key and a demo policy for single logout.
#   bash scripts/demo_slo.sh DIR
# Writes DIR/policy.json: tenant "demo" with one ES256 signing key (generated now, never a
# fixture), client "app1" with a front-channel URI (iss/sid added) and client "app2" with a
# back-channel URI limited to rp-logout. Serve it with
#   logoutd --store=file --policy=DIR/policy.json --slo_allow_unauthenticated   (a local demo)
# and call PlanLogoutNotifications / GetDiscoveryMetadata (see README "Single logout").
set -euo pipefail
dir=${1:?usage: demo_slo.sh DIR}
mkdir -p "$dir"
umask 077
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/slo-key.pem" 2>/dev/null
# The PEM as one JSON string (newlines as \n).
pem=$(awk '{printf "%s\\n", $0}' "$dir/slo-key.pem")

cat > "$dir/policy.json" <<JSON
{
  "tenants": [{
    "name": "demo",
    "issuer": "https://demo.example.com/",
    "signingKeys": [{"kid": "slo-1", "alg": "ES256", "privateKeyPem": "$pem"}],
    "clients": [
      {
        "clientId": "app1",
        "allowedLogoutUrls": ["https://app1.demo.example.com/signed-out"],
        "frontchannelLogoutUri": "https://app1.demo.example.com/frontchannel?tab=1",
        "frontchannelLogoutSessionRequired": true
      },
      {
        "clientId": "app2",
        "idTokenSignedResponseAlg": "ES256",
        "allowedLogoutUrls": ["https://app2.demo.example.com/signed-out"],
        "backchannelLogoutUri": "https://api.app2.demo.example.com/backchannel-logout",
        "backchannelLogoutSessionRequired": true,
        "backchannelLogoutInitiators": {"mode": "MODE_CUSTOM", "selectedInitiators": ["rp-logout"]}
      }
    ]
  }]
}
JSON
rm -f "$dir/slo-key.pem"
echo "wrote $dir/policy.json (contains a fresh private key: keep it private)"

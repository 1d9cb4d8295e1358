// The registration shape both systems serve in bench/peer_compare.sh, in one place so the
// oidc-provider clients (provider.mjs) and the logoutd policy (logoutd_policy.mjs) cannot drift:
// CLIENTS clients c0000..c0999, each with URIS exact post-logout URIs
// https://app-N.example.com/bye/K (K = 0..URIS-1), ID tokens signed with RS256.
export const CLIENTS = 1000;
export const URIS = 20;
export const ALG = 'RS256';
export const KID = 'peer-rs256-1';

export const clientId = (i) => `c${String(i).padStart(4, '0')}`;
export const postLogoutUris = (i) =>
  Array.from({ length: URIS }, (_, k) => `https://app-${i}.example.com/bye/${k}`);
export const redirectUris = (i) => [`https://app-${i}.example.com/callback`];

// The client and URI the benchmark requests use: a client in the middle of the list and its
// last URI (a linear search over the 20 entries walks all of them).
export const BENCH_CLIENT_INDEX = 500;
export const BENCH_URI_INDEX = URIS - 1;
export const BENCH_SID = 'sid-peer-7yW9Fj3lXyQ0ch8u';
export const BENCH_SUB = 'user-5f7c8ec7c33c6c004bbafe82';

// args(['--a=1', '--b=x']) -> { a: '1', b: 'x' }
export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/s.exec(a);
    if (!m) throw new Error(`unexpected argument ${a} (want --name=value)`);
    out[m[1]] = m[2];
  }
  return out;
}

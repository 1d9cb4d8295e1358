// Writes logoutd's policy of the same shape as provider.mjs's registrations (shape.mjs): one
// tenant whose issuer is the provider's, a JWKS with the same RS256 public key, and the same
// clients with their post-logout URIs as exact allowed_logout_urls.
//
//   node bench/peer/logoutd_policy.mjs --jwks=DIR/jwks.json --issuer=URL --out=DIR/policy.json \
//       [--tenant=peer] [--matching=REDIRECT_MATCHING_EXACT]
//
// Matching defaults to EXACT: byte-identical comparison, what oidc-provider does
// (post_logout_redirect_uris.includes(uri)); REDIRECT_MATCHING_AUTH0 parses the target instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { ALG, CLIENTS, args, clientId, postLogoutUris } from './shape.mjs';

const a = args();
if (!a.jwks || !a.issuer || !a.out) {
  throw new Error('usage: logoutd_policy.mjs --jwks=FILE --issuer=URL --out=FILE [--tenant=NAME] [--matching=MODE]');
}
const jwks = JSON.parse(readFileSync(a.jwks, 'utf8'));
const policy = {
  tenants: [{
    name: a.tenant ?? 'peer',
    issuer: a.issuer,
    redirectMatching: a.matching ?? 'REDIRECT_MATCHING_EXACT',
    jwks: { keys: jwks.keys.map(({ kty, kid, alg, use, n, e }) => ({ kty, kid, alg, use, n, e })) },
    clients: Array.from({ length: CLIENTS }, (_, i) => ({
      clientId: clientId(i),
      idTokenSignedResponseAlg: ALG,
      allowedLogoutUrls: postLogoutUris(i),
    })),
  }],
};
writeFileSync(a.out, `${JSON.stringify(policy)}\n`);

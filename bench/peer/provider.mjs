// node-oidc-provider as logoutd's peer (bench/peer_compare.sh): one Provider, one process (so one
// core), listening on 127.0.0.1:PORT with issuer http://127.0.0.1:PORT.
//
//   node bench/peer/provider.mjs --key=DIR/private.jwk.json --port=PORT [--host=127.0.0.1] \
//       [--session_cookie=FILE]
//
// Signing key: the RS256 private JWK of keygen.mjs (the hint minter signs with the same key).
// Clients (shape.mjs): c0000..c0999, 20 exact post_logout_redirect_uris each, RS256 ID tokens,
// public clients (token_endpoint_auth_method none). No dev interactions; the in-memory adapter
// (bounded LRU of 1,000 entries) stores the sessions. Its notices are silenced; it prints
// "listening ISSUER" on stdout when ready.
//
// The request the benchmark drives is RP-Initiated Logout, GET /session/end with id_token_hint,
// post_logout_redirect_uri and client_id. With the cookie of a signed-in session (see
// --session_cookie below) oidc-provider answers 200 with the logout confirmation page
// (logoutSource: a form posting xsrf to /session/end/confirm); without one it answers 200 with
// an auto-submitting form to the same place and stores a new session. Either way it first decodes
// the hint, finds its `aud` client, verifies the signature against its own keys and the claims
// (iss, aud, sub; exp ignored as the spec allows), checks client_id against aud and the
// post_logout_redirect_uri against the client's list. A failure is a 400 error page.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import {
  ALG, BENCH_CLIENT_INDEX, BENCH_SID, BENCH_SUB, CLIENTS, args, clientId, postLogoutUris, redirectUris,
} from './shape.mjs';

const a = args();
if (!a.key || !a.port) throw new Error('usage: provider.mjs --key=FILE --port=PORT [--host=H]');
const host = a.host ?? '127.0.0.1';
const issuer = `http://${host}:${a.port}`;

// oidc-provider prints its development notices (unsupported runtime, in-memory adapter, default
// page renderers) with console.info / console.warn; silence both before it is loaded.
const log = console.log.bind(console);
console.info = () => {};
console.warn = () => {};
const { default: Provider } = await import('oidc-provider');

const cookieKey = randomBytes(32).toString('base64url');
const clients = Array.from({ length: CLIENTS }, (_, i) => ({
  client_id: clientId(i),
  redirect_uris: redirectUris(i),
  post_logout_redirect_uris: postLogoutUris(i),
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'none',
  id_token_signed_response_alg: ALG,
}));

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [JSON.parse(readFileSync(a.key, 'utf8'))] },
  cookies: { keys: [cookieKey] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // Rendered only when a session cookie names a logged-in account (not in the benchmark).
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><title>Sign out</title>${form}<button form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`;
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>Error</title><h1>${out.error}</h1><p>${out.error_description}</p>`;
  },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, IdToken: 3600, AccessToken: 3600 },
});
provider.silent = true; // Koa: no stack traces on stderr for server errors

// --session_cookie=FILE: a signed-in browser. Stores a session of the hint's subject with an
// authorization of the bench client under the hint's sid, and writes the Cookie header naming it
// (the session id and its keygrip signature, HMAC-SHA1 over "name=value" with the first cookie
// key, as the `cookies` module signs). With it, GET /session/end finds that session and renders
// logoutSource, the confirmation page; it stores the logout state (xsrf secret, client,
// post_logout_redirect_uri) back into the same session on each request.
if (a.session_cookie) {
  const session = new provider.Session({
    jti: randomBytes(16).toString('base64url'),
    accountId: BENCH_SUB,
    loginTs: Math.floor(Date.now() / 1000) - 60,
    authorizations: { [clientId(BENCH_CLIENT_INDEX)]: { sid: BENCH_SID } },
  });
  await session.save(3600);
  const name = provider.cookieName('session');
  const pair = `${name}=${session.jti}`;
  const sig = createHmac('sha1', cookieKey).update(pair).digest('base64url');
  writeFileSync(a.session_cookie, `${pair}; ${name}.sig=${sig}\n`);
}
provider.listen(Number(a.port), host, () => log(`listening ${issuer}`));
// A normal exit on SIGTERM/SIGINT (so node --cpu-prof writes its profile).
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

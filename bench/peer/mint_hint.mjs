// Signs an id_token_hint with the RS256 key of keygen.mjs and prints it.
//
//   node bench/peer/mint_hint.mjs --key=DIR/private.jwk.json --iss=URL [--aud=c0500] \
//       [--sub=...] [--sid=...]
//
// Header {alg: RS256, kid, typ: JWT}; claims iss, sub, aud (the client id), sid, iat (a minute
// ago), exp (a day later), auth_time, nonce: the shape of an ID token oidc-provider issues.
import { readFileSync } from 'node:fs';
import { SignJWT, importJWK } from 'jose';
import { BENCH_CLIENT_INDEX, BENCH_SID, BENCH_SUB, args, clientId } from './shape.mjs';

const a = args();
if (!a.key || !a.iss) throw new Error('usage: mint_hint.mjs --key=FILE --iss=URL [--aud=ID] [--sub=S] [--sid=S]');
const jwk = JSON.parse(readFileSync(a.key, 'utf8'));
const key = await importJWK(jwk, jwk.alg);
const now = Math.floor(Date.now() / 1000);
const hint = await new SignJWT({ sid: a.sid ?? BENCH_SID, auth_time: now - 60, nonce: 'n-0S6_WzA2Mj' })
  .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
  .setIssuer(a.iss)
  .setSubject(a.sub ?? BENCH_SUB)
  .setAudience(a.aud ?? clientId(BENCH_CLIENT_INDEX))
  .setIssuedAt(now - 60)
  .setExpirationTime(now + 86400)
  .sign(key);
process.stdout.write(`${hint}\n`);

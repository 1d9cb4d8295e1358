// Makes a fresh RSA-2048 key for RS256 (nothing here is a fixture: every run has its own key).
//
//   node bench/peer/keygen.mjs --out=DIR
//
// Writes DIR/private.jwk.json (the private JWK with kid/alg/use: oidc-provider's signing key and
// the hint minter's) and DIR/jwks.json (the public JWKS: logoutd's tenant jwks).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { ALG, KID, args } from './shape.mjs';

const { out } = args();
if (!out) throw new Error('usage: keygen.mjs --out=DIR');
const { publicKey, privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
const meta = { kid: KID, alg: ALG, use: 'sig' };
const priv = { ...(await exportJWK(privateKey)), ...meta };
const pub = { ...(await exportJWK(publicKey)), ...meta };
writeFileSync(join(out, 'private.jwk.json'), `${JSON.stringify(priv)}\n`, { mode: 0o600 });
writeFileSync(join(out, 'jwks.json'), `${JSON.stringify({ keys: [pub] })}\n`);

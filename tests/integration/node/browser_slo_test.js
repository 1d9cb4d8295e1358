// Single logout in a real browser: headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against the example web tier (client/web/web_tier.js) calling the real
// logoutd. Logging out of app1 loads every app's front-channel URL (with iss and sid) and ends
// at the validated post_logout_redirect_uri with its state; a refused redirect ends on the 400
// error page with no front-channel URL loaded.
//
//   node browser_slo_test.js /path/to/logoutd     (exit 77 = skipped: no Chromium)
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { makeKey, writePolicy, startLogoutd, stopLogoutd, checker } = require('./slo_fixture');

const CHROMIUM = process.env.LOGOUT_CHROMIUM || '/usr/bin/chromium';
const ISS = 'https://op.demo.example/';
const WEB_DIR = path.join(__dirname, '..', '..', '..', 'client', 'web');

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`SKIP: ${CHROMIUM} not found (scripts/setup.sh installs Debian's chromium)`);
    process.exit(77);
  }
  let chromium;
  let webTier;
  try {
    ({ chromium } = require(path.join(__dirname, 'node_modules/playwright-core')));
    webTier = require(path.join(WEB_DIR, 'web_tier.js'));
  } catch (e) {
    console.error(`node modules missing (${e.message}): run scripts/setup.sh (npm ci in `
      + 'tests/integration/node and client/web)');
    process.exit(1);
  }
  const jose = await import('jose');
  const binary = process.argv[2];
  const idKey = makeKey('RS256', 'id-key-1');

  const apps = [];
  for (const name of ['app1', 'app2', 'app3']) apps.push(await webTier.createDemoApp({ name }));
  const [app1, app2, app3] = apps;
  const policyFile = writePolicy({
    tenants: [{
      name: 'demo',
      issuer: ISS,
      jwks: { keys: [{ kty: idKey.jwk.kty, kid: idKey.kid, alg: 'RS256', use: 'sig', n: idKey.jwk.n, e: idKey.jwk.e }] },
      clients: apps.map((a) => ({
        clientId: a.name,
        allowedLogoutUrls: [`${a.origin}/signed-out`],
        frontchannelLogoutUri: `${a.origin}/frontchannel?app=${a.name}`,
        frontchannelLogoutSessionRequired: true,
      })),
    }],
  });
  const logoutd = await startLogoutd(binary, policyFile);
  const tier = await webTier.createWebTier({ logoutd: `127.0.0.1:${logoutd.port}`, tenant: 'demo', log: () => {} });

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const { check, finish } = checker();
  const clearHits = () => apps.forEach((a) => a.hits.splice(0));

  async function login() {
    await page.goto(`${tier.url}/demo/login?sub=alice&clients=app1,app2,app3`);
    const cookie = (await context.cookies(tier.url)).find((c) => c.name === 'op_sid');
    assert.ok(cookie, 'the web tier set its session cookie');
    return cookie.value;
  }
  function idTokenHint(clientId, sid) {
    return new jose.SignJWT({ sid })
      .setProtectedHeader({ alg: 'RS256', kid: idKey.kid, typ: 'JWT' })
      .setIssuer(ISS).setAudience(clientId).setSubject('alice').setIssuedAt().setExpirationTime('10m')
      .sign(idKey.privateKey);
  }
  function expectFrontchannelHits(sid) {
    for (const a of apps) {
      assert.equal(a.hits.length, 1, `${a.name} front-channel hits: ${JSON.stringify(a.hits)}`);
      assert.equal(a.hits[0].iss, ISS, a.name);
      assert.equal(a.hits[0].sid, sid, a.name);
      assert.ok(a.hits[0].query.startsWith(`?app=${a.name}&`), `${a.name} keeps its registered query: ${a.hits[0].query}`);
    }
  }

  await check('logging out of app1 loads every other app\'s front-channel URL and ends at the validated redirect', async () => {
    const sid = await login();
    clearHits();
    const hint = await idTokenHint('app1', sid);
    const target = `${app1.origin}/signed-out`;
    await page.goto(`${tier.url}/oidc/logout?id_token_hint=${hint}`
      + `&post_logout_redirect_uri=${encodeURIComponent(target)}&state=st-42`);
    await page.waitForURL(`${target}?state=st-42`, { timeout: 15000 });
    assert.equal(await page.textContent('#signed-out'), 'app1: signed out');
    assert.equal(await page.textContent('#state'), 'st-42');
    expectFrontchannelHits(sid); // app2 and app3, and app1 (the plan includes the initiator)
    assert.ok(app2.hits.length === 1 && app3.hits.length === 1);
    assert.equal(tier.sessions.has(sid), false, 'the OP session ended');
    assert.equal((await context.cookies(tier.url)).some((c) => c.name === 'op_sid'), false, 'session cookie cleared');
  });

  await check('a redirect that is not allowed ends on the 400 error page and loads no front-channel URL', async () => {
    const sid = await login();
    clearHits();
    const hint = await idTokenHint('app1', sid);
    const logoutUrl = `${tier.url}/oidc/logout?id_token_hint=${hint}`
      + `&post_logout_redirect_uri=${encodeURIComponent('https://evil.example.net/')}&state=x`;
    const response = await page.goto(logoutUrl);
    assert.equal(response.status(), 400);
    await page.waitForTimeout(1000);
    assert.equal(page.url(), logoutUrl);
    assert.match(await page.textContent('#error'), /post_logout_redirect_uri/);
    assert.equal(await page.locator('iframe').count(), 0);
    for (const a of apps) assert.equal(a.hits.length, 0, `${a.name} was notified`);
    assert.equal(tier.sessions.has(sid), true, 'the session was not ended');
  });

  await check('without a hint the user confirms first, then every app is notified and the redirect follows', async () => {
    const sid = await login();
    clearHits();
    const target = `${app2.origin}/signed-out`;
    await page.goto(`${tier.url}/oidc/logout?client_id=app2`
      + `&post_logout_redirect_uri=${encodeURIComponent(target)}&state=st-7`);
    assert.equal(await page.locator('form#confirm').count(), 1);
    for (const a of apps) assert.equal(a.hits.length, 0, 'nothing before the user confirms');
    await page.click('form#confirm button');
    await page.waitForURL(`${target}?state=st-7`, { timeout: 15000 });
    expectFrontchannelHits(sid);
  });

  await context.close();
  await tier.close();
  for (const a of apps) await a.close();
  await check('SIGTERM stops logoutd with exit code 0', async () => {
    assert.equal(await stopLogoutd(logoutd), 0);
  });
  fs.rmSync(userDataDir, { recursive: true, force: true });
  finish();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// --deliver_backchannel end to end: the real logoutd POSTs logout tokens to a real HTTP receiver
// that validates each token like a relying party would (jose: signature with the tenant's public
// JWK, typ logout+jwt, iss, aud, iat/exp, jti, events, no nonce, sid/sub) and answers scripted
// statuses. Asserts the retry rules, a fresh jti per attempt, the bounded total time, the
// per-job log line, and that no token ever reaches logoutd's logs.
//
//   node backchannel_delivery_test.js /path/to/logoutd
'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');
const {
  makeKey, writePolicy, startLogoutd, stopLogoutd, policyClient, unary, closedPort, waitFor, checker,
  scrapeMetrics,
} = require('./slo_fixture');

const ISS = 'https://op.bc.example/';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
// The flaky script's 4th attempt starts at most 0.5 + 1 + 2 = 3.5 s after the first (jittered
// exponential backoff): 6 s leaves room for a loaded CI machine.
const TOTAL_TIMEOUT_S = 6;

// What each client's endpoint answers, attempt by attempt (the last entry repeats).
const SCRIPTS = {
  ok200: [200],
  ok204: [204],
  flaky: [503, 429, 'reset', 200],
  bad400: [400],
  redirect: [302],
  slow503: [503],
  es256: [200],
};

async function main() {
  const binary = process.argv[2];
  const jose = await import('jose');
  const rsa = makeKey('RS256', 'rsa-bc-1');
  const ec = makeKey('ES256', 'ec-bc-1');

  // ---- the relying parties' receiver ----
  const attempts = {}; // client -> [{ jti, sid, sub, token, error }]
  const stolen = []; // requests that reached the redirect target
  const receiver = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://rp.invalid');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (url.pathname === '/stolen') {
        stolen.push(req.method);
        res.writeHead(200).end();
        return;
      }
      const client = url.pathname.replace(/^\/bc\//, '');
      const list = (attempts[client] = attempts[client] || []);
      const record = { error: null };
      list.push(record);
      try {
        assert.equal(req.method, 'POST');
        assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        assert.deepEqual([...form.keys()], ['logout_token']);
        const token = form.get('logout_token');
        record.token = token;
        const key = client === 'es256' ? ec : rsa;
        const { payload, protectedHeader } = await jose.jwtVerify(token, key.publicKey, {
          issuer: ISS, audience: client, algorithms: [key.alg], typ: 'logout+jwt', clockTolerance: 5,
        });
        assert.equal(protectedHeader.kid, key.kid);
        assert.deepEqual(payload.events, { [EVENT]: {} });
        assert.ok(!('nonce' in payload), 'a logout token must not carry nonce');
        assert.equal(typeof payload.iat, 'number');
        assert.ok(payload.exp > payload.iat && payload.exp - payload.iat <= 120, 'exp within 2 minutes of iat');
        assert.ok(typeof payload.jti === 'string' && payload.jti.length >= 16, 'jti');
        record.jti = payload.jti;
        record.sid = payload.sid;
        record.sub = payload.sub;
      } catch (e) {
        record.error = e.message;
        res.writeHead(400, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end('{"error":"invalid_request"}');
        return;
      }
      const script = SCRIPTS[client] || [200];
      const action = script[Math.min(list.length - 1, script.length - 1)];
      if (action === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      const headers = { 'Cache-Control': 'no-store' };
      if (action === 302) headers.Location = `http://127.0.0.1:${receiver.address().port}/stolen`;
      res.writeHead(action, headers).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const rpBase = `http://127.0.0.1:${receiver.address().port}`;
  const refusedPort = await closedPort();

  const client = (id, alg, uri) => ({
    clientId: id,
    allowedLogoutUrls: [`https://${id}.rp.example/after`],
    idTokenSignedResponseAlg: alg,
    backchannelLogoutUri: uri || `${rpBase}/bc/${id}`,
    backchannelLogoutSessionRequired: true,
  });
  const policyFile = writePolicy({
    tenants: [{
      name: 'bc',
      issuer: ISS,
      promptEnabled: false,
      clients: [
        client('ok200', 'RS256'), client('ok204', 'RS256'), client('flaky', 'RS256'),
        client('refused', 'RS256', `http://127.0.0.1:${refusedPort}/bc/refused`),
        client('bad400', 'RS256'), client('redirect', 'RS256'), client('slow503', 'RS256'),
        client('es256', 'ES256'),
      ],
      signingKeys: [
        { kid: rsa.kid, alg: 'RS256', privateKeyPem: rsa.privatePem },
        { kid: ec.kid, alg: 'ES256', privateKeyPem: ec.privatePem },
      ],
    }],
  });

  const logoutd = await startLogoutd(binary, policyFile,
    ['--deliver_backchannel', `--backchannel_timeout=${TOTAL_TIMEOUT_S}s`, '--metrics_listen=127.0.0.1:0']);
  const rpc = policyClient(logoutd.port);
  const { check, finish } = checker();
  const deliveryLines = () => logoutd.output().split('\n').filter((l) => l.includes('"msg":"backchannel delivery"'))
    .map((l) => JSON.parse(l));
  const lineFor = (id) => deliveryLines().filter((l) => l.client_id === id);

  let plan;
  const started = Date.now();
  await check('PlanLogoutNotifications with --deliver_backchannel says logoutd delivers', async () => {
    const resp = await unary(rpc, 'PlanLogoutNotifications', {
      tenant: 'bc', sid: 'sid-bc-1', sub: 'alice', initiator: 'LOGOUT_INITIATOR_RP_LOGOUT',
      session_client_ids: Object.keys(SCRIPTS).concat(['refused']),
    });
    plan = resp.plan;
    assert.equal(plan.backchannel_delivered_by_logoutd, true);
    assert.equal(plan.iss, ISS);
    for (const c of plan.clients) assert.ok(c.backchannel && c.backchannel.jti, `${c.client_id} has a job`);
  });
  const planned = (id) => plan.clients.find((c) => c.client_id === id).backchannel;

  await check('every job ends with exactly one delivery log line', async () => {
    await waitFor(() => deliveryLines().length >= 8, (TOTAL_TIMEOUT_S + 10) * 1000, '8 delivery lines');
    assert.equal(deliveryLines().length, 8);
    for (const id of Object.keys(SCRIPTS).concat(['refused'])) assert.equal(lineFor(id).length, 1, id);
  });

  await check('every token the receiver got validates like an RP checks it (sig, typ, iss, aud, events, no nonce, sid, sub)', async () => {
    for (const [id, list] of Object.entries(attempts)) {
      for (const a of list) {
        assert.equal(a.error, null, `${id}: ${a.error}`);
        assert.equal(a.sid, 'sid-bc-1');
        assert.equal(a.sub, 'alice');
      }
    }
  });

  await check('delivered on 200: one attempt, the planned jti', async () => {
    assert.equal(attempts.ok200.length, 1);
    assert.equal(attempts.ok200[0].jti, planned('ok200').jti);
    assert.equal(attempts.ok200[0].token, planned('ok200').logout_token);
    const [l] = lineFor('ok200');
    assert.deepEqual([l.result, l.attempts, l.http_status, l.uri_origin], ['delivered', 1, 200, rpBase]);
  });

  await check('delivered on 204', async () => {
    assert.equal(attempts.ok204.length, 1);
    const [l] = lineFor('ok204');
    assert.deepEqual([l.result, l.attempts, l.http_status], ['delivered', 1, 204]);
  });

  await check('an ES256 client gets an ES256 token signed with the EC key', async () => {
    assert.equal(attempts.es256.length, 1);
    assert.equal(lineFor('es256')[0].result, 'delivered');
  });

  await check('retry on 503, 429 and a reset connection with a fresh jti each attempt', async () => {
    const list = attempts.flaky;
    assert.equal(list.length, 4);
    assert.equal(list[0].jti, planned('flaky').jti);
    assert.equal(new Set(list.map((a) => a.jti)).size, 4, 'four distinct jti');
    const [l] = lineFor('flaky');
    assert.deepEqual([l.result, l.attempts, l.http_status], ['delivered', 4, 200]);
  });

  await check('connection refused is retried until the bounded total time, then given up', async () => {
    const [l] = lineFor('refused');
    assert.equal(l.result, 'gave_up');
    assert.equal(l.detail, 'connect_error');
    assert.equal(l.http_status, 0);
    assert.ok(l.attempts >= 2, `attempts ${l.attempts}`);
    assert.ok(l.elapsed_ms <= TOTAL_TIMEOUT_S * 1000 + 500, `elapsed ${l.elapsed_ms}`);
  });

  await check('no retry on 400', async () => {
    assert.equal(attempts.bad400.length, 1);
    const [l] = lineFor('bad400');
    assert.deepEqual([l.result, l.attempts, l.http_status], ['rejected', 1, 400]);
  });

  await check('no retry on 302 and the redirect is not followed (its target receives nothing)', async () => {
    assert.equal(attempts.redirect.length, 1);
    assert.equal(stolen.length, 0);
    const [l] = lineFor('redirect');
    assert.deepEqual([l.result, l.attempts, l.http_status], ['rejected', 1, 302]);
  });

  await check('always 503: gives up after the bounded total time, every attempt a fresh jti', async () => {
    const list = attempts.slow503;
    const [l] = lineFor('slow503');
    assert.equal(l.result, 'gave_up');
    assert.equal(l.http_status, 503);
    assert.ok(list.length >= 3, `attempts ${list.length}`);
    assert.equal(l.attempts, list.length);
    assert.equal(new Set(list.map((a) => a.jti)).size, list.length);
    assert.ok(l.elapsed_ms <= TOTAL_TIMEOUT_S * 1000 + 500, `elapsed ${l.elapsed_ms}`);
    assert.ok(Date.now() - started < (TOTAL_TIMEOUT_S + 5) * 1000);
  });

  await check('ValidateLogout with plan_notifications also hands the jobs to logoutd', async () => {
    const before = (attempts.ok204 || []).length;
    const resp = await unary(rpc, 'ValidateLogout', {
      tenant: 'bc', endpoint: 'ENDPOINT_OIDC_LOGOUT', session_id: 'sid-bc-2',
      params: { client_id: 'ok200', post_logout_redirect_uri: 'https://ok200.rp.example/after', state: 's' },
      plan_notifications: true, session_client_ids: ['ok200', 'ok204'],
    });
    assert.equal(resp.decision, 'DECISION_ALLOW');
    assert.equal(resp.redirect_url, 'https://ok200.rp.example/after?state=s');
    assert.equal(resp.notifications.backchannel_delivered_by_logoutd, true);
    assert.deepEqual(resp.notifications.clients.map((c) => c.client_id), ['ok200', 'ok204']);
    await waitFor(() => attempts.ok204.length > before && lineFor('ok204').length === 2
      && lineFor('ok200').length === 2, 5000, 'the second deliveries');
    const last = attempts.ok204[attempts.ok204.length - 1];
    assert.equal(last.error, null);
    assert.equal(last.sid, 'sid-bc-2');
    assert.equal(last.jti, resp.notifications.clients[1].backchannel.jti);
  });

  await check('results and attempts are in the metrics', async () => {
    assert.ok(logoutd.metricsPort > 0, 'the serving line names metrics_port');
    const m = await scrapeMetrics(logoutd.metricsPort);
    const lines = deliveryLines();
    const count = (r) => lines.filter((l) => l.result === r).length;
    assert.equal(count('delivered'), 6);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="delivered"}'], 6);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="rejected"}'], 2);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="gave_up"}'], 2);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="dropped"}'], 0);
    assert.equal(m.logoutd_backchannel_delivery_attempts_total, lines.reduce((n, l) => n + l.attempts, 0));
  });

  await check('no logout token (nor any signature) in logoutd\'s logs', async () => {
    const out = logoutd.output();
    const tokens = Object.values(attempts).flat().map((a) => a.token).filter(Boolean);
    for (const c of plan.clients) tokens.push(c.backchannel.logout_token);
    assert.ok(tokens.length >= 15, `only ${tokens.length} tokens seen`);
    for (const t of tokens) {
      assert.ok(!out.includes(t), 'a token is in the log');
      assert.ok(!out.includes(t.split('.')[2]), 'a signature is in the log');
    }
    assert.ok(!out.includes('logout_token'), 'the form field is in the log');
  });

  await check('SIGTERM stops logoutd with exit code 0', async () => {
    assert.equal(await stopLogoutd(logoutd), 0);
  });
  receiver.close();
  receiver.closeAllConnections();
  finish();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

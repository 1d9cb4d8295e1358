// --deliver_backchannel end to end: the real logoutd POSTs logout tokens to a real HTTP receiver
// that validates each token like a relying party would (jose: signature with the tenant's public
// JWK, typ logout+jwt, iss, aud, iat/exp, jti, events, no nonce, sid/sub) and answers scripted
// statuses. Asserts the retry rules, a fresh jti per attempt, the horizon that makes a job a
// dead letter, the per-job log line, the outbox (each plan's job ids and states,
// LogoutAdmin.ListNotificationJobs, wait_for_delivery), the delivery audit in the SQLite store
// (LogoutAdmin.ListBackchannelDeliveries), a job still retrying at SIGTERM resumed by the next
// process, --store=file refused, and that no token ever reaches logoutd's logs or the audit.
//
//   node backchannel_delivery_test.js /path/to/logoutd
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const {
  grpc, makeKey, writePolicy, startLogoutd, stopLogoutd, policyClient, adminClient, bearer, unary, closedPort,
  waitFor, checker, scrapeMetrics,
} = require('./slo_fixture');

const ADMIN_TOKEN = 'bc-admin-token-0123456789abcdef';

const ISS = 'https://op.bc.example/';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
// The horizon: the flaky script's 4th attempt starts at most 0.2 + 0.4 + 0.8 = 1.4 s after the
// first (jittered exponential backoff from 200 ms): 6 s leaves room for a loaded CI machine.
const TOTAL_TIMEOUT_S = 6;
const DELIVERY_FLAGS = [`--backchannel_horizon=${TOTAL_TIMEOUT_S}s`, '--backchannel_initial_backoff=200ms',
  '--backchannel_max_backoff=1s'];

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

  // A SQLite store (seeded from the policy file) so the deliveries reach the delivery audit.
  const dir = path.dirname(policyFile);
  const tokenFile = path.join(dir, 'admin-token');
  fs.writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const logoutd = await startLogoutd(binary, policyFile,
    ['--deliver_backchannel', ...DELIVERY_FLAGS, '--metrics_listen=127.0.0.1:0',
      `--store=sqlite:${path.join(dir, 'logoutd.db')}`, `--admin_token_file=${tokenFile}`]);
  const admin = adminClient(logoutd.port);
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
    for (const c of plan.clients) {
      assert.ok(c.backchannel && c.backchannel.jti, `${c.client_id} has a job`);
      // Committed to the outbox before the answer: a job id, pending (the call did not wait).
      assert.ok(BigInt(c.delivery.job_id) > 0n, `${c.client_id} has a job id`);
      assert.equal(c.delivery.state, 'DELIVERY_STATE_PENDING');
    }
    assert.equal(new Set(plan.clients.map((c) => c.delivery.job_id)).size, plan.clients.length);
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

  await check('connection refused is retried until the horizon, then a dead letter', async () => {
    const [l] = lineFor('refused');
    assert.equal(l.result, 'dead');
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

  await check('always 503: a dead letter at the horizon, every attempt a fresh jti', async () => {
    const list = attempts.slow503;
    const [l] = lineFor('slow503');
    assert.equal(l.result, 'dead');
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
    // The planned token goes first unless the origin's circuit held the job back (slow503 and
    // refused share this receiver's origin and fail until their horizon): a job released to
    // the table and claimed again is sent with a freshly minted token (a new jti, never reused).
    const planned2 = resp.notifications.clients[1].backchannel.jti;
    const earlier = attempts.ok204.slice(0, -1).map((a) => a.jti);
    assert.ok(last.jti === planned2 || !earlier.includes(last.jti),
      `attempts: ${JSON.stringify(attempts.ok204.map((a) => [a.sid, a.jti, a.error]))}`);
  });

  await check('results and attempts are in the metrics', async () => {
    assert.ok(logoutd.metricsPort > 0, 'the serving line names metrics_port');
    const m = await scrapeMetrics(logoutd.metricsPort);
    const lines = deliveryLines();
    const count = (r) => lines.filter((l) => l.result === r).length;
    assert.equal(count('delivered'), 6);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="delivered"}'], 6);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="rejected"}'], 2);
    assert.equal(m['logoutd_backchannel_deliveries_total{result="dead"}'], 2);
    assert.equal(m.logoutd_backchannel_delivery_attempts_total, lines.reduce((n, l) => n + l.attempts, 0));
    assert.equal(m['logoutd_outbox_jobs_enqueued_total{kind="backchannel"}'], 10);
    assert.equal(m['logoutd_outbox_jobs_finished_total{kind="backchannel",result="delivered"}'], 6);
    assert.equal(m['logoutd_outbox_jobs_finished_total{kind="backchannel",result="dead"}'], 2);
    const attemptsTotal = ['delivered', 'rejected', 'retry', 'dead']
      .reduce((n, r) => n + m[`logoutd_outbox_attempts_total{kind="backchannel",result="${r}"}`], 0);
    assert.equal(attemptsTotal, lines.reduce((n, l) => n + l.attempts, 0));
    assert.equal(m['logoutd_outbox_delivery_latency_seconds_count{kind="backchannel"}'], 6);
  });

  await check('ListNotificationJobs shows every job with its final state; filters by state', async () => {
    const r = await unary(admin, 'ListNotificationJobs', { tenant: 'bc' }, bearer(ADMIN_TOKEN));
    assert.equal(r.jobs.length, 10);
    const byTarget = {};
    for (const j of r.jobs) (byTarget[j.target] = byTarget[j.target] || []).push(j);
    assert.deepEqual(byTarget.flaky.map((j) => [j.kind, j.state, j.attempts, j.http_status, j.uri_origin]),
      [['backchannel', 'delivered', 4, 200, rpBase]]);
    assert.deepEqual(byTarget.refused.map((j) => [j.state, j.detail]), [['dead', 'connect_error']]);
    assert.deepEqual(byTarget.bad400.map((j) => [j.state, j.http_status]), [['rejected', 400]]);
    for (const j of r.jobs) {
      assert.equal(j.lease_owner, '');
      assert.ok(j.finish_time && Number(j.finish_time.seconds) > 0);
    }
    const planIds = plan.clients.map((c) => c.delivery.job_id).sort();
    assert.deepEqual(r.jobs.filter((j) => planIds.includes(j.id)).length, 8);
    const dead = await unary(admin, 'ListNotificationJobs', { tenant: 'bc', states: ['dead'] }, bearer(ADMIN_TOKEN));
    assert.deepEqual(dead.jobs.map((j) => j.target).sort(), ['refused', 'slow503']);
    await assert.rejects(unary(admin, 'ListNotificationJobs', { states: ['lost'] }, bearer(ADMIN_TOKEN)),
      (err) => err.code === grpc.status.INVALID_ARGUMENT && /states: "lost"/.test(err.details));
    const text = JSON.stringify(r);
    assert.ok(!text.includes('alice') && !text.includes('sid-bc-'), 'no subject or session in the listing');
  });

  await check('wait_for_delivery answers with each job\'s state: delivered, and a dead receiver still pending', async () => {
    const t0 = Date.now();
    const resp = await unary(rpc, 'PlanLogoutNotifications', {
      tenant: 'bc', sid: 'sid-bc-w', sub: 'alice', initiator: 'LOGOUT_INITIATOR_RP_LOGOUT',
      session_client_ids: ['ok204', 'refused', 'bad400'], wait_for_delivery: { seconds: 2 },
    });
    const waited = Date.now() - t0;
    const state = (id) => resp.plan.clients.find((c) => c.client_id === id).delivery;
    assert.deepEqual([state('ok204').state, state('ok204').attempts, state('ok204').http_status],
      ['DELIVERY_STATE_DELIVERED', 1, 204]);
    assert.deepEqual([state('bad400').state, state('bad400').http_status], ['DELIVERY_STATE_REJECTED', 400]);
    assert.equal(state('refused').state, 'DELIVERY_STATE_PENDING');
    assert.equal(state('refused').detail, 'connect_error');
    assert.ok(state('refused').attempts >= 1);
    assert.ok(waited >= 1800 && waited < 4000, `waited ${waited} ms`);
    // Without the dead receiver the call returns as soon as both are final.
    const t1 = Date.now();
    const quick = await unary(rpc, 'PlanLogoutNotifications', {
      tenant: 'bc', sid: 'sid-bc-q', sub: 'alice', initiator: 'LOGOUT_INITIATOR_RP_LOGOUT',
      session_client_ids: ['ok200', 'ok204'], wait_for_delivery: { seconds: 5 },
    });
    assert.ok(Date.now() - t1 < 2000, `answered in ${Date.now() - t1} ms`);
    for (const c of quick.plan.clients) assert.equal(c.delivery.state, 'DELIVERY_STATE_DELIVERED');
    await assert.rejects(unary(rpc, 'PlanLogoutNotifications', {
      tenant: 'bc', sid: 'x', initiator: 'LOGOUT_INITIATOR_RP_LOGOUT', session_client_ids: ['ok200'],
      wait_for_delivery: { seconds: -1 },
    }), (err) => err.code === grpc.status.INVALID_ARGUMENT && /wait_for_delivery/.test(err.details));
    await waitFor(() => lineFor('refused').length === 2, (TOTAL_TIMEOUT_S + 5) * 1000, 'the waited job\'s end');
  });

  let audited = [];
  await check('every job is in the delivery audit (ListBackchannelDeliveries) with exact results', async () => {
    await waitFor(async () => {
      const r = await unary(admin, 'ListBackchannelDeliveries', { tenant: 'bc' }, bearer(ADMIN_TOKEN));
      audited = r.events;
      return audited.length >= 15;
    }, 5000, '15 audited deliveries');
    const all = await unary(admin, 'ListBackchannelDeliveries', {}, bearer(ADMIN_TOKEN));
    assert.equal(all.events.length, 15);
    assert.equal(all.next_before_id, '0', 'a short page is the last');
    audited = all.events;
    const ids = audited.map((e) => BigInt(e.id));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] > ids[i], 'newest first');
    const of = (id) => audited.filter((e) => e.client_id === id)
      .map((e) => [e.tenant, e.result, e.attempts, e.http_status, e.uri_origin, e.detail]);
    const origin = rpBase;
    const twice = (x) => [x, x];
    assert.deepEqual(of('ok200'), Array(3).fill(['bc', 'delivered', 1, 200, origin, '']));
    assert.deepEqual(of('ok204'), Array(4).fill(['bc', 'delivered', 1, 204, origin, '']));
    assert.deepEqual(of('es256'), [['bc', 'delivered', 1, 200, origin, '']]);
    assert.deepEqual(of('flaky'), [['bc', 'delivered', 4, 200, origin, '']]);
    assert.deepEqual(of('bad400'), twice(['bc', 'rejected', 1, 400, origin, 'http_status']));
    assert.deepEqual(of('redirect'), [['bc', 'rejected', 1, 302, origin, 'http_status']]);
    assert.deepEqual(of('slow503'), [['bc', 'dead', attempts.slow503.length, 503, origin, lineFor('slow503')[0].detail]]);
    assert.deepEqual(of('refused').map((e) => [e[0], e[1], e[3], e[4], e[5]]),
      twice(['bc', 'dead', 0, `http://127.0.0.1:${refusedPort}`, 'connect_error']));
    // The audit and the log lines agree job for job.
    const key = (x) => [x.client_id, x.result, x.attempts, x.http_status, x.uri_origin, x.detail].join('|');
    assert.deepEqual(audited.map(key).sort(), deliveryLines().map(key).sort());
    for (const e of audited) {
      const seconds = Number(e.time.seconds);
      assert.ok(Math.abs(seconds - Date.now() / 1000) < 120, `time ${seconds}`);
    }
  });

  await check('the delivery audit pages with before_id and filters by tenant', async () => {
    const seen = [];
    let before = '0';
    for (let page = 0; page < 4; page++) {
      const r = await unary(admin, 'ListBackchannelDeliveries', { tenant: 'bc', page_size: 4, before_id: before },
        bearer(ADMIN_TOKEN));
      assert.equal(r.events.length, page < 3 ? 4 : 3);
      seen.push(...r.events.map((e) => e.id));
      before = r.next_before_id;
      if (page < 3) assert.equal(before, r.events[3].id);
      else assert.equal(before, '0');
    }
    assert.deepEqual(seen, audited.map((e) => e.id));
    const other = await unary(admin, 'ListBackchannelDeliveries', { tenant: 'nobody' }, bearer(ADMIN_TOKEN));
    assert.equal(other.events.length, 0);
  });

  await check('ListBackchannelDeliveries is an admin call (no token: UNAUTHENTICATED; wrong: PERMISSION_DENIED)', async () => {
    await assert.rejects(unary(admin, 'ListBackchannelDeliveries', {}),
      (err) => err.code === grpc.status.UNAUTHENTICATED);
    await assert.rejects(unary(admin, 'ListBackchannelDeliveries', {}, bearer('wrong-token-wrong-token')),
      (err) => err.code === grpc.status.PERMISSION_DENIED);
  });

  await check('deliveries are not policy writes: the policy audit trail has none', async () => {
    const r = await unary(admin, 'ListAuditEvents', {}, bearer(ADMIN_TOKEN));
    for (const e of r.events) assert.notEqual(e.action, 'backchannel delivery');
    assert.ok(r.events.length <= 1, `${r.events.length} policy audit events`);
  });

  await check('no logout token, jti or signature in the delivery audit', async () => {
    const text = JSON.stringify(audited);
    const tokens = Object.values(attempts).flat().map((a) => a.token).filter(Boolean);
    for (const t of tokens) {
      assert.ok(!text.includes(t), 'a token is in the audit');
      assert.ok(!text.includes(t.split('.')[2]), 'a signature is in the audit');
    }
    for (const a of Object.values(attempts).flat()) assert.ok(!a.jti || !text.includes(a.jti), 'a jti is in the audit');
    assert.ok(!text.includes('/bc/'), 'a URI path is in the audit');
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

  let resumedJob;
  await check('SIGTERM stops logoutd with exit code 0; a job still retrying stays queued', async () => {
    const before = attempts.slow503.length;
    const resp = await unary(rpc, 'PlanLogoutNotifications', {
      tenant: 'bc', sid: 'sid-bc-3', sub: 'alice', initiator: 'LOGOUT_INITIATOR_RP_LOGOUT',
      session_client_ids: ['slow503'],
    });
    resumedJob = resp.plan.clients[0].delivery.job_id;
    await waitFor(() => attempts.slow503.length > before, 5000, 'the last job\'s first attempt');
    assert.equal(await stopLogoutd(logoutd), 0);
    assert.equal(lineFor('slow503').length, 1, 'not ended by the shutdown');
  });

  await check('the next process resumes the queued job: more attempts, then a dead letter at its horizon', async () => {
    const sentBefore = attempts.slow503.length;
    const again = await startLogoutd(binary, policyFile,
      ['--deliver_backchannel', ...DELIVERY_FLAGS, `--store=sqlite:${path.join(dir, 'logoutd.db')}`,
        `--admin_token_file=${tokenFile}`]);
    try {
      const againAdmin = adminClient(again.port);
      let job;
      await waitFor(async () => {
        const r = await unary(againAdmin, 'ListNotificationJobs', { tenant: 'bc', states: ['dead'] }, bearer(ADMIN_TOKEN));
        job = r.jobs.find((j) => j.id === resumedJob);
        return job !== undefined;
      }, (TOTAL_TIMEOUT_S + 5) * 1000, 'the resumed job to end');
      assert.equal(job.http_status, 503);
      assert.ok(attempts.slow503.length > sentBefore, 'the restarted logoutd attempted it again');
      assert.equal(job.attempts, attempts.slow503.filter((a) => a.sid === 'sid-bc-3').length,
        'attempts before and after the restart add up');
      // The delivery audit row is written shortly after the job's state.
      let r;
      await waitFor(async () => {
        r = await unary(againAdmin, 'ListBackchannelDeliveries', { page_size: 1 }, bearer(ADMIN_TOKEN));
        return r.events.length === 1 && r.events[0].client_id === 'slow503';
      }, 5000, 'the resumed job\'s audit row');
      assert.deepEqual([r.events[0].client_id, r.events[0].result, r.events[0].attempts],
        ['slow503', 'dead', job.attempts]);
      // Requeued, the dead letter is pending again (and dies again against the same receiver).
      const q = await unary(againAdmin, 'RequeueDeadLetters', { tenant: 'bc', ids: [resumedJob] }, bearer(ADMIN_TOKEN));
      assert.equal(q.requeued, '1');
      await assert.rejects(unary(againAdmin, 'RequeueDeadLetters', { ids: [resumedJob] }, bearer(ADMIN_TOKEN)),
        (err) => err.code === grpc.status.INVALID_ARGUMENT && /tenant is required/.test(err.details));
    } finally {
      await stopLogoutd(again);
    }
  });

  await check('--deliver_backchannel with --store=file is refused at start, saying why', async () => {
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(binary, ['--listen=127.0.0.1:0', '--store=file', `--policy=${policyFile}`,
      '--deliver_backchannel', '--slo_allow_unauthenticated'], { encoding: 'utf8', timeout: 20000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /--deliver_backchannel needs a database store/);
    assert.match(r.stdout + r.stderr, /a crash or restart loses none/);
  });
  receiver.close();
  receiver.closeAllConnections();
  finish();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

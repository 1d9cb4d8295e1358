// The outbox survives a crash and an outage: 1,000 planned back-channel logouts against a
// receiver that is down, `kill -9` of logoutd mid-retry, the receiver still down for longer than
// the old 30 s in-memory horizon, then the receiver comes up and logoutd restarts. Every job is
// delivered exactly once (one process, SQLite: nothing leased elsewhere), and every token the
// receiver gets is checked by an independent library (jose) the way an RP checks it: RS256
// signature with the tenant's public key, typ logout+jwt, iss, aud, iat/exp, the events member,
// no nonce, sid and sub; and every attempt's jti is fresh. The tenant also has a Shared Signals
// stream: each of the 100 logouts pushes a CAEP session-revoked SET (typ secevent+jwt, sub_id,
// event_timestamp, initiating_entity, the stream's Authorization header) through the same
// outbox, verified by jose the same way; GetSsfConfiguration serves the transmitter metadata.
//
//   node outbox_durability_test.js /path/to/logoutd
'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const {
  grpc, makeKey, writePolicy, startLogoutd, policyClient, adminClient, bearer, unary, closedPort,
  waitFor, checker, scrapeMetrics,
} = require('./slo_fixture');

const ISS = 'https://op.durable.example/';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const CLIENTS = 10;
const PLANS = 100; // x CLIENTS jobs
const ADMIN_TOKEN = 'durable-admin-token-0123456789abcdef';
const SSF_EVENT = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const SSF_AUTH = 'Bearer ssf-push-secret-0123456789abcdef';
const SSF_AUD = 'https://siem.example.com/';
// Longer than the old in-memory delivery's 30 s budget.
const OUTAGE_MS = 35000;

async function main() {
  const binary = process.argv[2];
  const jose = await import('jose');
  const rsa = makeKey('RS256', 'rsa-durable-1');
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  const clientIds = Array.from({ length: CLIENTS }, (_, i) => `app${i}`);
  const policyFile = writePolicy({
    tenants: [{
      name: 'dur',
      issuer: ISS,
      clients: clientIds.map((id) => ({
        clientId: id,
        allowedLogoutUrls: [`https://${id}.rp.example/after`],
        backchannelLogoutUri: `${base}/bc/${id}`,
        backchannelLogoutSessionRequired: true,
      })),
      signingKeys: [{ kid: rsa.kid, alg: 'RS256', privateKeyPem: rsa.privatePem }],
      sharedSignals: {
        jwksUri: 'https://op.durable.example/jwks.json',
        streams: [{
          streamId: 'siem', endpointUrl: `${base}/ssf/siem`, audience: SSF_AUD,
          authorizationHeader: SSF_AUTH, eventsRequested: [SSF_EVENT],
        }],
      },
    }],
  });
  const dir = path.dirname(policyFile);
  const tokenFile = path.join(dir, 'admin-token');
  fs.writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const flags = ['--deliver_backchannel', '--metrics_listen=127.0.0.1:0',
    '--backchannel_initial_backoff=500ms', '--backchannel_max_backoff=3s',
    `--store=sqlite:${path.join(dir, 'logoutd.db')}`, `--admin_token_file=${tokenFile}`];
  const { check, finish } = checker();

  let logoutd = await startLogoutd(binary, policyFile, flags);
  const outageStart = Date.now();
  const planned = new Map(); // `${client}|${sid}` -> planned jti
  let enqueueMs = [];
  await check(`${PLANS * CLIENTS} back-channel jobs are committed before each plan answers`, async () => {
    const rpc = policyClient(logoutd.port);
    for (let p = 0; p < PLANS; p++) {
      const t0 = process.hrtime.bigint();
      const resp = await unary(rpc, 'PlanLogoutNotifications', {
        tenant: 'dur', sid: `sid-${p}`, sub: `user-${p}`, initiator: 'LOGOUT_INITIATOR_RP_LOGOUT',
        session_client_ids: clientIds,
      });
      enqueueMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      assert.equal(resp.plan.backchannel_delivered_by_logoutd, true);
      for (const c of resp.plan.clients) {
        assert.equal(c.delivery.state, 'DELIVERY_STATE_PENDING');
        planned.set(`${c.client_id}|sid-${p}`, c.backchannel.jti);
      }
      assert.deepEqual(resp.plan.streams.map((x) => [x.stream_id, x.delivery.state]),
        [['siem', 'DELIVERY_STATE_PENDING']]);
    }
    assert.equal(planned.size, PLANS * CLIENTS);
    enqueueMs = enqueueMs.sort((a, b) => a - b);
    console.log(`# PlanLogoutNotifications with 10 jobs each: p50 ${enqueueMs[PLANS / 2].toFixed(2)} ms, ` +
      `p99 ${enqueueMs[Math.floor(PLANS * 0.99)].toFixed(2)} ms (SQLite, synchronous FULL)`);
  });

  let triedBeforeCrash = 0;
  await check('the dead receiver\'s circuit opens (a few attempts, not 1,000), then logoutd is killed with SIGKILL', async () => {
    const admin = adminClient(logoutd.port);
    await waitFor(async () => {
      const m = await scrapeMetrics(logoutd.metricsPort);
      return m['logoutd_outbox_attempts_total{kind="backchannel",result="retry"}'] >= 5;
    }, 20000, 'failed attempts');
    await new Promise((r) => setTimeout(r, 1000));
    const r = { jobs: [] };
    let before = '0';
    do {
      const page = await unary(admin, 'ListNotificationJobs',
        { tenant: 'dur', states: ['pending'], page_size: 1000, before_id: before }, bearer(ADMIN_TOKEN));
      r.jobs.push(...page.jobs);
      before = page.next_before_id;
    } while (before !== '0');
    assert.equal(r.jobs.length, PLANS * CLIENTS + PLANS, 'the logout tokens and the SETs');
    assert.equal(r.jobs.filter((j) => j.kind === 'set').length, PLANS);
    const tried = r.jobs.filter((j) => j.attempts > 0);
    triedBeforeCrash = tried.length;
    for (const j of tried) assert.equal(j.detail, 'connect_error');
    // One origin: after 5 consecutive failures its circuit holds the rest back.
    assert.ok(tried.length >= 5 && tried.length < 100, `${tried.length} jobs attempted`);
    console.log(`# ${tried.length} of ${PLANS * CLIENTS + PLANS} jobs attempted before the crash (the circuit held the rest)`);
    const exited = new Promise((resolve) => logoutd.child.on('exit', (code, signal) => resolve(signal)));
    logoutd.child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
  });

  // The receiver: validates every token like an RP.
  const received = []; // { client, sid, jti, error }
  const sets = []; // { sid, jti, error }
  const onSet = async (req, body, res) => {
    const record = { error: null };
    sets.push(record);
    try {
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/ssf/siem');
      assert.equal(req.headers['content-type'], 'application/secevent+jwt');
      assert.equal(req.headers.authorization, SSF_AUTH);
      const { payload, protectedHeader } = await jose.jwtVerify(body, rsa.publicKey, {
        issuer: ISS, audience: SSF_AUD, algorithms: ['RS256'], typ: 'secevent+jwt', clockTolerance: 5,
      });
      assert.equal(protectedHeader.kid, rsa.kid);
      assert.deepEqual(Object.keys(payload.events), [SSF_EVENT]);
      const ev = payload.events[SSF_EVENT];
      assert.deepEqual(Object.keys(ev).sort(), ['event_timestamp', 'initiating_entity']);
      assert.equal(ev.initiating_entity, 'user');
      assert.ok(ev.event_timestamp <= payload.iat && payload.iat - ev.event_timestamp < 600);
      assert.equal(payload.sub_id.format, 'complex');
      assert.deepEqual(payload.sub_id.session.format, 'opaque');
      assert.match(payload.sub_id.session.id, /^sid-\d+$/);
      assert.deepEqual(payload.sub_id.user,
        { format: 'iss_sub', iss: ISS, sub: payload.sub_id.session.id.replace('sid-', 'user-') });
      assert.ok(!('sub' in payload) && !('exp' in payload) && !('nonce' in payload));
      record.sid = payload.sub_id.session.id;
      record.jti = payload.jti;
      res.writeHead(202).end();
    } catch (e) {
      record.error = e.message;
      res.writeHead(400, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ err: 'invalid_request', description: 'rejected by the test' }));
    }
  };
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (req.url.startsWith('/ssf/')) {
        await onSet(req, Buffer.concat(chunks).toString(), res);
        return;
      }
      const client = req.url.replace(/^\/bc\//, '');
      const record = { client, error: null };
      received.push(record);
      try {
        assert.equal(req.method, 'POST');
        assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        assert.deepEqual([...form.keys()], ['logout_token']);
        const { payload, protectedHeader } = await jose.jwtVerify(form.get('logout_token'), rsa.publicKey, {
          issuer: ISS, audience: client, algorithms: ['RS256'], typ: 'logout+jwt', clockTolerance: 5,
        });
        assert.equal(protectedHeader.kid, rsa.kid);
        assert.deepEqual(payload.events, { [EVENT]: {} });
        assert.ok(!('nonce' in payload));
        assert.ok(payload.exp > payload.iat && payload.exp - payload.iat <= 120);
        assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 30, 'iat is the attempt\'s time');
        assert.match(payload.sid, /^sid-\d+$/);
        assert.equal(payload.sub, payload.sid.replace('sid-', 'user-'));
        record.sid = payload.sid;
        record.jti = payload.jti;
        res.writeHead(200, { 'Cache-Control': 'no-store' }).end();
      } catch (e) {
        record.error = e.message;
        res.writeHead(400).end();
      }
    });
  });

  await check(`the receiver stays down for ${OUTAGE_MS / 1000} s, then comes up, and logoutd restarts`, async () => {
    const left = OUTAGE_MS - (Date.now() - outageStart);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await new Promise((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    logoutd = await startLogoutd(binary, policyFile, flags);
  });

  await check('every job is delivered once, each token verified by jose, every jti fresh', async () => {
    await waitFor(() => received.length >= PLANS * CLIENTS, 60000, `${PLANS * CLIENTS} deliveries`);
    await new Promise((r) => setTimeout(r, 500)); // any duplicate would arrive now
    for (const r of received) assert.equal(r.error, null, `${r.client}: ${r.error}`);
    const keys = new Set(received.map((r) => `${r.client}|${r.sid}`));
    assert.equal(keys.size, PLANS * CLIENTS, 'every (client, session) pair');
    assert.equal(received.length, PLANS * CLIENTS, 'no duplicates');
    const jtis = new Set(received.map((r) => r.jti));
    assert.equal(jtis.size, received.length, 'a fresh jti per attempt');
    // Minted after the restart: none is the jti the plan returned (that token was never sent).
    for (const r of received) assert.notEqual(r.jti, planned.get(`${r.client}|${r.sid}`));
    console.log(`# delivered ${received.length} jobs ${((Date.now() - outageStart) / 1000).toFixed(1)} s after planning`);
  });

  await check('every session-revoked SET is delivered once, verified by jose, with the stream\'s Authorization', async () => {
    await waitFor(() => sets.length >= PLANS, 30000, `${PLANS} SETs`);
    await new Promise((r) => setTimeout(r, 300));
    for (const r of sets) assert.equal(r.error, null, r.error);
    assert.equal(new Set(sets.map((r) => r.sid)).size, PLANS, 'one per ended session');
    assert.equal(sets.length, PLANS, 'no duplicates');
    const jtis = new Set([...sets.map((r) => r.jti), ...received.map((r) => r.jti)]);
    assert.equal(jtis.size, sets.length + received.length, 'fresh jti everywhere');
  });

  await check('GetSsfConfiguration serves the transmitter metadata; the push secret is never shown or logged', async () => {
    const rpc = policyClient(logoutd.port);
    const c = await unary(rpc, 'GetSsfConfiguration', { tenant: 'dur' });
    assert.equal(c.issuer, ISS);
    assert.equal(c.jwks_uri, 'https://op.durable.example/jwks.json');
    assert.deepEqual(c.delivery_methods_supported, ['urn:ietf:rfc:8935']);
    assert.equal(c.spec_version, '1_0');
    assert.deepEqual(JSON.parse(c.configuration_json), {
      spec_version: '1_0', issuer: ISS, jwks_uri: 'https://op.durable.example/jwks.json',
      delivery_methods_supported: ['urn:ietf:rfc:8935'],
    });
    await assert.rejects(unary(rpc, 'GetSsfConfiguration', { tenant: 'nobody' }),
      (err) => err.code === grpc.status.NOT_FOUND);
    const admin = adminClient(logoutd.port);
    const exported = await unary(admin, 'ExportPolicy', {}, bearer(ADMIN_TOKEN));
    const text = JSON.stringify(exported);
    assert.ok(text.includes('siem') && !text.includes('ssf-push-secret'), 'redacted in the export');
    const tenant = await unary(admin, 'GetTenant', { tenant: 'dur' }, bearer(ADMIN_TOKEN));
    assert.equal(tenant.tenant.shared_signals.streams[0].authorization_header, '');
    assert.ok(!logoutd.output().includes('ssf-push-secret'), 'never logged');
  });

  await check('the outbox says delivered for every job, with the attempts before and after the crash', async () => {
    const admin = adminClient(logoutd.port);
    let jobs = [];
    await waitFor(async () => {
      jobs = [];
      let before = '0';
      do {
        const r = await unary(admin, 'ListNotificationJobs', { tenant: 'dur', page_size: 1000, before_id: before },
          bearer(ADMIN_TOKEN));
        jobs.push(...r.jobs);
        before = r.next_before_id;
      } while (before !== '0');
      return jobs.filter((j) => j.state === 'delivered').length === PLANS * CLIENTS + PLANS;
    }, 10000, 'every job delivered in the outbox');
    assert.equal(jobs.length, PLANS * CLIENTS + PLANS);
    for (const j of jobs) {
      assert.equal(j.http_status, j.kind === 'set' ? 202 : 200);
      assert.ok(j.attempts >= 1, `job ${j.id}: ${j.attempts} attempts`);
    }
    // The failed attempts made before the crash were kept.
    assert.ok(jobs.filter((j) => j.attempts >= 2).length >= triedBeforeCrash);
    const m = await scrapeMetrics(logoutd.metricsPort);
    assert.equal(m['logoutd_outbox_jobs_finished_total{kind="backchannel",result="delivered"}'], PLANS * CLIENTS);
    assert.equal(m['logoutd_outbox_jobs_finished_total{kind="set",result="delivered"}'], PLANS);
    assert.equal(m.logoutd_outbox_lease_takeovers_total, 0, 'one process: leases are voided at start, not taken over');
  });

  if (logoutd.child.exitCode === null) logoutd.child.kill('SIGTERM');
  receiver.close();
  receiver.closeAllConnections();
  finish();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Independent-client check of what the README shows with grpcurl: start the real logoutd,
// discover its services over server reflection (no .proto files here), build a client from the
// reflected descriptors, and call ValidateLogout and the health service.
//
//   node reflection_test.js /path/to/logoutd /path/to/policy.json
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

let grpc;
let GrpcReflection;
try {
  grpc = require(path.join(__dirname, 'node_modules/@grpc/grpc-js'));
  ({ GrpcReflection } = require(path.join(__dirname, 'node_modules/grpc-js-reflection-client')));
} catch (e) {
  console.error('node modules missing: run scripts/setup.sh (npm ci in tests/integration/node)');
  process.exit(1);
}

const [binary, policy] = process.argv.slice(2);
const ADMIN_TOKEN = 'node-reflection-admin-token-7';
const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-')), 'admin-token');
fs.writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`);
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function startLogoutd(policyFile = policy) {
  return new Promise((resolve, reject) => {
    const args = ['--listen=127.0.0.1:0', '--store=file', `--policy=${policyFile}`,
      `--admin_token_file=${tokenFile}`, '--drain_delay=0s'];
    const child = spawn(binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`logoutd did not start: ${out}`)), 20000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/"msg":"serving".*"port":(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`logoutd exited with ${code}: ${out}`)));
  });
}

function unary(client, method, request, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 5000);
    client[method](request, metadata, { deadline }, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

async function main() {
  const { child, port } = await startLogoutd();
  const target = `127.0.0.1:${port}`;
  const results = [];
  async function check(name, fn) {
    try {
      await fn();
      results.push([name, true]);
      console.log(`ok - ${name}`);
    } catch (e) {
      results.push([name, false]);
      console.log(`not ok - ${name}: ${e.message}`);
    }
  }

  const reflection = new GrpcReflection(target, grpc.credentials.createInsecure());
  let policyService;

  await check('reflection lists the services (grpcurl list)', async () => {
    const services = await reflection.listServices();
    for (const s of ['logout.v1.LogoutPolicy', 'logout.v1.LogoutAdmin', 'grpc.health.v1.Health']) {
      assert.ok(services.includes(s), `${s} missing from ${JSON.stringify(services)}`);
    }
  });

  await check('reflection describes LogoutPolicy (grpcurl describe)', async () => {
    const methods = (await reflection.listMethods('logout.v1.LogoutPolicy')).map((m) => m.name);
    assert.deepEqual(methods.sort(),
      ['BuildFederatedLogoutUrl', 'GetDiscoveryMetadata', 'GetSsfConfiguration', 'PlanLogoutNotifications',
        'ValidateLogout']);
    const descriptor = await reflection.getDescriptorBySymbol('logout.v1.LogoutPolicy');
    const pkg = descriptor.getPackageObject(LOADER_OPTIONS);
    const Client = pkg.logout.v1.LogoutPolicy;
    policyService = new Client(target, grpc.credentials.createInsecure());
  });

  await check('ValidateLogout allows a registered target (grpcurl call)', async () => {
    const resp = await unary(policyService, 'ValidateLogout', {
      tenant: 'acme',
      endpoint: 'ENDPOINT_OIDC_LOGOUT',
      params: { post_logout_redirect_uri: 'https://shop.acme.example.com/goodbye', client_id: 'web-app', state: 'xyz' },
    });
    assert.equal(resp.decision, 'DECISION_ALLOW');
    assert.equal(resp.reason, 'REASON_REDIRECT_ALLOWED');
    assert.equal(resp.redirect_url, 'https://shop.acme.example.com/goodbye?state=xyz');
    assert.equal(resp.http_status, 302);
  });

  await check('ValidateLogout denies an open redirect as an OK RPC', async () => {
    const resp = await unary(policyService, 'ValidateLogout', {
      tenant: 'acme',
      endpoint: 'ENDPOINT_V2_LOGOUT',
      raw_query: 'returnTo=https%3A%2F%2Fevil.example.net%2F',
    });
    assert.equal(resp.decision, 'DECISION_DENY');
    assert.equal(resp.reason, 'REASON_TARGET_NOT_ALLOWED');
    assert.equal(resp.http_status, 400);
    assert.equal(resp.redirect_url, '');
  });

  await check('unknown tenant is NOT_FOUND', async () => {
    await assert.rejects(
      unary(policyService, 'ValidateLogout', { tenant: 'nope', endpoint: 'ENDPOINT_V2_LOGOUT' }),
      (err) => err.code === grpc.status.NOT_FOUND);
  });

  await check('BuildFederatedLogoutUrl for an OIDC connection (grpcurl call)', async () => {
    const resp = await unary(policyService, 'BuildFederatedLogoutUrl', {
      tenant: 'acme', connection: 'corp-oidc', client_id: 'web-app',
      return_to: 'https://shop.acme.example.com/goodbye', state: 'xyz', upstream_id_token: 'eyJ.upstream.token',
    });
    assert.equal(resp.decision, 'DECISION_ALLOW');
    assert.equal(resp.source, 'FEDERATED_URL_SOURCE_PROVIDER_DEFAULT');
    assert.equal(resp.supported, true);
    assert.equal(resp.url, 'https://idp.corp.example/oidc/logout?id_token_hint=eyJ.upstream.token'
      + '&client_id=logoutd-acme&post_logout_redirect_uri=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye&state=xyz');
  });

  await check('health Check over reflection reports SERVING', async () => {
    const descriptor = await reflection.getDescriptorBySymbol('grpc.health.v1.Health');
    const pkg = descriptor.getPackageObject(LOADER_OPTIONS);
    const health = new pkg.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
    const resp = await unary(health, 'Check', { service: 'logout.v1.LogoutPolicy' });
    assert.equal(resp.status, 'SERVING');
  });

  await check('admin ExportPolicy with the bearer token (grpcurl -H authorization)', async () => {
    const descriptor = await reflection.getDescriptorBySymbol('logout.v1.LogoutAdmin');
    const pkg = descriptor.getPackageObject(LOADER_OPTIONS);
    const admin = new pkg.logout.v1.LogoutAdmin(target, grpc.credentials.createInsecure());
    await assert.rejects(unary(admin, 'ExportPolicy', {}),
      (err) => err.code === grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    const resp = await unary(admin, 'ExportPolicy', {}, md);
    assert.equal(resp.policy.tenants[0].name, 'acme');
    assert.equal(resp.policy_version, '1');
  });

  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.kill('SIGTERM');
  const { code } = await exited;
  await check('SIGTERM stops logoutd with exit code 0', async () => assert.equal(code, 0));

  // The README's signed-hint example: scripts/demo_hint.sh makes a key, a policy and a hint.
  const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-demo-'));
  const script = path.join(__dirname, '..', '..', '..', 'scripts', 'demo_hint.sh');
  const hint = execFileSync('bash', [script, demoDir, 'sid-123']).toString().trim();
  const demo = await startLogoutd(path.join(demoDir, 'policy.json'));
  const demoTarget = `127.0.0.1:${demo.port}`;
  const demoReflection = new GrpcReflection(demoTarget, grpc.credentials.createInsecure());
  const demoPkg = (await demoReflection.getDescriptorBySymbol('logout.v1.LogoutPolicy')).getPackageObject(LOADER_OPTIONS);
  const demoClient = new demoPkg.logout.v1.LogoutPolicy(demoTarget, grpc.credentials.createInsecure());

  await check('a signed id_token_hint for the current session logs out without a prompt', async () => {
    const resp = await unary(demoClient, 'ValidateLogout', {
      tenant: 'demo',
      endpoint: 'ENDPOINT_OIDC_LOGOUT',
      raw_query: `id_token_hint=${hint}&post_logout_redirect_uri=https%3A%2F%2Fapp.demo.example.com%2Fsigned-out&state=s1`,
      session_id: 'sid-123',
    });
    assert.equal(resp.decision, 'DECISION_ALLOW');
    assert.equal(resp.reason, 'REASON_REDIRECT_ALLOWED');
    assert.equal(resp.redirect_url, 'https://app.demo.example.com/signed-out?state=s1');
    assert.equal(resp.client_id, 'demo-app');
    assert.equal(resp.client_source, 'CLIENT_SOURCE_ID_TOKEN_HINT');
    assert.equal(resp.session.sid, 'sid-123');
    assert.equal(resp.session.sub, 'alice');
  });

  await check('the same hint for another browser session asks for confirmation', async () => {
    const resp = await unary(demoClient, 'ValidateLogout', {
      tenant: 'demo', endpoint: 'ENDPOINT_OIDC_LOGOUT', params: { id_token_hint: hint }, session_id: 'sid-other',
    });
    assert.equal(resp.decision, 'DECISION_REQUIRE_CONFIRMATION');
  });

  await check('a tampered hint is denied and never echoed', async () => {
    const [h, p, s] = hint.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = 'mallory';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const resp = await unary(demoClient, 'ValidateLogout', {
      tenant: 'demo', endpoint: 'ENDPOINT_OIDC_LOGOUT', params: { id_token_hint: forged },
    });
    assert.equal(resp.decision, 'DECISION_DENY');
    assert.equal(resp.reason, 'REASON_ID_TOKEN_HINT_INVALID');
    assert.equal(resp.redirect_url, '');
    assert.ok(!JSON.stringify(resp).includes(h));
  });
  demo.child.kill('SIGTERM');

  const passed = results.filter((r) => r[1]).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

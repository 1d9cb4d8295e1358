// Shared pieces of the single-logout node tests: keys, a policy file, the real logoutd binary,
// a LogoutPolicy client built from ../../../proto, and a tiny check runner.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let grpc;
let protoLoader;
try {
  grpc = require(path.join(__dirname, 'node_modules/@grpc/grpc-js'));
  protoLoader = require(path.join(__dirname, 'node_modules/@grpc/proto-loader'));
} catch (e) {
  console.error('node modules missing: run scripts/setup.sh (npm ci in tests/integration/node)');
  process.exit(1);
}

const PROTO_DIR = path.join(__dirname, '..', '..', '..', 'proto');

// A fresh RSA (RS256) or EC P-256 (ES256) key: { kid, alg, privatePem, publicKey (KeyObject), jwk }.
function makeKey(alg, kid) {
  const { privateKey, publicKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }), privateKey, publicKey, jwk };
}

const tempDirs = [];
// Every logoutd a test starts dies with the test, even one that failed half-way.
const children = new Set();
process.on('exit', () => {
  children.forEach((c) => { if (c.exitCode === null) c.kill('SIGKILL'); });
  tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

function writePolicy(policy) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-slo-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy, null, 2));
  return file;
}

// Starts logoutd on a free port serving `policyFile` read-only; resolves { child, port, output() }.
function startLogoutd(binary, policyFile, extraArgs = []) {
  return new Promise((resolve, reject) => {
    // Planning is refused without a planner credential; these tests plan on loopback.
    const args = ['--listen=127.0.0.1:0', '--store=file', `--policy=${policyFile}`, '--drain_delay=0s',
      '--dev_allow_http_loopback', '--slo_allow_unauthenticated', ...extraArgs];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`logoutd did not start: ${out}`)), 20000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = !started && out.match(/"msg":"serving".*"port":(\d+)/);
      if (m) {
        started = true;
        clearTimeout(timer);
        const metrics = out.match(/"msg":"serving".*"metrics_port":(\d+)/);
        resolve({ child, port: Number(m[1]), metricsPort: metrics ? Number(metrics[1]) : 0, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { if (!started) reject(new Error(`logoutd exited with ${code}: ${out}`)); });
  });
}

async function stopLogoutd(instance) {
  if (instance.child.exitCode !== null) return instance.child.exitCode;
  const exited = new Promise((resolve) => instance.child.on('exit', (code) => resolve(code)));
  instance.child.kill('SIGTERM');
  return exited;
}

function policyClient(port) {
  const definition = protoLoader.loadSync('logout/v1/logout.proto', {
    includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  return new pkg.logout.v1.LogoutPolicy(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

// A LogoutAdmin client (admin calls pass `bearer(token)` as unary's metadata).
function adminClient(port) {
  const definition = protoLoader.loadSync('logout/v1/admin.proto', {
    includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  return new pkg.logout.v1.LogoutAdmin(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function bearer(token) {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    const cb = (err, resp) => (err ? reject(err) : resolve(resp));
    const options = { deadline: new Date(Date.now() + 5000) };
    if (metadata) client[method](request, metadata, options, cb);
    else client[method](request, options, cb);
  });
}

// A loopback port nothing listens on.
async function closedPort() {
  const net = require('node:net');
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(predicate, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Fetches GET /metrics and returns { 'name{labels}': value }.
async function scrapeMetrics(port) {
  const http = require('node:http');
  const text = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const samples = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return samples;
}

// Named checks: each prints ok / not ok; finish() exits 0 only when all passed.
function checker() {
  const results = [];
  return {
    async check(name, fn) {
      try {
        await fn();
        results.push(true);
        console.log(`ok - ${name}`);
      } catch (e) {
        results.push(false);
        console.log(`not ok - ${name}: ${e.stack || e.message}`);
      }
    },
    finish() {
      const failed = results.filter((r) => !r).length;
      console.log(`${results.length - failed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}

module.exports = {
  grpc, makeKey, writePolicy, startLogoutd, stopLogoutd, policyClient, adminClient, bearer, unary, closedPort, waitFor, checker, scrapeMetrics,
};

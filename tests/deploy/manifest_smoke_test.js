#!/usr/bin/env node
// Runs the real logoutd exactly as the rendered `single` overlay would: the container's args and
// env from `kubectl kustomize`, every volumeMount materialised as a directory (ConfigMap keys
// written out, Secrets filled with freshly minted certificates and a token, the claim and the
// emptyDir empty), listen ports remapped to free local ports. Then it does what the kubelet and
// clients do: native-probe-style gRPC health checks on the plaintext health port (the services
// the probes name), mutual TLS on the decision and admin ports (and refusals without a client
// certificate or without TLS), a /metrics scrape, SIGTERM (readiness turns NOT_SERVING, the
// process exits within terminationGracePeriodSeconds). Last, the repository's placeholder
// Secrets must keep logoutd from starting (fail closed).
//
// Usage: node manifest_smoke_test.js LOGOUTD_BINARY REPO_ROOT.
// Exit 0 pass, 1 fail, 77 skipped (no kubectl / openssl), reason printed.
'use strict';

const fs = require('fs');
const os = require('os');
const net = require('net');
const http = require('http');
const path = require('path');
const crypto = require('crypto');
const {execFileSync, spawn} = require('child_process');

const SKIP = 77;
const [binary, rootArg] = process.argv.slice(2);
const root = path.resolve(rootArg || path.join(__dirname, '..', '..'));
const SERVER_NAME = 'logoutd.logoutd.svc';
const READINESS_SERVICE = 'logout.v1.LogoutPolicy';

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch (e) { /* next */ }
  }
  return null;
}

const kubectl = process.env.KUBECTL || which('kubectl');
if (!kubectl) {
  console.log('SKIP: kubectl is not on PATH: cannot render deploy/kustomize/overlays/single');
  process.exit(SKIP);
}
if (!which('openssl')) {
  console.log('SKIP: openssl is not on PATH: cannot mint the test certificates');
  process.exit(SKIP);
}
if (!binary || !fs.existsSync(binary)) {
  console.log(`FAIL: logoutd binary ${binary} does not exist`);
  process.exit(1);
}
let grpc, yaml;
try {
  grpc = require(path.join(root, 'tests/integration/node/node_modules/@grpc/grpc-js'));
  yaml = require(path.join(__dirname, 'node_modules', 'js-yaml'));
} catch (e) {
  console.log('FAIL: node modules missing: run scripts/setup.sh (npm ci in tests/integration/node ' +
              `and tests/deploy): ${e.message}`);
  process.exit(1);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-deploy-'));
let passed = 0, failed = 0;
function report(name, problem) {
  if (!problem) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}\n       - ${problem}`);
  }
}

// ---- Materials an operator would put into the Secrets ---------------------------------------

function openssl(args, cwd) {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']});
}

function mintPki() {
  const dir = path.join(tmp, 'pki');
  fs.mkdirSync(dir);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=logoutd test CA'], dir);
  const leaf = (name, cn, ext) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`], dir);
  };
  leaf('server', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME},DNS:logoutd-headless.logoutd.svc\n` +
       'extendedKeyUsage=serverAuth\n');
  leaf('client', 'web-tier', 'subjectAltName=URI:spiffe://cluster.local/ns/web/sa/web-tier\n' +
       'extendedKeyUsage=clientAuth\n');
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'),
    clientCert: read('client.crt'), clientKey: read('client.key'),
  };
}

// ---- The pod, from the rendered overlay -------------------------------------------------------

function renderSingle() {
  const out = execFileSync(kubectl, ['kustomize', path.join(root, 'deploy/kustomize/overlays/single')],
      {encoding: 'utf8'});
  return yaml.loadAll(out).filter(Boolean);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function secretData(secret) {
  const out = {};
  for (const [k, v] of Object.entries(secret.data || {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(secret.stringData || {})) out[k] = String(v);
  return out;
}

// Builds the process invocation: args/env with mount paths and ports mapped to this machine.
// `secrets` maps Secret name -> {key: value}.
async function podInvocation(objs, secrets, label) {
  const sts = objs.find((o) => o.kind === 'StatefulSet');
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];
  const fsRoot = path.join(tmp, label);
  const mountMap = [];  // [containerPath, hostPath], longest first
  for (const m of c.volumeMounts) {
    const host = path.join(fsRoot, m.mountPath);
    fs.mkdirSync(host, {recursive: true});
    mountMap.push([m.mountPath, host]);
    const v = (pod.volumes || []).find((x) => x.name === m.name);
    let data = null, items = null;
    if (v && v.configMap) {
      data = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name).data;
      items = v.configMap.items;
    } else if (v && v.secret) {
      data = secrets[v.secret.secretName];
      items = v.secret.items;
    }
    if (data) {
      for (const it of items || Object.keys(data).map((k) => ({key: k, path: k}))) {
        fs.writeFileSync(path.join(host, it.path), data[it.key], {mode: 0o600});
      }
    }
  }
  mountMap.sort((a, b) => b[0].length - a[0].length);
  const mapPath = (s) => {
    for (const [from, to] of mountMap) {
      const i = s.indexOf(from + '/');
      if (i >= 0 && (i === 0 || s[i - 1] === '=' || s[i - 1] === ':')) return s.slice(0, i) + to + s.slice(i + from.length);
      if (s.endsWith('=' + from) || s === from) return s.slice(0, s.length - from.length) + to;
    }
    return s;
  };
  const ports = {};
  const byNumber = new Map(c.ports.map((p) => [p.containerPort, p.name]));
  const args = [];
  for (const a of c.args) {
    const m = /^(--[a-z_]*listen)=(.*):(\d+)$/.exec(a);
    if (m) {
      const name = byNumber.get(Number(m[3]));
      ports[name] = await freePort();
      args.push(`${m[1]}=127.0.0.1:${ports[name]}`);
    } else {
      args.push(mapPath(a));
    }
  }
  const env = {PATH: process.env.PATH};
  for (const e of c.env || []) {
    if (e.value !== undefined) env[e.name] = mapPath(e.value);
    else if (e.valueFrom && e.valueFrom.secretKeyRef) {
      env[e.name] = secrets[e.valueFrom.secretKeyRef.name][e.valueFrom.secretKeyRef.key];
    }
  }
  return {args, env, ports, cwd: fsRoot, grace: pod.terminationGracePeriodSeconds, container: c};
}

function start(inv) {
  const child = spawn(binary, inv.args, {cwd: inv.cwd, env: inv.env, stdio: ['ignore', 'ignore', 'pipe']});
  child.stderrText = '';
  child.stderr.on('data', (d) => { child.stderrText += d.toString(); });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal})));
  return child;
}

// ---- gRPC health, hand-encoded (HealthCheckRequest{service=1}, HealthCheckResponse{status=1}) --

const encodeRequest = (service) => {
  const b = Buffer.from(service, 'utf8');
  return b.length ? Buffer.concat([Buffer.from([0x0a, b.length]), b]) : Buffer.alloc(0);
};
const decodeResponse = (buf) => (buf.length >= 2 && buf[0] === 0x08 ? buf[1] : 0);
const STATUS = {0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN'};

function healthCheck(port, service, creds, options = {}) {
  return new Promise((resolve) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, creds, options);
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', encodeRequest, decodeResponse, service,
        new grpc.Metadata(), {deadline: Date.now() + 2000}, (err, status) => {
          client.close();
          resolve(err ? {error: `${grpc.status[err.code]}: ${err.details}`} : {status: STATUS[status]});
        });
  });
}

async function waitFor(fn, ms) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

function httpGet(port, p) {
  return new Promise((resolve) => {
    http.get({host: '127.0.0.1', port, path: p, timeout: 3000}, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({code: res.statusCode, body}));
    }).on('error', (e) => resolve({error: e.message}));
  });
}

// ---- The test -------------------------------------------------------------------------------

async function main() {
  const objs = renderSingle();
  const pki = mintPki();
  const token = crypto.randomBytes(24).toString('base64');
  const real = {
    'logoutd-tls': {'tls.crt': pki.serverCert, 'tls.key': pki.serverKey, 'ca.crt': pki.ca},
    'logoutd-admin-token': {token},
  };
  const placeholders = {};
  for (const s of objs.filter((o) => o.kind === 'Secret')) placeholders[s.metadata.name] = secretData(s);

  // The binary knows every flag the manifest passes.
  // Abseil prints --helpfull and exits 1.
  let help;
  try {
    help = execFileSync(binary, ['--helpfull'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  } catch (e) {
    help = `${e.stdout || ''}${e.stderr || ''}`;
  }
  if (!help.includes('-listen')) {
    report('logoutd --helpfull lists its flags', `${binary} printed no flag list`);
    return;
  }
  const sts = objs.find((o) => o.kind === 'StatefulSet');
  const unknown = sts.spec.template.spec.containers[0].args.map((a) => a.split('=')[0])
      .filter((f) => !help.includes(`-${f.replace(/^--/, '')} `) && !help.includes(`-${f.replace(/^--/, '')} (`));
  report('logoutd knows every flag the manifest passes', unknown.length ? `unknown to ${binary}: ${unknown.join(', ')}` : null);
  if (unknown.length) return;

  const inv = await podInvocation(objs, real, 'pod');
  const child = start(inv);
  try {
    // startupProbe/livenessProbe: service ""; readinessProbe: the decision service.
    const probe = inv.container.readinessProbe.grpc;
    const healthPort = inv.ports[Object.entries(inv.ports).map(([n]) => n)
        .find((n) => inv.container.ports.find((p) => p.name === n).containerPort === probe.port)];
    const insecure = grpc.credentials.createInsecure();
    for (const [name, service] of [['startupProbe', inv.container.startupProbe.grpc.service || ''],
      ['livenessProbe', inv.container.livenessProbe.grpc.service || ''],
      ['readinessProbe', probe.service || '']]) {
      const r = await waitFor(async () => {
        const h = await healthCheck(healthPort, service, insecure);
        return {...h, ok: h.status === 'SERVING'};
      }, 20000);
      report(`${name} (grpc port ${probe.port}, service "${service}") reports SERVING in plaintext`,
             r.ok ? null : `got ${r.status || r.error}; logoutd stderr:\n${child.stderrText}`);
    }
    if (probe.service !== READINESS_SERVICE) report('readiness asks for the decision service', `asks for ${probe.service}`);

    const mtls = grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert));
    const tlsOnly = grpc.credentials.createSsl(Buffer.from(pki.ca));
    const nameOpts = {'grpc.ssl_target_name_override': SERVER_NAME, 'grpc.default_authority': SERVER_NAME};
    const grpcOk = await healthCheck(inv.ports.grpc, READINESS_SERVICE, mtls, nameOpts);
    report('decision port answers over mutual TLS (server cert from the tls Secret, client CA ca.crt)',
           grpcOk.status === 'SERVING' ? null : `got ${grpcOk.status || grpcOk.error}`);
    const noClientCert = await healthCheck(inv.ports.grpc, READINESS_SERVICE, tlsOnly, nameOpts);
    report('decision port refuses a client without a certificate',
           noClientCert.error ? null : `answered ${noClientCert.status}`);
    const plain = await healthCheck(inv.ports.grpc, READINESS_SERVICE, insecure);
    report('decision port refuses plaintext', plain.error ? null : `answered ${plain.status}`);
    const adminOk = await healthCheck(inv.ports.admin, '', mtls, nameOpts);
    report('admin port answers over mutual TLS', adminOk.status === 'SERVING' ? null : `got ${adminOk.status || adminOk.error}`);
    const adminPlain = await healthCheck(inv.ports.admin, '', insecure);
    report('admin port refuses plaintext', adminPlain.error ? null : `answered ${adminPlain.status}`);

    const metrics = await httpGet(inv.ports.metrics, '/metrics');
    report('metrics port serves /metrics', metrics.code === 200 && /^# (HELP|TYPE) /m.test(metrics.body) ? null :
           `got ${metrics.error || metrics.code}`);

    // SIGTERM: readiness NOT_SERVING during the drain, exit within the grace period.
    const t0 = Date.now();
    child.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const h = await healthCheck(healthPort, READINESS_SERVICE, insecure);
      return {...h, ok: h.status === 'NOT_SERVING'};
    }, 3000);
    report('after SIGTERM readiness reports NOT_SERVING while draining', draining.ok ? null : `got ${draining.status || draining.error}`);
    const grace = inv.grace === undefined ? 30 : inv.grace;
    const exit = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r(null), grace * 1000))]);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    report(`logoutd exits cleanly within terminationGracePeriodSeconds (${grace}s)`,
           exit && exit.code === 0 ? null : `exit ${JSON.stringify(exit)} after ${secs}s`);
    console.log(`       (drain + shutdown took ${secs}s)`);
    report('logs never contain the admin token', child.stderrText.includes(token) ? 'the token is in stderr' : null);
    const data = fs.readdirSync(inv.args.find((a) => a.startsWith('--store=sqlite:')).slice('--store=sqlite:'.length).replace(/\/[^/]+$/, ''));
    report('the SQLite store lives on the data volume', data.some((f) => f.endsWith('.db')) ? null : `volume holds ${data}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  // The placeholders in the repository must not start a server.
  for (const [which, secrets] of [
    ['TLS placeholder', {...real, 'logoutd-tls': placeholders['logoutd-tls']}],
    ['admin token placeholder', {...real, 'logoutd-admin-token': placeholders['logoutd-admin-token']}],
  ]) {
    const pinv = await podInvocation(objs, secrets, which.replace(/ /g, '-'));
    const p = start(pinv);
    const r = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res(null), 15000))]);
    if (!r) p.kill('SIGKILL');
    report(`the repository's ${which} keeps logoutd from starting (fail closed)`,
           r && r.code !== 0 ? null : (r ? `exited ${r.code}` : `still running after 15s; stderr:\n${p.stderrText}`));
    const lastLine = p.stderrText.trim().split('\n').pop() || '';
    console.log(`       (logoutd said: ${lastLine.slice(0, 300)})`);
  }
}

main().catch((e) => {
  report('smoke test', e.stack || String(e));
}).finally(() => {
  fs.rmSync(tmp, {recursive: true, force: true});
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});

#!/usr/bin/env node
// Runs the real logoutd exactly as each rendered overlay would: the container's args and env from
// `kubectl kustomize` (`single`: SQLite on the claim; `ha`: a real PostgreSQL started here with
// password authentication, reached with PGPASSWORD from the Secret), every volumeMount materialised as a directory (ConfigMap keys
// written out, Secrets filled with freshly minted certificates and a token, the claim and the
// emptyDir empty), listen ports remapped to free local ports. Then it does what the kubelet and
// clients do: native-probe-style gRPC health checks on the plaintext health port (the services
// the probes name), mutual TLS on the decision and admin ports (and refusals without a client
// certificate or without TLS), a /metrics scrape, SIGTERM (readiness turns NOT_SERVING, the
// process exits within terminationGracePeriodSeconds). Last, the repository's placeholder
// Secrets must keep logoutd from starting (fail closed). Without PostgreSQL server binaries the
// ha part is skipped with a printed reason.
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

function renderOverlay(name) {
  const out = execFileSync(kubectl, ['kustomize', path.join(root, 'deploy/kustomize/overlays', name)],
      {encoding: 'utf8'});
  return yaml.loadAll(out).filter(Boolean);
}
const workloadOf = (objs) => objs.find((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');

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
// `storeHost` replaces the host:port of a postgresql:// store (the in-cluster Service name).
async function podInvocation(objs, secrets, label, storeHost) {
  const pod = workloadOf(objs).spec.template.spec;
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
    } else if (storeHost && a.startsWith('--store=postgresql://')) {
      args.push(a.replace(/^(--store=postgresql:\/\/[^@/]*@)[^/]*/, `$1${storeHost}`));
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

// ---- A real PostgreSQL with password authentication (ha) ---------------------------------------

function postgresBinDir() {
  if (process.env.LOGOUT_PG_BINDIR) return process.env.LOGOUT_PG_BINDIR;
  let best = null;
  try {
    for (const v of fs.readdirSync('/usr/lib/postgresql')) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (fs.existsSync(`${dir}/initdb`) && fs.existsSync(`${dir}/postgres`) &&
          (!best || Number(v) > best.v)) best = {v: Number(v), dir};
    }
  } catch (e) { /* none */ }
  return best && best.dir;
}

// Starts postgres on a free port with role `user`/`password` (scram-sha-256 for every TCP
// connection) and database `db`. Returns {port, stop} or {skip: reason}.
async function startPostgres(user, password, db) {
  const bin = postgresBinDir();
  if (!bin) return {skip: 'no PostgreSQL server binaries (/usr/lib/postgresql/*/bin; scripts/setup.sh installs postgresql)'};
  const opts = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-deploy-pg-'));
  if (process.getuid && process.getuid() === 0) {
    let uid, gid;
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}).trim());
      gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}).trim());
    } catch (e) {
      return {skip: 'running as root and there is no `postgres` user to run the server as'};
    }
    fs.chownSync(dir, uid, gid);
    Object.assign(opts, {uid, gid});
  }
  fs.chmodSync(dir, 0o700);
  fs.writeFileSync(path.join(dir, 'pw'), password);
  if (opts.uid !== undefined) fs.chownSync(path.join(dir, 'pw'), opts.uid, opts.gid);
  execFileSync(`${bin}/initdb`, ['-D', `${dir}/data`, '-A', 'scram-sha-256', '-U', user,
    `--pwfile=${dir}/pw`, '--no-sync', '-E', 'UTF8', '--locale=C'], {...opts, stdio: 'ignore'});
  const port = await freePort();
  const pg = spawn(`${bin}/postgres`, ['-D', `${dir}/data`, '-k', dir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB',
    '-c', 'max_connections=50', '-c', 'dynamic_shared_memory_type=mmap'], {...opts, stdio: 'ignore'});
  const stop = () => {
    if (pg.exitCode === null && pg.signalCode === null) pg.kill('SIGINT');
    return new Promise((r) => (pg.exitCode !== null || pg.signalCode !== null) ? r() : pg.on('exit', r))
        .then(() => fs.rmSync(dir, {recursive: true, force: true}));
  };
  const env = {...process.env, PGPASSWORD: password};
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync(`${bin}/createdb`, ['-h', '127.0.0.1', '-p', String(port), '-U', user, db],
          {env, stdio: 'ignore'});
      return {port, stop};
    } catch (e) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await stop();
  throw new Error('PostgreSQL did not come up in 20 s');
}

// ---- The test -------------------------------------------------------------------------------

async function flagsKnown(objs) {
  // Abseil prints --helpfull and exits 1.
  let help;
  try {
    help = execFileSync(binary, ['--helpfull'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  } catch (e) {
    help = `${e.stdout || ''}${e.stderr || ''}`;
  }
  if (!help.includes('-listen')) return [`${binary} --helpfull printed no flag list`];
  return workloadOf(objs).spec.template.spec.containers[0].args.map((a) => a.split('=')[0])
      .filter((f) => !help.includes(`-${f.replace(/^--/, '')} `) && !help.includes(`-${f.replace(/^--/, '')} (`));
}

// Starts the pod's process with real Secrets and checks what kubelet and clients see.
async function runPod(overlay, objs, secrets, pki, hidden, storeHost, extraChecks) {
  const inv = await podInvocation(objs, secrets, `${overlay}-pod`, storeHost);
  const child = start(inv);
  const insecure = grpc.credentials.createInsecure();
  try {
    // startupProbe/livenessProbe: service ""; readinessProbe: the decision service.
    const probe = inv.container.readinessProbe.grpc;
    const portName = inv.container.ports.find((p) => p.containerPort === probe.port).name;
    const healthPort = inv.ports[portName];
    for (const [name, service] of [['startupProbe', inv.container.startupProbe.grpc.service || ''],
      ['livenessProbe', inv.container.livenessProbe.grpc.service || ''],
      ['readinessProbe', probe.service || '']]) {
      const r = await waitFor(async () => {
        const h = await healthCheck(healthPort, service, insecure);
        return {...h, ok: h.status === 'SERVING'};
      }, 20000);
      report(`${overlay}: ${name} (grpc port ${probe.port}, service "${service}") reports SERVING in plaintext`,
             r.ok ? null : `got ${r.status || r.error}; logoutd stderr:\n${child.stderrText}`);
    }
    if (probe.service !== READINESS_SERVICE) report(`${overlay}: readiness asks for the decision service`, `asks for ${probe.service}`);

    const mtls = grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert));
    const tlsOnly = grpc.credentials.createSsl(Buffer.from(pki.ca));
    const nameOpts = {'grpc.ssl_target_name_override': SERVER_NAME, 'grpc.default_authority': SERVER_NAME};
    const grpcOk = await healthCheck(inv.ports.grpc, READINESS_SERVICE, mtls, nameOpts);
    report(`${overlay}: decision port answers over mutual TLS (server cert from the tls Secret, client CA ca.crt)`,
           grpcOk.status === 'SERVING' ? null : `got ${grpcOk.status || grpcOk.error}`);
    const noClientCert = await healthCheck(inv.ports.grpc, READINESS_SERVICE, tlsOnly, nameOpts);
    report(`${overlay}: decision port refuses a client without a certificate`,
           noClientCert.error ? null : `answered ${noClientCert.status}`);
    const plain = await healthCheck(inv.ports.grpc, READINESS_SERVICE, insecure);
    report(`${overlay}: decision port refuses plaintext`, plain.error ? null : `answered ${plain.status}`);
    const adminOk = await healthCheck(inv.ports.admin, '', mtls, nameOpts);
    report(`${overlay}: admin port answers over mutual TLS`, adminOk.status === 'SERVING' ? null : `got ${adminOk.status || adminOk.error}`);
    const adminPlain = await healthCheck(inv.ports.admin, '', insecure);
    report(`${overlay}: admin port refuses plaintext`, adminPlain.error ? null : `answered ${adminPlain.status}`);

    const metrics = await httpGet(inv.ports.metrics, '/metrics');
    report(`${overlay}: metrics port serves /metrics`, metrics.code === 200 && /^# (HELP|TYPE) /m.test(metrics.body) ? null :
           `got ${metrics.error || metrics.code}`);
    if (extraChecks) await extraChecks(inv, healthPort);

    // SIGTERM: readiness NOT_SERVING during the drain, exit within the grace period.
    const t0 = Date.now();
    child.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const h = await healthCheck(healthPort, READINESS_SERVICE, insecure);
      return {...h, ok: h.status === 'NOT_SERVING'};
    }, 3000);
    report(`${overlay}: after SIGTERM readiness reports NOT_SERVING while draining`, draining.ok ? null : `got ${draining.status || draining.error}`);
    const grace = inv.grace === undefined ? 30 : inv.grace;
    const exit = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r(null), grace * 1000))]);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    report(`${overlay}: logoutd exits cleanly within terminationGracePeriodSeconds (${grace}s)`,
           exit && exit.code === 0 ? null : `exit ${JSON.stringify(exit)} after ${secs}s`);
    console.log(`       (drain + shutdown took ${secs}s)`);
    const leaked = Object.entries(hidden).filter(([, v]) => child.stderrText.includes(v)).map(([k]) => k);
    report(`${overlay}: logs never contain the admin token or the database password`,
           leaked.length ? `stderr contains the ${leaked.join(', ')}` : null);
    return inv;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// Starts the pod with `secrets` and requires it to exit non-zero (fail closed).
async function mustNotStart(overlay, objs, secrets, what, storeHost) {
  const inv = await podInvocation(objs, secrets, `${overlay}-${what.replace(/ /g, '-')}`, storeHost);
  const p = start(inv);
  const r = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res(null), 20000))]);
  if (!r) p.kill('SIGKILL');
  report(`${overlay}: the repository's ${what} keeps logoutd from starting (fail closed)`,
         r && r.code !== 0 ? null : (r ? `exited ${r.code}` : `still running after 20s; stderr:\n${p.stderrText}`));
  const lastLine = p.stderrText.trim().split('\n').pop() || '';
  console.log(`       (logoutd said: ${lastLine.slice(0, 300)})`);
}

async function main() {
  const pki = mintPki();
  const token = crypto.randomBytes(24).toString('base64');
  const pgPassword = crypto.randomBytes(18).toString('base64');
  const real = {
    'logoutd-tls': {'tls.crt': pki.serverCert, 'tls.key': pki.serverKey, 'ca.crt': pki.ca},
    'logoutd-admin-token': {token},
    'logoutd-postgres': {password: pgPassword},
  };
  const hidden = {'admin token': token, 'database password': pgPassword};

  for (const overlay of ['single', 'ha']) {
    const objs = renderOverlay(overlay);
    const placeholders = {};
    for (const s of objs.filter((o) => o.kind === 'Secret')) placeholders[s.metadata.name] = secretData(s);
    const unknown = await flagsKnown(objs);
    report(`${overlay}: logoutd knows every flag the manifest passes`, unknown.length ? `unknown to ${binary}: ${unknown.join(', ')}` : null);
    if (unknown.length) continue;

    if (overlay === 'single') {
      await runPod(overlay, objs, real, pki, hidden, null, async (inv) => {
        const store = inv.args.find((a) => a.startsWith('--store=sqlite:')).slice('--store=sqlite:'.length);
        report('single: the SQLite store lives on the data volume',
               fs.existsSync(store) && store.startsWith(inv.cwd) ? null : `${store} missing`);
      });
      await mustNotStart(overlay, objs, {...real, 'logoutd-tls': placeholders['logoutd-tls']}, 'TLS placeholder');
      await mustNotStart(overlay, objs, {...real, 'logoutd-admin-token': placeholders['logoutd-admin-token']}, 'admin token placeholder');
      continue;
    }

    // ha: the store URL's role and database, a server that demands the password.
    const store = workloadOf(objs).spec.template.spec.containers[0].args.find((a) => a.startsWith('--store='));
    const url = new URL(store.slice('--store='.length));
    const pg = await startPostgres(decodeURIComponent(url.username), pgPassword, url.pathname.slice(1));
    if (pg.skip) {
      console.log(`skip ha: ${pg.skip}`);
      continue;
    }
    try {
      const host = `127.0.0.1:${pg.port}`;
      await runPod(overlay, objs, real, pki, hidden, host, async (inv, healthPort) => {
        const h = await healthCheck(healthPort, 'logout.v1.PolicyStore', grpc.credentials.createInsecure());
        report('ha: the PostgreSQL store is healthy (logout.v1.PolicyStore SERVING)',
               h.status === 'SERVING' ? null : `got ${h.status || h.error}`);
      });
      await mustNotStart(overlay, objs, {...real, 'logoutd-postgres': placeholders['logoutd-postgres']}, 'PostgreSQL password placeholder', host);
    } finally {
      await pg.stop();
    }
  }
}

main().catch((e) => {
  report('smoke test', e.stack || String(e));
}).finally(() => {
  fs.rmSync(tmp, {recursive: true, force: true});
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});

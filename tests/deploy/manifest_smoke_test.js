#!/usr/bin/env node
// Runs the real logoutd exactly as each rendered overlay would: the container's args and env from
// `kubectl kustomize` (`overlays/single`: SQLite on the claim; `examples/demo`: the same, seeded
// with the example policy; `overlays/ha` and `examples/operator`: a real PostgreSQL started here
// that accepts only TLS and scram password authentication, reached with PGPASSWORD from the
// Secret and sslmode=verify-full against the CA in the Secret), every volumeMount materialised as
// a directory (ConfigMap keys written out, the Secrets an operator creates filled with freshly
// minted certificates, a token and a password, the claim and the emptyDir empty), listen ports
// and the database host remapped to local ones. Then it does what the kubelet, operators and
// clients do: the startup and liveness probes (tcpSocket or gRPC health) on the health port;
// readiness NOT_SERVING while the store is empty, the first policy imported through the admin
// API (mutual TLS and the token), readiness SERVING; mutual TLS on the decision and admin ports
// (and refusals without a client certificate or without TLS), a /metrics scrape at the
// annotations' port and path, SIGTERM (readiness turns NOT_SERVING, the process exits within
// terminationGracePeriodSeconds). Last, missing or unusable Secrets (an empty mount, keys that
// are not PEM or do not match, a short token, a wrong password, a database certificate from
// another CA or naming another host) must keep logoutd from starting (fail closed). Without
// PostgreSQL server binaries the ha part is skipped with a printed reason.
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
let grpc, protoLoader, yaml;
try {
  grpc = require(path.join(root, 'tests/integration/node/node_modules/@grpc/grpc-js'));
  protoLoader = require(path.join(root, 'tests/integration/node/node_modules/@grpc/proto-loader'));
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

// logoutd's CA (server and client certificates), the database's own CA with a server
// certificate for 127.0.0.1 (the address the test dials; an IP SAN only, so dialling
// `localhost` must fail verify-full), and an unrelated CA.
function mintPki() {
  const dir = path.join(tmp, 'pki');
  fs.mkdirSync(dir);
  const ca = (name, cn) => openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${cn}`], dir);
  const leaf = (name, caName, cn, ext) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`,
      '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`], dir);
  };
  ca('ca', 'logoutd test CA');
  ca('pg-ca', 'PostgreSQL test CA');
  ca('other-ca', 'unrelated test CA');
  leaf('server', 'ca', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME},DNS:logoutd-headless.logoutd.svc\n` +
       'extendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'web-tier', 'subjectAltName=URI:spiffe://cluster.local/ns/web/sa/web-tier\n' +
       'extendedKeyUsage=clientAuth\n');
  leaf('pg-server', 'pg-ca', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'),
    clientCert: read('client.crt'), clientKey: read('client.key'),
    pgCa: read('pg-ca.crt'), pgServerCert: read('pg-server.crt'), pgServerKey: read('pg-server.key'),
    otherCa: read('other-ca.crt'),
  };
}

// ---- The pod, from the rendered overlay -------------------------------------------------------

function renderOverlay(dir) {
  const out = execFileSync(kubectl, ['kustomize', path.join(root, 'deploy/kustomize', dir)],
      {encoding: 'utf8'});
  return yaml.loadAll(out).filter(Boolean);
}
const workloadOf = (objs) => objs.find((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');

// A port that is free now, for logoutd to bind a moment later. Taken below the kernel's
// ephemeral range (32768 and up by default), where the ports of concurrently running tests that
// listen on port 0 or connect out are allocated, so none of them can take it in between (a race
// a port from listen(0) loses under `ctest -j`). 20000-25999: this test's own range.
const portsHandedOut = new Set();
async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 6000);
    if (portsHandedOut.has(port)) continue;
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) {
      portsHandedOut.add(port);
      return port;
    }
  }
}

// Builds the process invocation: args/env with mount paths and ports mapped to this machine.
// `secrets` maps Secret name -> {key: value}; a Secret or key that is absent leaves its mount
// empty or its variable unset (what an `optional: true` reference would do).
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
        if (data[it.key] !== undefined) fs.writeFileSync(path.join(host, it.path), data[it.key], {mode: 0o600});
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
      args.push(mapPath(a.replace(/^(--store=postgresql:\/\/[^@/]*@)[^/]*/, `$1${storeHost}`)));
    } else {
      args.push(mapPath(a));
    }
  }
  const env = {PATH: process.env.PATH};
  for (const e of c.env || []) {
    if (e.value !== undefined) env[e.name] = mapPath(e.value);
    else if (e.valueFrom && e.valueFrom.secretKeyRef) {
      const value = (secrets[e.valueFrom.secretKeyRef.name] || {})[e.valueFrom.secretKeyRef.key];
      if (value !== undefined) env[e.name] = value;
    }
  }
  const annotations = workloadOf(objs).spec.template.metadata.annotations || {};
  return {args, env, ports, cwd: fsRoot, grace: pod.terminationGracePeriodSeconds, container: c,
    annotations};
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

// What a kubelet tcpSocket probe does: open a TCP connection.
function tcpConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({host: '127.0.0.1', port, timeout: 2000}, () => {
      sock.destroy();
      resolve({ok: true});
    });
    sock.on('error', (e) => resolve({error: e.message}));
    sock.on('timeout', () => {
      sock.destroy();
      resolve({error: 'timeout'});
    });
  });
}

// A kubelet probe against the invocation's ports: {ok, detail}.
async function probe(inv, p) {
  const handler = p.grpc || p.tcpSocket;
  const num = typeof handler.port === 'string' ? inv.container.ports.find((x) => x.name === handler.port).containerPort : handler.port;
  const port = inv.ports[inv.container.ports.find((x) => x.containerPort === num).name];
  if (p.tcpSocket) {
    const r = await tcpConnect(port);
    return {ok: r.ok, detail: r.ok ? 'connected' : r.error};
  }
  const h = await healthCheck(port, p.grpc.service || '', grpc.credentials.createInsecure());
  return {ok: h.status === 'SERVING', detail: h.status || h.error};
}

// LogoutAdmin.ImportPolicy, as an operator imports the first policy into an empty store.
let adminProto = null;
function importPolicy(port, creds, options, token, policy) {
  if (!adminProto) {
    adminProto = grpc.loadPackageDefinition(protoLoader.loadSync('logout/v1/admin.proto', {
      includeDirs: [path.join(root, 'proto')], keepCase: false, longs: String, enums: String, defaults: false,
    }));
  }
  return new Promise((resolve) => {
    const client = new adminProto.logout.v1.LogoutAdmin(`127.0.0.1:${port}`, creds, options);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    client.importPolicy({policy, force: true}, md, {deadline: Date.now() + 5000}, (err, r) => {
      client.close();
      resolve(err ? {error: `${grpc.status[err.code]}: ${err.details}`} : r);
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

// ---- A real PostgreSQL with TLS and password authentication (ha) -------------------------------

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

// Starts postgres on a free port of 127.0.0.1 with role `user`/`password` and database `db`,
// serving `tls` ({cert, key}) and accepting TCP connections only over TLS with scram-sha-256.
// Returns {port, bin, stop} or {skip: reason}.
async function startPostgres(user, password, db, tls) {
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
  // TLS only: a plaintext TCP connection is rejected, so every connection that works used TLS.
  fs.writeFileSync(path.join(dir, 'data', 'pg_hba.conf'), [
    'local all all scram-sha-256',
    'hostssl all all 127.0.0.1/32 scram-sha-256',
    'hostnossl all all all reject', ''].join('\n'));
  for (const [f, v] of [['server.crt', tls.cert], ['server.key', tls.key]]) {
    fs.writeFileSync(path.join(dir, f), v, {mode: 0o600});
    if (opts.uid !== undefined) fs.chownSync(path.join(dir, f), opts.uid, opts.gid);
  }
  const port = await freePort();
  const pg = spawn(`${bin}/postgres`, ['-D', `${dir}/data`, '-k', dir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB',
    '-c', 'max_connections=50', '-c', 'dynamic_shared_memory_type=mmap',
    '-c', 'ssl=on', '-c', `ssl_cert_file=${dir}/server.crt`, '-c', `ssl_key_file=${dir}/server.key`],
  {...opts, stdio: 'ignore'});
  const stop = () => {
    if (pg.exitCode === null && pg.signalCode === null) pg.kill('SIGINT');
    return new Promise((r) => (pg.exitCode !== null || pg.signalCode !== null) ? r() : pg.on('exit', r))
        .then(() => fs.rmSync(dir, {recursive: true, force: true}));
  };
  const env = {...process.env, PGPASSWORD: password, PGSSLMODE: 'require'};
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync(`${bin}/createdb`, ['-h', '127.0.0.1', '-p', String(port), '-U', user, db],
          {env, stdio: 'ignore'});
      return {port, bin, stop};
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

// Starts the pod's process with real Secrets and checks what kubelet, operators and clients see.
// `bootstrap`: 'import' (the store starts empty: readiness waits for the first policy, which is
// imported through the admin API), 'seed' (--policy seeds it) or 'stored' (a shared database
// already holds one). Returns the invocation (its fsRoot holds the volumes).
async function runPod(overlay, objs, secrets, ctx, {storeHost, bootstrap, extraChecks, label}) {
  const {pki, hidden, token, policy} = ctx;
  const inv = await podInvocation(objs, secrets, label || `${overlay}-pod`, storeHost);
  const child = start(inv);
  const insecure = grpc.credentials.createInsecure();
  try {
    // startupProbe, then livenessProbe: as the kubelet runs them (tcpSocket or gRPC health).
    for (const name of ['startupProbe', 'livenessProbe']) {
      const p = inv.container[name];
      if (!p) continue;
      const r = await waitFor(() => probe(inv, p), 20000);
      const how = p.tcpSocket ? `tcpSocket port ${p.tcpSocket.port}` : `grpc port ${p.grpc.port}, service "${p.grpc.service || ''}"`;
      report(`${overlay}: ${name} (${how}) succeeds${bootstrap === 'import' ? ' with an empty store' : ''}`,
             r.ok ? null : `got ${r.detail}; logoutd stderr:\n${child.stderrText}`);
    }
    const rp = inv.container.readinessProbe;
    if (!rp.grpc || rp.grpc.service !== READINESS_SERVICE) report(`${overlay}: readiness asks for the decision service`, `asks for ${JSON.stringify(rp)}`);
    const healthPort = inv.ports[inv.container.ports.find((p) => p.containerPort === rp.grpc.port).name];
    const mtls = grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert));
    const tlsOnly = grpc.credentials.createSsl(Buffer.from(pki.ca));
    const nameOpts = {'grpc.ssl_target_name_override': SERVER_NAME, 'grpc.default_authority': SERVER_NAME};

    if (bootstrap === 'import') {
      // No policy: the pod stays alive and unready, says why, and takes its first policy from
      // the admin API (what `logoutctl policy import` sends), over mutual TLS with the token.
      const before = await probe(inv, rp);
      report(`${overlay}: readinessProbe (service "${READINESS_SERVICE}") reports NOT_SERVING while the store is empty`,
             before.detail === 'NOT_SERVING' ? null : `got ${before.detail}; logoutd stderr:\n${child.stderrText}`);
      report(`${overlay}: logoutd logs that the store is empty and how to load a policy`,
             /"level":"warning","msg":"no policy loaded: the store is empty/.test(child.stderrText) ? null : `stderr:\n${child.stderrText}`);
      const noToken = await importPolicy(inv.ports.admin, mtls, nameOpts, 'not-the-admin-token-0123456789', policy);
      report(`${overlay}: the admin API refuses an import without the token from the Secret`,
             noToken.error && /UNAUTHENTICATED|PERMISSION_DENIED/.test(noToken.error) ? null : `got ${JSON.stringify(noToken)}`);
      const imported = await importPolicy(inv.ports.admin, mtls, nameOpts, token, policy);
      report(`${overlay}: the first policy is imported through the admin port (mutual TLS, token from the Secret)`,
             imported.error ? imported.error : (imported.policyVersion === '1' ? null : `got ${JSON.stringify(imported)}`));
    } else if (bootstrap === 'seed') {
      const seeded = await waitFor(async () => ({ok: /"msg":"store seeded from policy file"/.test(child.stderrText)}), 5000);
      report(`${overlay}: logoutd seeds the empty store from the --policy ConfigMap`,
             seeded.ok ? null : `stderr:\n${child.stderrText}`);
    }
    const ready = await waitFor(async () => {
      const r = await probe(inv, rp);
      return {...r, ok: r.detail === 'SERVING'};
    }, 20000);
    report(`${overlay}: readinessProbe (grpc port ${rp.grpc.port}, service "${READINESS_SERVICE}") reports SERVING in plaintext` +
           (bootstrap === 'stored' ? ' (the policy already in the shared database)' : ''),
           ready.ok ? null : `got ${ready.detail}; logoutd stderr:\n${child.stderrText}`);

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

    // Prometheus, as annotation-based discovery would scrape: the annotated port and path.
    const annotatedPort = inv.container.ports.find((p) => String(p.containerPort) === inv.annotations['prometheus.io/port']);
    const metrics = annotatedPort ? await httpGet(inv.ports[annotatedPort.name], inv.annotations['prometheus.io/path']) : {error: 'no containerPort matches prometheus.io/port'};
    report(`${overlay}: /metrics answers at the prometheus.io/port and prometheus.io/path annotations`,
           metrics.code === 200 && /^# (HELP|TYPE) /m.test(metrics.body) ? null : `got ${metrics.error || metrics.code}`);
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
  const inv = await podInvocation(objs, secrets, `${overlay}-${what.replace(/[^a-z0-9]+/gi, '-')}`, storeHost);
  const p = start(inv);
  const r = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res(null), 20000))]);
  if (!r) p.kill('SIGKILL');
  report(`${overlay}: ${what} keeps logoutd from starting (fail closed)`,
         r && r.code !== 0 ? null : (r ? `exited ${r.code}` : `still running after 20s; stderr:\n${p.stderrText}`));
  const lastLine = p.stderrText.trim().split('\n').pop() || '';
  console.log(`       (logoutd said: ${lastLine.slice(0, 300)})`);
}

const without = (obj, key) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));

async function main() {
  const pki = mintPki();
  const token = crypto.randomBytes(24).toString('base64');
  const pgPassword = crypto.randomBytes(18).toString('base64');
  // The Secrets an operator creates out of band (docs/kubernetes.md), freshly minted.
  const real = {
    'logoutd-tls': {'tls.crt': pki.serverCert, 'tls.key': pki.serverKey, 'ca.crt': pki.ca},
    'logoutd-admin-token': {token},
    'logoutd-postgres': {password: pgPassword},
    'logoutd-postgres-ca': {'ca.crt': pki.pgCa},
  };
  const hidden = {'admin token': token, 'database password': pgPassword};
  const policy = JSON.parse(fs.readFileSync(path.join(root, 'deploy/examples/policy.json'), 'utf8'));
  const ctx = {pki, hidden, token, policy};

  const rendered = {};
  for (const [name, dir] of [['single', 'overlays/single'], ['demo', 'examples/demo'],
    ['ha', 'overlays/ha'], ['operator', 'examples/operator']]) {
    rendered[name] = renderOverlay(dir);
    const secrets = rendered[name].filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
    report(`${name}: ${dir} renders no Secret (the operator's are never overwritten)`, secrets.length ? `renders ${secrets}` : null);
    const unknown = await flagsKnown(rendered[name]);
    report(`${name}: logoutd knows every flag the manifest passes`, unknown.length ? `unknown to ${binary}: ${unknown.join(', ')}` : null);
    if (unknown.length) delete rendered[name];
  }

  if (rendered.single) {
    const objs = rendered.single;
    const first = await runPod('single', objs, real, ctx, {bootstrap: 'import', extraChecks: async (inv) => {
      const store = inv.args.find((a) => a.startsWith('--store=sqlite:')).slice('--store=sqlite:'.length);
      report('single: the SQLite store lives on the data volume',
             fs.existsSync(store) && store.startsWith(inv.cwd) ? null : `${store} missing`);
    }});
    // The imported policy is on the claim: the restarted pod is ready without another import.
    await runPod('single (restarted on the same claim)', objs, real, ctx, {bootstrap: 'stored', label: path.basename(first.cwd)});
    await mustNotStart('single', objs, without(real, 'logoutd-tls'), 'a missing logoutd-tls Secret (empty mount)');
    await mustNotStart('single', objs, without(real, 'logoutd-admin-token'), 'a missing logoutd-admin-token Secret (empty mount)');
    await mustNotStart('single', objs, {...real, 'logoutd-tls': {...real['logoutd-tls'], 'tls.crt': 'not a certificate', 'tls.key': 'not a key'}},
                       'a logoutd-tls Secret whose tls.crt and tls.key are not PEM');
    await mustNotStart('single', objs, {...real, 'logoutd-tls': {...real['logoutd-tls'], 'tls.key': pki.clientKey}},
                       'a logoutd-tls Secret whose tls.key does not match tls.crt');
    await mustNotStart('single', objs, {...real, 'logoutd-tls': {...real['logoutd-tls'], 'ca.crt': 'not a CA bundle'}},
                       'a logoutd-tls Secret whose ca.crt is not PEM');
    await mustNotStart('single', objs, {...real, 'logoutd-admin-token': {token: '0123456789abcde'}},
                       'a logoutd-admin-token Secret shorter than 16 bytes');
  }
  if (rendered.demo) {
    await runPod('demo', rendered.demo, real, ctx, {bootstrap: 'seed'});
  }

  // ha: the store URL's role and database, a server that demands TLS and the password.
  if (!rendered.ha) return;
  const store = workloadOf(rendered.ha).spec.template.spec.containers[0].args.find((a) => a.startsWith('--store='));
  const url = new URL(store.slice('--store='.length));
  const pg = await startPostgres(decodeURIComponent(url.username), pgPassword, url.pathname.slice(1),
      {cert: pki.pgServerCert, key: pki.pgServerKey});
  if (pg.skip) {
    console.log(`skip ha: ${pg.skip}`);
    return;
  }
  try {
    let plaintext = 'accepted';
    try {
      execFileSync(`${pg.bin}/psql`, ['-h', '127.0.0.1', '-p', String(pg.port), '-U', url.username,
        '-d', url.pathname.slice(1), '-c', 'SELECT 1'], {env: {...process.env, PGPASSWORD: pgPassword, PGSSLMODE: 'disable'}, stdio: 'ignore'});
    } catch (e) {
      plaintext = null;
    }
    report('ha: the test PostgreSQL refuses plaintext connections (so logoutd\'s worked over TLS)', plaintext);
    const host = `127.0.0.1:${pg.port}`;
    const storeHealthy = (name) => async (inv, healthPort) => {
      const h = await healthCheck(healthPort, 'logout.v1.PolicyStore', grpc.credentials.createInsecure());
      report(`${name}: the PostgreSQL store is healthy (logout.v1.PolicyStore SERVING) over sslmode=verify-full`,
             h.status === 'SERVING' ? null : `got ${h.status || h.error}`);
    };
    await runPod('ha', rendered.ha, real, ctx, {storeHost: host, bootstrap: 'import', extraChecks: storeHealthy('ha')});
    if (rendered.operator) {
      // The example operator overlay against the same database (its host remapped): it serves
      // the policy ha imported, as a new replica would.
      await runPod('operator', rendered.operator, real, ctx, {storeHost: host, bootstrap: 'stored', extraChecks: storeHealthy('operator')});
    }
    const objs = rendered.ha;
    await mustNotStart('ha', objs, {...real, 'logoutd-postgres': {password: 'not-the-password'}}, 'a wrong password in logoutd-postgres', host);
    await mustNotStart('ha', objs, without(real, 'logoutd-postgres'), 'a missing logoutd-postgres Secret (PGPASSWORD unset)', host);
    await mustNotStart('ha', objs, without(real, 'logoutd-postgres-ca'), 'a missing logoutd-postgres-ca Secret (empty mount)', host);
    await mustNotStart('ha', objs, {...real, 'logoutd-postgres-ca': {'ca.crt': pki.otherCa}},
                       'a database certificate from another CA than logoutd-postgres-ca', host);
    await mustNotStart('ha', objs, real, 'a database certificate not naming the host dialled (localhost; verify-full)',
                       `localhost:${pg.port}`);
  } finally {
    await pg.stop();
  }
}

main().catch((e) => {
  report('smoke test', e.stack || String(e));
}).finally(() => {
  fs.rmSync(tmp, {recursive: true, force: true});
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});

#!/usr/bin/env node
// Renders every deploy/kustomize overlay and example overlay with `kubectl kustomize` and checks
// the objects: kinds per overlay, probes on the health port, ports/args/Services/NetworkPolicy
// consistent, one pinned image, no privileged settings, security context, resources, volume
// references, no Secret objects (only references, by the names and keys docs/kubernetes.md tells
// operators to create), no policy unless seeded (examples/demo), Prometheus annotations and the
// optional ServiceMonitor, PostgreSQL sslmode=verify-full (ha), the example operator overlay
// (image by digest, namespace, database host), and the Dockerfile's ports/user/default command.
// A self-test then breaks copies of the rendered objects one way at a time and requires each
// breakage to be reported.
//
// Usage: node render_test.js [REPO_ROOT]. Exit 0 pass, 1 fail, 77 skipped (no kubectl).
'use strict';

const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');

const SKIP = 77;
const root = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const kustomizeDir = path.join(root, 'deploy', 'kustomize');

// ---- Expected contract ------------------------------------------------------------------

const PORTS = {grpc: 50051, admin: 50052, health: 50053, metrics: 9090};
const LISTEN_FLAGS = {
  '--listen': 'grpc',
  '--admin_listen': 'admin',
  '--health_listen': 'health',
  '--metrics_listen': 'metrics',
};
const UID = 65532;
const READINESS_SERVICE = 'logout.v1.LogoutPolicy';
// gRPC health services that stay NOT_SERVING until a policy is live (server.cc kServices), and
// the store's, which turns NOT_SERVING when a reload fails: a startup or liveness probe on any
// of them restarts pods that should wait for their first policy or keep their last snapshot.
const POLICY_HEALTH = ['', 'logout.v1.LogoutPolicy', 'logout.v1.LogoutAdmin'];
const STORE_HEALTH = 'logout.v1.PolicyStore';
// Flags naming files that must come from a mounted ConfigMap/Secret key (--policy: seeded only).
const FILE_FLAGS = ['--admin_token_file', '--tls_cert', '--tls_key', '--tls_client_ca'];
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob',
  'Pod'];
// The Secrets operators create out of band (docs/kubernetes.md), with their keys. Nothing in
// deploy/ renders them, so `kubectl apply -k` never overwrites an operator's.
const SECRETS = {
  'logoutd-tls': ['tls.crt', 'tls.key', 'ca.crt'],
  'logoutd-admin-token': ['token'],
  'logoutd-postgres': ['password'],
  'logoutd-postgres-ca': ['ca.crt'],
};
const DOCS = path.join('docs', 'kubernetes.md');

// Kinds: `single` (StatefulSet, SQLite) and `ha` (Deployment, PostgreSQL); `secrets`: the ones
// the pod references; `seeds`: --policy from the example policy ConfigMap; `serviceMonitor`:
// components/servicemonitor included; `operator`: the checks of the example operator overlay.
const STORE = {single: /^sqlite:\/var\/lib\/logoutd\/[^/]+$/, ha: /^postgresql:\/\//};
const SINGLE_SECRETS = ['logoutd-tls', 'logoutd-admin-token'];
const HA_SECRETS = [...SINGLE_SECRETS, 'logoutd-postgres', 'logoutd-postgres-ca'];
const OVERLAYS = {
  single: {dir: 'overlays/single', kind: 'single', workloadKind: 'StatefulSet', secrets: SINGLE_SECRETS},
  ha: {dir: 'overlays/ha', kind: 'ha', workloadKind: 'Deployment', secrets: HA_SECRETS},
  demo: {dir: 'examples/demo', kind: 'single', workloadKind: 'StatefulSet', secrets: SINGLE_SECRETS,
    seeds: true},
  operator: {dir: 'examples/operator', kind: 'ha', workloadKind: 'Deployment', secrets: HA_SECRETS,
    serviceMonitor: true, operator: {namespace: 'logoutd'}},
};

// ---- Helpers ----------------------------------------------------------------------------

function findKubectl() {
  const candidates = [];
  if (process.env.KUBECTL) candidates.push(process.env.KUBECTL);
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'kubectl'));
  }
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch (e) { /* next */ }
  }
  return null;
}

function loadYamlModule() {
  try {
    return require(path.join(__dirname, 'node_modules', 'js-yaml'));
  } catch (e) {
    console.error('FAIL: js-yaml is not installed in tests/deploy/node_modules ' +
                  '(scripts/setup.sh runs `npm ci` there)');
    process.exit(1);
  }
}

function render(kubectl, yaml, dir) {
  let out;
  try {
    out = execFileSync(kubectl, ['kustomize', dir], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  } catch (e) {
    throw new Error(`kubectl kustomize ${path.relative(root, dir)} failed: ${e.stderr || e.message}`);
  }
  return yaml.loadAll(out).filter((o) => o && typeof o === 'object');
}

const clone = (x) => JSON.parse(JSON.stringify(x));

// absl/Go style durations: 5s, 1m30s, 500ms, 2h.
function parseDurationSeconds(s) {
  const re = /(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g;
  let total = 0, consumed = 0, m;
  while ((m = re.exec(s)) !== null) {
    const unit = {h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9}[m[2]];
    total += parseFloat(m[1]) * unit;
    consumed += m[0].length;
  }
  return consumed === s.length && s.length > 0 ? total : NaN;
}

function flagValues(args, flag) {
  const out = [];
  for (const a of args || []) {
    if (a.startsWith(flag + '=')) out.push(a.slice(flag.length + 1));
  }
  return out;
}

function labelsMatch(selector, labels) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
}

function podTemplateOf(w) {
  if (w.kind === 'Pod') return {metadata: w.metadata, spec: w.spec};
  if (w.kind === 'CronJob') return w.spec && w.spec.jobTemplate && w.spec.jobTemplate.spec.template;
  return w.spec && w.spec.template;
}

// The query parameters of a libpq connection URI (postgresql://user@host:port/db?k=v&...).
function uriParams(uri) {
  const q = uri.indexOf('?');
  const out = {};
  if (q < 0) return out;
  for (const kv of uri.slice(q + 1).split('&')) {
    const i = kv.indexOf('=');
    if (i > 0) out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
  }
  return out;
}

// The authority of a postgresql:// URI: {user, password, host}.
function uriAuthority(uri) {
  const m = /^postgres(?:ql)?:\/\/([^/?]*)/.exec(uri);
  const auth = m ? m[1] : '';
  const at = auth.lastIndexOf('@');
  const userinfo = at >= 0 ? auth.slice(0, at) : '';
  const colon = userinfo.indexOf(':');
  return {
    user: colon >= 0 ? userinfo.slice(0, colon) : userinfo,
    password: colon >= 0 ? userinfo.slice(colon + 1) : '',
    host: at >= 0 ? auth.slice(at + 1) : auth,
  };
}

// ---- Checks -----------------------------------------------------------------------------

// Returns a list of human-readable problems (empty = the rendered overlay is acceptable).
function checkOverlay(overlay, objs) {
  const errs = [];
  const err = (m) => errs.push(m);
  const expect = OVERLAYS[overlay];
  const kind = expect.kind;  // single | ha
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const find = (k, n) => objs.find((o) => o.kind === k && o.metadata && o.metadata.name === n);

  // A Secret reference: one of the documented Secrets and keys, never optional (so the kubelet
  // does not start the pod without it rather than starting logoutd without its files).
  const referencedSecrets = new Set();
  const checkSecretRef = (where, name, keys, optional) => {
    referencedSecrets.add(name);
    if (!SECRETS[name]) {
      err(`${where} references Secret ${name}, which is not one of the Secrets operators create (${Object.keys(SECRETS).join(', ')})`);
      return;
    }
    for (const k of keys) {
      if (!SECRETS[name].includes(k)) err(`${where} wants key ${k}, which Secret ${name} does not have (${SECRETS[name].join(', ')})`);
    }
    if (optional) err(`${where}: Secret ${name} is optional (a missing Secret must keep the pod from starting)`);
  };

  const seen = new Set();
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata && o.metadata.name}`;
    if (seen.has(id)) err(`duplicate object ${id}`);
    seen.add(id);
  }

  // Workload ---------------------------------------------------------------------------
  const workloads = objs.filter((o) => WORKLOAD_KINDS.includes(o.kind));
  if (workloads.length !== 1) {
    err(`expected exactly one workload, found ${workloads.map((w) => w.kind + '/' + w.metadata.name).join(', ') || 'none'}`);
  }
  const w = workloads.find((x) => x.kind === expect.workloadKind);
  if (!w) {
    err(`${overlay}: no ${expect.workloadKind} rendered`);
    return errs;
  }
  const wid = `${w.kind}/${w.metadata.name}`;
  const tpl = podTemplateOf(w) || {};
  const pod = tpl.spec || {};
  const podLabels = (tpl.metadata && tpl.metadata.labels) || {};
  const selector = (w.spec.selector && w.spec.selector.matchLabels) || {};
  if (!labelsMatch(selector, podLabels)) err(`${wid}: selector ${JSON.stringify(selector)} does not match the pod labels`);

  // Pod-level security.
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (pod[f]) err(`${wid}: ${f} is set`);
  }
  if (pod.automountServiceAccountToken !== false) err(`${wid}: automountServiceAccountToken is not false`);
  const sa = pod.serviceAccountName && find('ServiceAccount', pod.serviceAccountName);
  if (!sa) err(`${wid}: serviceAccountName ${pod.serviceAccountName} is not a rendered ServiceAccount`);
  else if (sa.automountServiceAccountToken !== false) err(`ServiceAccount/${sa.metadata.name}: automountServiceAccountToken is not false`);
  const psc = pod.securityContext || {};

  const volumes = pod.volumes || [];
  const volumeByName = new Map(volumes.map((v) => [v.name, v]));
  const claimTemplates = (w.spec.volumeClaimTemplates || []);
  for (const v of volumes) {
    if (v.hostPath) err(`${wid}: volume ${v.name} is a hostPath`);
    if (v.configMap) {
      const cm = find('ConfigMap', v.configMap.name);
      if (!cm) err(`${wid}: volume ${v.name} references ConfigMap ${v.configMap.name}, which is not rendered`);
      else {
        for (const it of v.configMap.items || []) {
          if (!(cm.data && it.key in cm.data)) err(`${wid}: volume ${v.name} wants key ${it.key} missing from ConfigMap ${cm.metadata.name}`);
        }
      }
    }
    if (v.secret) checkSecretRef(`${wid}: volume ${v.name}`, v.secret.secretName, (v.secret.items || []).map((it) => it.key), v.secret.optional);
  }

  const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
  if (!pod.containers || pod.containers.length !== 1) err(`${wid}: expected one container`);
  const images = new Set();
  let healthPort = null;
  const containerPortNumbers = new Set();
  const containerPortByName = new Map();
  for (const c of containers) {
    const cid = `${wid} container ${c.name}`;
    // Image: pinned, never :latest, the same everywhere.
    images.add(c.image);
    if (!c.image) err(`${cid}: no image`);
    else {
      const last = c.image.split('/').pop();
      if (/:latest$/.test(c.image)) err(`${cid}: image ${c.image} uses :latest`);
      else if (!c.image.includes('@sha256:') && !last.includes(':')) err(`${cid}: image ${c.image} has no tag or digest`);
      if (!c.image.includes('/')) err(`${cid}: image ${c.image} is the unresolved placeholder (images: transformer not applied)`);
    }

    // Security context (container value, falling back to the pod's where Kubernetes does).
    const sc = c.securityContext || {};
    if (sc.privileged) err(`${cid}: privileged is true`);
    if (sc.allowPrivilegeEscalation !== false) err(`${cid}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) err(`${cid}: readOnlyRootFilesystem is not true`);
    const caps = sc.capabilities || {};
    if (caps.add && caps.add.length) err(`${cid}: adds capabilities ${caps.add.join(',')}`);
    if (!(caps.drop || []).includes('ALL')) err(`${cid}: capabilities do not drop ALL`);
    const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
    if (runAsNonRoot !== true) err(`${cid}: runAsNonRoot is not true`);
    const runAsUser = sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser;
    if (runAsUser !== UID) err(`${cid}: runAsUser is ${runAsUser}, want ${UID}`);
    const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
    if (seccomp !== 'RuntimeDefault') err(`${cid}: seccompProfile is ${seccomp}, want RuntimeDefault`);

    // Resources.
    const r = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) {
        if (!(r[kind] && r[kind][res])) err(`${cid}: resources.${kind}.${res} is not set`);
      }
    }

    // Ports: exactly the contract.
    const ports = c.ports || [];
    for (const p of ports) {
      containerPortNumbers.add(p.containerPort);
      if (p.name) containerPortByName.set(p.name, p.containerPort);
      if (p.hostPort) err(`${cid}: port ${p.name} sets hostPort`);
    }
    for (const [name, num] of Object.entries(PORTS)) {
      if (containerPortByName.get(name) !== num) err(`${cid}: containerPort ${name} is ${containerPortByName.get(name)}, want ${num}`);
    }
    if (ports.length !== Object.keys(PORTS).length) err(`${cid}: ${ports.length} containerPorts, want ${Object.keys(PORTS).length}`);
    healthPort = containerPortByName.get('health');

    // Args: every listen flag's port is the matching named containerPort.
    const args = c.args || [];
    for (const [flag, portName] of Object.entries(LISTEN_FLAGS)) {
      const vals = flagValues(args, flag);
      if (vals.length !== 1) {
        err(`${cid}: ${flag} appears ${vals.length} times, want once`);
        continue;
      }
      const m = /:(\d+)$/.exec(vals[0]);
      const port = m ? Number(m[1]) : NaN;
      if (port !== containerPortByName.get(portName)) {
        err(`${cid}: ${flag}=${vals[0]} does not listen on containerPort ${portName} (${containerPortByName.get(portName)})`);
      }
    }
    const stores = flagValues(args, '--store');
    if (stores.length !== 1) err(`${cid}: --store appears ${stores.length} times, want once`);
    else if (!STORE[kind].test(stores[0])) err(`${cid}: --store=${stores[0]} is not what ${overlay} uses (${STORE[kind]})`);

    // Mounts: every mount names a volume; file flags point into a mount that provides the key.
    const mounts = c.volumeMounts || [];
    for (const m of mounts) {
      if (!volumeByName.has(m.name) && !claimTemplates.some((t) => t.metadata.name === m.name)) {
        err(`${cid}: volumeMount ${m.name} has no volume or volumeClaimTemplate`);
      }
    }
    // A file logoutd (or libpq) reads: inside a read-only mount of a ConfigMap or Secret key.
    // Returns the volume, or null after reporting why not.
    const checkFile = (what, file) => {
      const mount = mounts.find((m) => path.posix.dirname(file) === m.mountPath);
      if (!mount) {
        err(`${cid}: ${what}=${file} is not inside any volumeMount`);
        return null;
      }
      if (mount.subPath) err(`${cid}: mount ${mount.mountPath} (for ${what}) uses subPath (rotated Secrets would never reach it)`);
      if (!mount.readOnly) err(`${cid}: mount ${mount.mountPath} (for ${what}) is not readOnly`);
      const v = volumeByName.get(mount.name) || {};
      const src = v.configMap || v.secret;
      const base = path.posix.basename(file);
      if (!src) {
        err(`${cid}: ${what}=${file} is on volume ${mount.name}, which is not a ConfigMap or Secret`);
        return null;
      }
      if (src.items && !src.items.some((it) => it.path === base)) {
        err(`${cid}: ${what}=${file}: volume ${mount.name} does not project ${base}`);
        return null;
      }
      if (!src.items) {
        const keys = v.configMap ? Object.keys((find('ConfigMap', v.configMap.name) || {}).data || {}) :
          (SECRETS[v.secret.secretName] || []);
        if (!keys.includes(base)) {
          err(`${cid}: ${what}=${file}: ${mount.name}'s source has no key ${base}`);
          return null;
        }
      }
      return v;
    };
    for (const flag of [...FILE_FLAGS, ...(expect.seeds ? ['--policy'] : [])]) {
      const vals = flagValues(args, flag);
      if (vals.length !== 1) {
        err(`${cid}: ${flag} appears ${vals.length} times, want once`);
        continue;
      }
      checkFile(flag, vals[0]);
    }
    // The base seeds no policy: only an overlay including components/policy-seed passes --policy.
    if (!expect.seeds && flagValues(args, '--policy').length) {
      err(`${cid}: passes --policy, so ${overlay} seeds a policy (the base and overlays start empty; only examples/demo seeds)`);
    }
    // The SQLite directory is a persistent claim (single) and /tmp is writable.
    if (kind === 'single') {
      const data = mounts.find((m) => m.mountPath === '/var/lib/logoutd');
      if (!data || !claimTemplates.some((t) => t.metadata.name === data.name)) {
        err(`${cid}: /var/lib/logoutd is not mounted from a volumeClaimTemplate`);
      }
    }
    for (const e of c.env || []) {
      const ref = e.valueFrom && e.valueFrom.secretKeyRef;
      if (ref) checkSecretRef(`${cid}: env ${e.name}`, ref.name, [ref.key], ref.optional);
    }
    if (kind === 'ha') {
      const pg = (c.env || []).find((e) => e.name === 'PGPASSWORD');
      const ref = pg && pg.valueFrom && pg.valueFrom.secretKeyRef;
      if (!ref) err(`${cid}: PGPASSWORD does not come from a secretKeyRef`);
      else if (ref.name !== 'logoutd-postgres' || ref.key !== 'password') err(`${cid}: PGPASSWORD references ${ref.name}/${ref.key}, want logoutd-postgres/password`);
      if ((c.env || []).some((e) => e.name === 'PGPASSWORD' && e.value !== undefined)) err(`${cid}: PGPASSWORD is a literal value`);
      // PostgreSQL over TLS that checks whom it talks to: sslmode=verify-full with a root
      // certificate from a mounted Secret; the password never in the URI (args are not secret).
      if (stores.length === 1) {
        const params = uriParams(stores[0]);
        const {password} = uriAuthority(stores[0]);
        if (password) err(`${cid}: --store carries a password (use PGPASSWORD from the Secret)`);
        if (params.password) err(`${cid}: --store carries a password parameter (use PGPASSWORD from the Secret)`);
        if (params.sslmode !== 'verify-full') {
          err(`${cid}: --store sslmode=${params.sslmode === undefined ? '(unset, libpq: prefer)' : params.sslmode}, want verify-full`);
        }
        if (!params.sslrootcert) err(`${cid}: --store has no sslrootcert (verify-full needs the server's CA)`);
        else if (!params.sslrootcert.startsWith('/')) err(`${cid}: --store sslrootcert=${params.sslrootcert} is not an absolute path`);
        else {
          const v = checkFile('--store sslrootcert', params.sslrootcert);
          if (v && !v.secret) err(`${cid}: --store sslrootcert=${params.sslrootcert} is not on a Secret volume`);
        }
      }
    }

    // Probes, all on the plaintext health port. Readiness: native gRPC, the decision service.
    // Startup and liveness: tcpSocket (logoutd listens once started): no logoutd health service
    // stays SERVING without a policy, and the base starts without one.
    for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const p = c[probeName];
      if (!p) {
        if (probeName !== 'startupProbe') err(`${cid}: no ${probeName}`);
        continue;
      }
      const handler = p.grpc || p.tcpSocket;
      if (!handler) {
        err(`${cid}: ${probeName} is not a tcpSocket or native grpc probe (${Object.keys(p).filter((k) => /Get|exec|Socket|grpc/.test(k)).join(',') || 'no handler'})`);
        continue;
      }
      const port = typeof handler.port === 'string' ? containerPortByName.get(handler.port) : handler.port;
      if (!containerPortNumbers.has(port)) err(`${cid}: ${probeName} port ${handler.port} is not a declared containerPort`);
      if (port !== PORTS.health || port !== containerPortByName.get('health')) {
        err(`${cid}: ${probeName} port ${handler.port} is not the health port ${PORTS.health}`);
      }
      if (probeName === 'readinessProbe') {
        if (!p.grpc) err(`${cid}: readinessProbe is not a native grpc probe`);
        else if ((p.grpc.service || '') !== READINESS_SERVICE) err(`${cid}: readinessProbe asks for service "${p.grpc.service || ''}", want "${READINESS_SERVICE}"`);
      } else if (p.grpc) {
        const service = p.grpc.service || '';
        if (POLICY_HEALTH.includes(service)) {
          err(`${cid}: ${probeName} asks gRPC health for "${service}", NOT_SERVING until a policy is live: it would restart a pod waiting for its first policy`);
        } else if (service === STORE_HEALTH) {
          err(`${cid}: ${probeName} asks gRPC health for "${service}", NOT_SERVING after a failed reload: it would restart pods serving their last good snapshot`);
        } else {
          err(`${cid}: ${probeName} asks gRPC health for "${service}", which logoutd does not report (SERVICE_UNKNOWN)`);
        }
      }
    }

    // Shutdown: the kubelet must not SIGKILL a drain.
    const drain = parseDurationSeconds((flagValues(args, '--drain_delay')[0]) || '2s');
    const grace = parseDurationSeconds((flagValues(args, '--shutdown_grace')[0]) || '10s');
    const tgps = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
    if (!(tgps > drain + grace)) err(`${wid}: terminationGracePeriodSeconds ${tgps} is not > drain_delay + shutdown_grace (${drain + grace}s)`);
    if (c.lifecycle && c.lifecycle.preStop) err(`${cid}: has a preStop hook (logoutd drains on SIGTERM itself)`);
    // The kubelet must notice NOT_SERVING while logoutd still serves (within the drain delay).
    const rp = c.readinessProbe;
    if (rp) {
      const detect = (rp.periodSeconds || 10) * (rp.failureThreshold || 3);
      if (detect > drain) err(`${cid}: readiness notices NOT_SERVING after up to ${detect}s, longer than --drain_delay (${drain}s)`);
    }
  }

  // One image across every object that carries one.
  for (const o of workloads) {
    const t = podTemplateOf(o);
    for (const c of [...((t && t.spec.initContainers) || []), ...((t && t.spec.containers) || [])]) images.add(c.image);
  }
  if (images.size !== 1) err(`images differ: ${[...images].join(', ')}`);

  // Services ---------------------------------------------------------------------------
  const services = byKind('Service');
  const headless = services.filter((s) => s.spec.clusterIP === 'None');
  const clusterIp = services.filter((s) => s.spec.clusterIP !== 'None' && (s.spec.type || 'ClusterIP') === 'ClusterIP');
  if (headless.length !== 1) err(`expected one headless Service (clusterIP: None), found ${headless.length}`);
  if (clusterIp.length !== 1) err(`expected one ClusterIP Service, found ${clusterIp.length}`);
  for (const s of services) {
    const sid = `Service/${s.metadata.name}`;
    if (s.spec.type && s.spec.type !== 'ClusterIP') err(`${sid}: type ${s.spec.type} exposes logoutd outside the cluster`);
    if (!labelsMatch(s.spec.selector, podLabels)) err(`${sid}: selector ${JSON.stringify(s.spec.selector)} does not select the pods`);
    for (const p of s.spec.ports || []) {
      const tp = p.targetPort === undefined ? p.port : p.targetPort;
      const num = typeof tp === 'string' ? containerPortByName.get(tp) : tp;
      if (!containerPortNumbers.has(num)) err(`${sid}: port ${p.name} targetPort ${tp} is not a containerPort`);
      if (p.name && containerPortByName.has(p.name) && containerPortByName.get(p.name) !== num) {
        err(`${sid}: port ${p.name} targets ${tp}, not the containerPort named ${p.name}`);
      }
      if (num === PORTS.health) err(`${sid}: exposes the plaintext health port`);
    }
    if (!(s.spec.ports || []).some((p) => p.port === PORTS.grpc)) err(`${sid}: does not serve the decision port ${PORTS.grpc}`);
  }
  if (w.kind === 'StatefulSet') {
    const gov = services.find((s) => s.metadata.name === w.spec.serviceName);
    if (!gov || gov.spec.clusterIP !== 'None') err(`${wid}: serviceName ${w.spec.serviceName} is not a rendered headless Service`);
  }

  // NetworkPolicy ----------------------------------------------------------------------
  const nps = byKind('NetworkPolicy');
  if (nps.length !== 1) err(`expected one NetworkPolicy, found ${nps.length}`);
  for (const np of nps) {
    const nid = `NetworkPolicy/${np.metadata.name}`;
    if (!labelsMatch(np.spec.podSelector && np.spec.podSelector.matchLabels, podLabels)) {
      err(`${nid}: podSelector ${JSON.stringify(np.spec.podSelector)} does not select exactly logoutd's pods`);
    }
    const types = np.spec.policyTypes || [];
    if (!types.includes('Ingress') || !types.includes('Egress')) err(`${nid}: policyTypes ${types} lack Ingress and Egress`);
    const allowed = new Map();  // port -> list of peers (JSON)
    for (const rule of np.spec.ingress || []) {
      if (!rule.from || rule.from.length === 0) err(`${nid}: an ingress rule has no 'from' (open to everything)`);
      if (!rule.ports || rule.ports.length === 0) err(`${nid}: an ingress rule has no 'ports' (every port)`);
      for (const p of rule.ports || []) {
        const num = typeof p.port === 'string' ? containerPortByName.get(p.port) : p.port;
        if (!containerPortNumbers.has(num)) err(`${nid}: ingress port ${p.port} is not a containerPort`);
        if (!allowed.has(num)) allowed.set(num, []);
        for (const peer of rule.from || []) allowed.get(num).push(peer);
      }
    }
    const peersOf = (port) => allowed.get(port) || [];
    const grpcPeers = peersOf(PORTS.grpc);
    if (grpcPeers.length === 0) err(`${nid}: nothing may reach the decision port ${PORTS.grpc}`);
    for (const peer of grpcPeers) {
      const pl = peer.podSelector && peer.podSelector.matchLabels;
      if (!(pl && Object.keys(pl).length === 1 && pl['logoutd-client'] === 'true')) {
        err(`${nid}: decision port peer ${JSON.stringify(peer)} is not exactly pods labelled logoutd-client: "true"`);
      }
    }
    const adminPeers = peersOf(PORTS.admin);
    if (adminPeers.length === 0) err(`${nid}: nothing may reach the admin port ${PORTS.admin}`);
    for (const peer of adminPeers) {
      const nl = peer.namespaceSelector && peer.namespaceSelector.matchLabels;
      if (!(nl && Object.keys(nl).length === 1 && nl['logoutd-admin'] === 'true') || peer.ipBlock) {
        err(`${nid}: admin port peer ${JSON.stringify(peer)} is not exactly namespaces labelled logoutd-admin: "true"`);
      }
    }
    for (const port of [PORTS.health, PORTS.metrics]) {
      if (peersOf(port).length === 0) err(`${nid}: nothing (monitoring) may reach port ${port}`);
    }
    for (const port of allowed.keys()) {
      if (!Object.values(PORTS).includes(port)) err(`${nid}: opens unexpected port ${port}`);
    }
    const egressPorts = [];
    for (const rule of np.spec.egress || []) {
      if (!rule.ports || rule.ports.length === 0) err(`${nid}: an egress rule allows every port`);
      for (const p of rule.ports || []) egressPorts.push(`${p.protocol || 'TCP'}/${p.port}`);
    }
    const want = kind === 'ha' ? ['TCP/53', 'TCP/5432', 'UDP/53'] : [];
    if (JSON.stringify(egressPorts.sort()) !== JSON.stringify(want)) {
      err(`${nid}: egress ports [${egressPorts}] for ${overlay}, want [${want}]`);
    }
  }

  // Secrets and the policy ConfigMap ---------------------------------------------------
  // No Secret objects: `kubectl apply -k` would overwrite the ones operators create.
  for (const s of byKind('Secret')) {
    err(`Secret/${s.metadata.name} is rendered: Secrets are created out of band, and kubectl apply -k would overwrite the operator's`);
  }
  const wantSecrets = [...expect.secrets].sort();
  if (JSON.stringify([...referencedSecrets].sort()) !== JSON.stringify(wantSecrets)) {
    err(`${wid}: references Secrets [${[...referencedSecrets].sort()}], want [${wantSecrets}]`);
  }
  const policyVolume = volumes.find((v) => v.configMap);
  const policyCm = policyVolume && find('ConfigMap', policyVolume.configMap.name);
  if (expect.seeds) {
    if (!policyCm) err('no policy ConfigMap mounted');
    else {
      const example = fs.readFileSync(path.join(root, 'deploy', 'examples', 'policy.json'), 'utf8');
      if (policyCm.data['policy.json'] !== example) err(`ConfigMap/${policyCm.metadata.name}: policy.json differs from deploy/examples/policy.json`);
    }
  } else {
    for (const cm of byKind('ConfigMap')) err(`ConfigMap/${cm.metadata.name} is rendered: ${overlay} seeds no policy`);
    if (policyVolume) err(`${wid}: mounts ConfigMap ${policyVolume.configMap.name}: ${overlay} seeds no policy`);
  }

  // Prometheus: pod annotations (scrape "true") or a ServiceMonitor (annotations "false") ------
  const annotations = (tpl.metadata && tpl.metadata.annotations) || {};
  const monitors = byKind('ServiceMonitor');
  const metricsPort = containerPortByName.get('metrics');
  const metricsListen = /:(\d+)$/.exec(flagValues((pod.containers || [{}])[0].args, '--metrics_listen')[0] || '');
  const wantScrape = monitors.length ? 'false' : 'true';
  if (annotations['prometheus.io/scrape'] !== wantScrape) {
    err(`${wid}: annotation prometheus.io/scrape is ${JSON.stringify(annotations['prometheus.io/scrape'])}, want "${wantScrape}"` +
        (monitors.length ? ' (with a ServiceMonitor the pods would be scraped twice)' : ''));
  }
  if (annotations['prometheus.io/port'] !== String(metricsPort) || !metricsListen || Number(metricsListen[1]) !== metricsPort) {
    err(`${wid}: annotation prometheus.io/port ${annotations['prometheus.io/port']} is not the metrics containerPort ${metricsPort} that --metrics_listen serves`);
  }
  if (annotations['prometheus.io/path'] !== '/metrics') err(`${wid}: annotation prometheus.io/path is ${annotations['prometheus.io/path']}, want /metrics`);
  if (Boolean(expect.serviceMonitor) !== (monitors.length > 0)) {
    err(`${overlay}: ${monitors.length} ServiceMonitors rendered, want ${expect.serviceMonitor ? 1 : 0}`);
  }
  const mainService = services.find((s) => s.metadata.name === 'logoutd');
  for (const sm of monitors) {
    const smid = `ServiceMonitor/${sm.metadata.name}`;
    if (sm.apiVersion !== 'monitoring.coreos.com/v1') err(`${smid}: apiVersion ${sm.apiVersion}, want monitoring.coreos.com/v1`);
    if ((sm.metadata.namespace || '') !== ((mainService && mainService.metadata.namespace) || '')) err(`${smid}: not in the Service's namespace`);
    if (sm.spec.namespaceSelector) err(`${smid}: has a namespaceSelector (it should select in its own namespace)`);
    const sel = sm.spec.selector && sm.spec.selector.matchLabels;
    if (!mainService || !labelsMatch(sel, mainService.metadata.labels)) {
      err(`${smid}: selector ${JSON.stringify(sel)} does not select Service/logoutd`);
    }
    const endpoints = sm.spec.endpoints || [];
    if (endpoints.length !== 1) err(`${smid}: ${endpoints.length} endpoints, want 1`);
    for (const ep of endpoints) {
      // Scraped: every selected Service's port of that name; it must be exactly logoutd's metrics.
      const scraped = services.filter((s) => labelsMatch(sel, s.metadata.labels) &&
          (s.spec.ports || []).some((p) => p.name === ep.port));
      const sp = mainService && (mainService.spec.ports || []).find((p) => p.name === ep.port);
      const target = sp && (typeof sp.targetPort === 'string' ? containerPortByName.get(sp.targetPort) : (sp.targetPort || sp.port));
      if (!sp || target !== metricsPort) {
        err(`${smid}: endpoint port ${ep.port} is not Service/logoutd's port for the metrics containerPort ${metricsPort}`);
      } else if (scraped.length !== 1) {
        err(`${smid}: endpoint port ${ep.port} is on ${scraped.length} selected Services (${scraped.map((x) => x.metadata.name)}), want only logoutd`);
      }
      if ((ep.path || '/metrics') !== '/metrics') err(`${smid}: endpoint path ${ep.path}, want /metrics`);
      if (ep.scheme && ep.scheme !== 'http') err(`${smid}: endpoint scheme ${ep.scheme}, but /metrics is plaintext`);
    }
  }

  // The example operator overlay: what its edits must have done --------------------------
  if (expect.operator) {
    const image = (pod.containers || [{}])[0].image || '';
    if (!/@sha256:[0-9a-f]{64}$/.test(image)) err(`${wid}: image ${image} is not pinned by digest`);
    if (image.startsWith('registry.example.com/')) err(`${wid}: image ${image} is still the base's placeholder registry`);
    for (const o of objs) {
      if (o.kind !== 'Namespace' && (o.metadata.namespace || '') !== expect.operator.namespace) {
        err(`${o.kind}/${o.metadata.name}: namespace ${o.metadata.namespace}, want ${expect.operator.namespace}`);
      }
    }
    const store = flagValues((pod.containers || [{}])[0].args, '--store')[0] || '';
    if (uriAuthority(store).host.split(':')[0] === 'postgres') err(`${wid}: --store still dials the overlays/ha placeholder host "postgres"`);
    for (const np of nps) {
      for (const rule of np.spec.egress || []) {
        if ((rule.ports || []).some((p) => p.port === 5432) && !(rule.to && rule.to.length)) {
          err(`NetworkPolicy/${np.metadata.name}: egress to 5432 is open to every address (no 'to' peer)`);
        }
      }
    }
  }

  // Overlay-specific objects -----------------------------------------------------------
  const pdbs = byKind('PodDisruptionBudget');
  const hpas = byKind('HorizontalPodAutoscaler');
  if (kind === 'single') {
    if (w.spec.replicas !== 1) err(`${wid}: replicas ${w.spec.replicas}, want 1 (SQLite has one writer)`);
    if (claimTemplates.length !== 1) err(`${wid}: expected one volumeClaimTemplate, found ${claimTemplates.length}`);
    for (const t of claimTemplates) {
      if (!(t.spec && t.spec.resources && t.spec.resources.requests && t.spec.resources.requests.storage)) {
        err(`${wid}: volumeClaimTemplate ${t.metadata.name} requests no storage`);
      }
    }
    if (hpas.length) err('single: an HPA would scale a one-writer SQLite StatefulSet');
  }
  if (kind === 'ha') {
    if (!(w.spec.replicas >= 3)) err(`${wid}: replicas ${w.spec.replicas}, want >= 3`);
    const ru = w.spec.strategy && w.spec.strategy.rollingUpdate;
    if (!(w.spec.strategy && w.spec.strategy.type === 'RollingUpdate' && ru && ru.maxUnavailable === 0)) {
      err(`${wid}: strategy is not RollingUpdate with maxUnavailable 0`);
    }
    if (pdbs.length !== 1) err(`expected one PodDisruptionBudget, found ${pdbs.length}`);
    for (const pdb of pdbs) {
      if (!labelsMatch(pdb.spec.selector && pdb.spec.selector.matchLabels, podLabels)) err(`PodDisruptionBudget/${pdb.metadata.name}: selector does not select the pods`);
      const ok = (pdb.spec.minAvailable !== undefined && pdb.spec.minAvailable >= 2 && pdb.spec.maxUnavailable === undefined) ||
                 (pdb.spec.maxUnavailable === 1 && pdb.spec.minAvailable === undefined);
      if (!ok) err(`PodDisruptionBudget/${pdb.metadata.name}: want minAvailable >= 2 or maxUnavailable 1`);
    }
    if (hpas.length !== 1) err(`expected one HorizontalPodAutoscaler, found ${hpas.length}`);
    for (const hpa of hpas) {
      const hid = `HorizontalPodAutoscaler/${hpa.metadata.name}`;
      const ref = hpa.spec.scaleTargetRef || {};
      if (ref.kind !== 'Deployment' || ref.name !== w.metadata.name || ref.apiVersion !== 'apps/v1') err(`${hid}: scaleTargetRef ${JSON.stringify(ref)} is not ${wid}`);
      if (!(hpa.spec.minReplicas >= 3)) err(`${hid}: minReplicas ${hpa.spec.minReplicas}, want >= 3`);
      if (!(hpa.spec.maxReplicas >= hpa.spec.minReplicas)) err(`${hid}: maxReplicas < minReplicas`);
      if (!(hpa.spec.metrics || []).some((m) => m.type === 'Resource' && m.resource && m.resource.name === 'cpu')) err(`${hid}: does not scale on CPU`);
      if (w.spec.replicas < hpa.spec.minReplicas) err(`${wid}: replicas below the HPA's minReplicas`);
    }
    const tsc = pod.topologySpreadConstraints || [];
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      const c = tsc.find((t) => t.topologyKey === key);
      if (!c) err(`${wid}: no topologySpreadConstraint over ${key}`);
      else if (!labelsMatch(c.labelSelector && c.labelSelector.matchLabels, podLabels)) err(`${wid}: spread over ${key} does not select the pods`);
    }
  }
  return errs;
}

// The base is not deployable alone: it must leave --store to the overlays. It seeds no policy and
// holds no Secret.
function checkBase(objs) {
  const errs = [];
  const d = objs.find((o) => o.kind === 'Deployment');
  if (!d) return ['base: no Deployment'];
  for (const c of d.spec.template.spec.containers) {
    if (flagValues(c.args, '--store').length) errs.push('base: sets --store (each overlay chooses its store)');
    if (flagValues(c.args, '--policy').length) errs.push('base: passes --policy (the base seeds no policy)');
  }
  for (const o of objs.filter((x) => x.kind === 'Secret' || x.kind === 'ConfigMap')) {
    errs.push(`base: renders ${o.kind}/${o.metadata.name} (Secrets are created out of band; no policy is seeded)`);
  }
  return errs;
}

// docs/kubernetes.md tells operators how to create every Secret the manifests reference, with
// every key (a `kubectl ... create secret ... NAME` command naming each key).
function checkDocs() {
  const file = path.join(root, DOCS);
  if (!fs.existsSync(file)) return [`${DOCS} is missing`];
  const commands = fs.readFileSync(file, 'utf8').replace(/ \\\n/g, ' ').split('\n')
      .filter((l) => /kubectl .*create secret /.test(l));
  const errs = [];
  for (const [name, keys] of Object.entries(SECRETS)) {
    const cmd = commands.find((l) => new RegExp(`create secret \\S+ ${name}( |$)`).test(l));
    if (!cmd) {
      errs.push(`${DOCS}: no \`kubectl create secret ... ${name}\` command`);
      continue;
    }
    for (const k of keys) {
      if (!cmd.includes(`--from-file=${k}=`) && !cmd.includes(`--from-file=${k} `) && !cmd.endsWith(`--from-file=${k}`)) {
        errs.push(`${DOCS}: the command creating ${name} does not set key ${k} (--from-file=${k}=...)`);
      }
    }
  }
  return errs;
}

// The Dockerfile agrees with the manifests: same ports, non-root user, exec-form entrypoint.
function checkDockerfile() {
  const errs = [];
  const text = fs.readFileSync(path.join(root, 'deploy', 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const froms = text.match(/^FROM\s+\S+/gm) || [];
  if (froms.length < 2) errs.push('Dockerfile: not multi-stage');
  const last = text.slice(text.lastIndexOf('\nFROM'));
  if (!/^FROM\s+debian:\$\{DEBIAN_RELEASE\}-slim|^FROM\s+debian:12-slim/m.test(last.trim())) errs.push('Dockerfile: runtime stage is not debian:12-slim');
  const expose = (last.match(/^EXPOSE\s+(.*)$/m) || [, ''])[1].trim().split(/\s+/).map(Number).sort((a, b) => a - b);
  const want = Object.values(PORTS).sort((a, b) => a - b);
  if (JSON.stringify(expose) !== JSON.stringify(want)) errs.push(`Dockerfile: EXPOSE ${expose}, want ${want}`);
  const user = (last.match(/^USER\s+(\S+)/m) || [, ''])[1];
  if (user.split(':')[0] !== String(UID)) errs.push(`Dockerfile: USER ${user}, want ${UID}`);
  if (!/^ENTRYPOINT\s+\[\s*"[^"]*\/logoutd"\s*\]/m.test(last)) errs.push('Dockerfile: ENTRYPOINT is not the exec form of logoutd');
  if (!/-DLOGOUT_BUILD_TESTS=OFF/.test(text) || !/-DLOGOUT_BUILD_BENCH=OFF/.test(text)) errs.push('Dockerfile: builds tests or benchmarks');
  // The default command (`docker run IMAGE`) must not serve an empty store nobody can fill: it
  // serves a --policy file read-only (--store=file), which fails fast when none is mounted.
  const cmd = (last.match(/^CMD\s+(\[.*\])\s*$/m) || [, null])[1];
  let cmdArgs = null;
  try {
    cmdArgs = cmd && JSON.parse(cmd);
  } catch (e) { /* reported below */ }
  if (!Array.isArray(cmdArgs)) errs.push('Dockerfile: CMD is not an exec-form JSON array');
  else {
    if (!cmdArgs.includes('--store=file') || !cmdArgs.some((a) => a.startsWith('--policy=/'))) {
      errs.push(`Dockerfile: CMD ${cmd} does not serve a mounted --policy file read-only (--store=file): it would serve an empty store`);
    }
    for (const a of cmdArgs) {
      const m = /^--(?:admin_|health_|metrics_)?listen=.*:(\d+)$/.exec(a);
      if (m && !want.includes(Number(m[1]))) errs.push(`Dockerfile: CMD listens on ${m[1]}, not an EXPOSEd port`);
    }
  }
  return errs;
}

// ---- Self-test: each deliberate breakage must be reported ---------------------------------

// [renders ('both' = single and ha, 'all', or names), name, mutation, expected problem].
function mutations() {
  const ctr = (objs) => podTemplateOf(objs.find((o) => WORKLOAD_KINDS.includes(o.kind))).spec.containers[0];
  const podSpec = (objs) => podTemplateOf(objs.find((o) => WORKLOAD_KINDS.includes(o.kind))).spec;
  const podMeta = (objs) => podTemplateOf(objs.find((o) => WORKLOAD_KINDS.includes(o.kind))).metadata;
  const get = (objs, kind, pred = () => true) => objs.find((o) => o.kind === kind && pred(o));
  const setArg = (o, flag, value) => {
    const a = ctr(o).args;
    const i = a.findIndex((x) => x.startsWith(flag + '='));
    if (value === null) a.splice(i, 1);
    else a[i] = `${flag}=${value}`;
  };
  const store = (o) => ctr(o).args.find((x) => x.startsWith('--store=')).slice('--store='.length);
  return [
    ['both', 'privileged: true', (o) => { ctr(o).securityContext.privileged = true; }, /privileged is true/],
    ['both', 'allowPrivilegeEscalation: true', (o) => { ctr(o).securityContext.allowPrivilegeEscalation = true; }, /allowPrivilegeEscalation/],
    ['both', 'capability added', (o) => { ctr(o).securityContext.capabilities.add = ['NET_ADMIN']; }, /adds capabilities NET_ADMIN/],
    ['both', 'hostNetwork', (o) => { podSpec(o).hostNetwork = true; }, /hostNetwork is set/],
    ['both', 'hostPath volume', (o) => { podSpec(o).volumes.push({name: 'h', hostPath: {path: '/'}}); }, /hostPath/],
    ['both', 'writable root filesystem', (o) => { ctr(o).securityContext.readOnlyRootFilesystem = false; }, /readOnlyRootFilesystem/],
    ['both', 'runs as root', (o) => { ctr(o).securityContext.runAsUser = 0; }, /runAsUser is 0/],
    ['both', 'service account token', (o) => { delete podSpec(o).automountServiceAccountToken; }, /automountServiceAccountToken/],
    ['both', 'readiness on the decision port', (o) => { ctr(o).readinessProbe.grpc.port = 50051; }, /readinessProbe port 50051 is not the health port/],
    ['both', 'liveness on an undeclared port', (o) => { ctr(o).livenessProbe.tcpSocket.port = 50099; }, /livenessProbe port 50099 is not a declared containerPort/],
    ['both', 'liveness on gRPC health ""', (o) => { ctr(o).livenessProbe = {grpc: {port: 50053, service: ''}}; }, /livenessProbe asks gRPC health for "".*waiting for its first policy/],
    ['both', 'startup on the decision service', (o) => { ctr(o).startupProbe = {grpc: {port: 50053, service: READINESS_SERVICE}}; }, /startupProbe asks gRPC health for "logout.v1.LogoutPolicy"/],
    ['both', 'liveness on the store health', (o) => { ctr(o).livenessProbe = {grpc: {port: 50053, service: STORE_HEALTH}}; }, /livenessProbe .*last good snapshot/],
    ['both', 'readiness over TCP', (o) => { ctr(o).readinessProbe = {tcpSocket: {port: 50053}, periodSeconds: 2, failureThreshold: 2}; }, /readinessProbe is not a native grpc probe/],
    ['both', 'readiness service name', (o) => { ctr(o).readinessProbe.grpc.service = 'logout.v1.LogoutAdmin'; }, /readinessProbe asks for service/],
    ['both', 'httpGet probe', (o) => { ctr(o).livenessProbe = {httpGet: {path: '/', port: 50053}}; }, /livenessProbe is not a tcpSocket or native grpc probe/],
    ['both', 'health listen mismatch', (o) => {
      const a = ctr(o).args; a[a.findIndex((x) => x.startsWith('--health_listen='))] = '--health_listen=0.0.0.0:50054';
    }, /--health_listen=0.0.0.0:50054 does not listen/],
    ['both', 'image :latest', (o) => { ctr(o).image = 'registry.example.com/logoutd:latest'; }, /uses :latest/],
    ['both', 'two images', (o) => { podSpec(o).initContainers = [Object.assign(clone(ctr(o)), {name: 'init', image: 'registry.example.com/other:1'})]; }, /images differ/],
    ['both', 'no limits', (o) => { delete ctr(o).resources.limits; }, /resources.limits.cpu is not set/],
    ['all', 'unknown Secret', (o) => { podSpec(o).volumes.find((v) => v.secret).secret.secretName = 'nope'; }, /references Secret nope, which is not one of the Secrets/],
    ['all', 'Secret key outside the contract', (o) => { podSpec(o).volumes.find((v) => v.secret).secret.items[0].key = 'tls.pem'; }, /wants key tls.pem, which Secret logoutd-tls does not have/],
    ['all', 'optional Secret', (o) => { podSpec(o).volumes.find((v) => v.secret).secret.optional = true; }, /Secret logoutd-tls is optional/],
    ['all', 'Secret rendered', (o) => { o.push({apiVersion: 'v1', kind: 'Secret', metadata: {name: 'logoutd-tls'}, stringData: {'tls.crt': 'x'}}); }, /Secret\/logoutd-tls is rendered/],
    ['all', 'Secret volume dropped', (o) => {
      const v = podSpec(o).volumes.find((x) => x.secret && x.secret.secretName === 'logoutd-admin-token');
      v.name = 'admin-token-dir'; delete v.secret; v.emptyDir = {};
    }, /references Secrets \[.*\], want/],
    ['all', 'TLS mounted with subPath', (o) => { ctr(o).volumeMounts.find((m) => m.name === 'tls').subPath = 'tls.crt'; }, /uses subPath/],
    ['both', 'seeds a policy', (o) => { ctr(o).args.push('--policy=/etc/logoutd/policy/policy.json'); }, /passes --policy, so .* seeds a policy/],
    ['both', 'policy ConfigMap rendered', (o) => { o.push({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'logoutd-policy'}, data: {'policy.json': '{}'}}); }, /ConfigMap\/logoutd-policy is rendered/],
    ['demo', 'missing ConfigMap', (o) => { podSpec(o).volumes.find((v) => v.configMap).configMap.name = 'nope'; }, /references ConfigMap nope/],
    ['demo', 'policy outside mounts', (o) => { setArg(o, '--policy', '/etc/other/policy.json'); }, /--policy=\/etc\/other\/policy.json is not inside any volumeMount/],
    ['demo', 'not the example policy', (o) => { get(o, 'ConfigMap').data['policy.json'] = '{"tenants": []}'; }, /differs from deploy\/examples\/policy.json/],
    ['all', 'annotation port mismatch', (o) => { podMeta(o).annotations['prometheus.io/port'] = '9091'; }, /annotation prometheus.io\/port 9091 is not the metrics containerPort 9090/],
    ['both', 'metrics listen moved, annotation not', (o) => { setArg(o, '--metrics_listen', '0.0.0.0:9091'); ctr(o).ports.find((p) => p.name === 'metrics').containerPort = 9091; }, /annotation prometheus.io\/port 9090 is not the metrics containerPort 9091/],
    ['both', 'scrape annotation missing', (o) => { delete podMeta(o).annotations['prometheus.io/scrape']; }, /prometheus.io\/scrape is undefined, want "true"/],
    ['all', 'metrics path', (o) => { podMeta(o).annotations['prometheus.io/path'] = '/'; }, /prometheus.io\/path is \/, want \/metrics/],
    ['both', 'slow readiness', (o) => { ctr(o).readinessProbe.periodSeconds = 10; }, /readiness notices NOT_SERVING after up to 20s/],
    ['both', 'short drain budget', (o) => { podSpec(o).terminationGracePeriodSeconds = 10; }, /terminationGracePeriodSeconds 10/],
    ['both', 'Service targets a missing port', (o) => { get(o, 'Service').spec.ports[0].targetPort = 'grpcx'; }, /targetPort grpcx is not a containerPort/],
    ['both', 'headless Service gets a cluster IP', (o) => { delete get(o, 'Service', (s) => s.spec.clusterIP === 'None').spec.clusterIP; }, /expected one headless Service/],
    ['both', 'Service selects nothing', (o) => { get(o, 'Service').spec.selector = {app: 'other'}; }, /does not select the pods/],
    ['both', 'NetworkPolicy selects every pod', (o) => { get(o, 'NetworkPolicy').spec.podSelector = {}; }, /podSelector .* does not select exactly/],
    ['both', 'admin open to all namespaces', (o) => {
      get(o, 'NetworkPolicy').spec.ingress.find((r) => r.ports.some((p) => p.port === 50052)).from = [{namespaceSelector: {}}];
    }, /admin port peer/],
    ['both', 'NetworkPolicy port drift', (o) => {
      get(o, 'NetworkPolicy').spec.ingress.find((r) => r.ports.some((p) => p.port === 50051)).ports[0].port = 50061;
    }, /ingress port 50061 is not a containerPort/],
    ['single', 'two SQLite replicas', (o) => { get(o, 'StatefulSet').spec.replicas = 2; }, /replicas 2, want 1/],
    ['single', 'no claim template', (o) => { delete get(o, 'StatefulSet').spec.volumeClaimTemplates; }, /volumeClaimTemplate/],
    ['ha', 'two replicas', (o) => { get(o, 'Deployment').spec.replicas = 2; }, /replicas 2, want >= 3/],
    ['ha', 'surge-less rollout', (o) => { get(o, 'Deployment').spec.strategy.rollingUpdate.maxUnavailable = 1; }, /maxUnavailable 0/],
    ['ha', 'PDB selects nothing', (o) => { get(o, 'PodDisruptionBudget').spec.selector.matchLabels = {app: 'x'}; }, /PodDisruptionBudget\/logoutd: selector/],
    ['ha', 'HPA minReplicas 2', (o) => { get(o, 'HorizontalPodAutoscaler').spec.minReplicas = 2; }, /minReplicas 2/],
    ['ha', 'HPA targets another object', (o) => { get(o, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name = 'other'; }, /scaleTargetRef/],
    ['ha', 'no zone spread', (o) => { podSpec(o).topologySpreadConstraints = podSpec(o).topologySpreadConstraints.filter((t) => !t.topologyKey.includes('zone')); }, /no topologySpreadConstraint over topology.kubernetes.io\/zone/],
    ['ha', 'literal PGPASSWORD', (o) => { ctr(o).env.find((e) => e.name === 'PGPASSWORD').valueFrom = undefined; }, /PGPASSWORD does not come from a secretKeyRef/],
    ['ha operator', 'optional PGPASSWORD', (o) => { ctr(o).env.find((e) => e.name === 'PGPASSWORD').valueFrom.secretKeyRef.optional = true; }, /env PGPASSWORD: Secret logoutd-postgres is optional/],
    ['ha operator', 'sslmode missing', (o) => { setArg(o, '--store', store(o).replace(/\?.*$/, '')); }, /sslmode=\(unset, libpq: prefer\), want verify-full/],
    ['ha operator', 'sslmode require', (o) => { setArg(o, '--store', store(o).replace('sslmode=verify-full', 'sslmode=require')); }, /sslmode=require, want verify-full/],
    ['ha operator', 'sslmode verify-ca', (o) => { setArg(o, '--store', store(o).replace('sslmode=verify-full', 'sslmode=verify-ca')); }, /sslmode=verify-ca, want verify-full/],
    ['ha', 'sslrootcert not mounted', (o) => { setArg(o, '--store', store(o).replace(/sslrootcert=[^&]*/, 'sslrootcert=/etc/ssl/certs/pg-ca.crt')); }, /--store sslrootcert=\/etc\/ssl\/certs\/pg-ca.crt is not inside any volumeMount/],
    ['ha', 'sslrootcert key not projected', (o) => { podSpec(o).volumes.find((v) => v.name === 'postgres-ca').secret.items[0].path = 'root.crt'; }, /--store sslrootcert=.*does not project ca.crt/],
    ['ha', 'password in the store URI', (o) => { setArg(o, '--store', store(o).replace('logoutd@', 'logoutd:hunter2@')); }, /--store carries a password/],
    ['operator', 'ServiceMonitor port mismatch', (o) => { get(o, 'ServiceMonitor').spec.endpoints[0].port = 'grpc'; }, /endpoint port grpc is not Service\/logoutd's port for the metrics containerPort 9090/],
    ['operator', 'ServiceMonitor port unknown', (o) => { get(o, 'ServiceMonitor').spec.endpoints[0].port = 'metricz'; }, /endpoint port metricz is not Service\/logoutd's port/],
    ['operator', 'ServiceMonitor selects nothing', (o) => { get(o, 'ServiceMonitor').spec.selector.matchLabels = {app: 'x'}; }, /ServiceMonitor\/logoutd: selector .* does not select Service\/logoutd/],
    ['operator', 'scraped twice', (o) => { podMeta(o).annotations['prometheus.io/scrape'] = 'true'; }, /scraped twice/],
    ['operator', 'ServiceMonitor dropped', (o) => { o.splice(o.indexOf(get(o, 'ServiceMonitor')), 1); }, /0 ServiceMonitors rendered, want 1/],
    ['operator', 'image by tag', (o) => { ctr(o).image = 'registry.internal/platform/logoutd:0.1.0'; }, /is not pinned by digest/],
    ['operator', 'namespace missing', (o) => { delete get(o, 'Service').metadata.namespace; }, /Service\/logoutd: namespace undefined, want logoutd/],
    ['operator', 'placeholder database host', (o) => { setArg(o, '--store', store(o).replace(/@[^/]*\//, '@postgres:5432/')); }, /still dials the overlays\/ha placeholder host/],
    ['operator', 'egress to any database', (o) => { delete get(o, 'NetworkPolicy').spec.egress.find((r) => r.ports.some((p) => p.port === 5432)).to; }, /egress to 5432 is open to every address/],
    ['ha', 'egress wide open', (o) => { get(o, 'NetworkPolicy').spec.egress.push({}); }, /egress rule allows every port/],
  ];
}

// ---- Main ---------------------------------------------------------------------------------

function main() {
  const kubectl = findKubectl();
  if (!kubectl) {
    const where = process.env.KUBECTL ? `$KUBECTL (${process.env.KUBECTL}) is not executable and ` : '';
    console.log(`SKIP: ${where}kubectl is not on PATH: cannot render deploy/kustomize. ` +
                'Install kubectl (>= 1.27, kustomize built in) to run this test.');
    process.exit(SKIP);
  }
  const yaml = loadYamlModule();
  let passed = 0, failed = 0;
  const report = (name, errs) => {
    if (errs.length === 0) {
      passed++;
      console.log(`ok   ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${name}`);
      for (const e of errs) console.log(`       - ${e}`);
    }
  };

  const rendered = {};
  for (const [overlay, {dir}] of Object.entries(OVERLAYS)) {
    try {
      rendered[overlay] = render(kubectl, yaml, path.join(kustomizeDir, dir));
      report(`render ${dir} (${rendered[overlay].length} objects)`, []);
    } catch (e) {
      report(`render ${dir}`, [e.message]);
      continue;
    }
    report(`check ${dir}`, checkOverlay(overlay, rendered[overlay]));
  }
  try {
    report('base leaves --store to the overlays, seeds no policy, renders no Secret',
           checkBase(render(kubectl, yaml, path.join(kustomizeDir, 'base'))));
  } catch (e) {
    report('render base', [e.message]);
  }
  report('Dockerfile matches the manifests', checkDockerfile());
  report(`${DOCS} has a kubectl create secret command for every referenced Secret and key`, checkDocs());

  // Self-test: every mutation is caught with the expected message.
  const renders = (which) => (which === 'both' ? ['single', 'ha'] : which === 'all' ? Object.keys(OVERLAYS) : which.split(' '));
  for (const [which, name, mutate, expected] of mutations()) {
    for (const overlay of renders(which)) {
      if (!OVERLAYS[overlay]) throw new Error(`self-test "${name}": unknown render ${overlay}`);
      if (!rendered[overlay]) continue;
      const copy = clone(rendered[overlay]);
      mutate(copy);
      const errs = checkOverlay(overlay, copy);
      const caught = errs.some((e) => expected.test(e));
      report(`self-test ${overlay}: "${name}" is caught`, caught ? [] :
             [`expected a problem matching ${expected}, got: ${errs.length ? errs.join(' | ') : 'none'}`]);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();

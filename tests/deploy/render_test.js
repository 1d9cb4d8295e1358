#!/usr/bin/env node
// Renders every deploy/kustomize overlay with `kubectl kustomize` and checks the objects:
// kinds per overlay, probes on the health port, ports/args/Services/NetworkPolicy consistent,
// one pinned image, no privileged settings, security context, resources, volume references,
// placeholder-only Secrets, and the Dockerfile's ports/user. A self-test then breaks copies of
// the rendered objects one way at a time and requires each breakage to be reported.
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
// Flags naming files that must come from a mounted ConfigMap/Secret key.
const FILE_FLAGS = ['--policy', '--admin_token_file', '--tls_cert', '--tls_key', '--tls_client_ca'];
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob',
  'Pod'];
const PLACEHOLDER = 'REPLACE-ME';

const OVERLAYS = {
  single: {workloadKind: 'StatefulSet', store: /^sqlite:\/var\/lib\/logoutd\/[^/]+$/},
  ha: {workloadKind: 'Deployment', store: /^postgresql:\/\//},
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

function secretKeys(secret) {
  return new Set([...Object.keys(secret.data || {}), ...Object.keys(secret.stringData || {})]);
}

function secretValue(secret, key) {
  if (secret.stringData && key in secret.stringData) return String(secret.stringData[key]);
  if (secret.data && key in secret.data) return Buffer.from(secret.data[key], 'base64').toString('utf8');
  return undefined;
}

// ---- Checks -----------------------------------------------------------------------------

// Returns a list of human-readable problems (empty = the rendered overlay is acceptable).
function checkOverlay(overlay, objs) {
  const errs = [];
  const err = (m) => errs.push(m);
  const expect = OVERLAYS[overlay];
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const find = (k, n) => objs.find((o) => o.kind === k && o.metadata && o.metadata.name === n);

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
    if (v.secret) {
      const s = find('Secret', v.secret.secretName);
      if (!s) err(`${wid}: volume ${v.name} references Secret ${v.secret.secretName}, which is not rendered`);
      else {
        for (const it of v.secret.items || []) {
          if (!secretKeys(s).has(it.key)) err(`${wid}: volume ${v.name} wants key ${it.key} missing from Secret ${s.metadata.name}`);
        }
      }
    }
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
    else if (!expect.store.test(stores[0])) err(`${cid}: --store=${stores[0]} is not what ${overlay} uses (${expect.store})`);

    // Mounts: every mount names a volume; file flags point into a mount that provides the key.
    const mounts = c.volumeMounts || [];
    for (const m of mounts) {
      if (!volumeByName.has(m.name) && !claimTemplates.some((t) => t.metadata.name === m.name)) {
        err(`${cid}: volumeMount ${m.name} has no volume or volumeClaimTemplate`);
      }
    }
    for (const flag of FILE_FLAGS) {
      const vals = flagValues(args, flag);
      if (vals.length !== 1) {
        err(`${cid}: ${flag} appears ${vals.length} times, want once`);
        continue;
      }
      const file = vals[0];
      const mount = mounts.find((m) => path.posix.dirname(file) === m.mountPath);
      if (!mount) {
        err(`${cid}: ${flag}=${file} is not inside any volumeMount`);
        continue;
      }
      if (!mount.readOnly) err(`${cid}: mount ${mount.mountPath} (for ${flag}) is not readOnly`);
      const v = volumeByName.get(mount.name) || {};
      const src = v.configMap || v.secret;
      const base = path.posix.basename(file);
      if (!src) {
        err(`${cid}: ${flag}=${file} is on volume ${mount.name}, which is not a ConfigMap or Secret`);
      } else if (src.items && !src.items.some((it) => it.path === base)) {
        err(`${cid}: ${flag}=${file}: volume ${mount.name} does not project ${base}`);
      } else if (!src.items) {
        const obj = v.configMap ? find('ConfigMap', v.configMap.name) : find('Secret', v.secret.secretName);
        const keys = obj ? (v.configMap ? new Set(Object.keys(obj.data || {})) : secretKeys(obj)) : new Set();
        if (!keys.has(base)) err(`${cid}: ${flag}=${file}: ${mount.name}'s source has no key ${base}`);
      }
    }
    // The SQLite directory is a persistent claim (single) and /tmp is writable.
    if (overlay === 'single') {
      const data = mounts.find((m) => m.mountPath === '/var/lib/logoutd');
      if (!data || !claimTemplates.some((t) => t.metadata.name === data.name)) {
        err(`${cid}: /var/lib/logoutd is not mounted from a volumeClaimTemplate`);
      }
    }
    if (overlay === 'ha') {
      const pg = (c.env || []).find((e) => e.name === 'PGPASSWORD');
      const ref = pg && pg.valueFrom && pg.valueFrom.secretKeyRef;
      if (!ref) err(`${cid}: PGPASSWORD does not come from a secretKeyRef`);
      else {
        const s = find('Secret', ref.name);
        if (!s || !secretKeys(s).has(ref.key)) err(`${cid}: PGPASSWORD references ${ref.name}/${ref.key}, which is not rendered`);
      }
      if ((c.env || []).some((e) => e.name === 'PGPASSWORD' && e.value !== undefined)) err(`${cid}: PGPASSWORD is a literal value`);
    }

    // Probes: native gRPC on the health port; readiness asks for the decision service.
    const probes = {livenessProbe: '', readinessProbe: READINESS_SERVICE, startupProbe: ''};
    for (const [probeName, wantService] of Object.entries(probes)) {
      const p = c[probeName];
      if (!p) {
        if (probeName !== 'startupProbe') err(`${cid}: no ${probeName}`);
        continue;
      }
      if (!p.grpc) {
        err(`${cid}: ${probeName} is not a native grpc probe`);
        continue;
      }
      const port = typeof p.grpc.port === 'string' ? containerPortByName.get(p.grpc.port) : p.grpc.port;
      if (!containerPortNumbers.has(port)) err(`${cid}: ${probeName} port ${p.grpc.port} is not a declared containerPort`);
      if (port !== PORTS.health || port !== containerPortByName.get('health')) {
        err(`${cid}: ${probeName} port ${p.grpc.port} is not the health port ${PORTS.health}`);
      }
      const service = p.grpc.service || '';
      if (service !== wantService) err(`${cid}: ${probeName} asks for service "${service}", want "${wantService}"`);
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
    const want = overlay === 'ha' ? ['TCP/53', 'TCP/5432', 'UDP/53'] : [];
    if (JSON.stringify(egressPorts.sort()) !== JSON.stringify(want)) {
      err(`${nid}: egress ports [${egressPorts}] for ${overlay}, want [${want}]`);
    }
  }

  // Secrets and the policy ConfigMap ---------------------------------------------------
  for (const s of byKind('Secret')) {
    for (const k of secretKeys(s)) {
      const v = secretValue(s, k);
      if (!v.includes(PLACEHOLDER)) err(`Secret/${s.metadata.name}: key ${k} is not a ${PLACEHOLDER} placeholder`);
      if (/-----BEGIN/.test(v)) err(`Secret/${s.metadata.name}: key ${k} contains PEM material`);
    }
  }
  const policyVolume = volumes.find((v) => v.configMap);
  const policyCm = policyVolume && find('ConfigMap', policyVolume.configMap.name);
  if (!policyCm) err('no policy ConfigMap mounted');
  else {
    const example = fs.readFileSync(path.join(root, 'deploy', 'examples', 'policy.json'), 'utf8');
    if (policyCm.data['policy.json'] !== example) err(`ConfigMap/${policyCm.metadata.name}: policy.json differs from deploy/examples/policy.json`);
  }

  // Overlay-specific objects -----------------------------------------------------------
  const pdbs = byKind('PodDisruptionBudget');
  const hpas = byKind('HorizontalPodAutoscaler');
  if (overlay === 'single') {
    if (w.spec.replicas !== 1) err(`${wid}: replicas ${w.spec.replicas}, want 1 (SQLite has one writer)`);
    if (claimTemplates.length !== 1) err(`${wid}: expected one volumeClaimTemplate, found ${claimTemplates.length}`);
    for (const t of claimTemplates) {
      if (!(t.spec && t.spec.resources && t.spec.resources.requests && t.spec.resources.requests.storage)) {
        err(`${wid}: volumeClaimTemplate ${t.metadata.name} requests no storage`);
      }
    }
    if (hpas.length) err('single: an HPA would scale a one-writer SQLite StatefulSet');
  }
  if (overlay === 'ha') {
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

// The base is not deployable alone: it must leave --store to the overlays.
function checkBase(objs) {
  const errs = [];
  const d = objs.find((o) => o.kind === 'Deployment');
  if (!d) return ['base: no Deployment'];
  for (const c of d.spec.template.spec.containers) {
    if (flagValues(c.args, '--store').length) errs.push('base: sets --store (each overlay chooses its store)');
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
  return errs;
}

// The customisation README.md describes works: an operator's overlay on top of ours replaces the
// image (by the name the base gives it), the placeholder Secrets and the policy.
function checkOperatorOverlay(kubectl, yaml, overlay) {
  const os = require('os');
  const errs = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logoutd-operator-overlay-'));
  try {
    const files = {
      'secrets/tls.crt': 'operator tls.crt', 'secrets/tls.key': 'operator tls.key',
      'secrets/ca.crt': 'operator ca.crt', 'secrets/admin-token': 'operator-admin-token-0123456789',
      'secrets/pg-password': 'operator-pg-password', 'policy.json': '{"tenants": []}\n',
    };
    for (const [f, v] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), {recursive: true});
      fs.writeFileSync(path.join(dir, f), v);
    }
    const digest = 'sha256:' + 'ab'.repeat(32);
    const rel = path.relative(dir, path.join(kustomizeDir, 'overlays', overlay));
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${rel}]`,
      'images:',
      '- name: registry.example.com/logoutd',
      '  newName: registry.internal/platform/logoutd',
      `  digest: ${digest}`,
      'secretGenerator:',
      '- name: logoutd-tls',
      '  behavior: replace',
      '  type: kubernetes.io/tls',
      '  files: [tls.crt=secrets/tls.crt, tls.key=secrets/tls.key, ca.crt=secrets/ca.crt]',
      '- name: logoutd-admin-token',
      '  behavior: replace',
      '  files: [token=secrets/admin-token]',
      ...(overlay === 'ha' ? ['- name: logoutd-postgres', '  behavior: replace',
        '  files: [password=secrets/pg-password]'] : []),
      'configMapGenerator:',
      '- name: logoutd-policy',
      '  behavior: replace',
      '  files: [policy.json]',
      '',
    ].join('\n'));
    const objs = render(kubectl, yaml, dir);
    const w = objs.find((o) => WORKLOAD_KINDS.includes(o.kind));
    const pod = podTemplateOf(w).spec;
    const image = pod.containers[0].image;
    if (image !== `registry.internal/platform/logoutd@${digest}`) errs.push(`operator overlay: image is ${image}`);
    for (const v of pod.volumes) {
      if (v.secret) {
        const sec = objs.find((o) => o.kind === 'Secret' && o.metadata.name === v.secret.secretName);
        if (!sec) {
          errs.push(`operator overlay: volume ${v.name} references missing Secret ${v.secret.secretName}`);
          continue;
        }
        for (const it of v.secret.items || []) {
          const want = files[`secrets/${it.key === 'token' ? 'admin-token' : it.key}`];
          if (secretValue(sec, it.key) !== want) errs.push(`operator overlay: Secret ${sec.metadata.name} key ${it.key} is not the operator's file`);
        }
      }
      if (v.configMap) {
        const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name);
        if (!cm || cm.data['policy.json'] !== files['policy.json']) errs.push(`operator overlay: volume ${v.name} does not carry the operator's policy`);
      }
    }
    for (const e of (pod.containers[0].env || [])) {
      const ref = e.valueFrom && e.valueFrom.secretKeyRef;
      if (!ref) continue;
      const sec = objs.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
      if (!sec || secretValue(sec, ref.key) !== files['secrets/pg-password']) errs.push(`operator overlay: ${e.name} is not the operator's password`);
    }
    for (const sec of objs.filter((o) => o.kind === 'Secret')) {
      for (const k of secretKeys(sec)) {
        if (secretValue(sec, k).includes(PLACEHOLDER)) errs.push(`operator overlay: Secret ${sec.metadata.name} key ${k} is still a placeholder`);
      }
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
  return errs;
}

// ---- Self-test: each deliberate breakage must be reported ---------------------------------

function mutations() {
  const ctr = (objs) => podTemplateOf(objs.find((o) => WORKLOAD_KINDS.includes(o.kind))).spec.containers[0];
  const podSpec = (objs) => podTemplateOf(objs.find((o) => WORKLOAD_KINDS.includes(o.kind))).spec;
  const get = (objs, kind, pred = () => true) => objs.find((o) => o.kind === kind && pred(o));
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
    ['both', 'liveness on an undeclared port', (o) => { ctr(o).livenessProbe.grpc.port = 50099; }, /livenessProbe port 50099 is not a declared containerPort/],
    ['both', 'readiness service name', (o) => { ctr(o).readinessProbe.grpc.service = 'logout.v1.LogoutAdmin'; }, /readinessProbe asks for service/],
    ['both', 'httpGet probe', (o) => { ctr(o).livenessProbe = {httpGet: {path: '/', port: 50053}}; }, /livenessProbe is not a native grpc probe/],
    ['both', 'health listen mismatch', (o) => {
      const a = ctr(o).args; a[a.findIndex((x) => x.startsWith('--health_listen='))] = '--health_listen=0.0.0.0:50054';
    }, /--health_listen=0.0.0.0:50054 does not listen/],
    ['both', 'image :latest', (o) => { ctr(o).image = 'registry.example.com/logoutd:latest'; }, /uses :latest/],
    ['both', 'two images', (o) => { podSpec(o).initContainers = [Object.assign(clone(ctr(o)), {name: 'init', image: 'registry.example.com/other:1'})]; }, /images differ/],
    ['both', 'no limits', (o) => { delete ctr(o).resources.limits; }, /resources.limits.cpu is not set/],
    ['both', 'missing Secret', (o) => { podSpec(o).volumes.find((v) => v.secret).secret.secretName = 'nope'; }, /references Secret nope/],
    ['both', 'missing ConfigMap', (o) => { podSpec(o).volumes.find((v) => v.configMap).configMap.name = 'nope'; }, /references ConfigMap nope/],
    ['both', 'policy outside mounts', (o) => {
      const a = ctr(o).args; a[a.findIndex((x) => x.startsWith('--policy='))] = '--policy=/etc/other/policy.json';
    }, /--policy=\/etc\/other\/policy.json is not inside any volumeMount/],
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
    ['both', 'real-looking secret', (o) => { get(o, 'Secret').stringData = {x: '-----BEGIN PRIVATE KEY-----'}; delete get(o, 'Secret').data; }, /contains PEM material/],
    ['single', 'two SQLite replicas', (o) => { get(o, 'StatefulSet').spec.replicas = 2; }, /replicas 2, want 1/],
    ['single', 'no claim template', (o) => { delete get(o, 'StatefulSet').spec.volumeClaimTemplates; }, /volumeClaimTemplate/],
    ['ha', 'two replicas', (o) => { get(o, 'Deployment').spec.replicas = 2; }, /replicas 2, want >= 3/],
    ['ha', 'surge-less rollout', (o) => { get(o, 'Deployment').spec.strategy.rollingUpdate.maxUnavailable = 1; }, /maxUnavailable 0/],
    ['ha', 'PDB selects nothing', (o) => { get(o, 'PodDisruptionBudget').spec.selector.matchLabels = {app: 'x'}; }, /PodDisruptionBudget\/logoutd: selector/],
    ['ha', 'HPA minReplicas 2', (o) => { get(o, 'HorizontalPodAutoscaler').spec.minReplicas = 2; }, /minReplicas 2/],
    ['ha', 'HPA targets another object', (o) => { get(o, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name = 'other'; }, /scaleTargetRef/],
    ['ha', 'no zone spread', (o) => { podSpec(o).topologySpreadConstraints = podSpec(o).topologySpreadConstraints.filter((t) => !t.topologyKey.includes('zone')); }, /no topologySpreadConstraint over topology.kubernetes.io\/zone/],
    ['ha', 'literal PGPASSWORD', (o) => { ctr(o).env.find((e) => e.name === 'PGPASSWORD').valueFrom = undefined; }, /PGPASSWORD does not come from a secretKeyRef/],
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
  for (const overlay of Object.keys(OVERLAYS)) {
    try {
      rendered[overlay] = render(kubectl, yaml, path.join(kustomizeDir, 'overlays', overlay));
      report(`render overlays/${overlay} (${rendered[overlay].length} objects)`, []);
    } catch (e) {
      report(`render overlays/${overlay}`, [e.message]);
      continue;
    }
    report(`check overlays/${overlay}`, checkOverlay(overlay, rendered[overlay]));
  }
  try {
    report('base leaves --store to the overlays', checkBase(render(kubectl, yaml, path.join(kustomizeDir, 'base'))));
  } catch (e) {
    report('render base', [e.message]);
  }
  report('Dockerfile matches the manifests', checkDockerfile());
  for (const overlay of Object.keys(OVERLAYS)) {
    try {
      report(`an operator's overlay on overlays/${overlay} replaces image, Secrets and policy (README)`,
             checkOperatorOverlay(kubectl, yaml, overlay));
    } catch (e) {
      report(`an operator's overlay on overlays/${overlay}`, [e.message]);
    }
  }

  // Self-test: every mutation is caught with the expected message.
  for (const [which, name, mutate, expected] of mutations()) {
    for (const overlay of Object.keys(OVERLAYS)) {
      if (which !== 'both' && which !== overlay) continue;
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

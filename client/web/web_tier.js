// Example web tier for logoutd (the OP's front end): serves /oidc/logout by calling
// logout.v1.LogoutPolicy/ValidateLogout and renders OpenID Connect Front-Channel Logout iframes.
//
//   const { createWebTier } = require('./web_tier');
//   const tier = await createWebTier({ logoutd: '127.0.0.1:50051', tenant: 'acme' });
//   // tier.url, tier.sessions (demo session store), tier.close()
//
// Run alone: node web_tier.js --logoutd=127.0.0.1:50051 --tenant=acme [--port=8080]
//            [--planner_token_file=FILE]
//            [--apps=http://127.0.0.1:9001,...]   (see README "Back-channel delivery and the
//            example web tier")
//
// Only node:http and @grpc/grpc-js + @grpc/proto-loader (loading ../../proto). Everything rendered
// into HTML is escaped; tokens are never logged or rendered.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
const SESSION_COOKIE = 'op_sid';
const MAX_BODY_BYTES = 64 * 1024;
const IFRAME_TIMEOUT_MS = 5000;
const RPC_DEADLINE_MS = 3000;

function loadLogoutPolicyClient(address, credentials = grpc.credentials.createInsecure()) {
  const definition = protoLoader.loadSync('logout/v1/logout.proto', {
    includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  return new pkg.logout.v1.LogoutPolicy(address, credentials);
}

// escapeHtml makes `s` safe in HTML text and in double-quoted attribute values.
function escapeHtml(s) {
  return String(s).replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function parseCookies(header) {
  const out = {};
  for (const part of (header || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function page(title, body, extraHead = '') {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
    + `${extraHead}</head><body>${body}</body></html>`;
}

function send(res, status, html, headers = {}) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...headers,
  });
  res.end(html);
}

// The logged-out page: one hidden iframe per front-channel URL, then (if there is one) the
// validated redirect once every iframe loaded or IFRAME_TIMEOUT_MS passed. The script is
// static; the data reaches it through escaped attributes, never through script text.
function renderLogoutPage(res, frontchannelUrls, redirectUrl, sessionCookieHeader) {
  const frames = frontchannelUrls.map((u) => `<iframe class="fc" src="${escapeHtml(u)}" `
    + 'style="display:none" width="0" height="0" sandbox="allow-same-origin allow-scripts"></iframe>').join('');
  const script = `<script>
(function () {
  var root = document.getElementById('logout');
  var target = root.getAttribute('data-redirect');
  var frames = document.querySelectorAll('iframe.fc');
  var pending = frames.length, done = false;
  function finish() {
    if (done) return;
    done = true;
    root.setAttribute('data-done', 'true');
    if (target) window.location.replace(target);
  }
  frames.forEach(function (f) {
    f.addEventListener('load', function () { if (--pending <= 0) finish(); });
    f.addEventListener('error', function () { if (--pending <= 0) finish(); });
  });
  if (pending === 0) finish();
  setTimeout(finish, ${IFRAME_TIMEOUT_MS});
})();
</script>`;
  const body = `<main id="logout" data-redirect="${escapeHtml(redirectUrl || '')}">`
    + '<h1>You are signed out</h1>'
    + (redirectUrl ? '<p>Signing you out of your applications&hellip;</p>' : '<p>You may close this window.</p>')
    + `${frames}</main>${script}`;
  send(res, 200, page('Signed out', body), sessionCookieHeader ? { 'Set-Cookie': sessionCookieHeader } : {});
}

function renderError(res, status, description) {
  send(res, status, page('Logout failed',
    `<h1>Logout failed</h1><p id="error">${escapeHtml(description)}</p>`));
}

function frontchannelUrlsOf(plan) {
  return ((plan && plan.clients) || [])
    .filter((c) => c.frontchannel && c.frontchannel.url)
    .map((c) => c.frontchannel.url);
}

// createWebTier starts the HTTP server. options: logoutd (host:port), tenant, port (0 = any),
// host ('127.0.0.1'), credentials (grpc channel credentials), plannerToken (the bearer token of
// a logoutd "planner" credential: logoutd refuses single-logout plans without one unless it
// runs with --slo_allow_unauthenticated), log (function(obj)).
async function createWebTier(options) {
  const client = loadLogoutPolicyClient(options.logoutd, options.credentials);
  const tenant = options.tenant;
  const log = options.log || ((o) => process.stderr.write(`${JSON.stringify(o)}\n`));
  // Demo session store: sid -> { sub, clients: [client_id...] }.
  const sessions = new Map();
  // Pending confirmations: csrf -> { sid, sub, client_id, redirect_url, expires }.
  const confirmations = new Map();
  const MAX_PENDING_CONFIRMATIONS = 10000;

  // Every call carries the planner credential when there is one (plain decisions ignore it).
  const metadata = new grpc.Metadata();
  if (options.plannerToken) metadata.set('authorization', `Bearer ${options.plannerToken}`);

  function rpc(method, request) {
    return new Promise((resolve, reject) => {
      client[method](request, metadata, { deadline: new Date(Date.now() + RPC_DEADLINE_MS) },
        (err, resp) => (err ? reject(err) : resolve(resp)));
    });
  }

  const clearCookie = `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;

  async function handleLogout(req, res, url) {
    const method = req.method === 'POST' ? 'HTTP_METHOD_POST' : 'HTTP_METHOD_GET';
    let rawQuery = url.search.startsWith('?') ? url.search.slice(1) : url.search;
    if (req.method === 'POST') {
      const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded') return renderError(res, 415, 'unsupported content type');
      rawQuery = await readBody(req);
    }
    const sid = parseCookies(req.headers.cookie)[SESSION_COOKIE] || '';
    const session = sid ? sessions.get(sid) : undefined;
    let resp;
    try {
      resp = await rpc('ValidateLogout', {
        tenant, endpoint: 'ENDPOINT_OIDC_LOGOUT', raw_query: rawQuery, http_method: method,
        session_id: session ? sid : '', plan_notifications: true,
        session_client_ids: session ? session.clients : [],
      });
    } catch (err) {
      // Fail closed: no redirect when logoutd cannot decide.
      log({ msg: 'logoutd call failed', code: err.code });
      return renderError(res, 503, 'logout is temporarily unavailable');
    }
    log({ msg: 'logout decision', decision: resp.decision, reason: resp.reason_code, client_id: resp.client_id });
    if (resp.decision === 'DECISION_ALLOW') {
      if (session) sessions.delete(sid);
      return renderLogoutPage(res, frontchannelUrlsOf(resp.notifications), resp.redirect_url,
        session ? clearCookie : '');
    }
    if (resp.decision === 'DECISION_REQUIRE_CONFIRMATION') {
      const csrf = crypto.randomBytes(24).toString('base64url');
      // Bounded: expired confirmations go first; beyond the cap the oldest is dropped.
      const now = Date.now();
      for (const [key, value] of confirmations) {
        if (value.expires < now) confirmations.delete(key);
      }
      while (confirmations.size >= MAX_PENDING_CONFIRMATIONS) {
        confirmations.delete(confirmations.keys().next().value);
      }
      confirmations.set(csrf, {
        sid, sub: (session && session.sub) || (resp.session && resp.session.sub) || '',
        client_id: resp.client_id, redirect_url: resp.redirect_url, expires: Date.now() + 5 * 60 * 1000,
      });
      return send(res, 200, page('Sign out?', '<h1>Sign out?</h1>'
        + '<form id="confirm" method="post" action="/oidc/logout/confirm">'
        + `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`
        + '<button type="submit" name="confirm" value="yes">Sign out</button></form>'));
    }
    return renderError(res, 400, resp.error_description || 'the logout request was refused');
  }

  // The user confirmed: end the session and notify its clients (the decision, including the
  // validated redirect, was made when the confirmation was asked for).
  async function handleConfirm(req, res) {
    const form = new URLSearchParams(await readBody(req));
    const pending = confirmations.get(form.get('csrf') || '');
    confirmations.delete(form.get('csrf') || '');
    const sid = parseCookies(req.headers.cookie)[SESSION_COOKIE] || '';
    if (!pending || pending.expires < Date.now() || pending.sid !== sid) {
      return renderError(res, 400, 'the confirmation expired; start again from the application');
    }
    const session = sessions.get(sid);
    sessions.delete(sid);
    let plan;
    if (session) {
      try {
        plan = (await rpc('PlanLogoutNotifications', {
          tenant, sid, sub: session.sub, session_client_ids: session.clients,
          initiator: 'LOGOUT_INITIATOR_RP_LOGOUT', initiating_client_id: pending.client_id,
        })).plan;
      } catch (err) {
        log({ msg: 'logoutd plan failed', code: err.code });
      }
    }
    return renderLogoutPage(res, frontchannelUrlsOf(plan), pending.redirect_url, clearCookie);
  }

  // Demo login: /demo/login?sub=alice&clients=app1,app2 starts a session in the demo store.
  function handleDemoLogin(res, url) {
    const sid = crypto.randomBytes(16).toString('base64url');
    const sub = url.searchParams.get('sub') || 'alice';
    const clients = (url.searchParams.get('clients') || '').split(',').filter(Boolean).slice(0, 64);
    sessions.set(sid, { sub, clients });
    send(res, 200, page('Signed in', `<h1>Signed in</h1><p id="session" data-sid="${escapeHtml(sid)}">`
      + `${escapeHtml(sub)} at ${escapeHtml(clients.join(', '))}</p>`),
    { 'Set-Cookie': `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax` });
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://web-tier.invalid');
      if (url.pathname === '/oidc/logout' && (req.method === 'GET' || req.method === 'POST')) {
        return await handleLogout(req, res, url);
      }
      if (url.pathname === '/oidc/logout/confirm' && req.method === 'POST') return await handleConfirm(req, res);
      if (url.pathname === '/demo/login' && req.method === 'GET') return handleDemoLogin(res, url);
      return renderError(res, 404, 'not found');
    } catch (err) {
      log({ msg: 'request failed', error: String(err.message) });
      if (!res.headersSent) renderError(res, err.status || 500, 'internal error');
    }
  });
  await new Promise((resolve) => server.listen(options.port || 0, options.host || '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://${options.host || '127.0.0.1'}:${port}`,
    port,
    sessions,
    close: () => new Promise((resolve) => { client.close(); server.close(resolve); server.closeAllConnections(); }),
  };
}

// createDemoApp starts a relying party stub: /frontchannel records hits (iss, sid),
// /signed-out is the post-logout landing page. options: name, port (0), host.
async function createDemoApp(options) {
  const hits = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://app.invalid');
    if (url.pathname === '/frontchannel') {
      hits.push({ iss: url.searchParams.get('iss'), sid: url.searchParams.get('sid'), query: url.search });
      // Front-Channel Logout §2: the RP should answer with Cache-Control: no-cache, no-store.
      return send(res, 200, page(`${options.name} logout`, `<p>${escapeHtml(options.name)} signed out</p>`),
        { 'Cache-Control': 'no-cache, no-store' });
    }
    if (url.pathname === '/signed-out') {
      return send(res, 200, page(`${options.name}: signed out`,
        `<h1 id="signed-out">${escapeHtml(options.name)}: signed out</h1>`
        + `<p id="state">${escapeHtml(url.searchParams.get('state') || '')}</p>`));
    }
    return send(res, 404, page('not found', '<p>not found</p>'));
  });
  await new Promise((resolve) => server.listen(options.port || 0, options.host || '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    name: options.name,
    origin: `http://${options.host || '127.0.0.1'}:${port}`,
    hits,
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }),
  };
}

module.exports = { createWebTier, createDemoApp, escapeHtml, loadLogoutPolicyClient };

if (require.main === module) {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => {
    const m = a.match(/^--([^=]+)=(.*)$/);
    return m ? [m[1], m[2]] : [a, ''];
  }));
  (async () => {
    const tier = await createWebTier({
      logoutd: args.logoutd || '127.0.0.1:50051', tenant: args.tenant || 'acme',
      port: Number(args.port || 8080), host: args.host || '127.0.0.1',
      plannerToken: args.planner_token_file
        ? require('node:fs').readFileSync(args.planner_token_file, 'utf8').trim() : undefined,
    });
    console.log(`web tier on ${tier.url} (tenant ${args.tenant || 'acme'}); /demo/login?sub=alice&clients=a,b`);
    for (const [i, p] of (args.app_ports || '').split(',').filter(Boolean).entries()) {
      const app = await createDemoApp({ name: `app${i + 1}`, port: Number(p) });
      console.log(`demo app ${app.name} on ${app.origin} (/frontchannel, /signed-out)`);
    }
  })().catch((e) => { console.error(e); process.exit(1); });
}

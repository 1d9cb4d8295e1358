#!/usr/bin/env node
// Back-channel logout receiver for bench/outbox.sh: plain node `http`, no dependencies.
//
//   node bench/outbox_receiver.js --origins=8
//
// Listens on 127.0.0.1 on --origins ports (each one origin to logoutd's per-origin concurrency
// limit) and on one control port, and prints one JSON line to stdout:
//   {"ports":[...],"control_port":N,"pid":N}
// Every POST to an origin port is taken as a back-channel logout: the form body's logout_token
// is split at its dots and the middle part (the JWT payload) base64url-decoded WITHOUT any
// verification, for its `sid`. The arrival time (wall clock, ms since the epoch, sub-ms
// resolution: performance.timeOrigin + performance.now(), taken when the whole body is in) is
// recorded with the sid and the port, and the request answered 200 (Cache-Control: no-store).
// A body without a parsable token is still answered 200 and counted as `unparsed`.
//
// Control port (GET only):
//   /records?from=K   {"n":N,"unparsed":U,"records":[[sid,arrival_ms,port],...]} from index K
//   /count            {"n":N,"unparsed":U}
//   /now              {"now_ms":...}  (the clock used for arrivals, to compare with the driver's)
//   /reset            forgets every record
// SIGTERM / SIGINT: closes the servers and exits.
'use strict';

const http = require('http');
const { performance } = require('perf_hooks');

function arg(name, def) {
  const p = `--${name}=`;
  const a = process.argv.find((x) => x.startsWith(p));
  return a === undefined ? def : a.slice(p.length);
}

const origins = parseInt(arg('origins', '8'), 10);
const host = arg('host', '127.0.0.1');
const nowMs = () => performance.timeOrigin + performance.now();

let sids = [];
let times = [];
let ports = [];
let unparsed = 0;

function sidOf(body) {
  const token = new URLSearchParams(body).get('logout_token');
  if (!token) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload.sid === 'string' ? payload.sid : null;
  } catch (e) {
    return null;
  }
}

function receiver(port) {
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const t = nowMs();
      const sid = req.method === 'POST' ? sidOf(Buffer.concat(chunks).toString('latin1')) : null;
      if (sid === null) {
        unparsed++;
      } else {
        sids.push(sid);
        times.push(t);
        ports.push(port.value);
      }
      res.writeHead(200, { 'Cache-Control': 'no-store', 'Content-Length': '0' });
      res.end();
    });
  };
}

function control(req, res) {
  const url = new URL(req.url, 'http://x');
  let body;
  if (url.pathname === '/records') {
    const from = Math.max(0, parseInt(url.searchParams.get('from') || '0', 10));
    const records = [];
    for (let i = from; i < sids.length; i++) records.push([sids[i], times[i], ports[i]]);
    body = { n: sids.length, unparsed, records };
  } else if (url.pathname === '/count') {
    body = { n: sids.length, unparsed };
  } else if (url.pathname === '/now') {
    body = { now_ms: nowMs() };
  } else if (url.pathname === '/reset') {
    sids = [];
    times = [];
    ports = [];
    unparsed = 0;
    body = { n: 0 };
  } else {
    res.writeHead(404);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });
}

async function main() {
  const servers = [];
  const bound = [];
  for (let i = 0; i < origins; i++) {
    const port = { value: 0 };
    const s = http.createServer(receiver(port));
    s.keepAliveTimeout = 5000;
    port.value = await listen(s);
    servers.push(s);
    bound.push(port.value);
  }
  const c = http.createServer(control);
  const controlPort = await listen(c);
  servers.push(c);
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(JSON.stringify({ ports: bound, control_port: controlPort, pid: process.pid }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`outbox_receiver: ${e.stack || e}\n`);
  process.exit(1);
});

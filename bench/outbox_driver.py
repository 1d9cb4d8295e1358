#!/usr/bin/python3
"""Measurement driver for bench/outbox.sh (run it with Debian's /usr/bin/python3).

Subcommands:

  cell --store sqlite|postgresql --store_url_template URL ...
      One store: starts the back-channel receiver (bench/outbox_receiver.js, node) and, per
      measurement, a fresh logoutd on a fresh database (the template's {label} is replaced by
      off_c1, on_c1, off_c16, on_c16, ..., delivery), and measures
        1. enqueue cost: PlanLogoutNotifications latency (one session client with a back-channel
           URI per plan) without and with --deliver_backchannel, WARMUP + N calls, closed loop,
           at each concurrency (1: sequential, synchronous stub; >1: grpc.aio, that many calls
           in flight);
        2. delivery: an open-loop load of RATE plans/s for DURATION s (LOAD_PROCS processes of
           `load`, each RATE/LOAD_PROCS), the wall time each RPC returned; the receiver's
           arrival time per sid; lost / duplicate jobs after a grace period; the CPU of
           logoutd, the driver's load processes and the receiver.
      Writes one JSON object to --json_out. Progress goes to stderr.

  load ...  (internal) one open-loop load process of `cell`; writes its samples as JSON.

  report --out FILE CELL.json...
      Gathers the cells into FILE and prints the markdown table and the targets.

gRPC without generated stubs, as bench/scale_driver.py (whose helpers are imported): the
request and response classes come from logoutd's reflection service (tests/docs/grpcurl.py).
The timed calls send pre-serialised requests and keep the raw response bytes (parsed after the
run), so the driver spends little CPU per call. Wall times (time.time(), CLOCK_REALTIME) are
compared with the receiver's (performance.timeOrigin + performance.now()); the offset between
the two clocks is measured and reported. Figures are reported, never asserted.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ next to bench/scale_driver.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402
import grpc.aio  # noqa: E402
from scale_driver import (Api, Replica, cpu_seconds, free_port, log, percentile,  # noqa: E402
                          proc_status, wait_serving)

POLICY_SERVICE = "logout.v1.LogoutPolicy"
PLAN = f"/{POLICY_SERVICE}/PlanLogoutNotifications"
TENANT = "acme"
TICKS = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))


# --- Small helpers -----------------------------------------------------------------------------

def summary(values_ms):
    if not values_ms:
        return None
    s = sorted(values_ms)
    return {"n": len(s), "min": s[0], "p50": percentile(s, 50), "p90": percentile(s, 90),
            "p99": percentile(s, 99), "p999": percentile(s, 99.9), "max": s[-1],
            "mean": sum(s) / len(s)}


STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_times_of_cpus(cpus):
    """Per listed CPU: its /proc/stat jiffies by field (user .. steal)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *vals = line.split()
            n = int(name[3:])
            if n in cpus:
                out[n] = dict(zip(STAT_FIELDS, (int(x) for x in vals[:8])))
    return out


def cpu_busy_pct(before, after):
    """Per CPU: busy % (everything but idle and iowait; steal included) and each field's %."""
    res = {}
    for n in before:
        d = {k: after[n][k] - before[n][k] for k in STAT_FIELDS}
        total = sum(d.values())
        if not total:
            continue
        pct = {k: round(100.0 * v / total, 1) for k, v in d.items() if v}
        pct["busy"] = round(100.0 * (total - d["idle"] - d["iowait"]) / total, 1)
        res[str(n)] = pct
    return res


class OtherProcesses:
    """CPU used by processes that are not ours during a window, sampled (call sample() every
    second or so; a process that starts and ends between two samples is missed)."""

    def __init__(self, ours):
        self.ours = set(ours)
        self.seen = {}  # pid -> (comm, cpu seconds at first sight, last)
        self.sample(first=True)

    def sample(self, first=False):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in self.ours:
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    text = f.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / TICKS
            if pid in self.seen:
                c, c0, _ = self.seen[pid]
                self.seen[pid] = (c, c0, cpu)
            else:
                self.seen[pid] = (comm, cpu if first else 0.0, cpu)

    def result(self, wall):
        by = {}
        for comm, c0, c1 in self.seen.values():
            by[comm] = by.get(comm, 0.0) + (c1 - c0)
        top = sorted(by.items(), key=lambda kv: -kv[1])[:5]
        return {"cpu_pct": 100 * sum(by.values()) / wall,
                "top": [[comm, round(100 * c / wall, 1)] for comm, c in top if c > 0]}


def self_cpu_seconds():
    t = os.times()
    return t.user + t.system


def http_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def http_text(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


def with_pdeathsig(argv):
    """Children die with the driver even if it is killed outright."""
    if shutil.which("setpriv"):
        return ["setpriv", "--pdeathsig", "TERM"] + argv
    return argv


# --- Policy ------------------------------------------------------------------------------------

def write_policy(path, key_pem, alg, clients, ports):
    """One tenant; client i posts to origin i % len(ports)."""
    policy = {"tenants": [{
        "name": TENANT,
        "issuer": "https://acme.example.com/",
        "signingKeys": [{"kid": "k1", "alg": alg, "privateKeyPem": key_pem}],
        "clients": [{"clientId": f"app{i}",
                     "allowedLogoutUrls": [f"https://app{i}.example.com/bye"],
                     "backchannelLogoutUri": f"http://127.0.0.1:{ports[i % len(ports)]}/bc/app{i}"}
                    for i in range(clients)],
    }]}
    with open(path, "w") as f:
        json.dump(policy, f)


class Messages:
    """Request / response classes of PlanLogoutNotifications, from reflection."""

    def __init__(self, channel):
        self.api = Api(channel, [], POLICY_SERVICE, 30)
        m = self.api.service.methods_by_name["PlanLogoutNotifications"]
        self.request_cls = self.api.factory.GetPrototype(m.input_type)
        self.response_cls = self.api.factory.GetPrototype(m.output_type)

    def request(self, sid, client):
        r = self.request_cls()
        r.tenant = TENANT
        r.sid = sid
        r.session_client_ids.append(client)
        r.initiator = 1  # LOGOUT_INITIATOR_RP_LOGOUT
        return r.SerializeToString()

    def job_ids(self, raw):
        resp = self.response_cls.FromString(raw)
        return [c.delivery.job_id for c in resp.plan.clients if c.HasField("backchannel")], resp


# --- Processes ---------------------------------------------------------------------------------

class Receiver:
    def __init__(self, origins, log_path, pid_file):
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen(
            with_pdeathsig(["node", os.path.join(HERE, "outbox_receiver.js"),
                            f"--origins={origins}"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log_file)
        with open(pid_file, "a") as f:
            f.write(f"{self.proc.pid}\n")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the receiver did not start (see receiver.log)")
        info = json.loads(line)
        self.ports = info["ports"]
        self.control = f"http://127.0.0.1:{info['control_port']}"
        self.pid = info["pid"]  # node itself (setpriv execs, so the same as proc.pid)

    def reset(self):
        http_json(self.control + "/reset")

    def count(self):
        return http_json(self.control + "/count")

    def records(self):
        return http_json(self.control + "/records?from=0", timeout=120)

    def clock_offset_ms(self, rounds=50):
        """The receiver's clock minus ours (ms), from the round trip with the smallest RTT."""
        best = None
        for _ in range(rounds):
            t0 = time.time()
            now = http_json(self.control + "/now")["now_ms"]
            t1 = time.time()
            rtt = (t1 - t0) * 1000
            if best is None or rtt < best[0]:
                best = (rtt, now - (t0 + t1) / 2 * 1000)
        return {"offset_ms": best[1], "rtt_ms": best[0]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_logoutd(a, label, deliver, policy, taken):
    port = free_port(taken)
    metrics_port = free_port(taken)
    store_url = a.store_url_template.replace("{label}", label)
    argv = list(a.pin) + [a.logoutd, f"--listen=127.0.0.1:{port}", f"--store={store_url}",
                          f"--policy={policy}", f"--metrics_listen=127.0.0.1:{metrics_port}",
                          "--drain_delay=0s", "--max_connection_age=0",
                          "--decision_log_sample_rate=0", "--slo_allow_unauthenticated",
                          "--dev_allow_http_loopback"]
    if deliver:
        argv += ["--deliver_backchannel", f"--outbox_workers={a.outbox_workers}",
                 f"--outbox_origin_concurrency={a.origin_concurrency}"]
    r = Replica(label, argv, os.path.join(a.run_dir, f"logoutd-{label}.log"), a.pid_file)
    r.port, r.metrics_port = port, metrics_port
    r.start()
    t = wait_serving(r, port, a.start_timeout, a.store)
    log(a.store, f"logoutd {label}: SERVING after {t:.2f} s (pid {r.pid}, port {port})")
    return r


def scrape_outbox_metrics(r, path):
    """Saves /metrics and returns the back-channel outbox families."""
    try:
        text = http_text(f"http://127.0.0.1:{r.metrics_port}/metrics")
    except OSError as e:
        return {"error": str(e)}
    with open(path, "w") as f:
        f.write(text)
    out = {"latency_buckets": {}, "attempts": {}, "finished": {}}
    for line in text.splitlines():
        if line.startswith("#") or 'kind="backchannel"' not in line and \
                not line.startswith("logoutd_outbox_pending_jobs"):
            continue
        name_labels, _, value = line.rpartition(" ")
        try:
            v = float(value)
        except ValueError:
            continue
        if name_labels.startswith("logoutd_outbox_delivery_latency_seconds_bucket"):
            le = name_labels.split('le="', 1)[1].split('"', 1)[0]
            out["latency_buckets"][le] = v
        elif name_labels.startswith("logoutd_outbox_delivery_latency_seconds_count"):
            out["latency_count"] = v
        elif name_labels.startswith("logoutd_outbox_delivery_latency_seconds_sum"):
            out["latency_sum"] = v
        elif name_labels.startswith("logoutd_outbox_attempts_total"):
            out["attempts"][name_labels.split('result="', 1)[1].split('"', 1)[0]] = v
        elif name_labels.startswith("logoutd_outbox_jobs_finished_total"):
            out["finished"][name_labels.split('result="', 1)[1].split('"', 1)[0]] = v
        elif name_labels.startswith("logoutd_outbox_pending_jobs"):
            out["pending"] = v
    return out


# --- 1. Enqueue cost (closed loop) --------------------------------------------------------------

def closed_loop_sync(channel, reqs, timeout):
    call = channel.unary_unary(PLAN)  # bytes in, bytes out
    lat, raws = [], []
    for req in reqs:
        t = time.perf_counter()
        raw = call(req, timeout=timeout)
        lat.append((time.perf_counter() - t) * 1000)
        raws.append(raw)
    return lat, raws


async def closed_loop_aio(target, reqs, concurrency, timeout):
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(PLAN)
        lat, raws = [None] * len(reqs), [None] * len(reqs)
        nxt = 0

        async def worker():
            nonlocal nxt
            while nxt < len(reqs):
                i = nxt
                nxt += 1
                t = time.perf_counter()
                raws[i] = await call(reqs[i], timeout=timeout)
                lat[i] = (time.perf_counter() - t) * 1000
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return lat, raws


def enqueue_cell(a, msgs_holder, label, deliver, concurrency, policy, taken, receiver):
    r = start_logoutd(a, label, deliver, policy, taken)
    try:
        channel = r.channel
        if msgs_holder.get("m") is None:
            msgs_holder["m"] = Messages(channel)
        m = msgs_holder["m"]
        total = a.warmup + a.n
        reqs = [m.request(f"e-{label}-{i}", f"app{i % a.clients}") for i in range(total)]
        target = f"127.0.0.1:{r.port}"
        others = OtherProcesses([os.getpid(), r.pid, receiver.pid])
        c0, w0 = cpu_seconds(r.pid), time.perf_counter()
        if concurrency == 1:
            lat, raws = closed_loop_sync(channel, reqs, a.rpc_timeout)
        else:
            lat, raws = asyncio.run(closed_loop_aio(target, reqs, concurrency, a.rpc_timeout))
        wall = time.perf_counter() - w0
        cpu = cpu_seconds(r.pid) - c0
        others.sample()
        # Sanity: every plan has one back-channel job, with a job id exactly when delivering.
        ids, resp = m.job_ids(raws[-1])
        if len(ids) != 1 or (ids[0] != 0) != deliver or \
                resp.plan.backchannel_delivered_by_logoutd != deliver:
            raise RuntimeError(f"{label}: unexpected plan: {m.api.to_dict(resp)}")
        measured = lat[a.warmup:]
        res = {"label": label, "deliver": deliver, "concurrency": concurrency,
               "calls": len(measured), "warmup": a.warmup, "latency_ms": summary(measured),
               "calls_per_s": total / wall, "logoutd_cpu_pct": 100 * cpu / wall,
               "logoutd_cpu_ms_per_call": 1000 * cpu / total,
               "other_processes": others.result(wall)}
        if deliver:
            # Let the deliveries finish (they share logoutd's CPU with the next cell otherwise).
            deadline = time.time() + a.grace
            while time.time() < deadline and receiver.count()["n"] < total:
                time.sleep(0.1)
            res["received_after_cell"] = receiver.count()["n"]
            res["outbox_metrics"] = scrape_outbox_metrics(
                r, os.path.join(a.run_dir, f"metrics-{label}.txt"))
        lt = res["latency_ms"]
        log(a.store, f"{label}: p50 {lt['p50']:.3f} ms, p99 {lt['p99']:.3f} ms, "
                     f"{res['calls_per_s']:.0f} calls/s, logoutd CPU {res['logoutd_cpu_pct']:.0f}%")
        return res
    finally:
        r.stop()
        receiver.reset()


# --- 2. Delivery (open loop) ------------------------------------------------------------------

async def open_loop(a, reqs):
    """Issues reqs[i] at start + i / rate (catching up at once when behind); returns samples."""
    loop = asyncio.get_running_loop()
    n = len(reqs)
    sent = [0.0] * n       # wall time the call was issued
    lag = [0.0] * n        # issued - scheduled (s)
    ret = [0.0] * n        # wall time the response was seen (0: none)
    raws = [None] * n
    errs = {}
    async with grpc.aio.insecure_channel(a.target) as channel:
        call = channel.unary_unary(PLAN)
        await channel.channel_ready()

        async def one(i, due):
            lag[i] = loop.time() - due
            sent[i] = time.time()
            try:
                raws[i] = await call(reqs[i], timeout=a.rpc_timeout)
                ret[i] = time.time()
            except grpc.aio.AioRpcError as e:
                errs[i] = e.code().name

        await asyncio.sleep(max(0.0, a.start_at - time.time()))
        m0 = loop.time()
        interval = 1.0 / a.rate
        tasks = []
        i = 0
        while i < n:
            now = loop.time()
            due = m0 + i * interval
            if now < due:
                await asyncio.sleep(due - now)
                continue
            while i < n and m0 + i * interval <= now:
                tasks.append(loop.create_task(one(i, m0 + i * interval)))
                i += 1
        issue_wall = loop.time() - m0
        await asyncio.gather(*tasks)
    return sent, lag, ret, raws, errs, issue_wall


def run_load(a):
    """One load process: its share of the open-loop plans; writes samples to --out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with grpc.insecure_channel(a.target) as ch:
        m = Messages(ch)
    n = int(round(a.rate * a.duration))
    reqs = [m.request(f"{a.sid_prefix}{i}", f"app{(i * a.procs + a.index) % a.clients}")
            for i in range(n)]
    c0, w0 = self_cpu_seconds(), time.time()
    sent, lag, ret, raws, errs, issue_wall = asyncio.run(open_loop(a, reqs))
    cpu, wall = self_cpu_seconds() - c0, time.time() - max(w0, a.start_at)
    samples = []
    no_job = 0
    for i in range(n):
        if raws[i] is None:
            continue
        ids, _ = m.job_ids(raws[i])
        if not ids or ids[0] == 0:
            no_job += 1
        samples.append([f"{a.sid_prefix}{i}", sent[i], ret[i], ids[0] if ids else 0, lag[i]])
    lag_ms = [x * 1000 for x in lag]
    out = {"index": a.index, "rate": a.rate, "planned": n, "ok": len(samples), "no_job": no_job,
           "errors": {}, "cpu_s": cpu, "wall_s": wall, "issue_wall_s": issue_wall,
           "issue_lag_ms": summary(lag_ms), "samples": samples}
    for code in errs.values():
        out["errors"][code] = out["errors"].get(code, 0) + 1
    with open(a.out, "w") as f:
        json.dump(out, f)
    return 0


def delivery_cell(a, policy, taken, receiver):
    label = "delivery"
    r = start_logoutd(a, label, True, policy, taken)
    res = {"label": label, "target_rate": a.rate, "duration_s": a.duration,
           "load_procs": a.load_procs, "outbox_workers": a.outbox_workers,
           "origin_concurrency": a.origin_concurrency, "origins": a.origins,
           "clients": a.clients}
    try:
        m = Messages(r.channel)
        # Warm-up: a few sequential plans, delivered before the measured run.
        call = r.channel.unary_unary(PLAN)
        for i in range(a.warmup):
            call(m.request(f"w-{i}", f"app{i % a.clients}"), timeout=a.rpc_timeout)
        deadline = time.time() + a.grace
        while time.time() < deadline and receiver.count()["n"] < a.warmup:
            time.sleep(0.05)
        receiver.reset()
        res["clock"] = receiver.clock_offset_ms()

        start_at = time.time() + 2.0 + 0.5 * a.load_procs
        procs, outs = [], []
        for k in range(a.load_procs):
            out = os.path.join(a.run_dir, f"load-{k}.json")
            outs.append(out)
            argv = [sys.executable, os.path.abspath(__file__), "load", f"--target=127.0.0.1:{r.port}",
                    f"--rate={a.rate / a.load_procs}", f"--duration={a.duration}",
                    f"--start_at={start_at}", f"--sid_prefix=d{k}-", f"--index={k}",
                    f"--procs={a.load_procs}", f"--clients={a.clients}",
                    f"--rpc_timeout={a.rpc_timeout}", f"--out={out}"]
            p = subprocess.Popen(with_pdeathsig(argv), stdin=subprocess.DEVNULL)
            with open(a.pid_file, "a") as f:
                f.write(f"{p.pid}\n")
            procs.append(p)
        log(a.store, f"delivery: {a.rate:.0f} plans/s for {a.duration:.0f} s from "
                     f"{a.load_procs} load process(es), {a.outbox_workers} outbox workers, "
                     f"{a.origins} origins x {a.origin_concurrency}")
        time.sleep(max(0.0, start_at - time.time()))
        cpus = sorted({int(c) for c in (a.server_cpu, a.driver_cpu) if c != ""})
        s0 = cpu_times_of_cpus(cpus)
        l0, v0, w0 = cpu_seconds(r.pid), cpu_seconds(receiver.pid), time.time()
        timeline = []
        others = OtherProcesses([os.getpid(), r.pid, receiver.pid, receiver.proc.pid] +
                                [p.pid for p in procs])
        while any(p.poll() is None for p in procs):
            time.sleep(1.0)
            others.sample()
            if any(p.poll() is None for p in procs):
                timeline.append({"t_s": time.time() - w0, "received": receiver.count()["n"],
                                 "logoutd_cpu_s": cpu_seconds(r.pid) - l0,
                                 "rss_mib": proc_status(r.pid).get("VmRSS")})
                if len(timeline) % 5 == 0:
                    t = timeline[-1]
                    log(a.store, f"  t={t['t_s']:.0f}s received {t['received']}, logoutd CPU "
                                 f"{100 * t['logoutd_cpu_s'] / t['t_s']:.0f}%")
        wall = time.time() - w0
        res["logoutd_cpu_pct"] = 100 * (cpu_seconds(r.pid) - l0) / wall
        res["receiver_cpu_pct"] = 100 * (cpu_seconds(receiver.pid) - v0) / wall
        res["cpu_busy_pct"] = cpu_busy_pct(s0, cpu_times_of_cpus(cpus))
        res["load_wall_s"] = wall
        res["timeline"] = timeline
        res["other_processes"] = others.result(wall)
        for k, p in enumerate(procs):
            if p.returncode != 0:
                raise RuntimeError(f"load process {k} exited with {p.returncode}")
        loads = []
        for out in outs:
            with open(out) as f:
                loads.append(json.load(f))
        planned = {}  # sid -> (sent, returned, job_id)
        for ld in loads:
            for sid, sent, ret, job, lag in ld["samples"]:
                planned[sid] = (sent, ret, job, lag)
        res["planned"] = sum(ld["planned"] for ld in loads)
        res["rpc_ok"] = len(planned)
        res["rpc_errors"] = {}
        for ld in loads:
            for code, c in ld["errors"].items():
                res["rpc_errors"][code] = res["rpc_errors"].get(code, 0) + c
        res["no_job_id"] = sum(ld["no_job"] for ld in loads)
        sends = sorted(v[0] for v in planned.values())
        rets = sorted(v[1] for v in planned.values())
        span = (sends[-1] - sends[0]) if len(sends) > 1 else 0
        res["issued_rate"] = (len(sends) - 1) / span if span > 0 else None
        res["achieved_rate"] = len(planned) / a.duration
        res["completion_span_s"] = (rets[-1] - sends[0]) if rets else None
        res["driver_cpu_pct"] = [100 * ld["cpu_s"] / ld["wall_s"] for ld in loads]
        res["driver_cpu_pct_max"] = max(res["driver_cpu_pct"])
        res["issue_lag_ms"] = [ld["issue_lag_ms"] for ld in loads]
        res["rpc_latency_ms"] = summary([(v[1] - v[0]) * 1000 for v in planned.values()])
        res["rate_met"] = (res["achieved_rate"] >= 0.99 * a.rate and not res["rpc_errors"])

        # Grace: until every planned job arrived (or GRACE seconds passed).
        t_end = time.time()
        got = set()
        while True:
            recs = receiver.records()
            got = {rec[0] for rec in recs["records"]}
            missing = sum(1 for sid in planned if sid not in got)
            if missing == 0 or time.time() - t_end > a.grace:
                break
            time.sleep(0.5)
        res["grace_waited_s"] = time.time() - t_end
        first = {}
        dups = 0
        for sid, t_ms, port in recs["records"]:
            if sid in first:
                dups += 1
                first[sid] = min(first[sid], t_ms)
            else:
                first[sid] = t_ms
        res["received"] = len(recs["records"])
        res["unparsed"] = recs["unparsed"]
        res["delivered"] = sum(1 for sid in planned if sid in first)
        res["lost"] = len(planned) - res["delivered"]
        res["duplicates"] = dups
        res["unexpected"] = sum(1 for sid in first if sid not in planned)
        lat = [first[sid] - v[1] * 1000 for sid, v in planned.items() if sid in first]
        res["delivery_latency_ms"] = summary(lat)
        res["delivery_from_send_ms"] = summary(
            [first[sid] - v[0] * 1000 for sid, v in planned.items() if sid in first])
        res["within_100ms_pct"] = (100.0 * sum(1 for x in lat if x <= 100) / len(lat)
                                   if lat else None)
        # Per second of the run (by issue time): plans, delivery latency p50/p99/max, RPC
        # latency p99 and the driver's issue lag p99 (ms).
        per = {}
        for sid, v in planned.items():
            if sid in first:
                per.setdefault(int(v[0] - sends[0]), []).append(
                    (first[sid] - v[1] * 1000, (v[1] - v[0]) * 1000, v[3] * 1000))
        res["per_second"] = []
        for s, x in sorted(per.items()):
            dl, rpc, lag = ([t[k] for t in x] for k in range(3))
            res["per_second"].append({"s": s, "n": len(x), "p50": percentile(dl, 50),
                                      "p99": percentile(dl, 99), "max": max(dl),
                                      "rpc_p99": percentile(rpc, 99),
                                      "issue_lag_p99": percentile(lag, 99)})
        res["outbox_metrics"] = scrape_outbox_metrics(
            r, os.path.join(a.run_dir, "metrics-delivery.txt"))
        res["rss_mib_after"] = proc_status(r.pid).get("VmRSS")
        d = res["delivery_latency_ms"] or {}
        log(a.store, f"delivery: {res['achieved_rate']:.0f} plans/s achieved, delivered "
                     f"{res['delivered']}/{res['rpc_ok']}, lost {res['lost']}, dups {dups}, "
                     f"latency p50 {d.get('p50', 0):.1f} p99 {d.get('p99', 0):.1f} max "
                     f"{d.get('max', 0):.1f} ms; logoutd CPU {res['logoutd_cpu_pct']:.0f}%, "
                     f"driver CPU {res['driver_cpu_pct_max']:.0f}%, receiver CPU "
                     f"{res['receiver_cpu_pct']:.0f}%")
        return res
    finally:
        r.stop()


def fsync_probe(directory, n=200):
    """Appends 4 KiB and fdatasyncs, n times, in `directory`: what one durable commit costs
    the disk there at least (ms)."""
    path = os.path.join(directory, "fsync-probe")
    lat = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = b"x" * 4096
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    return summary(lat)


def run_cell(a):
    os.makedirs(a.run_dir, exist_ok=True)
    result = {"store": a.store, "error": None, "n": a.n, "warmup": a.warmup,
              "concurrency": a.concurrency, "alg": a.alg, "machine_before": a.machine_before,
              "enqueue": [], "delivery": None}
    taken = set()
    receiver = None
    try:
        receiver = Receiver(a.origins, os.path.join(a.run_dir, "receiver.log"), a.pid_file)
        log(a.store, f"receiver pid {receiver.pid}: origins {receiver.ports}")
        policy = os.path.join(a.run_dir, "policy.json")
        with open(a.key_file) as f:
            write_policy(policy, f.read(), a.alg, a.clients, receiver.ports)
        result["fsync_probe_ms"] = fsync_probe(a.run_dir)
        log(a.store, "fdatasync of 4 KiB in the run directory: p50 "
                     f"{result['fsync_probe_ms']['p50']:.3f} ms, p99 "
                     f"{result['fsync_probe_ms']['p99']:.3f} ms")
        holder = {}
        if not a.skip_enqueue:
            for c in a.concurrency:
                for deliver in (False, True):
                    label = f"{'on' if deliver else 'off'}_c{c}"
                    result["enqueue"].append(
                        enqueue_cell(a, holder, label, deliver, c, policy, taken, receiver))
        if not a.skip_delivery:
            result["delivery"] = delivery_cell(a, policy, taken, receiver)
    except (RuntimeError, TimeoutError, grpc.RpcError, OSError, LookupError, ValueError) as e:
        msg = (f"{e.code().name}: {e.details()}" if isinstance(e, grpc.RpcError) else str(e))
        result["error"] = msg
        log(a.store, f"FAILED: {msg}")
    except (KeyboardInterrupt, SystemExit):
        result["error"] = "interrupted"
        raise
    finally:
        if receiver is not None:
            receiver.stop()
        with open(a.json_out, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["error"] is None else 1


# --- Report ------------------------------------------------------------------------------------

def f_ms(v):
    if v is None:
        return "—"
    return f"{v:.3f} ms" if abs(v) < 10 else (f"{v:.1f} ms" if abs(v) < 100 else f"{v:.0f} ms")


TARGETS = """Targets, for reference (not asserted):
  1. enqueue adds <= 2 ms p50 to a planning RPC on SQLite with synchronous FULL (group commit);
  2. a job to a healthy loopback receiver is delivered <= 100 ms p99 after the RPC returns,
     at 1,000 planned logouts per second sustained for 30 s (no job lost)."""

NOTES = """\
Enqueue: PlanLogoutNotifications with one session client (a back-channel URI) per plan, closed
loop, fresh logoutd and database per row; 'added' is the p50 with --deliver_backchannel minus
the p50 without (the deliveries to the receiver run on logoutd's CPU during the 'on' rows).
Delivery: open loop; latency is the receiver's arrival time (first arrival of the sid) minus
the wall time the driver saw the RPC return; lost: planned (OK, job id) but not received within
the grace period; duplicates: arrivals beyond the first per sid. CPU: % of one core over the
load window (driver: the busiest load process; the receiver shares the driver's core)."""


def report(args):
    cells = []
    for path in args.cells:
        try:
            with open(path) as f:
                cells.append(json.load(f))
        except (OSError, ValueError) as e:
            log("report", f"skipping {path}: {e}")
    lines = ["### 1. Enqueue cost (PlanLogoutNotifications, 1 back-channel job per plan)", "",
             "| store | in flight | p50 off | p50 on | **p50 added** | p99 off | p99 on | calls/s off / on | logoutd CPU/call off / on |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        by = {(e["concurrency"], e["deliver"]): e for e in c.get("enqueue", [])}
        for conc in sorted({k[0] for k in by}):
            off, on = by.get((conc, False)), by.get((conc, True))
            if not off or not on:
                continue
            lo, ln = off["latency_ms"], on["latency_ms"]
            lines.append(
                f"| {c['store']} | {conc} | {f_ms(lo['p50'])} | {f_ms(ln['p50'])} | "
                f"**{f_ms(ln['p50'] - lo['p50'])}** | {f_ms(lo['p99'])} | {f_ms(ln['p99'])} | "
                f"{off['calls_per_s']:.0f} / {on['calls_per_s']:.0f} | "
                f"{off['logoutd_cpu_ms_per_call']:.3f} / {on['logoutd_cpu_ms_per_call']:.3f} ms |")
    lines += ["", "### 2. Delivery at a sustained open-loop plan rate", "",
              "| store | target rate | achieved | rate met | RPC ok / errors | delivered | lost | dups "
              "| latency p50 | p90 | p99 | max | ≤100 ms | logoutd CPU | driver CPU | receiver CPU |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        d = c.get("delivery")
        if not d or "delivery_latency_ms" not in d:
            continue
        lt = d["delivery_latency_ms"] or {}
        errs = sum(d["rpc_errors"].values())
        lines.append(
            f"| {c['store']} | {d['target_rate']:.0f}/s × {d['duration_s']:.0f} s | "
            f"{d['achieved_rate']:.0f}/s | {'yes' if d['rate_met'] else 'NO'} | "
            f"{d['rpc_ok']} / {errs} | {d['delivered']} | {d['lost']} | {d['duplicates']} | "
            f"{f_ms(lt.get('p50'))} | {f_ms(lt.get('p90'))} | {f_ms(lt.get('p99'))} | "
            f"{f_ms(lt.get('max'))} | {d['within_100ms_pct']:.1f}% | {d['logoutd_cpu_pct']:.0f}% | "
            f"{'/'.join(f'{x:.0f}' for x in d['driver_cpu_pct'])}% | "
            f"{d['receiver_cpu_pct']:.0f}% |")
    print("\n".join(lines))
    for c in cells:
        d = c.get("delivery") or {}
        if c.get("machine_before"):
            print(f"\n{c['store']}: before the run {c['machine_before']}")
        if c.get("fsync_probe_ms"):
            fp = c["fsync_probe_ms"]
            print(f"{c['store']}: fdatasync of 4 KiB in the run directory p50 {f_ms(fp['p50'])}, "
                  f"p99 {f_ms(fp['p99'])}, max {f_ms(fp['max'])}")
        for e in c.get("enqueue", []):
            o = e.get("other_processes") or {}
            if o.get("cpu_pct", 0) >= 5:
                print(f"{c['store']}: enqueue {e['label']}: processes not ours used "
                      f"{o['cpu_pct']:.0f}% CPU meanwhile {o['top']}")
        if d.get("clock"):
            lag = [x["p99"] for x in d.get("issue_lag_ms") or [] if x]
            print(f"\n{c['store']}: receiver clock offset {d['clock']['offset_ms']:+.3f} ms "
                  f"(rtt {d['clock']['rtt_ms']:.3f} ms); driver issue lag p99 "
                  f"{'/'.join(f'{x:.2f}' for x in lag)} ms; RPC latency p50/p99 "
                  f"{f_ms(d['rpc_latency_ms']['p50'])} / {f_ms(d['rpc_latency_ms']['p99'])}; "
                  f"cores (% of the window) {json.dumps(d.get('cpu_busy_pct'))}; "
                  f"processes not ours {json.dumps(d.get('other_processes'))}; "
                  f"{d['outbox_workers']} outbox workers, {d['origins']} origins × "
                  f"{d['origin_concurrency']}; logoutd attempts {d['outbox_metrics'].get('attempts')}")
            lt = d["delivery_latency_ms"] or {}
            worst = sorted(d.get("per_second") or [], key=lambda x: -x["p99"])[:3]
            print(f"{c['store']}: delivery latency min {f_ms(lt.get('min'))} (negative: the "
                  f"receiver had it before the driver saw the RPC return), p99.9 "
                  f"{f_ms(lt.get('p999'))}; from the RPC's issue p50/p99 "
                  f"{f_ms(d['delivery_from_send_ms']['p50'])} / "
                  f"{f_ms(d['delivery_from_send_ms']['p99'])}; worst seconds by p99: "
                  + ", ".join(f"s{x['s']} {f_ms(x['p99'])} (RPC p99 {f_ms(x['rpc_p99'])})"
                              for x in worst))
            busiest = d["driver_cpu_pct_max"]
            print(f"{c['store']}: load generator: busiest driver process {busiest:.0f}% of a core "
                  f"({'under' if busiest < 85 else 'NOT under'} 85%), achieved "
                  f"{d['achieved_rate']:.0f} of {d['target_rate']:.0f} plans/s: target rate "
                  f"{'met' if d['rate_met'] else 'NOT met'}")
            if not d["rate_met"]:
                print(f"{c['store']}: the achieved rate did NOT meet the target "
                      f"({d['achieved_rate']:.0f}/s of {d['target_rate']:.0f}/s)")
        if c.get("error"):
            print(f"\nFAILED: {c['store']}: {c['error']}")
    print()
    print(NOTES)
    print()
    print(TARGETS)
    out = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cells": cells,
           "table_markdown": "\n".join(lines)}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cell")
    c.add_argument("--store", choices=["sqlite", "postgresql"], required=True)
    c.add_argument("--store_url_template", required=True, help="--store value; {label} replaced")
    c.add_argument("--logoutd", required=True)
    c.add_argument("--pin", default="", help="command prefix for logoutd, e.g. 'taskset -c 0'")
    c.add_argument("--server_cpu", default="")
    c.add_argument("--driver_cpu", default="")
    c.add_argument("--key_file", required=True)
    c.add_argument("--alg", default="RS256")
    c.add_argument("--run_dir", required=True)
    c.add_argument("--pid_file", required=True)
    c.add_argument("--json_out", required=True)
    c.add_argument("--n", type=int, default=2000)
    c.add_argument("--warmup", type=int, default=200)
    c.add_argument("--concurrency", default="1 16")
    c.add_argument("--rate", type=float, default=1000)
    c.add_argument("--duration", type=float, default=30)
    c.add_argument("--grace", type=float, default=30)
    c.add_argument("--load_procs", type=int, default=1)
    c.add_argument("--origins", type=int, default=8)
    c.add_argument("--clients", type=int, default=64)
    c.add_argument("--outbox_workers", type=int, default=8)
    c.add_argument("--origin_concurrency", type=int, default=2)
    c.add_argument("--rpc_timeout", type=float, default=30)
    c.add_argument("--start_timeout", type=float, default=120)
    c.add_argument("--machine_before", default="", help="how busy the cores were, for the JSON")
    c.add_argument("--skip_enqueue", action="store_true")
    c.add_argument("--skip_delivery", action="store_true")
    ld = sub.add_parser("load")
    ld.add_argument("--target", required=True)
    ld.add_argument("--rate", type=float, required=True)
    ld.add_argument("--duration", type=float, required=True)
    ld.add_argument("--start_at", type=float, required=True)
    ld.add_argument("--sid_prefix", required=True)
    ld.add_argument("--index", type=int, default=0)
    ld.add_argument("--procs", type=int, default=1)
    ld.add_argument("--clients", type=int, required=True)
    ld.add_argument("--rpc_timeout", type=float, default=30)
    ld.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--out", required=True)
    r.add_argument("cells", nargs="*")
    a = p.parse_args()
    if a.cmd == "cell":
        a.pin = a.pin.split() if a.pin else []
        if shutil.which("setpriv"):
            a.pin = ["setpriv", "--pdeathsig", "TERM"] + a.pin
        a.concurrency = [int(x) for x in a.concurrency.split()]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return run_cell(a)
    if a.cmd == "load":
        return run_load(a)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())

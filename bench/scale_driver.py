#!/usr/bin/python3
"""Measurement driver for bench/scale.sh (run it with Debian's /usr/bin/python3).

Subcommands:

  gen-policy --tenants N --out FILE
      Writes a policy (proto3 JSON of logout.v1.PolicyConfig) with N tenants t00001..: each has
      an issuer, 10 tenant-level allowed logout URLs and clients c0..c4 with 10 URLs each (60
      entries per tenant).

  cell --store sqlite|postgresql ...
      One table row: starts logoutd (and, for PostgreSQL, a second replica) on a store filled
      from the policy, and measures start->SERVING, RSS, the ack latency of small UpdateClient
      writes and (PostgreSQL) how long replica 2 takes to decide with each write and the CPU it
      spends per write. Writes one JSON object to --json_out. Progress goes to stderr.

  report --out FILE CELL.json...
      Gathers the cells into FILE and prints the markdown table and the targets.

gRPC without generated stubs: descriptors come from logoutd's reflection service, as in
tests/docs/grpcurl.py (whose Reflection class is reused), and messages are built from dicts with
json_format. Every RPC is timed with time.perf_counter on one long-lived channel per replica.
Figures are reported, never asserted.
"""

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import grpc
from google.protobuf import json_format, message_factory

sys.dont_write_bytecode = True  # no __pycache__ next to tests/docs/grpcurl.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "docs"))
from grpcurl import Reflection  # noqa: E402  (tests/docs/grpcurl.py: reflection client)

CLIENTS_PER_TENANT = 5
URLS_PER_CLIENT = 10
TENANT_URLS = 10
ENTRIES_PER_TENANT = CLIENTS_PER_TENANT * URLS_PER_CLIENT + TENANT_URLS
POLICY_SERVICE = "logout.v1.LogoutPolicy"
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def log(prefix, msg):
    sys.stderr.write(f"[{prefix}] {msg}\n")
    sys.stderr.flush()


# --- Policy generation -------------------------------------------------------------------------

def tenant_name(i, width):
    return f"t{i:0{width}d}"


def name_width(n):
    return max(5, len(str(n)))


def gen_policy(args):
    """Streams the policy out tenant by tenant (compact JSON: 50k tenants is ~130 MB)."""
    n, width = args.tenants, name_width(args.tenants)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write('{"tenants":[')
        for i in range(1, n + 1):
            t = tenant_name(i, width)
            tenant = {
                "name": t,
                "issuer": f"https://{t}.example.com/",
                "allowedLogoutUrls": [f"https://{t}.example.com/logged-out/{k}"
                                      for k in range(TENANT_URLS)],
                "clients": [{"clientId": f"c{c}",
                             "allowedLogoutUrls": [f"https://app{c}.{t}.example.com/done/{k}"
                                                   for k in range(URLS_PER_CLIENT)]}
                            for c in range(CLIENTS_PER_TENANT)],
            }
            if i > 1:
                f.write(",")
            f.write(json.dumps(tenant, separators=(",", ":")))
        f.write("]}\n")
    os.replace(tmp, args.out)
    return 0


# --- Processes ---------------------------------------------------------------------------------

def free_port(taken):
    """A port in 20000-30000 that nothing listens on (bind test) and not handed out before."""
    rng = random.Random()
    for _ in range(500):
        port = rng.randint(20000, 30000)
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 20000-30000")


def proc_status(pid):
    """VmRSS and VmHWM in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def cpu_seconds_schedstat(pid):
    """On-CPU time of the live threads, from /proc/PID/task/*/schedstat (nanoseconds; threads
    that exited are not counted, so only for short windows without thread churn)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the comm field: fields[0] is state (field 3), so utime (14) and stime (15) are
    # fields[11] and fields[12].
    return (int(fields[11]) + int(fields[12])) / TICKS


class Replica:
    """One logoutd process with its channel and dynamically built message classes."""

    def __init__(self, name, argv, log_path, pid_file):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.pid_file = pid_file
        self.proc = None
        self.channel = None
        self.t_exec = None

    def start(self):
        self.log_file = open(self.log_path, "ab")
        self.t_exec = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        with open(self.pid_file, "a") as f:  # bench/scale.sh's trap kills what is listed here
            f.write(f"{self.proc.pid}\n")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()[-8192:].decode("utf-8", "replace")
            return "\n".join(text.splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def wait_serving(replica, port, timeout, prefix):
    """Seconds from exec until grpc.health.v1 Check(logout.v1.LogoutPolicy) says SERVING.

    First waits for the TCP port (a gRPC channel would back off for a second after a refused
    connection), then calls Check every 5 ms on one channel.
    """
    deadline = replica.t_exec + timeout
    next_note = time.perf_counter() + 30
    while True:
        if not replica.alive():
            raise RuntimeError(f"{replica.name} exited (status {replica.proc.returncode}) before "
                               f"SERVING; log tail:\n{replica.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            pass
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"{replica.name}: port {port} not open after {timeout:.0f} s; "
                               f"log tail:\n{replica.log_tail()}")
        if now > next_note:
            log(prefix, f"{replica.name}: still starting after {now - replica.t_exec:.0f} s "
                        f"(RSS {proc_status(replica.pid).get('VmRSS', 0):.0f} MiB)")
            next_note = now + 30
        time.sleep(0.005)
    options = [("grpc.initial_reconnect_backoff_ms", 10), ("grpc.min_reconnect_backoff_ms", 10),
               ("grpc.max_reconnect_backoff_ms", 100),
               ("grpc.max_receive_message_length", 64 * MIB)]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options)
    health = Api(channel, [], "grpc.health.v1.Health", 10)
    while True:
        try:
            r = health.call("Check", {"service": POLICY_SERVICE}, timeout=5)
            if r.status == 1:  # SERVING
                elapsed = time.perf_counter() - replica.t_exec
                replica.channel = channel
                return elapsed
        except grpc.RpcError:
            pass
        except LookupError:
            pass  # reflection not ready yet
        now = time.perf_counter()
        if not replica.alive():
            raise RuntimeError(f"{replica.name} exited before SERVING; log tail:\n"
                               f"{replica.log_tail()}")
        if now > deadline:
            raise TimeoutError(f"{replica.name}: not SERVING after {timeout:.0f} s; log tail:\n"
                               f"{replica.log_tail()}")
        if now > next_note:
            log(prefix, f"{replica.name}: port open, not SERVING yet after "
                        f"{now - replica.t_exec:.0f} s")
            next_note = now + 30
        time.sleep(0.005)


class Api:
    """Calls one service's methods with dicts (proto3 JSON names) in, messages out."""

    def __init__(self, channel, metadata, service, timeout):
        self.reflection = Reflection(channel, metadata, timeout)
        self.service = self.reflection.service(service)
        self.factory = message_factory.MessageFactory(self.reflection.pool)
        self.channel = channel
        self.metadata = metadata
        self.calls = {}

    def request(self, method, fields):
        m = self.service.methods_by_name[method]
        cls = self.factory.GetPrototype(m.input_type)
        return json_format.ParseDict(fields, cls(), descriptor_pool=self.reflection.pool)

    def stub(self, method):
        if method not in self.calls:
            m = self.service.methods_by_name[method]
            response = self.factory.GetPrototype(m.output_type)
            self.calls[method] = self.channel.unary_unary(
                f"/{self.service.full_name}/{method}",
                request_serializer=lambda msg: msg.SerializeToString(),
                response_deserializer=response.FromString)
        return self.calls[method]

    def call(self, method, fields_or_message, timeout):
        req = (fields_or_message if not isinstance(fields_or_message, dict)
               else self.request(method, fields_or_message))
        return self.stub(method)(req, metadata=self.metadata, timeout=timeout)

    def to_dict(self, message):
        return json_format.MessageToDict(message, descriptor_pool=self.reflection.pool)


# --- Statistics --------------------------------------------------------------------------------

def percentile(values, p):
    """Nearest-rank percentile (with 50 samples, p99 is the largest)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def summary_ms(values_s):
    ms = [v * 1000.0 for v in values_s]
    if not ms:
        return None
    return {"n": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms),
            "mean": sum(ms) / len(ms)}


# --- One cell ----------------------------------------------------------------------------------

def validate_request(api, tenant, client, url):
    query = (f"client_id={client}&post_logout_redirect_uri="
             f"{urllib.parse.quote(url, safe='')}")
    return api.request("ValidateLogout", {"tenant": tenant, "endpoint": "ENDPOINT_OIDC_LOGOUT",
                                          "httpMethod": "HTTP_METHOD_GET", "rawQuery": query})


def decision_name(api, response):
    return api.to_dict(response).get("decision", "DECISION_UNSPECIFIED")


def run_cell(a):
    prefix = f"{a.tenants} {a.store}"
    pg = a.store == "postgresql"
    result = {"tenants": a.tenants, "entries": a.tenants * ENTRIES_PER_TENANT, "store": a.store,
              "policy_bytes": os.path.getsize(a.policy), "writes_requested": a.writes,
              "write_gap_s": a.write_gap, "error": None}
    with open(a.token_file) as f:
        metadata = [("authorization", f"Bearer {f.read().strip()}")]
    taken = set()
    replicas = []
    samples, acks, reads, visibles = [], [], [], []  # kept when a later write fails
    polls_total = 0
    os.makedirs(a.run_dir, exist_ok=True)

    def new_replica(name, with_policy):
        port = free_port(taken)
        argv = list(a.pin) + [a.logoutd, f"--listen=127.0.0.1:{port}", f"--store={a.store_url}",
                              f"--admin_token_file={a.token_file}", "--drain_delay=0s",
                              "--max_connection_age=0", "--decision_log_sample_rate=0"]
        if with_policy:
            argv.append(f"--policy={a.policy}")
        r = Replica(name, argv, os.path.join(a.run_dir, f"{name}.log"), a.pid_file)
        r.port = port
        replicas.append(r)
        return r

    def start(r):
        r.start()
        t = wait_serving(r, r.port, a.start_timeout, prefix)
        log(prefix, f"{r.name}: SERVING {t:.3f} s after exec (pid {r.pid}, port {r.port})")
        return t

    try:
        # 1. Fill the store: --policy seeds the empty store (timed, for information), then stop.
        seeder = new_replica("seed", True)
        log(prefix, f"seeding the store ({result['policy_bytes'] / MIB:.1f} MiB policy)")
        result["seed_to_serving_s"] = start(seeder)
        result["seed_rss_mib"] = proc_status(seeder.pid).get("VmRSS")
        seeder.stop()

        # 2. Start on the pre-filled store (no --policy): the measured start.
        r1 = new_replica("replica1", False)
        result["start_to_serving_s"] = start(r1)
        r2 = None
        if pg:
            r2 = new_replica("replica2", False)
            result["replica2_start_to_serving_s"] = start(r2)
        time.sleep(a.settle)
        st = proc_status(r1.pid)
        result["rss_rest_mib"] = st.get("VmRSS")
        result["hwm_rest_mib"] = st.get("VmHWM")
        if r2:
            st = proc_status(r2.pid)
            result["replica2_rss_rest_mib"] = st.get("VmRSS")
            result["replica2_hwm_rest_mib"] = st.get("VmHWM")

        admin = Api(r1.channel, metadata, "logout.v1.LogoutAdmin", 30)
        dec1 = Api(r1.channel, [], POLICY_SERVICE, 30)
        dec2 = Api(r2.channel, [], POLICY_SERVICE, 30) if r2 else None
        width = name_width(a.tenants)

        # Sanity: an entry of the generated policy is allowed on every replica (checks the
        # request shape before anything is timed).
        probe_t = tenant_name(1, width)
        probe = validate_request(dec1, probe_t, "c0", f"https://app0.{probe_t}.example.com/done/0")
        for api in [dec1] + ([dec2] if dec2 else []):
            resp = api.call("ValidateLogout", probe, timeout=10)
            if decision_name(api, resp) != "DECISION_ALLOW":
                raise RuntimeError(f"sanity: a policy entry is not allowed: {api.to_dict(resp)}")

        # 3. Replica 2: CPU of one decision poll, and idle CPU, before any write.
        if r2:
            c0 = cpu_seconds(r2.pid)
            t0 = time.perf_counter()
            for _ in range(a.calibration_polls):
                dec2.call("ValidateLogout", probe, timeout=10)
            result["poll_cpu_us"] = (cpu_seconds(r2.pid) - c0) / a.calibration_polls * 1e6
            result["poll_rtt_us"] = (time.perf_counter() - t0) / a.calibration_polls * 1e6
            log(prefix, f"replica2: {result['poll_cpu_us']:.1f} µs CPU per ValidateLogout poll "
                        f"({a.calibration_polls} polls, {result['poll_rtt_us']:.0f} µs round trip)")
            # Idle: /proc/PID/stat counts 10 ms ticks, too coarse for a few seconds of idling,
            # so schedstat (ns) is what is used; the tick figure is kept in the JSON.
            c0, s0, t0 = cpu_seconds(r2.pid), cpu_seconds_schedstat(r2.pid), time.perf_counter()
            time.sleep(a.idle_window)
            idle_wall = time.perf_counter() - t0
            result["replica2_idle_cpu_ms_per_s_ticks"] = (
                (cpu_seconds(r2.pid) - c0) * 1000 / idle_wall)
            result["replica2_idle_cpu_ms_per_s"] = (
                (cpu_seconds_schedstat(r2.pid) - s0) * 1000 / idle_wall)
            log(prefix, f"replica2 idle: {result['replica2_idle_cpu_ms_per_s']:.3f} ms CPU per s "
                        f"over {idle_wall:.1f} s")

        # 4. The writes: read the client (etag and list), add one URL, UpdateClient; on
        # PostgreSQL poll replica 2 until it allows the new URL. Spaced by write_gap.
        rng = random.Random(a.seed)
        cpu_start = cpu_seconds(r2.pid) if r2 else None
        wall_start = time.perf_counter()
        for i in range(a.writes):
            tenant = tenant_name(rng.randint(1, a.tenants), width)
            client = f"c{rng.randrange(CLIENTS_PER_TENANT)}"
            url = f"https://app{client[1:]}.{tenant}.example.com/added/{i}"
            t = time.perf_counter()
            got = admin.call("GetClient", {"tenant": tenant, "clientId": client},
                             timeout=a.write_timeout)
            read_s = time.perf_counter() - t
            check = validate_request(dec1, tenant, client, url)
            if dec2:  # the new URL must be denied before the write, or the poll proves nothing
                polls_total += 1
                before = dec2.call("ValidateLogout", check, timeout=10)
                if decision_name(dec2, before) != "DECISION_DENY":
                    raise RuntimeError(f"write {i}: {url} not denied before the write: "
                                       f"{dec2.to_dict(before)}")
            update = admin.request("UpdateClient", {
                "tenant": tenant, "clientId": client, "etag": got.etag,
                "client": {"allowedLogoutUrls": list(got.client.allowed_logout_urls) + [url]},
                "updateMask": "allowedLogoutUrls"})
            t = time.perf_counter()
            try:
                resp = admin.call("UpdateClient", update, timeout=a.write_timeout)
            except grpc.RpcError as e:
                raise RuntimeError(f"write {i} ({tenant}/{client}) failed after "
                                   f"{time.perf_counter() - t:.1f} s: {e.code().name}: "
                                   f"{e.details()}") from None
            t_ack = time.perf_counter()
            ack_s = t_ack - t
            sample = {"tenant": tenant, "client": client, "ack_ms": ack_s * 1000,
                      "read_ms": read_s * 1000, "policy_version": resp.policy_version}
            if dec2:
                polls = 0
                while True:
                    polls += 1
                    r = dec2.call("ValidateLogout", check, timeout=10)
                    now = time.perf_counter()
                    if r.decision == 1:  # DECISION_ALLOW
                        break
                    if now - t_ack > a.visible_timeout:
                        raise TimeoutError(f"write {i}: replica 2 still denies {url} "
                                           f"{a.visible_timeout:.0f} s after the ack")
                    # Tight for 2 ms, then 2% of the time waited so far apart (1 to 20 ms):
                    # the error stays ~2% while the polls, which share replica 2's CPU, take
                    # little from its reload.
                    if now - t_ack > 0.002:
                        time.sleep(min(0.02, max(0.001, (now - t_ack) * 0.02)))
                visible_s = now - t_ack
                polls_total += polls
                visibles.append(visible_s)
                sample.update(visible_ms=visible_s * 1000, polls=polls)
            # The writing replica decides with the write as soon as it acknowledged it (checked
            # after replica 2's poll, so that check does not delay the poll).
            if decision_name(dec1, dec1.call("ValidateLogout", check, timeout=10)) != \
                    "DECISION_ALLOW":
                raise RuntimeError(f"write {i}: replica 1 does not allow {url} after the ack")
            acks.append(ack_s)
            reads.append(read_s)
            samples.append(sample)
            if a.writes <= 10 or (i + 1) % 10 == 0 or ack_s > 1 or (visibles and visibles[-1] > 1):
                extra = f", visible on replica 2 after {sample['visible_ms']:.2f} ms" if dec2 else ""
                log(prefix, f"write {i + 1}/{a.writes}: ack {ack_s * 1000:.2f} ms{extra}")
            time.sleep(a.write_gap)
        wall = time.perf_counter() - wall_start
        result["writes"] = len(acks)
        result["write_phase_wall_s"] = wall
        result["ack_ms"] = summary_ms(acks)
        result["ack_ms_after_first"] = summary_ms(acks[1:])  # the first write is often slower
        result["read_ms"] = summary_ms(reads)
        result["samples"] = samples
        if r2:
            result["visible_ms_after_first"] = summary_ms(visibles[1:])
            cpu = cpu_seconds(r2.pid) - cpu_start
            n = max(1, len(acks))
            result["visible_ms"] = summary_ms(visibles)
            result["replica2_cpu_ms_per_write"] = cpu * 1000 / n
            # Idle CPU over the same wall time as the writes, per write (to subtract).
            result["replica2_idle_cpu_ms_per_write"] = (
                result["replica2_idle_cpu_ms_per_s"] * wall / n)
            result["replica2_polls"] = polls_total
            result["replica2_poll_cpu_ms_per_write"] = (
                result["poll_cpu_us"] * polls_total / n / 1000)

        # 5. RSS after the writes.
        time.sleep(a.settle)
        st = proc_status(r1.pid)
        result["rss_after_writes_mib"] = st.get("VmRSS")
        result["hwm_after_writes_mib"] = st.get("VmHWM")
        if r2:
            st = proc_status(r2.pid)
            result["replica2_rss_after_writes_mib"] = st.get("VmRSS")
            result["replica2_hwm_after_writes_mib"] = st.get("VmHWM")
    except (RuntimeError, TimeoutError, grpc.RpcError, OSError, LookupError) as e:
        msg = (f"{e.code().name}: {e.details()}" if isinstance(e, grpc.RpcError) else str(e))
        result["error"] = msg
        log(prefix, f"FAILED: {msg}")
    except (KeyboardInterrupt, SystemExit):
        result["error"] = "interrupted (SIGINT/SIGTERM, e.g. CELL_TIMEOUT) during the cell"
        log(prefix, result["error"])
        raise
    finally:
        for r in replicas:
            r.stop()
        if "writes" not in result and acks:  # a failed cell: what was measured before
            result.update(writes=len(acks), ack_ms=summary_ms(acks), read_ms=summary_ms(reads),
                          visible_ms=summary_ms(visibles), samples=samples)
        with open(a.json_out, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["error"] is None else 1


# --- Report ------------------------------------------------------------------------------------

def fmt_s(v):
    return "—" if v is None else f"{v:.2f} s"


def fmt_mib(v):
    return "—" if v is None else f"{v:.0f} MiB"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"


def row(c):
    pg = c["store"] == "postgresql"
    ack, vis = c.get("ack_ms") or {}, c.get("visible_ms") or {}

    def both(key, fmt):  # PostgreSQL cells show replica 1 / replica 2
        v = fmt(c.get(key))
        return f"{v} / {fmt(c.get('replica2_' + key))}" if pg else v

    cpu = "n/a"
    if pg and c.get("replica2_cpu_ms_per_write") is not None:
        cpu = (f"{c['replica2_cpu_ms_per_write']:.2f} ms (idle "
               f"{c['replica2_idle_cpu_ms_per_write']:.2f}, polls "
               f"{c['replica2_poll_cpu_ms_per_write']:.2f})")
    cells = [f"{c['tenants']:,}", f"{c['entries']:,}", c["store"],
             both("start_to_serving_s", fmt_s), both("rss_rest_mib", fmt_mib),
             both("rss_after_writes_mib", fmt_mib), fmt_ms(ack.get("p50")), fmt_ms(ack.get("p99")),
             fmt_ms(vis.get("p50")) if pg else "n/a", fmt_ms(vis.get("p99")) if pg else "n/a", cpu]
    if c.get("error"):
        cells[2] += " (FAILED, see below)"
    return "| " + " | ".join(cells) + " |"


NOTES = """\
PostgreSQL cells show replica 1 (it takes the writes) / replica 2. start→SERVING: a start on the
pre-filled store (the seeding start is seed_to_serving_s in the JSON). ack: the UpdateClient RPC
(the etag and list are read with GetClient before it, not timed in ack). With 50 samples p99 is
the largest, often the first write (*_after_first in the JSON leave it out). replica CPU/write:
replica 2's utime+stime over the write phase / writes; 'idle': its idle CPU over the same wall
time, per write; 'polls': the estimated CPU of the ValidateLogout polls that timed visibility.
Subtract both for the cost of applying a write on a replica."""

TARGETS = """Targets, for reference (not asserted):
  at 10,000 tenants: ack p50 <= 20 ms (SQLite) / <= 30 ms (PostgreSQL); replica visible p99 <= 50 ms;
  replica CPU <= 10 ms per write; RSS <= 350 MiB; start->SERVING <= 3 s.
  at 50,000 tenants: RSS within 1.5 GiB."""


def report(args):
    cells = []
    for path in args.cells:
        try:
            with open(path) as f:
                cells.append(json.load(f))
        except (OSError, ValueError) as e:
            log("report", f"skipping {path}: {e}")
    header = ("| tenants | entries | store | start→SERVING | RSS rest | RSS after writes | ack p50 "
              "| ack p99 | replica visible p50 | p99 | replica CPU/write |")
    lines = [header, "|" + "---|" * 11] + [row(c) for c in cells]
    print("\n".join(lines))
    for c in cells:
        if c.get("error"):
            done = c.get("writes")
            print(f"\nFAILED: {c['tenants']} tenants, {c['store']}"
                  f"{'' if done is None else f' (after {done} writes)'}: {c['error']}")
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
    g = sub.add_parser("gen-policy")
    g.add_argument("--tenants", type=int, required=True)
    g.add_argument("--out", required=True)
    c = sub.add_parser("cell")
    c.add_argument("--store", choices=["sqlite", "postgresql"], required=True)
    c.add_argument("--store_url", required=True, help="the --store value for logoutd")
    c.add_argument("--tenants", type=int, required=True)
    c.add_argument("--policy", required=True)
    c.add_argument("--logoutd", required=True)
    c.add_argument("--pin", default="", help="command prefix for logoutd, e.g. 'taskset -c 0'")
    c.add_argument("--token_file", required=True)
    c.add_argument("--run_dir", required=True)
    c.add_argument("--pid_file", required=True)
    c.add_argument("--json_out", required=True)
    c.add_argument("--writes", type=int, default=50)
    c.add_argument("--write_gap", type=float, default=0.1)
    c.add_argument("--start_timeout", type=float, default=1800)
    c.add_argument("--write_timeout", type=float, default=600)
    c.add_argument("--visible_timeout", type=float, default=600)
    c.add_argument("--idle_window", type=float, default=6)
    c.add_argument("--calibration_polls", type=int, default=2000)
    c.add_argument("--settle", type=float, default=1.0)
    c.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("report")
    r.add_argument("--out", required=True)
    r.add_argument("cells", nargs="*")
    a = p.parse_args()
    if a.cmd == "gen-policy":
        return gen_policy(a)
    if a.cmd == "cell":
        a.pin = a.pin.split() if a.pin else []
        # Children die with the driver even if it is killed outright.
        if shutil.which("setpriv"):
            a.pin = ["setpriv", "--pdeathsig", "TERM"] + a.pin
        # SIGTERM (e.g. from `timeout`) unwinds through the finally that stops the replicas.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return run_cell(a)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())

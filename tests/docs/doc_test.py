#!/usr/bin/python3
"""Doc-test: runs every command example in README.md and docs/*.md against a real logoutd and
compares what it prints with what the page shows.

Conventions (also stated in docs/README.md for writers):

* A ```console block holds commands and their output. A command line starts with `$ `; a line
  ending in ` \\` continues on the next line. The lines after a command, up to the next `$ `,
  are its expected output (stdout and stderr together, as a terminal shows them). A line that is
  just `…` matches any number of lines (none included); `…` inside a line matches any text.
* A command that exits non-zero fails the test; a page that shows a failing command writes
  `|| echo "exit $?"` and shows that line.
* Every other shell block (```sh, ```bash, ```shell, or a ```console that cannot run here) must
  be preceded by a line `<!-- not run: REASON -->`; the reasons are printed. A shell block
  without either fails the test.
* Each page runs in order, in a fresh working directory that links the repository's top-level
  entries, against a fresh logoutd started the way `scripts/run.sh` starts it: SQLite store
  `data/logoutd.db` seeded from deploy/examples/policy.json, admin token in `data/admin-token`,
  metrics on 127.0.0.1:9464, decision and admin API on localhost:50051. The ports are free
  ports chosen by the test: 50051 and 9464 in commands and expected output are rewritten to
  them. `logoutd`, `logoutctl` and `grpcurl` (tests/docs/grpcurl.py, a reflection-based
  stand-in: grpcurl cannot be installed here) are on PATH.
* A block preceded by `<!-- needs: TOOL, ... -->` runs only where those programs are installed
  (kubectl is not a Debian package); otherwise it is listed as not run, with the reason.
* Relative links in the pages must point at files that exist.

  doc_test.py --repo DIR --logoutd PATH --logoutctl PATH [PAGE.md ...]
"""

import argparse
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ELLIPSIS = "\u2026"
# Ports the pages may use: 50051 and 9464 are the page's logoutd (decisions/admin, metrics); the
# others are for servers a page starts itself (each gets a free port of its own).
DOC_PORTS = ("50051", "50052", "50053", "50061", "9464", "8080", "9001", "9002")
SHELL_LANGS = {"sh", "bash", "shell", "console", "shell-session"}
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->\s*$")
NEEDS = re.compile(r"^<!--\s*needs:\s*(.+?)\s*-->\s*$")


class Block:
    def __init__(self, page, line, lang, text, not_run):
        self.page, self.line, self.lang, self.text, self.not_run = page, line, lang, text, not_run


def parse_blocks(page, text):
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```+\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2).lower()
        start = i
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```+\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        i += 1
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        reason = NOT_RUN.match(lines[prev]) if prev >= 0 else None
        not_run = reason.group(1) if reason else None
        needs = NEEDS.match(lines[prev]) if prev >= 0 else None
        if needs:
            missing = [t.strip() for t in needs.group(1).split(",") if not shutil.which(t.strip())]
            if missing:
                not_run = f"{', '.join(missing)} not installed on this machine"
        blocks.append(Block(page, start + 1, lang, body, not_run))
    return blocks


def parse_console(block):
    """[(command, [expected lines], line number)] of a console block."""
    steps = []
    lines = block.text
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if line.strip():
                raise ValueError(f"{block.page}:{block.line + i + 1}: output before any `$ ` command")
            i += 1
            continue
        number = block.line + i + 1
        command = line[2:]
        while (command.endswith("\\") or unbalanced(command)) and i + 1 < len(lines):
            i += 1
            command = command + "\n" + lines[i]
        i += 1
        first = i
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i].rstrip())
            i += 1
        while expected and not expected[-1]:
            expected.pop()
        # File line indexes (0-based) of the expected output, for --record.
        span = (block.line + first, block.line + first + len(expected))
        steps.append((command, expected, number, span))
    return steps


def unbalanced(command):
    """True while a command's quotes are still open (a JSON argument over several lines)."""
    try:
        shlex.split(command)
        return False
    except ValueError:
        return True


def line_matches(pattern, line):
    """`pattern` is the page's line and the same line with its ports rewritten: output may
    echo the port a command was given (rewritten) or print a documented default (as written)."""
    if isinstance(pattern, tuple):
        return any(line_matches(p, line) for p in pattern)
    if ELLIPSIS not in pattern:
        return pattern == line
    regex = ".*".join(re.escape(p) for p in pattern.split(ELLIPSIS))
    return re.fullmatch(regex, line, re.S) is not None


def output_matches(expected, actual):
    memo = {}

    def match(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i] == ELLIPSIS:
            result = any(match(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and line_matches(expected[i], actual[j]) and match(i + 1, j + 1)
        memo[key] = result
        return result

    return match(0, 0)


PORTS_HANDED_OUT = set()


def free_port():
    """A port free now, for a server to bind a moment later: below the kernel's ephemeral range
    (32768 and up by default), where concurrently running tests get their port-0 and outgoing
    ports, so none of them can take it in between. 26000-31999: this test's own range."""
    while True:
        port = random.randrange(26000, 32000)
        if port in PORTS_HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            PORTS_HANDED_OUT.add(port)
            return port


class Server:
    """A logoutd started the way scripts/run.sh starts it, in its own working directory."""

    def __init__(self, args, workdir):
        self.port, self.metrics_port = free_port(), free_port()
        data = os.path.join(workdir, "data")
        os.makedirs(data)
        with open(os.path.join(data, "admin-token"), "w") as f:
            f.write(os.urandom(24).hex() + "\n")
        os.chmod(os.path.join(data, "admin-token"), 0o600)
        self.log = open(os.path.join(workdir, "logoutd.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.abspath(args.logoutd), f"--listen=127.0.0.1:{self.port}", "--store=sqlite:data/logoutd.db",
             "--policy=deploy/examples/policy.json", "--admin_token_file=data/admin-token",
             f"--metrics_listen=127.0.0.1:{self.metrics_port}", "--drain_delay=0s"],
            cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            if '"msg":"serving"' in self.log.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError(f"logoutd did not start:\n{self.log.read()}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def stop_page_processes(workdir):
    """Stops what a page left running in the background (`logoutd ... &`): every process whose
    working directory is the page's."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{pid}/cwd") == workdir:
                os.kill(int(pid), 15)
        except OSError:
            pass


def make_bin(args, root):
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir)
    os.symlink(os.path.abspath(args.logoutd), os.path.join(bin_dir, "logoutd"))
    # logoutctl's default target is localhost:50051; the page's logoutd listens elsewhere.
    logoutctl = os.path.join(bin_dir, "logoutctl")
    with open(logoutctl, "w") as f:
        f.write(f'#!/bin/sh\nexec "{os.path.abspath(args.logoutctl)}" '
                '--target=127.0.0.1:"$DOC_LOGOUTD_PORT" "$@"\n')
    os.chmod(logoutctl, 0o755)
    grpcurl = os.path.join(bin_dir, "grpcurl")
    with open(grpcurl, "w") as f:
        here = os.path.dirname(os.path.abspath(__file__))
        f.write(f'#!/bin/sh\nexec /usr/bin/python3 "{here}/grpcurl.py" "$@"\n')
    os.chmod(grpcurl, 0o755)
    return bin_dir


def make_workdir(repo, root, name):
    workdir = os.path.join(root, name)
    os.makedirs(workdir)
    for entry in os.listdir(repo):
        if entry in ("data", ".git") or entry.startswith("build"):
            continue
        os.symlink(os.path.join(repo, entry), os.path.join(workdir, entry))
    return workdir


def check_links(page, text, repo):
    problems = []
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        full = os.path.normpath(os.path.join(os.path.dirname(page), path))
        if not os.path.exists(full):
            problems.append(f"{os.path.relpath(page, repo)}: broken link {target}")
    return problems


def run_page(args, page, blocks, root, bin_dir):
    steps = [(b, s) for b in blocks if b.lang == "console" and b.not_run is None
             for s in parse_console(b)]
    if not steps:
        return 0, []
    name = os.path.relpath(page, args.repo).replace("/", "_")
    workdir = make_workdir(args.repo, root, name)
    server = Server(args, workdir)
    failures, records = [], []
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", LC_ALL="C.UTF-8",
               COLUMNS="100", DOC_LOGOUTD_PORT=str(server.port))
    ports = {p: str(free_port()) for p in DOC_PORTS}
    ports.update({"50051": str(server.port), "9464": str(server.metrics_port)})
    pattern = re.compile(r"\b(" + "|".join(ports) + r")\b")
    rewrite = lambda s: pattern.sub(lambda m: ports[m.group(1)], s)
    unrewrite = {v: k for k, v in ports.items()}
    unpattern = re.compile(r"\b(" + "|".join(unrewrite) + r")\b")
    try:
        for block, (command, expected, number, span) in steps:
            where = f"{os.path.relpath(page, args.repo)}:{number}"
            try:
                # Output to a file, not a pipe: a server the page starts in the background
                # (`logoutd ... &`) keeps the descriptor open after bash returns.
                with tempfile.TemporaryFile() as capture:
                    done = subprocess.run(["bash", "-o", "pipefail", "-c", rewrite(command)],
                                          cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                          stdout=capture, stderr=subprocess.STDOUT, timeout=60)
                    capture.seek(0)
                    out, code = capture.read().decode("utf-8", "replace"), done.returncode
            except subprocess.TimeoutExpired:
                out, code = "(timed out after 60 s)", -1
            actual = [l.rstrip() for l in out.split("\n")]
            while actual and not actual[-1]:
                actual.pop()
            want = [(l, rewrite(l)) if l != ELLIPSIS else l for l in expected]
            if code != 0 or not output_matches(want, actual):
                if args.record and code == 0:
                    records.append((span, [unpattern.sub(lambda m: unrewrite[m.group(1)], l)
                                           for l in actual]))
                    print(f"rec  {where}")
                    continue
                failures.append(
                    f"{where}: $ {command}\n  exit {code}\n  expected:\n"
                    + "".join(f"    | {l}\n" for l in expected)
                    + "  got:\n" + "".join(f"    | {l}\n" for l in actual))
            else:
                print(f"ok   {where}: {command.splitlines()[0][:90]}")
    finally:
        stop_page_processes(workdir)
        server.stop()
    if records:
        with open(page, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for (begin, end), new in sorted(records, reverse=True):
            lines[begin:end] = new
        with open(page, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    return len(steps), failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--logoutd", required=True)
    parser.add_argument("--logoutctl", required=True)
    parser.add_argument("--record", action="store_true",
                        help="writers: replace mismatching expected output with what ran "
                             "(review the diff; put … where output varies)")
    parser.add_argument("pages", nargs="*")
    args = parser.parse_args()
    args.repo = os.path.abspath(args.repo)
    pages = args.pages or ([os.path.join(args.repo, "README.md")] + sorted(
        os.path.join(args.repo, "docs", f) for f in os.listdir(os.path.join(args.repo, "docs"))
        if f.endswith(".md")))
    root = tempfile.mkdtemp(prefix="logoutd-doctest-")
    failures, ran, not_run = [], 0, []
    try:
        bin_dir = make_bin(args, root)
        for page in pages:
            page = os.path.abspath(page)
            with open(page, encoding="utf-8") as f:
                text = f.read()
            failures += check_links(page, text, args.repo)
            blocks = parse_blocks(os.path.relpath(page, args.repo), text)
            for b in blocks:
                if b.lang in SHELL_LANGS and b.not_run is not None:
                    not_run.append(f"{b.page}:{b.line}: {b.not_run}")
                elif b.lang in SHELL_LANGS and b.lang != "console":
                    failures.append(f"{b.page}:{b.line}: a ```{b.lang} block is neither a ```console"
                                    " example nor marked <!-- not run: REASON -->")
            try:
                n, f = run_page(args, page, blocks, root, bin_dir)
            except ValueError as e:
                n, f = 0, [str(e)]
            ran += n
            failures += f
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{ran} commands run; {len(not_run)} blocks not run:")
    for n in not_run:
        print(f"  skip {n}")
    if failures:
        print(f"\n{len(failures)} FAILED:")
        for f in failures:
            print(f)
        return 1
    print("all examples print what the docs show")
    return 0


if __name__ == "__main__":
    sys.exit(main())

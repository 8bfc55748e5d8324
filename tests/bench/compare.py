#!/usr/bin/env python3
"""Sluice against HAProxy and nginx, on one machine, in one run (issue 8).

Usage (normally through tests/bench/run.sh, which installs the packages first):

    python3 tests/bench/compare.py [--quick | --smoke] [--rounds N] [--duration S]
        [--warmup S] [--connections N] [--scenarios a,b,...] [--proxies a,b,...]
        [--no-syscalls] [--wait-quiet LOAD] [--wait-max S] [--out-dir DIR] [--doc FILE]
        [--keep] [--idle-connections N] [--idle-waves N] [--idle-hold S]
        [--idle-concurrency N] [--idle-warmup N]

What it runs, all on 127.0.0.1 with ports chosen at run time:

  * an origin: nginx, one worker, serving /small (100 B), /16k (16 KiB) and /1m (1 MiB)
    with keep-alive;
  * the proxies, each with one worker or thread, all forwarding to that origin:
    Sluice (`workers 1`), HAProxy 2.6 (`nbthread 1`, `-db`), nginx (`worker_processes 1`);
  * the load generator: wrk -t1.

The proxy under test runs on CPU 1, wrk and the origin on CPU 0 (`taskset`). For each
scenario every target (the origin directly, as the ceiling, then each proxy) is measured
`--rounds` times, alternating (round r starts with a different target), each time after a
warm-up run; the figures are the medians over the rounds, with the spread of req/s.

Per measured run: wrk's requests/s and latency p50/p99 (--latency); the proxy's CPU time
(utime + stime of its worker processes, from /proc/PID/stat) over the run divided by the
requests wrk completed; the share of one core that this makes (is the proxy the
bottleneck?); the worker's VmRSS after the run. Then, once per scenario and proxy,
`strace -f -c` on the worker during a short run gives syscalls per request.

The TLS scenarios (tls-*) put TLS between wrk and the proxies (a self-signed ECDSA P-256
certificate made with the openssl command at run time); the proxies talk plain HTTP to
the origin. Before measuring, each proxy is checked to resume a session (tls-ka-100B,
tls-resume) or to refuse to (tls-handshake); during each measured run the handshakes and
resumptions Sluice and HAProxy counted are read (before and after, outside the CPU
window) and reported per request.

Four scenarios differ from that pattern (README.md, "Scenarios"): ka-1000c (wrk -c1000,
a global maxconn 20000), tcp-1MiB (mode tcp, 1 MiB responses: MiB/s and CPU per MiB),
workers2 (each proxy with 1 and with 2 workers or threads, the proxy and wrk -t2 both on
CPUs 0 and 1: on a 2-core machine that measures contention, not scaling) and idle-10k (no
wrk: 10,000 idle keep-alive client connections held by compare_idle.py, and the worker's
RSS before and with them).

The harness raises its soft RLIMIT_NOFILE (to 65536, or the hard limit if lower); every
process it starts inherits it.

Output: a markdown report (RESULTS/<date>.md), every run as a JSON line
(RESULTS/<date>.jsonl), and with --doc the latest report between markers in that file.
Every process started here is in its own process group and is stopped at the end, or on
SIGINT/SIGTERM; the script then checks that none is left.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_configs as cfg  # noqa: E402
import compare_idle as idle  # noqa: E402
import compare_load as load  # noqa: E402
import compare_report as report  # noqa: E402
from compare_procs import (Processes, children, cmdline, cpu_busy_jiffies, cpu_model,  # noqa: E402
                           cpu_ticks, free_ports, loadavg, rss_kib, tcp_counter,
                           tcp_out_segments)

SOURCE_DIR = os.environ.get(
    "SLUICE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("SLUICE_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
SLUICE = os.path.join(BIN_DIR, "sluice")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
STRACE = shutil.which("strace")
OPENSSL = shutil.which("openssl")

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROXY_CPU = "1"
LOAD_CPU = "0"
# RLIMIT_NOFILE asked for at start (the harness and every process it starts); main() puts
# what it got in FD_LIMIT (soft, hard).
NOFILE_WANTED = 65536
FD_LIMIT = [None, None]

SCENARIOS = [
    {"name": "ka-100B", "kind": "http", "path": "/small", "close": False,
     "title": "keep-alive, 100 B responses"},
    {"name": "ka-16k", "kind": "http", "path": "/16k", "close": False,
     "title": "keep-alive, 16 KiB responses"},
    {"name": "close", "kind": "http", "path": "/small", "close": True,
     "title": "a new connection per request (`Connection: close`), 100 B"},
    {"name": "routing", "kind": "routing", "path": cfg.ROUTED_PATH, "close": False,
     "direct_path": "/small",
     "title": f"{cfg.ROUTES} ACLs + use_backend, set-header, replace-path, 100 B"},
    {"name": "tcp", "kind": "tcp", "path": "/small", "close": False,
     "title": "mode tcp passthrough, keep-alive HTTP inside, 100 B"},
    # TLS from wrk to the proxy, plain HTTP from the proxy to the origin. "tls": "tickets"
    # leaves each proxy's session resumption on (tickets), "full" turns every kind off.
    {"name": "tls-ka-100B", "kind": "http", "path": "/small", "close": False,
     "tls": "tickets", "title": "TLS, keep-alive, 100 B responses"},
    {"name": "tls-handshake", "kind": "http", "path": "/small", "close": True,
     "tls": "full",
     "title": "TLS, a new connection per request, every handshake full (no tickets, no "
              "session cache; handshakes/s = req/s), 100 B"},
    {"name": "tls-resume", "kind": "http", "path": "/small", "close": True,
     "tls": "tickets",
     "title": "TLS, a new connection per request, session tickets on (wrk offers its last "
              "session; see the resumed share), 100 B"},
    # Optional keys: "connections" (wrk -c, instead of --connections), "maxconn" (global
    # maxconn for Sluice and HAProxy), "upstream_keepalive" (nginx), "throughput" (report
    # MiB/s and CPU per MiB), "workers" (each proxy is run once per value: Sluice
    # `workers N`, HAProxy `nbthread N`, nginx `worker_processes N`), "proxy_cpus" and
    # "load_cpus" (taskset lists instead of PROXY_CPU and LOAD_CPU), "wrk_threads",
    # "strace" (False: no strace run).
    {"name": "ka-1000c", "kind": "http", "path": "/small", "close": False,
     "connections": 1000, "maxconn": 20000, "upstream_keepalive": 1024,
     "title": "keep-alive, 1,000 concurrent connections (wrk -c1000), 100 B responses"},
    {"name": "tcp-1MiB", "kind": "tcp", "path": "/1m", "close": False, "throughput": True,
     "title": "mode tcp passthrough, keep-alive HTTP inside, 1 MiB responses"},
    # The origin stays on LOAD_CPU (it is started once for the run).
    {"name": "workers2", "kind": "http", "path": "/small", "close": False,
     "workers": [1, 2], "proxy_cpus": "0,1", "load_cpus": "0,1", "wrk_threads": 2,
     "strace": False,
     "title": "keep-alive, 100 B: 1 against 2 workers (Sluice `workers`, HAProxy "
              "`nbthread`, nginx `worker_processes`), proxy and wrk -t2 both on CPUs 0-1: "
              "on 2 cores this measures contention, not scaling"},
    # No wrk: compare_idle.py opens the connections (see run_idle).
    {"name": "idle-10k", "kind": "idle", "path": "/small", "close": False, "maxconn": 20000,
     "strace": False,
     "title": "idle keep-alive client connections (one request each, then idle): worker "
              "RSS per connection"},
]
PROXIES = ["sluice", "haproxy", "nginx"]


def machine(sluice):
    model = cpu_model()
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1])

    def version(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            first = (out.stdout + out.stderr).strip().splitlines()[0]
            return first.split(" Copyright")[0].split(" - https://")[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    with open(sluice, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    built = datetime.datetime.fromtimestamp(os.path.getmtime(SLUICE)).isoformat(
        timespec="minutes")
    return {
        "sluice_binary": f"{SLUICE} (sha256 {digest}..., modified {built})",
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem / 1024 / 1024, 1),
        "kernel": platform.release(),
        "sluice": version([sluice, "--version"]),
        "haproxy": version([HAPROXY, "-v"]),
        "nginx": version([NGINX, "-v"]),
        "wrk": version([WRK, "-v"]),
    }


# ---------------------------------------------------------------------------------------
# Ports and readiness.

_TLS_CLIENT = []


def _client_tls_context():
    """One client context for the whole run: a session can only be offered again through
    the context that made it."""
    if not _TLS_CLIENT:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the benchmark's certificate is self-signed
        _TLS_CLIENT.append(ctx)
    return _TLS_CLIENT[0]


def tls_get(port, path, timeout=2.0, session=None):
    """One GET over TLS on a fresh connection, offering `session`: (status, headers, body,
    {"reused", "version", "cipher", "session"})."""
    ctx = _client_tls_context()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="sluice-bench.test", session=session) as s:
            info = {"reused": s.session_reused, "version": s.version(),
                    "cipher": (s.cipher() or ("?",))[0]}
            data = _get(s, path)
            # TLS 1.3 tickets come after the handshake: the session is complete only now.
            info["session"] = s.session
    return _parse_response(data) + (info,)


def _read_to_end(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _get(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
    return _read_to_end(s)


def http_get(port, path, timeout=2.0, tls=False):
    """One GET on a fresh connection: (status, headers dict, body)."""
    if tls:
        return tls_get(port, path, timeout)[:3]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        data = _get(s, path)
    return _parse_response(data)


def _parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def wait_ready(port, path, proc, what, timeout=10.0, tls=False):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before answering")
        try:
            status, _, _ = http_get(port, path, timeout=1.0, tls=tls)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, ValueError, IndexError) as e:
            last = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer 200 on port {port}{path} in {timeout:.0f} s "
                       f"({last})")


def check_answer(port, scenario, what):
    """The proxy returns the expected body (and, for routing, the rewritten request; for
    TLS, resumes a session or refuses to, as the scenario wants)."""
    tls = uses_tls(scenario, what)
    status, headers, body = http_get(port, target_path(scenario, what), tls=tls)
    expected = cfg.body_bytes(scenario["path"])
    problems = []
    if tls:
        problems += check_resumption(port, scenario, what)
    if status != 200:
        problems.append(f"status {status}")
    if len(body) != expected:
        problems.append(f"body {len(body)} bytes, expected {expected}")
    if scenario["kind"] == "routing" and what != "direct":
        want = f"be{cfg.ROUTES - 1}"
        if headers.get("x-seen-backend") != want or headers.get("x-seen-bench") != "routed":
            problems.append(f"origin saw X-Backend={headers.get('x-seen-backend')!r} "
                            f"X-Bench={headers.get('x-seen-bench')!r}, expected {want!r}, "
                            f"'routed'")
    if problems:
        raise RuntimeError(f"{what}, scenario {scenario['name']}: " + "; ".join(problems))


def uses_tls(scenario, target_name):
    """TLS scenarios: wrk speaks TLS to the proxies; the origin (the direct run) is plain."""
    return bool(scenario.get("tls")) and target_name != "direct"


def check_resumption(port, scenario, what):
    """Two connections, the second offering the session the first one got (as wrk does
    after a `Connection: close`): resumed with tickets on, a full handshake in
    tls-handshake. Problems found, as text."""
    first = tls_get(port, scenario["path"])
    second = tls_get(port, scenario["path"], session=first[3]["session"])
    want = scenario["tls"] != "full"
    problems = []
    for status, _, body, _ in (first, second):
        if status != 200 or len(body) != cfg.SMALL_BYTES:
            problems.append(f"TLS GET: status {status}, body {len(body)} bytes")
    if second[3]["reused"] != want:
        problems.append(f"a second TLS connection offering the first one's session was "
                        f"{'resumed' if second[3]['reused'] else 'a full handshake'}; "
                        f"{'resumption' if want else 'a full handshake'} expected")
    return problems


def handshake_parameters(port):
    """What a default OpenSSL client negotiates (wrk is one): `openssl s_client -brief`'s
    protocol, cipher suite, signature type and key exchange group."""
    try:
        out = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
                              "-servername", "sluice-bench.test"],
                             capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        return f"s_client failed: {e}"
    found = {}
    for line in (out.stdout + out.stderr).splitlines():
        key, _, value = line.partition(":")
        if key in ("Protocol version", "Ciphersuite", "Signature type", "Server Temp Key"):
            found[key] = value.strip()
    if not found:
        return f"s_client: no handshake ({(out.stdout + out.stderr).strip()[:200]})"
    return ", ".join(found.get(k, "?") for k in (
        "Protocol version", "Ciphersuite", "Signature type", "Server Temp Key"))


def target_path(scenario, target_name):
    """The routing scenario's path exists on the origin only once a proxy rewrote it: the
    ceiling run asks the origin for the rewritten path."""
    if target_name == "direct":
        return scenario.get("direct_path", scenario["path"])
    return scenario["path"]


def proxy_cpus(scenario):
    return scenario.get("proxy_cpus", PROXY_CPU)


def load_cpus(scenario):
    return scenario.get("load_cpus", LOAD_CPU)


def connections(scenario, args):
    return scenario.get("connections", args.connections)


def run_wrk(target, scenario, conns, seconds):
    return load.run_wrk(WRK, load_cpus(scenario), target.port,
                        target_path(scenario, target.name), conns, seconds,
                        close=scenario["close"],
                        scheme="https" if uses_tls(scenario, target.name) else "http",
                        threads=scenario.get("wrk_threads", 1))


# ---------------------------------------------------------------------------------------
# The targets.

class Target:
    """One thing wrk can be pointed at: the origin itself, or a proxy in front of it."""

    def __init__(self, name, port, proc=None, find_workers=None, tls_counts=None):
        self.name = name
        self.port = port
        self.proc = proc
        self.find_workers = find_workers
        # TLS scenarios, Sluice and HAProxy: () -> (handshakes, of which resumed) so far.
        self.tls_counts = tls_counts

    def workers(self):
        if self.find_workers is None:
            return []
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited during the run (status "
                               f"{self.proc.returncode}); its log is in the run folder")
        pids = self.find_workers()
        if not pids:
            raise RuntimeError(f"{self.name}: no worker process (did one exit or restart?); "
                               f"its log is in the run folder")
        return pids


def start_origin(procs, work, port):
    prefix = os.path.join(work, "origin")
    os.makedirs(prefix, exist_ok=True)
    www = os.path.join(work, "www")
    cfg.origin_files(www)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(cfg.origin_nginx(prefix, port, www))
    proc = procs.start("origin nginx", [NGINX, "-p", prefix, "-c", conf, "-e",
                                        os.path.join(prefix, "error.log")],
                       os.path.join(prefix, "stdout.log"), LOAD_CPU)
    wait_ready(port, "/small", proc, "the origin (nginx)")
    return Target("direct", port, proc)


def sluice_tls_counts(metrics_port):
    """Sluice's handshakes and resumptions of frontend fe, from its exporter."""
    with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as s:
        data = _get(s, "/metrics")
    values = {}
    for line in data.decode(errors="replace").splitlines():
        for key in ("tls_handshakes_total", "tls_resumptions_total"):
            if line.startswith(f'sluice_frontend_{key}{{proxy="fe"}} '):
                values[key] = int(float(line.split()[-1]))
    if len(values) != 2:
        raise RuntimeError(f"sluice: no TLS counters for frontend fe on its exporter "
                           f"(port {metrics_port})")
    return values["tls_handshakes_total"], values["tls_resumptions_total"]


def haproxy_tls_counts(path):
    """HAProxy's handshakes and resumptions of frontend fe, from `show stat` on its stats
    socket: ssl_sess counts the new sessions (full handshakes), ssl_reused_sess the
    resumed ones."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        data = _get_unix(s, b"show stat\n")
    lines = data.decode(errors="replace").splitlines()
    names = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        row = dict(zip(names, line.split(",")))
        if row.get("pxname") == "fe" and row.get("svname") == "FRONTEND":
            full, reused = int(row["ssl_sess"] or 0), int(row["ssl_reused_sess"] or 0)
            return full + reused, reused
    raise RuntimeError(f"haproxy: no frontend fe in `show stat` on {path}")


def _get_unix(s, command):
    s.sendall(command)
    return _read_to_end(s)


def start_proxy(procs, work, name, scenario, port, origin_port, sluice, certificate=None,
                workers=1, folder=None):
    """Starts proxy `name` for `scenario` with `workers` workers (threads for HAProxy);
    the target is called `name`, or `name-wN` (report.variant) with N > 1 workers."""
    target_name = report.variant(name, workers)
    folder = folder or os.path.join(work, f"{scenario['name']}-{target_name}")
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "output.log")
    cpus = proxy_cpus(scenario)
    tls = None
    if scenario.get("tls"):
        tls = dict(certificate, mode=scenario["tls"],
                   socket=os.path.join(folder, "haproxy.sock"),
                   metrics_port=free_ports(1)[0])
    shared = cfg.haproxy_lang(scenario, port, origin_port, tls, workers=workers,
                              fd_limit=FD_LIMIT[1])
    counts = None
    if name == "sluice":
        conf = os.path.join(folder, "sluice.cfg")
        with open(conf, "w") as f:
            f.write(cfg.for_sluice(shared))
        proc = procs.start(target_name, [sluice, "-f", conf], log, cpus)
        if tls:
            def counts():
                return sluice_tls_counts(tls["metrics_port"])

        def find():
            return [p for p in children(proc.pid) if cmdline(p).startswith("sluice: worker")]
    elif name == "haproxy":
        conf = os.path.join(folder, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write(cfg.for_haproxy(shared))
        proc = procs.start(target_name, [HAPROXY, "-db", "-f", conf], log, cpus)
        if tls:
            def counts():
                return haproxy_tls_counts(tls["socket"])

        def find():
            return [proc.pid]
    else:
        conf = os.path.join(folder, "nginx.conf")
        with open(conf, "w") as f:
            f.write(cfg.nginx_proxy(scenario, folder, port, origin_port, tls, workers))
        proc = procs.start(target_name, [NGINX, "-p", folder, "-c", conf, "-e",
                                         os.path.join(folder, "error.log")], log, cpus)

        def find():
            return [p for p in children(proc.pid)
                    if cmdline(p).startswith("nginx: worker process")]
    wait_ready(port, "/small", proc, target_name, timeout=15.0, tls=bool(tls))
    target = Target(target_name, port, proc, find, counts)
    deadline = time.monotonic() + 5
    # Sluice and nginx fork their workers: wait for all of them.
    want = 1 if name == "haproxy" else workers
    while len(target.find_workers()) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    target.workers()
    return target


# ---------------------------------------------------------------------------------------
# Measuring.

def measure(target, scenario, args):
    """One warm-up run, then one measured run of `target` in `scenario`."""
    conns = connections(scenario, args)
    if args.warmup > 0:
        run_wrk(target, scenario, conns, args.warmup)
    pids = target.workers()
    tls0 = target.tls_counts() if target.tls_counts else None
    busy0 = cpu_busy_jiffies(PROXY_CPU)
    load0 = cpu_busy_jiffies(LOAD_CPU)
    ticks0 = cpu_ticks(pids) if pids else (0, 0)
    segments0 = tcp_out_segments()
    opens0 = tcp_counter("ActiveOpens")
    began = time.monotonic()
    result, raw = run_wrk(target, scenario, conns, args.duration)
    wall = time.monotonic() - began
    segments1 = tcp_out_segments()
    opens1 = tcp_counter("ActiveOpens")
    ticks1 = cpu_ticks(pids) if pids else (0, 0)
    busy1 = cpu_busy_jiffies(PROXY_CPU)
    load1 = cpu_busy_jiffies(LOAD_CPU)
    result.update({"scenario": scenario["name"], "target": target.name, "wall_s": wall,
                   "connections": conns, "load_cpus": load_cpus(scenario),
                   "proxy_cpus": proxy_cpus(scenario),
                   "tcp_segments": (segments1 - segments0) / max(result["requests"], 1),
                   "tcp_connects": (opens1 - opens0) / max(result["requests"], 1)})
    if scenario.get("throughput"):
        result["body_bytes"] = cfg.body_bytes(scenario["path"])
    if tls0 is not None:
        # Read after the CPU window: HAProxy answers its stats socket on its one thread.
        tls1 = target.tls_counts()
        handshakes, resumed = tls1[0] - tls0[0], tls1[1] - tls0[1]
        result.update({"tls_handshakes": handshakes, "tls_resumed": resumed,
                       "tls_handshakes_per_request": handshakes / max(result["requests"], 1),
                       "tls_resumed_pct": resumed / handshakes * 100 if handshakes else None})
    if pids:
        user = (ticks1[0] - ticks0[0]) / CLK_TCK
        system = (ticks1[1] - ticks0[1]) / CLK_TCK
        requests = max(result["requests"], 1)
        result.update({
            "cpu_user_us": user / requests * 1e6,
            "cpu_sys_us": system / requests * 1e6,
            "cpu_us": (user + system) / requests * 1e6,
            "proxy_core_pct": (user + system) / wall * 100,
            "rss_kib": rss_kib(pids),
            "hwm_kib": rss_kib(pids, "VmHWM"),
            "workers": len(pids),
        })
    total = busy1[1] - busy0[1]
    result["cpu1_busy_pct"] = (busy1[0] - busy0[0]) / total * 100 if total else None
    total = load1[1] - load0[1]
    result["cpu0_busy_pct"] = (load1[0] - load0[0]) / total * 100 if total else None
    return result, raw


def strace_counts(target, scenario, args, folder):
    """Syscalls of the worker(s) while wrk runs `args.strace_seconds`: (total, per-name)."""
    pids = target.workers()
    out = os.path.join(folder, f"strace-{scenario['name']}-{target.name}.txt")
    err = os.path.join(folder, f"strace-{scenario['name']}-{target.name}.err")
    argv = [STRACE, "-f", "-c", "-o", out]
    for pid in pids:
        argv += ["-p", str(pid)]
    with open(err, "wb") as errf:
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(err, errors="replace") as f:
                if f.read().count("attached") >= len(pids):
                    break
            if tracer.poll() is not None:
                raise RuntimeError(f"strace exited: {open(err).read().strip()}")
            time.sleep(0.05)
        result, _ = run_wrk(target, scenario, connections(scenario, args),
                            args.strace_seconds)
    finally:
        if tracer.poll() is None:
            tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(tracer.pid, signal.SIGKILL)
            tracer.wait()
    calls, failed, total = load.parse_strace_summary(out)
    requests = max(result["requests"], 1)
    top = sorted(calls, key=lambda n: -calls[n])[:8]
    return {"scenario": scenario["name"], "target": target.name,
            "requests": result["requests"], "syscalls": total,
            "per_request": total / requests,
            "top": [(n, calls[n] / requests, failed.get(n, 0) / requests) for n in top]}


def wait_quiet(limit, max_seconds):
    """Waits until the 1-minute load average is below `limit`, at most `max_seconds`."""
    began = time.monotonic()
    while True:
        load = float(loadavg().split()[0])
        waited = time.monotonic() - began
        if load < limit:
            print(f"load average {loadavg()}: quiet enough (< {limit})", flush=True)
            return True, waited
        if waited >= max_seconds:
            print(f"load average {loadavg()}: still >= {limit} after {waited:.0f} s; "
                  f"measuring anyway", flush=True)
            return False, waited
        print(f"load average {loadavg()} (want < {limit}), waited {waited:.0f} s",
              flush=True)
        time.sleep(15)


def run(args, procs, work):
    # The proxies are restarted for each scenario: a copy keeps one binary for the whole
    # run even if build/bin/sluice is rebuilt meanwhile (the master execs /proc/self/exe).
    sluice = os.path.join(work, "sluice")
    shutil.copy2(SLUICE, sluice)
    info = {"machine": machine(sluice), "argv": args.command_line}
    if args.wait_quiet:
        quiet, waited = wait_quiet(args.wait_quiet, args.wait_max)
        info["quiet_wait"] = {"limit": args.wait_quiet, "quiet": quiet, "waited_s": waited}
    info["loadavg_before"] = loadavg()
    info["started"] = datetime.datetime.now().isoformat(timespec="seconds")
    info["settings"] = {k: getattr(args, k) for k in (
        "rounds", "duration", "warmup", "connections", "strace_seconds", "idle_connections",
        "idle_waves", "idle_hold", "idle_concurrency", "idle_warmup")}
    info["nofile"] = {"soft": FD_LIMIT[0], "hard": FD_LIMIT[1]}
    info["skipped"] = args.skipped
    print(f"machine: {info['machine']['nproc']} CPUs, {info['machine']['cpu_model']}; "
          f"load average {info['loadavg_before']}", flush=True)

    certificate = None
    if any(s.get("tls") for s in args.scenarios):
        certificate = cfg.make_certificate(os.path.join(work, "tls"), OPENSSL)
        info["tls"] = {}
    # One port per proxy and worker count (workers2 runs each proxy twice at once).
    variants = max(len(s.get("workers", [1])) for s in args.scenarios)
    origin_port, *free = free_ports(1 + variants * len(args.proxies))
    ports = {(name, i): free.pop() for name in args.proxies for i in range(variants)}
    origin = start_origin(procs, work, origin_port)
    runs, syscalls, configs = [], [], {}
    for scenario in args.scenarios:
        if scenario["kind"] == "idle":
            print(f"\n== {scenario['name']}: {scenario['title']}", flush=True)
            runs += run_idle(args, procs, work, scenario, origin_port,
                             {n: ports[(n, 0)] for n in args.proxies}, sluice)
            configs["idle"] = read_configs(work, scenario, [
                Target(report.variant(n, 1), ports[(n, 0)]) for n in args.proxies],
                origin_port)
            continue
        targets = [origin]
        started = []
        for name in args.proxies:
            for i, workers in enumerate(scenario.get("workers", [1])):
                target = start_proxy(procs, work, name, scenario, ports[(name, i)],
                                     origin_port, sluice, certificate, workers=workers)
                targets.append(target)
                started.append(target)
        for target in targets:
            check_answer(target.port, scenario, target.name)
        if scenario.get("tls"):
            negotiated = {t.name: handshake_parameters(t.port) for t in started}
            info["tls"][scenario["name"]] = negotiated
            for name, text in negotiated.items():
                print(f"  {scenario['name']} {name}: {text}", flush=True)
        if scenario["kind"] in ("routing", "tcp") or scenario["name"] == "ka-100B":
            configs[scenario["kind"]] = read_configs(work, scenario, started, origin_port)
        if scenario["name"] == "tls-handshake":
            configs["tls"] = read_configs(work, scenario, started, origin_port)
        print(f"\n== {scenario['name']}: {scenario['title']}", flush=True)
        for r in range(args.rounds):
            order = targets[r % len(targets):] + targets[:r % len(targets)]
            for target in order:
                result, raw = measure(target, scenario, args)
                result["round"] = r + 1
                runs.append(result)
                with open(os.path.join(work, "wrk.log"), "a") as f:
                    f.write(f"--- {scenario['name']} {target.name} round {r + 1}\n{raw}\n")
                print("  " + report.run_line(result), flush=True)
        if args.strace_seconds > 0 and STRACE and scenario.get("strace", True):
            for target in started:
                counted = strace_counts(target, scenario, args, work)
                syscalls.append(counted)
                print(f"  strace {target.name}: {counted['per_request']:.2f} syscalls/request",
                      flush=True)
        for target in started:
            procs.stop(target.proc)
    info["loadavg_after"] = loadavg()
    info["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    return info, runs, syscalls, configs


def _pin_self(cpus):
    """Pins this process's main thread to `cpus` ("0" or "0,1"); returns the old set."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    return old


def run_idle(args, procs, work, scenario, origin_port, ports, sluice):
    """idle-10k: for each round and proxy (in turn, a fresh start each time, one proxy
    running at a time), measure_idle; returns its results."""
    results = []
    proxies = list(args.proxies)
    for r in range(args.rounds):
        order = proxies[r % len(proxies):] + proxies[:r % len(proxies)]
        for name in order:
            target = start_proxy(procs, work, name, scenario, ports[name], origin_port, sluice)
            try:
                check_answer(target.port, scenario, target.name)
                result = measure_idle(target, scenario, args, origin_port)
            finally:
                procs.stop(target.proc)
            result["round"] = r + 1
            results.append(result)
            print("  " + report.idle_line(result), flush=True)
    return results


def measure_idle(target, scenario, args, origin_port):
    """Warm-up (a few connections, one request each, closed), the worker's RSS; then
    `args.idle_waves` times: open `args.idle_connections` connections (one keep-alive
    request each, then idle), check that they are all still open and established on the
    proxy's port, the worker's RSS and descriptors, again after `args.idle_hold` s, then
    close them all and read the RSS once more."""
    path = scenario["path"]
    body = cfg.body_bytes(path)
    port = target.port
    pids = target.workers()
    settle = 0.5 if args.smoke else 2.0

    def client():
        return idle.IdleClient(port, path, body, concurrency=args.idle_concurrency)

    warm = client()
    warm.open(args.idle_warmup)
    warm_failures = dict(warm.failures)
    warm.close()
    time.sleep(settle)
    result = {"scenario": scenario["name"], "target": target.name, "kind": "idle",
              "wanted": args.idle_connections, "warmup": args.idle_warmup,
              "warmup_failures": warm_failures, "workers": len(pids),
              "rss_before_kib": rss_kib(pids), "fds_before": idle.open_fds(pids),
              "established_before": idle.tcp_established(local_port=port), "waves": []}
    for w in range(args.idle_waves):
        c = client()
        old = _pin_self(LOAD_CPU)
        try:
            seconds = c.open(args.idle_connections)
        finally:
            os.sched_setaffinity(0, old)
        try:
            time.sleep(settle)
            wave = {"wave": w + 1, "open_s": seconds, "opened": len(c.sockets),
                    "failures": dict(c.failures), "non200": c.non200}
            is_open, closed, data = c.still_open()
            wave.update({
                "established": idle.tcp_established(local_port=port),
                "client_open": is_open, "client_closed": closed, "client_data": data,
                "upstream": idle.tcp_established(remote_port=origin_port),
                "rss_kib": rss_kib(pids), "fds": idle.open_fds(pids)})
            held = wave["client_open"]
            wave["kib_per_conn"] = ((wave["rss_kib"] - result["rss_before_kib"]) / held
                                    if held else None)
            if args.idle_hold > 0:
                time.sleep(args.idle_hold)
                is_open, closed, data = c.still_open()
                wave.update({
                    "established_hold": idle.tcp_established(local_port=port),
                    "client_open_hold": is_open, "client_closed_hold": closed,
                    "rss_hold_kib": rss_kib(pids)})
        finally:
            c.close()
        time.sleep(settle)
        wave["rss_closed_kib"] = rss_kib(pids)
        wave["established_closed"] = idle.tcp_established(local_port=port)
        result["waves"].append(wave)
    # A worker that exited or was replaced would make the RSS figures meaningless.
    now = target.workers()
    result["workers_replaced"] = sorted(now) != sorted(pids)
    first = result["waves"][0]
    result.update({
        "requests": first["opened"],
        "errors": sum(sum(w["failures"].values()) for w in result["waves"]),
        "non2xx": sum(w["non200"] for w in result["waves"]),
        "kib_per_conn": first["kib_per_conn"]})
    return result


def read_configs(work, scenario, targets, origin_port):
    """{proxy: its configuration file}, with the run's folder and ports made generic."""
    found = {}
    for target in targets:
        folder = os.path.join(work, f"{scenario['name']}-{target.name}")
        for file in ("sluice.cfg", "haproxy.cfg", "nginx.conf"):
            path = os.path.join(folder, file)
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read().replace(work, "RUN_DIR").replace(
                        f"127.0.0.1:{origin_port}", "127.0.0.1:ORIGIN_PORT").replace(
                        f"127.0.0.1:{target.port}", "127.0.0.1:PORT")
                found[target.name] = re.sub(r"(frontend metrics\n    bind 127\.0\.0\.1:)\d+",
                                            r"\1METRICS_PORT", text)
    return found


# ---------------------------------------------------------------------------------------

def fds_needed(scenario, args):
    """About the descriptors one process (the harness, wrk or a proxy) needs for
    `scenario`."""
    if scenario["kind"] == "idle":
        return args.idle_connections + args.idle_concurrency + 500
    return 2 * connections(scenario, args) + 200  # a proxy: client and server sides


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="1 round of 2 s runs (1 s warm-up, 1 s strace): to try the harness")
    p.add_argument("--smoke", action="store_true",
                   help="a few seconds: 1 round of 1 s runs, no warm-up, no strace, no "
                        "report file; checks the harness works and every proxy answers")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run")
    p.add_argument("--strace-seconds", type=int, default=3,
                   help="seconds of traced load per scenario and proxy (0: no strace)")
    p.add_argument("--no-syscalls", action="store_true", help="same as --strace-seconds 0")
    p.add_argument("--connections", type=int, default=50,
                   help="wrk -c (ka-1000c always uses 1000)")
    p.add_argument("--idle-connections", type=int, default=10000,
                   help="idle-10k: connections held open (--smoke: 1000)")
    p.add_argument("--idle-waves", type=int, default=2,
                   help="idle-10k: times the connections are opened and closed on one proxy "
                        "start, to see whether RSS grows from one to the next (--smoke: 1)")
    p.add_argument("--idle-hold", type=float, default=5.0,
                   help="idle-10k: seconds the connections stay idle before they are "
                        "checked and measured again (--quick: 2, --smoke: 0)")
    p.add_argument("--idle-concurrency", type=int, default=64,
                   help="idle-10k: connections connecting or waiting for their response at "
                        "once (bounds the proxies' upstream connections)")
    p.add_argument("--idle-warmup", type=int, default=100,
                   help="idle-10k: connections opened and closed before the RSS baseline")
    p.add_argument("--scenarios", default=",".join(s["name"] for s in SCENARIOS),
                   help="comma-separated, from: " + ", ".join(s["name"] for s in SCENARIOS))
    p.add_argument("--proxies", default=",".join(PROXIES))
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="LOAD",
                   help="first wait until the 1-minute load average is below LOAD")
    p.add_argument("--wait-max", type=float, default=600.0, metavar="S",
                   help="longest wait for --wait-quiet; then measure anyway and say so")
    p.add_argument("--out-dir", default=os.path.join(SOURCE_DIR, "tests", "bench", "results"))
    p.add_argument("--doc", default=None, metavar="FILE",
                   help="also put the report between the bench markers of FILE "
                        "(docs/benchmarks.md)")
    p.add_argument("--keep", action="store_true", help="keep the run's folder (configs, logs)")
    args = p.parse_args(argv)
    args.command_line = "tests/bench/run.sh " + " ".join(argv) if argv else "tests/bench/run.sh"
    if args.quick:
        args.rounds, args.duration, args.warmup, args.strace_seconds = 1, 2, 1, 1
        args.idle_hold = 2.0
    if args.smoke:
        args.rounds, args.duration, args.warmup, args.strace_seconds = 1, 1, 0, 0
        args.idle_connections, args.idle_waves, args.idle_hold = 1000, 1, 0.0
    if args.no_syscalls:
        args.strace_seconds = 0
    names = {s["name"]: s for s in SCENARIOS}
    wanted = [n for n in args.scenarios.split(",") if n]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        p.error(f"unknown scenario {', '.join(unknown)}; known: {', '.join(names)}")
    args.scenarios = [names[n] for n in wanted]
    args.scenarios_named = "--scenarios" in " ".join(argv)
    args.skipped = []
    args.proxies = [n for n in args.proxies.split(",") if n]
    if [n for n in args.proxies if n not in PROXIES]:
        p.error(f"--proxies takes some of {', '.join(PROXIES)}")
    return args


def main(argv):
    args = parse_args(argv)
    for tool in (SLUICE, HAPROXY, NGINX, WRK, shutil.which("taskset")):
        if not tool or not os.access(tool, os.X_OK):
            print(f"compare.py: missing {tool or 'taskset'} (tests/bench/run.sh installs the "
                  f"packages; build sluice first)", file=sys.stderr)
            return 1
    if any(s.get("tls") for s in args.scenarios) and not OPENSSL:
        print("compare.py: the TLS scenarios need the openssl command (tests/bench/run.sh "
              "installs it)", file=sys.stderr)
        return 1
    if os.cpu_count() < 2:
        print("compare.py: needs 2 CPUs (proxy on CPU 1, load on CPU 0)", file=sys.stderr)
        return 1
    # Every process started from here inherits the limit: wrk -c1000, and for idle-10k
    # this process (the client) and the proxy each hold one descriptor per connection.
    FD_LIMIT[:] = idle.raise_nofile(NOFILE_WANTED)
    short = [(s, fds_needed(s, args)) for s in args.scenarios
             if fds_needed(s, args) > FD_LIMIT[0]]
    for scenario, need in short:
        text = (f"RLIMIT_NOFILE is {FD_LIMIT[0]} (hard {FD_LIMIT[1]}), scenario "
                f"{scenario['name']} needs about {need}: raise the hard limit (ulimit -Hn, as "
                f"root) or ask for fewer connections")
        if args.scenarios_named:
            print(f"compare.py: {text}", file=sys.stderr)
            return 1
        # Not asked for by name: the rest of the default list still runs.
        print(f"compare.py: skipping {scenario['name']}: {text}", file=sys.stderr)
        args.scenarios.remove(scenario)
        args.skipped.append(f"{scenario['name']} ({text})")

    procs = Processes()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(work, 0o755)  # nginx workers run as nobody and read the origin's files
    status = 0
    try:
        info, runs, syscalls, configs = run(args, procs, work)
        text = report.markdown(info, runs, syscalls, configs, args)
        print("\n" + report.summary(info, runs, syscalls, args))
        if not args.smoke:
            os.makedirs(args.out_dir, exist_ok=True)
            stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
            md = os.path.join(args.out_dir, f"{stamp}.md")
            with open(md, "w") as f:
                f.write(text)
            with open(os.path.join(args.out_dir, f"{stamp}.jsonl"), "w") as f:
                f.write(json.dumps({"info": info}) + "\n")
                for line in runs + syscalls:
                    f.write(json.dumps(line) + "\n")
            print(f"\nreport: {md}")
            if args.doc:
                page = report.markdown(info, runs, syscalls, configs, args, full=False)
                page = page.replace("results file of this run, under `tests/bench/results/`",
                                    f"results file of this run, `tests/bench/results/"
                                    f"{stamp}.md`")
                report.update_doc(args.doc, page)
                print(f"updated: {args.doc}")
        failures = [r for r in runs if r["requests"] == 0]
        if failures:
            print(f"compare.py: {len(failures)} runs completed no request", file=sys.stderr)
            status = 1
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        print(f"compare.py: logs kept in {work}", file=sys.stderr)
        args.keep = True
        status = 1
    except KeyboardInterrupt:
        print("compare.py: interrupted", file=sys.stderr)
        status = 130
    except SystemExit as e:
        print("compare.py: stopped by a signal, cleaning up", file=sys.stderr)
        status = e.code
    finally:
        procs.stop_all()
        left = procs.leftovers()
        if left:
            print(f"compare.py: processes left running: {left}", file=sys.stderr)
            status = status or 1
        if args.keep:
            print(f"run folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

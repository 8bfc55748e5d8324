#!/usr/bin/env python3
"""Health checks at scale: how much CPU the `sluice: health` process spends, and how evenly
it keeps time, with many servers checked at a short `inter` (issue 5).

Usage:
    python3 tests/bench/health_scale.py [--servers N] [--inter MS] [--duration S] [--http]
                                        [--spread-checks PCT] [--warmup S] [--json FILE]
                                        [--raw FILE] [--keep]

    --servers N          servers in the one backend (default 1000)
    --inter MS           `inter` of every server, in milliseconds (default 1000)
    --duration S         measured window, in seconds (default 30)
    --http               `option httpchk GET /health` checks instead of TCP connect checks
    --spread-checks PCT  also set `global spread-checks PCT` (default: not set, no jitter)
    --warmup S           seconds between the health process appearing and the window
                         opening (default 0: the window covers the first-check spread too)
    --json FILE          also write the figures as JSON to FILE
    --raw FILE           also write every server's check timestamps (s since the window
                         opened) as JSON to FILE, for a closer look at the spreading
    --keep               keep the temporary folder (config and sluice's log) and print it

The binary is $SLUICE_BIN_DIR/sluice, or build/bin/sluice under the source tree. Nothing is
built. Example (the three runs in docs/benchmarks.md):

    python3 tests/bench/health_scale.py                      # 1000 servers, TCP, 30 s
    python3 tests/bench/health_scale.py --http               # 1000 servers, HTTP, 30 s
    python3 tests/bench/health_scale.py --servers 100        # 100 servers, TCP, 30 s

What it does: one Python thread (selectors) listens on N free TCP ports on 127.0.0.1 and
records the monotonic time at which it accepts each check connection (HTTP: it reads the
request and answers `HTTP/1.1 200 OK`, Content-Length 0, and closes). It writes a config with
`global workers 1` and one backend of N servers `server sNNNN 127.0.0.1:PORT check inter
...`, starts sluice in the foreground, finds the health process (a child of the master whose
cmdline starts with `sluice: health`), and samples its utime+stime from /proc/PID/stat at the
start and end of the window (and every second in between, for the peak). Then:

  * CPU: (ticks at end - ticks at start) / CLK_TCK / wall seconds, as % of one core.
  * RSS: VmRSS and VmHWM of the health process at the end.
  * Jitter: for every server, the intervals between consecutive check connections within the
    window; the distribution over all servers' intervals of |interval - inter| in ms (p50,
    p90, p99, max). The mean signed interval - inter is shown as well: sluice arms the next
    check after the current one completes, so each interval is inter + the check's duration.
  * Checks per second over the window, and how many servers were checked at least
    (duration / inter - 1) times.
  * Spreading: checks per 100 ms bin over the window (min / mean / max), and how the first
    checks were spread after the health process started.
  * DOWN: "is DOWN" lines in sluice's log, and the STATE column of `sluicectl show servers`
    at the end.
  * This script's own CPU over the window (the backends compete with sluice for the cores).
  * /proc/loadavg at the start and at the end, since the machine may be busy with other work.

The accept timestamps include the listener's own latency (Python, one thread); the longest
time the listener spent on one batch of events is reported as an upper bound of that noise.

It prints a summary table and exits 0 (1 if sluice or the health process did not start).
"""

import argparse
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_procs import children, cmdline, cpu_model, loadavg  # noqa: E402  (shared /proc helpers)

SOURCE_DIR = os.environ.get(
    "SLUICE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("SLUICE_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
SLUICE = os.path.join(BIN_DIR, "sluice")
SLUICECTL = os.path.join(BIN_DIR, "sluicectl")

HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


# ---------------------------------------------------------------------------------------
# The backends: N listening sockets served by one selector loop in one thread.

class Backends:
    def __init__(self, n, http):
        self.http = http
        self.sel = selectors.DefaultSelector()
        self.listeners = []
        self.times = {}  # port -> [monotonic time of each accepted connection]
        self.max_batch = 0.0  # longest time spent handling one select() batch, seconds
        self.errors = 0
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(256)
            s.setblocking(False)
            port = s.getsockname()[1]
            self.listeners.append((s, port))
            self.times[port] = []
            self.sel.register(s, selectors.EVENT_READ, ("listen", port))
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    @property
    def ports(self):
        return [p for _, p in self.listeners]

    def loop(self):
        # Each listener is drained with accept() until EAGAIN; the accept time is taken per
        # connection, as close to accept() as Python allows.
        while self.running:
            events = self.sel.select(timeout=0.2)
            began = time.monotonic()
            for key, _ in events:
                kind, data = key.data
                if kind == "listen":
                    self.accept(key.fileobj, data)
                else:
                    self.read(key.fileobj, data)
            took = time.monotonic() - began
            if took > self.max_batch and events:
                self.max_batch = took
        for s, _ in self.listeners:
            s.close()

    def accept(self, listener, port):
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.errors += 1
                return
            self.times[port].append(time.monotonic())
            if not self.http:
                conn.close()  # a TCP check only needs the connection to be accepted
                continue
            conn.setblocking(False)
            self.sel.register(conn, selectors.EVENT_READ, ("conn", bytearray()))

    def read(self, conn, buf):
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
            self.errors += 1
        if data:
            buf += data
            if b"\r\n\r\n" not in buf:
                return
            try:
                conn.send(HTTP_ANSWER)  # small enough for one send on a fresh socket
            except OSError:
                self.errors += 1
        self.sel.unregister(conn)
        conn.close()

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------------------
# /proc helpers.

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def find_health(master, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in children(master):
            if cmdline(c).startswith("sluice: health"):
                return c
        time.sleep(0.01)
    return None


def machine():
    return os.cpu_count(), cpu_model()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------

def write_config(path, ports, inter_ms, http, spread, frontend_port, stats_sock):
    lines = ["global", "    workers 1", f"    stats socket {stats_sock}"]
    if spread:
        lines.append(f"    spread-checks {spread}")
    lines += ["", "defaults", "    mode tcp", "    timeout connect 500ms", "    timeout check 500ms",
              "    timeout client 5s", "    timeout server 5s", "",
              "frontend f", f"    bind 127.0.0.1:{frontend_port}", "    default_backend pool", "",
              "backend pool"]
    if http:
        lines.append("    option httpchk GET /health")
    for i, port in enumerate(ports):
        lines.append(f"    server s{i:04d} 127.0.0.1:{port} check inter {inter_ms}ms")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def server_states(stats_sock):
    try:
        p = subprocess.run([SLUICECTL, "-s", stats_sock, "show", "servers"], capture_output=True,
                           text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"error": repr(e)}
    counts = {}
    for line in p.stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 3 and "/" in cols[0]:
            counts[cols[2]] = counts.get(cols[2], 0) + 1
    if not counts:
        return {"error": (p.stdout + p.stderr).strip()[:200]}
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--inter", type=int, default=1000, help="ms")
    ap.add_argument("--duration", type=float, default=30.0, help="s")
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--spread-checks", type=int, default=0)
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--json")
    ap.add_argument("--raw")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.servers * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    tmp = tempfile.mkdtemp(prefix="sluice-health-scale-")
    backends = Backends(args.servers, args.http)
    cfg = os.path.join(tmp, "sluice.cfg")
    stats_sock = os.path.join(tmp, "sluice.sock")
    write_config(cfg, backends.ports, args.inter, args.http, args.spread_checks, free_port(),
                 stats_sock)
    log = open(os.path.join(tmp, "sluice.log"), "a+")

    load_start = loadavg()
    started = time.monotonic()
    proc = subprocess.Popen([SLUICE, "-f", cfg], stdout=log, stderr=subprocess.STDOUT)
    result = {}
    try:
        health = find_health(proc.pid)
        if health is None:
            log.flush()
            log.seek(0)
            print(f"no `sluice: health` child of {proc.pid} (exit {proc.poll()}):\n{log.read()}",
                  file=sys.stderr)
            return 1
        health_seen = time.monotonic()
        if args.warmup:
            time.sleep(args.warmup)

        t0 = time.monotonic()
        c0 = cpu_ticks(health)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        samples = []  # (t, ticks) every second, for the busiest second
        prev = (t0, c0)
        while True:
            now = time.monotonic()
            if now >= t0 + args.duration:
                break
            time.sleep(min(1.0, t0 + args.duration - now))
            cur = (time.monotonic(), cpu_ticks(health))
            samples.append((cur[1] - prev[1]) / CLK_TCK / (cur[0] - prev[0]) * 100.0)
            prev = cur
        t1 = time.monotonic()
        c1 = cpu_ticks(health)
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        rss_kb = status_kb(health, "VmRSS")
        hwm_kb = status_kb(health, "VmHWM")
        threads = status_kb(health, "Threads")
        load_end = loadavg()
        states = server_states(stats_sock)
        alive = proc.poll() is None and os.path.exists(f"/proc/{health}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        backends.stop()
        log.flush()
        log.seek(0)
        output = log.read()
        log.close()

    # --- figures -------------------------------------------------------------------------
    inter_s = args.inter / 1000.0
    wall = t1 - t0
    cpu_pct = (c1 - c0) / CLK_TCK / wall * 100.0
    bench_cpu_pct = ((self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)) \
        / wall * 100.0

    deviations = []  # |interval - inter|, ms
    signed = []
    checks_in_window = 0
    per_server = []
    for port in backends.ports:
        ts = [t for t in backends.times[port] if t0 <= t <= t1]
        checks_in_window += len(ts)
        per_server.append(len(ts))
        for a, b in zip(ts, ts[1:]):
            d = (b - a - inter_s) * 1000.0
            signed.append(d)
            deviations.append(abs(d))
    deviations.sort()
    need = int(wall / inter_s) - 1
    enough = sum(1 for n in per_server if n >= need)

    # Spreading: checks per 100 ms bin within the window.
    bins = [0] * max(1, int(wall * 10))
    for port in backends.ports:
        for t in backends.times[port]:
            if t0 <= t < t1:
                i = int((t - t0) * 10)
                if i < len(bins):
                    bins[i] += 1
    # Steady state: ignore the first 2 s (first checks) for the bin spread.
    steady = bins[20:] if len(bins) > 30 else bins
    # Whether bunching grows over time: the busiest and quietest 100 ms bin of each 5 s.
    by5 = [(min(bins[i:i + 50]), max(bins[i:i + 50])) for i in range(0, len(bins) - 49, 50)]
    firsts = [backends.times[p][0] - health_seen for p in backends.ports if backends.times[p]]
    never = sum(1 for p in backends.ports if not backends.times[p])

    down_lines = [l for l in output.splitlines() if " is DOWN" in l]
    up_lines = [l for l in output.splitlines() if " is UP" in l]

    result = {
        "servers": args.servers, "inter_ms": args.inter, "check": "http" if args.http else "tcp",
        "spread_checks": args.spread_checks, "duration_s": round(wall, 2),
        "cpu_pct_one_core": round(cpu_pct, 2),
        "cpu_pct_busiest_second": round(max(samples), 1) if samples else None,
        "cpu_pct_per_second": [round(x, 1) for x in samples],
        "rss_kb": rss_kb, "hwm_kb": hwm_kb, "threads": threads,
        "checks": checks_in_window, "checks_per_s": round(checks_in_window / wall, 1),
        "expected_checks_per_s": round(args.servers / inter_s, 1),
        "intervals": len(deviations),
        "jitter_ms": {
            "p50": round(percentile(deviations, 50), 2), "p90": round(percentile(deviations, 90), 2),
            "p99": round(percentile(deviations, 99), 2),
            "max": round(deviations[-1], 2) if deviations else None},
        "mean_interval_minus_inter_ms": round(statistics.fmean(signed), 2) if signed else None,
        "servers_checked_enough": enough, "enough_means_at_least": need,
        "min_checks_per_server": min(per_server) if per_server else 0,
        "max_checks_per_server": max(per_server) if per_server else 0,
        "bins_100ms_steady": {"min": min(steady), "mean": round(statistics.fmean(steady), 1),
                              "max": max(steady)},
        "bins_100ms_min_max_per_5s": by5,
        "first_check_after_health_start_s": {
            "min": round(min(firsts), 3) if firsts else None,
            "max": round(max(firsts), 3) if firsts else None},
        "servers_never_checked": never,
        "down_transitions": len(down_lines), "up_transitions": len(up_lines),
        "states_at_end": states,
        "listener_max_batch_ms": round(backends.max_batch * 1000.0, 2),
        "listener_errors": backends.errors,
        "bench_cpu_pct_one_core": round(bench_cpu_pct, 1),
        "health_alive_at_end": alive,
        "loadavg_start": load_start, "loadavg_end": load_end,
        "machine": {"nproc": machine()[0], "model": machine()[1]},
        "startup_s": round(health_seen - started, 3),
    }

    kind = "HTTP (option httpchk GET /health)" if args.http else "TCP connect"
    rows = [
        ("servers / inter / checks", f"{args.servers} / {args.inter} ms / {kind}"
         + (f" / spread-checks {args.spread_checks}" if args.spread_checks else "")),
        ("window", f"{wall:.1f} s (health pid {health})"),
        ("health CPU (one core)", f"{cpu_pct:.1f} %  (busiest 1 s: "
         f"{result['cpu_pct_busiest_second']} %)"),
        ("health RSS / peak", f"{rss_kb / 1024:.1f} MiB / {hwm_kb / 1024:.1f} MiB, "
         f"{threads} thread(s)"),
        ("checks per second", f"{result['checks_per_s']} (expected {result['expected_checks_per_s']})"),
        ("|interval - inter| ms", "p50 {p50}  p90 {p90}  p99 {p99}  max {max}".format(
            **result["jitter_ms"]) + f"  ({len(deviations)} intervals)"),
        ("mean interval - inter", f"{result['mean_interval_minus_inter_ms']} ms"),
        (f"servers checked >= {need}x", f"{enough} / {args.servers} "
         f"(per server: min {result['min_checks_per_server']}, "
         f"max {result['max_checks_per_server']})"),
        ("checks per 100 ms (t>2s)", "min {min}  mean {mean}  max {max}".format(
            **result["bins_100ms_steady"])),
        ("  min-max, each 5 s", " ".join(f"{a}-{b}" for a, b in by5)),
        ("first checks after start", "{min} .. {max} s".format(
            **result["first_check_after_health_start_s"]) + f"; never checked: {never}"),
        ("DOWN / UP transitions", f"{len(down_lines)} / {len(up_lines)}; states at end: {states}"),
        ("listener max batch", f"{result['listener_max_batch_ms']} ms, errors {backends.errors}, "
         f"this script's CPU {bench_cpu_pct:.1f} %"),
        ("loadavg start / end", f"{load_start} / {load_end}"),
        ("machine", f"{result['machine']['nproc']} x {result['machine']['model']}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"Health checks at scale: sluice {SLUICE}")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    for l in down_lines[:5]:
        print(f"  log: {l}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if args.raw:
        with open(args.raw, "w") as f:
            json.dump({"inter_ms": args.inter, "window_s": wall,
                       "times": {str(p): [round(t - t0, 6) for t in backends.times[p]]
                                 for p in backends.ports}}, f)
    if args.keep:
        print(f"  kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

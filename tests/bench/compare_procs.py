"""Processes and /proc for tests/bench/compare.py: every process it starts is in its own
process group, so that stopping a group ends the workers a master forked too; CPU ticks,
RSS and per-CPU busy time read from /proc; free ports."""

import os
import signal
import socket
import subprocess
import time


class Processes:
    def __init__(self):
        self.started = []  # (name, Popen)

    def start(self, name, argv, log_path, cpu):
        log = open(log_path, "ab")
        proc = subprocess.Popen(["taskset", "-c", cpu] + argv, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self.started.append((name, proc))
        return proc

    def stop(self, proc, timeout=5.0):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (nginx workers, sluice workers): end it too.
        deadline = time.monotonic() + timeout
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if group_members(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop_all(self):
        for _, proc in reversed(self.started):
            self.stop(proc)

    def leftovers(self):
        return [(name, pid) for name, proc in self.started for pid in group_members(proc.pid)]


def proc_stats():
    """(pid, fields after "pid (comm) ") for every process: state, ppid, pgrp, ..."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        yield int(entry), stat[stat.rindex(")") + 2:].split()


def group_members(pgid):
    return [pid for pid, fields in proc_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def children(pid):
    return [child for child, fields in proc_stats() if int(fields[1]) == pid]


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def cpu_ticks(pids):
    """(utime, stime) summed over pids, in clock ticks."""
    user = system = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def rss_kib(pids, key="VmRSS"):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
    return total


def cpu_busy_jiffies(cpu):
    """(busy, total) jiffies of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                values = [int(v) for v in line.split()[1:]]
                idle = values[3] + values[4]
                return sum(values) - idle, sum(values)
    return 0, 0


def tcp_out_segments():
    """TCP segments sent by the whole host (/proc/net/snmp OutSegs); on loopback every
    segment is also received once."""
    return tcp_counter("OutSegs")


def tcp_counter(name):
    """One of the host's TCP counters in /proc/net/snmp: OutSegs, ActiveOpens (connect()s
    that sent a SYN), ..."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(dict(zip(rows[0][1:], rows[1][1:]))[name])


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def cpu_model():
    """The CPU's model name from /proc/cpuinfo ("unknown" when it says none)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"

"""The load side of tests/bench/compare.py: wrk (run and parsed) and the summary that
`strace -c` writes."""

import re
import subprocess

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(out):
    result = {"requests": 0, "rps": 0.0, "p50_ms": None, "p99_ms": None, "errors": 0,
              "non2xx": 0}
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"(\d+) requests in ([\d.]+)(\w+)", line)
        if m:
            result["requests"] = int(m.group(1))
        m = re.match(r"Requests/sec:\s+([\d.]+)", line)
        if m:
            result["rps"] = float(m.group(1))
        m = re.match(r"(50|99)%\s+(\S+)", line)
        if m:
            result[f"p{m.group(1)}_ms"] = _ms(m.group(2))
        m = re.match(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     line)
        if m:
            result["errors"] = sum(int(g) for g in m.groups())
        m = re.match(r"Non-2xx or 3xx responses: (\d+)", line)
        if m:
            result["non2xx"] = int(m.group(1))
    return result


def run_wrk(wrk, cpu, port, path, connections, seconds, close=False, scheme="http",
            threads=1):
    """One wrk run on `cpu` (a taskset list: "0", "0,1"): (parsed figures, wrk's output).
    With scheme "https" wrk speaks TLS (its OpenSSL client: no verification, SNI = the
    address, and after a `Connection: close` it offers the last session it got on the next
    connection)."""
    argv = ["taskset", "-c", cpu, wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
            "--latency", "--timeout", "5s"]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(f"{scheme}://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    return parse_wrk(out.stdout), out.stdout


def parse_strace_summary(path):
    """strace -c's table: ({syscall: calls}, {syscall: failed calls}, total calls)."""
    calls, failed = {}, {}
    total = 0
    with open(path, errors="replace") as f:
        for line in f:
            # "% time  seconds  usecs/call  calls  [errors]  syscall", then a "total" line.
            parts = line.split()
            if len(parts) < 5 or not parts[0][0].isdigit():
                continue
            if parts[-1] == "total":
                total = int(parts[3])
                continue
            name = parts[-1]
            calls[name] = calls.get(name, 0) + int(parts[3])
            if len(parts) == 6:
                failed[name] = failed.get(name, 0) + int(parts[4])
    return calls, failed, total

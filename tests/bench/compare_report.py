"""The report of tests/bench/compare.py: medians over rounds, one markdown table per
scenario with the ratios Sluice/HAProxy and Sluice/nginx (workers2 adds 2-worker / 1-worker
ratios, tcp-1MiB MiB/s and CPU per MiB; idle-10k has a table of its own: RSS per idle
connection), a table of ratios over all scenarios, and the update of docs/benchmarks.md
between two markers."""

import os
import statistics

import compare_configs as cfg

SOURCE_PREFIX = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")) + "/"
NAMES = {"direct": "origin direct (ceiling)", "sluice": "Sluice", "haproxy": "HAProxy 2.6",
         "nginx": "nginx"}
DOC_START = "<!-- tests/bench/compare.py: latest run, start (generated, replaced on --doc) -->"
DOC_END = "<!-- tests/bench/compare.py: latest run, end -->"
# What N workers means for each proxy (scenario workers2).
WORKER_KEYWORD = {"sluice": "workers", "haproxy": "nbthread", "nginx": "worker_processes"}
MIB = 1024 * 1024


def variant(proxy, workers):
    """The target name of `proxy` run with `workers` workers: the proxy's name for 1,
    `proxy-wN` otherwise."""
    return proxy if workers == 1 else f"{proxy}-w{workers}"


def label(target, scenario=None):
    """The row label of a target; in a scenario that varies the workers, with their
    number."""
    proxy, _, workers = target.partition("-w")
    if proxy not in WORKER_KEYWORD or (not workers and not (scenario or {}).get("workers")):
        return NAMES[target]
    return f"{NAMES[proxy]}, `{WORKER_KEYWORD[proxy]} {workers or 1}`"


def scenario_targets(scenario, proxies):
    """The targets of `scenario`, in table order: the origin, then each proxy with each
    worker count."""
    return ["direct"] + [variant(p, w) for p in proxies for w in scenario.get("workers", [1])]


def _pairs(scenario, proxies):
    """The ratio rows of a scenario table: (numerator, denominator, label)."""
    pairs = []
    others = [p for p in proxies if p != "sluice"]
    if "sluice" in proxies:
        pairs += [("sluice", o, f"Sluice / {label(o, scenario)}") for o in others]
    counts = scenario.get("workers", [1])
    if len(counts) > 1:
        low, high = counts[0], counts[-1]
        pairs += [(variant(p, high), variant(p, low),
                   f"{NAMES[p]}: {high} / {low} {WORKER_KEYWORD[p]}") for p in proxies]
        if "sluice" in proxies:
            pairs += [(variant("sluice", high), variant(o, high),
                       f"Sluice / {label(variant(o, high))}") for o in others]
    return pairs


def run_line(r):
    text = (f"{r['target']:10} round {r['round']}: {r['rps']:9.0f} req/s  "
            f"p50 {fmt_ms(r['p50_ms'])}  p99 {fmt_ms(r['p99_ms'])}")
    if "cpu_us" in r:
        text += (f"  cpu {r['cpu_us']:6.1f} us/req ({r['proxy_core_pct']:.0f} % of a core)"
                 f"  rss {r['rss_kib'] / 1024:.1f} MiB")
    if "tls_handshakes" in r:
        text += f"  tls {_fmt_tls(r['tls_handshakes_per_request'], r['tls_resumed_pct'])}"
    text += f"  cpu0 {r['cpu0_busy_pct']:.0f} % cpu1 {r['cpu1_busy_pct']:.0f} %"
    if r["errors"] or r["non2xx"]:
        text += f"  ERRORS socket {r['errors']} non-2xx {r['non2xx']}"
    return text


def idle_line(r):
    text = (f"{r['target']:10} round {r['round']}: RSS before "
            f"{r['rss_before_kib'] / 1024:.1f} MiB, {r['fds_before']} fds")
    for w in r["waves"]:
        text += (f"; wave {w['wave']}: {w['opened']}/{r['wanted']} opened in "
                 f"{w['open_s']:.1f} s, {w['established']} established, RSS "
                 f"{w['rss_kib'] / 1024:.1f} MiB = {_fmt_kib(w['kib_per_conn'])} KiB/conn, "
                 f"{w['fds']} fds, {w['upstream']} upstream")
        if "rss_hold_kib" in w:
            text += (f"; after the hold {w['established_hold']} established, "
                     f"{w['client_closed'] + w['client_closed_hold']} closed by the proxy, RSS "
                     f"{w['rss_hold_kib'] / 1024:.1f} MiB")
        text += f"; closed: RSS {w['rss_closed_kib'] / 1024:.1f} MiB"
        if w["failures"]:
            text += f"  FAILURES {w['failures']}"
    if r["workers_replaced"]:
        text += "  WORKER REPLACED"
    return text


def _fmt_kib(x):
    return "-" if x is None else f"{x:.2f}"


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms * 1000:.0f} us"
    return f"{ms:.2f} ms"


def _fmt_tls(per_request, resumed_pct):
    if per_request is None:
        return "-"
    resumed = "-" if resumed_pct is None else f"{resumed_pct:.0f} %"
    return f"{per_request:.3f} ({resumed} resumed)"


def _median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def medians(runs):
    """{(scenario, target): {metric: median, 'rps_min', 'rps_max', 'rounds', errors}}"""
    grouped = {}
    for r in runs:
        if r.get("kind") == "idle":
            continue
        grouped.setdefault((r["scenario"], r["target"]), []).append(r)
    out = {}
    for key, group in grouped.items():
        m = {k: _median(group, k) for k in (
            "rps", "p50_ms", "p99_ms", "cpu_us", "cpu_user_us", "cpu_sys_us",
            "proxy_core_pct", "rss_kib", "hwm_kib", "cpu1_busy_pct", "cpu0_busy_pct",
            "tcp_segments", "tcp_connects", "tls_handshakes_per_request", "tls_resumed_pct",
            "body_bytes")}
        m["rps_min"] = min(r["rps"] for r in group)
        m["rps_max"] = max(r["rps"] for r in group)
        m["rounds"] = len(group)
        m["errors"] = sum(r["errors"] for r in group)
        m["non2xx"] = sum(r["non2xx"] for r in group)
        out[key] = m
    return out


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _fmt_num(x):
    return "-" if x is None else f"{x:.2f}"


def _fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def _syscalls(syscalls):
    return {(s["scenario"], s["target"]): s for s in syscalls}


def scenario_table(scenario, med, sys_by, proxies):
    tls = bool(scenario.get("tls"))
    mib = bool(scenario.get("throughput"))
    rows = []
    rows.append("| target | req/s (spread) |" + (" MiB/s |" if mib else "")
                + " p50 | p99 | proxy CPU / request (user + sys) |"
                + (" proxy CPU / MiB |" if mib else "")
                + " proxy core busy | syscalls / request | TCP segments / request "
                "| TCP connects / request | worker RSS |"
                + (" TLS handshakes / request (resumed) |" if tls else ""))
    rows.append("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if tls else "")
                + ("---|---|" if mib else ""))
    name = scenario["name"]
    for target in scenario_targets(scenario, proxies):
        m = med.get((name, target))
        if not m:
            continue
        spread = f"{m['rps_min']:.0f}-{m['rps_max']:.0f}"
        text = label(target, scenario)
        if tls and target == "direct":
            text = "origin direct, plain HTTP (no TLS: not a ceiling for TLS)"
        cells = [text, f"{m['rps']:.0f} ({spread})"]
        if mib:
            cells.append(_fmt_num(_mib_per_s(m)))
        cells += [fmt_ms(m["p50_ms"]), fmt_ms(m["p99_ms"])]
        if m["cpu_us"] is not None:
            cells.append(f"{m['cpu_us']:.1f} us ({m['cpu_user_us']:.1f} + "
                         f"{m['cpu_sys_us']:.1f})")
            if mib:
                cells.append(f"{_cpu_per_mib(m):.0f} us")
            cells.append(f"{m['proxy_core_pct']:.0f} %")
            s = sys_by.get((name, target))
            cells.append(f"{s['per_request']:.2f}" if s else "-")
            cells.append(_fmt_num(m["tcp_segments"]))
            cells.append(_fmt_connects(m["tcp_connects"]))
            cells.append(f"{m['rss_kib'] / 1024:.1f} MiB")
        else:
            cells += (["-"] + (["-"] if mib else [])
                      + ["-", "-", _fmt_num(m["tcp_segments"]),
                         _fmt_connects(m["tcp_connects"]), "-"])
        if tls:
            cells.append(_fmt_tls(m["tls_handshakes_per_request"], m["tls_resumed_pct"]))
        if m["errors"] or m["non2xx"]:
            cells[0] += f" (errors: socket {m['errors']}, non-2xx {m['non2xx']})"
        rows.append("| " + " | ".join(cells) + " |")
    for a, b, text in _pairs(scenario, proxies):
        s_m, o_m = med.get((name, a)), med.get((name, b))
        if not s_m or not o_m:
            continue
        s_sys, o_sys = sys_by.get((name, a)), sys_by.get((name, b))
        cells = [text, _fmt_ratio(_ratio(s_m["rps"], o_m["rps"]))]
        if mib:
            cells.append(_fmt_ratio(_ratio(_mib_per_s(s_m), _mib_per_s(o_m))))
        cells += [_fmt_ratio(_ratio(s_m["p50_ms"], o_m["p50_ms"])),
                  _fmt_ratio(_ratio(s_m["p99_ms"], o_m["p99_ms"])),
                  _fmt_ratio(_ratio(s_m["cpu_us"], o_m["cpu_us"]))]
        if mib:
            cells.append(_fmt_ratio(_ratio(_cpu_per_mib(s_m), _cpu_per_mib(o_m))))
        cells += ["" if a.partition("-w")[0] != b.partition("-w")[0] else
                  _fmt_ratio(_ratio(s_m["proxy_core_pct"], o_m["proxy_core_pct"])),
                  _fmt_ratio(_ratio(s_sys and s_sys["per_request"],
                                    o_sys and o_sys["per_request"])),
                  _fmt_ratio(_ratio(s_m["tcp_segments"], o_m["tcp_segments"])),
                  "",
                  _fmt_ratio(_ratio(s_m["rss_kib"], o_m["rss_kib"]))]
        if tls:
            cells.append("")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _fmt_connects(x):
    """Connections opened per request: from 0.0001 (wrk's own at the start of a keep-alive
    run) to 2 (close: wrk's and the proxy's)."""
    return "-" if x is None else f"{x:.4f}" if x < 0.01 else f"{x:.3f}"


def _mib_per_s(m):
    """Response bodies per second, in MiB/s (headers not counted)."""
    if not m.get("body_bytes"):
        return None
    return m["rps"] * m["body_bytes"] / MIB


def _cpu_per_mib(m):
    if not m.get("body_bytes") or m.get("cpu_us") is None:
        return None
    return m["cpu_us"] * MIB / m["body_bytes"]


def idle_medians(runs):
    """{(scenario, target): medians of the first wave's figures, and every wave's runs}"""
    grouped = {}
    for r in runs:
        if r.get("kind") == "idle":
            grouped.setdefault((r["scenario"], r["target"]), []).append(r)
    out = {}
    for key, group in grouped.items():
        waves = [w for r in group for w in r["waves"]]
        first = [r["waves"][0] for r in group]
        last = [r["waves"][-1] for r in group]

        def med(items, k):
            values = [i[k] for i in items if i.get(k) is not None]
            return statistics.median(values) if values else None

        out[key] = {
            "runs": group, "rounds": len(group), "wanted": group[0]["wanted"],
            "waves": len(group[0]["waves"]),
            "rss_before_kib": med(group, "rss_before_kib"),
            "fds_before": med(group, "fds_before"),
            "opened_min": min(w["opened"] for w in waves),
            "established_min": min(w["established"] for w in waves),
            "established_hold_min": min((w["established_hold"] for w in waves
                                         if "established_hold" in w), default=None),
            "closed_by_proxy": sum(w["client_closed"] + w.get("client_closed_hold", 0)
                                   for w in waves),
            "rss_kib": med(first, "rss_kib"), "rss_hold_kib": med(first, "rss_hold_kib"),
            "rss_closed_kib": med(first, "rss_closed_kib"),
            "kib_per_conn": med(first, "kib_per_conn"),
            "kib_per_conn_last": med(last, "kib_per_conn"),
            "rss_closed_last_kib": med(last, "rss_closed_kib"),
            "fds": med(first, "fds"), "upstream": med(first, "upstream"),
            "open_s": med(first, "open_s"),
            "failures": sum(sum(w["failures"].values()) for w in waves),
            "failure_kinds": sorted({k for w in waves for k in w["failures"]}),
            "workers_replaced": any(r["workers_replaced"] for r in group),
        }
    return out


def idle_table(scenario, runs, proxies):
    imed = idle_medians(runs)
    name = scenario["name"]
    rows = ["| proxy | connections opened (min) | established on the proxy's port at the "
            "measurement / after the hold (min) | closed by the proxy | worker RSS before "
            "| worker RSS with them | **RSS per idle connection** | next wave: RSS per idle "
            "connection | RSS after closing them (first / last wave) | worker fds before / "
            "with | upstream connections held |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in proxies:
        m = imed.get((name, p))
        if not m:
            continue
        text = NAMES[p]
        if m["failures"]:
            text += f" (failures: {m['failures']}: {', '.join(m['failure_kinds'])})"
        if m["workers_replaced"]:
            text += " (**a worker exited or was replaced**)"
        hold = "-" if m["established_hold_min"] is None else f"{m['established_hold_min']}"
        rows.append("| " + " | ".join([
            text, f"{m['opened_min']} of {m['wanted']}",
            f"{m['established_min']} / {hold}", f"{m['closed_by_proxy']}",
            f"{m['rss_before_kib'] / 1024:.1f} MiB", f"{m['rss_kib'] / 1024:.1f} MiB",
            f"**{_fmt_kib(m['kib_per_conn'])} KiB**",
            _fmt_kib(m["kib_per_conn_last"]) + " KiB" if m["waves"] > 1 else "-",
            f"{m['rss_closed_kib'] / 1024:.1f} / {m['rss_closed_last_kib'] / 1024:.1f} MiB",
            f"{m['fds_before']:.0f} / {m['fds']:.0f}", f"{m['upstream']:.0f}"]) + " |")
    s_m = imed.get((name, "sluice"))
    for o in [p for p in proxies if p != "sluice"]:
        o_m = imed.get((name, o))
        if not s_m or not o_m:
            continue
        rows.append("| " + " | ".join(
            [f"Sluice / {NAMES[o]}", "", "", "", "", "",
             _fmt_ratio(_ratio(s_m["kib_per_conn"], o_m["kib_per_conn"])),
             _fmt_ratio(_ratio(s_m["kib_per_conn_last"], o_m["kib_per_conn_last"]))
             if s_m["waves"] > 1 else "", "", "", ""]) + " |")
    return "\n".join(rows)


def table_for(scenario, runs, med, sys_by, proxies):
    if scenario["kind"] == "idle":
        return idle_table(scenario, runs, proxies)
    return scenario_table(scenario, med, sys_by, proxies)


def ratio_table(scenarios, med, sys_by, proxies):
    others = [p for p in proxies if p != "sluice"]
    if "sluice" not in proxies or not others:
        return ""
    head = "| scenario |"
    sep = "|---|"
    for o in others:
        short = NAMES[o].split()[0]
        head += (f" req/s vs {short} | p99 vs {short} | CPU/req vs {short} "
                 f"| syscalls/req vs {short} |")
        sep += "---|---|---|---|"
    rows = [head, sep]
    for scenario in scenarios:
        name = scenario["name"]
        s_m = med.get((name, "sluice"))
        if not s_m:
            continue
        cells = [name]
        for o in others:
            o_m = med.get((name, o)) or {}
            s_sys, o_sys = sys_by.get((name, "sluice")), sys_by.get((name, o))
            cells += [_fmt_ratio(_ratio(s_m["rps"], o_m.get("rps"))),
                      _fmt_ratio(_ratio(s_m["p99_ms"], o_m.get("p99_ms"))),
                      _fmt_ratio(_ratio(s_m["cpu_us"], o_m.get("cpu_us"))),
                      _fmt_ratio(_ratio(s_sys and s_sys["per_request"],
                                        o_sys and o_sys["per_request"]))]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) if len(rows) > 2 else ""


def reading(scenarios, med, proxies):
    """Plain sentences, generated: where Sluice is behind or ahead, by how much."""
    lines = []
    for scenario in scenarios:
        name = scenario["name"]
        s_m = med.get((name, "sluice"))
        if not s_m:
            continue
        parts = []
        for o in [p for p in proxies if p != "sluice"]:
            o_m = med.get((name, o))
            if not o_m:
                continue
            cpu = _ratio(s_m["cpu_us"], o_m["cpu_us"])
            rps = _ratio(s_m["rps"], o_m["rps"])
            p99 = _ratio(s_m["p99_ms"], o_m["p99_ms"])
            if cpu is None or rps is None:
                continue
            verdict = ("more" if cpu > 1 else "less")
            parts.append(
                f"{abs(cpu - 1) * 100:.0f} % {verdict} CPU per request than {NAMES[o]} "
                f"({s_m['cpu_us']:.1f} vs {o_m['cpu_us']:.1f} us), "
                f"{'+' if rps >= 1 else '-'}{abs(rps - 1) * 100:.0f} % req/s, "
                f"p99 {p99:.2f}x")
        if parts:
            lines.append(f"- **{name}**: Sluice uses " + "; ".join(parts) + ".")
        counts = scenario.get("workers", [1])
        if len(counts) > 1:
            scaled = []
            for p in proxies:
                one, two = med.get((name, variant(p, counts[0]))), med.get(
                    (name, variant(p, counts[-1])))
                if one and two and one["cpu_us"] and two["cpu_us"]:
                    scaled.append(
                        f"{NAMES[p]} {two['rps'] / one['rps']:.2f}x req/s and "
                        f"{two['cpu_us'] / one['cpu_us']:.2f}x CPU per request "
                        f"({one['proxy_core_pct']:.0f} % -> {two['proxy_core_pct']:.0f} % of "
                        f"one core)")
            if scaled:
                lines.append(f"- **{name}** ({counts[-1]} workers against {counts[0]}, on a "
                             f"2-core machine shared with wrk and the origin: contention, not "
                             f"scaling): " + "; ".join(scaled) + ".")
    return "\n".join(lines)


def idle_reading(scenarios, runs, proxies):
    lines = []
    for scenario in scenarios:
        if scenario["kind"] != "idle":
            continue
        imed = idle_medians(runs)
        parts = [f"{NAMES[p]} {_fmt_kib(imed[(scenario['name'], p)]['kib_per_conn'])} KiB"
                 for p in proxies if (scenario["name"], p) in imed]
        if parts:
            lines.append(f"- **{scenario['name']}**: worker RSS per idle keep-alive "
                         f"connection: " + ", ".join(parts) + ".")
    return "\n".join(lines)


def _interference(runs):
    """While wrk hits the origin directly nothing of ours runs on the proxies' CPU: what
    was busy there then was someone else."""
    direct = [r["cpu1_busy_pct"] for r in runs
              if r["target"] == "direct" and r.get("cpu1_busy_pct") is not None
              and r.get("load_cpus", "0") == "0"]  # workers2 runs wrk on CPU 1 too
    if not direct:
        return ""
    worst = max(direct)
    text = (f"CPU 1 (the proxies' core) was at most {worst:.0f} % busy during the direct "
            f"runs, when none of the benchmark's processes use it")
    if worst > 10:
        return text + ": **other work was running on the machine during this run**."
    return text + ": no other work competed with the proxies."


def _busy_note(scenarios, med, proxies):
    low = []
    for scenario in scenarios:
        for p in proxies:
            if scenario.get("workers"):
                continue  # not pinned to a core of its own: "busy" means nothing there
            m = med.get((scenario["name"], p))
            if m and m["proxy_core_pct"] is not None and m["proxy_core_pct"] < 90:
                low.append(f"{scenario['name']}/{p} {m['proxy_core_pct']:.0f} %")
    if not low:
        return "Every proxy kept its core at least 90 % busy: it was the bottleneck."
    return ("Proxy core below 90 % busy (the load side, wrk and the origin sharing CPU 0, "
            "limited req/s there, so compare CPU per request rather than req/s): "
            + ", ".join(low) + ".")


def _top_syscalls(syscalls):
    if not syscalls:
        return ""
    rows = ["| scenario | proxy | syscalls / request | the most frequent, per request "
            "(of which failed, e.g. EAGAIN) |", "|---|---|---|---|"]
    for s in syscalls:
        top = ", ".join(f"{n} {c:.2f}" + (f" ({e:.2f})" if e >= 0.005 else "")
                        for n, c, e in s["top"] if c >= 0.005)
        rows.append(f"| {s['scenario']} | {label(s['target'])} | {s['per_request']:.2f} "
                    f"| {top} |")
    return "\n".join(rows)


def markdown(info, runs, syscalls, configs, args, full=True):
    """The report; `full` adds the routing configurations (the results file has them, the
    page links to it)."""
    med = medians(runs)
    sys_by = _syscalls(syscalls)
    mach = info["machine"]
    out = [f"## Sluice, HAProxy and nginx compared: run of {info['started'][:16]}", ""]
    out.append(f"Command: `{info['argv']}` (then `tests/bench/compare.py`).")
    out.append("")
    out.append(
        f"Machine: `nproc` {mach['nproc']}, model name `{mach['cpu_model']}`, "
        f"{mach['mem_gib']} GiB, kernel {mach['kernel']}. {mach['sluice']}; "
        f"{mach['haproxy']}; {mach['nginx']}; {mach['wrk']}. Sluice binary: "
        f"`{mach['sluice_binary'].replace(SOURCE_PREFIX, '')}`.")
    out.append("")
    quiet = info.get("quiet_wait")
    wait_text = ""
    if quiet:
        wait_text = (f" (after waiting {quiet['waited_s']:.0f} s for a 1-minute load below "
                     f"{quiet['limit']}: {'reached' if quiet['quiet'] else 'not reached'})")
    out.append(f"Load average (1/5/15 min) before the run: {info['loadavg_before']}"
               f"{wait_text}; after: {info['loadavg_after']} (the run itself keeps both "
               f"cores busy). {_interference(runs)}")
    out.append("")
    st = info["settings"]
    out.append(
        f"Setup: each proxy runs one worker (Sluice `workers 1`, HAProxy `nbthread 1`, nginx "
        f"`worker_processes 1`) pinned to CPU 1; wrk (`-t1 -c{st['connections']}`) and the "
        f"origin (nginx, 1 worker, static 100 B, 16 KiB and 1 MiB files, keep-alive) share "
        f"CPU 0 (scenarios below that differ say so). "
        f"Each target was measured {st['rounds']} time{'s' if st['rounds'] != 1 else ''} "
        f"for {st['duration']} s, after "
        f"{st['warmup']} s of warm-up, in alternating order; the figures are medians, with "
        f"the min-max of req/s. CPU per request is the worker's utime + stime from "
        f"/proc/PID/stat over the run divided by the requests wrk completed. "
        + (f"Syscalls per request come from `strace -f -c` on the worker during a separate "
           f"{st['strace_seconds']} s run (strace slows the proxy: count, not time). "
           if st["strace_seconds"] else "")
        + "TCP segments per request: the host's `OutSegs` (/proc/net/snmp) over the run "
          "divided by the requests; it counts wrk's and the origin's segments too, so compare "
          "it with the direct row. TCP connects per request: the host's `ActiveOpens` (SYNs "
          "sent by connect()) over the run divided by the requests: wrk's own connections "
          "(the direct row) plus the connections the proxy opened to the origin. Ratios are Sluice / other: above 1 is better for req/s, "
          "below 1 better for the rest.")
    out.append("")
    if any(sc.get("tls") for sc in args.scenarios):
        out.append(
            "TLS scenarios (`tls-*`): wrk speaks TLS (`https://`, its OpenSSL client) to the "
            "proxies, which terminate it with one self-signed ECDSA P-256 certificate made "
            "with `openssl req` at the start of the run and talk plain HTTP to the origin. "
            "`tls-handshake` turns every kind of resumption off (`no-tls-tickets`; HAProxy "
            "also `tune.ssl.cachesize 0`; nginx `ssl_session_tickets off`, "
            "`ssl_session_cache off`), so each request is one full handshake: handshakes/s = "
            "req/s. `tls-resume` leaves tickets on; wrk offers the last session it received "
            "on each new connection. Before measuring, each proxy was checked (Python's ssl "
            "module: a second connection offering the first one's session) to resume with "
            "tickets on and to do a full handshake in `tls-handshake`. The column \"TLS "
            "handshakes / request\" comes from the proxies' own counters (Sluice's "
            "`frontend_tls_handshakes_total` and `_resumptions_total`, HAProxy's `ssl_sess` "
            "+ `ssl_reused_sess` from `show stat`), read before and after each measured run; "
            "nginx has no such counter. The direct row is the origin over plain HTTP, for "
            "reference only: on this machine wrk's own side of each handshake, on the load "
            "core, often limits handshakes/s, so compare CPU per request.")
        out.append("")
    notes = scenario_notes(info, args)
    if notes:
        out += [notes, ""]
    for scenario in args.scenarios:
        out.append(f"### {scenario['title']}")
        out.append("")
        out.append(table_for(scenario, runs, med, sys_by, args.proxies))
        out.append("")
        negotiated = info.get("tls", {}).get(scenario["name"])
        if negotiated:
            out.append("Negotiated by a default OpenSSL client (`openssl s_client -brief`): "
                       + "; ".join(f"{NAMES[p]}: {text}" for p, text in negotiated.items())
                       + ".")
            out.append("")
    table = ratio_table(args.scenarios, med, sys_by, args.proxies)
    if table:
        out += ["### Ratios over all scenarios (Sluice / other)", "", table, ""]
    text = "\n".join(t for t in (reading(args.scenarios, med, args.proxies),
                                  idle_reading(args.scenarios, runs, args.proxies)) if t)
    if text:
        out += ["### Generated reading", "", text, "", _busy_note(args.scenarios, med,
                                                                   args.proxies), ""]
    top = _top_syscalls(syscalls)
    if top:
        out += ["### Syscalls per request (strace -f -c on the worker)", "", top, ""]
    out += ["### Configurations", ""]
    out.append("Sluice and HAProxy read the same file; HAProxy's copy lacks the Sluice-only "
               "`workers 1` line (Sluice ignores `nbthread 1`, with a warning). The routing "
               "scenario requests `" + cfg.ROUTED_PATH + "`, which the last of the "
               f"{cfg.ROUTES} ACLs matches.")
    out.append("")
    tls_configs = configs.get("tls", {}) if full else {}
    routing = configs.get("routing", {}) if full else {}
    if not full and configs.get("routing"):
        out += ["The routing configurations (the same Sluice/HAProxy file, and nginx's) are "
                "written out in the results file of this run, under `tests/bench/results/`.",
                ""]
    if "sluice" in routing:
        out += ["Routing scenario, Sluice's file (HAProxy's is the same without "
                "`workers 1`):", "", "```", routing["sluice"].rstrip(), "```", ""]
    if "nginx" in routing:
        out += ["Routing scenario, nginx:", "", "```", routing["nginx"].rstrip(), "```", ""]
    for proxy, text in tls_configs.items():
        out += [f"tls-handshake scenario, {NAMES[proxy]}:", "", "```", text.rstrip(), "```", ""]
    idle_configs = configs.get("idle", {}) if full else {}
    for proxy, text in idle_configs.items():
        if proxy != "nginx":
            out += [f"idle-10k scenario, {NAMES[proxy]}:", "", "```", text.rstrip(), "```", ""]
    out.append("Where the nginx configurations differ:")
    out.append("")
    out += [f"- {d}" for d in cfg.NGINX_DIFFERENCES]
    out.append("")
    if any(sc.get("tls") for sc in args.scenarios):
        out += ["The TLS scenarios' configurations:", ""]
        out += [f"- {d}" for d in cfg.TLS_DIFFERENCES]
        out.append("")
    return "\n".join(out)


def scenario_notes(info, args):
    """How the scenarios that do not follow the common setup were run (those in this run)."""
    names = {sc["name"]: sc for sc in args.scenarios}
    st = info["settings"]
    nofile = info.get("nofile", {})
    limit = (f"RLIMIT_NOFILE {nofile.get('soft')} (hard {nofile.get('hard')}), raised by "
             f"the harness and inherited by every process it starts")
    out = []
    maxconn = [sc for sc in args.scenarios if sc.get("maxconn")]
    if maxconn:
        m = maxconn[0]["maxconn"]
        strict = ""
        if not nofile.get("hard") or nofile["hard"] < cfg.haproxy_fd_need(m):
            strict = (f"; HAProxy also gets `no strict-limits` (HAProxy-only line): it wants "
                      f"about {cfg.haproxy_fd_need(m)} descriptors for it and would refuse to "
                      f"start, so it starts with a warning, which is harmless here (no "
                      f"scenario holds more than about {st['idle_connections'] + 200} "
                      f"descriptors in the proxy)")
        which = ", ".join("`" + sc["name"] + "`" for sc in maxconn)
        out.append(f"- {which}: global `maxconn "
                   f"{m}` for Sluice (which parses it and limits nothing) and HAProxy (whose "
                   f"default here, derived from the descriptor limit, would be below 10,000)"
                   f"{strict}. {limit}.")
    if "ka-1000c" in names:
        out.append("- `ka-1000c`: wrk `-t1 -c1000`, otherwise as `ka-100B`; nginx keeps up to "
                   "1,024 idle upstream connections (`keepalive 1024`).")
    if "tcp-1MiB" in names:
        out.append("- `tcp-1MiB`: `mode tcp` as in `tcp`, wrk fetching the origin's 1 MiB file "
                   "`/1m` with keep-alive; MiB/s = req/s x 1 MiB (bodies only, the ~250 B of "
                   "headers left out); CPU per MiB = CPU per request here, given per MiB for "
                   "comparison with other sizes.")
    if "workers2" in names:
        out.append("- `workers2`: **on this 2-core machine this measures contention, not "
                   "scaling.** Each proxy runs with 1 and with 2 workers (Sluice `workers N`, "
                   "HAProxy `nbthread N`, nginx `worker_processes N`), all pinned to CPUs 0 "
                   "and 1 (`taskset -c 0,1`), as is wrk, with 2 threads (`-t2 -c"
                   f"{st['connections']}`); the origin stays on CPU 0. The 2 workers cannot "
                   "get a core each: they share both cores with wrk and the origin. 'proxy "
                   "core busy' is the proxy's CPU time over the wall time, up to 200 %. No "
                   "strace run.")
    if "idle-10k" in names:
        out.append(
            f"- `idle-10k`: no wrk. The harness itself (Python, non-blocking sockets and a "
            f"selector, pinned to CPU 0 while it connects) opens "
            f"{st['idle_connections']:,} client connections to the proxy, at most "
            f"{st['idle_concurrency']} connecting or waiting at once; each sends one "
            f"keep-alive `GET /small` and reads the whole response (200, 100 B), then stays "
            f"open and idle. Each proxy is started afresh for each round and measured alone; "
            f"first {st['idle_warmup']} connections are opened and closed (warm-up), then the worker's "
            f"VmRSS is read (before); after the {st['idle_connections']:,} are open and 2 s "
            f"have passed it is read again (with), and RSS per idle connection = (with - "
            f"before) / connections open. Checked at that moment: the established "
            f"connections on the proxy's port (/proc/net/tcp, the equivalent of `ss -tn "
            f"state established '( sport = :PORT )'`) and that no client socket was closed "
            f"by the proxy, again after {st['idle_hold']:g} s more of idleness. Then all are "
            f"closed and RSS read again; this is done {st['idle_waves']} time"
            f"{'s' if st['idle_waves'] != 1 else ''} on the same process (a second wave "
            f"that costs more than the first would mean growth). Timeouts: Sluice and "
            f"HAProxy `timeout client {cfg.IDLE_TIMEOUT}`, `timeout http-keep-alive "
            f"{cfg.IDLE_TIMEOUT}`; nginx `keepalive_timeout 75s`. RSS counts the process's "
            f"memory only, not the kernel's socket buffers. {limit}.")
    for skipped in info.get("skipped", []):
        out.append(f"- **Skipped**: {skipped}.")
    if not out:
        return ""
    return "Scenarios with their own setup:\n\n" + "\n".join(out)


def summary(info, runs, syscalls, args):
    med = medians(runs)
    sys_by = _syscalls(syscalls)
    out = [f"load average before {info['loadavg_before']}, after {info['loadavg_after']}"]
    for scenario in args.scenarios:
        out += ["", f"{scenario['name']}: {scenario['title']}",
                table_for(scenario, runs, med, sys_by, args.proxies)]
    table = ratio_table(args.scenarios, med, sys_by, args.proxies)
    if table:
        out += ["", "Sluice / other, all scenarios:", table]
    return "\n".join(out)


def update_doc(path, text):
    """Replaces the text between the markers, or puts it (with the markers) right after the
    page's title, above the sections that are there."""
    with open(path) as f:
        doc = f.read()
    block = f"{DOC_START}\n\n{text.rstrip()}\n\n{DOC_END}"
    if DOC_START in doc and DOC_END in doc:
        before = doc[:doc.index(DOC_START)]
        after = doc[doc.index(DOC_END) + len(DOC_END):]
        doc = before + block + after
    else:
        title, sep, rest = doc.partition("\n\n")
        doc = title + sep + block + "\n\n" + rest
    with open(path, "w") as f:
        f.write(doc)

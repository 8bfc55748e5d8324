"""The report of tests/bench/compare.py: medians over rounds, one markdown table per
scenario with the ratios Sluice/HAProxy and Sluice/nginx, a table of ratios over all
scenarios, and the update of docs/benchmarks.md between two markers."""

import os
import statistics

import compare_configs as cfg

SOURCE_PREFIX = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")) + "/"
NAMES = {"direct": "origin direct (ceiling)", "sluice": "Sluice", "haproxy": "HAProxy 2.6",
         "nginx": "nginx"}
DOC_START = "<!-- tests/bench/compare.py: latest run, start (generated, replaced on --doc) -->"
DOC_END = "<!-- tests/bench/compare.py: latest run, end -->"


def run_line(r):
    text = (f"{r['target']:8} round {r['round']}: {r['rps']:9.0f} req/s  "
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
        grouped.setdefault((r["scenario"], r["target"]), []).append(r)
    out = {}
    for key, group in grouped.items():
        m = {k: _median(group, k) for k in (
            "rps", "p50_ms", "p99_ms", "cpu_us", "cpu_user_us", "cpu_sys_us",
            "proxy_core_pct", "rss_kib", "hwm_kib", "cpu1_busy_pct", "cpu0_busy_pct",
            "tcp_segments", "tls_handshakes_per_request", "tls_resumed_pct")}
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
    rows = []
    rows.append("| target | req/s (spread) | p50 | p99 | proxy CPU / request (user + sys) "
                "| proxy core busy | syscalls / request | TCP segments / request | worker RSS |"
                + (" TLS handshakes / request (resumed) |" if tls else ""))
    rows.append("|---|---|---|---|---|---|---|---|---|" + ("---|" if tls else ""))
    name = scenario["name"]
    for target in ["direct"] + proxies:
        m = med.get((name, target))
        if not m:
            continue
        spread = f"{m['rps_min']:.0f}-{m['rps_max']:.0f}"
        label = NAMES[target]
        if tls and target == "direct":
            label = "origin direct, plain HTTP (no TLS: not a ceiling for TLS)"
        cells = [label, f"{m['rps']:.0f} ({spread})", fmt_ms(m["p50_ms"]),
                 fmt_ms(m["p99_ms"])]
        if m["cpu_us"] is not None:
            cells.append(f"{m['cpu_us']:.1f} us ({m['cpu_user_us']:.1f} + "
                         f"{m['cpu_sys_us']:.1f})")
            cells.append(f"{m['proxy_core_pct']:.0f} %")
            s = sys_by.get((name, target))
            cells.append(f"{s['per_request']:.2f}" if s else "-")
            cells.append(_fmt_num(m["tcp_segments"]))
            cells.append(f"{m['rss_kib'] / 1024:.1f} MiB")
        else:
            cells += ["-", "-", "-", _fmt_num(m["tcp_segments"]), "-"]
        if tls:
            cells.append(_fmt_tls(m["tls_handshakes_per_request"], m["tls_resumed_pct"]))
        if m["errors"] or m["non2xx"]:
            cells[0] += f" (errors: socket {m['errors']}, non-2xx {m['non2xx']})"
        rows.append("| " + " | ".join(cells) + " |")
    s_m = med.get((name, "sluice"))
    for other in [p for p in proxies if p != "sluice"]:
        o_m = med.get((name, other))
        if not s_m or not o_m:
            continue
        s_sys, o_sys = sys_by.get((name, "sluice")), sys_by.get((name, other))
        cells = [f"Sluice / {NAMES[other]}",
                 _fmt_ratio(_ratio(s_m["rps"], o_m["rps"])),
                 _fmt_ratio(_ratio(s_m["p50_ms"], o_m["p50_ms"])),
                 _fmt_ratio(_ratio(s_m["p99_ms"], o_m["p99_ms"])),
                 _fmt_ratio(_ratio(s_m["cpu_us"], o_m["cpu_us"])),
                 "",
                 _fmt_ratio(_ratio(s_sys and s_sys["per_request"],
                                   o_sys and o_sys["per_request"])),
                 _fmt_ratio(_ratio(s_m["tcp_segments"], o_m["tcp_segments"])),
                 _fmt_ratio(_ratio(s_m["rss_kib"], o_m["rss_kib"]))]
        if tls:
            cells.append("")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


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
    return "\n".join(rows)


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
    return "\n".join(lines)


def _interference(runs):
    """While wrk hits the origin directly nothing of ours runs on the proxies' CPU: what
    was busy there then was someone else."""
    direct = [r["cpu1_busy_pct"] for r in runs
              if r["target"] == "direct" and r.get("cpu1_busy_pct") is not None]
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
        rows.append(f"| {s['scenario']} | {NAMES[s['target']]} | {s['per_request']:.2f} "
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
        f"origin (nginx, 1 worker, static 100 B and 16 KiB files, keep-alive) share CPU 0. "
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
          "it with the direct row. Ratios are Sluice / other: above 1 is better for req/s, "
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
    for scenario in args.scenarios:
        out.append(f"### {scenario['title']}")
        out.append("")
        out.append(scenario_table(scenario, med, sys_by, args.proxies))
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
    text = reading(args.scenarios, med, args.proxies)
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
    out.append("Where the nginx configurations differ:")
    out.append("")
    out += [f"- {d}" for d in cfg.NGINX_DIFFERENCES]
    out.append("")
    if any(sc.get("tls") for sc in args.scenarios):
        out += ["The TLS scenarios' configurations:", ""]
        out += [f"- {d}" for d in cfg.TLS_DIFFERENCES]
        out.append("")
    return "\n".join(out)


def summary(info, runs, syscalls, args):
    med = medians(runs)
    sys_by = _syscalls(syscalls)
    out = [f"load average before {info['loadavg_before']}, after {info['loadavg_after']}"]
    for scenario in args.scenarios:
        out += ["", f"{scenario['name']}: {scenario['title']}",
                scenario_table(scenario, med, sys_by, args.proxies)]
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

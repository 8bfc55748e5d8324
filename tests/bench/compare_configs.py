"""Configurations for tests/bench/compare.py: the nginx origin, and each proxy under test
(Sluice, HAProxy, nginx) for each scenario.

Sluice and HAProxy get the same file, written in HAProxy's language. The only lines that
differ are the Sluice-only keywords, marked with SLUICE_ONLY at the end of the line here;
they are removed from HAProxy's copy (HAProxy refuses `workers`), and the HAProxy-only
ones, marked HAPROXY_ONLY, removed from Sluice's (the TLS scenarios' `stats socket`, which
the harness reads HAProxy's TLS counters from, and `tune.ssl.cachesize 0`, which Sluice
refuses: it keeps no server-side session cache). Sluice reads `nbthread 1` and ignores it
with a warning. nginx gets the closest equivalent; what differs is listed in
NGINX_DIFFERENCES and printed with the results.

TLS scenarios (`scenario["tls"]`): the proxies terminate TLS with one self-signed ECDSA
P-256 certificate made at run time (`make_certificate`) and talk plain HTTP to the origin.
`tls` is "tickets" (each proxy's defaults: session tickets on) or "full" (no resumption at
all: `no-tls-tickets` on the bind, HAProxy's session cache off, nginx's tickets and cache
off), see TLS_DIFFERENCES.

The scenarios added for issue 8's second list take a few more keys (see compare.py's
SCENARIOS): `maxconn` (a global `maxconn` for Sluice and HAProxy, with HAProxy's
`no strict-limits` when the hard RLIMIT_NOFILE is below what HAProxy wants for it),
`idle` (long client and keep-alive timeouts, so idle connections stay open while they are
measured), `upstream_keepalive` (nginx's idle upstream connections), and the `workers`
argument of haproxy_lang and nginx_proxy (Sluice `workers N`, HAProxy `nbthread N`, nginx
`worker_processes N`).
"""

import os
import subprocess

SLUICE_ONLY = "#SLUICE-ONLY"
HAPROXY_ONLY = "#HAPROXY-ONLY"

# The routing scenario: one ACL per backend, each backend rewrites the path and sets a
# header. The benchmark requests the last route, so each proxy evaluates every ACL.
ROUTES = 10
ROUTED_PATH = f"/api{ROUTES - 1}/small"

SMALL_BYTES = 100
LARGE_BYTES = 16 * 1024
MIB_BYTES = 1024 * 1024
# The origin's files, by path; a path is served whole, and a rewritten one (routing) ends
# with the name of the file it is rewritten to.
BODIES = {"/small": SMALL_BYTES, "/16k": LARGE_BYTES, "/1m": MIB_BYTES}

# idle-10k: how long an idle client connection may stay open (client and keep-alive idle
# timeouts), far longer than the measurement.
IDLE_TIMEOUT = "60s"


def body_bytes(path):
    """The body length the origin serves for `path` (or for the path a proxy rewrites it
    to: /api9/small is /small)."""
    for name, size in BODIES.items():
        if path.endswith(name):
            return size
    raise ValueError(f"no origin file for {path}")

NGINX_DIFFERENCES = [
    "routing: nginx picks a `location` by longest prefix (a tree), where HAProxy and Sluice "
    "evaluate the 10 `path_beg` ACLs in order; the rewrite is `rewrite ^/apiN/(.*)$ /$1 "
    "break` and the headers `proxy_set_header`",
    "nginx buffers upstream responses (`proxy_buffering on`, the default: 8 x 4 KiB plus "
    "one 4 KiB header buffer), so a 16 KiB response is read whole before it is sent",
    "nginx is given `proxy_http_version 1.1` and `proxy_set_header Connection \"\"`, "
    "which its upstream keep-alive needs, and `Host $http_host` (HAProxy and Sluice pass "
    "the client's Host on by themselves)",
    "mode tcp: nginx's `stream` module (`libnginx-mod-stream`), `proxy_pass` to one "
    "upstream",
    "ka-1000c: nginx keeps up to 1,024 idle upstream connections (`keepalive 1024`, 128 in "
    "the other scenarios), since HAProxy and Sluice keep every idle server connection for "
    "reuse: with 128, nginx would close and reopen most of its 1,000 upstream connections "
    "on every request",
    "idle-10k: nginx's idle client connections last `keepalive_timeout 75s` (all "
    "scenarios); HAProxy and Sluice get `timeout client 60s` and `timeout http-keep-alive "
    "60s`",
]

# How the TLS scenarios' configurations differ (printed with the results when one ran).
TLS_DIFFERENCES = [
    "Sluice and HAProxy: `bind ... ssl crt BUNDLE alpn http/1.1` (certificate and key in one "
    "PEM file), no cipher, curve or version setting: each proxy's defaults (TLS 1.2 minimum "
    "in both); wrk, an OpenSSL 3 client, negotiates TLS 1.3, and what a default OpenSSL "
    "client negotiated with each proxy (version, suite, signature, group) is printed under "
    "each TLS table",
    "tls-handshake: `no-tls-tickets` on the bind of both, and `tune.ssl.cachesize 0` in "
    "HAProxy's global section (without it HAProxy resumes TLS 1.3 sessions from its "
    "server-side cache even with no-tls-tickets; Sluice has no server-side cache and "
    "refuses the keyword)",
    "HAProxy's TLS files also have a `stats socket`, Sluice's a `prometheus-exporter` "
    "frontend (served by its stats process, not by the worker): the harness reads the "
    "handshake and resumption counters through them before and after each measured run, "
    "outside the CPU measurement",
    "nginx: `listen ... ssl` with the same certificate and key as two files, "
    "`ssl_protocols TLSv1.2 TLSv1.3`, default ciphers; tls-handshake adds "
    "`ssl_session_tickets off` and `ssl_session_cache off`; nginx has no counter of "
    "resumed handshakes, so its column stays empty (the check before the runs covers it)",
]


def make_certificate(folder, openssl="openssl"):
    """A self-signed ECDSA P-256 certificate for the TLS scenarios, made with the openssl
    command: {"cert", "key", "bundle"} paths (the bundle is certificate + key in one PEM
    file, what `crt` takes)."""
    os.makedirs(folder, exist_ok=True)
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    argv = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "7", "-subj",
            "/CN=sluice-bench.test", "-addext", "subjectAltName=DNS:sluice-bench.test"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"openssl req failed ({out.returncode}): {out.stderr.strip()}")
    bundle = os.path.join(folder, "bundle.pem")
    with open(bundle, "w") as f:
        for path in (cert, key):
            with open(path) as part:
                f.write(part.read())
    return {"cert": cert, "key": key, "bundle": bundle}


def origin_files(www):
    """Writes the origin's bodies: /small (100 B), /16k (16 KiB) and /1m (1 MiB)."""
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "small"), "wb") as f:
        f.write((b"sluice-bench-small-body." * 5)[:SMALL_BYTES - 1] + b"\n")
    with open(os.path.join(www, "16k"), "wb") as f:
        f.write((b"0123456789abcdef" * (LARGE_BYTES // 16))[:LARGE_BYTES - 1] + b"\n")
    with open(os.path.join(www, "1m"), "wb") as f:
        f.write((b"0123456789abcdef" * (MIB_BYTES // 16))[:MIB_BYTES - 1] + b"\n")


def _nginx_common(prefix, workers=1):
    # Everything nginx would otherwise write under /var goes under the run's folder.
    return f"""daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 20000;
}}
"""


def _nginx_http_common(prefix):
    return f"""    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    tcp_nodelay on;
"""


def origin_nginx(prefix, port, www):
    """The upstream every proxy forwards to: one nginx worker serving static files with
    keep-alive. It echoes the X-Backend and X-Bench request headers back (as X-Seen-*) so
    the harness can check the routing scenario's rewrites; nginx adds no header when the
    value is empty, so the other scenarios get none."""
    return _nginx_common(prefix) + f"""http {{
{_nginx_http_common(prefix)}    default_type application/octet-stream;
    sendfile on;
    open_file_cache max=16 inactive=600s;
    etag off;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {www};
        location / {{
            add_header X-Seen-Backend $http_x_backend;
            add_header X-Seen-Bench $http_x_bench;
        }}
    }}
}}
"""


# ---------------------------------------------------------------------------------------
# HAProxy's language, for Sluice and HAProxy.

def haproxy_fd_need(maxconn):
    """About the RLIMIT_NOFILE HAProxy asks for with a global `maxconn` (two descriptors per
    connection, plus a few of its own); below it, HAProxy refuses to start unless told
    `no strict-limits`."""
    return 2 * maxconn + 100


def _haproxy_head(mode, tls=None, workers=1, maxconn=None, idle=False, fd_limit=None):
    extra = ""
    if maxconn:
        # Sluice parses a global maxconn and limits nothing; HAProxy limits the process and
        # each frontend (which defaults to the global value) to it.
        extra += f"    maxconn {maxconn}\n"
        if fd_limit is None or fd_limit < haproxy_fd_need(maxconn):
            extra += f"    no strict-limits {HAPROXY_ONLY}\n"
    if tls:
        extra += f"    stats socket {tls['socket']} mode 600 level admin {HAPROXY_ONLY}\n"
        if tls["mode"] == "full":
            extra += f"    tune.ssl.cachesize 0 {HAPROXY_ONLY}\n"
    client = IDLE_TIMEOUT if idle else "30s"
    keep_alive = f"    timeout http-keep-alive {IDLE_TIMEOUT}\n" if idle else ""
    return f"""global
    workers {workers} {SLUICE_ONLY}
    nbthread {workers}
{extra}
defaults
    mode {mode}
    timeout connect 5s
    timeout client {client}
    timeout server 30s
{keep_alive}"""


def _tls_bind(tls):
    if not tls:
        return ""
    return (f" ssl crt {tls['bundle']} alpn http/1.1"
            + (" no-tls-tickets" if tls["mode"] == "full" else ""))


def _metrics_frontend(tls):
    """Sluice's exporter frontend, from which the harness reads its TLS counters."""
    if not tls:
        return ""
    return "".join(f"{line} {SLUICE_ONLY}\n" for line in (
        "", "frontend metrics", f"    bind 127.0.0.1:{tls['metrics_port']}",
        "    http-request use-service prometheus-exporter"))


def haproxy_lang(scenario, port, origin_port, tls=None, workers=1, fd_limit=None):
    """The configuration for `scenario` (its `kind`: http, routing, tcp, or idle, which is
    http with long idle timeouts), with the Sluice-only and HAProxy-only lines still marked.
    `tls` (TLS scenarios, kind http only): {"mode": "tickets" or "full", "bundle", "socket"
    (HAProxy's stats socket), "metrics_port" (Sluice's exporter)}. `workers`: Sluice's
    `workers` and HAProxy's `nbthread`. `fd_limit`: the hard RLIMIT_NOFILE the proxies get
    (decides HAProxy's `no strict-limits` with a `maxconn`)."""
    kind = scenario["kind"]
    if tls and kind != "http":
        raise ValueError(f"scenario {scenario['name']}: TLS is set up for kind http only")
    head_args = {"workers": workers, "maxconn": scenario.get("maxconn"),
                 "idle": kind == "idle", "fd_limit": fd_limit}
    if kind == "idle":
        kind = "http"
    if kind == "tcp":
        return _haproxy_head("tcp", **head_args) + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    server origin 127.0.0.1:{origin_port}
"""
    head = _haproxy_head("http", tls, **head_args) + "    http-reuse always\n"
    if kind == "http":
        return head + f"""
frontend fe
    bind 127.0.0.1:{port}{_tls_bind(tls)}
    default_backend be
{_metrics_frontend(tls)}
backend be
    server origin 127.0.0.1:{origin_port}
"""
    lines = [head, "frontend fe", f"    bind 127.0.0.1:{port}"]
    lines += [f"    acl route{i} path_beg /api{i}/" for i in range(ROUTES)]
    lines.append("    http-request set-header X-Bench routed")
    lines += [f"    use_backend be{i} if route{i}" for i in range(ROUTES)]
    lines += ["    default_backend be_default", ""]
    for i in range(ROUTES):
        lines += [
            f"backend be{i}",
            f"    http-request set-header X-Backend be{i}",
            f"    http-request replace-path ^/api{i}/(.*) /\\1",
            f"    server origin 127.0.0.1:{origin_port}",
            "",
        ]
    lines += ["backend be_default", f"    server origin 127.0.0.1:{origin_port}", ""]
    return "\n".join(lines)


def for_sluice(text):
    return "".join(line for line in text.splitlines(keepends=True)
                   if HAPROXY_ONLY not in line).replace(" " + SLUICE_ONLY, "")


def for_haproxy(text):
    return "".join(line for line in text.splitlines(keepends=True)
                   if SLUICE_ONLY not in line).replace(" " + HAPROXY_ONLY, "")


# ---------------------------------------------------------------------------------------
# nginx as the proxy under test.

def _nginx_location(extra_headers=(), rewrite=None):
    lines = ["proxy_pass http://origin;"]
    # proxy_set_header in a location replaces every inherited one: repeat them all.
    for name, value in (("Host", "$http_host"), ('Connection', '""')) + tuple(extra_headers):
        lines.append(f"proxy_set_header {name} {value};")
    if rewrite:
        lines.insert(0, rewrite)
    return "\n            ".join(lines)


def _nginx_tls(tls):
    if not tls:
        return ""
    lines = [f"ssl_certificate {tls['cert']};", f"ssl_certificate_key {tls['key']};",
             "ssl_protocols TLSv1.2 TLSv1.3;"]
    if tls["mode"] == "full":
        lines += ["ssl_session_tickets off;", "ssl_session_cache off;"]
    return "".join(f"        {line}\n" for line in lines)


def nginx_proxy(scenario, prefix, port, origin_port, tls=None, workers=1):
    """nginx as the proxy; `tls` as for haproxy_lang, with "cert" and "key" files;
    `workers`: worker_processes."""
    kind = scenario["kind"]
    if kind == "tcp":
        return "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + _nginx_common(
            prefix, workers) + f"""stream {{
    upstream origin {{
        server 127.0.0.1:{origin_port};
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_pass origin;
        proxy_timeout 30s;
    }}
}}
"""
    locations = []
    if kind in ("http", "idle"):
        locations.append(f"""        location / {{
            {_nginx_location()}
        }}""")
    else:
        for i in range(ROUTES):
            locations.append(f"""        location /api{i}/ {{
            {_nginx_location((("X-Bench", "routed"), ("X-Backend", f"be{i}")),
                             f"rewrite ^/api{i}/(.*)$ /$1 break;")}
        }}""")
        locations.append(f"""        location / {{
            {_nginx_location((("X-Bench", "routed"),))}
        }}""")
    body = "\n".join(locations)
    return _nginx_common(prefix, workers) + f"""http {{
{_nginx_http_common(prefix)}    proxy_http_version 1.1;
    upstream origin {{
        server 127.0.0.1:{origin_port};
        keepalive {scenario.get("upstream_keepalive", 128)};
        keepalive_requests 100000000;
        keepalive_timeout 60s;
    }}
    server {{
        listen 127.0.0.1:{port}{" ssl" if tls else ""} backlog=4096;
{_nginx_tls(tls)}{body}
    }}
}}
"""

"""The Grafana dashboard and the alert rules against a real Prometheus server.

A real Prometheus (Debian package `prometheus`, temporary data dir, loopback, 1 s scrapes)
scrapes Sluice's prometheus frontend while traffic flows (200s and 404s through two workers).
Every PromQL expression of deploy/grafana/sluice.json (panel targets, with Grafana's
template variables substituted as Grafana would) and of deploy/prometheus/alerts.yml goes
through Prometheus' query API: any error fails, and so does a dashboard expression that
returns no series (a misspelt metric or label gives an empty result, not an error).
Besides: `promtool check rules` / `check config` on the deploy files, and `promtool test
rules` proving that each alert fires when it should."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import SOURCE_DIR, Sluice, TempDirTest, free_port, wait_for
from http_peers import RecordingBackend, config_head, exporter_frontend, get, ok_response

try:
    import yaml
except ImportError:  # only the promtool unit test needs it
    yaml = None


def _tool(name):
    return shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK)
                                  else None)


PROMETHEUS = _tool("prometheus")
PROMTOOL = _tool("promtool")
NEED_PROMETHEUS = unittest.skipIf(PROMETHEUS is None or PROMTOOL is None,
                                  "prometheus and promtool are not installed (package prometheus)")

DASHBOARD = os.path.join(SOURCE_DIR, "deploy", "grafana", "sluice.json")
ALERTS = os.path.join(SOURCE_DIR, "deploy", "prometheus", "alerts.yml")
PROMETHEUS_YML = os.path.join(SOURCE_DIR, "deploy", "prometheus", "prometheus.yml")
METRICS_DOC = os.path.join(SOURCE_DIR, "docs", "metrics.md")

# Windows substituted for Grafana's interval variables. With 1 s scrapes, Grafana's
# $__rate_interval would be a few seconds; 15 s holds ~15 samples, so rate() has data even
# if the loaded machine delays a few scrapes. $__range is the dashboard's time range.
INTERVALS = {"__rate_interval": "15s", "__interval": "15s", "__range": "1m"}

# Dashboard expressions allowed to return no series in this test's scenario (traffic flows,
# both servers up and checked). Keyed by the raw expression of the dashboard. Keep it
# empty unless an expression legitimately selects nothing here (a zero-valued counter or
# gauge is still a series, so queue, restarts, errors... do not belong here).
DASHBOARD_MAY_BE_EMPTY = {}

VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def grafana_regex_escape(value):
    """What Grafana's Prometheus data source does to a multi-value variable's value before
    putting it in a query (prometheusSpecialRegexEscape): regex characters get a backslash,
    doubled because the value lands in a PromQL string."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"([$^*{}\[\]'+?.()|])", r"\\\\\1", value)


def render(expr, values):
    """`expr` with Grafana's variables ($name, ${name}, ${name:fmt}) replaced by `values`;
    an unknown variable is an error, so the dashboard cannot use one the test ignores."""
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]
    return VARIABLE.sub(sub, expr)


def dashboard_targets(dashboard):
    """[(panel title, refId, expr)] for every panel target, rows' nested panels included."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", ""), t.get("refId", ""), t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    return out


def annotation_exprs(dashboard):
    return [a["expr"] for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]


def query_variables(dashboard):
    return {v["name"]: v for v in dashboard["templating"]["list"] if v.get("type") == "query"}


def variable_query(v):
    q = v.get("query")
    return q.get("query", "") if isinstance(q, dict) else q or v.get("definition", "")


def metric_names(text):
    return set(re.findall(r"\bsluice_[a-z0-9_]+\b", text))


def base_name(name):
    return re.sub(r"_(bucket|sum|count)$", "", name)


def documented_patterns(doc):
    """Regexes for the names docs/metrics.md documents: `sluice_...` in full, and the
    server families it lists by suffix (`_bytes_in_total`, `_*_time_seconds`)."""
    out = []
    for token in re.findall(r"`([^`\s]+)`", doc):
        token = re.sub(r"\{[a-z_,]*\}$", "", token)  # `_http_responses_total{code}`
        if re.fullmatch(r"sluice_[a-z0-9_]+", token):
            out.append(re.escape(token))
        elif re.fullmatch(r"_[a-z0-9_*]+", token):
            out.append("sluice_server" + re.escape(token).replace(r"\*", "[a-z]+"))
    return [re.compile(p) for p in out]


def load_dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


class DeployFilesTest(TempDirTest):
    """The deploy files on their own: no server needed."""

    def test_dashboard_structure(self):
        d = load_dashboard()
        self.assertGreaterEqual(d["schemaVersion"], 36)
        self.assertIsNone(d.get("id"))
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        for name, label in (("frontend", "proxy"), ("backend", "proxy"), ("server", "server")):
            self.assertIn(name, variables)
            self.assertRegex(variable_query(variables[name]),
                             rf"^label_values\(sluice_\w+(\{{.*\}})?, {label}\)$")
        ids = []

        def walk(panels):
            for p in panels:
                ids.append(p["id"])
                self.assertIn("gridPos", p, p["title"])
                if p["type"] != "row":
                    self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
                    self.assertTrue(p.get("targets"), p["title"])
                for t in p.get("targets", []):
                    self.assertEqual(t["datasource"]["uid"], "${datasource}", p["title"])
                walk(p.get("panels", []))

        walk(d["panels"])
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        # Multi-value variables only work in regex matchers (All is `.*`, several values
        # are `(a|b)`).
        for title, ref, expr in dashboard_targets(d):
            self.assertNotRegex(expr, r'[^=!~]=\s*"\$\{?(instance|frontend|backend|server)\b',
                                f"{title}/{ref}: use =~ for a multi-value variable")
        for row in ("Overview", "Frontends", "Backends", "Servers"):
            self.assertIn(row, [p["title"] for p in d["panels"] if p["type"] == "row"])

    def test_every_metric_used_is_documented(self):
        with open(METRICS_DOC) as f:
            documented = documented_patterns(f.read())
        with open(ALERTS) as f:
            used = metric_names(f.read())
        for _, _, expr in dashboard_targets(load_dashboard()):
            used |= metric_names(expr)
        missing = sorted(n for n in used
                         if not any(p.fullmatch(base_name(n)) for p in documented))
        self.assertEqual(missing, [], "used by the dashboard or alerts, not in docs/metrics.md")

    @NEED_PROMETHEUS
    def test_promtool_accepts_rules_and_config(self):
        for args in (["check", "rules", ALERTS], ["check", "config", PROMETHEUS_YML]):
            p = subprocess.run([PROMTOOL] + args, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    @NEED_PROMETHEUS
    @unittest.skipIf(yaml is None, "PyYAML is not installed")
    def test_alerts_fire_when_they_should(self):
        """`promtool test rules` on synthetic series. The rules' annotations are stripped
        (promtool compares them verbatim; their wording is not what is tested here)."""
        with open(ALERTS) as f:
            rules = yaml.safe_load(f)
        names = set()
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
                names.add(rule.get("alert"))
        stripped = self.write("alerts.yml", yaml.safe_dump(rules))
        lb = 'instance="lb1:8405",job="sluice"'
        L = {"instance": "lb1:8405", "job": "sluice"}
        tests = {
            "rule_files": [stripped],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [
                    {"series": f'up{{{lb}}}', "values": "1 1 0x10"},
                    {"series": f'sluice_backend_status{{{lb},proxy="app",state="DOWN"}}',
                     "values": "0 0 1x10"},
                    {"series": f'sluice_backend_status{{{lb},proxy="ok",state="DOWN"}}',
                     "values": "0x12"},
                    {"series": f'sluice_backend_active_servers{{{lb},proxy="app"}}',
                     "values": "1 1 0x10"},
                    {"series": f'sluice_backend_backup_servers{{{lb},proxy="app"}}',
                     "values": "1x12"},
                    {"series": f'sluice_server_status{{{lb},proxy="app",server="s1",state="DOWN"}}',
                     "values": "0 0 1x10"},
                    {"series": f'sluice_server_check_up_down_total{{{lb},proxy="app",server="s1"}}',
                     "values": "0 1 2 3 3 3 3 3 3 3 3 3"},
                    {"series": f'sluice_server_check_up_down_total{{{lb},proxy="app",server="s2"}}',
                     "values": "0 1 1 1 1 1 1 1 1 1 1 1"},
                    # 1 request/s, 10% 5xx, on frontend fe and backend app.
                    {"series": f'sluice_frontend_http_responses_total{{{lb},proxy="fe",code="2xx"}}',
                     "values": "0+54x12"},
                    {"series": f'sluice_frontend_http_responses_total{{{lb},proxy="fe",code="5xx"}}',
                     "values": "0+6x12"},
                    {"series": f'sluice_backend_http_responses_total{{{lb},proxy="app",code="2xx"}}',
                     "values": "0+54x12"},
                    {"series": f'sluice_backend_http_responses_total{{{lb},proxy="app",code="5xx"}}',
                     "values": "0+6x12"},
                    # A nearly idle frontend (one response a minute), all 5xx: no alert.
                    {"series": f'sluice_frontend_http_responses_total{{{lb},proxy="idle",code="5xx"}}',
                     "values": "0+1x12"},
                    {"series": f'sluice_process_reload_failures_total{{{lb}}}',
                     "values": "0 0 0 1x9"},
                    {"series": f'sluice_process_worker_restarts_total{{{lb}}}',
                     "values": "0 0 0 0 2x8"},
                ],
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": a, "exp_alerts": []}
                    for a in sorted(names)
                ] + [
                    {"eval_time": "4m", "alertname": "SluiceExporterDown",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "critical"}}]},
                    {"eval_time": "4m", "alertname": "SluiceBackendDown",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "critical", "proxy": "app",
                                                    "state": "DOWN"}}]},
                    {"eval_time": "4m", "alertname": "SluiceBackendOnBackupServers",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "warning", "proxy": "app"}}]},
                    {"eval_time": "4m", "alertname": "SluiceServerDown",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "warning", "proxy": "app",
                                                    "server": "s1", "state": "DOWN"}}]},
                    {"eval_time": "2m", "alertname": "SluiceServerFlapping", "exp_alerts": []},
                    {"eval_time": "4m", "alertname": "SluiceServerFlapping",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "warning", "proxy": "app",
                                                    "server": "s1"}}]},
                    {"eval_time": "10m", "alertname": "SluiceFrontendHighErrorRatio",
                     "exp_alerts": [{"exp_labels": {"instance": "lb1:8405", "proxy": "fe",
                                                    "severity": "warning"}}]},
                    {"eval_time": "10m", "alertname": "SluiceBackendHighErrorRatio",
                     "exp_alerts": [{"exp_labels": {"instance": "lb1:8405", "proxy": "app",
                                                    "severity": "warning"}}]},
                    {"eval_time": "4m", "alertname": "SluiceReloadFailed",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "warning"}}]},
                    {"eval_time": "5m", "alertname": "SluiceWorkerRestarts",
                     "exp_alerts": [{"exp_labels": {**L, "severity": "warning"}}]},
                ],
            }],
        }
        tested = {t["alertname"] for t in tests["tests"][0]["alert_rule_test"]
                  if t["exp_alerts"]}
        self.assertEqual(tested, names, "every alert needs a firing case here")
        path = self.write("alerts_test.yml", yaml.safe_dump(tests))
        p = subprocess.run([PROMTOOL, "test", "rules", path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


def sluice_config(port, prom, backend_port):
    return config_head(workers=2) + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
{exporter_frontend(prom)}
backend app
    option httpchk GET /health
    server s1 127.0.0.1:{backend_port} check inter 1s
    server s2 127.0.0.1:{backend_port} check inter 1s backup
"""


def prometheus_config(target):
    # JSON is YAML: no YAML library needed to write it.
    return json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                   "evaluation_interval": "1s"},
        "rule_files": [ALERTS],
        "scrape_configs": [{
            "job_name": "sluice",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [target]}],
        }],
    }, indent=2)


class Traffic(threading.Thread):
    """Requests through sluice until stopped: three 200s for each 404."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.done = threading.Event()
        self.sent = 0
        self.failures = 0

    def run(self):
        while not self.done.is_set():
            path = f"/missing/{self.sent}" if self.sent % 4 == 3 else f"/ok/{self.sent}"
            try:
                if get(self.port, path) is None:
                    self.failures += 1
            except Exception:  # noqa: BLE001 (counted and asserted at the end)
                self.failures += 1
            self.sent += 1
            self.done.wait(0.02)

    def stop(self):
        self.done.set()
        self.join(timeout=30)


class QueryError(Exception):
    pass


@NEED_PROMETHEUS
class PrometheusServerTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.backend = RecordingBackend(self, "b", respond=lambda req: ok_response(
            "b", status=b"404 Not Found" if req.target.startswith("/missing") else b"200 OK"))
        self.port, self.prom = free_port(), free_port()
        self.sluice = Sluice(self, sluice_config(self.port, self.prom, self.backend.port),
                             [self.port, self.prom])
        self.traffic = Traffic(self.port)
        self.traffic.start()
        self.addCleanup(self.traffic.stop)
        self.target = f"127.0.0.1:{self.prom}"
        self.web = free_port()
        config = self.write("prometheus.yml", prometheus_config(self.target))
        self.prom_log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.addCleanup(self.prom_log.close)
        self.server = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.web}", "--web.enable-lifecycle"],
            stdout=self.prom_log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.addCleanup(self.stop_prometheus)

    def stop_prometheus(self):
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def prometheus_output(self):
        self.prom_log.flush()
        with open(self.prom_log.name) as f:
            return f.read()[-4000:]

    # -- Prometheus' HTTP API ------------------------------------------------------------

    def api(self, path, params=None, post=True):
        """An /api/v1 endpoint (params POSTed as a form, or in the URL when not `post`);
        returns `data` or raises QueryError with Prometheus' message."""
        url = f"http://127.0.0.1:{self.web}{path}"
        body = urllib.parse.urlencode(params or {}, doseq=True)
        if not post and body:
            url, body = f"{url}?{body}", ""
        body = body.encode() if body else None
        try:
            with urllib.request.urlopen(url, data=body, timeout=15) as r:
                reply = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                reply = json.load(e)
            except ValueError:
                raise QueryError(f"HTTP {e.code}") from None
        if reply.get("status") != "success":
            raise QueryError(f"{reply.get('errorType')}: {reply.get('error')}")
        if reply.get("warnings"):
            raise QueryError(f"warnings: {reply['warnings']}")
        return reply["data"]

    def query(self, expr):
        data = self.api("/api/v1/query", {"query": expr})
        if data["resultType"] == "vector":
            return data["result"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        raise QueryError(f"unexpected result type {data['resultType']}")

    def ready(self):
        if self.server.poll() is not None:
            raise AssertionError(f"prometheus exited {self.server.returncode}:\n"
                                 f"{self.prometheus_output()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/-/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def target_up(self):
        targets = self.api("/api/v1/targets")["activeTargets"]
        return any(t["labels"].get("instance") == self.target and t["health"] == "up"
                   for t in targets)

    def has_data(self, expr):
        try:
            return bool(self.query(expr))
        except QueryError:
            return False

    def rules_evaluated(self):
        """True once every rule was evaluated; fails at once on a rule in error."""
        rules = [r for g in self.api("/api/v1/rules")["groups"] for r in g["rules"]]
        broken = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] == "err"]
        if broken:
            raise AssertionError(f"rules in error: {broken}")
        return bool(rules) and all(r["health"] == "ok" for r in rules)

    def wait_until_scraped(self):
        wait_for(self.ready, timeout=60, what="prometheus /-/ready")
        wait_for(self.target_up, timeout=30, what=f"target {self.target} up")
        # Enough samples that rate() over the 15 s window has data, while traffic flows,
        # and both servers checked (check_status has a state at 1).
        for expr in (
            'count_over_time(sluice_frontend_http_requests_total{proxy="fe"}[15s]) >= 4',
            'rate(sluice_frontend_http_responses_total{proxy="fe",code="2xx"}[15s]) > 0',
            'rate(sluice_frontend_http_responses_total{proxy="fe",code="4xx"}[15s]) > 0',
            'rate(sluice_backend_response_time_seconds_count{proxy="app"}[15s]) > 0',
            'count(sluice_server_check_status{proxy="app"} == 1) == 2',
        ):
            try:
                wait_for(lambda: self.has_data(expr), timeout=30, what=f"data for {expr}")
            except AssertionError as e:
                raise AssertionError(f"{e} ({self.traffic.sent} requests sent through sluice, "
                                     f"{self.traffic.failures} failed)") from None
        wait_for(self.rules_evaluated, timeout=30, what="every alert rule evaluated")

    # -- the test ------------------------------------------------------------------------

    def test_dashboard_and_alert_expressions_run_on_real_data(self):
        dashboard = load_dashboard()
        self.wait_until_scraped()

        instance = grafana_regex_escape(self.target)
        variants = {
            # One value per variable, as a user picks them.
            "one": {"instance": instance, "frontend": "fe", "backend": "app", "server": "s1",
                    "datasource": "prometheus", **INTERVALS},
            # "All" everywhere: the variables' allValue.
            "all": {**{name: v.get("allValue") or ".*"
                       for name, v in query_variables(dashboard).items()},
                    "datasource": "prometheus", **INTERVALS},
        }
        failures = []
        nan_only = []
        checked = 0

        # The variables' own queries, as Grafana runs label_values(): the label's values
        # among the series the selector matches.
        expected_values = {"instance": {self.target}, "frontend": {"fe", "prometheus"},
                           "backend": {"app"}, "server": {"s1", "s2"}}
        for name, v in query_variables(dashboard).items():
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable_query(v).strip())
            if not m:
                failures.append(f"variable {name}: not label_values(selector, label)")
                continue
            selector = render(m.group(1), variants["all"])
            try:
                values = set(self.api(f"/api/v1/label/{m.group(2)}/values",
                                      {"match[]": selector}, post=False))
            except QueryError as e:
                failures.append(f"variable {name}: {e}")
                continue
            checked += 1
            if not expected_values.get(name, set()) <= values:
                failures.append(f"variable {name}: {sorted(values)}, "
                                f"want {sorted(expected_values.get(name, set()))}")

        for variant, values in variants.items():
            for title, ref, raw in dashboard_targets(dashboard):
                expr = render(raw, values)
                where = f"[{variant}] panel {title!r} {ref}: {expr}"
                try:
                    result = self.query(expr)
                except QueryError as e:
                    failures.append(f"{where}\n    error: {e}")
                    continue
                checked += 1
                if not result and raw not in DASHBOARD_MAY_BE_EMPTY:
                    failures.append(f"{where}\n    returned no series")
                elif result and all(r["value"][1] in ("NaN", "+Inf", "-Inf") for r in result):
                    nan_only.append(where)
            for raw in annotation_exprs(dashboard):
                # "> 0" filters: empty without reloads or restarts, which is right.
                try:
                    self.query(render(raw, values))
                    checked += 1
                except QueryError as e:
                    failures.append(f"[{variant}] annotation {raw}\n    error: {e}")

        # Alert rules as Prometheus loaded them from deploy/prometheus/alerts.yml. In this
        # healthy scenario they are expected to select nothing: only errors count.
        rules = [r for g in self.api("/api/v1/rules")["groups"] for r in g["rules"]]
        with open(ALERTS) as f:
            in_file = len(re.findall(r"^\s*-\s*(?:alert|record):", f.read(), re.M))
        self.assertEqual(len(rules), in_file, "rules loaded by prometheus vs alerts.yml")
        selecting = []
        for r in rules:
            try:
                if self.query(r["query"]):
                    selecting.append(r["name"])
                checked += 1
            except QueryError as e:
                failures.append(f"rule {r['name']}: {r['query']}\n    error: {e}")
        firing = [a["labels"]["alertname"] for a in self.api("/api/v1/alerts")["alerts"]
                  if a["state"] == "firing"]

        print(f"\n  {checked} queries checked ({len(dashboard_targets(dashboard))} panel "
              f"targets x {len(variants)} variants, {len(annotation_exprs(dashboard))} "
              f"annotations x {len(variants)}, {len(rules)} rules, "
              f"{len(query_variables(dashboard))} variables); "
              f"{self.traffic.sent} requests sent", file=sys.stderr)
        for name in selecting:
            print(f"  rule condition true right now: {name}", file=sys.stderr)
        for where in nan_only:
            print(f"  only NaN (no observations in the window): {where}", file=sys.stderr)
        self.assertEqual(self.traffic.failures, 0, "requests through sluice failed")
        if failures:
            self.fail(f"{len(failures)} failures:\n" + "\n".join(failures))
        self.assertEqual(sorted(set(firing)), [], "alerts firing in a healthy scenario")


if __name__ == "__main__":
    unittest.main()

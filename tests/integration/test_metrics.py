"""Metrics through the real binary: known traffic gives exact counter values summed over
every worker, counters never decrease across reloads and a killed worker, the scrape
passes `promtool check metrics`, and scope= filters as HAProxy's exporter."""

import os
import re
import shutil
import signal
import subprocess
import unittest
import urllib.request

from harness import Sluice, TempDirTest, free_port, wait_for
from http_peers import RecordingBackend, config_head, exporter_frontend, get, ok_response


def config(port, prom, backend_port, workers=2, header="one"):
    return config_head(workers) + f"""
frontend fe
    bind 127.0.0.1:{port}
    http-response set-header X-Gen {header}
    default_backend app
{exporter_frontend(prom)}
backend app
    server s1 127.0.0.1:{backend_port}
"""


def scrape(port, query=""):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics{query}", timeout=10) as r:
        return r.read().decode()


def samples(text):
    """{'name{labels}': value} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def children(pid, generation=None):
    """Worker pids of the master `pid` (of one generation when given)."""
    pattern = "sluice: worker" + (f" [0-9]+ \\(gen {generation}\\)" if generation else "")
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", pattern],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


class MetricsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.b = RecordingBackend(self, "b", respond=lambda req: ok_response(
            "b", status=b"404 Not Found" if req.target.startswith("/missing") else b"200 OK"))
        self.port, self.prom = free_port(), free_port()
        self.sluice = Sluice(self, config(self.port, self.prom, self.b.port),
                             [self.port, self.prom])

    def value(self, key):
        return samples(scrape(self.prom)).get(key)

    def test_known_traffic_gives_exact_counts_across_workers(self):
        # The harness's readiness probe was a connection too: count from here.
        wait_for(lambda: self.value('sluice_frontend_sessions_total{proxy="fe"}') is not None,
                 what="first scrape")
        sessions_before = self.value('sluice_frontend_sessions_total{proxy="fe"}')
        for i in range(15):
            self.assertEqual(get(self.port, f"/ok/{i}").status, 200)
        for i in range(5):
            self.assertEqual(get(self.port, f"/missing/{i}").status, 404)
        expected = {
            'sluice_frontend_http_requests_total{proxy="fe"}': 20,
            'sluice_frontend_http_responses_total{proxy="fe",code="2xx"}': 15,
            'sluice_frontend_http_responses_total{proxy="fe",code="4xx"}': 5,
            'sluice_backend_http_responses_total{proxy="app",code="2xx"}': 15,
            'sluice_backend_http_responses_total{proxy="app",code="4xx"}': 5,
            'sluice_server_http_responses_total{proxy="app",server="s1",code="4xx"}': 5,
            'sluice_frontend_sessions_total{proxy="fe"}': sessions_before + 20,
        }
        for key, want in expected.items():
            wait_for(lambda: self.value(key) == want, timeout=10, what=f"{key} == {want}")
        text = scrape(self.prom)
        s = samples(text)
        self.assertEqual(s['sluice_backend_response_time_seconds_count{proxy="app"}'], 20)
        self.assertEqual(s['sluice_server_status{proxy="app",server="s1",state="UP"}'], 1)
        self.assertEqual(s['sluice_frontend_current_sessions{proxy="fe"}'], 0)
        self.assertIn("sluice_process_build_info", text)

    def test_scope_filters_families(self):
        text = scrape(self.prom, "?scope=backend")
        self.assertIn("sluice_backend_", text)
        self.assertNotIn("sluice_frontend_", text)
        self.assertNotIn("sluice_server_", text)
        with self.assertRaises(urllib.error.HTTPError) as e:
            scrape(self.prom, "?scope=nonsense")
        self.assertEqual(e.exception.code, 400)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{self.prom}/elsewhere", timeout=10)
        self.assertEqual(e.exception.code, 404)

    def test_a_killed_stats_process_is_replaced_and_counts_are_kept(self):
        for i in range(3):
            get(self.port, f"/{i}")
        key = 'sluice_frontend_http_requests_total{proxy="fe"}'
        wait_for(lambda: self.value(key) == 3, what="3 requests counted")
        out = subprocess.run(["pgrep", "-P", str(self.sluice.proc.pid), "-f", "sluice: stats"],
                             capture_output=True, text=True).stdout.split()
        self.assertEqual(len(out), 1)
        os.kill(int(out[0]), signal.SIGKILL)
        wait_for(lambda: "stats (pid" in self.sluice.output(), what="the master noticing")

        def scraped():
            try:
                return self.value(key) == 3
            except OSError:
                return False

        wait_for(scraped, what="a new stats process serving the same counts")

    @unittest.skipIf(shutil.which("promtool") is None, "promtool is not installed")
    def test_scrape_passes_promtool(self):
        get(self.port, "/")
        text = scrape(self.prom)
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_counters_never_decrease_across_reloads_and_a_killed_worker(self):
        def traffic(n):
            for i in range(n):
                self.assertEqual(get(self.port, f"/t{i}").status, 200)

        def totals():
            return {k: v for k, v in samples(scrape(self.prom)).items()
                    if k.split("{")[0].endswith(("_total", "_count", "_bucket", "_sum"))}

        traffic(10)
        wait_for(lambda: self.value('sluice_frontend_http_requests_total{proxy="fe"}') == 10,
                 what="10 requests counted")
        history = [totals()]
        for gen in (2, 3):
            with open(self.sluice.path, "w") as f:
                f.write(config(self.port, self.prom, self.b.port, header=f"g{gen}"))
            self.sluice.proc.send_signal(signal.SIGHUP)
            self.sluice.wait_generation(gen)
            traffic(5)
            history.append(totals())
            # A worker of the serving generation (an old one may still be draining).
            workers = children(self.sluice.proc.pid, gen)
            self.assertTrue(workers)
            restarts = self.sluice.output().count("restarting it")
            os.kill(workers[0], signal.SIGKILL)
            wait_for(lambda: self.sluice.output().count("restarting it") > restarts,
                     what="respawn")
            traffic(5)
            history.append(totals())
        for before, after in zip(history, history[1:]):
            for key, value in before.items():
                if key in after:
                    self.assertGreaterEqual(after[key], value, key)
        wait_for(lambda: self.value('sluice_frontend_http_requests_total{proxy="fe"}') == 30,
                 what="30 requests counted after reloads and a kill")
        s = samples(scrape(self.prom))
        self.assertEqual(s["sluice_process_reloads_total"], 2)
        self.assertGreaterEqual(s["sluice_process_worker_restarts_total"], 1)


if __name__ == "__main__":
    unittest.main()


class HealthMetricsTest(TempDirTest):
    def test_check_failures_transitions_and_downtime_are_counted(self):
        prom, port, dead = free_port(), free_port(), free_port()
        Sluice(self, config_head(connect="200ms") + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
{exporter_frontend(prom)}backend app
    server gone 127.0.0.1:{dead} check inter 100ms fall 1 rise 2
""", [port, prom])
        key = '{proxy="app",server="gone"}'
        wait_for(lambda: samples(scrape(prom)).get(f"sluice_server_check_up_down_total{key}") == 1,
                 what="one up-to-down transition")
        s = samples(scrape(prom))
        self.assertEqual(s[f"sluice_server_check_failures_total{key}"], 1)
        self.assertEqual(s[f'sluice_server_status{{proxy="app",server="gone",state="DOWN"}}'], 1)
        wait_for(lambda: samples(scrape(prom)).get(f"sluice_server_downtime_seconds_total{key}", 0)
                 > 0.2, what="downtime accumulating")
        self.assertEqual(get(port).status, 503)

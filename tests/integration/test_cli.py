"""`sluice` and `sluicectl` command lines: checking configs, exit codes, output format."""

import json
import os
import re
import unittest

from harness import SLUICE, SLUICECTL, SOURCE_DIR, TempDirTest, run

GOOD = """\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend www
    bind 127.0.0.1:8080
    default_backend web
backend web
    server w1 127.0.0.1:9001 check
"""


class CheckTest(TempDirTest):
    def test_valid_config_prints_the_haproxy_message_and_exits_0(self):
        cfg = self.write("ok.cfg", GOOD)
        code, out, err = run([SLUICE, "-c", "-f", cfg])
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "Configuration file is valid\n")
        self.assertEqual(err, "")

    def test_every_error_is_reported_with_file_line_and_exit_1(self):
        cfg = self.write("bad.cfg", GOOD.replace("default_backend web", "default_backend wbe")
                         + "    wieght 3\n" + "    timeout server 5q\n")
        code, out, err = run([SLUICE, "-c", "-f", cfg])
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertIn(f"{cfg}:8: error: unknown backend 'wbe' in 'default_backend'; "
                      "did you mean 'web'?", lines)
        self.assertIn(f"{cfg}:11: error: unknown keyword 'wieght' in 'backend' section", err)
        self.assertIn(f"{cfg}:12: error: 'timeout server': unknown time unit 'q'", err)
        self.assertEqual(lines[-1], "Configuration is invalid: 3 errors")
        # Diagnostics come in line order.
        numbers = [int(m.group(1)) for m in re.finditer(r"bad\.cfg:(\d+):", err)]
        self.assertEqual(numbers, sorted(numbers))

    def test_warnings_do_not_fail_the_check(self):
        cfg = self.write("warn.cfg", GOOD + "    reqadd X-A:\\ b\n")
        code, out, err = run([SLUICE, "-c", "-f", cfg])
        self.assertEqual(code, 0, err)
        self.assertIn(f"{cfg}:11: warning: 'reqadd' was removed in HAProxy 2.1", err)
        code, out, err = run([SLUICE, "-c", "-q", "-f", cfg])
        self.assertEqual((code, out, err), (0, "", ""))

    def test_several_files_and_a_folder_load_in_order(self):
        self.write("conf.d/20-backend.cfg", "backend web\n  mode http\n  server w 127.0.0.1:1\n")
        self.write("conf.d/10-frontend.cfg",
                   "frontend f\n  mode http\n  bind :8080\n  default_backend web\n")
        self.write("conf.d/README", "not a config\n")
        g = self.write("global.cfg", "global\n  workers 2\n")
        code, out, err = run([SLUICE, "-c", "-f", g, "-f", os.path.join(self.dir, "conf.d")])
        self.assertEqual(code, 0, err)
        code, out, err = run([SLUICE, "--dump-config", "-f", g, "-f",
                              os.path.join(self.dir, "conf.d")])
        self.assertEqual(code, 0, err)
        files = re.findall(r'^files: "(.*)"$', out, re.M)
        self.assertEqual([os.path.basename(f) for f in files],
                         ["global.cfg", "10-frontend.cfg", "20-backend.cfg"])
        self.assertIn("workers: 2", out)

    def test_dump_config_is_the_compiled_message(self):
        cfg = self.write("ok.cfg", GOOD)
        code, out, err = run([SLUICE, "-f", cfg, "--dump-config"])
        self.assertEqual(code, 0, err)
        self.assertIn('name: "www"', out)
        self.assertIn("mode: MODE_HTTP", out)
        self.assertIn("inter_ms: 2000", out)  # HAProxy's default, applied
        self.assertIn("client_ms: 30000", out)

    def test_missing_file_and_usage_errors(self):
        code, out, err = run([SLUICE, "-c", "-f", os.path.join(self.dir, "nope.cfg")])
        self.assertEqual(code, 1)
        self.assertIn("cannot open", err)
        code, out, err = run([SLUICE, "-c"])
        self.assertEqual(code, 2)
        self.assertIn("no configuration given", err)
        code, out, err = run([SLUICE, "--frobnicate"])
        self.assertEqual(code, 2)
        self.assertIn("unrecognised option", err)

    def test_device_files_are_not_read(self):
        cfg = self.write("dev.cfg", "defaults\n  mode http\n  errorfile 503 /dev/zero\n")
        code, out, err = run([SLUICE, "-c", "-f", cfg], timeout=20)
        self.assertEqual(code, 1)
        self.assertIn("dev.cfg:3: error: cannot read error file '/dev/zero': not a regular file",
                      err)

    def test_environment_variables_expand(self):
        cfg = self.write("env.cfg", GOOD.replace("127.0.0.1:8080", '"${FRONT_ADDR}"'))
        env = dict(os.environ, FRONT_ADDR="127.0.0.1:8181")
        code, out, err = run([SLUICE, "-f", cfg, "--dump-config"], env=env)
        self.assertEqual(code, 0, err)
        self.assertIn("port_first: 8181", out)

    def test_version_and_help(self):
        code, out, err = run([SLUICE, "--version"])
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^sluice \d+\.\d+\.\d+\n$")
        code, out, err = run([SLUICE, "--help"])
        self.assertEqual(code, 0)
        self.assertIn("--check", out)
        self.assertIn("Exit codes", out)

    def test_quickstart_example_is_valid(self):
        cfg = os.path.join(SOURCE_DIR, "deploy", "examples", "http-routing.cfg")
        code, out, err = run([SLUICE, "-c", "-f", cfg])
        self.assertEqual((code, err), (0, ""))


class SluicectlTest(unittest.TestCase):
    def test_help_and_version(self):
        code, out, err = run([SLUICECTL, "--help"])
        self.assertEqual(code, 0)
        self.assertIn("set server BACKEND/SERVER state ready|drain|maint", out)
        code, out, err = run([SLUICECTL, "--version"])
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^sluicectl \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    unittest.main()

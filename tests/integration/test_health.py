"""Active health checks: a dead server leaves traffic within fall x inter (+ inter), comes
back after rise checks; HTTP expectations; backups; maint; reloads that keep state."""

import os
import re
import signal
import socket
import threading
import time
import unittest

from harness import (SLUICECTL, HttpBackend, Sluice, TcpBackend, TempDirTest, free_port,
                     recv_all, run, wait_for)


def named(name):
    def handler(sock, backend):
        sock.sendall(name)
    return handler


class HealthTest(TempDirTest):
    def sluice(self, backend_lines, extra_backend="", extra_global=""):
        self.port = free_port()
        self.sock = os.path.join(self.dir, "sluice.sock")
        text = f"""global
    workers 2
    stats socket {self.sock}
{extra_global}
defaults
    mode tcp
    timeout connect 500ms
    timeout check 300ms
    retries 2
    option redispatch
frontend f
    bind 127.0.0.1:{self.port}
    default_backend pool
backend pool
{extra_backend}
{backend_lines}
"""
        self.s = Sluice(self, text, [self.port])
        return self.s

    def state(self, server):
        _, out, _ = run([SLUICECTL, "-s", self.sock, "show", "servers"])
        m = re.search(rf"pool/{server}\s+\S+\s+(\S+)\s+(\S+)", out)
        return m.group(1) if m else None

    def answers(self, n=10):
        out = []
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
                out.append(recv_all(c))
        return out

    def test_dead_server_leaves_traffic_and_comes_back(self):
        a = TcpBackend(self, named(b"a"))
        b = TcpBackend(self, named(b"b"))
        b_port = b.port
        self.sluice(f"    default-server check inter 200ms fall 2 rise 2\n"
                    f"    server a 127.0.0.1:{a.port}\n    server b 127.0.0.1:{b_port}")
        wait_for(lambda: set(self.answers()) == {b"a", b"b"}, what="both servers serving")
        failures = []  # (started after b was marked DOWN?, what happened)
        running = True
        marked_down = threading.Event()

        def load():
            while running:
                after = marked_down.is_set()
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
                        got = recv_all(c)
                    if got not in (b"a", b"b"):
                        failures.append((after, got))
                except OSError as e:
                    failures.append((after, repr(e)))

        threads = [threading.Thread(target=load) for _ in range(2)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        b.close()
        wait_for(lambda: self.state("b") == "DOWN", timeout=10, what="b DOWN")
        down_ms = (time.monotonic() - t0) * 1000
        marked_down.set()
        time.sleep(0.3)
        # Nothing reaches the dead address now: every answer comes from a.
        self.assertEqual(set(self.answers(20)), {b"a"})
        b2 = TcpBackend(self, named(b"b"), port=b_port)
        t1 = time.monotonic()
        wait_for(lambda: self.state("b") == "UP", timeout=10, what="b UP again")
        up_ms = (time.monotonic() - t1) * 1000
        wait_for(lambda: b"b" in self.answers(), what="traffic back on b")
        running = False
        for t in threads:
            t.join()
        during = [f for after, f in failures if not after]
        print(f"\nhealth: marked DOWN {down_ms:.0f} ms after the kill (bound: fall x inter + "
              f"inter = 600 ms), UP {up_ms:.0f} ms after the restart; client failures while "
              f"it was being detected: {len(during)} (connections the dead server had already "
              f"accepted), after: {len(failures) - len(during)}")
        # Refused connections are retried (redispatch), so only connections the server had
        # already accepted when it died can fail, and none once it is marked DOWN.
        self.assertEqual([f for after, f in failures if after], [])
        self.assertLessEqual(len(during), 4)
        self.assertLess(down_ms, 600 + 400)  # the bound plus polling slack
        out = self.s.output()
        self.assertRegex(out, r"Server pool/b is DOWN, reason: Layer4 connection problem")
        self.assertRegex(out, r"Server pool/b is UP, reason: Layer4 check passed")
        self.assertEqual(b2.connections > 0, True)

    def test_http_check_expectations(self):
        ok = HttpBackend(self, "ok")
        err = HttpBackend(self, "err")
        err.status = 500
        slow = HttpBackend(self, "slow")
        slow.delay = 1.0
        wrong = HttpBackend(self, "wrong")
        wrong.body = b"starting"
        closed = free_port()
        self.sluice("\n".join([
            "    option httpchk",
            "    http-check send meth GET uri /health ver HTTP/1.1 hdr Host svc.local",
            "    default-server check inter 200ms fall 1 rise 1",
            f"    server ok 127.0.0.1:{ok.port}",
            f"    server err 127.0.0.1:{err.port}",
            f"    server slow 127.0.0.1:{slow.port}",
            f"    server closed 127.0.0.1:{closed}",
        ]))
        wait_for(lambda: all(self.state(s) == "DOWN" for s in ("err", "slow", "closed")),
                 timeout=10, what="err, slow and closed DOWN")
        self.assertEqual(self.state("ok"), "UP")
        method, path, headers = ok.requests[-1]
        self.assertEqual((method, path, headers.get("Host")), ("GET", "/health", "svc.local"))
        out = self.s.output()
        self.assertRegex(out, r"Server pool/err is DOWN, reason: Layer7 wrong status, code: 500")
        self.assertRegex(out, r"Server pool/slow is DOWN, reason: Layer7 timeout")

    def test_string_expectation(self):
        good = HttpBackend(self, "good")
        good.body = b"status: ready"
        bad = HttpBackend(self, "bad")
        bad.body = b"status: starting"
        self.sluice("\n".join([
            "    option httpchk GET /ready",
            "    http-check expect string ready",
            "    default-server check inter 200ms fall 1 rise 1",
            f"    server good 127.0.0.1:{good.port}",
            f"    server bad 127.0.0.1:{bad.port}",
        ]))
        wait_for(lambda: self.state("bad") == "DOWN", timeout=10, what="bad DOWN")
        self.assertEqual(self.state("good"), "UP")
        self.assertRegex(self.s.output(), r"Server pool/bad is DOWN, reason: Layer7 wrong content")

    def test_backup_takes_over_and_hands_back(self):
        a = TcpBackend(self, named(b"a"))
        a_port = a.port
        bk = TcpBackend(self, named(b"backup"))
        self.sluice(f"    default-server check inter 200ms fall 1 rise 1\n"
                    f"    server a 127.0.0.1:{a_port}\n"
                    f"    server bk 127.0.0.1:{bk.port} backup")
        self.assertEqual(set(self.answers()), {b"a"})
        a.close()
        wait_for(lambda: self.state("a") == "DOWN", timeout=10, what="a DOWN")
        self.assertEqual(set(self.answers()), {b"backup"})
        TcpBackend(self, named(b"a"), port=a_port)
        wait_for(lambda: self.state("a") == "UP", timeout=10, what="a UP")
        self.assertEqual(set(self.answers()), {b"a"})

    def test_all_down_closes_clients_at_once(self):
        dead = free_port()
        self.sluice(f"    server a 127.0.0.1:{dead} check inter 200ms fall 1")
        wait_for(lambda: self.state("a") == "DOWN", timeout=10, what="a DOWN")
        self.assertIn("backend pool has no server available!", self.s.output())
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
            self.assertEqual(recv_all(c), b"")
        # No connect attempts or retry delays: the pick finds no usable server.
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_maint_stops_checks(self):
        web = HttpBackend(self, "web")
        self.sluice(f"    option httpchk GET /hc\n"
                    f"    server web 127.0.0.1:{web.port} check inter 100ms")
        wait_for(lambda: web.count("/hc") >= 2, what="checks")
        self.assertEqual(run([SLUICECTL, "-s", self.sock, "set", "server", "pool/web", "state",
                              "maint"])[0], 0)
        time.sleep(0.3)  # a check already in flight may still land
        before = web.count("/hc")
        time.sleep(0.6)
        self.assertEqual(web.count("/hc"), before)

    def test_reload_with_the_same_pool_changes_no_state(self):
        a = TcpBackend(self, named(b"a"))
        dead = free_port()
        s = self.sluice(f"    default-server check inter 200ms fall 1 rise 2\n"
                        f"    server a 127.0.0.1:{a.port}\n    server d 127.0.0.1:{dead}")
        wait_for(lambda: self.state("d") == "DOWN", timeout=10, what="d DOWN")
        log_before = s.output()
        s.proc.send_signal(signal.SIGHUP)
        s.wait_generation(2)
        time.sleep(1.0)  # several check rounds of the new health process
        self.assertEqual((self.state("a"), self.state("d")), ("UP", "DOWN"))
        new_lines = s.output()[len(log_before):]
        self.assertNotRegex(new_lines, r"Server pool/. is (UP|DOWN)")


if __name__ == "__main__":
    unittest.main()

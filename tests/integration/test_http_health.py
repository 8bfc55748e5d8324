"""Health in mode http and the consequences of a server's state: a backend killed under
HTTP load costs no client request (retries, redispatch, checks), passive checks
(`observe layer7`) take a failing server out, and `on-marked-down shutdown-sessions`
cuts the sessions of a server that goes down."""

import socket
import threading
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, echo_handler, free_port, wait_for
from http_peers import Client, RecordingBackend, config_head, exporter_frontend, get, ok_response

HEAD = config_head(workers=2, connect="500ms")


class HttpHealthTest(TempDirTest):
    def test_killed_backend_under_load_costs_no_request(self):
        a, b = RecordingBackend(self, "a"), RecordingBackend(self, "b")
        port = free_port()
        s = Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
backend app
    retries 3
    option redispatch
    option httpchk GET /health
    server a 127.0.0.1:{a.port} check inter 200ms fall 2 rise 2
    server b 127.0.0.1:{b.port} check inter 200ms fall 2 rise 2
""", [port])
        stop = threading.Event()
        sent, failed = [0], []

        def client():
            while not stop.is_set():
                try:
                    r = get(port, "/work")
                    sent[0] += 1
                    if r.status != 200:
                        failed.append(r.status)
                except Exception as e:  # noqa: BLE001
                    failed.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: a.count() > 20 and b.count() > 20, what="traffic on both")
        a.close()  # no longer accepts: connections are refused
        killed_at = time.monotonic()
        wait_for(lambda: "Server app/a is DOWN" in s.output(), what="a marked down")
        down_after = time.monotonic() - killed_at
        before = b.count()
        # Enough traffic after the kill that the total below holds however slow the
        # machine is: > 20 + 20 before it, > 100 after.
        wait_for(lambda: b.count() > before + 100, what="traffic after the kill")
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failed, [])
        self.assertGreater(sent[0], 100)
        # fall x inter plus one inter, with room for a loaded machine.
        self.assertLess(down_after, 5.0)
        print(f"\n  killed backend: {sent[0]} requests, {len(failed)} failed, "
              f"marked down after {down_after * 1000:.0f} ms")

    def test_passive_layer7_errors_mark_the_server_down(self):
        bad = RecordingBackend(self, "bad", respond=lambda req: ok_response(
            "bad", status=b"200 OK" if req.target == "/health" else b"500 Internal Server Error"))
        good = RecordingBackend(self, "good")
        port = free_port()
        s = Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
backend app
    option httpchk GET /health
    server bad 127.0.0.1:{bad.port} check inter 30s observe layer7 error-limit 3 on-error mark-down
    server good 127.0.0.1:{good.port} check inter 30s
""", [port])
        statuses = [get(port).status for _ in range(8)]
        self.assertIn(500, statuses)
        wait_for(lambda: "Server app/bad is DOWN, reason: Layer7 passive check" in s.output(),
                 what="passive mark-down")
        self.assertEqual({get(port).status for _ in range(10)}, {200})

    def test_passive_fail_check_counts_as_failed_checks(self):
        # error-limit 2 with on-error fail-check: every two errors are one failed check,
        # so with fall 2 the server goes down after four errors, not two.
        bad = RecordingBackend(self, "bad", respond=lambda req: ok_response(
            "bad", status=b"200 OK" if req.target == "/health" else b"503 Busy"))
        good = RecordingBackend(self, "good")
        port, prom = free_port(), free_port()
        s = Sluice(self, config_head(connect="500ms") + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
{exporter_frontend(prom)}backend app
    balance first
    option httpchk GET /health
    server bad 127.0.0.1:{bad.port} check inter 30s fall 2 observe layer7 error-limit 2 on-error fail-check
    server good 127.0.0.1:{good.port} check inter 30s
""", [port, prom])
        # A server is only confirmed up (and then takes `fall` failures) after its first check.
        checked = 'sluice_server_check_status{proxy="app",server="bad",state="L7OK"} 1'
        wait_for(lambda: checked in get(prom, "/metrics").body.decode(), what="a first check")
        for _ in range(2):
            self.assertEqual(get(port).status, 503)
        errors = lambda: sum(1 for r in bad.requests if r.target != "/health")  # noqa: E731
        wait_for(lambda: errors() == 2, what="two errors")
        # The health process takes the two errors as one failed check before any more come.
        failed = 'sluice_server_check_failures_total{proxy="app",server="bad"} 1'
        wait_for(lambda: failed in get(prom, "/metrics").body.decode(), what="one failed check")
        # One failed check: still up (going down), still served by `bad` first.
        self.assertEqual(get(port).status, 503)
        self.assertNotIn("Server app/bad is DOWN", s.output())
        self.assertEqual(get(port).status, 503)
        wait_for(lambda: "Server app/bad is DOWN, reason: Layer7 passive check" in s.output(),
                 what="down after the second failed check")
        self.assertEqual(get(port).body, b"good")

    def test_slowstart_ramps_a_returning_server_up(self):
        a, b = RecordingBackend(self, "a"), RecordingBackend(self, "b")
        probe = TcpBackend(self, lambda sock, _: None)
        port = free_port()
        s = Sluice(self, config_head(connect="500ms") + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
backend app
    server a 127.0.0.1:{a.port} weight 100 slowstart 30s check port {probe.port} inter 100ms fall 1 rise 1
    server b 127.0.0.1:{b.port} weight 100
""", [port])
        probe.close()  # checks on `a` now fail: it goes down
        wait_for(lambda: "Server app/a is DOWN" in s.output(), what="a down")
        TcpBackend(self, lambda sock, _: None, port=probe.port)  # checks pass again
        wait_for(lambda: "Server app/a is UP" in s.output(), what="a back up")
        answered = [get(port).body for _ in range(40)]
        # Right after coming back `a` weighs about 1 against 100: it gets a few at most,
        # where an even split would give it 20.
        self.assertLess(answered.count(b"a"), 8, answered.count(b"a"))
        self.assertGreater(answered.count(b"a") + answered.count(b"b"), 39)

    def test_shutdown_sessions_cuts_sessions_of_a_server_marked_down(self):
        server = TcpBackend(self, echo_handler)
        check = TcpBackend(self, lambda sock, b: sock.recv(1))
        port = free_port()
        Sluice(self, f"""global
    workers 1
defaults
    mode tcp
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
backend app
    server s 127.0.0.1:{server.port} check port {check.port} inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions
""", [port])
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"ping")
        self.assertEqual(c.recv(4), b"ping")
        check.close()  # checks now fail: the server is marked down
        started = time.monotonic()
        c.settimeout(10)
        try:
            data = c.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"", "the session outlived its server's DOWN state")
        self.assertLess(time.monotonic() - started, 5)
        c.close()


if __name__ == "__main__":
    unittest.main()

"""Reload in mode http: a keep-alive connection to the old generation gets its next answer
with `Connection: close` and then closes; an idle one is closed after `timeout
http-keep-alive`, not at once; requests under load during reloads all succeed."""

import signal
import threading
import time
import unittest

from harness import Sluice, TempDirTest, free_port, wait_for
from http_peers import Client, RecordingBackend, get


def config(port, backend_port, header):
    return f"""global
    workers 2
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 1s
frontend fe
    bind 127.0.0.1:{port}
    http-response set-header X-Generation {header}
    default_backend app
backend app
    server s1 127.0.0.1:{backend_port}
"""


class HttpReloadTest(TempDirTest):
    def reload(self, s, port, backend_port, header, generation):
        with open(s.path, "w") as f:
            f.write(config(port, backend_port, header))
        s.proc.send_signal(signal.SIGHUP)
        s.wait_generation(generation)

    def test_keep_alive_connection_is_closed_politely_after_a_reload(self):
        b = RecordingBackend(self)
        port = free_port()
        s = Sluice(self, config(port, b.port, "one"), [port])
        busy = Client(port)
        busy.send(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = busy.response()
        self.assertEqual(r.header("X-Generation"), "one")
        self.assertIsNone(r.header("Connection"))
        self.reload(s, port, b.port, "two", 2)
        # The old generation answers this request, tells the client it closes, and does.
        busy.send(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = busy.response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Generation"), "one")
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(busy.closed())
        busy.close()
        wait_for(lambda: get(port).header("X-Generation") == "two", what="new generation")

    def test_idle_keep_alive_connection_closes_after_its_timeout_not_at_once(self):
        b = RecordingBackend(self)
        port = free_port()
        s = Sluice(self, config(port, b.port, "one"), [port])
        idle = Client(port)
        idle.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(idle.response().status, 200)
        self.reload(s, port, b.port, "two", 2)
        # Sent right after the reload, the request is still answered by the old worker.
        idle.send(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        r = idle.response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Connection"), "close")
        idle.close()

    def test_requests_under_reloads_all_succeed(self):
        b = RecordingBackend(self)
        port = free_port()
        s = Sluice(self, config(port, b.port, "g1"), [port])
        stop = threading.Event()
        failures, done = [], [0]

        def client():
            while not stop.is_set():
                try:
                    c = Client(port)
                    for _ in range(5):
                        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                        r = c.response()
                        if r is None:
                            break  # closed after a `Connection: close` answer
                        if r.status != 200:
                            failures.append(r.status)
                        done[0] += 1
                        if r.header("Connection") == "close":
                            break
                    c.close()
                except Exception as e:  # noqa: BLE001
                    failures.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for g in range(2, 7):
            self.reload(s, port, b.port, f"g{g}", g)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(done[0], 50)


if __name__ == "__main__":
    unittest.main()

"""Reload in mode http: a keep-alive connection to the old generation gets its next answer
with `Connection: close` and then closes; an idle one is closed after `timeout
http-keep-alive`, not at once; requests under load during reloads all succeed."""

import signal
import threading
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, free_port, wait_for
from http_peers import Client, RecordingBackend, config_head, get


def config(port, backend_port, header):
    return config_head(workers=2, extra_defaults="    timeout http-keep-alive 1s\n") + f"""
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

    def test_ten_reloads_under_keep_alive_and_new_connection_load_fail_nothing(self):
        b = RecordingBackend(self)
        port = free_port()
        s = Sluice(self, config(port, b.port, "even"), [port])
        stop = threading.Event()
        failures, done = [], [0]

        def keep_alive_client():
            while not stop.is_set():
                try:
                    c = Client(port)
                    for _ in range(20):
                        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                        r = c.response()
                        if r is None:
                            failures.append("closed without an answer")
                            break
                        if r.status != 200:
                            failures.append(r.status)
                        done[0] += 1
                        if r.header("Connection") == "close":
                            break  # the old generation said it closes: a new connection
                    c.close()
                except Exception as e:  # noqa: BLE001
                    failures.append(repr(e))

        def new_connection_client():
            while not stop.is_set():
                try:
                    r = get(port)
                    if r.status != 200:
                        failures.append(r.status)
                    done[0] += 1
                except Exception as e:  # noqa: BLE001
                    failures.append(repr(e))

        threads = [threading.Thread(target=keep_alive_client) for _ in range(3)]
        threads += [threading.Thread(target=new_connection_client) for _ in range(2)]
        for t in threads:
            t.start()
        for g in range(2, 12):
            before = done[0]
            wait_for(lambda: done[0] >= before + 20, what="requests before the reload")
            self.reload(s, port, b.port, "odd" if g % 2 == 0 else "even", g)
        before = done[0]
        wait_for(lambda: done[0] >= before + 20, what="requests after the last reload")
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        # The last config (generation 11) says "even".
        wait_for(lambda: get(port).header("X-Generation") == "even", what="the last config")
        print(f"\n  http reload: {done[0]} requests across 10 reloads, {len(failures)} failed")

    def test_slow_streaming_response_spanning_a_reload_completes(self):
        proceed = threading.Event()

        def slow(sock, backend):
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(4096)
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(20):
                if i == 5:
                    proceed.wait(20)  # the reload happens here
                chunk = (b"%02d" % i) * 500
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                time.sleep(0.02)
            sock.sendall(b"0\r\n\r\n")

        server = TcpBackend(self, slow)
        port = free_port()
        s = Sluice(self, config(port, server.port, "one"), [port])
        result = {}

        def client():
            c = Client(port)
            c.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            result["r"] = c.response()
            c.close()

        t = threading.Thread(target=client)
        t.start()
        wait_for(lambda: server.connections == 1, what="the stream to start")
        self.reload(s, port, server.port, "two", 2)
        proceed.set()
        t.join(30)
        r = result["r"]
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"".join((b"%02d" % i) * 500 for i in range(20)))


if __name__ == "__main__":
    unittest.main()

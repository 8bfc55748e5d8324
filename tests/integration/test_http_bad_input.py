"""Malformed and hostile input through the real binary: each request gets the status
HAProxy gives (or the documented stricter one), nothing reaches the backend, the
connection is closed, and the worker keeps serving everyone else. Malformed responses
become 502. Slow clients get 408."""

import socket
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, free_port
from http_peers import Client, RecordingBackend, config_head, get

HEAD = config_head(extra_defaults="    timeout http-request 500ms\n")

LONG = "a" * 16000

# (name, raw request, expected status). docs/http.md lists where Sluice is stricter.
BAD_REQUESTS = [
    ("two different content-lengths",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
    ("content-length list that differs", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello", 400),
    ("signed content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400),
    ("negative content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("content-length not a number", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    ("content-length overflow",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
    ("chunked not last", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    ("chunked twice", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    ("unknown transfer coding only", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("empty transfer-encoding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad : 1\r\n\r\n", 400),
    ("space in header name", b"GET / HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\n\r\n", 400),
    ("non-token header name", b"GET / HTTP/1.1\r\nHost: x\r\nX(Bad): 1\r\n\r\n", 400),
    ("empty header name", b"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", 400),
    ("NUL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("bare CR in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
    ("DEL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400),
    ("space in the path", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("tab in the path", b"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("raw UTF-8 in the path", "GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 400),
    ("control byte in the path", b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("lowercase protocol", b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    ("HTTP/1.10", b"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
    ("HTTP/2.0 in an HTTP/1 request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("no version", b"GET /\r\nHost: x\r\n\r\n", 400),
    ("two spaces after the method", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("non-token method", b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("two different Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("absolute URI host differs from Host",
     b"GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", 400),
    ("obs-fold before any header", b"GET / HTTP/1.1\r\n folded\r\nHost: x\r\n\r\n", 400),
    ("too many headers",
     b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n",
     400),
    ("header block over the buffer",
     b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + LONG.encode() + b"\r\n\r\n", 400),
    ("request line over the buffer", b"GET /" + LONG.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     400),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("chunk data longer than its size",
     b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size overflow",
     b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 400),
    ("binary garbage", bytes(range(256)), 400),
]

BAD_RESPONSES = [
    ("two different content-lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    ("chunked not last", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    ("bad header name", b"HTTP/1.1 200 OK\r\nX Bad: 1\r\nContent-Length: 0\r\n\r\n"),
    ("NUL in a value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n"),
    ("status out of range", b"HTTP/1.1 600 Nope\r\nContent-Length: 0\r\n\r\n"),
    ("status not numeric", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    ("not HTTP at all", b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    ("HTTP/2 status line", b"HTTP/2 200\r\nContent-Length: 0\r\n\r\n"),
    ("signed content-length", b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\na"),
    ("header block over the buffer", b"HTTP/1.1 200 OK\r\nX-Long: " + LONG.encode() + b"\r\n\r\n"),
    ("empty response then close", b""),
    ("truncated head then close", b"HTTP/1.1 200 OK\r\nContent-Le"),
]


class BadRequestTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.b = RecordingBackend(self, "b")
        self.port = free_port()
        self.sluice = Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{self.port}
    log stdout format raw local0
    option httplog
    default_backend app
backend app
    server s1 127.0.0.1:{self.b.port}
""", [self.port])

    def test_each_bad_request_gets_its_status_and_the_worker_keeps_serving(self):
        self.assertGreaterEqual(len(BAD_REQUESTS), 30)
        # A well-behaved client keeps a keep-alive connection across all of it.
        good = Client(self.port)
        for name, raw, status in BAD_REQUESTS:
            with self.subTest(name):
                c = Client(self.port)
                c.send(raw)
                r = c.response()
                self.assertIsNotNone(r, "connection closed without an answer")
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.header("Connection"), "close")
                self.assertTrue(c.closed(), "connection left open after a bad request")
                c.close()
                good.send(b"GET /still-here HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(good.response().status, 200)
        good.close()
        self.assertEqual({r.target for r in self.b.requests}, {"/still-here"})
        self.assertIn('"<BADREQ>"', self.sluice.output())

    def test_incomplete_request_times_out_with_408(self):
        c = Client(self.port)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        r = c.response()
        self.assertEqual(r.status, 408)
        self.assertTrue(c.closed())
        c.close()

    def test_slowloris_does_not_stall_other_clients(self):
        slow = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(b"GET / HTTP/1.1\r\n")
            slow.append(s)
        started = time.monotonic()
        self.assertEqual(get(self.port).status, 200)
        self.assertLess(time.monotonic() - started, 5)
        for s in slow:
            s.close()

    def test_client_closing_mid_body_leaves_the_worker_serving(self):
        c = Client(self.port)
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
        c.close()
        self.assertEqual(get(self.port).status, 200)


class BadResponseTest(TempDirTest):
    def test_each_bad_response_is_502(self):
        current = {"raw": b""}

        def handler(sock, backend):
            data = b""
            while b"\r\n\r\n" not in data:
                d = sock.recv(4096)
                if not d:
                    return
                data += d
            sock.sendall(current["raw"])
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass

        s = TcpBackend(self, handler)
        port = free_port()
        Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend app
backend app
    server s1 127.0.0.1:{s.port}
""", [port])
        for name, raw in BAD_RESPONSES:
            with self.subTest(name):
                current["raw"] = raw
                r = get(port)
                self.assertEqual(r.status, 502, r)
        current["raw"] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        self.assertEqual(get(port).body, b"ok")


if __name__ == "__main__":
    unittest.main()

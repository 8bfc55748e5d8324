"""Load balancing in mode http through the real binary: each algorithm's distribution,
backup servers, server maxconn with the backend queue."""

import collections
import threading
import time
import unittest

from harness import Sluice, TempDirTest, free_port
from http_peers import Client, RecordingBackend, config_head, get

HEAD = config_head()


class BalanceTest(TempDirTest):
    def start(self, balance, n=3, server_opts=None, backend_extra=""):
        self.backends = [RecordingBackend(self, f"s{i + 1}") for i in range(n)]
        self.port = free_port()
        lines = ""
        for i, b in enumerate(self.backends):
            opts = server_opts[i] if server_opts else ""
            lines += f"    server s{i + 1} 127.0.0.1:{b.port} {opts}\n"
        Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{self.port}
    default_backend app
backend app
    balance {balance}
{backend_extra}
{lines}""", [self.port])

    def spread(self, n, **kw):
        """Sends n requests on one keep-alive connection; counts who answered."""
        counts = collections.Counter()
        c = Client(self.port)
        for i in range(n):
            target = kw.get("target", "/")
            if callable(target):
                target = target(i)
            hdrs = "".join(f"{k}: {v}\r\n" for k, v in kw.get("headers", []))
            c.send(f"GET {target} HTTP/1.1\r\nHost: x\r\n{hdrs}\r\n".encode())
            r = c.response()
            self.assertEqual(r.status, 200)
            counts[r.body.decode()] += 1
        c.close()
        return counts

    def test_roundrobin_weights_per_request_even_on_one_connection(self):
        self.start("roundrobin", server_opts=["weight 1", "weight 2", "weight 3"])
        self.assertEqual(self.spread(60), {"s1": 10, "s2": 20, "s3": 30})

    def test_static_rr_weights(self):
        self.start("static-rr", server_opts=["weight 1", "weight 2", "weight 3"])
        self.assertEqual(self.spread(60), {"s1": 10, "s2": 20, "s3": 30})

    def test_first_fills_the_first_server(self):
        self.start("first", server_opts=["maxconn 5", "maxconn 5", "maxconn 5"])
        self.assertEqual(self.spread(10), {"s1": 10})

    def test_source_sticks_to_one_server(self):
        self.start("source")
        counts = self.spread(12)
        self.assertEqual(len(counts), 1, counts)

    def test_uri_hashing_is_stable_and_spreads(self):
        self.start("uri")
        one = self.spread(6, target="/same/path")
        self.assertEqual(len(one), 1, one)
        many = self.spread(60, target=lambda i: f"/p/{i}")
        self.assertGreater(len(many), 1, many)

    def test_url_param_hashing_and_round_robin_without_it(self):
        self.start("url_param user")
        self.assertEqual(len(self.spread(6, target="/?user=alice")), 1)
        self.assertEqual(self.spread(6, target="/"), {"s1": 2, "s2": 2, "s3": 2})

    def test_hdr_hashing(self):
        self.start("hdr(X-User) \n    hash-type consistent")
        self.assertEqual(len(self.spread(6, headers=[("X-User", "bob")])), 1)
        spread = collections.Counter()
        for i in range(30):
            spread.update(self.spread(1, headers=[("X-User", f"user{i}")]))
        self.assertGreater(len(spread), 1, spread)

    def test_random_uses_every_server(self):
        self.start("random")
        counts = self.spread(90)
        self.assertEqual(set(counts), {"s1", "s2", "s3"}, counts)

    def test_leastconn_avoids_the_busy_server(self):
        release = threading.Event()
        self.start("leastconn", n=2)

        def slow(req):
            if req.target == "/slow":
                release.wait(10)
            return (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")

        for b in self.backends:
            name = b.name
            b.respond = (lambda n: lambda req: slow(req) if req.target == "/slow" else
                         (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + n.encode()))(name)
        t = threading.Thread(target=lambda: get(self.port, "/slow"))
        t.start()
        busy = None
        deadline = time.monotonic() + 10
        while busy is None and time.monotonic() < deadline:
            for b in self.backends:
                if any(r.target == "/slow" for r in b.requests):
                    busy = b.name
            time.sleep(0.01)
        self.assertIsNotNone(busy)
        answered = collections.Counter(get(self.port, "/").body.decode() for _ in range(6))
        release.set()
        t.join()
        self.assertNotIn(busy, answered, answered)

    def test_backup_only_when_every_active_server_is_down(self):
        self.backends = []
        active = RecordingBackend(self, "active")
        backup = RecordingBackend(self, "backup")
        dead = free_port()
        self.port = free_port()
        Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{self.port}
    use_backend down if {{ path_beg /down }}
    default_backend app
backend app
    server a 127.0.0.1:{active.port}
    server b 127.0.0.1:{backup.port} backup
backend down
    server a 127.0.0.1:{dead} check inter 100ms fall 1 rise 1
    server b 127.0.0.1:{backup.port} backup
""", [self.port])
        self.assertEqual({get(self.port, "/").body for _ in range(4)}, {b"active"})
        # The active server of `down` is refused by its checks; the backup takes over.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and get(self.port, "/down").status != 200:
            time.sleep(0.05)
        self.assertEqual(get(self.port, "/down").body, b"backup")

    def test_server_maxconn_queues_then_serves(self):
        release = threading.Event()
        self.start("roundrobin", n=1, server_opts=["maxconn 1"],
                   backend_extra="    timeout queue 5s")
        b = self.backends[0]

        def respond(req):
            if req.target == "/hold":
                release.wait(10)
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

        b.respond = respond
        results = []
        t1 = threading.Thread(target=lambda: results.append(get(self.port, "/hold").status))
        t1.start()
        deadline = time.monotonic() + 10
        while b.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        t2 = threading.Thread(target=lambda: results.append(get(self.port, "/queued").status))
        t2.start()
        time.sleep(0.2)
        self.assertEqual(b.count(), 1, "a second connection was opened despite maxconn 1")
        release.set()
        t1.join()
        t2.join()
        self.assertEqual(results, [200, 200])

    def test_queue_timeout_is_503(self):
        release = threading.Event()
        self.start("roundrobin", n=1, server_opts=["maxconn 1"],
                   backend_extra="    timeout queue 200ms")
        b = self.backends[0]
        b.respond = lambda req: (release.wait(10),
                                 b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")[1]
        t1 = threading.Thread(target=lambda: get(self.port, "/hold"))
        t1.start()
        deadline = time.monotonic() + 10
        while b.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(get(self.port, "/late").status, 503)
        release.set()
        t1.join()


if __name__ == "__main__":
    unittest.main()

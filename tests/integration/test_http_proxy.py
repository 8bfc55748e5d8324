"""`mode http` through the real binary: what the backend received and what the client got,
for keep-alive, bodies both ways, pipelining, HEAD, HTTP/1.0, 100-continue, upgrades,
failures (503, 504, 502) and the access log."""

import os
import re
import signal
import socket
import struct
import threading
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, free_port, wait_for
from http_peers import (Client, RecordingBackend, exchange, exporter_frontend, find, get,
                        ok_response, read_head)
from test_metrics import children, samples, scrape


def config(port, backends, frontend_extra="", backend_extra="", defaults_extra="",
           global_extra=""):
    """One frontend on `port` whose default backend is the first of `backends`
    ([(name, [server ports])])."""
    out = f"""global
    workers 1
{global_extra}
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
{defaults_extra}
frontend fe
    bind 127.0.0.1:{port}
{frontend_extra}
    default_backend {backends[0][0]}
"""
    for name, ports in backends:
        out += f"backend {name}\n{backend_extra}\n"
        for i, p in enumerate(ports):
            out += f"    server s{i + 1} 127.0.0.1:{p}\n"
    return out


def established_to(port):
    """Established TCP connections whose remote end is 127.0.0.1:port (from /proc)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and remote == f"0100007F:{port:04X}":
                n += 1
    return n



def fe_metric(prom, name):
    """The sample `name` of frontend `fe` from the exporter on `prom` (None when absent)."""
    return samples(scrape(prom)).get(name + '{proxy="fe"}')

class HttpProxyTest(TempDirTest):
    def start(self, backends=None, **kw):
        self.b = RecordingBackend(self, "b")
        self.port = free_port()
        backends = backends or [("app", [self.b.port])]
        self.sluice = Sluice(self, config(self.port, backends, **kw), [self.port])
        return self.b

    def test_get_reaches_the_backend_and_the_answer_comes_back(self):
        b = self.start()
        r = get(self.port, "/a/b?x=1", headers=[("X-One", "1"), ("X-Two", "a, b")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"b")
        self.assertEqual(r.header("X-Backend"), "b")
        req = b.last()
        self.assertEqual((req.method, req.target, req.version), ("GET", "/a/b?x=1", "HTTP/1.1"))
        self.assertEqual(req.header("X-One"), ["1"])
        self.assertEqual(req.header("X-Two"), ["a, b"])
        self.assertEqual(req.header("Host"), ["example.test"])

    def test_keep_alive_serves_several_requests_and_reuses_the_server_connection(self):
        b = self.start()
        c = Client(self.port)
        for i in range(5):
            c.send(f"GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            r = c.response()
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("Connection"))
        c.close()
        self.assertEqual([r.target for r in b.requests], [f"/{i}" for i in range(5)])
        self.assertEqual(b.connections, 1, "idle server connection was not reused")

    def test_request_bodies_content_length_and_chunked(self):
        b = self.start()
        big = bytes(range(256)) * 1024  # 256 KiB, larger than a buffer
        r = get(self.port, "/up", method="POST", body=big)
        self.assertEqual(r.status, 200)
        self.assertEqual(b.last().body, big)
        chunked = (b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
        r = exchange(self.port, chunked)
        self.assertEqual(r.status, 200)
        self.assertEqual(b.last().body, b"hello world")
        self.assertEqual(b.last().header("Transfer-Encoding"), ["chunked"])

    def test_response_bodies_chunked_and_until_close(self):
        big = b"z" * 300000

        def respond(req):
            if req.target == "/chunked":
                return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
            return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big

        self.start()
        self.b.respond = respond
        c = Client(self.port)
        c.send(b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        self.assertEqual(r.body, b"abcdefg")
        c.send(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        self.assertEqual(r.body, big)
        self.assertEqual(r.header("Connection"), "close")
        c.close()

    def test_pipelined_requests_are_answered_in_order(self):
        b = self.start()
        c = Client(self.port)
        c.send(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(4)))
        bodies = []
        for i in range(4):
            r = c.response()
            bodies.append(r.status)
        c.close()
        self.assertEqual(bodies, [200] * 4)
        self.assertEqual([r.target for r in b.requests], [f"/p{i}" for i in range(4)])

    def test_head_gets_headers_without_a_body(self):
        self.start()
        c = Client(self.port)
        c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response(head_request=True)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "1")
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is still in sync
        self.assertEqual(c.response().body, b"b")
        c.close()

    def test_http_1_0_client_gets_its_answer_and_the_connection_closes(self):
        self.start()
        c = Client(self.port)
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        r = c.response()
        self.assertEqual(r.status, 200)
        self.assertTrue(c.closed())
        c.close()
        c = Client(self.port)
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.response()
        self.assertEqual(r.header("Connection"), "keep-alive")
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(c.response().status, 200)
        c.close()

    def test_expect_100_continue(self):
        b = self.start()
        c = Client(self.port)
        c.send(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        line = c.f.readline()
        self.assertEqual(line, b"HTTP/1.1 100 Continue\r\n")
        self.assertEqual(c.f.readline(), b"\r\n")
        c.send(b"data")
        r = c.response()
        self.assertEqual(r.status, 200)
        self.assertEqual(b.last().body, b"data")
        self.assertEqual(b.last().header("Expect"), [])
        c.close()

    def test_connection_close_from_the_client_is_honoured(self):
        self.start()
        c = Client(self.port)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = c.response()
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.closed())
        c.close()

    def test_websocket_upgrade_is_tunnelled(self):
        def ws_handler(sock, backend):
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(4096)
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n\r\n")
            while True:
                d = sock.recv(4096)
                if not d:
                    break
                sock.sendall(d.upper())

        ws = TcpBackend(self, ws_handler)
        self.port = free_port()
        Sluice(self, config(self.port, [("ws", [ws.port])], defaults_extra="    timeout tunnel 5s"),
               [self.port])
        c = Client(self.port)
        c.send(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        r = c.response()
        self.assertEqual(r.status, 101)
        c.send(b"hello tunnel")
        got = b""
        while len(got) < 12:
            got += c.sock.recv(100)
        self.assertEqual(got, b"HELLO TUNNEL")
        c.close()

    def test_no_usable_server_is_503_and_the_worker_keeps_serving(self):
        dead = free_port()
        self.start(backends=[("down", [dead])])
        r = get(self.port)
        self.assertEqual(r.status, 503)
        self.assertIn(b"No server is available", r.body)
        r = get(self.port)
        self.assertEqual(r.status, 503)

    def test_server_timeout_is_504(self):
        def slow(sock, backend):
            sock.recv(4096)
            time.sleep(3)

        s = TcpBackend(self, slow)
        self.port = free_port()
        Sluice(self, config(self.port, [("slow", [s.port])],
                            backend_extra="    timeout server 300ms"), [self.port])
        r = get(self.port)
        self.assertEqual(r.status, 504)

    def test_server_reset_before_answering_is_502(self):
        def rude(sock, backend):
            sock.recv(4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()

        s = TcpBackend(self, rude)
        self.port = free_port()
        Sluice(self, config(self.port, [("rude", [s.port])]), [self.port])
        r = get(self.port)
        self.assertEqual(r.status, 502)

    def test_invalid_response_is_502(self):
        self.start()
        self.b.respond = lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
        r = get(self.port)
        self.assertEqual(r.status, 502)

    def test_server_dying_mid_body_cuts_the_client(self):
        def half(sock, backend):
            sock.recv(4096)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            sock.close()

        s = TcpBackend(self, half)
        self.port = free_port()
        Sluice(self, config(self.port, [("half", [s.port])]), [self.port])
        c = Client(self.port)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = c.f.readline()
        self.assertIn(b"200", head)
        rest = c.f.read()
        self.assertTrue(rest.endswith(b"only part"))
        c.close()

    def test_connect_failure_is_retried_and_redispatched(self):
        b = RecordingBackend(self, "alive")
        dead = free_port()
        self.port = free_port()
        Sluice(self, config(self.port, [("app", [dead, b.port])],
                            backend_extra="    balance first\n    retries 2\n    option redispatch"),
               [self.port])
        r = get(self.port)
        self.assertEqual((r.status, r.body), (200, b"alive"))

    def test_connect_failure_without_redispatch_is_503(self):
        dead = free_port()
        b = RecordingBackend(self, "alive")
        self.port = free_port()
        Sluice(self, config(self.port, [("app", [dead, b.port])],
                            backend_extra="    balance first\n    retries 1"), [self.port])
        self.assertEqual(get(self.port).status, 503)
        self.assertEqual(b.count(), 0)

    def test_errorfile_replaces_the_builtin_page(self):
        page = self.write("503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 11\r\nConnection: close\r\n\r\nsorry, down")
        self.port = free_port()
        Sluice(self, config(self.port, [("down", [free_port()])],
                            backend_extra=f"    errorfile 503 {page}"), [self.port])
        r = get(self.port)
        self.assertEqual((r.status, r.body), (503, b"sorry, down"))

    def test_http_reuse_never_opens_a_connection_per_request(self):
        b = self.start(backend_extra="    http-reuse never")
        c = Client(self.port)
        for i in range(3):
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(c.response().status, 200)
        c.close()
        self.assertEqual(b.connections, 3)

    def test_pool_max_conn_and_purge_delay_bound_the_idle_server_connections(self):
        release = threading.Event()
        b = RecordingBackend(self, "b", respond=lambda req: (release.wait(10), ok_response("b"))[1])
        self.port = free_port()
        Sluice(self, config(self.port, [("app", [b.port])],
                            backend_extra="    http-reuse always\n"
                                          "    default-server pool-max-conn 1 pool-purge-delay 300ms"),
               [self.port])
        # Three requests at once need three server connections.
        clients = [Client(self.port) for _ in range(3)]
        for c in clients:
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: b.count() == 3, what="three requests at the server")
        release.set()
        for c in clients:
            self.assertEqual(c.response().status, 200)
            c.close()
        self.assertEqual(b.connections, 3)
        # pool-max-conn 1: one is kept (the others closed), and it serves what follows.
        wait_for(lambda: established_to(b.port) == 1, what="one idle server connection")
        for _ in range(3):
            self.assertEqual(get(self.port).status, 200)
        self.assertEqual(b.connections, 3)
        # pool-purge-delay: idle past it, it is closed without waiting for a request.
        wait_for(lambda: established_to(b.port) == 0, what="the idle connection purged")
        self.assertEqual(get(self.port).status, 200)
        self.assertEqual(b.connections, 4)

    def test_a_server_closing_its_idle_connections_costs_no_request(self):
        # The server answers one request per connection, says nothing about closing, and
        # closes: every connection the pool keeps is dead by the time it is taken, at
        # once (a bodyless request is resent on a new connection) or later (a request with
        # a body never goes out on it).
        seen = []

        def one_request_then_close(sock, backend):
            f = sock.makefile("rb")
            head = read_head(f)
            if head is None:
                return
            length = int(find(head[1], "content-length") or 0)
            body = f.read(length) if length else b""
            seen.append((head[0], body))
            sock.sendall(ok_response("b", body=b"got " + body))
            sock.close()

        b = TcpBackend(self, one_request_then_close)
        self.port = free_port()
        Sluice(self, config(self.port, [("app", [b.port])],
                            backend_extra="    http-reuse always"), [self.port])
        c = Client(self.port)
        for i in range(5):
            c.send(f"GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            r = c.response()
            self.assertEqual((r.status, r.body), (200, b"got "), i)
        for i in range(3):
            time.sleep(0.05)  # idle long enough that the pool asks the socket
            c.send(f"POST /p{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody".encode())
            r = c.response()
            self.assertEqual((r.status, r.body), (200, b"got body"), i)
        c.close()
        # Each request reached the server once: a dead connection carried nothing.
        self.assertEqual([s for s, _ in seen],
                         [f"GET /{i} HTTP/1.1" for i in range(5)] +
                         [f"POST /p{i} HTTP/1.1" for i in range(3)])

    def test_an_idle_keep_alive_connection_keeps_its_state_and_its_timeout(self):
        # Idle for longer than a moment, a connection gives up its session and gets a new
        # one with its next request. What belongs to the connection stays: its request
        # count (`http-reuse safe` reuses the server connection from the second request
        # on), its place in the counters (one connection, one session) and its
        # `timeout http-keep-alive`, which counts from the end of the last response.
        b = RecordingBackend(self, "b")
        port, prom = free_port(), free_port()
        self.sluice = Sluice(self, config(port, [("app", [b.port])],
                                          backend_extra="    http-reuse safe",
                                          defaults_extra="    timeout http-keep-alive 700ms",
                                          frontend_extra="    log stdout format raw local0\n"
                                                         "    option httplog")
                             + exporter_frontend(prom), [port, prom])

        def sessions():
            return fe_metric(prom, "sluice_frontend_sessions_total")

        wait_for(lambda: sessions() is not None, what="the frontend's session counter")
        before = sessions()
        c = Client(port)
        for i in range(3):
            c.send(f"GET /idle{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            self.assertEqual(c.response().status, 200)
            time.sleep(0.3)  # idle: past the moment after which a connection parks
        # The second and third requests went on the first one's server connection.
        self.assertEqual(b.connections, 1)
        self.assertEqual([r.conn_id for r in b.requests], [1, 1, 1])
        # One frontend connection in the log lines (feconn), one session counted.
        wait_for(lambda: len(re.findall(r'"GET /idle\d HTTP/1\.1"', self.sluice.output())) == 3,
                 what="three log lines")
        feconns = re.findall(r' \d+/(\d+)/\d+/\d+/\d+ \d+/\d+ "GET /idle',
                             self.sluice.output())
        self.assertEqual(feconns, ["1", "1", "1"])
        self.assertEqual(sessions(), before + 1)
        # Idle past its keep-alive timeout, the connection is closed, and not sooner.
        started = time.monotonic()
        self.assertTrue(c.closed())
        self.assertGreaterEqual(time.monotonic() - started, 0.35)  # 0.7 s - the 0.3 s slept
        c.close()
        wait_for(lambda: sessions() == before + 1, what="the count unchanged")

    def test_many_idle_connections_wake_together_and_close_together(self):
        # Parked connections wait in one epoll set of the frontend, which is read a batch
        # at a time: more clients than a batch (and than the sessions that may linger
        # before parking) sending their next request together all get an answer, on the
        # connection they came with, and closing together they all leave the counters.
        b = RecordingBackend(self, "b")
        port, prom = free_port(), free_port()
        self.sluice = Sluice(self, config(port, [("app", [b.port])],
                                          defaults_extra="    timeout http-keep-alive 30s")
                             + exporter_frontend(prom), [port, prom])

        def metric(name):
            return fe_metric(prom, name)

        wait_for(lambda: metric("sluice_frontend_sessions_total") is not None,
                 what="the frontend's session counter")
        before = metric("sluice_frontend_sessions_total")  # the readiness probe's among them
        n = 150
        clients = [Client(port, timeout=5.0) for _ in range(n)]
        for i, c in enumerate(clients):
            c.send(f"GET /first{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        for c in clients:
            self.assertEqual(c.response().status, 200)
        time.sleep(0.4)  # idle: past the moment after which every one of them parks
        wait_for(lambda: metric("sluice_frontend_current_sessions") == n,
                 what="the idle connections counted")
        # The worker is stopped while they send, so that it finds them all ready at once.
        [worker] = children(self.sluice.proc.pid)
        os.kill(worker, signal.SIGSTOP)
        try:
            for i, c in enumerate(clients):
                c.send(f"GET /second{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        finally:
            os.kill(worker, signal.SIGCONT)
        for i, c in enumerate(clients):
            r = c.response()
            self.assertEqual(r.status, 200, f"client {i}")
        self.assertEqual(sorted(r.target for r in b.requests),
                         sorted([f"/first{i}" for i in range(n)] +
                                [f"/second{i}" for i in range(n)]))
        self.assertEqual(metric("sluice_frontend_sessions_total"), before + n)
        time.sleep(0.4)  # parked again: the second park of each (its descriptor is known)
        for c in clients:
            c.close()
        wait_for(lambda: metric("sluice_frontend_current_sessions") == 0,
                 what="every closed connection out of the counters")

    def test_defer_accept_hands_over_a_connection_once_its_request_is_there(self):
        # `bind ... defer-accept` (TCP_DEFER_ACCEPT): a client that connects and says
        # nothing is not accepted yet (no session counted); its first bytes bring it in.
        b = RecordingBackend(self, "b")
        port, prom = free_port(), free_port()
        text = config(port, [("app", [b.port])]).replace(
            f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{port} defer-accept")
        self.sluice = Sluice(self, text + exporter_frontend(prom), [port, prom])

        def sessions():
            return fe_metric(prom, "sluice_frontend_sessions_total")

        wait_for(lambda: sessions() is not None, what="the frontend's session counter")
        before = sessions()
        c = Client(port)
        time.sleep(0.3)  # long enough for an accept, far from the kernel's 1 s deferral
        self.assertEqual(sessions(), before)
        c.send(b"GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.response().status, 200)
        self.assertEqual(sessions(), before + 1)
        c.close()

    def test_tcp_smart_accept_acknowledges_the_request_with_the_response(self):
        # HAProxy's default in mode http: the listener does not acknowledge a request at
        # once (TCP_QUICKACK off) but with the response, so a one-request connection
        # brings the client SYN-ACK, response and FIN: 3 segments. `no option
        # tcp-smart-accept` brings a 4th, the request's own ACK.
        b = RecordingBackend(self, "b")
        smart, plain = free_port(), free_port()

        def config(negated):
            return f"""global
    workers 1
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend smart
    bind 127.0.0.1:{smart}
    default_backend app
frontend plain
    bind 127.0.0.1:{plain}
    default_backend app
backend app
    server s1 127.0.0.1:{b.port}
""".replace(f"    bind 127.0.0.1:{negated}\n",
            f"    bind 127.0.0.1:{negated}\n    no option tcp-smart-accept\n")

        s = Sluice(self, config(plain), [smart, plain])

        def segments_received(port):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass  # up to the FIN: every segment sent to the client has arrived
            info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
            s.close()
            return struct.unpack_from("I", info, 140)[0]  # tcpi_segs_in

        self.assertEqual({segments_received(plain) for _ in range(5)}, {4})
        # A response later than the delayed-ACK timer (40 ms) would bring the ACK alone:
        # on a loaded machine some may, not all.
        self.assertEqual(min(segments_received(smart) for _ in range(10)), 3)
        # A reload keeps the listening sockets and sets the option on them again, both ways.
        with open(s.path, "w") as f:
            f.write(config(smart))
        s.proc.send_signal(signal.SIGHUP)
        s.wait_generation(2)
        self.assertEqual({segments_received(smart) for _ in range(5)}, {4})
        self.assertEqual(min(segments_received(plain) for _ in range(10)), 3)

    def test_dontlognull_skips_empty_connections(self):
        self.start(frontend_extra="    log stdout format raw local0\n    option httplog\n"
                                  "    option dontlognull")
        socket.create_connection(("127.0.0.1", self.port)).close()
        get(self.port, "/after-null")
        wait_for(lambda: "/after-null" in self.sluice.output(), what="log line")
        lines = [l for l in self.sluice.output().splitlines() if " fe " in l]
        self.assertEqual(len(lines), 1, lines)

    def test_access_log_in_httplog_format(self):
        self.start(frontend_extra="    log stdout format raw local0\n    option httplog")
        get(self.port, "/logged?q=1")
        pattern = (r'127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe app/s1 '
                   r'\d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/\d+/\d+/0 0/0 '
                   r'"GET /logged\?q=1 HTTP/1\.1"')
        wait_for(lambda: re.search(pattern, self.sluice.output()), what="httplog line")

    def test_many_concurrent_clients(self):
        b = self.start()
        errors = []

        def worker(n):
            try:
                for i in range(10):
                    r = get(self.port, f"/c{n}/{i}")
                    if r.status != 200:
                        errors.append(r.status)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(b.count(), 200)


if __name__ == "__main__":
    unittest.main()

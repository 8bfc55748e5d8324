"""`mode tcp`: bytes both ways through the real binary, half-close, retries and
redispatch, server choice, inactivity timeouts, stopping."""

import re
import socket
import threading
import time
import unittest

from harness import (Sluice, TcpBackend, TempDirTest, echo_handler, free_port, recv_all,
                     wait_for)
from test_metrics import children


def config(port, servers, extra_backend="", extra_defaults=""):
    lines = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in servers)
    return f"""global
    workers 1
defaults
    mode tcp
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
{extra_defaults}
frontend db
    bind 127.0.0.1:{port}
    default_backend pool
backend pool
{extra_backend}
{lines}
"""


class TcpModeTest(TempDirTest):
    def test_bytes_flow_both_ways_and_half_close_is_passed_on(self):
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        Sluice(self, config(port, [("a", backend.port)]), [port])
        payload = bytes(range(256)) * 4096  # 1 MiB
        with socket.create_connection(("127.0.0.1", port)) as c:
            sender = threading.Thread(target=lambda: (c.sendall(payload),
                                                      c.shutdown(socket.SHUT_WR)))
            sender.start()
            got = recv_all(c)
            sender.join()
        self.assertEqual(len(got), len(payload) + 3)
        self.assertEqual(got[:len(payload)], payload)
        self.assertEqual(got[-3:], b"bye")  # sent by the backend after it saw our FIN

    def test_connections_alternate_between_servers(self):
        def named(name):
            def handler(sock, backend):
                sock.sendall(name)
            return handler
        a = TcpBackend(self, named(b"a"))
        b = TcpBackend(self, named(b"b"))
        port = free_port()
        Sluice(self, config(port, [("a", a.port), ("b", b.port)]), [port])
        seen = []
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", port)) as c:
                seen.append(recv_all(c))
        self.assertEqual(seen.count(b"a"), 5, seen)
        self.assertEqual(seen.count(b"b"), 5, seen)

    def test_redispatch_moves_the_last_retry_to_another_server(self):
        live = TcpBackend(self, echo_handler)
        dead = free_port()  # nothing listens there
        port = free_port()
        Sluice(self, config(port, [("dead", dead), ("live", live.port)],
                            extra_backend="    retries 1\n    option redispatch"), [port])
        for _ in range(4):  # half of them pick the dead server first
            with socket.create_connection(("127.0.0.1", port)) as c:
                c.sendall(b"ping")
                c.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_all(c), b"pingbye")

    def test_no_usable_server_closes_the_client(self):
        port = free_port()
        Sluice(self, config(port, [("dead", free_port())], extra_backend="    retries 0"), [port])
        with socket.create_connection(("127.0.0.1", port)) as c:
            self.assertEqual(recv_all(c), b"")

    def test_idle_connection_is_closed_after_the_inactivity_timeout(self):
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        cfg = config(port, [("a", backend.port)]).replace("timeout client 10s",
                                                          "timeout client 300ms")
        Sluice(self, cfg, [port])
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"x")
            c.settimeout(20)
            self.assertEqual(c.recv(1), b"x")
            start = time.monotonic()
            self.assertEqual(recv_all(c), b"")  # closed by sluice, not by us
            self.assertGreaterEqual(time.monotonic() - start, 0.25)

    def test_sigterm_stops_with_exit_code_0(self):
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        s = Sluice(self, config(port, [("a", backend.port)]), [port])
        self.assertEqual(s.stop(), 0)

    def test_each_frontend_reaches_its_own_backend(self):
        # Regression: with several frontends, a worker once picked the frontend of a
        # listening socket by pointer arithmetic over protobuf's (non-contiguous) list.
        def named(name):
            def handler(sock, backend):
                sock.sendall(name)
            return handler
        backends = [TcpBackend(self, named(bytes([ord("a") + i]))) for i in range(3)]
        ports = [free_port() for _ in backends]
        text = "global\n    workers 2\ndefaults\n    mode tcp\n    timeout connect 1s\n"
        for i, (b, p) in enumerate(zip(backends, ports)):
            text += (f"frontend f{i}\n    bind 127.0.0.1:{p}\n    default_backend b{i}\n"
                     f"backend b{i}\n    server s 127.0.0.1:{b.port}\n")
        Sluice(self, text, ports)
        for _ in range(5):
            for i, p in enumerate(ports):
                with socket.create_connection(("127.0.0.1", p)) as c:
                    self.assertEqual(recv_all(c), bytes([ord("a") + i]))

    def test_use_backend_on_connection_fetches_and_tcplog(self):
        def named(name):
            def handler(sock, backend):
                sock.sendall(name)
            return handler
        local, other = TcpBackend(self, named(b"local")), TcpBackend(self, named(b"other"))
        port, port2 = free_port(), free_port()
        s = Sluice(self, f"""global
    workers 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend db
    bind 127.0.0.1:{port}
    bind 127.0.0.1:{port2}
    log stdout format raw local0
    option tcplog
    use_backend other if {{ dst_port {port2} }}
    default_backend local
backend local
    server l 127.0.0.1:{local.port}
backend other
    server o 127.0.0.1:{other.port}
""", [port, port2])
        for p, want in ((port, b"local"), (port2, b"other")):
            with socket.create_connection(("127.0.0.1", p)) as c:
                self.assertEqual(recv_all(c), want)
        # HAProxy's tcplog: client [date] frontend backend/server Tw/Tc/Tt bytes termination
        # actconn/feconn/beconn/srvconn/retries srv_queue/backend_queue
        pattern = (r"127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] db "
                   r"other/o \d+/\d+/\d+ 5 -- \d+/\d+/\d+/\d+/0 0/0")
        wait_for(lambda: re.search(pattern, s.output()), what="a tcplog line for 'other'")

    def test_each_message_of_a_conversation_is_answered(self):
        # A read that leaves the socket empty (the kernel says none left) tells the
        # reactor so, and the next read waits for an event instead of trying. Every
        # exchange here depends on the event after such a read: a lost one leaves a
        # message unanswered (the client's timeout fails the test). Sizes around the
        # 16 KiB buffer take reads that fill it with more behind and reads that empty the
        # socket exactly, and the pauses make the proxy's reads wait on both sides.
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        Sluice(self, config(port, [("a", backend.port)]), [port])
        sizes = [1, 100, 16383, 16384, 16385, 32768, 50000, 7]
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.settimeout(10)
            for round_ in range(3):
                for i, size in enumerate(sizes):
                    message = bytes([(i + round_) % 251]) * size
                    c.sendall(message)
                    got = b""
                    while len(got) < size:
                        chunk = c.recv(65536)
                        self.assertTrue(chunk, f"closed after {len(got)} of {size} bytes")
                        got += chunk
                    self.assertEqual(got, message)
                    if i % 3 == 0:
                        time.sleep(0.02)
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(c), b"bye")

    def test_worker_keeps_serving_after_clients_vanish(self):
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        Sluice(self, config(port, [("a", backend.port)]), [port])
        for _ in range(20):  # connect and reset at once
            c = socket.create_connection(("127.0.0.1", port))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"still here")
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(c), b"still herebye")

    def test_a_slow_reader_gets_every_byte_and_resets_mid_stream_end_only_their_session(self):
        # Between plain sockets the bytes go through pipes (splice): a reader slower than
        # the server holds the server back (nothing is lost or reordered, whatever the
        # sizes of the moves), and a client that resets while bytes are still flowing to
        # it ends its own session only, with the same worker serving on.
        size = 8 << 20
        chunk = bytes(range(256)) * 256  # 64 KiB

        def stream_handler(sock, backend):
            try:
                for _ in range(size // len(chunk)):
                    sock.sendall(chunk)
            except OSError:
                pass  # the client went away (the reset case)

        backend = TcpBackend(self, stream_handler)
        port = free_port()
        s = Sluice(self, config(port, [("a", backend.port)]), [port])
        worker = lambda: children(s.proc.pid)
        wait_for(lambda: len(worker()) == 1, what="the worker")
        [pid] = worker()
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.settimeout(20)
            got = bytearray()
            while len(got) < size:
                data = c.recv(7001)  # small reads, with pauses at first
                if not data:
                    break
                got += data
                if len(got) < (1 << 20):
                    time.sleep(0.001)
        self.assertEqual(len(got), size)
        self.assertEqual(bytes(got), chunk * (size // len(chunk)))
        for _ in range(20):
            c = socket.create_connection(("127.0.0.1", port))
            c.settimeout(20)
            seen = 0
            while seen < (1 << 20):
                seen += len(c.recv(1 << 16))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.settimeout(20)
            self.assertGreater(len(c.recv(1000)), 0)
        self.assertEqual(worker(), [pid])


if __name__ == "__main__":
    unittest.main()

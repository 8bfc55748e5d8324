"""Shared pieces for integration tests: where the binaries are, temp dirs, running them."""

import os
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "SLUICE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("SLUICE_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
SLUICE = os.path.join(BIN_DIR, "sluice")
SLUICECTL = os.path.join(BIN_DIR, "sluicectl")
CORPUS = os.path.join(SOURCE_DIR, "tests", "configs")


class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary folder in self.dir."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-it-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path


def run(args, timeout=60, cwd=None, env=None):
    """Runs a command; returns (exit code, stdout, stderr)."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------------------------------
# Running sluice with real backends on 127.0.0.1.

import signal
import socket
import socketserver
import threading
import time


def free_port():
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls `predicate` until it is true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Sluice:
    """A running `sluice -f CONFIG`, stopped (SIGTERM) at the end of the test."""

    def __init__(self, test, config_text, ports, binary=None):
        self.path = test.write("sluice.cfg", config_text)
        # O_APPEND: the child shares this file description, and the test seeks it to read;
        # without append mode a child's write could land on (and erase) earlier lines.
        self.log = open(os.path.join(test.dir, "sluice.log"), "a+")
        self.proc = subprocess.Popen([binary or SLUICE, "-f", self.path], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        test.addCleanup(self.stop)
        self.wait_generation(1)
        for p in ports:
            wait_for(lambda: port_open(p) or self.proc.poll() is not None, what=f"port {p}")
            if self.proc.poll() is not None:
                raise AssertionError(f"sluice exited {self.proc.returncode}:\n{self.output()}")

    def wait_generation(self, n, timeout=30.0):
        """Waits until the master says generation `n` serves (all its workers accept)."""
        line = f"sluice: generation {n} serving"
        wait_for(lambda: line in self.output() or self.proc.poll() is not None,
                 timeout=timeout, what=line)
        if line not in self.output():
            raise AssertionError(f"sluice exited {self.proc.returncode}:\n{self.output()}")

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close() if not self.log.closed else None
        return self.proc.returncode


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TcpBackend:
    """A threaded TCP server on 127.0.0.1; `handler(sock, backend)` serves one connection.
    Counts the connections it accepted."""

    def __init__(self, test, handler, port=None):
        self.connections = 0
        self.lock = threading.Lock()
        backend = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                with backend.lock:
                    backend.connections += 1
                handler(self.request, backend)

        self.server = _ThreadingTCPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def echo_handler(sock, backend):
    """Echoes bytes until the peer half-closes, then says 'bye' and closes."""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)
    sock.sendall(b"bye")


def recv_all(sock, timeout=20.0):
    """Reads until EOF."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


import http.server


class HttpBackend:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose answer the test sets: `status`,
    `body`, `delay` (seconds before answering). Records (method, path, headers) per request."""

    def __init__(self, test, name="backend", port=None):
        self.status = 200
        self.body = b"ok"
        self.delay = 0.0
        self.name = name
        self.requests = []
        self.lock = threading.Lock()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                with backend.lock:
                    backend.requests.append((self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if backend.delay:
                    time.sleep(backend.delay)
                body = backend.body
                try:
                    self.send_response(backend.status)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("X-Backend", backend.name)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the peer (a timed-out check) went away

            do_GET = do_POST = do_HEAD = do_OPTIONS = do_PUT = do_DELETE = handle_one

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.closed = False
        test.addCleanup(self.close)

    def count(self, path=None):
        with self.lock:
            return sum(1 for r in self.requests if path is None or r[1] == path)

    def close(self):
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()

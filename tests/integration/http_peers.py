"""Raw HTTP/1.1 peers for data-path tests: a recording backend that keeps every request it
received exactly (method, target, header lines in order, body) and answers what the test
says, and a client that sends raw bytes and parses what comes back."""

import socket
import socketserver
import threading

from harness import recv_all  # noqa: F401  (re-exported for tests)


class Request:
    def __init__(self, method, target, version, headers, body, conn_id):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] as received
        self.body = body
        self.conn_id = conn_id  # which backend connection carried it

    def header(self, name):
        """The values of every field named `name` (case-insensitive)."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return f"<{self.method} {self.target} {self.headers!r} {self.body!r}>"


def read_head(f):
    """Reads a head (start line + fields) from a binary file object; None at EOF."""
    line = f.readline()
    while line in (b"\r\n", b"\n"):
        line = f.readline()
    if not line:
        return None
    start = line.rstrip(b"\r\n").decode("latin-1")
    headers = []
    while True:
        line = f.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name, value.strip()))
    return start, headers


def read_chunked(f):
    body = b""
    while True:
        size_line = f.readline()
        if not size_line:
            raise EOFError("chunked body cut")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            return body
        body += f.read(size)
        f.readline()


def config_head(workers=1, connect="1s", extra_defaults=""):
    """The global and defaults sections most test configs start with: mode http, short
    timeouts."""
    return f"""global
    workers {workers}
defaults
    mode http
    timeout connect {connect}
    timeout client 10s
    timeout server 10s
{extra_defaults}"""


def exporter_frontend(port):
    """A frontend serving Prometheus metrics on 127.0.0.1:port (HAProxy's form)."""
    return f"""frontend prometheus
    bind 127.0.0.1:{port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
"""


def find(headers, name):
    for n, v in headers:
        if n.lower() == name.lower():
            return v
    return None


class RecordingBackend:
    """An HTTP/1.1 server on 127.0.0.1 that records requests. `respond(req)` returns the
    raw response bytes (default: 200 with body 'ok' naming the backend), or None to close
    the connection without answering."""

    def __init__(self, test, name="b", respond=None):
        self.name = name
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.respond = respond or (lambda req: ok_response(name))
        backend = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with backend.lock:
                    backend.connections += 1
                    conn_id = backend.connections
                while True:
                    try:
                        head = read_head(self.rfile)
                    except (ConnectionError, OSError):
                        return
                    if head is None:
                        return
                    start, headers = head
                    parts = start.split(" ")
                    method, target, version = parts[0], parts[1], parts[-1]
                    body = b""
                    try:
                        if (find(headers, "transfer-encoding") or "").lower().endswith("chunked"):
                            body = read_chunked(self.rfile)
                        elif find(headers, "content-length"):
                            body = self.rfile.read(int(find(headers, "content-length")))
                    except (EOFError, ValueError, OSError):
                        return  # the proxy gave up on this request mid-body
                    req = Request(method, target, version, headers, body, conn_id)
                    with backend.lock:
                        backend.requests.append(req)
                    out = backend.respond(req)
                    if out is None:
                        return
                    try:
                        self.wfile.write(out)
                        self.wfile.flush()
                    except OSError:
                        return
                    if version == "HTTP/1.0" or (find(headers, "connection") or "").lower() == "close":
                        return
                    if b"\r\nconnection: close\r\n" in out.lower().split(b"\r\n\r\n")[0] + b"\r\n":
                        return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256  # a proxy may open many connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        test.addCleanup(self.close)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def ok_response(name, body=None, extra=b"", status=b"200 OK"):
    body = name.encode() if body is None else body
    return (b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\nX-Backend: " + name.encode() + b"\r\n" + extra + b"\r\n" + body)


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return find(self.headers, name)

    def __repr__(self):
        return f"<{self.status} {self.headers!r} {self.body[:200]!r}>"


def read_response(f, head_request=False):
    """Parses one response from a binary file object (skipping 1xx interim ones unless
    it is the only thing there). None at EOF."""
    while True:
        head = read_head(f)
        if head is None:
            return None
        start, headers = head
        parts = start.split(" ", 2)
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            continue
        break
    reason = parts[2] if len(parts) > 2 else ""
    body = b""
    if head_request or status in (101, 204, 304):
        pass
    elif (find(headers, "transfer-encoding") or "").lower().endswith("chunked"):
        body = read_chunked(f)
    elif find(headers, "content-length") is not None:
        body = f.read(int(find(headers, "content-length")))
    else:
        body = f.read()
    return Response(parts[0], status, reason, headers, body)


class Client:
    """A raw client connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=20.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def response(self, head_request=False):
        return read_response(self.f, head_request)

    def closed(self):
        """True when the server closed the connection (EOF, nothing more to read)."""
        try:
            return self.f.read(1) == b""
        except (ConnectionError, OSError):
            return True

    def close(self):
        self.f.close()
        self.sock.close()


def exchange(port, raw, head_request=False):
    """Sends `raw` on a new connection and returns the first response."""
    c = Client(port)
    try:
        c.send(raw)
        return c.response(head_request)
    finally:
        c.close()


def get(port, target="/", headers=(), method="GET", body=None, version="HTTP/1.1"):
    lines = [f"{method} {target} {version}"]
    if not any(n.lower() == "host" for n, _ in headers):
        lines.append("Host: example.test")
    lines += [f"{n}: {v}" for n, v in headers]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else body.encode()
        lines.append(f"Content-Length: {len(data)}")
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
    return exchange(port, raw, head_request=method == "HEAD")

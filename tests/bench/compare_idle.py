"""The idle-connections client of tests/bench/compare.py (scenario idle-10k): opens many
client connections to a proxy from this one process, with non-blocking sockets and a
selector; each connection sends one keep-alive GET and reads its whole response, so the
proxy holds a real HTTP session per connection, and then stays open and idle. Also counts
established TCP connections from /proc/net/tcp and file descriptors from /proc/PID/fd.

The harness needs one descriptor per connection (raise RLIMIT_NOFILE first: compare.py
does), and so does the proxy (it inherits the harness's limit)."""

import errno
import os
import resource
import selectors
import socket
import time


def raise_nofile(wanted):
    """Raises this process's soft RLIMIT_NOFILE to `wanted`, or to the hard limit if that
    is lower (raising the hard limit needs CAP_SYS_RESOURCE). Returns (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    if wanted > hard != resource.RLIM_INFINITY:
        # Root with CAP_SYS_RESOURCE may raise the hard limit too; without it, this fails.
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _response_done(buf):
    """None while the response is incomplete, else (status, body bytes received, problem
    or None)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split()[1])
    except (IndexError, ValueError):
        return 0, 0, f"bad status line {head[0][:40]!r}"
    length = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return status, 0, "no Content-Length"
    body = len(buf) - end - 4
    if body < length:
        return None
    return status, body, None if body == length else f"{body - length} bytes after the body"


class IdleClient:
    """Opens `count` connections to 127.0.0.1:`port`, at most `concurrency` at a time
    connecting or waiting for their response, each sending `GET path` (HTTP/1.1,
    keep-alive) and reading the response (status 200, `body` bytes). The ones that got it
    stay open in `self.sockets`."""

    def __init__(self, port, path, body, concurrency=64, timeout=10.0):
        self.port = port
        self.request = (f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: "
                        f"sluice-bench-idle\r\n\r\n").encode()
        self.body = body
        self.concurrency = concurrency
        self.timeout = timeout
        self.sockets = []
        self.failures = {}  # reason: count
        self.non200 = 0

    def _fail(self, sel, pending, sock, reason):
        self.failures[reason] = self.failures.get(reason, 0) + 1
        try:
            sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        pending.pop(sock.fileno(), None)
        sock.close()

    def open(self, count):
        """Opens `count` more connections; returns the seconds it took."""
        began = time.monotonic()
        sel = selectors.DefaultSelector()
        pending = {}  # fd: [sock, received, deadline, state]
        started = 0
        try:
            while started < count or pending:
                while started < count and len(pending) < self.concurrency:
                    started += 1
                    try:
                        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    except OSError as e:
                        self.failures[f"socket: {e.strerror}"] = self.failures.get(
                            f"socket: {e.strerror}", 0) + 1
                        continue
                    sock.setblocking(False)
                    err = sock.connect_ex(("127.0.0.1", self.port))
                    if err not in (0, errno.EINPROGRESS):
                        self.failures[f"connect: {os.strerror(err)}"] = self.failures.get(
                            f"connect: {os.strerror(err)}", 0) + 1
                        sock.close()
                        continue
                    state = [sock, b"", time.monotonic() + self.timeout, "connect"]
                    pending[sock.fileno()] = state
                    sel.register(sock, selectors.EVENT_WRITE, state)
                for key, _ in sel.select(timeout=0.2):
                    state = key.data
                    sock = state[0]
                    if state[3] == "connect":
                        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            self._fail(sel, pending, sock, f"connect: {os.strerror(err)}")
                            continue
                        try:
                            sent = sock.send(self.request)
                        except OSError as e:
                            self._fail(sel, pending, sock, f"send: {e.strerror}")
                            continue
                        if sent != len(self.request):
                            self._fail(sel, pending, sock, "short send")
                            continue
                        state[3] = "read"
                        sel.modify(sock, selectors.EVENT_READ, state)
                        continue
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        self._fail(sel, pending, sock, f"recv: {e.strerror}")
                        continue
                    if not chunk:
                        self._fail(sel, pending, sock, "closed before the whole response")
                        continue
                    state[1] += chunk
                    done = _response_done(state[1])
                    if done is None:
                        continue
                    status, received, problem = done
                    if status != 200:
                        self.non200 += 1
                        self._fail(sel, pending, sock, f"status {status}")
                    elif problem or received != self.body:
                        self._fail(sel, pending, sock,
                                   problem or f"body {received} bytes, not {self.body}")
                    else:
                        sel.unregister(sock)
                        del pending[sock.fileno()]
                        self.sockets.append(sock)
                now = time.monotonic()
                for state in [s for s in pending.values() if now > s[2]]:
                    self._fail(sel, pending, state[0],
                               f"no response in {self.timeout:.0f} s ({state[3]})")
        finally:
            for state in list(pending.values()):
                state[0].close()
            sel.close()
        return time.monotonic() - began

    def still_open(self):
        """(open, closed by the proxy, readable with data): a socket the proxy closed (or
        reset) is readable; an idle one is not. Those found closed are dropped."""
        sel = selectors.DefaultSelector()
        for sock in self.sockets:
            sel.register(sock, selectors.EVENT_READ)
        readable = {key.fileobj for key, _ in sel.select(timeout=0)}
        sel.close()
        closed = data = 0
        kept = []
        for sock in self.sockets:
            if sock not in readable:
                kept.append(sock)
                continue
            try:
                peek = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                kept.append(sock)
                continue
            except OSError:
                peek = b""
            if peek:
                data += 1
                kept.append(sock)
            else:
                closed += 1
                sock.close()
        self.sockets = kept
        return len(kept) - data, closed, data

    def close(self):
        for sock in self.sockets:
            sock.close()
        self.sockets = []


def tcp_established(local_port=None, remote_port=None):
    """Established IPv4 TCP sockets on this host (/proc/net/tcp) with that local and/or
    remote port. On loopback each connection is listed twice, once per end: local_port =
    a listening port counts the server ends of its connections only."""
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split(None, 4)
            if parts[3] != "01":  # TCP_ESTABLISHED
                continue
            if local_port is not None and int(parts[1].rsplit(":", 1)[1], 16) != local_port:
                continue
            if remote_port is not None and int(parts[2].rsplit(":", 1)[1], 16) != remote_port:
                continue
            count += 1
    return count


def open_fds(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return total

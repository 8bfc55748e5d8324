"""The control socket and sluicectl: show info/servers, set server state and weight seen in
traffic, synchronous reload, permission levels, bad messages."""

import json
import os
import signal
import socket
import struct
import unittest

from harness import SLUICECTL, Sluice, TcpBackend, TempDirTest, free_port, recv_all, run, wait_for
from test_process_model import children


def named(name):
    def handler(sock, backend):
        sock.sendall(name)
    return handler


class ControlTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.a = TcpBackend(self, named(b"a"))
        self.b = TcpBackend(self, named(b"b"))
        self.port = free_port()
        self.sock = os.path.join(self.dir, "sluice.sock")
        self.user_sock = os.path.join(self.dir, "user.sock")

    def cfg(self, server_b="b"):
        return f"""global
    workers 2
    stats socket {self.sock} mode 600 level admin
    stats socket {self.user_sock} level user
defaults
    mode tcp
    timeout connect 1s
frontend f
    bind 127.0.0.1:{self.port}
    default_backend pool
backend pool
    server a 127.0.0.1:{self.a.port}
    server {server_b} 127.0.0.1:{self.b.port} weight 2
"""

    def start(self):
        self.s = Sluice(self, self.cfg(), [self.port])
        return self.s

    def ctl(self, *args, sock=None):
        return run([SLUICECTL, "-s", sock or self.sock, *args])

    def answers(self, n=12):
        out = []
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
                out.append(recv_all(c))
        return out

    def test_show_info(self):
        s = self.start()
        code, out, err = self.ctl("show", "info")
        self.assertEqual(code, 0, err)
        self.assertIn(f"master_pid: {s.proc.pid}", out)
        self.assertIn("generation: 1", out)
        self.assertIn("workers: 2", out)
        code, out, err = self.ctl("--json", "show", "info")
        self.assertEqual(code, 0, err)
        info = json.loads(out)["info"]
        self.assertEqual(sorted(info["workerPids"]), children(s.proc.pid))
        self.assertEqual(info["reloads"], "0")
        self.assertEqual(info["lastReload"], "none")

    def test_show_servers(self):
        self.start()
        code, out, err = self.ctl("show", "servers")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"pool/a\s+127\.0\.0\.1:\d+\s+UP\s+READY\s+1\s")
        self.assertRegex(out, r"pool/b\s+127\.0\.0\.1:\d+\s+UP\s+READY\s+2\s")
        code, out, err = self.ctl("--json", "show", "servers", "pool")
        servers = json.loads(out)["servers"]["servers"]
        self.assertEqual([s["server"] for s in servers], ["a", "b"])
        code, out, err = self.ctl("show", "servers", "nope")
        self.assertEqual(code, 1)
        self.assertIn("no backend named 'nope'", err)

    def test_maint_and_drain_take_a_server_out_of_traffic(self):
        self.start()
        self.assertEqual(set(self.answers()), {b"a", b"b"})
        for state in ("maint", "drain"):
            code, out, err = self.ctl("set", "server", "pool/a", "state", state)
            self.assertEqual(code, 0, err)
            self.assertEqual(set(self.answers()), {b"b"}, state)
            _, out, _ = self.ctl("show", "servers")
            self.assertRegex(out, r"pool/a\s+\S+\s+UP\s+" + state.upper())
            self.assertEqual(self.ctl("set", "server", "pool/a", "state", "ready")[0], 0)
            self.assertEqual(set(self.answers()), {b"a", b"b"})

    def test_weight_zero_takes_a_server_out(self):
        self.start()
        self.assertEqual(self.ctl("set", "server", "pool/b", "weight", "0")[0], 0)
        self.assertEqual(set(self.answers()), {b"a"})
        code, _, err = self.ctl("set", "server", "pool/b", "weight", "300")
        self.assertEqual(code, 2)
        code, _, err = self.ctl("set", "server", "pool/zz", "state", "maint")
        self.assertEqual(code, 1)
        self.assertIn("no server 'pool/zz'", err)
        code, _, err = self.ctl("set", "server", "pool/a", "state", "sleepy")
        self.assertEqual(code, 1)
        self.assertIn("state must be ready, drain or maint", err)

    def test_reload_is_synchronous_and_reports_errors(self):
        s = self.start()
        code, out, err = self.ctl("reload")
        self.assertEqual(code, 0, err)
        self.assertIn("reloaded: generation 2 serving", out)
        with open(s.path, "w") as f:
            f.write(self.cfg().replace("default_backend pool", "default_backend pol"))
        code, out, err = self.ctl("reload")
        self.assertEqual(code, 1)
        self.assertIn(f"{s.path}:10: error: unknown backend 'pol'", out)
        self.assertIn("generation 2 keeps serving", out)
        _, out, _ = self.ctl("show", "info")
        self.assertIn("reload_failures: 1", out)
        self.assertIn("last_reload: failed:", out)
        self.assertEqual(set(self.answers()), {b"a", b"b"})

    def test_stats_sockets_follow_the_config_on_reload(self):
        s = self.start()
        new_sock = os.path.join(self.dir, "new.sock")
        # user.sock becomes admin, sluice.sock goes away, new.sock appears (mode 660).
        text = self.cfg().replace(f"    stats socket {self.sock} mode 600 level admin\n", "")
        text = text.replace(f"stats socket {self.user_sock} level user",
                            f"stats socket {self.user_sock} level admin\n"
                            f"    stats socket {new_sock} mode 660 level operator")
        with open(s.path, "w") as f:
            f.write(text)
        code, out, err = self.ctl("reload")
        self.assertEqual(code, 0, out + err)
        wait_for(lambda: os.path.exists(new_sock), what="the new stats socket")
        self.assertFalse(os.path.exists(self.sock))
        self.assertEqual(os.stat(new_sock).st_mode & 0o777, 0o660)
        code, out, err = self.ctl("show", "info", sock=new_sock)
        self.assertEqual(code, 0, err)
        # The kept socket now has the admin level: it may reload.
        code, out, err = self.ctl("reload", sock=self.user_sock)
        self.assertEqual(code, 0, out + err)
        self.assertIn("generation 3 serving", out)

    def test_admin_state_survives_a_reload_and_a_renamed_server_starts_fresh(self):
        s = self.start()
        self.assertEqual(self.ctl("set", "server", "pool/a", "state", "maint")[0], 0)
        self.assertEqual(self.ctl("set", "server", "pool/b", "state", "drain")[0], 0)
        with open(s.path, "w") as f:
            f.write(self.cfg(server_b="b2"))
        self.assertEqual(self.ctl("reload")[0], 0)
        _, out, _ = self.ctl("show", "servers")
        self.assertRegex(out, r"pool/a\s+\S+\s+UP\s+MAINT")
        self.assertRegex(out, r"pool/b2\s+\S+\s+UP\s+READY")
        self.assertEqual(set(self.answers()), {b"b"})  # b2 is the same address as b

    def test_user_level_may_only_show(self):
        self.start()
        self.assertEqual(self.ctl("show", "info", sock=self.user_sock)[0], 0)
        code, _, err = self.ctl("set", "server", "pool/a", "state", "maint", sock=self.user_sock)
        self.assertEqual(code, 1)
        self.assertIn("permission denied", err)
        code, _, err = self.ctl("reload", sock=self.user_sock)
        self.assertEqual(code, 1)
        self.assertIn("permission denied", err)
        self.assertEqual(oct(os.stat(self.sock).st_mode & 0o777), "0o600")

    def _raw(self, payload):
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(10)
            c.connect(self.sock)
            c.sendall(payload)
            head = recv_exact(c, 4)
            body = recv_exact(c, struct.unpack(">I", head)[0])
            rest = c.recv(1)  # the master closes after a bad message
            return body, rest

    def test_bad_messages_get_an_error_and_harm_nothing(self):
        s = self.start()
        body, rest = self._raw(struct.pack(">I", 50 << 20))
        self.assertIn(b"over the limit", body)
        self.assertEqual(rest, b"")
        body, rest = self._raw(struct.pack(">I", 5) + b"\xff\xff\xff\xff\xff")
        self.assertIn(b"malformed request", body)
        body, rest = self._raw(struct.pack(">I", 0))
        self.assertIn(b"malformed request", body)
        # A client that hangs up mid-frame.
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(self.sock)
            c.sendall(struct.pack(">I", 100) + b"abc")
        self.assertEqual(self.ctl("show", "info")[0], 0)
        self.assertIsNone(s.proc.poll())

    def test_usage_and_unreachable_socket(self):
        code, _, err = run([SLUICECTL, "-s", os.path.join(self.dir, "none.sock"), "show", "info"])
        self.assertEqual(code, 3)
        self.assertIn("cannot connect", err)
        code, _, err = run([SLUICECTL, "-s", self.sock, "frobnicate"])
        self.assertEqual(code, 2)
        code, _, err = run([SLUICECTL, "show", "info"])
        self.assertEqual(code, 2)
        self.assertIn("-s SOCKET is required", err)

    def test_stale_socket_file_is_replaced_and_removed_at_exit(self):
        with socket.socket(socket.AF_UNIX) as stale:
            stale.bind(self.sock)  # a file nobody listens on
        s = self.start()
        self.assertEqual(self.ctl("show", "info")[0], 0)
        s.stop()
        self.assertFalse(os.path.exists(self.sock))


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("closed early")
        data += part
    return data


if __name__ == "__main__":
    unittest.main()

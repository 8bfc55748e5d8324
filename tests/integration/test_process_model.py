"""The master and its workers: process titles, respawning a killed worker on the same
sockets, no orphans when the master dies, graceful stop, pidfile."""

import os
import signal
import socket
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, echo_handler, free_port, recv_all, wait_for


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
        except (OSError, IndexError):
            pass
    return sorted(out)


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")[0].decode()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def config(port, backend_port, workers, extra_global=""):
    return f"""global
    workers {workers}
{extra_global}
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:{port}
    default_backend b
backend b
    server s 127.0.0.1:{backend_port}
"""


def echo_once(port, payload=b"ping"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        return recv_all(c)


class ProcessModelTest(TempDirTest):
    def start(self, workers=2, extra_global=""):
        self.backend = TcpBackend(self, echo_handler)
        self.port = free_port()
        self.sluice = Sluice(self, config(self.port, self.backend.port, workers, extra_global),
                             [self.port])
        wait_for(lambda: len(children(self.sluice.proc.pid)) == workers, what="workers")
        return self.sluice

    def test_process_titles_name_each_role(self):
        s = self.start(workers=2)
        self.assertEqual(cmdline(s.proc.pid), "sluice: master")
        expected = ["sluice: worker 1 (gen 1)", "sluice: worker 2 (gen 1)"]
        titles = lambda: sorted(cmdline(p) for p in children(s.proc.pid))
        wait_for(lambda: titles() == expected, what=f"titles {expected}, have {titles()}")

    def test_killed_worker_is_replaced_and_traffic_goes_on(self):
        s = self.start(workers=2)
        before = children(s.proc.pid)
        victim = before[0]
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(children(s.proc.pid)) == 2 and victim not in children(s.proc.pid),
                 what="replacement worker")
        respawn_ms = (time.monotonic() - t0) * 1000
        print(f"\nrespawn: a new worker appeared {respawn_ms:.1f} ms after SIGKILL")
        for _ in range(20):
            self.assertEqual(echo_once(self.port), b"pingbye")
        self.assertIn("was killed by signal 9", s.output())

    def test_no_orphans_when_the_master_is_killed(self):
        s = self.start(workers=2)
        workers = children(s.proc.pid)
        t0 = time.monotonic()
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        wait_for(lambda: not any(alive(p) for p in workers), timeout=5, what="workers to exit")
        print(f"\norphans: every worker gone {(time.monotonic() - t0) * 1000:.1f} ms after "
              "the master was killed")

    def test_sigterm_lets_a_session_in_flight_finish(self):
        s = self.start(workers=1)
        c = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        c.sendall(b"first ")
        self.assertEqual(c.recv(6), b"first ")
        s.proc.send_signal(signal.SIGTERM)
        # New connections are refused once the workers stop accepting...
        wait_for(lambda: not self._accepts(), what="listener to close")
        # ...while the session in flight still works to the end.
        c.sendall(b"second")
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(c), b"secondbye")
        c.close()
        self.assertEqual(s.proc.wait(timeout=20), 0)

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                c.sendall(b"x")
                c.shutdown(socket.SHUT_WR)
                c.settimeout(0.5)
                return c.recv(1) == b"x"
        except OSError:
            return False

    def test_sigquit_stops_at_once(self):
        s = self.start(workers=1)
        c = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        c.sendall(b"x")
        self.assertEqual(c.recv(1), b"x")
        s.proc.send_signal(signal.SIGQUIT)
        self.assertEqual(recv_all(c), b"")
        s.proc.wait(timeout=20)
        c.close()

    def test_pidfile(self):
        pidfile = os.path.join(self.dir, "sluice.pid")
        s = self.start(workers=1, extra_global=f"    pidfile {pidfile}")
        with open(pidfile) as f:
            self.assertEqual(int(f.read()), s.proc.pid)
        s.stop()
        self.assertFalse(os.path.exists(pidfile))


if __name__ == "__main__":
    unittest.main()

"""Reload (SIGHUP) under load: zero failed connections, the change visible afterwards,
long sessions intact, old workers gone after draining; an invalid config leaves the
running one serving."""

import os
import signal
import socket
import threading
import time
import unittest

from harness import Sluice, TcpBackend, TempDirTest, echo_handler, free_port, recv_all, wait_for
from test_process_model import children


def letter_handler(letter):
    def handler(sock, backend):
        sock.sendall(letter)
    return handler


def config(front, echo_front, letter_port, echo_port, workers=2, extra_front=""):
    return f"""global
    workers {workers}
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend letters
    bind 127.0.0.1:{front}
{extra_front}
    default_backend letters
frontend echo
    bind 127.0.0.1:{echo_front}
    default_backend echo
backend letters
    server s 127.0.0.1:{letter_port}
backend echo
    server s 127.0.0.1:{echo_port}
"""


class Load:
    """Clients opening a new connection per request, counting answers and failures."""

    def __init__(self, port, threads=4):
        self.port = port
        self.ok = 0
        self.failures = []
        self.letters = []
        self.lock = threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def loop(self):
        while self.running:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
                    got = recv_all(c, timeout=10)
                with self.lock:
                    if got in (b"A", b"B"):
                        self.ok += 1
                        self.letters.append(got)
                    else:
                        self.failures.append(f"answer {got!r}")
            except OSError as e:
                with self.lock:
                    self.failures.append(repr(e))

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(timeout=30)


class LongSession:
    """A connection that keeps exchanging pings through every reload."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.exchanges = 0
        self.error = None
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        try:
            while self.running:
                msg = f"ping {self.exchanges}\n".encode()
                self.sock.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    part = self.sock.recv(len(msg) - len(got))
                    if not part:
                        raise ConnectionError("closed")
                    got += part
                if got != msg:
                    raise ConnectionError(f"got {got!r}")
                self.exchanges += 1
                time.sleep(0.02)
        except OSError as e:
            self.error = e

    def finish(self):
        self.running = False
        self.thread.join(timeout=10)
        self.sock.shutdown(socket.SHUT_WR)
        rest = recv_all(self.sock)
        self.sock.close()
        return rest


class ReloadTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.a = TcpBackend(self, letter_handler(b"A"))
        self.b = TcpBackend(self, letter_handler(b"B"))
        self.echo = TcpBackend(self, echo_handler)
        self.front = free_port()
        self.echo_front = free_port()

    def cfg(self, letter_backend, **kw):
        return config(self.front, self.echo_front, letter_backend.port, self.echo.port, **kw)

    def answer(self):
        with socket.create_connection(("127.0.0.1", self.front), timeout=10) as c:
            return recv_all(c)

    def reload(self, s, text, generation):
        with open(s.path, "w") as f:
            f.write(text)
        s.proc.send_signal(signal.SIGHUP)
        s.wait_generation(generation)

    def test_ten_reloads_under_load_fail_nothing(self):
        s = Sluice(self, self.cfg(self.a), [self.front, self.echo_front])
        sessions = [LongSession(self.echo_front) for _ in range(3)]
        load = Load(self.front)
        time.sleep(0.3)
        for i in range(10):
            target = self.b if i % 2 == 0 else self.a
            letter = b"B" if target is self.b else b"A"
            self.reload(s, self.cfg(target), i + 2)
            wait_for(lambda: self.answer() == letter, what=f"answers from {letter!r}")
            time.sleep(0.2)
        load.stop()
        for ls in sessions:
            self.assertIsNone(ls.error, "a long session broke during the reloads")
            self.assertEqual(ls.finish(), b"bye")
        print(f"\nreload: {load.ok} connections across 10 reloads, "
              f"{len(load.failures)} failed; long sessions: "
              f"{[ls.exchanges for ls in sessions]} exchanges")
        self.assertEqual(load.failures, [])
        self.assertGreater(load.ok, 100)
        self.assertEqual(self.answer(), b"A")  # the last config routes to A
        # Once their sessions ended, the old generations' workers are gone.
        wait_for(lambda: len(children(s.proc.pid)) == 2, what="old workers to exit")
        self.assertIn("generation 11 serving", s.output())

    def test_invalid_config_keeps_the_running_one(self):
        s = Sluice(self, self.cfg(self.a), [self.front, self.echo_front])
        load = Load(self.front, threads=2)
        with open(s.path, "w") as f:
            f.write(self.cfg(self.b).replace("default_backend letters",
                                             "default_backend lettres"))
        s.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in s.output(), what="reload failure")
        time.sleep(0.3)
        load.stop()
        out = s.output()
        self.assertIn(f"{s.path}:11: error: unknown backend 'lettres' in 'default_backend'; "
                      "did you mean 'letters'?", out)
        self.assertIn("generation 1 keeps serving", out)
        self.assertEqual(load.failures, [])
        self.assertEqual(set(load.letters), {b"A"})
        self.assertEqual(self.answer(), b"A")
        # A good config after a bad one goes through.
        self.reload(s, self.cfg(self.b), 2)
        wait_for(lambda: self.answer() == b"B", what="answers from B")

    def test_worker_count_changes_without_failures(self):
        s = Sluice(self, self.cfg(self.a, workers=2), [self.front, self.echo_front])
        load = Load(self.front)
        for gen, workers in ((2, 3), (3, 1), (4, 2)):
            # Traffic flows through every generation, however slow the machine is.
            before = load.ok
            wait_for(lambda: load.ok >= before + 10, what="connections before the reload")
            self.reload(s, self.cfg(self.a, workers=workers), gen)
            wait_for(lambda: len(children(s.proc.pid)) == workers, what=f"{workers} workers")
        before = load.ok
        wait_for(lambda: load.ok >= before + 10, what="connections after the last reload")
        load.stop()
        self.assertEqual(load.failures, [])

    def test_a_new_bind_serves_and_a_removed_one_closes(self):
        extra = free_port()
        s = Sluice(self, self.cfg(self.a), [self.front, self.echo_front])
        self.reload(s, self.cfg(self.a, extra_front=f"    bind 127.0.0.1:{extra}"), 2)
        with socket.create_connection(("127.0.0.1", extra), timeout=10) as c:
            self.assertEqual(recv_all(c), b"A")
        self.reload(s, self.cfg(self.a), 3)

        def refused():
            # The old generation closes its copy of the socket when told to drain, a moment
            # after the new one serves.
            try:
                socket.create_connection(("127.0.0.1", extra), timeout=5).close()
                return False
            except ConnectionRefusedError:
                return True

        wait_for(refused, what="the removed bind to refuse connections")


class UpgradeTest(TempDirTest):
    def test_a_reload_after_an_upgrade_runs_the_binary_on_disk(self):
        """The new generation's compiler and processes are the file now at the master's
        path (a package upgrade replaces it), not the one the master started from."""
        import os
        import shutil
        from harness import SLUICE
        a = TcpBackend(self, letter_handler(b"A"))
        front, echo_front = free_port(), free_port()
        installed = os.path.join(self.dir, "bin", "sluice")
        os.makedirs(os.path.dirname(installed))
        shutil.copy(SLUICE, installed)
        s = Sluice(self, config(front, echo_front, a.port, a.port), [front, echo_front],
                   binary=installed)
        # The "upgrade": a new file at the same path, which records how it is run.
        marker = os.path.join(self.dir, "runs.log")
        upgraded = installed + ".new"
        with open(upgraded, "w") as f:
            f.write(f'#!/bin/sh\necho "$@" >> {marker}\nexec {SLUICE} "$@"\n')
        os.chmod(upgraded, 0o755)
        os.rename(upgraded, installed)
        s.proc.send_signal(signal.SIGHUP)
        s.wait_generation(2)
        with open(marker) as f:
            runs = f.read()
        self.assertIn("--role=compile", runs)
        self.assertIn("--role=worker", runs)
        with socket.create_connection(("127.0.0.1", front), timeout=10) as c:
            self.assertEqual(recv_all(c), b"A")


if __name__ == "__main__":
    unittest.main()

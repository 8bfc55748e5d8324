"""systemd Type=notify: READY when the first generation serves, RELOADING then READY
around a reload (also a failed one), STOPPING on SIGTERM."""

import os
import signal
import socket
import subprocess
import unittest

from harness import SLUICE, TcpBackend, TempDirTest, echo_handler, free_port, wait_for


class SystemdNotifyTest(TempDirTest):
    def test_notify_states(self):
        backend = TcpBackend(self, echo_handler)
        port = free_port()
        notify_path = os.path.join(self.dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(20)
        self.addCleanup(notify.close)
        cfg = self.write("s.cfg", f"""global
    workers 1
defaults
    mode tcp
    timeout connect 1s
frontend f
    bind 127.0.0.1:{port}
    default_backend b
backend b
    server s 127.0.0.1:{backend.port}
""")
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        proc = subprocess.Popen([SLUICE, "-f", cfg], env=env, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        first = notify.recv(4096).decode()
        self.assertIn("READY=1", first)
        self.assertIn(f"MAINPID={proc.pid}", first)
        proc.send_signal(signal.SIGHUP)
        self.assertEqual(notify.recv(4096).decode(), "RELOADING=1")
        self.assertIn("READY=1", notify.recv(4096).decode())
        with open(cfg, "a") as f:
            f.write("    bogus keyword\n")
        proc.send_signal(signal.SIGHUP)
        self.assertEqual(notify.recv(4096).decode(), "RELOADING=1")
        failed = notify.recv(4096).decode()
        self.assertIn("READY=1", failed)
        self.assertIn("STATUS=reload failed: the configuration is invalid", failed)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(notify.recv(4096).decode(), "STOPPING=1")
        self.assertEqual(proc.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main()

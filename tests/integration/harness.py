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

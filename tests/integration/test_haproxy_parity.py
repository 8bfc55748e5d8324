"""The valid config corpus against HAProxy itself: every config Sluice accepts must also
pass `haproxy -c`, unless it says `# haproxy: rejects (REASON)` (legacy keywords removed
from HAProxy 2.1, Sluice-only keywords). Skipped when haproxy is not installed."""

import glob
import os
import shutil
import unittest

from harness import CORPUS, SLUICE, run


@unittest.skipIf(shutil.which("haproxy") is None, "haproxy is not installed")
class HaproxyParityTest(unittest.TestCase):
    def test_valid_corpus_passes_haproxy_check(self):
        folder = os.path.join(CORPUS, "valid")
        files = sorted(glob.glob(os.path.join(folder, "*.cfg")))
        self.assertGreater(len(files), 0)
        env = dict(os.environ, CORPUS=CORPUS, SLUICE_TEST_PORT="8080")
        checked = 0
        for path in files:
            with open(path) as f:
                text = f.read()
            code, _, err = run([SLUICE, "-c", "-q", "-f", path], cwd=folder, env=env)
            self.assertEqual(code, 0, f"sluice rejects {path}:\n{err}")
            if "# haproxy: rejects" in text:
                continue
            code, out, err = run(["haproxy", "-c", "-f", path], cwd=folder, env=env)
            # Exit 2 with "no listener": valid, but HAProxy would not start a config that
            # only has backends.
            ok = code == 0 or (code == 2 and "no listener" in out + err)
            self.assertTrue(ok, f"haproxy rejects {path} (mark it if intended):\n{out}{err}")
            checked += 1
        self.assertGreater(checked, len(files) // 2, "most of the corpus should be HAProxy's too")

    def test_invalid_corpus_is_invalid_for_sluice(self):
        folder = os.path.join(CORPUS, "invalid")
        env = dict(os.environ, CORPUS=CORPUS)
        for path in sorted(glob.glob(os.path.join(folder, "*.cfg"))):
            code, _, err = run([SLUICE, "-c", "-f", path], cwd=folder, env=env)
            self.assertEqual(code, 1, f"sluice accepts {path}")
            self.assertIn(": error: ", err)


if __name__ == "__main__":
    unittest.main()

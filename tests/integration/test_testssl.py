"""testssl.sh against a TLS bind with Sluice's default TLS settings: no finding may be of
severity HIGH or CRITICAL.

Sluice runs `workers 1`, mode http, and one frontend with `bind 127.0.0.1:PORT ssl crt
a.test.pem` (the a.test bundle of tls_fixtures: EC P-256 certificate + Test CA chain + key,
nothing else on the bind line) in front of a plain RecordingBackend. Then, from a temporary
folder:

    testssl --quiet --color 0 --warnings off --nodns none --ip 127.0.0.1 \\
            --add-ca CA.pem -p -s -f -P -S -U --jsonfile OUT.json a.test:PORT

- `a.test:PORT` with `--ip 127.0.0.1`: testssl sends SNI a.test and checks the certificate
  against that name; `--nodns none`: no DNS query at all (offline).
- `--add-ca CA.pem`: the Test CA, so the chain of trust is checked against it rather than
  reported as untrusted.
- `-p` protocols, `-s` cipher categories, `-f` forward secrecy (curves, DH groups), `-P`
  server cipher order, `-S` server defaults (certificate, extensions, tickets, resumption),
  `-U` every vulnerability check. Left out: `-h` (the backend's HTTP headers: HSTS etc.,
  not TLS), `-c` (client simulations: informational, slow) and `-E`/`-e` (per-cipher lists,
  INFO only; `-s` and `-f` rate the same ciphers).
- No `--severity`: the JSON then holds every finding (OK and INFO too), so the test can
  check that every section ran; it filters the severities itself.

testssl 3.0.8 (Debian 12's `testssl.sh` package, whose command is `testssl`) takes about
45-60 s here (on 2 busy cores), most of it in its own sleeps and timeouts. The test fails,
not skips, when testssl is missing: tests/run.sh must install the package. docs/tls-testssl.md
has the findings for Sluice and for HAProxy 2.6 with the same certificate."""

import json
import os
import shutil
import subprocess
import time
import unittest

from harness import Sluice, TempDirTest, free_port
from http_peers import RecordingBackend, config_head
from tls_fixtures import pki

PACKAGE = "testssl.sh"  # the Debian package
SEVERE = ("HIGH", "CRITICAL")

# Findings about the test certificate, not about Sluice's TLS: tls_fixtures' certificates
# carry no CRL distribution point and no OCSP URI (there is no revocation service for a
# test CA), which testssl rates HIGH ("Neither CRL nor OCSP URI provided"). Only
# certificate-content ids may go here, never a protocol, cipher or vulnerability id.
CERTIFICATE_ONLY = {"cert_revocation"}

# One id that each requested section (-p -s -f -P -S -U) always writes: their presence
# shows the scan reached the server and ran every section.
EXPECTED_IDS = ("TLS1_2", "cipherlist_NULL", "PFS", "cipher_order", "cert_chain_of_trust",
                "heartbleed", "BEAST")


def testssl_binary():
    """The testssl command: `testssl` (Debian) or `testssl.sh` (upstream), or None."""
    return shutil.which("testssl") or shutil.which("testssl.sh")


def testssl_command(binary, port, ca, json_path, host="a.test", ip="127.0.0.1"):
    return [binary, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
            "--ip", ip, "--add-ca", ca, "-p", "-s", "-f", "-P", "-S", "-U",
            "--jsonfile", json_path, f"{host}:{port}"]


def run_testssl(binary, port, ca, folder, host="a.test"):
    """Runs testssl from `folder` (it writes its temporary files and output there):
    (findings as a list of dicts with id/severity/finding, exit code, stdout, seconds)."""
    json_path = os.path.join(folder, "testssl.json")
    cmd = testssl_command(binary, port, ca, json_path, host=host)
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=folder, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=480)
    seconds = time.monotonic() - start
    findings = []
    if os.path.exists(json_path):
        with open(json_path) as f:
            findings = json.load(f)
    return findings, p.returncode, p.stdout + p.stderr, seconds


def fmt(findings):
    return "\n".join(f"  {f['id']:<28} {f['severity']:<8} {f['finding']}" for f in findings)


class TestsslTest(TempDirTest):
    def test_default_tls_settings_have_no_high_or_critical_finding(self):
        binary = testssl_binary()
        if binary is None:
            self.fail(f"testssl not found (neither `testssl` nor `testssl.sh` on PATH): "
                      f"install the Debian package `{PACKAGE}` (apt-get install {PACKAGE}), as "
                      f"tests/run.sh should")
        p = pki()
        backend = RecordingBackend(self, "b")
        port = free_port()
        Sluice(self, config_head(workers=1) + f"""frontend fe
    bind 127.0.0.1:{port} ssl crt {p.a.bundle}
    default_backend be
backend be
    server s1 127.0.0.1:{backend.port}
""", [port])

        findings, code, output, seconds = run_testssl(binary, port, p.ca.cert, self.dir)
        tail = "\n".join(output.splitlines()[-40:])

        # The scan itself worked: testssl's own error codes are 240 and up (below that its exit
        # code adds up its sections' return codes: 0 or 1 between identical runs here), and a
        # scan that could not connect or went wrong writes FATAL findings (scanProblem).
        fatal = [f for f in findings if f["severity"] == "FATAL"]
        if code >= 240 or fatal or not findings:
            self.fail(f"testssl failed (exit {code}):\n{fmt(fatal)}\n{tail}")
        ids = {f["id"] for f in findings}
        missing = [i for i in EXPECTED_IDS if i not in ids]
        if missing:
            self.fail(f"testssl wrote no {missing} (exit {code}):\n{tail}")

        severe = [f for f in findings
                  if f["severity"] in SEVERE and f["id"] not in CERTIFICATE_ONLY]
        if severe:
            self.fail(f"testssl found HIGH/CRITICAL issues in Sluice's default TLS "
                      f"settings:\n{fmt(severe)}")

        # For the record (python3 -m unittest -v): what testssl rated LOW and above.
        rated = [f for f in findings if f["severity"] in ("LOW", "MEDIUM", *SEVERE)]
        print(f"\ntestssl: exit {code}, {len(findings)} findings in {seconds:.0f} s, "
              f"LOW and above (the certificate-only ones ignored: "
              f"{sorted(CERTIFICATE_ONLY)}):\n{fmt(rated) or '  none'}")
        # The scan went through Sluice to the backend (service detection and BREACH send GET /).
        self.assertGreater(backend.count(), 0)


if __name__ == "__main__":
    unittest.main()

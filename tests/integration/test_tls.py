"""TLS end to end: certificates and SNI, protocol versions, ALPN, the ssl_fc* fetches, session
resumption across workers and reloads, TLS to servers (verification, SNI, checks), bad
certificates, reloads that change certificates under load, and TLS in mode tcp.

Every test asserts what the client got and what the backend received. The same tests run
against HAProxy with SLUICE_TLS_PEER=haproxy (`haproxy -W -db -f CONFIG`, reloaded with
SIGUSR2); by default they run against Sluice (`sluice -f CONFIG`, reloaded with SIGHUP).
The few places where the two differ (how an error is worded) are marked `peer-specific`.
See TLS_TESTS.md."""

import base64
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest
import urllib.request
import warnings

from harness import SLUICE, Sluice, TcpBackend, TempDirTest, free_port, port_open, wait_for
from http_peers import RecordingBackend, config_head, exporter_frontend, read_response
from tls_backend import TlsRecordingBackend
from tls_fixtures import pki

PEER = os.environ.get("SLUICE_TLS_PEER", "sluice")
HAPROXY = PEER == "haproxy"
OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


# ---------------------------------------------------------------------------------------
# The proxy under test.

class HaproxyPeer:
    """`haproxy -W -db -f CONFIG`: the same interface as SluicePeer."""

    def __init__(self, test, config_text, ports):
        self.path = test.write("proxy.cfg", config_text)
        self.log = open(os.path.join(test.dir, "proxy.log"), "a+")
        self.proc = subprocess.Popen(["haproxy", "-W", "-db", "-f", self.path],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        test.addCleanup(self.stop)
        self._wait_count("Loading success.", 1)
        for p in ports:
            wait_for(lambda: port_open(p) or self.proc.poll() is not None, what=f"port {p}")
        self._alive()

    def _alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"haproxy exited {self.proc.returncode}:\n{self.output()}")

    def _wait_count(self, text, n, timeout=30.0):
        try:
            wait_for(lambda: self.output().count(text) >= n or self.proc.poll() is not None,
                     timeout=timeout, what=f"{n} x {text!r}")
        except AssertionError as e:
            raise AssertionError(f"{e}; haproxy said:\n{self.output()}") from None
        self._alive()

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def reload(self, config_text=None, ok=True):
        """Reloads (SIGUSR2 to the master); with ok, waits until the new worker serves,
        else until the master says the reload failed."""
        if config_text is not None:
            with open(self.path, "w") as f:
                f.write(config_text)
        text = "Loading success." if ok else "Loading failure!"
        n, reloads = self.output().count(text), self.output().count("Reloading HAProxy")
        # HAProxy 2.6's master loses a SIGUSR2 that arrives just after it printed "Loading
        # success." (found here: about 50 ms). It prints "Reloading HAProxy" as soon as it
        # takes one, so the signal is sent again until it did.
        for attempt in range(20):
            self.proc.send_signal(signal.SIGUSR2)
            deadline = time.monotonic() + 1.0 + attempt * 0.5
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.output().count("Reloading HAProxy") > reloads:
                    break
                time.sleep(0.02)
            else:
                self._alive()
                continue
            break
        self._wait_count(text, n + 1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode


SERVING = re.compile(r"sluice: generation \d+ serving")


class SluicePeer(Sluice):
    """harness.Sluice plus reload (SIGHUP)."""

    def reload(self, config_text=None, ok=True):
        if config_text is not None:
            with open(self.path, "w") as f:
                f.write(config_text)
        out = self.output()
        served, failed = len(SERVING.findall(out)), out.count("reload failed")
        self.proc.send_signal(signal.SIGHUP)
        if ok:
            wait_for(lambda: len(SERVING.findall(self.output())) > served or
                     self.output().count("reload failed") > failed or self.proc.poll() is not None,
                     timeout=30, what="the next generation serving")
            if len(SERVING.findall(self.output())) <= served:
                raise AssertionError(f"reload did not serve:\n{self.output()}")
        else:
            wait_for(lambda: self.output().count("reload failed") > failed or
                     self.proc.poll() is not None, timeout=30, what="reload failure")
        if self.proc.poll() is not None:
            raise AssertionError(f"sluice exited {self.proc.returncode}:\n{self.output()}")


def start_peer(test, config_text, ports):
    return (HaproxyPeer if HAPROXY else SluicePeer)(test, config_text, ports)


def check_config(path):
    """`sluice -c -f PATH` or `haproxy -c -f PATH`: (exit code, stdout + stderr)."""
    cmd = ["haproxy", "-c", "-f", path] if HAPROXY else [SLUICE, "-c", "-f", path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def head(global_extra="", defaults_extra="", log=False, mode="http"):
    """The global and defaults sections (http_peers.config_head): 2 workers for Sluice,
    2 threads for HAProxy; `log`: access logs on the proxy's standard output."""
    if log:
        global_extra += "    log stdout format raw local0\n"
        defaults_extra += ("    log global\n    option dontlognull\n" +
                           ("    option httplog\n" if mode == "http" else ""))
    text = config_head(workers=2, extra_defaults=defaults_extra)
    if mode != "http":
        text = text.replace("    mode http\n", f"    mode {mode}\n")
    return text.replace("    workers 2\n", ("    nbthread 2\n" if HAPROXY else "    workers 2\n")
                        + global_extra)


def line_of(text, needle):
    """The 1-based number of the first line of `text` containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the config")


# ---------------------------------------------------------------------------------------
# Clients.

def client_ctx(sni=True, cafile=None, min_version=None, max_version=None, alpn=None,
               ciphers=None, verify=True, check_hostname=None):
    """A client context verifying the chain against the Test CA (`verify`), and the name
    against the SNI (`check_hostname`, by default when there is an SNI)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile or pki().ca.cert)
        ctx.check_hostname = sni if check_hostname is None else check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 clients are made on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


class Tls:
    """What the client saw of one TLS connection."""

    def __init__(self, s):
        cert = s.getpeercert()
        self.subject = {k: v for rdn in cert.get("subject", ()) for k, v in rdn} if cert else {}
        self.cn = self.subject.get("commonName")
        self.org = self.subject.get("organizationName")
        self.serial = int(cert["serialNumber"], 16) if cert else None
        self.version = s.version()
        self.cipher = s.cipher()[0]
        self.alpn = s.selected_alpn_protocol()


def tls_connect(port, sni=None, ctx=None, **kw):
    """A TLS connection (handshake done) to 127.0.0.1:port sending `sni` (None: no SNI)."""
    ctx = ctx or client_ctx(sni=sni is not None, **kw)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def request_bytes(target="/", host="example.test", headers=()):
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}"] + [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines + ["Connection: close", "", ""])).encode()


def https(port, sni=None, target="/", headers=(), ctx=None, **kw):
    """One request over a new TLS connection: (Response, Tls)."""
    s = tls_connect(port, sni, ctx, **kw)
    try:
        info = Tls(s)
        s.sendall(request_bytes(target, headers=headers))
        f = s.makefile("rb")
        r = read_response(f)
        f.close()
        return r, info
    finally:
        s.close()


def http(port, target="/", host="example.test"):
    """One plain request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request_bytes(target, host))
        with s.makefile("rb") as f:
            return read_response(f)


def handshake_error(port, sni=None, **kw):
    """The error text of a handshake that must fail."""
    try:
        s = tls_connect(port, sni, **kw)
    except (ssl.SSLError, ConnectionError) as e:
        return str(e)
    s.close()
    raise AssertionError("the handshake succeeded")


def s_client(port, *args, stdin=b""):
    """`openssl s_client -connect 127.0.0.1:PORT ARGS`: stdout + stderr."""
    p = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", *args],
                       input=stdin, capture_output=True, timeout=20)
    return (p.stdout + p.stderr).decode("latin-1")


def presented_subject(port, *args):
    """The subject of the certificate the server presents, via s_client | x509."""
    out = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", *args],
                         input=b"", capture_output=True, timeout=20).stdout
    p = subprocess.run([OPENSSL, "x509", "-noout", "-subject"], input=out,
                       capture_output=True, timeout=20)
    return p.stdout.decode().strip()


PROTOCOL_ALERT = "ALERT_PROTOCOL_VERSION"  # the server's protocol_version alert (70)


def copy_bundle(test, leaf, name):
    """A copy of a bundle in the test's folder (tests that rewrite certificate files)."""
    path = os.path.join(test.dir, name)
    shutil.copy(leaf.bundle, path)
    return path


def replace_file(path, source):
    """Replaces `path` by a copy of `source` atomically (a reader never sees half)."""
    tmp = path + ".new"
    shutil.copy(source, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------

@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class TlsTest(TempDirTest):
    maxDiff = None

    def setUp(self):
        super().setUp()
        self.pki = pki()

    def proxy(self, config_text, ports):
        return start_peer(self, config_text, ports)

    def frontend_with_app(self, binds, rules="", extra="", log=False, global_extra="",
                          defaults_extra=""):
        """Starts a proxy with `frontend fe` (binds + rules) in front of one recording
        backend `app`; returns (proxy, backend)."""
        app = RecordingBackend(self, "app")
        text = head(global_extra, defaults_extra, log) + f"""
frontend fe
{binds}{rules}    default_backend app
backend app
    server s1 127.0.0.1:{app.port}
{extra}"""
        ports = [int(p) for p in re.findall(r"bind 127\.0\.0\.1:(\d+)", text)]
        return self.proxy(text, ports), app

    def crts(self):
        p = self.pki
        return f"crt {p.a.bundle} crt {p.b.bundle} crt {p.w.bundle}"

    # 1. Certificates and SNI --------------------------------------------------------

    @unittest.skipIf(CURL is None, "curl is not installed")
    def test_sni_selects_the_certificate_and_the_first_one_is_the_default(self):
        port = free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{port} ssl {self.crts()}\n",
            "    http-request set-header X-SNI %[ssl_fc_sni] if { ssl_fc }\n")
        # curl, verifying against the Test CA: a.test and b.test get their own certificate.
        for name, org in (("a.test", "Sluice A"), ("b.test", "Sluice B")):
            p = subprocess.run(
                [CURL, "-sS", "-v", "--http1.1", "--resolve", f"{name}:{port}:127.0.0.1",
                 "--cacert", self.pki.ca.cert, f"https://{name}:{port}/curl-{name}"],
                capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "app")
            self.assertIn(f"subject: O={org}; CN={name}", p.stderr)
            self.assertEqual(app.last().target, f"/curl-{name}")
            self.assertEqual(app.last().header("X-SNI"), [name])
        # A name under the wildcard gets the wildcard certificate (Python verifies the name).
        r, tls = https(port, "x.w.test", "/wild")
        self.assertEqual((r.status, tls.cn, tls.serial), (200, "*.w.test", self.pki.w.serial))
        self.assertEqual(app.last().header("X-SNI"), ["x.w.test"])
        # No SNI, and an SNI no certificate has, get the first certificate: a.test.
        r, tls = https(port, None, "/nosni")
        self.assertEqual((r.status, tls.cn, tls.serial), (200, "a.test", self.pki.a.serial))
        self.assertEqual(app.last().header("X-SNI"), [""])
        r, tls = https(port, "unknown.test", "/unknown", check_hostname=False)
        self.assertEqual((r.status, tls.cn), (200, "a.test"))
        self.assertEqual(app.last().header("X-SNI"), ["unknown.test"])
        self.assertEqual(presented_subject(port, "-noservername"), "subject=O = Sluice A, CN = a.test")
        self.assertEqual(presented_subject(port, "-servername", "unknown.test"),
                         "subject=O = Sluice A, CN = a.test")
        self.assertEqual(presented_subject(port, "-servername", "b.test"),
                         "subject=O = Sluice B, CN = b.test")
        # A deeper name is not under the wildcard: the default certificate.
        self.assertEqual(presented_subject(port, "-servername", "y.x.w.test"),
                         "subject=O = Sluice A, CN = a.test")
        self.assertEqual(app.count(), 5)

    def test_crt_directory_under_crt_base(self):
        # `crt certs` relative to crt-base: every file of the folder, in name order, so
        # a.test.pem is the default.
        port = free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{port} ssl crt certs\n",
            "    http-request set-header X-SNI %[ssl_fc_sni] if { ssl_fc }\n",
            global_extra=f"    crt-base {self.pki.dir}\n")
        for sni, cn in (("a.test", "a.test"), ("b.test", "b.test"), ("z.w.test", "*.w.test"),
                        (None, "a.test")):
            r, tls = https(port, sni, f"/{sni}")
            self.assertEqual((r.status, tls.cn), (200, cn), sni)
            self.assertEqual(app.last().target, f"/{sni}")
            self.assertEqual(app.last().header("X-SNI"), [sni or ""])

    def test_chain_in_the_bundle_is_sent(self):
        # a.test.pem carries the CA after the certificate: the server sends both.
        port = free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{port} ssl crt {self.pki.a.bundle} crt {self.pki.b.bundle}\n")
        out = s_client(port, "-servername", "a.test", "-showcerts")
        self.assertEqual(out.count("-----BEGIN CERTIFICATE-----"), 2, out)
        self.assertIn("i:CN = Test CA", out)
        out = s_client(port, "-servername", "b.test", "-showcerts")
        self.assertEqual(out.count("-----BEGIN CERTIFICATE-----"), 1, out)
        self.assertEqual(app.count(), 0)

    # 2. Protocol versions and ciphers -----------------------------------------------

    def test_tls10_and_tls11_are_refused_by_default_tls12_and_tls13_accepted(self):
        port, legacy = free_port(), free_port()
        # The second bind accepts old versions: it shows the refusal on the first one is
        # the server's, not the client's own OpenSSL policy.
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{port} ssl crt {self.pki.a.bundle}\n"
            f"    bind 127.0.0.1:{legacy} ssl crt {self.pki.a.bundle} ssl-min-ver TLSv1.0 "
            "ciphers DEFAULT:@SECLEVEL=0\n",
            "    http-request set-header X-Proto %[ssl_fc_protocol]\n")
        old = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1}
        for name, v in old.items():
            err = handshake_error(port, "a.test", min_version=v, max_version=v,
                                  ciphers="DEFAULT:@SECLEVEL=0")
            self.assertIn(PROTOCOL_ALERT, err, name)
            r, tls = https(legacy, "a.test", ciphers="DEFAULT:@SECLEVEL=0", min_version=v,
                           max_version=v)
            self.assertEqual((r.status, tls.version), (200, name))
            self.assertEqual(app.last().header("X-Proto"), [name])
        # The same with the openssl command line.
        out = s_client(port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "a.test")
        self.assertIn("alert protocol version", out)
        self.assertEqual(app.count(), 2)
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            r, tls = https(port, "a.test", f"/{name}", min_version=v, max_version=v)
            self.assertEqual((r.status, r.body, tls.version), (200, b"app", name))
            self.assertEqual(app.last().target, f"/{name}")
            self.assertEqual(app.last().header("X-Proto"), [name])
        # Unconstrained, the client gets TLS 1.3.
        self.assertEqual(https(port, "a.test")[1].version, "TLSv1.3")

    def test_bind_version_options(self):
        only13, max12, no13 = free_port(), free_port(), free_port()
        a = self.pki.a.bundle
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{only13} ssl crt {a} ssl-min-ver TLSv1.3\n"
            f"    bind 127.0.0.1:{max12} ssl crt {a} ssl-max-ver TLSv1.2\n"
            f"    bind 127.0.0.1:{no13} ssl crt {a} no-tlsv13 no-tlsv11\n",
            "    http-request set-header X-Proto %[ssl_fc_protocol]\n")
        err = handshake_error(only13, "a.test", max_version=ssl.TLSVersion.TLSv1_2)
        self.assertIn(PROTOCOL_ALERT, err)
        self.assertEqual(app.count(), 0)
        self.assertEqual(https(only13, "a.test")[1].version, "TLSv1.3")
        for port in (max12, no13):
            r, tls = https(port, "a.test")
            self.assertEqual((r.status, tls.version), (200, "TLSv1.2"))
            self.assertEqual(app.last().header("X-Proto"), ["TLSv1.2"])
        err = handshake_error(max12, "a.test", min_version=ssl.TLSVersion.TLSv1_3)
        self.assertIn(PROTOCOL_ALERT, err)
        self.assertEqual(app.count(), 3)

    def test_global_ssl_default_bind_settings_and_bind_overrides(self):
        defaults, own = free_port(), free_port()
        a = self.pki.a.bundle
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{defaults} ssl crt {a}\n"
            f"    bind 127.0.0.1:{own} ssl crt {a} ssl-min-ver TLSv1.2 "
            "ciphers ECDHE-ECDSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256\n",
            "    http-request set-header X-TLS %[ssl_fc_protocol]/%[ssl_fc_cipher]\n",
            global_extra="    ssl-default-bind-options ssl-min-ver TLSv1.3 no-tls-tickets\n"
                         "    ssl-default-bind-ciphers ECDHE-ECDSA-CHACHA20-POLY1305\n"
                         "    ssl-default-bind-ciphersuites TLS_CHACHA20_POLY1305_SHA256\n")
        # The global defaults: TLS 1.3 only, with the ChaCha20 suite.
        err = handshake_error(defaults, "a.test", max_version=ssl.TLSVersion.TLSv1_2)
        self.assertIn(PROTOCOL_ALERT, err)
        r, tls = https(defaults, "a.test")
        self.assertEqual((r.status, tls.version, tls.cipher),
                         (200, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"))
        self.assertEqual(app.last().header("X-TLS"), ["TLSv1.3/TLS_CHACHA20_POLY1305_SHA256"])
        # The bind's own settings win over the defaults.
        r, tls = https(own, "a.test", max_version=ssl.TLSVersion.TLSv1_2)
        self.assertEqual((r.status, tls.version, tls.cipher),
                         (200, "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"))
        self.assertEqual(app.last().header("X-TLS"), ["TLSv1.2/ECDHE-ECDSA-AES128-GCM-SHA256"])
        r, tls = https(own, "a.test")
        self.assertEqual((tls.version, tls.cipher), ("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
        self.assertEqual(app.last().header("X-TLS"), ["TLSv1.3/TLS_AES_128_GCM_SHA256"])
        self.assertEqual(app.count(), 3)

    # 3. ALPN -------------------------------------------------------------------------

    @unittest.skipIf(CURL is None, "curl is not installed")
    def test_alpn(self):
        h1, both, none = free_port(), free_port(), free_port()
        a = self.pki.a.bundle
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{h1} ssl crt {a} alpn http/1.1\n"
            f"    bind 127.0.0.1:{both} ssl crt {a} alpn h2,http/1.1\n"
            f"    bind 127.0.0.1:{none} ssl crt {a}\n")
        # A client offering h2 first gets http/1.1 from a bind that only has http/1.1.
        r, tls = https(h1, "a.test", "/h1", alpn=["h2", "http/1.1"])
        self.assertEqual((r.status, tls.alpn), (200, "http/1.1"))
        # A client offering only http/1.1 gets it from a bind that also has h2.
        r, tls = https(both, "a.test", "/both", alpn=["http/1.1"])
        self.assertEqual((r.status, tls.alpn), (200, "http/1.1"))
        # No alpn on the bind: nothing is negotiated, HTTP/1.1 is spoken anyway.
        r, tls = https(none, "a.test", "/none", alpn=["http/1.1"])
        self.assertEqual((r.status, tls.alpn), (200, None))
        out = s_client(h1, "-servername", "a.test", "-alpn", "http/1.1")
        self.assertIn("ALPN protocol: http/1.1", out)
        p = subprocess.run([CURL, "-sS", "-v", "--http1.1", "--resolve", f"a.test:{h1}:127.0.0.1",
                            "--cacert", self.pki.ca.cert, f"https://a.test:{h1}/curl"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual((p.returncode, p.stdout), (0, "app"), p.stderr)
        self.assertIn("ALPN: server accepted http/1.1", p.stderr)
        self.assertEqual([q.target for q in app.requests], ["/h1", "/both", "/none", "/curl"])
        self.assertTrue(all(q.version == "HTTP/1.1" for q in app.requests))

    # 4. Fetches ----------------------------------------------------------------------

    def test_ssl_fetches_in_headers_and_routing(self):
        plain, tls_port = free_port(), free_port()
        wild = RecordingBackend(self, "wild")
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{plain}\n"
            f"    bind 127.0.0.1:{tls_port} ssl {self.crts()}\n",
            "    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n"
            "    http-request set-header X-SNI %[ssl_fc_sni] if { ssl_fc }\n"
            "    http-request set-header X-TLS-Version %[ssl_fc_protocol] if { ssl_fc }\n"
            "    http-request set-header X-TLS-Cipher %[ssl_fc_cipher] if { ssl_fc }\n"
            "    use_backend wild if { ssl_fc_sni -m end .w.test }\n",
            extra=f"backend wild\n    server w1 127.0.0.1:{wild.port}\n")
        tls_headers = ("X-Forwarded-Proto", "X-SNI", "X-TLS-Version", "X-TLS-Cipher")
        # Plain: none of the TLS headers.
        r = http(plain, "/plain")
        self.assertEqual((r.status, r.body), (200, b"app"))
        self.assertEqual(app.last().target, "/plain")
        for h in tls_headers:
            self.assertEqual(app.last().header(h), [], h)
        # TLS 1.3, then 1.2: the headers are what the client negotiated.
        for maxv in (None, ssl.TLSVersion.TLSv1_2):
            r, tls = https(tls_port, "b.test", "/tls", max_version=maxv)
            self.assertEqual((r.status, r.body), (200, b"app"))
            q = app.last()
            self.assertEqual(q.header("X-Forwarded-Proto"), ["https"])
            self.assertEqual(q.header("X-SNI"), ["b.test"])
            self.assertEqual(q.header("X-TLS-Version"), [tls.version])
            self.assertEqual(q.header("X-TLS-Cipher"), [tls.cipher])
        self.assertEqual(app.requests[-2].header("X-TLS-Version"), ["TLSv1.3"])
        self.assertRegex(app.requests[-2].header("X-TLS-Cipher")[0], r"^TLS_(AES_\d+_GCM|CHACHA20)")
        self.assertEqual(app.requests[-1].header("X-TLS-Version"), ["TLSv1.2"])
        self.assertRegex(app.requests[-1].header("X-TLS-Cipher")[0], r"^ECDHE-ECDSA-")
        # ssl_fc_sni routes: the wildcard names go to the other backend.
        r, tls = https(tls_port, "api.w.test", "/wild")
        self.assertEqual((r.status, r.body), (200, b"wild"))
        self.assertEqual(wild.last().header("X-SNI"), ["api.w.test"])
        self.assertEqual((app.count(), wild.count()), (3, 1))

    def test_redirect_scheme_https_on_the_plain_bind(self):
        plain, tls_port = free_port(), free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{plain}\n"
            f"    bind 127.0.0.1:{tls_port} ssl crt {self.pki.a.bundle}\n",
            "    redirect scheme https if !{ ssl_fc }\n"
            "    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n")
        r = http(plain, "/p/q?x=1", host="example.test")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "https://example.test/p/q?x=1")
        self.assertEqual(app.count(), 0)
        r, _ = https(tls_port, "a.test", "/p/q?x=1")
        self.assertEqual((r.status, r.body), (200, b"app"))
        self.assertEqual(app.last().target, "/p/q?x=1")
        self.assertEqual(app.last().header("X-Forwarded-Proto"), ["https"])
        self.assertEqual(app.count(), 1)

    def test_httpslog_has_sni_version_and_cipher(self):
        # HAProxy's httpslog ends with "fc_err/ssl_fc_err/ssl_c_err/ssl_c_ca_err/resumed
        # sni/%sslv/%sslc"; over a plain bind the TLS fields are absent.
        plain, tls_port = free_port(), free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{plain}\n"
            f"    bind 127.0.0.1:{tls_port} ssl crt {self.pki.a.bundle}\n"
            "    option httpslog\n", log=True)
        r, tls = https(tls_port, "a.test", "/over-tls")
        self.assertEqual(r.status, 200)
        self.assertRegex(tls.cipher, r"^TLS_")
        tail = (f'"GET /over-tls HTTP/1.1" 0/0000000000000000/0/0/0 '
                f'a.test/{tls.version}/{tls.cipher}\n')
        wait_for(lambda: tail in proxy.output(), what=tail)
        self.assertEqual(http(plain, "/plain").status, 200)
        wait_for(lambda: '"GET /plain HTTP/1.1" ' in proxy.output(), what="plain log line")
        plain_line = [l for l in proxy.output().splitlines() if '"GET /plain HTTP/1.1"' in l][0]
        self.assertTrue(plain_line.endswith('"GET /plain HTTP/1.1" 0/-/-/-/0 -/-/-'), plain_line)
        # %ft: a frontend name ends with "~" on a TLS connection.
        self.assertIn(" fe~ ", [l for l in proxy.output().splitlines() if "/over-tls" in l][0])
        self.assertIn(" fe ", plain_line)
        self.assertEqual(proxy.output().count(tail), 1, proxy.output())
        self.assertEqual([q.target for q in app.requests], ["/over-tls", "/plain"])

    # 5. Session resumption -----------------------------------------------------------

    def resume(self, port, version_flag, reconnects=10, proxy=None, reload_after=None):
        """s_client: a full handshake saving the session, then `reconnects` handshakes
        each offering the latest session: every one must be resumed. Each connection
        also makes a request. Returns the outputs."""
        sess = os.path.join(self.dir, f"session-{port}{version_flag}.pem")
        req = request_bytes("/resume", headers=[])
        args = [version_flag, "-servername", "a.test", "-CAfile", self.pki.ca.cert, "-ign_eof"]
        out = s_client(port, *args, "-sess_out", sess, stdin=req)
        self.assertIn("New, TLS", out)
        self.assertIn("HTTP/1.1 200", out)
        self.assertTrue(os.path.exists(sess) and os.path.getsize(sess) > 0,
                        f"no session saved ({version_flag}):\n{out}")
        outs = []
        for i in range(reconnects):
            if reload_after is not None and i == reload_after:
                proxy.reload()
            # TLS 1.3: each session is offered once, as clients should (RFC 8446 C.4), so
            # every resumed connection must hand out a fresh one for the next. TLS 1.2:
            # the same session again. (HAProxy 2.6 gives no fresh ticket when the one
            # offered is under its current tls-ticket-keys key, so not checked there.)
            tls13 = version_flag == "-tls1_3" and not HAPROXY
            fresh = f"{sess}.{i}" if tls13 else sess
            out = s_client(port, *args, "-sess_in", sess, "-sess_out", fresh, stdin=req)
            self.assertIn("HTTP/1.1 200", out)
            self.assertRegex(out, r"\nReused, TLSv1\.[23],", f"reconnect {i}: not resumed:\n{out}")
            self.assertTrue(os.path.exists(fresh) and os.path.getsize(fresh) > 0,
                            f"reconnect {i}: no fresh session handed out:\n{out}")
            sess = fresh
            outs.append(out)
        return outs

    def test_session_resumption_across_workers(self):
        tickets, cache = free_port(), free_port()
        a = self.pki.a.bundle
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{tickets} ssl crt {a}\n"
            f"    bind 127.0.0.1:{cache} ssl crt {a} no-tls-tickets\n")
        n = 0
        # HAProxy resumes without tickets from its shared session cache; Sluice resumes by
        # tickets only (docs/tls.md), so there every handshake on that bind is a full one.
        for port in (tickets, cache) if HAPROXY else (tickets,):
            for flag in ("-tls1_2", "-tls1_3"):
                outs = self.resume(port, flag)
                self.assertTrue(all(f"Reused, TLSv1.{flag[-1]}," in o for o in outs))
                n += 11
        if not HAPROXY:
            for flag in ("-tls1_2", "-tls1_3"):
                sess = os.path.join(self.dir, f"nt{flag}.pem")
                req = request_bytes("/resume", headers=[])
                s_client(tickets, flag, "-servername", "a.test", "-ign_eof", "-sess_out", sess,
                         stdin=req)
                self.assertTrue(os.path.exists(sess), f"no session saved ({flag})")
                out = s_client(cache, flag, "-servername", "a.test", "-ign_eof", "-sess_in",
                               sess, stdin=req)
                self.assertRegex(out, r"\nNew, TLSv1\.[23],", out)
                n += 2
        self.assertEqual(app.count(), n)
        self.assertTrue(all(q.target == "/resume" for q in app.requests))

    def test_tls_ticket_keys_file_resumes_across_a_reload(self):
        keys = self.write("ticket.keys", "".join(
            base64.b64encode(os.urandom(80)).decode() + "\n" for _ in range(3)))
        port = free_port()
        proxy, app = self.frontend_with_app(
            f"    bind 127.0.0.1:{port} ssl crt {self.pki.a.bundle} tls-ticket-keys {keys}\n")
        for flag in ("-tls1_2", "-tls1_3"):
            self.resume(port, flag, reconnects=4, proxy=proxy, reload_after=2)
        self.assertEqual(app.count(), 10)

    # 6. TLS to servers ---------------------------------------------------------------

    def upstream_proxy(self, server_opts, log=False, global_extra="", backend_extra=""):
        up = TlsRecordingBackend(self, self.pki.up.bundle, "up")
        port = free_port()
        text = head(global_extra, log=log) + f"""
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
{backend_extra}    server s1 127.0.0.1:{up.port} {server_opts}
"""
        return self.proxy(text, [port]), port, up

    def test_server_tls_verified_with_sni(self):
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.ca.cert} sni str(up.test)")
        r = http(port, "/secure")
        self.assertEqual((r.status, r.body), (200, b"up"))
        self.assertEqual(up.last().target, "/secure")
        self.assertEqual(up.snis(), ["up.test"])
        self.assertEqual(up.failed_handshakes, [])

    def test_server_tls_with_ca_base(self):
        proxy, port, up = self.upstream_proxy(
            "ssl verify required ca-file ca.pem sni str(up.test)",
            global_extra=f"    ca-base {self.pki.dir}\n")
        r = http(port, "/ca-base")
        self.assertEqual((r.status, r.body), (200, b"up"))
        self.assertEqual(up.last().target, "/ca-base")

    def test_server_certificate_from_another_ca_is_refused(self):
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.other_ca.cert} sni str(up.test)", log=True)
        r = http(port, "/refused")
        self.assertEqual(r.status, 503)
        self.assertEqual(up.count(), 0)
        # The proxy aborted each handshake with an alert: the upstream saw it fail.
        wait_for(lambda: len(up.failed_handshakes) > 0, what="a failed upstream handshake")
        self.assertTrue(all("UNKNOWN_CA" in e for e in up.failed_handshakes), up.failed_handshakes)
        # peer-specific: what the proxy says.
        if HAPROXY:
            # HAProxy 2.6 logs only the outcome (no server was reachable: SC, 503).
            wait_for(lambda: re.search(r" fe be/s1 .* 503 .* SC-- .*\"GET /refused",
                                       proxy.output()), what="log line")
        else:
            wait_for(lambda: any("s1" in line and re.search(r"(?i)verif\w* fail", line)
                                 for line in proxy.output().splitlines()),
                     what="a log line naming s1 and the verification failure")

    def test_server_name_is_checked_against_the_sni(self):
        # verify required checks the certificate's names against the SNI sent (HAProxy:
        # "if verifyhost is not specified, the SNI is used").
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.ca.cert} sni str(other.test)")
        self.assertEqual(http(port, "/wrong-name").status, 503)
        self.assertEqual(up.count(), 0)
        wait_for(lambda: len(up.failed_handshakes) > 0, what="a failed upstream handshake")
        self.assertTrue(all(s == "other.test" for s in up.snis()))

    def test_server_sessions_are_resumed(self):
        # A new connection to a TLS server offers the session the last one got: with
        # `http-reuse never` every request opens one, and all but the first of each
        # worker (or thread) resume.
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.ca.cert} sni str(up.test)",
            backend_extra="    http-reuse never\n")
        for i in range(8):
            self.assertEqual(http(port, f"/r{i}").status, 200)
        with up.lock:
            shakes = list(up.handshakes)
        self.assertEqual(len(shakes), 8, shakes)
        resumed = sum(1 for h in shakes if h["resumed"])
        self.assertGreaterEqual(resumed, 8 - 2, shakes)

    def test_server_tls_verify_none_accepts_any_certificate(self):
        # ca-file names a CA that did not sign the server's certificate: no matter.
        proxy, port, up = self.upstream_proxy(
            f"ssl verify none ca-file {self.pki.other_ca.cert}")
        for i in range(3):
            r = http(port, f"/any-{i}")
            self.assertEqual((r.status, r.body), (200, b"up"))
        self.assertEqual([q.target for q in up.requests], ["/any-0", "/any-1", "/any-2"])
        # No `sni`: none is sent.
        self.assertTrue(all(s is None for s in up.snis()))
        self.assertEqual(up.failed_handshakes, [])

    def test_global_ssl_default_server_settings(self):
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.ca.cert} sni str(up.test)",
            global_extra="    ssl-default-server-options ssl-max-ver TLSv1.2\n"
                         "    ssl-default-server-ciphers ECDHE-ECDSA-AES256-GCM-SHA384\n")
        r = http(port, "/defaults")
        self.assertEqual((r.status, r.body), (200, b"up"))
        self.assertEqual(up.last().target, "/defaults")
        self.assertEqual([(h["version"], h["cipher"]) for h in up.handshakes],
                         [("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")])

    def test_check_ssl(self):
        proxy, port, up = self.upstream_proxy(
            f"ssl verify required ca-file {self.pki.ca.cert} sni str(up.test) "
            "check check-ssl inter 200ms",
            backend_extra="    option httpchk GET /health\n")
        # The checks speak HTTP over TLS: the upstream can only parse them decrypted.
        wait_for(lambda: any(q.target == "/health" for q in list(up.requests)),
                 what="a TLS health check")
        self.assertEqual(up.failed_handshakes, [])
        r = http(port, "/after-check")
        self.assertEqual((r.status, r.body), (200, b"up"))
        self.assertIn("/after-check", [q.target for q in up.requests])

    # 7. Bad certificates -------------------------------------------------------------

    def bad_bind_config(self, crt):
        port = free_port()
        return head() + f"""
frontend fe
    bind 127.0.0.1:{port}
    bind 127.0.0.1:{free_port()} ssl crt {self.pki.b.bundle} crt {crt}
    default_backend app
backend app
    server s1 127.0.0.1:{free_port()}
"""

    def assert_config_error(self, text, crt):
        path = self.write("bad.cfg", text)
        code, out = check_config(path)
        self.assertNotEqual(code, 0, out)
        line = line_of(text, f"crt {crt}")
        # peer-specific: HAProxy writes "[FILE:LINE]", Sluice "FILE:LINE: error:".
        where = f"[{path}:{line}]" if HAPROXY else f"{path}:{line}:"
        self.assertIn(where, out)
        self.assertIn(crt, out)

    def test_garbage_key_is_a_config_error_with_file_and_line(self):
        bad = self.pki.garbage_key_bundle(os.path.join(self.dir, "garbage.pem"))
        self.assert_config_error(self.bad_bind_config(bad), bad)

    def test_missing_certificate_is_a_config_error_with_file_and_line(self):
        missing = os.path.join(self.dir, "nowhere.pem")
        self.assert_config_error(self.bad_bind_config(missing), missing)

    # 8. Reloads ----------------------------------------------------------------------

    def test_reload_swaps_the_certificate_under_load_without_failures(self):
        crt = copy_bundle(self, self.pki.a, "a.pem")
        port = free_port()
        proxy, app = self.frontend_with_app(f"    bind 127.0.0.1:{port} ssl crt {crt}\n")
        new = self.pki.server_cert(self.dir, "a-new", "a.test", org="Sluice A renewed")
        old_serial = self.pki.a.serial
        stop = threading.Event()
        lock = threading.Lock()
        seen, failures, ok = [], [], [0]

        def load():
            ctx = client_ctx(sni=True)
            while not stop.is_set():
                try:
                    r, tls = https(port, "a.test", "/load", ctx=ctx)
                    if r is None or r.status != 200 or r.body != b"app":
                        raise AssertionError(f"bad answer {r!r}")
                    with lock:
                        seen.append((tls.serial, tls.org))
                        ok[0] += 1
                except Exception as e:  # noqa: BLE001 (every failure counts)
                    with lock:
                        failures.append(repr(e))

        threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: ok[0] >= 20, what="load on the first certificate")
            replace_file(crt, new.bundle)
            proxy.reload()
            wait_for(lambda: any(s == new.serial for s, _ in seen[-5:]) and
                     seen[-5:] == [(new.serial, "Sluice A renewed")] * 5 or bool(failures),
                     timeout=30, what="the new certificate on new handshakes")
            mark = ok[0]
            wait_for(lambda: ok[0] >= mark + 20 or bool(failures), what="more load")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=20)
        self.assertEqual(failures, [])
        serials = {s for s, _ in seen}
        self.assertEqual(serials, {old_serial, new.serial})
        self.assertEqual(app.count(), ok[0])
        print(f"\n  certificate swap under load: {ok[0]} TLS requests, {len(failures)} failed")

    def test_reload_with_a_corrupt_certificate_keeps_the_old_one(self):
        crt = copy_bundle(self, self.pki.a, "a.pem")
        port = free_port()
        proxy, app = self.frontend_with_app(f"    bind 127.0.0.1:{port} ssl crt {crt}\n")
        self.assertEqual(https(port, "a.test")[1].serial, self.pki.a.serial)
        self.pki.garbage_key_bundle(crt + ".new")
        os.replace(crt + ".new", crt)
        proxy.reload(ok=False)
        out = proxy.output()
        self.assertIn(crt, out)  # the error names the file
        if not HAPROXY:
            self.assertRegex(out, r"generation \d+ keeps serving")
        for i in range(10):
            r, tls = https(port, "a.test", f"/still-{i}")
            self.assertEqual((r.status, tls.serial), (200, self.pki.a.serial))
        self.assertEqual(app.count(), 11)
        # A good certificate again: the next reload takes it.
        replace_file(crt, self.pki.b.bundle)
        proxy.reload()
        wait_for(lambda: https(port, "b.test", check_hostname=False)[1].cn == "b.test",
                 what="the repaired config")
        r, tls = https(port, "b.test", "/repaired")
        self.assertEqual((r.status, tls.serial), (200, self.pki.b.serial))
        self.assertEqual(app.last().target, "/repaired")

    # 9. mode tcp ---------------------------------------------------------------------

    def test_mode_tcp_decrypts_to_a_plain_server(self):
        received = {"echo": [], "echo_b": []}

        def recorder(name):
            def handler(sock, backend):
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    with backend.lock:
                        received[name].append(data)
                    sock.sendall(data)
            return handler

        echo = TcpBackend(self, recorder("echo"))
        echo_b = TcpBackend(self, recorder("echo_b"))
        port = free_port()
        text = head(mode="tcp") + f"""
frontend fe
    bind 127.0.0.1:{port} ssl {self.crts()}
    use_backend echo_b if {{ ssl_fc_sni b.test }}
    default_backend echo
backend echo
    server e1 127.0.0.1:{echo.port}
backend echo_b
    server e2 127.0.0.1:{echo_b.port}
"""
        self.proxy(text, [port])
        for sni, name in (("a.test", "echo"), ("b.test", "echo_b")):
            payload = f"hello in clear to {name}\n".encode() * 100
            s = tls_connect(port, sni)
            try:
                s.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
            finally:
                s.close()
            self.assertEqual(got, payload)
            wait_for(lambda: b"".join(received[name]) == payload, what=f"plaintext at {name}")
        self.assertEqual((echo.connections, echo_b.connections), (1, 1))

    # 10. The event loop and the counters ---------------------------------------------

    def test_stalled_handshakes_do_not_hold_up_other_connections(self):
        # Clients that open a connection and send half a ClientHello (or nothing) must
        # not keep the event loop from serving everyone else.
        port = free_port()
        proxy, app = self.frontend_with_app(f"    bind 127.0.0.1:{port} ssl {self.crts()}\n")
        stalled = []
        try:
            for i in range(40):
                c = socket.create_connection(("127.0.0.1", port), timeout=10)
                if i % 2 == 0:
                    c.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))  # a record, cut
                stalled.append(c)
            for i in range(10):
                r, _ = https(port, "a.test", f"/meanwhile-{i}")
                self.assertEqual((r.status, r.body), (200, b"app"))
        finally:
            for c in stalled:
                c.close()
        self.assertEqual([q.target for q in app.requests], [f"/meanwhile-{i}" for i in range(10)])

    @unittest.skipIf(HAPROXY, "Sluice's metric names")
    def test_handshakes_resumptions_and_failures_are_counted(self):
        port, prom = free_port(), free_port()
        proxy, app = self.frontend_with_app(f"    bind 127.0.0.1:{port} ssl {self.crts()}\n",
                                            extra=exporter_frontend(prom))
        names = [f'sluice_frontend_tls_{n}_total{{proxy="fe"}}'
                 for n in ("handshakes", "resumptions", "handshake_failures")]

        def counts():
            with urllib.request.urlopen(f"http://127.0.0.1:{prom}/metrics", timeout=10) as r:
                text = r.read().decode()
            values = {}
            for line in text.splitlines():
                key, _, value = line.rpartition(" ")
                if key in names:
                    values[key] = int(float(value))
            return tuple(values.get(n) for n in names)

        wait_for(lambda: None not in counts(), what="the TLS counters")
        # The harness's readiness probes connect and close without a ClientHello: those
        # are failures already. Count from here.
        before = counts()
        self.resume(port, "-tls1_3", reconnects=2)              # 1 full, 2 resumed
        self.assertIn(PROTOCOL_ALERT, handshake_error(          # 1 failure
            port, "a.test", min_version=ssl.TLSVersion.TLSv1_1, max_version=ssl.TLSVersion.TLSv1_1,
            ciphers="DEFAULT:@SECLEVEL=0"))
        r, _ = https(port, "b.test", "/full")                   # 1 full
        self.assertEqual(r.status, 200)
        want = (before[0] + 4, before[1] + 2, before[2] + 1)
        wait_for(lambda: counts() == want, what=f"counts {want}, have {counts()}")
        self.assertEqual(app.count(), 4)


if __name__ == "__main__":
    unittest.main()

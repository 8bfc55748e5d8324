"""Test PKI for the TLS integration tests, made with the openssl CLI.

`pki()` returns one Pki per test process (generated on first use into a temporary folder,
removed at exit): the "Test CA", the server bundles for a.test, b.test and *.w.test, the
upstream certificate (up.test and 127.0.0.1), and an unrelated "Other CA". Keys are EC
P-256 (fast to make). A bundle is what HAProxy's `crt` takes: the certificate, optionally
its chain, then the private key, in one PEM file; Python's `load_cert_chain` reads the same
file.

Tests that change files (a reload with a new certificate) copy bundles into their own
folder, or make new certificates with `Pki.server_cert`, which never writes into the
shared folder unless told to."""

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile

_serials = itertools.count(1000)


def _openssl(*args, cwd=None, stdin=None):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, input=stdin,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def _read(path):
    with open(path) as f:
        return f.read()


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def _ec_key(path):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path


def _subject(cn, org=None):
    return (f"/O={org}" if org else "") + f"/CN={cn}"


class Ca:
    """A self-signed CA: `cert` (PEM path), `key` (PEM path), `name`."""

    def __init__(self, folder, name, stem):
        self.name = name
        self.key = _ec_key(os.path.join(folder, f"{stem}.key"))
        self.cert = os.path.join(folder, f"{stem}.pem")
        _openssl("req", "-x509", "-new", "-key", self.key, "-out", self.cert, "-days", "3650",
                 "-subj", _subject(name), "-set_serial", str(next(_serials)),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=hash")


class Leaf:
    """A certificate signed by a CA. `bundle`: cert [+ chain] + key in one PEM file (what
    `crt` takes); `cert`, `key`: the separate files; `serial` (int), `cn`, `org`."""

    def __init__(self, ca, folder, stem, cn, sans, org=None, chain=False, rsa=False):
        self.cn, self.org, self.ca = cn, org, ca
        self.serial = next(_serials)
        self.key = os.path.join(folder, f"{stem}.key")
        if rsa:
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                     "-out", self.key)
        else:
            _ec_key(self.key)
        csr = os.path.join(folder, f"{stem}.csr")
        ext = _write(os.path.join(folder, f"{stem}.ext"),
                     "basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature" + (",keyEncipherment" if rsa else "") + "\n"
                     "extendedKeyUsage=serverAuth,clientAuth\n"
                     "subjectKeyIdentifier=hash\n"
                     "authorityKeyIdentifier=keyid,issuer\n"
                     "subjectAltName=" + ",".join(sans) + "\n")
        self.cert = os.path.join(folder, f"{stem}.crt")
        _openssl("req", "-new", "-key", self.key, "-out", csr, "-subj", _subject(cn, org))
        _openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
                 "-set_serial", str(self.serial), "-days", "825", "-sha256",
                 "-extfile", ext, "-out", self.cert)
        os.unlink(csr)
        os.unlink(ext)
        self.bundle = os.path.join(folder, f"{stem}.pem")
        _write(self.bundle, _read(self.cert) + (_read(ca.cert) if chain else "") + _read(self.key))


class Pki:
    """Everything the TLS tests need, in `self.dir`:

    ca.pem / other-ca.pem     the Test CA and the unrelated Other CA (certificates)
    a.test.pem, b.test.pem    bundles for a.test (with the CA as chain) and b.test
    w.test.pem                bundle for *.w.test (SAN DNS:*.w.test)
    up.test.pem               the upstream's bundle (DNS:up.test, IP:127.0.0.1)
    certs/                    a.test.pem, b.test.pem, w.test.pem again: a `crt DIR`
    """

    def __init__(self, folder):
        self.dir = folder
        self.ca = Ca(folder, "Test CA", "ca")
        self.other_ca = Ca(folder, "Other CA", "other-ca")
        self.a = Leaf(self.ca, folder, "a.test", "a.test", ["DNS:a.test"], org="Sluice A",
                      chain=True)
        self.b = Leaf(self.ca, folder, "b.test", "b.test", ["DNS:b.test"], org="Sluice B")
        self.w = Leaf(self.ca, folder, "w.test", "*.w.test", ["DNS:*.w.test"], org="Sluice W")
        self.up = Leaf(self.ca, folder, "up.test", "up.test",
                       ["DNS:up.test", "IP:127.0.0.1"], org="Sluice Upstream")
        self.certs_dir = os.path.join(folder, "certs")
        os.makedirs(self.certs_dir)
        for leaf in (self.a, self.b, self.w):
            shutil.copy(leaf.bundle, self.certs_dir)

    def server_cert(self, folder, stem, cn, sans=None, org=None, rsa=False):
        """A new certificate for `cn`, signed by the Test CA, written into `folder` (its
        bundle is FOLDER/STEM.pem)."""
        return Leaf(self.ca, folder, stem, cn, sans or [f"DNS:{cn}"], org=org, rsa=rsa)

    def garbage_key_bundle(self, path):
        """A bundle whose certificate is fine and whose private key is garbage (valid PEM
        armour, base64 body that is no key)."""
        body = "R2FyYmFnZSBrZXkgbWF0ZXJpYWwsIG5vdCBhbiBFQyBrZXkgYXQgYWxsLiBHYXJiYWdlIQ=="
        return _write(path, _read(self.a.cert) + "-----BEGIN PRIVATE KEY-----\n" + body +
                      "\n-----END PRIVATE KEY-----\n")


_PKI = None


def pki():
    """The process-wide Pki (made on first call, deleted at exit)."""
    global _PKI
    if _PKI is None:
        folder = tempfile.mkdtemp(prefix="sluice-pki-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _PKI = Pki(folder)
    return _PKI


if __name__ == "__main__":
    import time
    t = time.monotonic()
    p = pki()
    print(f"made in {time.monotonic() - t:.2f}s in {p.dir}")
    for leaf in (p.a, p.b, p.w, p.up):
        print(_openssl("x509", "-in", leaf.bundle, "-noout", "-subject", "-serial", "-ext",
                       "subjectAltName"))

"""Test certificates made at test time with openssl: a CA, a server certificate it signs (for
localhost, kedro-events.test and 127.0.0.1), a client certificate it signs (for mutual TLS),
and a second CA nobody trusts with a client certificate of its own.

    c = certs.shared()      # one set per test process, removed at exit (or certs.make())
    c.ca, c.server_cert, c.server_key, c.client_cert, c.client_key, c.rogue_cert, c.rogue_key
    c.read(c.ca)            # bytes, for grpcio's credentials
    server_for(c, "other", "DNS:other.test")  # another server certificate c's CA signs
    c.cleanup()
"""

import atexit
import os
import shutil
import subprocess
import tempfile

DAYS = "2"


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d, name, cn):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
             "-out", name + ".pem", "-days", DAYS, "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(d, name, ca, cn, ext):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
             name + ".csr", "-subj", "/CN=" + cn, cwd=d)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".pem", "-days", DAYS, "-extfile", name + ".ext",
             cwd=d)


class Certs:
    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.server_cert = os.path.join(d, "server.pem")
        self.server_key = os.path.join(d, "server.key")
        self.client_cert = os.path.join(d, "client.pem")
        self.client_key = os.path.join(d, "client.key")
        self.rogue_ca = os.path.join(d, "rogue-ca.pem")
        self.rogue_cert = os.path.join(d, "rogue.pem")
        self.rogue_key = os.path.join(d, "rogue.key")

    @staticmethod
    def read(path):
        with open(path, "rb") as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def make():
    """Makes a fresh set of certificates (a few hundred milliseconds)."""
    d = tempfile.mkdtemp(prefix="ke-certs-")
    _ca(d, "ca", "kedro-events test CA")
    _leaf(d, "server", "ca", "kedro-events test server",
          "subjectAltName=DNS:localhost,DNS:kedro-events.test,IP:127.0.0.1\n"
          "extendedKeyUsage=serverAuth\n")
    _leaf(d, "client", "ca", "kedro-events test client", "extendedKeyUsage=clientAuth\n")
    _ca(d, "rogue-ca", "an untrusted CA")
    _leaf(d, "rogue", "rogue-ca", "an untrusted client", "extendedKeyUsage=clientAuth\n")
    for name in os.listdir(d):
        if name.endswith(".key"):
            os.chmod(os.path.join(d, name), 0o600)
    return Certs(d)


_shared = None


def shared():
    """One set for the whole test process, made on first use and removed at exit. Tests only
    read it (files of their own go elsewhere, or under its dir with names of their own)."""
    global _shared
    if _shared is None:
        _shared = make()
        atexit.register(_shared.cleanup)
    return _shared


def server_for(c, name, san):
    """Makes (once) a server certificate that c's CA signs for san (e.g. "DNS:other.test"),
    as files NAME.pem and NAME.key under c.dir; returns their paths."""
    cert, key = os.path.join(c.dir, name + ".pem"), os.path.join(c.dir, name + ".key")
    if not os.path.exists(cert):
        _leaf(c.dir, name, "ca", "kedro-events test server " + name,
              "subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        os.chmod(key, 0o600)
    return cert, key


def server_args(c, client_ca=False):
    """The flags that make kedro-eventd (or kedro-event-shim) serve TLS with c's server
    certificate; with client_ca, also requiring client certificates from c's CA."""
    return ["--tls-cert", c.server_cert, "--tls-key", c.server_key] + (
        ["--tls-client-ca", c.ca] if client_ca else [])

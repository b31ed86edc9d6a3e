"""kedro-eventd with --tls-cert/--tls-key (TLS) and --tls-client-ca (mutual TLS), driven with
Python's grpcio and certificates made by openssl at test time (certs.py); and the start-up
refusals of the TLS and token flags (exit 2 for flags that do not go together, exit 1 for a
file that cannot be used, naming it)."""

import os
import shutil
import subprocess
import tempfile
import unittest

import grpc

import certs
import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

# Short, so a refused handshake fails fast instead of retrying until a long deadline.
DEADLINE = 5
# The name grpcio checks in the server's certificate (one of its subjectAltNames).
SERVER_NAME = "kedro-events.test"


def event(id="e1"):
    return ce.CloudEvent(id=id, source="example.com", spec_version="1.0",
                         type="com.example.event")


def tls_channel(target, root=None, key=None, chain=None):
    creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                         certificate_chain=chain)
    return grpc.secure_channel(target, creds,
                               options=[("grpc.ssl_target_name_override", SERVER_NAME)])


def dispatch(channel):
    return rpc.EventServiceStub(channel).Dispatch(event(), timeout=DEADLINE)


def start(*args, env=None):
    """Runs kedro-eventd with args until it exits (it is expected to refuse to start)."""
    d = tempfile.mkdtemp(prefix="ke-eventd-refused-")
    return subprocess.run([harness.EVENTD, "--listen", "127.0.0.1:0", "--runner", "none",
                           "--data-dir", os.path.join(d, "data"), *args],
                          capture_output=True, text=True, timeout=60, env=env)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = certs.shared()
        cls.server = harness.Server(args=certs.server_args(cls.certs))

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        assert status == 0, cls.server.stderr()

    def test_grpcio_dispatches_over_tls_trusting_the_test_ca(self):
        with tls_channel(self.server.target, root=self.certs.read(self.certs.ca)) as ch:
            r = dispatch(ch)
        self.assertEqual([p.name for p in r.pipelines], ["event00"])
        self.assertIn("TLS with " + self.certs.server_cert, self.server.stderr())

    def test_a_plaintext_client_gets_no_answer(self):
        with grpc.insecure_channel(self.server.target) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                dispatch(ch)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_client_that_does_not_trust_the_ca_is_refused(self):
        with tls_channel(self.server.target, root=self.certs.read(self.certs.rogue_ca)) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                dispatch(ch)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_client_certificate_is_not_required_without_a_client_ca(self):
        # offering one anyway does no harm
        c = self.certs
        with tls_channel(self.server.target, root=c.read(c.ca), key=c.read(c.rogue_key),
                         chain=c.read(c.rogue_cert)) as ch:
            self.assertEqual(len(dispatch(ch).pipelines), 1)


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = certs.shared()
        cls.server = harness.Server(args=certs.server_args(cls.certs, client_ca=True))

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        assert status == 0, cls.server.stderr()

    def test_the_right_client_certificate_is_accepted(self):
        c = self.certs
        with tls_channel(self.server.target, root=c.read(c.ca), key=c.read(c.client_key),
                         chain=c.read(c.client_cert)) as ch:
            self.assertEqual([p.name for p in dispatch(ch).pipelines], ["event00"])
        self.assertIn("client certificates required, verified against " + c.ca,
                      self.server.stderr())

    def test_no_client_certificate_is_refused(self):
        with tls_channel(self.server.target, root=self.certs.read(self.certs.ca)) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                dispatch(ch)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_certificate_from_another_ca_is_refused(self):
        c = self.certs
        with tls_channel(self.server.target, root=c.read(c.ca), key=c.read(c.rogue_key),
                         chain=c.read(c.rogue_cert)) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                dispatch(ch)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_health_needs_the_client_certificate_too(self):
        # mutual TLS is checked on the connection, before any method: probes need a certificate
        harness.load_stubs()
        from grpcstd.health.v1 import health_pb2, health_pb2_grpc
        with tls_channel(self.server.target, root=self.certs.read(self.certs.ca)) as ch:
            with self.assertRaises(grpc.RpcError) as cm:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                     timeout=DEADLINE)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)


class StartupRefusalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = certs.shared()
        cls.dir = tempfile.mkdtemp(prefix="ke-secfiles-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_a_certificate_without_its_key_is_a_usage_error(self):
        r = start("--tls-cert", self.certs.server_cert)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-cert given without --tls-key", r.stderr)
        r = start("--tls-key", self.certs.server_key)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-key given without --tls-cert", r.stderr)

    def test_a_client_ca_without_a_certificate_is_a_usage_error(self):
        r = start("--tls-client-ca", self.certs.ca)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-client-ca needs --tls-cert and --tls-key", r.stderr)

    def test_an_empty_path_is_a_usage_error(self):
        for flag in ("--tls-cert", "--tls-key", "--tls-client-ca", "--auth-tokens",
                     "--run-token-file"):
            r = start(flag, "")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(flag + ": the path is empty", r.stderr)

    def test_a_missing_tls_file_is_named(self):
        c = self.certs
        missing = os.path.join(self.dir, "missing.pem")
        for args, flag in (((missing, c.server_key), "--tls-cert"),
                           ((c.server_cert, missing), "--tls-key")):
            r = start("--tls-cert", args[0], "--tls-key", args[1])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn('%s "%s": cannot open: No such file or directory' % (flag, missing),
                          r.stderr)
        r = start("--tls-cert", c.server_cert, "--tls-key", c.server_key,
                  "--tls-client-ca", missing)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('--tls-client-ca "%s": cannot open' % missing, r.stderr)

    def test_swapped_tls_files_are_named(self):
        c = self.certs
        r = start("--tls-cert", c.server_key, "--tls-key", c.server_cert)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('--tls-cert "%s": holds no PEM certificate' % c.server_key, r.stderr)
        r = start("--tls-cert", c.server_cert, "--tls-key", c.server_cert)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('--tls-key "%s": holds no PEM private key' % c.server_cert, r.stderr)

    def test_a_key_that_does_not_match_the_certificate_stops_the_server(self):
        c = self.certs
        r = start("--tls-cert", c.server_cert, "--tls-key", c.client_key)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--tls-key does not match --tls-cert", r.stderr)

    def test_a_token_file_others_may_read_stops_the_server_naming_the_file_only(self):
        token = "secret-token-0123456789abcdef"
        path = self.write("open-tokens", token + "\n", 0o644)
        r = start("--auth-tokens", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('--auth-tokens: token file "%s" is readable or writable by others' % path,
                      r.stderr)
        self.assertIn("chmod 600", r.stderr)
        self.assertNotIn(token, r.stderr + r.stdout)

    def test_a_bad_token_line_stops_the_server_naming_the_line_not_the_text(self):
        bad = "short"
        path = self.write("bad-tokens", "# tokens\nright-token-0123456789\n" + bad + "\n")
        r = start("--auth-tokens", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('token file "%s": the token on line 3 is 5 characters' % path, r.stderr)
        self.assertNotIn("right-token", r.stderr)

    def test_a_missing_token_file_stops_the_server(self):
        missing = os.path.join(self.dir, "no-such-tokens")
        for flag in ("--auth-tokens", "--run-token-file"):
            r = start(flag, missing)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn('%s: token file "%s": cannot open' % (flag, missing), r.stderr)

    def test_help_documents_the_flags_and_limits(self):
        r = subprocess.run([harness.EVENTD, "--help"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0)
        for text in ("--tls-cert FILE", "--tls-key FILE", "--tls-client-ca FILE",
                     "--auth-tokens FILE", "--run-token-file FILE", "SIGHUP",
                     "at most 1048576", "16 to 512 characters", "at most 1024"):
            self.assertIn(text, r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-events' TLS flags against a TLS gRPC server: kedro-eventd serves plaintext, so the
peer here is a small EventService written with Python's grpcio behind TLS (the test
certificate in tests/tls/); it answers Dispatch with one pipeline named after the event."""

import os
import subprocess
import unittest
from concurrent import futures

import grpc

import harness

harness.load_stubs()

from kedro.events.v1 import events_pb2, events_pb2_grpc  # noqa: E402

TLS = os.path.join(harness.SOURCE_DIR, "tests", "tls")
CERT = os.path.join(TLS, "server.pem")
KEY = os.path.join(TLS, "server.key")
CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")


class Service(events_pb2_grpc.EventServiceServicer):
    def Dispatch(self, request, context):
        p = events_pb2.Pipeline(id="tls-" + request.id, name=request.type)
        return events_pb2.DispatchResponse(pipelines=[p])


class CliTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(CERT, "rb") as f:
            cert = f.read()
        with open(KEY, "rb") as f:
            key = f.read()
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        events_pb2_grpc.add_EventServiceServicer_to_server(Service(), cls.server)
        creds = grpc.ssl_server_credentials([(key, cert)])
        cls.port = cls.server.add_secure_port("127.0.0.1:0", creds)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(None)

    def send(self, *flags):
        return subprocess.run([CLI, "send", "--target", "127.0.0.1:%d" % self.port,
                               "--source", "s", "--type", "t", "--id", "e1", "--timeout", "5",
                               *flags], capture_output=True, text=True, timeout=60)

    def test_send_over_tls_with_the_servers_ca(self):
        r = self.send("--tls-ca", CERT, "--tls-server-name", "kedro-events.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split("\t")[:2], ["tls-e1", "t"])

    def test_an_untrusted_certificate_fails_as_unreachable(self):
        r = self.send("--tls")  # the system's roots do not include the test certificate
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach", r.stderr)

    def test_a_name_the_certificate_does_not_hold_fails(self):
        r = self.send("--tls-ca", CERT, "--tls-server-name", "other.example")
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_plaintext_to_a_tls_server_fails(self):
        r = self.send()
        self.assertNotEqual(r.returncode, 0)

    def test_a_missing_ca_file_is_an_input_error_naming_it(self):
        r = self.send("--tls-ca", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("/nonexistent/ca.pem", r.stderr)

    def test_a_certificate_without_its_key_is_a_usage_error(self):
        r = self.send("--tls-ca", CERT, "--tls-cert", CERT)
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-event-shim's HTTP face on a network: HTTPS (--tls-cert/--tls-key), client certificates
(--tls-client-ca) and bearer tokens (--auth-tokens, re-read on SIGHUP), driven with curl
(Debian's, --cacert) and Python's ssl module, in front of the real kedro-eventd or a grpcio
stand-in. Certificates are made at test time (certs.py)."""

import os
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest

import grpc

import certs
import harness
import shim_harness as sh
from shim_harness import curl, binary_args

TOKEN = "shim-token-0123456789abcdef"
OTHER = "other-token-ABCDEFGHIJKLMNOP"
NEW = "new-token-zyxwvutsrqponmlkji"




def token_file(d, *tokens, mode=0o600, name="tokens"):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("# the shim's tokens\n\n" + "".join(t + "\n" for t in tokens))
    os.chmod(path, mode)
    return path


class HttpsShim(sh.Shim):
    """A shim serving HTTPS: its url says https (the certificate holds IP:127.0.0.1)."""

    def __init__(self, target, c, args=(), env=None):
        super().__init__(target, args=certs.server_args(c) + list(args), env=env)
        self.url = "https://127.0.0.1:%d" % self.port


def post_event(shim, c, *args, id="https-1"):
    h = dict(sh.BINARY_HEADERS, **{"ce-id": id})
    return curl(shim.url + "/event/", "--cacert", c.ca, *binary_args(h), *args, data=b"")


def bearer(token):
    return ["-H", "Authorization: Bearer " + token]


class HttpsWithTokens(unittest.TestCase):
    """HTTPS and --auth-tokens in front of the real kedro-eventd."""

    @classmethod
    def setUpClass(cls):
        cls.c = certs.shared()
        cls.server = harness.Server()
        cls.addClassCleanup(cls.server.__exit__, None, None, None)  # also when the shim fails
        cls.tokens = token_file(cls.c.dir, TOKEN, OTHER)
        cls.shim = HttpsShim(cls.server.target, cls.c, args=["--auth-tokens", cls.tokens])

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def test_post_without_a_token_is_401_with_a_bearer_challenge(self):
        a = post_event(self.shim, self.c)
        self.assertEqual(a.status, 401, a)
        self.assertEqual(a.headers.get("www-authenticate"), 'Bearer realm="kedro-events"')
        self.assertIn("Authorization: Bearer", a.json()["detail"])

    def test_a_wrong_token_is_401_invalid_token_and_never_echoed(self):
        wrong = "wrong-token-0123456789abcdef"
        a = post_event(self.shim, self.c, *bearer(wrong))
        self.assertEqual(a.status, 401, a)
        self.assertEqual(a.headers.get("www-authenticate"),
                         'Bearer realm="kedro-events", error="invalid_token"')
        self.assertNotIn(wrong, a.body)
        self.assertNotIn(wrong, self.shim.stderr())

    def test_another_scheme_is_401_without_an_error_code(self):
        a = post_event(self.shim, self.c, "-H", "Authorization: Basic dXNlcjpwYXNzd29yZA==")
        self.assertEqual(a.status, 401, a)
        self.assertEqual(a.headers.get("www-authenticate"), 'Bearer realm="kedro-events"')
        self.assertNotIn("dXNlcjpwYXNzd29yZA", a.body)

    def test_two_authorization_headers_are_400(self):
        a = post_event(self.shim, self.c, *bearer(TOKEN), *bearer(OTHER))
        self.assertEqual(a.status, 400, a)
        self.assertIn('error="invalid_request"', a.headers.get("www-authenticate"))

    def test_the_right_token_starts_the_pipelines(self):
        for i, token in enumerate((TOKEN, OTHER)):
            a = post_event(self.shim, self.c, *bearer(token), id="right-%d" % i)
            self.assertEqual(a.status, 200, a)
            [p] = a.json()
            self.assertEqual(p["name"], "event00")
            self.assertEqual(sh.event_param(p)["id"], "right-%d" % i)
        self.assertNotIn(TOKEN, self.shim.stderr())
        self.assertNotIn(OTHER, self.shim.stderr())

    def test_the_scheme_is_case_insensitive(self):
        a = post_event(self.shim, self.c, "-H", "Authorization: bearer " + TOKEN, id="case-1")
        self.assertEqual(a.status, 200, a)

    def test_healthz_needs_no_token(self):
        a = curl(self.shim.url + "/healthz", "--cacert", self.c.ca)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json()["status"], "SERVING")

    def test_the_pipeline_endpoints_need_a_token(self):
        a = curl(self.shim.url + "/pipelines", "--cacert", self.c.ca)
        self.assertEqual(a.status, 401, a)
        a = curl(self.shim.url + "/pipelines?limit=1", "--cacert", self.c.ca, *bearer(TOKEN))
        self.assertEqual(a.status, 200, a)

    def test_an_unknown_path_without_a_token_is_401_not_404(self):
        a = curl(self.shim.url + "/nothing-here", "--cacert", self.c.ca)
        self.assertEqual(a.status, 401, a)

    def test_with_a_token_unknown_paths_and_wrong_methods_answer_as_before(self):
        a = curl(self.shim.url + "/nothing-here", "--cacert", self.c.ca, *bearer(TOKEN))
        self.assertEqual(a.status, 404, a)
        a = curl(self.shim.url + "/event/", "--cacert", self.c.ca, *bearer(TOKEN))
        self.assertEqual(a.status, 405, a)

    def test_plain_http_to_the_https_port_fails(self):
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "http://127.0.0.1:%d/healthz"
                            % self.shim.port], capture_output=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertNotIn(b"SERVING", r.stdout)

    def test_a_client_that_does_not_trust_the_certificate_fails(self):
        r = subprocess.run(["curl", "-sS", "--max-time", "20", self.shim.url + "/healthz"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 60, r)  # curl: peer certificate cannot be authenticated

    def test_an_unauthenticated_body_is_refused_before_it_is_sent(self):
        # headers announce 4 MB and no byte of it is sent: the 401 comes anyway, so the
        # shim never waits for (or buffers) a body from a client without a token
        ctx = ssl.create_default_context(cafile=self.c.ca)
        with socket.create_connection(("127.0.0.1", self.shim.port), timeout=20) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/cloudevents+json\r\n"
                      b"Content-Length: 4000000\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer)


class MutualTls(unittest.TestCase):
    """--tls-client-ca: a client certificate issued by that CA is required on every path."""

    @classmethod
    def setUpClass(cls):
        cls.c = certs.shared()
        cls.fake = sh.FakeEventd(grpc.StatusCode.OK)
        cls.addClassCleanup(cls.fake.__exit__, None, None, None)
        cls.shim = HttpsShim(cls.fake.target, cls.c, args=["--tls-client-ca", cls.c.ca])

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def test_without_a_client_certificate_the_request_is_refused_403(self):
        a = post_event(self.shim, self.c)
        self.assertEqual(a.status, 403, a)
        self.assertIn("no client certificate", a.json()["detail"])
        self.assertEqual(a.headers.get("connection"), "close")

    def test_the_client_certificate_is_accepted(self):
        a = post_event(self.shim, self.c, "--cert", self.c.client_cert, "--key", self.c.client_key)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json(), [])  # the stand-in starts no pipelines

    def test_a_certificate_from_another_ca_is_refused_403(self):
        a = post_event(self.shim, self.c, "--cert", self.c.rogue_cert, "--key", self.c.rogue_key)
        self.assertEqual(a.status, 403, a)
        self.assertIn("not accepted", a.json()["detail"])

    def test_a_certificate_not_meant_for_clients_is_refused_403(self):
        # the server's certificate is signed by the right CA, but for serverAuth only
        a = post_event(self.shim, self.c, "--cert", self.c.server_cert, "--key", self.c.server_key)
        self.assertEqual(a.status, 403, a)

    def test_healthz_needs_the_client_certificate_too(self):
        a = curl(self.shim.url + "/healthz", "--cacert", self.c.ca)
        self.assertEqual(a.status, 403, a)


class StartUp(unittest.TestCase):
    def setUp(self):
        self.c = certs.shared()

    def run_shim(self, *args):
        return subprocess.run([sh.SHIM, "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1",
                               *args], capture_output=True, text=True, timeout=60)

    def test_a_token_file_others_may_read_is_refused_exit_1(self):
        path = token_file(self.c.dir, TOKEN, mode=0o644, name="world-readable")
        r = self.run_shim("--auth-tokens", path)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("chmod 600", r.stderr)
        self.assertNotIn(TOKEN, r.stderr)

    def test_a_token_file_without_tokens_is_refused_exit_1(self):
        r = self.run_shim("--auth-tokens", token_file(self.c.dir, name="empty"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no token", r.stderr)

    def test_a_certificate_without_its_key_is_a_usage_error(self):
        r = self.run_shim("--tls-cert", self.c.server_cert)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--tls-key", r.stderr)

    def test_a_client_ca_without_https_is_a_usage_error(self):
        r = self.run_shim("--tls-client-ca", self.c.ca)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("needs --tls-cert", r.stderr)

    def test_a_file_that_is_not_pem_is_refused_naming_it(self):
        r = self.run_shim("--tls-cert", self.c.server_cert, "--tls-key",
                          token_file(self.c.dir, TOKEN, name="not-pem"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--tls-key", r.stderr)
        self.assertIn("not a PEM file", r.stderr)

    def test_a_key_that_does_not_match_the_certificate_is_refused(self):
        r = self.run_shim("--tls-cert", self.c.server_cert, "--tls-key", self.c.client_key)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--tls-key", r.stderr)


class TokensReloadOnSighup(unittest.TestCase):
    def test_sighup_replaces_the_tokens_and_a_refused_file_keeps_them(self):
        c = certs.shared()
        path = token_file(c.dir, TOKEN, name="reloaded")
        with sh.FakeEventd(grpc.StatusCode.OK) as fake, \
                HttpsShim(fake.target, c, args=["--auth-tokens", path]) as shim:
            self.assertEqual(post_event(shim, c, *bearer(TOKEN)).status, 200)
            self.assertEqual(post_event(shim, c, *bearer(NEW)).status, 401)

            def reload(expect):
                before = shim.stderr().count("SIGHUP")
                shim.proc.send_signal(signal.SIGHUP)
                self.assertTrue(harness.wait_until(
                    lambda: shim.stderr().count("SIGHUP") > before, timeout=20), shim.stderr())
                self.assertIn(expect, shim.stderr().splitlines()[-1])

            token_file(c.dir, NEW, name="reloaded")
            reload("tokens accepted: 1")
            self.assertEqual(post_event(shim, c, *bearer(TOKEN)).status, 401)
            self.assertEqual(post_event(shim, c, *bearer(NEW)).status, 200)

            # refused files: readable by others, then a line that is no token
            token_file(c.dir, TOKEN, mode=0o644, name="reloaded")
            reload("refused, keeping the tokens in use (1)")
            token_file(c.dir, "too short", name="reloaded")
            reload("refused, keeping the tokens in use (1)")
            self.assertEqual(post_event(shim, c, *bearer(NEW)).status, 200)
            self.assertEqual(post_event(shim, c, *bearer(TOKEN)).status, 401)
            self.assertIsNone(shim.proc.poll())
            for t in (TOKEN, NEW):
                self.assertNotIn(t, shim.stderr())

    def test_sighup_without_token_files_does_not_stop_the_shim(self):
        with sh.FakeEventd(grpc.StatusCode.OK) as fake, sh.Shim(fake.target) as shim:
            shim.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: "SIGHUP" in shim.stderr(), timeout=20))
            a = curl(shim.url + "/event/", *binary_args(sh.BINARY_HEADERS), data=b"")
            self.assertEqual(a.status, 200, a)


if __name__ == "__main__":
    unittest.main()

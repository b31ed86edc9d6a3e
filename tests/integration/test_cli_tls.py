"""kedro-events' TLS and token flags against kedro-eventd itself, serving TLS
(--tls-cert/--tls-key, certificates made by openssl at test time: certs.py) and requiring
bearer tokens (--auth-tokens); and against a second kedro-eventd that requires client
certificates (--tls-client-ca)."""

import os
import shutil
import re
import subprocess
import tempfile
import unittest

import certs
import harness

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
TOKEN = "cli-token-0123456789abcdefgh"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def cli_env(extra=None):
    """The environment without anything that would pick a server or a token for the CLI."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER", "KEDRO_EVENTS_TOKEN")}
    env.update(extra or {})
    return env


class CliTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = certs.shared()
        cls.dir = tempfile.mkdtemp(prefix="ke-cli-tls-")
        tokens = write_private(os.path.join(cls.dir, "tokens"), TOKEN + "\n")
        cls.token_file = write_private(os.path.join(cls.dir, "token"), "# mine\n" + TOKEN + "\n")
        cls.server = harness.Server(args=certs.server_args(cls.certs) + ["--auth-tokens", tokens])

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert status == 0, cls.server.stderr()
        assert TOKEN not in cls.server.stderr()

    def cli(self, *args, env=None, target=None):
        return subprocess.run([CLI, *args, "--target", target or self.server.target,
                               "--timeout", "5"], capture_output=True, text=True,
                              env=cli_env(env), timeout=60)

    def send(self, *flags, id="e1", env=None):
        return self.cli("send", "--source", "example.com", "--type", "com.example.event",
                        "--id", id, *flags, env=env)

    def trusted(self):
        return ("--tls-ca", self.certs.ca, "--tls-server-name", "kedro-events.test")

    def test_send_get_list_over_tls_with_a_token_file(self):
        r = self.send(*self.trusted(), "--token-file", self.token_file, id="tls-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        pid, name = r.stdout.split("\t")[:2]
        self.assertRegex(pid, "^" + UUID + "$")
        self.assertEqual(name, "event00")
        r = self.cli("get", pid, *self.trusted(), "--token-file", self.token_file, "--json-out")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"id":"%s"' % pid, r.stdout.replace(" ", ""))
        r = self.cli("list", *self.trusted(), "--token-file", self.token_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%s\tevent00\t" % pid, r.stdout)

    def test_the_token_from_the_environment_is_sent(self):
        env = {"KEDRO_EVENTS_TOKEN": TOKEN}
        r = self.send(*self.trusted(), id="tls-env", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("list", "--tls-ca", self.certs.ca, "--tls-server-name", "localhost",
                     env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, UUID + "\tevent00\t")

    def test_without_a_token_every_subcommand_fails_naming_unauthenticated(self):
        for args in (("send", "--source", "s", "--type", "t", "--id", "x"),
                     ("get", "00000000-0000-4000-8000-000000000000"), ("list",)):
            r = self.cli(*args, *self.trusted())
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("UNAUTHENTICATED: missing bearer token", r.stderr)

    def test_a_wrong_token_fails_without_echoing_it(self):
        wrong = write_private(os.path.join(self.dir, "wrong"), "wrong-token-0123456789abc\n")
        r = self.send(*self.trusted(), "--token-file", wrong)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("UNAUTHENTICATED: the bearer token is not accepted", r.stderr)
        self.assertNotIn("wrong-token", r.stderr + r.stdout)

    def test_an_untrusted_certificate_fails_as_unreachable(self):
        r = self.send("--tls", "--token-file", self.token_file)  # the system's roots
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach", r.stderr)

    def test_a_name_the_certificate_does_not_hold_fails(self):
        r = self.send("--tls-ca", self.certs.ca, "--tls-server-name", "other.example",
                      "--token-file", self.token_file)
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_plaintext_to_a_tls_server_fails(self):
        r = self.send("--token-file", self.token_file)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach", r.stderr)

    def test_a_missing_ca_file_is_an_input_error_naming_it(self):
        r = self.send("--tls-ca", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("/nonexistent/ca.pem", r.stderr)

    def test_a_certificate_without_its_key_is_a_usage_error(self):
        r = self.send("--tls-ca", self.certs.ca, "--tls-cert", self.certs.client_cert)
        self.assertEqual(r.returncode, 2, r.stderr)


class CliMutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = certs.shared()
        cls.server = harness.Server(args=certs.server_args(cls.certs, client_ca=True))

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        assert status == 0, cls.server.stderr()

    def send(self, *flags):
        return subprocess.run([CLI, "send", "--target", self.server.target, "--timeout", "5",
                               "--source", "example.com", "--type", "com.example.event",
                               "--tls-ca", self.certs.ca, "--tls-server-name", "localhost",
                               *flags], capture_output=True, text=True, env=cli_env(),
                              timeout=60)

    def test_the_client_certificate_is_presented(self):
        r = self.send("--tls-cert", self.certs.client_cert, "--tls-key", self.certs.client_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(re.match(UUID + "\tevent00\t", r.stdout), r.stdout)

    def test_without_a_client_certificate_the_server_cannot_be_reached(self):
        r = self.send()
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_a_certificate_of_another_ca_cannot_reach_the_server(self):
        r = self.send("--tls-cert", self.certs.rogue_cert, "--tls-key", self.certs.rogue_key)
        self.assertEqual(r.returncode, 3, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

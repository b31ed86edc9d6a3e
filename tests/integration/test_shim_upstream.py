"""kedro-event-shim toward kedro-eventd on a network: TLS (--target-tls, --target-ca,
--target-cert/--target-key), its own bearer token (--target-token-file, re-read on SIGHUP),
and how it answers what an overloaded or refusing server says (503, 413, 502). The peer
is a small gRPC server written with Python's grpcio (not ours) that checks the metadata and
the TLS client; where kedro-eventd itself has --auth-tokens / --tls-cert, the same is run
against it, and skipped otherwise."""

import os
import signal
import subprocess
import unittest
from concurrent import futures

import grpc

import certs
import harness
import shim_harness as sh
from shim_harness import curl, binary_args

TOKEN = "upstream-token-0123456789abcd"
NEW = "upstream-token-new-9876543210"



def write_token(path, token, mode=0o600):
    with open(path, "w") as f:
        f.write("# the shim's token toward kedro-eventd\n%s\n" % token)
    os.chmod(path, mode)
    return path


def eventd_has(flag):
    r = subprocess.run([harness.EVENTD, "--help"], capture_output=True, text=True, timeout=30)
    return flag in r.stdout


class Peer:
    """An EventService on grpcio answering every call with `code`/`message` (OK: an empty
    message, i.e. no pipelines), UNAUTHENTICATED unless the metadata carries `Bearer <token>`
    when a token is expected; TLS when creds (grpc server credentials) are given. It keeps the
    authorization values it saw."""

    def __init__(self, code=grpc.StatusCode.OK, message="stand-in answer", token=None,
                 creds=None):
        self.seen = []

        def answer(request, context):
            md = dict(context.invocation_metadata())
            self.seen.append(md.get("authorization"))
            if token is not None and md.get("authorization") != "Bearer " + token:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
            if code != grpc.StatusCode.OK:
                context.abort(code, message)
            return b""

        methods = {m: grpc.unary_unary_rpc_method_handler(answer) for m in
                   ("Dispatch", "DispatchBatch", "CreatePipeline", "GetPipeline",
                    "ListPipelines")}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("kedro.events.v1.EventService", methods),))
        if creds is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.target = "127.0.0.1:%d" % self.port
        self.server.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop(0)


def post(shim, id="up-1"):
    h = dict(sh.BINARY_HEADERS, **{"ce-id": id})
    return curl(shim.url + "/event/", *binary_args(h), data=b"")


class OverloadAnswers(unittest.TestCase):
    def answer_to(self, code, message):
        with Peer(code, message) as peer, sh.Shim(peer.target) as shim:
            return post(shim)

    def test_resource_exhausted_and_unavailable_map_to_their_http_statuses(self):
        cases = [
            (grpc.StatusCode.UNAVAILABLE, "overloaded: 512 MiB of requests in flight",
             503, True),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "store full: the store holds 1048576 bytes",
             503, True),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "the request is larger than 4194304 bytes",
             413, False),
            (grpc.StatusCode.UNAVAILABLE, "shutting down", 503, True),
            # grpc core's own reset under memory pressure
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "Received RST_STREAM with error code 11", 503,
             True),
            # only a prefix counts
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "batch: store full: no", 413, False),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "overloaded: not a prefix it uses", 413,
             False),
        ]
        for code, message, status, retry in cases:
            with self.subTest(message=message):
                a = self.answer_to(code, message)
                self.assertEqual(a.status, status, a)
                self.assertIn(message, a.json()["detail"])
                if retry:
                    self.assertEqual(a.headers.get("retry-after"), "1", a)
                else:
                    self.assertNotIn("retry-after", a.headers, a)


class TargetToken(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(certs.shared().dir, "target-token-%s" % self._testMethodName)

    def test_the_token_of_the_file_is_sent_with_every_call(self):
        with Peer(token=TOKEN) as peer, \
                sh.Shim(peer.target, args=["--target-token-file",
                                           write_token(self.path, TOKEN)]) as shim:
            a = post(shim)
            self.assertEqual(a.status, 200, a)
            self.assertEqual(a.json(), [])
            a = curl(shim.url + "/pipelines?limit=1")
            self.assertEqual(a.status, 200, a)
            self.assertEqual(set(peer.seen), {"Bearer " + TOKEN})
            self.assertNotIn(TOKEN, shim.stderr())

    def test_a_refused_shim_token_is_502_naming_the_flag_not_401(self):
        with Peer(token=TOKEN) as peer, sh.Shim(peer.target) as shim:
            a = post(shim)
            self.assertEqual(a.status, 502, a)
            self.assertIn("--target-token-file", a.json()["detail"])
            self.assertNotIn("www-authenticate", a.headers)

    def test_an_unreadable_token_file_stops_the_start_exit_1(self):
        r = subprocess.run([sh.SHIM, "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1",
                            "--target-token-file", write_token(self.path, "short")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--target-token-file", r.stderr)

    def test_sighup_rereads_the_token_file_and_keeps_the_token_when_refused(self):
        write_token(self.path, TOKEN)
        with Peer(token=NEW) as peer, \
                sh.Shim(peer.target, args=["--target-token-file", self.path]) as shim:
            self.assertEqual(post(shim, "a").status, 502)

            def reload(expect):
                before = shim.stderr().count("SIGHUP")
                shim.proc.send_signal(signal.SIGHUP)
                self.assertTrue(harness.wait_until(
                    lambda: shim.stderr().count("SIGHUP") > before, timeout=20), shim.stderr())
                self.assertIn(expect, shim.stderr().splitlines()[-1])

            write_token(self.path, NEW)
            reload("token replaced")
            self.assertEqual(post(shim, "b").status, 200)
            write_token(self.path, "not a token at all")
            reload("refused, keeping the token in use")
            self.assertEqual(post(shim, "c").status, 200)
            self.assertEqual(peer.seen[-1], "Bearer " + NEW)
            for t in (TOKEN, NEW):
                self.assertNotIn(t, shim.stderr())


class TargetTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = certs.shared()
        cls.key = certs.Certs.read(cls.c.server_key)
        cls.cert = certs.Certs.read(cls.c.server_cert)

    def test_target_ca_speaks_tls_to_the_peer_where_plaintext_fails(self):
        creds = grpc.ssl_server_credentials([(self.key, self.cert)])
        with Peer(creds=creds) as peer:
            with sh.Shim(peer.target, args=["--target-ca", self.c.ca]) as shim:
                a = post(shim)
                self.assertEqual(a.status, 200, a)
            with sh.Shim(peer.target, args=["--timeout", "5"]) as shim:
                a = post(shim)
                self.assertIn(a.status, (502, 504), a)

    def test_mutual_tls_sends_the_client_certificate(self):
        creds = grpc.ssl_server_credentials([(self.key, self.cert)],
                                            root_certificates=certs.Certs.read(self.c.ca),
                                            require_client_auth=True)
        with Peer(creds=creds) as peer:
            with sh.Shim(peer.target, args=["--target-ca", self.c.ca,
                                            "--target-cert", self.c.client_cert,
                                            "--target-key", self.c.client_key]) as shim:
                a = post(shim)
                self.assertEqual(a.status, 200, a)
            with sh.Shim(peer.target, args=["--target-ca", self.c.ca, "--timeout", "5"]) as shim:
                a = post(shim)
                self.assertIn(a.status, (502, 504), a)

    def test_target_cert_without_its_key_is_a_usage_error(self):
        r = subprocess.run([sh.SHIM, "--target-cert", self.c.client_cert],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--target-key", r.stderr)


@unittest.skipUnless(eventd_has("--auth-tokens") and eventd_has("--tls-cert"),
                     "kedro-eventd has no --auth-tokens/--tls-cert yet")
class AgainstKedroEventd(unittest.TestCase):
    """The shim with TLS and a token toward the real kedro-eventd."""

    def test_tls_and_token_toward_kedro_eventd(self):
        c = certs.shared()
        tokens = write_token(os.path.join(c.dir, "eventd-tokens"), TOKEN)
        args = certs.server_args(c) + ["--auth-tokens", tokens]
        with harness.Server(args=args) as server:
            with sh.Shim(server.target, args=["--target-ca", c.ca,
                                              "--target-token-file", tokens]) as shim:
                a = post(shim, "real-1")
                self.assertEqual(a.status, 200, a)
                [p] = a.json()
                self.assertEqual(p["name"], "event00")
            with sh.Shim(server.target, args=["--target-ca", c.ca]) as shim:
                a = post(shim, "real-2")
                self.assertEqual(a.status, 502, a)
                self.assertIn("--target-token-file", a.json()["detail"])


if __name__ == "__main__":
    unittest.main()

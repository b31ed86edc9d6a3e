"""kedro-eventd --auth-tokens: every call but grpc.health.v1.Health needs metadata
`authorization: Bearer <token>` (else UNAUTHENTICATED, with a message that never holds what
was sent); SIGHUP re-reads the file (a refused file keeps the old tokens, calls in flight go
on); --run-token-file hands a token to runs as KEDRO_EVENTS_TOKEN. Driven with Python's grpcio
and the Kedro stand-in (tests/stubs/kedro), which records the environment a run got."""

import json
import os
import queue
import signal
import tempfile
import unittest

import grpc

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from grpcstd.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpcstd.reflection.v1alpha import reflection_pb2 as refl  # noqa: E402
from grpcstd.reflection.v1alpha import reflection_pb2_grpc as refl_grpc  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

TOKEN_A = "token-A-0123456789abcdefghij"
TOKEN_B = "token-B-zyxwvutsrq9876543210"
WRONG = "wrong-token-guessed-0123456789"
Code = grpc.StatusCode
MISSING = "missing bearer token: send metadata authorization: Bearer <token>"
NOT_ACCEPTED = "the bearer token is not accepted"


def event(id="e1"):
    return ce.CloudEvent(id=id, source="example.com", spec_version="1.0",
                         type="com.example.event")


def bearer(token):
    return (("authorization", "Bearer " + token),)


def write_tokens(path, *lines, mode=0o600):
    """Replaces the file at path at once (a reader sees the old or the new file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# kedro-eventd tokens\n\n" + "".join(line + "\n" for line in lines))
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def sighup(server, line, count=1):
    """Sends SIGHUP and waits for the count-th stderr line holding `line`."""
    server.proc.send_signal(signal.SIGHUP)
    ok = harness.wait_until(lambda: server.stderr().count(line) >= count, timeout=10)
    assert ok, server.stderr()


class TokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ke-tokens-")
        cls.tokens = os.path.join(cls.dir, "tokens")
        write_tokens(cls.tokens, TOKEN_A, "  " + TOKEN_B + "  ")
        cls.server = harness.Server(args=["--auth-tokens", cls.tokens])
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        status = cls.server.stop()
        err = cls.server.stderr()
        assert status == 0, err
        for t in (TOKEN_A, TOKEN_B, WRONG):
            assert t not in err, "a token was logged"

    def refused(self, call, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            call(*args, timeout=10, **kw)
        self.assertEqual(cm.exception.code(), Code.UNAUTHENTICATED, cm.exception.details())
        return cm.exception.details()

    def test_a_call_without_a_token_is_unauthenticated(self):
        self.assertEqual(self.refused(self.stub.Dispatch, event()), MISSING)
        self.assertEqual(self.refused(self.stub.ListPipelines, pb.ListPipelinesRequest()),
                         MISSING)
        self.assertIn("2 bearer token(s) from " + self.tokens, self.server.stderr())

    def test_a_wrong_token_is_unauthenticated_and_never_echoed(self):
        for value in ("Bearer " + WRONG, "bearer " + TOKEN_A + "x", "Bearer " + TOKEN_A[:-1],
                      "Bearer " + "x" * 600):
            details = self.refused(self.stub.Dispatch, event(),
                                   metadata=(("authorization", value),))
            self.assertEqual(details, NOT_ACCEPTED)
        self.assertNotIn(WRONG, self.server.stderr())

    def test_another_scheme_is_unauthenticated(self):
        details = self.refused(self.stub.Dispatch, event(),
                               metadata=(("authorization", "Basic " + TOKEN_A),))
        self.assertEqual(details, 'the authorization metadata is not "Bearer <token>"')
        self.assertNotIn(TOKEN_A, details)

    def test_two_authorization_entries_are_unauthenticated(self):
        details = self.refused(self.stub.Dispatch, event(),
                               metadata=bearer(TOKEN_A) + bearer(TOKEN_B))
        self.assertIn("more than one authorization metadata entry", details)

    def test_the_right_token_is_accepted_in_any_scheme_case(self):
        d = self.stub.Dispatch(event("right-1"), metadata=bearer(TOKEN_A), timeout=10)
        self.assertEqual([p.name for p in d.pipelines], ["event00"])
        got = self.stub.GetPipeline(pb.GetPipelineRequest(id=d.pipelines[0].id),
                                    metadata=(("authorization", "bEaReR   " + TOKEN_B),),
                                    timeout=10)
        self.assertEqual(got.id, d.pipelines[0].id)
        self.refused(self.stub.GetPipeline, pb.GetPipelineRequest(id=d.pipelines[0].id))

    def test_health_check_and_watch_need_no_token(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        r = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(next(stream).status, health_pb2.HealthCheckResponse.SERVING)
        stream.cancel()

    def test_reflection_needs_a_token(self):
        stub = refl_grpc.ServerReflectionStub(self.channel)
        req = refl.ServerReflectionRequest(list_services="")
        with self.assertRaises(grpc.RpcError) as cm:
            list(stub.ServerReflectionInfo(iter([req]), timeout=10))
        self.assertEqual(cm.exception.code(), Code.UNAUTHENTICATED)
        self.assertEqual(cm.exception.details(), MISSING)
        answers = list(stub.ServerReflectionInfo(iter([req]), metadata=bearer(TOKEN_B),
                                                 timeout=10))
        self.assertEqual(len(answers), 1)
        self.assertIn("kedro.events.v1.EventService",
                      {s.name for s in answers[0].list_services_response.service})

    def test_an_unknown_method_is_unauthenticated_before_unimplemented(self):
        call = self.channel.unary_unary("/no.Such/Method")
        self.assertEqual(self.refused(call, b""), MISSING)
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"", metadata=bearer(TOKEN_A), timeout=10)
        self.assertEqual(cm.exception.code(), Code.UNIMPLEMENTED)
        # only grpc.health.v1.Health is exempt, not a name that starts like it
        self.refused(self.channel.unary_unary("/grpc.health.v1.HealthX/Check"), b"")


class SighupTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ke-tokens-")
        self.tokens = os.path.join(self.dir, "tokens")
        write_tokens(self.tokens, TOKEN_A)
        self.server = harness.Server(args=["--auth-tokens", self.tokens])
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        status = self.server.stop()
        err = self.server.stderr()
        self.assertEqual(status, 0, err)
        for t in (TOKEN_A, TOKEN_B):
            self.assertNotIn(t, err)

    def code(self, token):
        try:
            self.stub.ListPipelines(pb.ListPipelinesRequest(), metadata=bearer(token),
                                    timeout=10)
            return Code.OK
        except grpc.RpcError as e:
            return e.code()

    def test_sighup_replaces_the_tokens(self):
        self.assertEqual((self.code(TOKEN_A), self.code(TOKEN_B)), (Code.OK,
                                                                    Code.UNAUTHENTICATED))
        write_tokens(self.tokens, TOKEN_B)
        sighup(self.server, "SIGHUP: 1 token(s) from " + self.tokens)
        self.assertEqual((self.code(TOKEN_A), self.code(TOKEN_B)), (Code.UNAUTHENTICATED,
                                                                    Code.OK))

    def test_a_refused_file_on_sighup_keeps_the_old_tokens(self):
        write_tokens(self.tokens, TOKEN_B, mode=0o644)
        sighup(self.server, 'SIGHUP: token file "%s" is readable or writable by others' %
               self.tokens)
        self.assertIn("the 1 token(s) read before stay", self.server.stderr())
        write_tokens(self.tokens, TOKEN_B, "not a token")
        sighup(self.server, 'SIGHUP: token file "%s": the token on line 4' % self.tokens)
        os.remove(self.tokens)
        sighup(self.server, 'SIGHUP: token file "%s": cannot open' % self.tokens)
        self.assertTrue(self.server.alive())
        self.assertEqual((self.code(TOKEN_A), self.code(TOKEN_B)), (Code.OK,
                                                                    Code.UNAUTHENTICATED))

    def test_a_call_in_flight_goes_on_after_its_token_is_withdrawn(self):
        stub = refl_grpc.ServerReflectionStub(self.channel)
        requests = queue.Queue()
        req = refl.ServerReflectionRequest(list_services="")

        def messages():
            while True:
                r = requests.get()
                if r is None:
                    return
                yield r

        stream = stub.ServerReflectionInfo(messages(), metadata=bearer(TOKEN_A), timeout=30)
        requests.put(req)
        self.assertTrue(next(stream).HasField("list_services_response"))
        write_tokens(self.tokens, TOKEN_B)
        sighup(self.server, "SIGHUP: 1 token(s) from " + self.tokens)
        self.assertEqual(self.code(TOKEN_A), Code.UNAUTHENTICATED)
        requests.put(req)  # the stream began with an accepted token: it is still answered
        self.assertTrue(next(stream).HasField("list_services_response"))
        requests.put(None)
        self.assertEqual(list(stream), [])

    def test_sighup_many_times_never_ends_the_server(self):
        for i in range(1, 6):
            sighup(self.server, "SIGHUP: 1 token(s) from " + self.tokens, count=i)
        self.assertTrue(self.server.alive())
        self.assertEqual(self.code(TOKEN_A), Code.OK)


class NoTokensTest(unittest.TestCase):
    def test_sighup_without_token_files_has_nothing_to_reload(self):
        with harness.Server() as server:
            sighup(server, "SIGHUP: nothing to reload (no --auth-tokens, no --run-token-file)")
            self.assertTrue(server.alive())
            with server.channel() as ch:
                r = rpc.EventServiceStub(ch).Dispatch(event(), timeout=10)
            self.assertEqual(len(r.pipelines), 1)
            self.assertEqual(server.stop(), 0, server.stderr())


class RunTokenTest(unittest.TestCase):
    """--run-token-file: what the Kedro stand-in recorded of a run's environment."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ke-runtoken-")
        self.record_dir = os.path.join(self.dir, "records")
        os.mkdir(self.record_dir)
        self.token_file = os.path.join(self.dir, "run-token")
        write_tokens(self.token_file, TOKEN_A)
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.__exit__(None, None, None)

    def start(self, *args, env=None):
        full_env = {"KEDRO_STANDIN_RECORD_DIR": self.record_dir}
        full_env.update(env or {})
        self.server = harness.Server(
            runner="local", env=full_env,
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.dir, *args])
        return self.server

    def run_env(self, id):
        """Dispatches an event and returns the KEDRO_EVENTS_* environment its run saw."""
        with self.server.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            md = bearer(TOKEN_A) if "--auth-tokens" in self.server.proc.args else None
            pid = stub.Dispatch(event(id), metadata=md, timeout=10).pipelines[0].id
        path = os.path.join(self.record_dir, pid + ".json")
        self.assertTrue(harness.wait_until(lambda: os.path.exists(path), timeout=60),
                        self.server.stderr())
        with open(path) as f:
            return json.load(f)["environ"]

    def files_under(self, top):
        for root, _, names in os.walk(top):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    yield os.path.join(root, n), f.read()

    def test_runs_get_the_token_and_nothing_else_shows_it(self):
        self.start("--run-token-file", self.token_file)
        env = self.run_env("run-token-1")
        self.assertEqual(env.get("KEDRO_EVENTS_TOKEN"), TOKEN_A)
        self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.assertNotIn(TOKEN_A, self.server.stderr())
        for path, data in self.files_under(self.server.data_dir):
            self.assertNotIn(TOKEN_A.encode(), data, path)

    def test_sighup_gives_later_runs_the_new_token(self):
        self.start("--run-token-file", self.token_file)
        self.assertEqual(self.run_env("before").get("KEDRO_EVENTS_TOKEN"), TOKEN_A)
        write_tokens(self.token_file, "bad token")
        sighup(self.server, "runs keep the token read before")
        self.assertEqual(self.run_env("refused").get("KEDRO_EVENTS_TOKEN"), TOKEN_A)
        write_tokens(self.token_file, TOKEN_B)
        sighup(self.server, "SIGHUP: the run token from " + self.token_file)
        self.assertEqual(self.run_env("after").get("KEDRO_EVENTS_TOKEN"), TOKEN_B)
        err = self.server.stderr()
        self.assertNotIn(TOKEN_A, err)
        self.assertNotIn(TOKEN_B, err)

    def test_without_the_flag_runs_get_no_token_even_from_the_servers_environment(self):
        self.start(env={"KEDRO_EVENTS_TOKEN": TOKEN_B})
        env = self.run_env("no-token")
        self.assertNotIn("KEDRO_EVENTS_TOKEN", env)
        self.assertIn("KEDRO_EVENTS_SERVER", env)

    def test_a_run_token_the_server_does_not_accept_is_warned_about(self):
        tokens = os.path.join(self.dir, "tokens")
        write_tokens(tokens, TOKEN_B)
        self.start("--run-token-file", self.token_file, "--auth-tokens", tokens)
        self.assertIn("the token of --run-token-file %s is not in --auth-tokens %s" %
                      (self.token_file, tokens), self.server.stderr())
        write_tokens(tokens, TOKEN_A, TOKEN_B)
        sighup(self.server, "SIGHUP: the run token from " + self.token_file)
        self.assertIn("SIGHUP: 2 token(s) from " + tokens, self.server.stderr())
        self.assertEqual(self.server.stderr().count("is not in --auth-tokens"), 1)
        self.assertEqual(self.run_env("accepted").get("KEDRO_EVENTS_TOKEN"), TOKEN_A)


if __name__ == "__main__":
    unittest.main(verbosity=2)

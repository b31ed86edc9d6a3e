"""GetStats and the shim's GET /stats (issue 14: the console's Overview), driven with Python's
grpcio and curl against the real kedro-eventd (and the Kedro stand-in for ended runs) and the
real kedro-event-shim.

Events are counted when accepted as new (a resend, a refused event count nothing; one that
matches no route counts), in memory: a restart starts again from zero and events_since says
so. Ended runs come from the store and survive a restart. Bad windows and steps are refused
naming the argument. Clocks: the test and the server share the machine's clock, and each check
allows for the bucket a call lands in."""

import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import harness
import shim_harness
from shim_harness import curl

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
Code = grpc.StatusCode
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
BOUND = 60  # seconds: the longest wait for anything; never asserted
CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
TOKEN = "stats-token-0123456789abcdef"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
}


def event(id, type="com.example.event", spec="1.0"):
    return ce.CloudEvent(id=id, source="example.com", spec_version=spec, type=type)


def seconds(ts):
    return ts.seconds + ts.nanos / 1e9


def total(stats, field):
    return sum(getattr(b, field) for b in stats.buckets)


class GetStatsTest(unittest.TestCase):
    servers = []

    def start(self, runner="none", data_dir=None, args=()):
        if runner == "local":
            project = tempfile.mkdtemp(prefix="ke-project-")
            args = ["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", project] + list(args)
        server = harness.Server(config=CONFIG, runner=runner, data_dir=data_dir, args=args)
        self.servers.append(server)
        self.channel = server.channel()
        self.stub = rpc.EventServiceStub(self.channel)
        return server

    def tearDown(self):
        for s in self.servers:
            s.__exit__(None, None, None)
        self.servers.clear()

    def stats(self, window=0, step=0, **kw):
        return self.stub.GetStats(pb.GetStatsRequest(window_seconds=window, step_seconds=step),
                                  timeout=BOUND, **kw)

    def assert_shape(self, st, window, step):
        self.assertEqual(st.window_seconds, window)
        self.assertEqual(st.step_seconds, step)
        self.assertEqual(len(st.buckets), window // step)
        starts = [b.start.seconds for b in st.buckets]
        for b in st.buckets:
            self.assertEqual(b.start.nanos, 0)
            self.assertEqual(b.start.seconds % step, 0)
        self.assertEqual(starts, [starts[0] + i * step for i in range(len(starts))])
        now = seconds(st.now)
        self.assertLessEqual(starts[-1], now)
        self.assertLess(now, starts[-1] + step)  # the last bucket holds now
        self.assertAlmostEqual(now, time.time(), delta=30)

    def test_events_count_new_ones_only_with_the_states_now(self):
        before = time.time()
        self.start()
        first = self.stats()
        self.assert_shape(first, 3600, 60)
        self.assertEqual(total(first, "events"), 0)
        since = seconds(first.events_since)
        self.assertGreaterEqual(since, int(before) - 1)  # the server's start, not the window's
        self.assertLessEqual(since, seconds(first.now))
        sent = time.time()
        for i in range(3):  # three new events, each starting one pipeline
            self.stub.Dispatch(event("new-%d" % i), timeout=BOUND)
        batch = ce.CloudEventBatch(events=[event("batch-1"), event("batch-2")])
        self.stub.DispatchBatch(batch, timeout=BOUND)  # two more
        self.stub.Dispatch(event("unmatched", type="com.example.nobody"), timeout=BOUND)  # new
        self.assertTrue(self.stub.Dispatch(event("new-0"), timeout=BOUND).duplicate)  # a resend
        with self.assertRaises(grpc.RpcError) as e:  # refused: counts nothing
            self.stub.Dispatch(event("refused", spec="0.3"), timeout=BOUND)
        self.assertEqual(e.exception.code(), Code.INVALID_ARGUMENT)
        st = self.stats(600, 10)
        self.assert_shape(st, 600, 10)
        self.assertEqual(total(st, "events"), 6)
#... all in the buckets from the one the first call was sent in to now
        recent = [b.events for b in st.buckets if b.start.seconds >= int(sent) // 10 * 10]
        self.assertEqual(sum(recent), 6)
        self.assertEqual((st.staged, st.ready, st.started), (0, 5, 0))
        self.assertEqual(total(st, "success") + total(st, "failure") + total(st, "aborted"), 0)
#A READY pipeline cancelled : ABORTED in the current bucket, one fewer READY.
        pid = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1)).pipelines[0].id
        self.stub.CancelPipeline(pb.CancelPipelineRequest(id=pid), timeout=BOUND)
        st = self.stats(60, 10)
        self.assert_shape(st, 60, 10)
        self.assertEqual(total(st, "aborted"), 1)
        self.assertEqual(st.ready, 4)

    def test_ended_runs_by_state_survive_a_restart_and_events_start_again(self):
        server = self.start(runner="local")
        ids = [p.id for i in range(2)
               for p in self.stub.Dispatch(event("ok-%d" % i), timeout=BOUND).pipelines]
        ids += [p.id for p in self.stub.Dispatch(event("bad", type="com.example.fail"),
                                                 timeout=BOUND).pipelines]
        self.assertEqual(len(ids), 3)

        def ended():
            return all(self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1].state
                       in FINAL for i in ids)
        self.assertTrue(harness.wait_until(ended, timeout=BOUND, step=0.05), server.stderr())
        st = self.stats()
        self.assertEqual((total(st, "success"), total(st, "failure"), total(st, "aborted")),
                         (2, 1, 0))
        self.assertEqual(total(st, "events"), 3)
        self.assertEqual((st.staged, st.ready, st.started), (0, 0, 0))
#Each run is counted in the bucket its final status was recorded in.
        for i in ids:
            last = self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1]
            b = [x for x in st.buckets if x.start.seconds == last.changed_at.seconds // 60 * 60]
            self.assertEqual(len(b), 1)
            self.assertGreaterEqual(b[0].success + b[0].failure, 1)

        self.channel.close()
        self.assertEqual(server.stop(), 0)
        restarted = time.time()
        self.start(runner="local", data_dir=server.data_dir)
        st = self.stats()
        self.assertEqual((total(st, "success"), total(st, "failure")), (2, 1))
        self.assertEqual(total(st, "events"), 0)  # counted in memory: from the restart on
        self.assertGreaterEqual(seconds(st.events_since), int(restarted) - 1)
        self.assertLessEqual(seconds(st.events_since), seconds(st.now))

    def test_bad_window_or_step_is_invalid_argument_naming_it(self):
        self.start()
        cases = [(59, 10, "window_seconds 59"), (3601, 10, "window_seconds 3601"),
                 (-60, 10, "window_seconds -60"), (600, 5, "step_seconds 5"),
                 (600, 1200, "step_seconds 1200"), (600, 15, "step_seconds 15: must be a "
                                                             "multiple of 10"),
                 (600, 70, "step_seconds 70: must divide window_seconds (600)")]
        for window, step, fragment in cases:
            with self.assertRaises(grpc.RpcError) as e:
                self.stats(window, step)
            self.assertEqual(e.exception.code(), Code.INVALID_ARGUMENT, (window, step))
            self.assertIn(fragment, e.exception.details())
        self.assert_shape(self.stats(90), 90, 10)  # 60 does not divide 90: step 10
        self.assert_shape(self.stats(3600, 3600), 3600, 3600)

    def test_tokens_apply_as_to_every_read(self):
        d = tempfile.mkdtemp(prefix="ke-stats-tokens-")
        path = os.path.join(d, "tokens")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        self.start(args=["--auth-tokens", path])
        with self.assertRaises(grpc.RpcError) as e:
            self.stats()
        self.assertEqual(e.exception.code(), Code.UNAUTHENTICATED)
        st = self.stats(metadata=(("authorization", "Bearer " + TOKEN),))
        self.assertEqual(len(st.buckets), 60)

    def test_the_cli_prints_the_table_and_the_json(self):
        server = self.start()
        self.stub.Dispatch(event("cli-1"), timeout=BOUND)

        def cli(*args):
            return subprocess.run([CLI, "stats", "--target", server.target] + list(args),
                                  capture_output=True, text=True, timeout=BOUND)
        r = cli("--window", "120", "--step", "30")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("window 120 s in steps of 30 s", lines[0])
        self.assertEqual(lines[1].split(), ["START", "EVENTS", "SUCCESS", "FAILURE", "ABORTED"])
        self.assertEqual(len(lines), 2 + 4 + 1)
        self.assertEqual(sum(int(x.split()[1]) for x in lines[2:6]), 1)
        self.assertEqual(lines[-1], "staged 0, ready 1, started 0")
        r = cli("--json-out")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["window"], doc["step"], doc["ready"]), (3600, 60, 1))
        r = cli("--step", "15")
        self.assertEqual(r.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", r.stderr)
        self.assertIn("step_seconds 15: must be a multiple of 10", r.stderr)
        r = cli("--window", "-5")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--window '-5' is not a positive number of seconds", r.stderr)


class ShimStatsTest(unittest.TestCase):
    """GET /stats through the shim: libkedroevents' kec_get_stats and kec_stats_to_json."""

    KEYS = ["now", "window", "step", "events_since", "buckets", "staged", "ready", "started"]
    BUCKET_KEYS = ["start", "events", "success", "failure", "aborted"]

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(config=CONFIG)
        cls.shim = shim_harness.Shim(cls.server.target)

    @classmethod
    def tearDownClass(cls):
        cls.shim.__exit__(None, None, None)
        cls.server.__exit__(None, None, None)

    def get(self, query="", *args):
        return curl(self.shim.url + "/stats" + query, *args)

    def test_answers_the_json_of_the_console_contract(self):
        for i in range(2):
            a = curl(self.shim.url + "/event/", "-H", "Content-Type: application/cloudevents+json",
                     data=json.dumps(shim_harness.structured(id="shim-%d" % i)).encode())
            self.assertEqual(a.status, 200, a)
        a = self.get()
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["content-type"], "application/json")
        doc = a.json()
        self.assertEqual(list(doc), self.KEYS)
        self.assertEqual((doc["window"], doc["step"]), (3600, 60))
        self.assertEqual(len(doc["buckets"]), 60)
        for b in doc["buckets"]:
            self.assertEqual(list(b), self.BUCKET_KEYS)
            self.assertRegex(b["start"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$")
        self.assertRegex(doc["now"], TIME_RE)
        self.assertRegex(doc["events_since"], TIME_RE)
        self.assertEqual(sum(b["events"] for b in doc["buckets"]), 2)
        self.assertEqual((doc["staged"], doc["ready"], doc["started"]), (0, 2, 0))
        doc = self.get("?window=600&step=10").json()
        self.assertEqual((doc["window"], doc["step"], len(doc["buckets"])), (600, 10, 60))
        self.assertRegex(doc["buckets"][1]["start"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d0Z$")

    def test_head_answers_without_a_body_and_other_methods_are_405(self):
        a = self.get("", "-I")  # curl writes the headers where the body would go
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["content-type"], "application/json")
        self.assertNotIn("{", a.body)
        a = self.get("", "-X", "POST")
        self.assertEqual(a.status, 405, a)
        self.assertEqual(a.headers["allow"], "GET, HEAD")

    def test_bad_arguments_are_400_naming_them(self):
        for query, fragment in [("?window=abc", 'window "abc": must be a whole number'),
                                ("?step=1e3", 'step "1e3": must be a whole number'),
                                ("?window=30", "window_seconds 30: must be between 60 and 3600"),
                                ("?step=15", "step_seconds 15: must be a multiple of 10"),
                                ("?window=600&step=70", "step_seconds 70: must divide")]:
            a = self.get(query)
            self.assertEqual(a.status, 400, (query, a))
            self.assertIn(fragment, a.json()["detail"])

    def test_kedro_eventd_away_is_502(self):
        with shim_harness.Shim("127.0.0.1:%d" % shim_harness.free_port()) as shim:
            a = curl(shim.url + "/stats")
            self.assertEqual(a.status, 502, a)
            self.assertIn("cannot be reached", a.json()["detail"])


if __name__ == "__main__":
    unittest.main()

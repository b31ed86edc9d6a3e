"""Runs through the local forwarder: the real kedro-eventd runs each READY
pipeline as `kedro run --pipeline=P --config F` with the Kedro stand-in
(tests/stubs/kedro, which loads F with OmegaConf as Kedro does and records the
parameters and their Python types)."""

import json
import os
import signal
import tempfile
import threading
import unittest

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "audit": {"source": "example.com", "type": "com.example.event",
              "parameters": {"level": 3, "mode": "full, strict"}},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
    "crash_pipeline": {"source": "example.com", "type": "com.example.crash"},
    "slow": {"source": "example.com", "type": "com.example.slow",
             "parameters": {"sleep": "0.3"}},
    "hang": {"source": "example.com", "type": "com.example.hang",
             "parameters": {"sleep": "60"}},
}

TRICKY = ('{"text": "commas, \\"quotes\\", back\\\\slash\\nnew line", "emoji": "\U0001F600", '
          '"ls": "\u2028", "interp": "${oc.env:HOME} and ${x}", "nonascii": "caf\u00e9 \u4e2d"}')


def event(i, type="com.example.event", text=None, ctype="application/json"):
    e = ce.CloudEvent(id="run-%s" % i, source="example.com", spec_version="1.0", type=type,
                      text_data=text if text is not None else '{"i": %d}' % (hash(i) % 1000))
    if ctype:
        e.attributes["datacontenttype"].ce_string = ctype
    return e


class RunsTest(unittest.TestCase):
    def start(self, extra=(), env=None, max_runs=4):
        self.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        self.running_dir = tempfile.mkdtemp(prefix="ke-running-")
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        full_env = {"KEDRO_STANDIN_RECORD_DIR": self.record_dir,
                    "KEDRO_STANDIN_CONCURRENCY_DIR": self.running_dir}
        full_env.update(env or {})
        self.server = harness.Server(config=CONFIG, runner="local", env=full_env, args=[
            "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project,
            "--max-runs", str(max_runs)] + list(extra))
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            self.server.__exit__(None, None, None)

    def wait_final(self, ids, timeout=60):
        def done():
            return all(self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1].state
                       in FINAL for i in ids)
        self.assertTrue(harness.wait_until(done, timeout=timeout, step=0.05),
                        self.server.stderr())
        return [self.stub.GetPipeline(pb.GetPipelineRequest(id=i)) for i in ids]

    def recorded(self, pid):
        with open(os.path.join(self.record_dir, pid + ".json")) as f:
            return json.load(f)

    def test_event_reaches_the_node_as_the_exact_str(self):
        self.start()
        r = self.stub.Dispatch(event("tricky", text=TRICKY))
        self.assertEqual([p.name for p in r.pipelines], ["event00", "audit"])
        done = self.wait_final([p.id for p in r.pipelines])
        self.assertEqual([p.status[-1].state for p in done], [State.SUCCESS, State.SUCCESS])
        for p in r.pipelines:
            rec = self.recorded(p.id)
            sent = {x.name: x.value for x in p.parameters}
            self.assertEqual(rec["params"]["event"], sent["event"])
            self.assertEqual(rec["types"]["event"], "str")
            self.assertEqual(rec["params"]["id"], p.id)
            self.assertEqual(rec["types"]["id"], "str")
            data = json.loads(rec["params"]["event"])["data"]
            self.assertEqual(data, json.loads(TRICKY))  # ${...} was not interpolated
            self.assertEqual(rec["environ"]["KEDRO_EVENTS_PIPELINE_ID"], p.id)
            self.assertEqual(rec["environ"]["KEDRO_EVENTS_EVENT"], sent["event"])
            self.assertEqual(rec["environ"]["KEDRO_EVENTS_SERVER"], self.server.target)
            self.assertEqual(rec["environ"]["KEDRO_EVENTS_HTTP_URL"], "http://127.0.0.1:5000")
            self.assertEqual(os.path.realpath(rec["cwd"]), os.path.realpath(self.project))
        audit = self.recorded(r.pipelines[1].id)
        self.assertEqual(audit["params"]["level"], "3")
        self.assertEqual(audit["types"]["level"], "str")
        self.assertEqual(audit["params"]["mode"], "full, strict")

    def test_success_and_failure_are_recorded_with_reasons(self):
        self.start()
        ok = self.stub.Dispatch(event("ok")).pipelines[0]
        bad = self.stub.Dispatch(event("bad", type="com.example.fail")).pipelines[0]
        crash = self.stub.Dispatch(event("crash", type="com.example.crash")).pipelines[0]
        ok, bad, crash = self.wait_final([ok.id, bad.id, crash.id])
        last = ok.status[-1]
        self.assertEqual(last.state, State.SUCCESS)
        self.assertEqual(last.WhichOneof("outcome"), "exit_code")
        self.assertEqual(last.exit_code, 0)
        self.assertTrue(os.path.exists(last.log_path))
        self.assertEqual([s.state for s in ok.status], [State.READY, State.STARTED, State.SUCCESS])
        last = bad.status[-1]
        self.assertEqual(last.state, State.FAILURE)
        self.assertEqual(last.exit_code, 1)
        self.assertIn("exit", last.error)
        self.assertIn("fail_pipeline", last.error)  # the tail of the run's output
        last = crash.status[-1]
        self.assertEqual(last.state, State.FAILURE)
        self.assertEqual(last.WhichOneof("outcome"), "signal")
        self.assertEqual(last.signal, signal.SIGKILL)

    def test_http_url_reaches_runs_and_an_empty_one_is_left_out(self):
        self.start(extra=["--http-url", "http://shim.example:8080"])
        first = self.stub.Dispatch(event("url-1")).pipelines[0]
        self.wait_final([first.id])
        self.assertEqual(self.recorded(first.id)["environ"]["KEDRO_EVENTS_HTTP_URL"],
                         "http://shim.example:8080")
        self.tearDown()
        self.start(extra=["--http-url", ""])
        second = self.stub.Dispatch(event("url-2")).pipelines[0]
        self.wait_final([second.id])
        self.assertNotIn("KEDRO_EVENTS_HTTP_URL", self.recorded(second.id)["environ"])

    def test_run_over_the_timeout_fails_saying_so(self):
        self.start(extra=["--run-timeout", "1"])
        p = self.stub.Dispatch(event("hang", type="com.example.hang")).pipelines[0]
        (p,) = self.wait_final([p.id], timeout=30)
        self.assertEqual(p.status[-1].state, State.FAILURE)
        self.assertIn("timed out", p.status[-1].error)

    def test_missing_kedro_executable_fails_each_run_with_the_reason(self):
        self.start(extra=["--kedro-bin", "/nonexistent/kedro"])
        p = self.stub.Dispatch(event("nokedro")).pipelines[0]
        (p,) = self.wait_final([p.id])
        self.assertEqual(p.status[-1].state, State.FAILURE)
        self.assertIn("/nonexistent/kedro", p.status[-1].error)

    def test_concurrency_stays_within_max_runs_under_a_burst_of_200(self):
        self.start(max_runs=3)
        seen_max = [0]
        stop = threading.Event()

        def watch():
            while not stop.wait(0.005):
                seen_max[0] = max(seen_max[0], len(os.listdir(self.running_dir)))
        watcher = threading.Thread(target=watch)
        watcher.start()
        futures = [self.stub.Dispatch.future(event("burst-%d" % i, type="com.example.slow"))
                   for i in range(200)]
        ids = [f.result(timeout=60).pipelines[0].id for f in futures]
        try:
            done = self.wait_final(ids, timeout=240)
        finally:
            stop.set()
            watcher.join()
        self.assertTrue(all(p.status[-1].state == State.SUCCESS for p in done))
        self.assertLessEqual(seen_max[0], 3)
        self.assertGreaterEqual(seen_max[0], 2)  # it did run several at once
        starts = sorted(p.status[1].started_at.ToMicroseconds() for p in done)
        self.assertEqual(len(starts), 200)

    def test_sigterm_lets_running_pipelines_finish(self):
        self.start(extra=["--shutdown-grace", "20"])
        p = self.stub.Dispatch(event("drain", type="com.example.slow")).pipelines[0]
        self.assertTrue(harness.wait_until(lambda: os.listdir(self.running_dir), timeout=20))
        self.channel.close()
        self.assertEqual(self.server.stop(sig=signal.SIGTERM), 0)
        after = harness.Server(config=CONFIG, data_dir=self.server.data_dir)
        with after.channel() as ch:
            got = rpc.EventServiceStub(ch).GetPipeline(pb.GetPipelineRequest(id=p.id))
        self.assertEqual(got.status[-1].state, State.SUCCESS)
        self.assertEqual(after.stop(), 0)
        del self.server

    def test_sigterm_past_the_grace_period_ends_runs_and_records_it(self):
        self.start(extra=["--shutdown-grace", "1"])
        p = self.stub.Dispatch(event("abort", type="com.example.hang")).pipelines[0]
        self.assertTrue(harness.wait_until(lambda: os.listdir(self.running_dir), timeout=20))
        self.channel.close()
        self.assertEqual(self.server.stop(sig=signal.SIGTERM), 0)
        after = harness.Server(config=CONFIG, data_dir=self.server.data_dir)
        with after.channel() as ch:
            got = rpc.EventServiceStub(ch).GetPipeline(pb.GetPipelineRequest(id=p.id))
        self.assertEqual(got.status[-1].state, State.ABORTED)
        self.assertIn("shutdown", got.status[-1].error)
        self.assertEqual(after.stop(), 0)
        del self.server

    def test_runner_none_records_runs_without_executing_them(self):
        with harness.Server(config=CONFIG, runner="none",
                            env={"KEDRO_STANDIN_RECORD_DIR": tempfile.mkdtemp()}) as s:
            with s.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                p = stub.Dispatch(event("none")).pipelines[0]
                got = stub.GetPipeline(pb.GetPipelineRequest(id=p.id))
                self.assertEqual(got.status[-1].state, State.READY)
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

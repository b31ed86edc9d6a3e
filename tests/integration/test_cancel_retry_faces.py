"""`kedro-events cancel|retry` and the shim's POST /pipelines/{id}/cancel|retry against the real
kedro-eventd (the Kedro stand-in runs the pipelines), with curl as the HTTP client and grpcio
to set up and check what the server recorded."""

import json
import os
import subprocess
import tempfile
import unittest

import harness
import leftovers
import shim_harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
BOUND = 60  # seconds: the longest wait for anything; never asserted

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
    "hang": {"source": "example.com", "type": "com.example.hang",
             "parameters": {"sleep": "600"}},
}


def event(i, type="com.example.event"):
    return ce.CloudEvent(id="faces-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data="{}")



class FacesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bg_dir = tempfile.mkdtemp(prefix="ke-bg-")
        project = tempfile.mkdtemp(prefix="ke-project-")
        cls.server = harness.Server(
            config=CONFIG, runner="local",
            env={"KEDRO_STANDIN_BACKGROUND_DIR": cls.bg_dir},
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", project,
                  "--max-runs", "4", "--cancel-grace", "2"])
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.shim = shim_harness.Shim(cls.server.target, args=["--timeout", "30"])

    @classmethod
    def tearDownClass(cls):
        cls.shim.__exit__(None)
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        leftovers.kill_left(cls.bg_dir)

    def cli(self, *args):
        env = {k: v for k, v in os.environ.items()
               if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
        return subprocess.run([CLI] + list(args) + ["--target", self.server.target],
                              capture_output=True, env=env, timeout=BOUND + 30)

    def post(self, path, data=None):
        return shim_harness.curl(self.shim.url + path, "-X", "POST", data=data)

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def wait_state(self, pid, states):
        self.assertTrue(harness.wait_until(lambda: self.get(pid).status[-1].state in states,
                                           timeout=BOUND, step=0.05), self.server.stderr())
        return self.get(pid)

    def hanging_run(self, name):
        p = self.stub.Dispatch(event(name, type="com.example.hang")).pipelines[0]
        path = os.path.join(self.bg_dir, p.id + ".pids")
        self.assertTrue(harness.wait_until(lambda: os.path.exists(path), timeout=BOUND))
        with open(path) as f:
            return p, json.load(f)

    # ---- CLI

    def test_cli_cancel_of_a_running_run_prints_it_aborted_and_leaves_no_process(self):
        p, sleepers = self.hanging_run("cli-cancel")
        r = self.cli("cancel", p.id)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("id:         %s" % p.id, out)
        self.assertIn("state:      ABORTED", out)
        self.assertIn("error:      cancelled", out)
        harness.wait_until(lambda: not any(leftovers.alive(*v) for v in sleepers.values()), timeout=BOUND)
        self.assertEqual([k for k, v in sleepers.items() if leftovers.alive(*v)], [])

    def test_cli_cancel_json_out_and_cancel_again_exits_1(self):
        p = self.stub.Dispatch(event("cli-json", type="com.example.hang")).pipelines[0]
        r = self.cli("cancel", "--json-out", p.id)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["id"], p.id)
        self.assertEqual(doc["status"][-1]["state"], "ABORTED")
        r = self.cli("cancel", p.id)
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAILED_PRECONDITION", r.stderr.decode())
        self.assertIn("has already ended (ABORTED)", r.stderr.decode())

    def test_cli_retry_prints_the_new_pipeline_with_retry_of(self):
        old = self.stub.Dispatch(event("cli-retry", type="com.example.fail")).pipelines[0]
        self.wait_state(old.id, FINAL)
        r = self.cli("retry", "--json-out", old.id)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertNotEqual(doc["id"], old.id)
        self.assertIn({"key": "retry_of", "value": old.id}, doc["tags"])
        self.assertEqual(self.wait_state(doc["id"], FINAL).status[-1].state, State.FAILURE)

    def test_cli_usage_and_unknown_id(self):
        r = self.cli("cancel")
        self.assertEqual(r.returncode, 2)
        self.assertIn("the pipeline ID is missing", r.stderr.decode())
        r = self.cli("retry", "00000000-0000-4000-8000-000000000000")
        self.assertEqual(r.returncode, 1)
        self.assertIn("NOT_FOUND", r.stderr.decode())

    # ---- shim

    def test_shim_cancel_answers_200_with_the_pipeline_dict_and_ignores_the_body(self):
        p, _ = self.hanging_run("shim-cancel")
        a = self.post("/pipelines/%s/cancel" % p.id, data=b'{"reason": "ignored"}')
        self.assertEqual(a.status, 200, a)
        doc = a.json()
        self.assertEqual(doc["id"], p.id)
        self.assertEqual(doc["status"][-1]["state"], "ABORTED")
        again = self.post("/pipelines/%s/cancel" % p.id)
        self.assertEqual(again.status, 409, again)
        self.assertIn("has already ended (ABORTED)", again.json()["detail"])

    def test_shim_retry_answers_201_with_location(self):
        old = self.stub.Dispatch(event("shim-retry", type="com.example.fail")).pipelines[0]
        self.wait_state(old.id, FINAL)
        a = self.post("/pipelines/%s/retry" % old.id)
        self.assertEqual(a.status, 201, a)
        doc = a.json()
        self.assertEqual(a.headers["location"], "/pipelines/%s" % doc["id"])
        self.assertIn({"key": "retry_of", "value": old.id}, doc["tags"])
        self.assertEqual(doc["status"][0]["state"], "READY")

    def test_shim_refusals(self):
        p = self.stub.Dispatch(event("shim-notyet", type="com.example.hang")).pipelines[0]
        self.wait_state(p.id, (State.STARTED,))
        a = self.post("/pipelines/%s/retry" % p.id)
        self.assertEqual(a.status, 409, a)
        self.assertIn("has not ended (STARTED)", a.json()["detail"])
        self.assertEqual(self.post("/pipelines/%s/cancel" % p.id).status, 200)
        a = self.post("/pipelines/00000000-0000-4000-8000-000000000000/cancel")
        self.assertEqual(a.status, 404, a)
        a = shim_harness.curl(self.shim.url + "/pipelines/%s/cancel" % p.id)  # GET
        self.assertEqual(a.status, 405, a)
        self.assertEqual(a.headers["allow"], "POST")
        big = self.post("/pipelines/%s/retry" % p.id, data=b"x" * (8 << 20))
        self.assertEqual(big.status, 413, big)


if __name__ == "__main__":
    unittest.main()

"""CancelPipeline and RetryPipeline (issue 12 item 3), driven with Python's grpcio against the
real kedro-eventd and the Kedro stand-in (tests/stubs/kedro).

A cancelled READY run becomes ABORTED at once and never starts; a cancelled STARTED run ends
with its whole process tree (the stand-in leaves a plain child, a setsid'd daemon and one that
ignores SIGTERM: /proc must show none of them afterwards) and is recorded ABORTED "cancelled";
an ended run cannot be cancelled; a retry of a FAILURE is a new READY run with the same name,
parameters (a fresh `id`), event and tags plus retry_of. Waits are bounded generously; nothing
asserts how long anything took."""

import json
import os
import tempfile
import threading
import unittest

import harness
import leftovers

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

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
    return ce.CloudEvent(id="cancel-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data='{"n": %d}' % len(str(i)))



def group_members(pgid):
    """Pids of live (not zombie) processes in process group pgid, from /proc."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(name))
    return out


def param(p, name):
    return [x.value for x in p.parameters if x.name == name]


def tags(p):
    return [(t.key, t.value) for t in p.tags]


class CancelRetryTest(unittest.TestCase):
    def start(self, runner="local", extra=()):
        self.bg_dir = tempfile.mkdtemp(prefix="ke-bg-")
        self.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        project = tempfile.mkdtemp(prefix="ke-project-")
        env = {"KEDRO_STANDIN_BACKGROUND_DIR": self.bg_dir,
               "KEDRO_STANDIN_RECORD_DIR": self.record_dir}
        args = ["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", project]
        self.server = harness.Server(config=CONFIG, runner=runner, env=env,
                                     args=args + list(extra))
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            self.server.__exit__(None, None, None)
        leftovers.kill_left(getattr(self, "bg_dir", None))  # a failed test must not leave any

    def load(self, name):
        return leftovers.load(self.bg_dir, name)

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def cancel(self, pid):
        return self.stub.CancelPipeline(pb.CancelPipelineRequest(id=pid), timeout=BOUND)

    def retry(self, pid):
        return self.stub.RetryPipeline(pb.RetryPipelineRequest(id=pid), timeout=BOUND)

    def wait_state(self, pid, states):
        self.assertTrue(harness.wait_until(lambda: self.get(pid).status[-1].state in states,
                                           timeout=BOUND, step=0.05), self.server.stderr())
        return self.get(pid)

    def sleepers(self, run_id):
        path = os.path.join(self.bg_dir, run_id + ".pids")
        self.assertTrue(harness.wait_until(lambda: os.path.exists(path), timeout=BOUND),
                        self.server.stderr())
        return self.load(run_id + ".pids")

    def assert_none_left(self, sleepers, pgid):
        def survivors():
            return [k for k, (pid, start) in sleepers.items() if leftovers.alive(pid, start)]
        harness.wait_until(lambda: not survivors() and not group_members(pgid), timeout=BOUND,
                           step=0.05)
        self.assertEqual(survivors(), [])
        self.assertEqual(group_members(pgid), [])

    def assert_status(self, err, code, *fragments):
        self.assertEqual(err.exception.code(), code, err.exception.details())
        for f in fragments:
            self.assertIn(f, err.exception.details())

    # ---- cancel

    def test_cancel_ready_under_runner_none_aborts_at_once(self):
        self.start(runner="none")
        p = self.stub.Dispatch(event("none")).pipelines[0]
        got = self.cancel(p.id)
        self.assertEqual(got.id, p.id)
        last = got.status[-1]
        self.assertEqual(last.state, State.ABORTED)
        self.assertEqual(last.error, "cancelled")
        self.assertTrue(last.HasField("finished_at"))
        self.assertEqual([s.state for s in self.get(p.id).status], [State.READY, State.ABORTED])

    def test_cancel_of_an_ended_run_is_failed_precondition(self):
        self.start(runner="none")
        p = self.stub.Dispatch(event("twice")).pipelines[0]
        self.cancel(p.id)
        with self.assertRaises(grpc.RpcError) as err:
            self.cancel(p.id)
        self.assert_status(err, grpc.StatusCode.FAILED_PRECONDITION,
                           "pipeline %s has already ended (ABORTED)" % p.id)

    def test_cancel_unknown_and_missing_ids(self):
        self.start(runner="none")
        with self.assertRaises(grpc.RpcError) as err:
            self.cancel("00000000-0000-4000-8000-000000000000")
        self.assert_status(err, grpc.StatusCode.NOT_FOUND, "not found")
        with self.assertRaises(grpc.RpcError) as err:
            self.cancel("")
        self.assert_status(err, grpc.StatusCode.INVALID_ARGUMENT, "id is required")
        with self.assertRaises(grpc.RpcError) as err:
            self.cancel("x" * 5000)
        self.assert_status(err, grpc.StatusCode.NOT_FOUND)

    def test_cancel_ready_behind_a_busy_slot_never_runs_and_started_one_leaves_nothing(self):
        self.start(extra=["--max-runs", "1", "--cancel-grace", "2"])
        first = self.stub.Dispatch(event("busy", type="com.example.hang")).pipelines[0]
        sleepers = self.sleepers(first.id)  # the first run holds the only slot
        second = self.stub.Dispatch(event("queued")).pipelines[0]
        got = self.cancel(second.id)
        self.assertEqual(got.status[-1].state, State.ABORTED)

        started = self.get(first.id)
        self.assertEqual(started.status[-1].state, State.STARTED)
        pgid = os.getpgid(sleepers["child"][0])  # the run's process group (its supervisor's)
        self.assertTrue(group_members(pgid))
        got = self.cancel(first.id)
        last = got.status[-1]
        self.assertEqual(last.state, State.ABORTED, last.error)
        self.assertTrue(last.error.startswith("cancelled"), last.error)
        self.assertIn("the log ends with", last.error)  # the tail, like other endings
        self.assertIsNotNone(last.WhichOneof("outcome"))
        self.assertTrue(last.HasField("finished_at"))
        self.assert_none_left(sleepers, pgid)
        # The slot is free again, and the cancelled READY run never started.
        third = self.stub.Dispatch(event("after")).pipelines[0]
        self.assertEqual(self.wait_state(third.id, FINAL).status[-1].state, State.SUCCESS)
        self.assertFalse(os.path.exists(os.path.join(self.record_dir, second.id + ".json")))
        self.assertEqual([s.state for s in self.get(second.id).status],
                         [State.READY, State.ABORTED])

    def test_cancel_of_one_started_run_twice_at_once_answers_both_and_kills_once(self):
        self.start(extra=["--cancel-grace", "2"])
        p = self.stub.Dispatch(event("race", type="com.example.hang")).pipelines[0]
        sleepers = self.sleepers(p.id)
        pgid = os.getpgid(sleepers["child"][0])
        answers, errors = [], []

        def one():
            try:
                answers.append(self.cancel(p.id))
            except grpc.RpcError as e:
                errors.append(e)
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual([a.status[-1].state for a in answers], [State.ABORTED] * 2)
        self.assertEqual(self.server.stderr().count("cancelling pipeline %s" % p.id), 1)
        self.assert_none_left(sleepers, pgid)
        states = [s.state for s in self.get(p.id).status]
        self.assertEqual(states.count(State.ABORTED), 1, states)

    # ---- retry

    def test_retry_of_a_failure_is_a_new_ready_run_with_retry_of(self):
        self.start()
        ev = event("retry", type="com.example.fail")
        old = self.stub.Dispatch(ev).pipelines[0]
        old = self.wait_state(old.id, FINAL)
        self.assertEqual(old.status[-1].state, State.FAILURE)
        new = self.retry(old.id)
        self.assertNotEqual(new.id, old.id)
        self.assertEqual(new.name, old.name)
        self.assertEqual(new.parent, old.parent)
        self.assertEqual(new.status[0].state, State.READY)
        self.assertEqual([x.name for x in new.parameters], [x.name for x in old.parameters])
        self.assertEqual(param(new, "id"), [new.id])
        self.assertEqual(param(new, "event"), param(old, "event"))
        self.assertEqual(tags(new), tags(old) + [("retry_of", old.id)])
        # It runs: the stand-in sees the new id and the same event.
        done = self.wait_state(new.id, FINAL)
        self.assertIn(State.STARTED, [s.state for s in done.status])
        with open(os.path.join(self.record_dir, new.id + ".json")) as f:
            rec = json.load(f)
        self.assertEqual(rec["params"]["id"], new.id)
        self.assertEqual(rec["params"]["event"], param(old, "event")[0])
        # A retry of the retry names only the pipeline it retries.
        again = self.retry(new.id)
        self.assertEqual([v for k, v in tags(again) if k == "retry_of"], [new.id])

    def test_retry_of_a_run_not_ended_or_unknown_is_refused(self):
        self.start(runner="none")
        p = self.stub.Dispatch(event("notyet")).pipelines[0]
        with self.assertRaises(grpc.RpcError) as err:
            self.retry(p.id)
        self.assert_status(err, grpc.StatusCode.FAILED_PRECONDITION, "has not ended (READY)")
        with self.assertRaises(grpc.RpcError) as err:
            self.retry("00000000-0000-4000-8000-000000000000")
        self.assert_status(err, grpc.StatusCode.NOT_FOUND)

    def test_retry_of_a_child_keeps_its_parent_and_parameters(self):
        self.start(runner="none")
        parent = self.stub.Dispatch(event("parent")).pipelines[0]
        child = self.stub.CreatePipeline(pb.CreatePipelineRequest(
            name="child_pipeline", parent=parent.id,
            parameters=[pb.Parameter(name="b", value="2"), pb.Parameter(name="a", value="1")],
            tags=[pb.Tag(key="owner", value="me")]))
        self.cancel(child.id)
        new = self.retry(child.id)
        self.assertEqual(new.parent, parent.id)
        self.assertEqual([(x.name, x.value) for x in new.parameters], [("b", "2"), ("a", "1")])
        self.assertEqual(tags(new), [("owner", "me"), ("retry_of", child.id)])


if __name__ == "__main__":
    unittest.main()

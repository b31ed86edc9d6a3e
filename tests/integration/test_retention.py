"""Retention (--retain DAYS) with the real kedro-eventd, driven by grpcio: runs of the Kedro
stand-in that ended, a READY backlog behind a long run (--max-runs 1), and parent -> child
chains; with a tiny --retain exactly the old ended records, their run files and logs go, the
READY and STARTED ones stay, and a parent stays while its child lives. A benchmark prints
Dispatch latency while a sweep removes 20,000 old ended rows, against the same without it."""

import os
import sqlite3
import statistics
import tempfile
import time
import unittest
import uuid

import grpc

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
RETAIN = "0.0001"  # days: about 8.6 s
CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
    "hang": {"source": "example.com", "type": "com.example.hang",
             "parameters": {"sleep": "60"}},
}


def event(eid, type="com.example.event"):
    return ce.CloudEvent(id=eid, source="example.com", spec_version="1.0", type=type,
                         text_data='{"x": 1}')


class RetentionTest(unittest.TestCase):
    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            self.server.__exit__(None, None, None)

    def start(self, args, runner="local"):
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        extra = ["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project,
                 "--max-runs", "1"] if runner == "local" else []
        self.server = harness.Server(config=CONFIG, runner=runner, args=extra + list(args))
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def gone(self, pid):
        try:
            self.get(pid)
            return False
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND)
            return True

    def state(self, pid):
        return self.get(pid).status[-1].state

    def wait_state(self, pid, states, timeout=60):
        self.assertTrue(harness.wait_until(lambda: self.state(pid) in states, timeout, 0.05),
                        self.server.stderr())

    def files(self, pid):
        d = self.server.data_dir
        return [os.path.join(d, "runs", pid + ".yml"), os.path.join(d, "logs", pid + ".log")]

    def test_removes_exactly_the_old_ended_records_their_files_and_keys(self):
        self.start(["--retain", RETAIN])
        dispatch = lambda eid, t="com.example.event": self.stub.Dispatch(event(eid, t))
        ok1 = dispatch("ok1").pipelines[0].id
        fail1 = dispatch("fail1", "com.example.fail").pipelines[0].id
        ok2 = dispatch("ok2").pipelines[0].id
        for pid in (ok1, fail1, ok2):
            self.wait_state(pid, FINAL)
        child2 = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="event00",
                                                                   parent=ok2)).id
        self.wait_state(child2, FINAL)
        ended = [fail1, ok2, child2]
        for pid in ended + [ok1]:
            for path in self.files(pid):
                self.assertTrue(os.path.exists(path), path)
        # The one runner slot is held by a long run: what comes next stays READY.
        hang = dispatch("hang", "com.example.hang").pipelines[0].id
        self.wait_state(hang, (State.STARTED,) + FINAL)
        self.assertEqual(self.state(hang), State.STARTED, self.get(hang))
        ready = dispatch("ready1").pipelines[0].id
        child1 = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="event00",
                                                                   parent=ok1)).id
        self.assertEqual(self.state(ready), State.READY)
        self.assertEqual(self.state(child1), State.READY)

        self.assertTrue(harness.wait_until(lambda: all(self.gone(p) for p in ended), 40, 0.2),
                        self.server.stderr())
        for pid in ended:
            for path in self.files(pid):
                self.assertFalse(os.path.exists(path), path)
        # Old enough too, but: ok1 has a living child; the others have not ended.
        time.sleep(3)
        self.assertEqual(self.state(ok1), State.SUCCESS)
        self.assertEqual(self.state(hang), State.STARTED)
        self.assertEqual(self.state(ready), State.READY)
        self.assertEqual(self.state(child1), State.READY)
        self.assertEqual(self.get(child1).parent, ok1)
        for path in self.files(ok1) + self.files(hang):
            self.assertTrue(os.path.exists(path), path)
        # A key goes with its last pipeline: resent, the event starts a new run; ok1's key
        # stays and still dedupes.
        again = dispatch("fail1", "com.example.fail")
        self.assertFalse(again.duplicate)
        self.assertNotEqual(again.pipelines[0].id, fail1)
        dup = dispatch("ok1")
        self.assertTrue(dup.duplicate)
        self.assertEqual(dup.pipelines[0].id, ok1)
        self.assertRegex(self.server.stderr(),
                         r"retention: removed \d+ pipeline\(s\), \d+ file\(s\) and \d+ event")
        self.assertEqual(self.server.stop(), 0)

    def test_refuses_a_retain_that_is_not_a_positive_decimal(self):
        for bad in ("0", "-1", "abc", "1e3", "", "40000"):
            p = harness.subprocess.run([harness.EVENTD, "--retain", bad], capture_output=True,
                                       text=True)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--retain", p.stderr)
        p = harness.subprocess.run([harness.EVENTD, "--help"], capture_output=True, text=True)
        self.assertIn("--retain DAYS", p.stdout)


N_OLD = 20000


def seed_old_rows(data_dir, n):
    """Writes n SUCCESS pipelines that ended 10 days ago, each with an event key, straight
    into a database the server made (the records a long-running server would have)."""
    db = sqlite3.connect(os.path.join(data_dir, "kedro-events.db"))
    old = int((time.time() - 10 * 86400) * 1e6)
    base = db.execute("SELECT coalesce(max(seq), 0) FROM pipelines").fetchone()[0]
    with db:
        for i in range(1, n + 1):
            seq = base + i
            db.execute("INSERT INTO pipelines (seq, id, name, params, tags, created_at, state)"
                       " VALUES (?, ?, 'event00', '[]', '[]', ?, 4)",
                       (seq, str(uuid.uuid4()), old))
            db.execute("INSERT INTO status (pipeline, n, state, changed_at) VALUES (?, 0, 2, ?)",
                       (seq, old))
            db.execute("INSERT INTO status (pipeline, n, state, changed_at, finished_at)"
                       " VALUES (?, 1, 4, ?, ?)", (seq, old, old))
            db.execute("INSERT INTO events (source, id, first_seq, count, received_at)"
                       " VALUES ('bench', ?, ?, 1, ?)", ("old-%d" % i, seq, old))
    db.close()


def count_old(data_dir):
    """Pipelines created more than 5 days ago (the seeded ones)."""
    db = sqlite3.connect(os.path.join(data_dir, "kedro-events.db"))
    try:
        return db.execute("SELECT count(*) FROM pipelines WHERE created_at < ?",
                          (int((time.time() - 5 * 86400) * 1e6),)).fetchone()[0]
    finally:
        db.close()


class RetentionBenchmark(unittest.TestCase):
    def measure(self, args, data_dir, until=None, n_min=200):
        """Dispatches one event at a time; returns latencies (ms) and the server's stderr."""
        server = harness.Server(config=CONFIG, runner="none", args=args, data_dir=data_dir)
        lat = []
        try:
            stub = rpc.EventServiceStub(server.channel())
            tag = uuid.uuid4().hex
            i = 0
            while i < n_min or (until is not None and not until()):
                t0 = time.perf_counter()
                stub.Dispatch(event("%s-%d" % (tag, i)))
                lat.append((time.perf_counter() - t0) * 1000)
                i += 1
                self.assertLess(i, 200000)
            self.assertEqual(server.stop(), 0)
            return lat, server.stderr()
        finally:
            server.__exit__(None, None, None)

    def test_dispatch_keeps_answering_during_a_sweep_of_many_rows(self):
        work = tempfile.mkdtemp(prefix="ke-retention-bench-")
        data = os.path.join(work, "data")
        base, _ = self.measure([], data, n_min=20)  # creates the database
        seed_old_rows(data, N_OLD)
        base, _ = self.measure([], data, n_min=500)
        self.assertEqual(count_old(data), N_OLD)
        t0 = time.monotonic()
        during, err = self.measure(["--retain", "1"], data,
                                   until=lambda: count_old(data) == 0, n_min=50)
        swept_s = time.monotonic() - t0
        self.assertEqual(count_old(data), 0)

        def q(xs, p):
            xs = sorted(xs)
            return xs[min(len(xs) - 1, int(p * len(xs)))]
        print("\nretention benchmark: %d old ended rows swept in about %.1f s" % (N_OLD, swept_s))
        print("  Dispatch latency without a sweep: n=%d p50 %.2f ms p99 %.2f ms"
              % (len(base), statistics.median(base), q(base, 0.99)))
        print("  Dispatch latency during the sweep: n=%d p50 %.2f ms p99 %.2f ms"
              % (len(during), statistics.median(during), q(during, 0.99)))
        self.assertIn("retention: removed", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

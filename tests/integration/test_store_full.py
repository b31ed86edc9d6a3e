"""--max-store-bytes: events are dispatched until kedro-eventd's database reaches its cap. Every
answer is OK or RESOURCE_EXHAUSTED "store full: ..." naming the cap and the data dir; what was
acknowledged stays readable and a retry of it is answered as a duplicate; the runs already
accepted still start and finish (their statuses commit past the cap) with the Kedro stand-in;
the database file stays near the cap; after a restart with a larger cap the server accepts
again."""

import os
import shutil
import unittest

import grpc

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
CAP = 1 << 20  # KE_STORE_MIN_MAX_BYTES, the smallest cap
RAISED = 4 << 20
# The statuses of runs already accepted may pass the cap: a few hundred bytes per run, plus
# its error text; the pages SQLite adds for them are counted here.
SLACK = 128 << 10
DATA = 24 << 10  # 32 KiB as base64 in each run's `event` parameter
CONFIG = {"slow": {"source": "example.com", "type": "com.example.slow",
                   "parameters": {"sleep": "0.2"}}}
FULL = "store full: "


def event(i):
    return ce.CloudEvent(id="fill-%d" % i, source="example.com", spec_version="1.0",
                         type="com.example.slow", binary_data=bytes([i % 251]) * DATA)


class StoreFullTest(unittest.TestCase):
    def start(self, cap):
        self.server = harness.Server(
            config=CONFIG, runner="local", cwd=self.workdir, data_dir=self.data_dir,
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project,
                  "--max-runs", "2", "--max-store-bytes", str(cap)])
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def stop(self):
        self.channel.close()
        self.assertEqual(self.server.stop(), 0, self.server.stderr())

    def setUp(self):
        self.workdir = harness.tempfile.mkdtemp(prefix="ke-full-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.data_dir = os.path.join(self.workdir, "data")
        self.project = os.path.join(self.workdir, "project")
        os.mkdir(self.project)

    def assert_full(self, e):
        self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, e.details())
        self.assertTrue(e.details().startswith(FULL), e.details())
        self.assertIn("--max-store-bytes %d" % CAP, e.details())
        self.assertIn(self.data_dir, e.details())

    def wait_final(self, ids):
        def done():
            return all(self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1].state
                       in (State.SUCCESS, State.FAILURE) for i in ids)
        self.assertTrue(harness.wait_until(done, timeout=120, step=0.1), self.server.stderr())

    def test_fills_to_the_cap_keeps_what_it_acknowledged_and_accepts_again_when_raised(self):
        self.start(CAP)
        accepted, refused, i = {}, 0, 0
        while refused < 5:
            self.assertLess(i, 200, "the cap never answered")
            try:
                (p,) = self.stub.Dispatch(event(i)).pipelines
                accepted[i] = p.id
            except grpc.RpcError as e:
                self.assert_full(e)
                refused += 1
            i += 1
        self.assertGreater(len(accepted), 5)
        # Past the cap: a batch and CreatePipeline are refused the same way.
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.DispatchBatch(ce.CloudEventBatch(events=[event(1000), event(1001)]))
        self.assert_full(cm.exception)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreatePipeline(pb.CreatePipelineRequest(
                name="slow", parent=accepted[0],
                parameters=[pb.Parameter(name="blob", value="x" * (2 * DATA))]))
        self.assert_full(cm.exception)
        # A sender retrying an acknowledged event gets its pipeline back.
        first = min(accepted)
        r = self.stub.Dispatch(event(first))
        self.assertTrue(r.duplicate)
        self.assertEqual([p.id for p in r.pipelines], [accepted[first]])
        # Runs accepted before the cap still run, and their statuses commit.
        self.wait_final(accepted.values())
        for n, pid in accepted.items():
            p = self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))
            self.assertEqual([s.state for s in p.status],
                             [State.READY, State.STARTED, State.SUCCESS], (n, p))
        self.stop()
        size = os.path.getsize(os.path.join(self.data_dir, "kedro-events.db"))
        print("store: %d events accepted, %d refused; database %d bytes (cap %d)"
              % (len(accepted), refused, size, CAP), flush=True)
        self.assertLessEqual(size, CAP + SLACK)

        self.start(RAISED)
        (p,) = self.stub.Dispatch(event(i)).pipelines
        for pid in accepted.values():
            got = self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))
            self.assertEqual(got.status[-1].state, State.SUCCESS)
        self.wait_final([p.id])
        self.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

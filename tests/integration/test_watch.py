"""WatchPipeline and WatchPipelines (issue 12, scope 4) from grpcio against the real
kedro-eventd: records of runs the Kedro stand-in executes, filters, many watchers, a watcher
that never reads, and streams open at shutdown."""

import os
import signal
import subprocess
import threading
import unittest
import uuid

import grpc

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "audit": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
    "slow": {"source": "example.com", "type": "com.example.slow",
             "parameters": {"sleep": "1"}},
}


def event(i, type="com.example.event", text="{}"):
    return ce.CloudEvent(id="w-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data=text)


class Reader(threading.Thread):
    """Reads a stream to its end in the background: records, then the final status."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.records = []
        self.code = None
        self.details = None
        self.got = threading.Event()
        self.start()

    def run(self):
        try:
            for r in self.stream:
                self.records.append(r)
                self.got.set()
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code, self.details = e.code(), e.details()


class WatchBase(unittest.TestCase):
    def start(self, runner="none", args=()):
        extra = list(args)
        if runner == "local":
            import tempfile
            extra += ["--kedro-bin", harness.KEDRO_STANDIN,
                      "--kedro-project", tempfile.mkdtemp(prefix="ke-project-")]
        self.server = harness.Server(config=CONFIG, runner=runner, args=extra)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            self.server.__exit__(None, None, None)


    def _until_registered(self, readers, n=0):
        """Dispatches events until every reader has a record (so it is registered), and
        returns the next event number."""
        def all_got():
            return all(r.got.is_set() for r in readers)
        i = n
        while not all_got():
            self.stub.Dispatch(event("warm-%d" % i))
            i += 1
            harness.wait_until(all_got, timeout=0.2)
            self.assertLess(i, 200, "watchers never received a record")
        return i


class WatchTest(WatchBase):
    def test_watch_pipeline_sees_every_state_in_order_and_ends_ok(self):
        self.start(runner="local")
        pid = self.stub.Dispatch(event("slow", "com.example.slow")).pipelines[0].id
        records = list(self.stub.WatchPipeline(pb.WatchPipelineRequest(id=pid)))  # ends OK
        current = [r.status[-1].state for r in records]
        self.assertEqual(current, sorted(current), current)  # never back in time
        self.assertEqual(current[-1], State.SUCCESS)
        self.assertIn(State.STARTED, current)  # the run takes a second: seen live
        history = [s.state for s in records[-1].status]
        self.assertEqual(history, [State.READY, State.STARTED, State.SUCCESS])
        self.assertTrue(all(r.id == pid and r.name == "slow" for r in records))

    def test_watch_of_an_ended_run_answers_one_record_and_ends(self):
        self.start(runner="local")
        pid = self.stub.Dispatch(event("f", "com.example.fail")).pipelines[0].id
        first = list(self.stub.WatchPipeline(pb.WatchPipelineRequest(id=pid)))
        self.assertEqual(first[-1].status[-1].state, State.FAILURE)
        again = list(self.stub.WatchPipeline(pb.WatchPipelineRequest(id=pid)))
        self.assertEqual(len(again), 1)
        self.assertEqual(again[0].status[-1].state, State.FAILURE)

    def test_unknown_and_empty_ids_are_refused(self):
        self.start()
        for req, code in ((pb.WatchPipelineRequest(id=str(uuid.uuid4())),
                           grpc.StatusCode.NOT_FOUND),
                          (pb.WatchPipelineRequest(id="nope"), grpc.StatusCode.NOT_FOUND),
                          (pb.WatchPipelineRequest(id=""), grpc.StatusCode.INVALID_ARGUMENT)):
            with self.assertRaises(grpc.RpcError) as cm:
                list(self.stub.WatchPipeline(req))
            self.assertEqual(cm.exception.code(), code, cm.exception.details())

class WatchFilterTest(WatchBase):
    def test_watch_pipelines_filters_by_name_while_others_flow(self):
        self.start()
        fails = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest(name="fail_pipeline")))
        everything = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest()))
        self._until_registered([everything])
        # fail_pipeline records are the only ones the first watcher may see: register it by one
        self.stub.Dispatch(event("f0", "com.example.fail"))
        self.assertTrue(fails.got.wait(10))
        ids = set()
        for i in range(5):
            self.stub.Dispatch(event("other-%d" % i))
            ids.add(self.stub.Dispatch(event("f-%d" % i, "com.example.fail")).pipelines[0].id)
        self.assertTrue(harness.wait_until(
            lambda: ids <= {r.id for r in fails.records}, timeout=10))
        fails.stream.cancel()
        everything.stream.cancel()
        self.assertEqual({r.name for r in fails.records}, {"fail_pipeline"})
        self.assertEqual(len(fails.records), 6)
        self.assertTrue({"event00", "audit", "fail_pipeline"}
                        <= {r.name for r in everything.records})

    def test_watch_pipelines_state_filter_means_changes_into_it(self):
        self.start(runner="local")
        done = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest(state=State.SUCCESS)))
        started = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest(state=State.STARTED)))
        self._until_registered([done, started])
        ok = {p.id for p in self.stub.Dispatch(event("s")).pipelines}
        bad = self.stub.Dispatch(event("b", "com.example.fail")).pipelines[0].id
        self.assertTrue(harness.wait_until(
            lambda: ok <= {r.id for r in done.records}
            and (ok | {bad}) <= {r.id for r in started.records}, timeout=30))
        self.assertTrue(harness.wait_until(
            lambda: self.stub.GetPipeline(pb.GetPipelineRequest(id=bad)).status[-1].state
            == State.FAILURE, timeout=30))
        done.stream.cancel()
        started.stream.cancel()
        self.assertNotIn(bad, {r.id for r in done.records})
        for r in done.records:
            self.assertIn(State.SUCCESS, [s.state for s in r.status])
        for r in started.records:
            self.assertIn(State.STARTED, [s.state for s in r.status])

    def test_two_hundred_watchers_all_get_their_records(self):
        self.start(args=["--max-streams", "300"])
        # HTTP/2 lets one connection carry 100 calls at once: 4 channels of 50 watchers
        channels = [self.server.channel(**{"grpc.use_local_subchannel_pool": 1})
                    for _ in range(4)]
        readers = []
        for k in range(200):
            stub = rpc.EventServiceStub(channels[k % 4])
            if k % 2:
                readers.append(Reader(stub.WatchPipelines(pb.WatchPipelinesRequest(
                    name="audit"))))
            else:
                readers.append(Reader(stub.WatchPipelines(pb.WatchPipelinesRequest())))
        self._until_registered(readers)
        marker = self.stub.Dispatch(event("marker")).pipelines
        audit = [p.id for p in marker if p.name == "audit"][0]
        want = {p.id for p in marker}
        self.assertTrue(harness.wait_until(
            lambda: all((want if k % 2 == 0 else {audit}) <= {x.id for x in r.records}
                        for k, r in enumerate(readers)), timeout=30))
        for r in readers:
            r.stream.cancel()
        for c in channels:
            c.close()
        self.assertTrue(self.server.alive())

    def test_a_watcher_that_never_reads_is_ended_and_the_server_stays_fine(self):
        self.start()
        lazy_channel = self.server.channel(**{"grpc.http2.bdp_probe": 0})
        lazy = rpc.EventServiceStub(lazy_channel).WatchPipelines(pb.WatchPipelinesRequest())
        reader = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest(name="audit")))
        first = threading.Event()
        threading.Thread(target=lambda: (next(lazy), first.set()), daemon=True).start()
        self._until_registered([reader, type("R", (), {"got": first})])
        # registered and read once; from now on nobody reads it
        big = '{"pad": "%s"}' % ("x" * 60000)  # each record carries its ~60 KB event
        for i in range(60):
            self.stub.DispatchBatch(ce.CloudEventBatch(
                events=[event("big-%d-%d" % (i, k), text=big) for k in range(4)]))
        # the hub ended it; reading now drains what was in flight, then the status
        with self.assertRaises(grpc.RpcError) as cm:
            for _ in lazy:
                pass
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("watcher too slow", cm.exception.details())
        lazy_channel.close()
        # the server and the other watcher go on
        last = self.stub.Dispatch(event("after")).pipelines
        audit = [p.id for p in last if p.name == "audit"][0]
        self.assertTrue(harness.wait_until(
            lambda: audit in {r.id for r in reader.records}, timeout=10))
        reader.stream.cancel()

    def test_shutdown_ends_open_watches_unavailable_within_the_grace(self):
        self.start(args=["--shutdown-grace", "5"])
        all_ = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest()))
        pid = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="event00")).id
        one = Reader(self.stub.WatchPipeline(pb.WatchPipelineRequest(id=pid)))
        self.assertTrue(one.got.wait(10))
        self._until_registered([all_])
        self.assertEqual(self.server.stop(timeout=20), 0)
        all_.join(10)
        one.join(10)
        self.assertEqual(all_.code, grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(one.code, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("shutting down", one.details)

    def test_max_streams_refuses_past_the_bound(self):
        self.start(args=["--max-streams", "2"])
        a = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest()))
        b = Reader(self.stub.WatchPipelines(pb.WatchPipelinesRequest()))
        self._until_registered([a, b])
        with self.assertRaises(grpc.RpcError) as cm:
            next(self.stub.WatchPipelines(pb.WatchPipelinesRequest()))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("--max-streams", cm.exception.details())
        # unary calls are not counted with streams
        self.assertTrue(self.stub.Dispatch(event("unary")).pipelines)
        a.stream.cancel()
        b.stream.cancel()


class CliWatchTest(WatchBase):
    """kedro-events watch, both forms, on the streams."""

    def test_cli_watch_id_prints_each_state_and_exits_0(self):
        self.start(runner="local")
        pid = self.stub.Dispatch(event("cli", "com.example.slow")).pipelines[0].id
        r = subprocess.run([CLI, "watch", pid, "--target", self.server.target],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        states = [line.split()[1] for line in r.stdout.decode().splitlines()]
        self.assertEqual(states, ["READY", "STARTED", "SUCCESS"])

    def test_cli_watch_all_prints_matching_changes_until_interrupted(self):
        self.start()
        p = subprocess.Popen([CLI, "watch", "--all", "--name", "audit", "--target",
                              self.server.target], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = []
        # the CLI's stream is registered once a record reaches it: send until one does
        reader = threading.Thread(target=lambda: seen.extend(
            iter(p.stdout.readline, b"")), daemon=True)
        reader.start()
        i = 0
        while not seen and i < 100:
            self.stub.Dispatch(event("cli-all-%d" % i))
            i += 1
            harness.wait_until(lambda: seen, timeout=0.2)
        last = [x for x in self.stub.Dispatch(event("cli-last")).pipelines if x.name == "audit"]
        self.assertTrue(harness.wait_until(
            lambda: any(last[0].id.encode() in line for line in seen), timeout=10))
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=10), 130)
        reader.join(5)
        for line in seen:
            pid, name, state = line.decode().rstrip("\n").split("\t")
            self.assertEqual((name, state), ("audit", "READY"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

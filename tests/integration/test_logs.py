"""StreamLogs against the real kedro-eventd with Python's grpcio: a finished run's log whole and
its last lines, following a run whose Kedro stand-in node prints lines over a few seconds (every
byte, in order, and the stream ends when the run ends), a run still READY when the follow starts,
the errors (unknown id, bad tail, no log yet), and a client that leaves mid-follow (its stream
ends on the server: --max-streams 1 lets the next one in)."""

import os
import tempfile
import threading
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
LINES = 30

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    # 30 lines, 0.1 s apart: about 3 s of output while the run is STARTED.
    "chatty": {"source": "example.com", "type": "com.example.chatty",
               "parameters": {"lines": str(LINES), "line_every": "0.1"}},
    "slow": {"source": "example.com", "type": "com.example.slow",
             "parameters": {"sleep": "2"}},
    "hang": {"source": "example.com", "type": "com.example.hang",
             "parameters": {"sleep": "60"}},
}


def event(i, type="com.example.event"):
    return ce.CloudEvent(id="logs-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data='{"i": 1}')


class LogsTest(unittest.TestCase):
    def start(self, extra=(), max_runs=4, runner="local"):
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        args = ["--max-runs", str(max_runs)] + list(extra)
        if runner == "local":
            args = ["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project] + args
        self.server = harness.Server(config=CONFIG, runner=runner, args=args)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            status = self.server.stop()
            self.assertEqual(status, 0, self.server.stderr())
            if os.environ.get("KE_SANITIZED") == "1":
                self.assertNotIn("ERROR: AddressSanitizer", self.server.stderr())
                self.assertNotIn("ERROR: LeakSanitizer", self.server.stderr())

    def state(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid)).status[-1].state

    def wait_final(self, pid, timeout=60):
        self.assertTrue(harness.wait_until(lambda: self.state(pid) in FINAL, timeout=timeout,
                                           step=0.05), self.server.stderr())

    def log_file(self, pid):
        with open(os.path.join(self.server.data_dir, "logs", pid + ".log"), "rb") as f:
            return f.read()

    def stream(self, pid, follow=False, tail=0):
        return self.stub.StreamLogs(pb.StreamLogsRequest(id=pid, follow=follow, tail_lines=tail),
                                    timeout=60)

    def test_finished_run_whole_log_and_its_last_lines(self):
        self.start()
        pid = self.stub.Dispatch(event("whole", "com.example.chatty")).pipelines[0].id
        self.wait_final(pid)
        on_disk = self.log_file(pid)
        self.assertIn(b"chatty line %d of %d\n" % (LINES, LINES), on_disk)
        chunks = [c.data for c in self.stream(pid)]
        self.assertEqual(b"".join(chunks), on_disk)
        tail = b"".join(c.data for c in self.stream(pid, tail=3))
        self.assertEqual(tail, b"".join(on_disk.splitlines(keepends=True)[-3:]))
        self.assertEqual(len(tail.splitlines()), 3)
        # More lines than the log has: all of it.
        self.assertEqual(b"".join(c.data for c in self.stream(pid, tail=100000)), on_disk)

    def test_follow_sends_lines_as_written_and_ends_with_the_run(self):
        self.start()
        pid = self.stub.Dispatch(event("follow", "com.example.chatty")).pipelines[0].id
        got, states_at_chunk = [], []
        for c in self.stream(pid, follow=True):
            got.append(c.data)
            if b"chatty line 1 of" in b"".join(got) and not states_at_chunk:
                states_at_chunk.append(self.state(pid))
        # The stream ended by itself: the run has ended and every byte came, in order.
        self.assertIn(self.state(pid), FINAL)
        self.assertEqual(self.state(pid), State.SUCCESS)
        self.assertEqual(b"".join(got), self.log_file(pid))
        # Lines arrived while the run was still going, not at its end.
        self.assertEqual(states_at_chunk, [State.STARTED])
        self.assertGreater(len(got), 1)
        text = b"".join(got).decode()
        idx = [text.index("chatty line %d of %d\n" % (i, LINES)) for i in range(1, LINES + 1)]
        self.assertEqual(idx, sorted(idx))

    def test_follow_of_a_ready_run_waits_for_it(self):
        self.start(max_runs=1)
        first = self.stub.Dispatch(event("first", "com.example.slow")).pipelines[0].id
        self.assertTrue(harness.wait_until(lambda: self.state(first) == State.STARTED))
        pid = self.stub.Dispatch(event("queued", "com.example.chatty")).pipelines[0].id
        self.assertEqual(self.state(pid), State.READY)
        got = [c.data for c in self.stream(pid, follow=True, tail=5)]
        self.assertEqual(self.state(pid), State.SUCCESS)
        # A READY run has no log: the tail applies to nothing, so everything is sent.
        self.assertEqual(b"".join(got), self.log_file(pid))
        self.assertIn(b"chatty line 1 of %d\n" % LINES, b"".join(got))

    def test_errors_name_the_problem(self):
        self.start(runner="none")
        pid = self.stub.Dispatch(event("ready")).pipelines[0].id
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stream("00000000-0000-4000-8000-000000000000"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stream(pid, tail=-1))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("tail_lines -1", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stream(pid, tail=100001))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("0..100000", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stream(""))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # READY, no log yet, no follow: OK without a chunk.
        self.assertEqual(list(self.stream(pid)), [])

    def test_client_leaving_mid_follow_ends_the_servers_stream(self):
        self.start(extra=["--max-streams", "1", "--shutdown-grace", "1"])
        pid = self.stub.Dispatch(event("leave", "com.example.hang")).pipelines[0].id
        self.assertTrue(harness.wait_until(
            lambda: b"Using pipeline" in self._log_or_empty(pid)))
        call = self.stream(pid, follow=True)
        first = next(call)
        self.assertIn(b"Kedro project stand-in", first.data)
        # One stream at a time: a second one is refused while the first is open.
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stream(pid))
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        call.cancel()
        # The server ended the follower: a new stream gets in (the run is still going).
        done = threading.Event()

        def try_again():
            try:
                data = b"".join(c.data for c in self.stream(pid))
                done.set()
                return data
            except grpc.RpcError:
                return None
        self.assertTrue(harness.wait_until(lambda: try_again() is not None, timeout=10))
        self.assertEqual(self.state(pid), State.STARTED)

    def _log_or_empty(self, pid):
        try:
            return self.log_file(pid)
        except FileNotFoundError:
            return b""


if __name__ == "__main__":
    unittest.main()

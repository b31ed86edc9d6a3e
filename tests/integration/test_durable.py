"""Durability of accepted events (DESIGN.md 3.6): records in SQLite survive a
restart and a kill -9 right after an acknowledged burst; a (source, id) seen
before starts nothing, also after a restart; STARTED runs left by a dead
server are marked FAILURE, or READY again with --requeue-interrupted."""

import os
import signal
import threading
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State


def event(i, source="example.com"):
    return ce.CloudEvent(id="evt-%s" % i, source=source, spec_version="1.0",
                         type="com.example.event", text_data='{"n": %s}' % repr(i))


def list_all(stub, **filters):
    out, token = [], ""
    while True:
        page = stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000, page_token=token,
                                                          **filters))
        out += page.pipelines
        token = page.next_page_token
        if not token:
            return out


def runs_of(data_dir):
    """Pids of processes whose command line names a run file under data_dir."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if (data_dir + "/runs/").encode() in cmd:
            pids.append(int(pid))
    return pids


class DurableTest(unittest.TestCase):
    def test_records_and_dedupe_survive_a_restart(self):
        first = harness.Server()
        with first.channel() as ch:
            answer = rpc.EventServiceStub(ch).Dispatch(event("r1"))
        self.assertEqual(first.stop(), 0)
        second = harness.Server(data_dir=first.data_dir)
        with second.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            again = stub.Dispatch(event("r1"))
            self.assertTrue(again.duplicate)
            self.assertEqual([p.id for p in again.pipelines], [p.id for p in answer.pipelines])
            got = stub.GetPipeline(pb.GetPipelineRequest(id=answer.pipelines[0].id))
            self.assertEqual(got.name, "event00")
            self.assertEqual(len(list_all(stub)), 1)
        self.assertEqual(second.stop(), 0)

    def test_kill_9_right_after_an_acknowledged_burst_loses_nothing(self):
        server = harness.Server()
        acked, errors = [], []
        lock = threading.Lock()

        def send(start):
            with server.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                for i in range(start, start + 50):
                    try:
                        r = stub.Dispatch(event("k%d" % i), timeout=30)
                        with lock:
                            acked.extend(p.id for p in r.pipelines)
                    except grpc.RpcError as e:  # noqa: PERF203
                        errors.append(e)
        threads = [threading.Thread(target=send, args=(n * 50,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(acked), 400)
        server.proc.kill()  # SIGKILL: no shutdown code runs
        server.proc.wait()
        server.stop()
        after = harness.Server(data_dir=server.data_dir)
        with after.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            stored = {p.id: p for p in list_all(stub)}
            for pid in acked:
                self.assertIn(pid, stored)
                self.assertEqual(stored[pid].status[-1].state, State.READY)
            # and a sender's retry of any of them is a duplicate
            self.assertTrue(stub.Dispatch(event("k7")).duplicate)
        self.assertEqual(after.stop(), 0)

    def test_concurrent_dispatches_commit_together_and_all_answer(self):
        with harness.Server() as server:
            results = []

            def send(n):
                with server.channel() as ch:
                    stub = rpc.EventServiceStub(ch)
                    futures = [stub.Dispatch.future(event("c%d-%d" % (n, i)))
                               for i in range(100)]
                    results.extend(f.result(timeout=60) for f in futures)
            threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(len(results), 400)
            self.assertTrue(all(len(r.pipelines) == 1 and not r.duplicate for r in results))
            self.assertEqual(server.stop(), 0)

    def test_store_in_an_unusable_directory_refuses_to_start_naming_it(self):
        import subprocess
        import tempfile
        blocker = tempfile.NamedTemporaryFile(delete=False)
        r = subprocess.run([harness.EVENTD, "--listen", "127.0.0.1:0", "--data-dir",
                            blocker.name + "/sub"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn(blocker.name, r.stderr)


class RecoveryTest(unittest.TestCase):
    def _leave_started_runs(self):
        """A server whose runs hang (the stand-in sleeps) is killed with -9 while they are
        STARTED; returns its data dir and the ids."""
        server = harness.Server(runner="local", args=[
            "--kedro-bin", harness.KEDRO_STANDIN, "--max-runs", "2"],
            env={"KEDRO_STANDIN_SLEEP": "60"})
        with server.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            ids = [stub.Dispatch(event("s%d" % i)).pipelines[0].id for i in range(3)]
            self.assertTrue(harness.wait_until(
                lambda: len(list_all(stub, state=State.STARTED)) == 2, timeout=20))
        self.assertTrue(runs_of(server.data_dir))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.stop()
        # Children die with the server: no orphaned `kedro run` is left.
        self.assertTrue(harness.wait_until(lambda: not runs_of(server.data_dir), timeout=10))
        return server.data_dir, ids

    def test_runs_left_started_by_a_dead_server_are_marked_failure(self):
        data_dir, ids = self._leave_started_runs()
        with harness.Server(data_dir=data_dir) as after:
            with after.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                failed = list_all(stub, state=State.FAILURE)
                self.assertEqual(len(failed), 2)
                self.assertIn("interrupted", failed[0].status[-1].error)
                self.assertEqual(len(list_all(stub, state=State.READY)), 1)
            self.assertEqual(after.stop(), 0)

    def test_requeue_interrupted_puts_them_back_to_ready(self):
        data_dir, ids = self._leave_started_runs()
        with harness.Server(data_dir=data_dir, args=["--requeue-interrupted"]) as after:
            with after.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                self.assertEqual(len(list_all(stub, state=State.READY)), 3)
                self.assertEqual(len(list_all(stub, state=State.FAILURE)), 0)
            self.assertEqual(after.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

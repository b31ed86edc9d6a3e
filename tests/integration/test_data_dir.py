"""The data dir belongs to one kedro-eventd at a time, and to its user only: a second server on
a dir in use refuses to start naming the dir and the holder's pid (also with
--requeue-interrupted, which would otherwise re-run the holder's running pipeline); a holder
killed with -9 does not block the next start; the dir is 0700 and the database, WAL, SHM and lock
files 0600 whatever the umask."""

import os
import signal
import stat
import subprocess
import tempfile
import unittest

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State


def event(i):
    return ce.CloudEvent(id="dd-%s" % i, source="example.com", spec_version="1.0",
                         type="com.example.event", text_data='{"n": 1}')


def second_server(data_dir, *args):
    """Runs another kedro-eventd on data_dir; returns (exit status, stderr)."""
    r = subprocess.run([harness.EVENTD, "--listen", "127.0.0.1:0", "--runner", "none",
                        "--data-dir", data_dir, "--events-config",
                        '{"event00": {"source": "example.com", "type": "com.example.event"}}']
                       + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class DataDirLockTest(unittest.TestCase):
    def test_second_server_on_a_dir_in_use_refuses_naming_the_dir_and_holder_pid(self):
        with harness.Server() as first:
            with first.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                pid = stub.Dispatch(event(1)).pipelines[0].id
                status, err = second_server(first.data_dir)
                self.assertNotEqual(status, 0)
                self.assertIn(first.data_dir, err)
                self.assertIn("pid %d" % first.proc.pid, err)
                self.assertNotIn("listening", err)
                # The holder is untouched and still serves.
                self.assertTrue(first.alive())
                self.assertEqual(stub.GetPipeline(pb.GetPipelineRequest(id=pid)).id, pid)
                self.assertFalse(stub.Dispatch(event(2)).duplicate)
            self.assertEqual(first.stop(), 0)

    def test_requeue_interrupted_does_not_rerun_a_live_servers_pipeline(self):
        first = harness.Server(runner="local", args=["--kedro-bin", harness.KEDRO_STANDIN],
                               env={"KEDRO_STANDIN_SLEEP": "60"})
        try:
            with first.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                pid = stub.Dispatch(event(3)).pipelines[0].id

                def started():
                    st = stub.GetPipeline(pb.GetPipelineRequest(id=pid)).status
                    return st[-1].state == State.STARTED
                self.assertTrue(harness.wait_until(started, timeout=20))
                status, err = second_server(first.data_dir, "--requeue-interrupted")
                self.assertNotEqual(status, 0)
                self.assertIn("pid %d" % first.proc.pid, err)
                history = [s.state for s in
                           stub.GetPipeline(pb.GetPipelineRequest(id=pid)).status]
                self.assertEqual(history, [State.READY, State.STARTED])
        finally:
            first.stop(timeout=60)

    def test_a_holder_killed_with_sigkill_does_not_block_the_next_start(self):
        first = harness.Server()
        with first.channel() as ch:
            pid = rpc.EventServiceStub(ch).Dispatch(event(4)).pipelines[0].id
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        first.stop()
        with harness.Server(data_dir=first.data_dir) as after:
            with after.channel() as ch:
                got = rpc.EventServiceStub(ch).GetPipeline(pb.GetPipelineRequest(id=pid))
                self.assertEqual(got.id, pid)
            self.assertEqual(after.stop(), 0)


class DataDirModeTest(unittest.TestCase):
    def test_dir_is_0700_and_its_files_0600_under_umask_0(self):
        old = os.umask(0)  # the server inherits it: it must set modes itself
        try:
            server = harness.Server()
        finally:
            os.umask(old)
        with server:
            with server.channel() as ch:
                rpc.EventServiceStub(ch).Dispatch(event(5))  # the WAL and SHM exist now
            d = server.data_dir
            self.assertEqual(mode(d), 0o700)
            for name in ("kedro-events.db", "kedro-events.db-wal", "kedro-events.db-shm",
                         "kedro-events.lock"):
                self.assertEqual(mode(os.path.join(d, name)), 0o600, name)
            self.assertEqual(server.stop(), 0)

    def test_an_existing_data_dir_left_open_is_tightened(self):
        first = harness.Server()
        with first.channel() as ch:
            rpc.EventServiceStub(ch).Dispatch(event(6))
        self.assertEqual(first.stop(), 0)
        d = first.data_dir
        os.chmod(d, 0o755)  # as an older server left them
        os.chmod(os.path.join(d, "kedro-events.db"), 0o644)
        with harness.Server(data_dir=d) as after:
            self.assertEqual(mode(d), 0o700)
            self.assertEqual(mode(os.path.join(d, "kedro-events.db")), 0o600)
            self.assertEqual(after.stop(), 0)

    def test_lock_file_names_the_holder(self):
        with harness.Server() as server:
            with open(os.path.join(server.data_dir, "kedro-events.lock")) as f:
                self.assertEqual(int(f.read().strip()), server.proc.pid)
            self.assertEqual(server.stop(), 0)

    def test_a_data_dir_that_cannot_be_locked_refuses_to_start(self):
        d = tempfile.mkdtemp(prefix="ke-lockdir-")
        os.mkdir(os.path.join(d, "kedro-events.lock"))  # not a file: cannot be opened to lock
        status, err = second_server(d)
        self.assertNotEqual(status, 0)
        self.assertIn(os.path.join(d, "kedro-events.lock"), err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""A run's whole process tree ends with the run, and kedro-eventd does not trust the signal
state it inherits. Each run of the Kedro stand-in (tests/stubs/kedro) leaves three `sleep 1000`
behind through KEDRO_STANDIN_BACKGROUND_DIR: a plain background child, a double-forked setsid'd
daemon and one that also ignores SIGTERM. None may outlive the run: after SUCCESS, FAILURE, a
timeout, a SIGTERM shutdown, and a `kill -9` of the server. /proc is polled with a generous
bound; no assertion is about how long anything took."""

import json
import os
import signal
import stat
import sys
import tempfile
import unittest

import harness
import leftovers

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
BOUND = 60  # seconds: the longest wait for anything (a run, a sleeper to go); never asserted

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
    "hang": {"source": "example.com", "type": "com.example.hang",
             "parameters": {"sleep": "600"}},
}

# Starts kedro-eventd with the signal state and umask asked for in KE_WRAP, as a careless parent
# (a shell, a supervisor, a CI runner) might hand them down.
WRAPPER = """#!%s
import os, signal, sys
real, wrap = os.environ.pop("KE_WRAP_EVENTD"), os.environ.pop("KE_WRAP").split(",")
if "ignore-sigchld" in wrap:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
if "block-all" in wrap:
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
if "umask-0" in wrap:
    os.umask(0)
os.execv(real, [real] + sys.argv[1:])
""" % sys.executable


def event(i, type="com.example.event"):
    return ce.CloudEvent(id="tree-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data="{}")



class ProcessTreeTest(unittest.TestCase):
    def start(self, extra=(), wrap=None):
        self.bg_dir = tempfile.mkdtemp(prefix="ke-bg-")
        self.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        project = tempfile.mkdtemp(prefix="ke-project-")
        env = {"KEDRO_STANDIN_BACKGROUND_DIR": self.bg_dir,
               "KEDRO_STANDIN_RECORD_DIR": self.record_dir}
        real = harness.EVENTD
        if wrap:
            wrapper = os.path.join(self.bg_dir, "wrap-eventd")
            with open(wrapper, "w") as f:
                f.write(WRAPPER)
            os.chmod(wrapper, 0o755)
            env.update({"KE_WRAP_EVENTD": real, "KE_WRAP": ",".join(wrap)})
            harness.EVENTD = wrapper
        try:
            self.server = harness.Server(config=CONFIG, runner="local", env=env, args=[
                "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", project]
                + list(extra))
        finally:
            harness.EVENTD = real
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        if hasattr(self, "server"):
            self.channel.close()
            self.server.__exit__(None, None, None)
        leftovers.kill_left(getattr(self, "bg_dir", None))  # a failed test must not leave any

    def load(self, name):
        return leftovers.load(self.bg_dir, name)

    def sleepers(self, run_id):
        """The sleepers the run left: {kind: [pid, start]}, once the stand-in wrote them."""
        path = os.path.join(self.bg_dir, run_id + ".pids")
        self.assertTrue(harness.wait_until(lambda: os.path.exists(path), timeout=BOUND),
                        self.server.stderr())
        return self.load(run_id + ".pids")

    def assert_none_left(self, sleepers):
        def survivors():
            return [k for k, (pid, start) in sleepers.items() if leftovers.alive(pid, start)]
        harness.wait_until(lambda: not survivors(), timeout=BOUND, step=0.05)
        self.assertEqual(survivors(), [])

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def wait_final(self, pid):
        self.assertTrue(harness.wait_until(lambda: self.get(pid).status[-1].state in FINAL,
                                           timeout=BOUND, step=0.05), self.server.stderr())
        return self.get(pid).status[-1]

    def test_success_leaves_no_process_behind(self):
        self.start()
        p = self.stub.Dispatch(event("ok")).pipelines[0]
        self.assertEqual(self.wait_final(p.id).state, State.SUCCESS)
        self.assert_none_left(self.sleepers(p.id))

    def test_failure_leaves_no_process_behind(self):
        self.start()
        p = self.stub.Dispatch(event("fail", type="com.example.fail")).pipelines[0]
        last = self.wait_final(p.id)
        self.assertEqual((last.state, last.exit_code), (State.FAILURE, 1))
        self.assert_none_left(self.sleepers(p.id))

    def test_timeout_leaves_no_process_behind(self):
        self.start(extra=["--run-timeout", "8"])  # room for the stand-in to leave its sleepers
        p = self.stub.Dispatch(event("hang", type="com.example.hang")).pipelines[0]
        sleepers = self.sleepers(p.id)
        last = self.wait_final(p.id)
        self.assertEqual(last.state, State.FAILURE)
        self.assertIn("timed out", last.error)
        self.assert_none_left(sleepers)

    def test_sigterm_shutdown_leaves_no_process_behind(self):
        self.start(extra=["--shutdown-grace", "1"])
        p = self.stub.Dispatch(event("shutdown", type="com.example.hang")).pipelines[0]
        sleepers = self.sleepers(p.id)
        self.channel.close()
        self.assertEqual(self.server.stop(sig=signal.SIGTERM, timeout=BOUND), 0)
        self.assert_none_left(sleepers)
        after = harness.Server(config=CONFIG, data_dir=self.server.data_dir)
        with after.channel() as ch:
            got = rpc.EventServiceStub(ch).GetPipeline(pb.GetPipelineRequest(id=p.id))
        self.assertEqual(got.status[-1].state, State.ABORTED)
        self.assertEqual(after.stop(), 0)
        del self.server

    def test_killed_server_leaves_no_process_behind(self):
        self.start()
        p = self.stub.Dispatch(event("kill9", type="com.example.hang")).pipelines[0]
        sleepers = self.sleepers(p.id)
        self.server.proc.kill()
        self.server.proc.wait()
        self.assert_none_left(sleepers)

    def test_sigchld_ignored_at_start_runs_still_succeed(self):
        self.start(wrap=["ignore-sigchld"])
        p = self.stub.Dispatch(event("ignored")).pipelines[0]
        last = self.wait_final(p.id)
        self.assertEqual(last.state, State.SUCCESS, last.error)
        self.assert_none_left(self.sleepers(p.id))

    def test_signals_blocked_and_sigchld_ignored_at_start_the_run_starts_clean(self):
        self.start(wrap=["ignore-sigchld", "block-all"])
        p = self.stub.Dispatch(event("blocked")).pipelines[0]
        last = self.wait_final(p.id)
        self.assertEqual(last.state, State.SUCCESS, last.error)
        with open(os.path.join(self.record_dir, p.id + ".json")) as f:
            rec = json.load(f)
        self.assertEqual(int(rec["sigblk"], 16), 0)
        self.assertFalse(int(rec["sigign"], 16) & (1 << (signal.SIGCHLD - 1)))
        self.assert_none_left(self.sleepers(p.id))
        self.channel.close()
        self.assertEqual(self.server.stop(sig=signal.SIGTERM, timeout=BOUND), 0)
        del self.server

    def test_logs_and_run_files_are_0600_in_0700_dirs_even_with_umask_0(self):
        self.start(wrap=["umask-0"])
        p = self.stub.Dispatch(event("modes")).pipelines[0]
        last = self.wait_final(p.id)
        self.assertEqual(last.state, State.SUCCESS, last.error)
        data = self.server.data_dir

        def mode(path):
            return stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(oct(mode(os.path.join(data, "logs"))), oct(0o700))
        self.assertEqual(oct(mode(os.path.join(data, "runs"))), oct(0o700))
        self.assertEqual(oct(mode(last.log_path)), oct(0o600))
        self.assertEqual(oct(mode(os.path.join(data, "runs", p.id + ".yml"))), oct(0o600))


if __name__ == "__main__":
    unittest.main(verbosity=2)

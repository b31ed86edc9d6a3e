"""A run's log through the clients this project ships, against the real kedro-eventd: the
kedro-events CLI (`logs`, `logs --tail 3`, `logs -f`) and kedro-event-shim's
GET /pipelines/{id}/logs read with curl (plain, ?tail, ?follow=1 chunked, server-sent events)
and with requests (a client that leaves mid-follow: the server's stream ends, so with
--max-streams 1 the next one is served)."""

import os
import subprocess
import tempfile
import time
import unittest

import harness
import shim_harness

harness.load_stubs()

import requests  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
LINES = 20

CONFIG = {
    "chatty": {"source": "example.com", "type": "com.example.chatty",
               "parameters": {"lines": str(LINES), "line_every": "0.1"}},
    "chatty_slow": {"source": "example.com", "type": "com.example.slow",
                    "parameters": {"lines": "600", "line_every": "0.1"}},
}


def event(i, type="com.example.chatty"):
    return ce.CloudEvent(id="logs-%s" % i, source="example.com", spec_version="1.0", type=type,
                         text_data='{"i": 1}')


class ClientsTest(unittest.TestCase):
    def setUp(self):
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        self.server = harness.Server(config=CONFIG, runner="local", args=[
            "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project,
            "--max-streams", "1", "--shutdown-grace", "1"])
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)
        self.shim = shim_harness.Shim(self.server.target)
        self.base = "http://127.0.0.1:%d" % self.shim.port

    def tearDown(self):
        self.shim.__exit__(None, None, None)
        self.channel.close()
        status = self.server.stop()
        self.assertEqual(status, 0, self.server.stderr())
        if os.environ.get("KE_SANITIZED") == "1":
            for text in (self.server.stderr(), self.shim.stderr()):
                self.assertNotIn("ERROR: AddressSanitizer", text)
                self.assertNotIn("ERROR: LeakSanitizer", text)

    def state(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid)).status[-1].state

    def log_file(self, pid):
        with open(os.path.join(self.server.data_dir, "logs", pid + ".log"), "rb") as f:
            return f.read()

    def cli(self, *args):
        return subprocess.run([CLI, "logs", "--target", self.server.target] + list(args),
                              capture_output=True, timeout=60)

    def curl(self, path, *extra):
        return subprocess.run(["curl", "-sS", "-N", "--max-time", "60", "-D", "-",
                               self.base + path] + list(extra), capture_output=True, timeout=70)

    def test_cli_logs_tail_and_follow(self):
        pid = self.stub.Dispatch(event("cli")).pipelines[0].id
        followed = self.cli("-f", pid)  # starts while the run is READY or STARTED
        self.assertEqual(followed.returncode, 0, followed.stderr)
        self.assertIn(self.state(pid), FINAL)
        on_disk = self.log_file(pid)
        self.assertEqual(followed.stdout, on_disk)
        whole = self.cli(pid)
        self.assertEqual((whole.returncode, whole.stdout), (0, on_disk))
        tail = self.cli("--tail", "3", pid)
        self.assertEqual(tail.returncode, 0, tail.stderr)
        self.assertEqual(tail.stdout, b"".join(on_disk.splitlines(keepends=True)[-3:]))
        missing = self.cli("00000000-0000-4000-8000-000000000000")
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b"NOT_FOUND", missing.stderr)
        bad = self.cli("--tail", "-2", pid)
        self.assertEqual(bad.returncode, 2)
        self.assertIn(b"--tail", bad.stderr)

    def test_shim_plain_tail_follow_and_sse(self):
        pid = self.stub.Dispatch(event("shim")).pipelines[0].id
        followed = self.curl("/pipelines/%s/logs?follow=1" % pid)
        self.assertEqual(followed.returncode, 0, followed.stderr)
        head, _, body = followed.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200", head)
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertIn(b"Content-Type: text/plain; charset=utf-8", head)
        self.assertIn(self.state(pid), FINAL)
        on_disk = self.log_file(pid)
        self.assertEqual(body, on_disk)
        plain = requests.get(self.base + "/pipelines/%s/logs" % pid, timeout=30)
        self.assertEqual((plain.status_code, plain.content), (200, on_disk))
        tail = requests.get(self.base + "/pipelines/%s/logs?tail=2" % pid, timeout=30)
        self.assertEqual(tail.content, b"".join(on_disk.splitlines(keepends=True)[-2:]))
        sse = self.curl("/pipelines/%s/logs?tail=3" % pid, "-H", "Accept: text/event-stream")
        head, _, body = sse.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Type: text/event-stream", head)
        want = b"".join(b"data: " + line + b"\n\n" for line in on_disk.splitlines()[-3:])
        self.assertEqual(body, want + b"event: end\ndata: OK\n\n")
        for path, code in (("/pipelines/nope/logs", 404),
                           ("/pipelines/%s/logs?tail=x" % pid, 400),
                           ("/pipelines/%s/logs?follow=maybe" % pid, 400)):
            r = requests.get(self.base + path, timeout=30)
            self.assertEqual(r.status_code, code, path)
            self.assertIn("detail", r.json())
        r = requests.post(self.base + "/pipelines/%s/logs" % pid, timeout=30)
        self.assertEqual(r.status_code, 405)

    def test_shim_client_leaving_mid_follow_ends_the_stream(self):
        pid = self.stub.Dispatch(event("leave", "com.example.slow")).pipelines[0].id
        r = requests.get(self.base + "/pipelines/%s/logs?follow=1" % pid, stream=True,
                         timeout=30)
        self.assertEqual(r.status_code, 200)
        it = r.iter_content(chunk_size=None)
        seen = b""
        while b"chatty line 2 of" not in seen:
            seen += next(it)
        r.close()  # the client leaves
        # kedro-eventd serves one stream at a time: once the shim cancelled the first, a
        # new one is served (before, UNAVAILABLE).
        def served():
            out = self.cli("--tail", "1", pid)
            return out.returncode == 0
        self.assertTrue(harness.wait_until(served, timeout=15, step=0.2),
                        self.server.stderr())
        self.assertEqual(self.state(pid), State.STARTED)


if __name__ == "__main__":
    unittest.main()

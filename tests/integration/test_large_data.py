"""Binary data past nanopb's old 64 KiB cap, byte-exact, through the two C clients of
kedro-eventd: kedro-event-shim (curl --data-binary, binary mode, application/octet-stream) and
`kedro-events send --data-file`. Each run's `event` parameter is read back from the server
with Python's grpcio (GetPipeline) and its data_base64 compared with the bytes sent; so is the
answer the client itself printed."""

import base64
import json
import os
import random
import subprocess
import tempfile
import unittest

import harness
import shim_harness as sh
from shim_harness import curl, binary_args

harness.load_stubs()

from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")

# 64 KiB was the most a nanopb bytes field held (16-bit pb_size_t); 3 MiB is near the
# server's default 4 MiB request limit, and its answer (the event rendered as base64, 4/3 of
# it) is past gRPC's default 4 MiB receive limit.
SIZES = (64 * 1024, 64 * 1024 + 1, 3 << 20)
RECEIVE_LIMIT = 64 << 20  # for the test's own grpcio channel


def payload(size, seed):
    """size random bytes that surely hold NUL and 0xFF (and are not UTF-8)."""
    data = bytearray(random.Random(seed).randbytes(size))
    data[0], data[1], data[size // 2], data[-1] = 0x00, 0xFF, 0x00, 0xFF
    return bytes(data)


class LargeBinaryData(unittest.TestCase):
    """One kedro-eventd (runner none) and one shim for the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.channel = cls.server.channel(**{"grpc.max_receive_message_length": RECEIVE_LIMIT})
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.shim = sh.Shim(cls.server.target)
        cls.tmp = tempfile.mkdtemp(prefix="ke-large-")

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def stored_event(self, pipeline_id):
        """The `event` parameter of a run, as kedro-eventd holds it."""
        p = self.stub.GetPipeline(pb.GetPipelineRequest(id=pipeline_id))
        return json.loads({x.name: x.value for x in p.parameters}["event"])

    def assert_arrived(self, pipeline, data, event_id):
        """The answered pipeline and the stored run both carry data, byte-exact."""
        self.assertEqual(pipeline["name"], "event00")
        answered = sh.event_param(pipeline)
        stored = self.stored_event(pipeline["id"])
        for ev in (answered, stored):
            self.assertEqual(ev["id"], event_id)
            self.assertEqual(ev["datacontenttype"], "application/octet-stream")
            self.assertNotIn("data", ev)
            got = base64.b64decode(ev["data_base64"], validate=True)
            self.assertEqual(len(got), len(data))
            self.assertTrue(got == data, "the data arrived changed")

    def test_shim_binary_mode_carries_large_binary_data_byte_exact(self):
        for size in SIZES:
            with self.subTest(size=size):
                data = payload(size, size)
                event_id = "shim-large-%d" % size
                h = dict(sh.BINARY_HEADERS, **{"ce-id": event_id})
                a = curl(self.shim.url + "/event/",
                         *binary_args(h, "application/octet-stream"), data=data)
                self.assertEqual(a.status, 200, a)
                [p] = a.json()
                self.assert_arrived(p, data, event_id)

    def test_cli_send_data_file_carries_large_binary_data_byte_exact(self):
        for size in SIZES:
            with self.subTest(size=size):
                data = payload(size, size + 1)
                event_id = "cli-large-%d" % size
                path = os.path.join(self.tmp, "data-%d" % size)
                with open(path, "wb") as f:
                    f.write(data)
                env = {k: v for k, v in os.environ.items()
                       if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
                r = subprocess.run(
                    [CLI, "send", "--target", self.server.target, "--source", "example.com",
                     "--type", "com.example.event", "--id", event_id,
                     "--content-type", "application/octet-stream", "--data-file", path,
                     "--json-out"], capture_output=True, env=env, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
                [p] = json.loads(r.stdout)["pipelines"]
                self.assert_arrived(p, data, event_id)

    def test_cli_send_data_from_stdin_carries_large_binary_data_byte_exact(self):
        data = payload(64 * 1024 + 1, 7)
        env = {k: v for k, v in os.environ.items()
               if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
        r = subprocess.run(
            [CLI, "send", "--target", self.server.target, "--source", "example.com",
             "--type", "com.example.event", "--id", "cli-stdin",
             "--content-type", "application/octet-stream", "--data-file", "-", "--json-out"],
            input=data, capture_output=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        [p] = json.loads(r.stdout)["pipelines"]
        self.assert_arrived(p, data, "cli-stdin")


if __name__ == "__main__":
    unittest.main()

"""The CloudEvents protobuf-format conformance vectors, sent to a running
kedro-eventd: every valid event and batch is accepted, every invalid one is
answered INVALID_ARGUMENT. The vectors are protobuf's JSON mapping, read with
Python's protobuf json_format (not our code)."""

import json
import os
import sys
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from kedro.events.v1 import events_pb2_grpc as rpc  # noqa: E402

VECTORS = os.path.join(harness.CONFORMANCE_DIR, "cloudevents-format", "protobuf")
# Every vector's source/type pair routes to a pipeline, so a valid event also
# exercises matching and JSON rendering.
CONFIG = {"conformance": {"source": "https://cloudevents.io", "type": "io.cloudevents.test"},
          "relative": {"source": "#fragment", "type": "io.cloudevents.test"}}


def load(name):
    with open(os.path.join(VECTORS, name)) as f:
        return json.load(f)["tests"]


class ConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(VECTORS):
            raise unittest.SkipTest("conformance vectors not found at %s" % VECTORS)
        cls.server = harness.Server(config=CONFIG)
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0, cls.server.stderr()

    def test_valid_events_are_accepted_and_start_their_pipeline(self):
        tests = load("valid-events.json")
        self.assertEqual(len(tests), 6)
        for t in tests:
            with self.subTest(t["id"]):
                e = json_format.ParseDict(t["validSingle"], ce.CloudEvent())
                r = self.stub.Dispatch(e)
                self.assertEqual(len(r.pipelines), 1, t["id"])
                event = json.loads({p.name: p.value for p in r.pipelines[0].parameters}["event"])
                self.assertEqual(event["id"], e.id)
                self.assertEqual(event["specversion"], "1.0")

    def test_invalid_events_are_rejected_with_invalid_argument(self):
        tests = load("invalid-events.json")
        self.assertEqual(len(tests), 20)
        for t in tests:
            with self.subTest(t["id"]):
                e = json_format.ParseDict(t["invalidSingle"], ce.CloudEvent())
                with self.assertRaises(grpc.RpcError) as cm:
                    self.stub.Dispatch(e)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertTrue(cm.exception.details())
                print("  %-36s %s" % (t["id"], cm.exception.details()), file=sys.stderr)

    def test_valid_batches_are_accepted(self):
        tests = load("valid-batches.json")
        self.assertEqual(len(tests), 5)
        for t in tests:
            with self.subTest(t["id"]):
                b = json_format.ParseDict(t["validBatch"], ce.CloudEventBatch())
                r = self.stub.DispatchBatch(b)
                self.assertEqual(len(r.results), len(b.events))

    def test_invalid_batches_are_rejected_with_invalid_argument(self):
        tests = load("invalid-batches.json")
        self.assertEqual(len(tests), 2)
        for t in tests:
            with self.subTest(t["id"]):
                b = json_format.ParseDict(t["invalidBatch"], ce.CloudEventBatch())
                with self.assertRaises(grpc.RpcError) as cm:
                    self.stub.DispatchBatch(b)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    unittest.main(verbosity=2)

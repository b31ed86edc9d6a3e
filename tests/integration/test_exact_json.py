"""JSON data arrives exactly as sent, or is refused naming why: numbers that a double cannot
hold and nesting at the limit (KEC_JSON_MAX_DEPTH = 256) through kedro-event-shim's three
CloudEvents HTTP modes (binary, structured, batched) and over gRPC (Dispatch with text_data,
Python's grpcio), each run's `event` parameter read back with GetPipeline; invalid JSON
(RFC 8259) refused with 400 / INVALID_ARGUMENT."""

import itertools
import json
import unittest

import harness
import shim_harness as sh

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

MAX_DEPTH = 256  # KEC_JSON_MAX_DEPTH (client/internal.h)

NUMBERS = ["9007199254740993", "12345678901234567890123", "-0", "0.30000000000000004",
           "1.7976931348623157e308", "1e400", "5e-324", "1E+2"]

MODES = ("binary", "structured", "batched", "grpc")

_ids = itertools.count()


def nested(depth):
    return "[" * depth + "]" * depth


def member_texts(doc):
    """The original text of each member value of the JSON object doc (a str), by name."""
    dec = json.JSONDecoder()
    out = {}
    i = doc.index("{") + 1
    while True:
        while doc[i] in " \t\r\n,":
            i += 1
        if doc[i] == "}":
            return out
        name, i = dec.raw_decode(doc, i)
        while doc[i] in " \t\r\n:":
            i += 1
        _, end = dec.raw_decode(doc, i)
        out[name] = doc[i:end]
        i = end


class ExactJson(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(runner="none")
        cls.shim = sh.Shim(cls.server.target)
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        status = cls.shim.stop()
        assert status == 0, cls.shim.stderr()
        status = cls.server.stop()
        assert status == 0, "kedro-eventd exited %s:\n%s" % (status, cls.server.stderr())

    # ---- sending ----

    def send(self, mode, data, ctype="application/json"):
        """Sends one event carrying data (JSON text) in mode. Returns (ok, pipeline id or the
        refusal's message, HTTP status or gRPC code)."""
        eid = "exact-%d" % next(_ids)
        if mode == "grpc":
            e = ce.CloudEvent(id=eid, source="example.com", spec_version="1.0",
                              type="com.example.event", text_data=data)
            if ctype is not None:
                e.attributes["datacontenttype"].ce_string = ctype
            try:
                r = self.stub.Dispatch(e)
            except grpc.RpcError as err:
                return False, err.details(), err.code()
            return True, r.pipelines[0].id, grpc.StatusCode.OK
        if mode == "binary":
            a = sh.curl(self.shim.url + "/event/", *sh.binary_args(
                dict(sh.BINARY_HEADERS, **{"ce-id": eid}), ctype), data=data.encode())
        else:
            head = '{"specversion":"1.0","id":"%s","source":"example.com",' \
                   '"type":"com.example.event",%s"data": %s }' % (
                       eid, '"datacontenttype":"%s",' % ctype if ctype else "", data)
            if mode == "structured":
                body, media = head, "application/cloudevents+json"
            else:
                body, media = "[ %s ]" % head, "application/cloudevents-batch+json"
            a = sh.curl(self.shim.url + "/event/", "-X", "POST", "-H",
                        "Content-Type: " + media, data=body.encode())
        if a.status != 200:
            return False, a.json()["detail"], a.status
        pipelines = a.json()
        if mode == "batched":
            self.assertEqual(len(pipelines), 1, a.body)
            pipelines = pipelines[0]
        return True, pipelines[0]["id"], 200

    def data_text(self, pid):
        """The raw text of `data` inside the run's `event` parameter, read with GetPipeline."""
        p = self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))
        event = {x.name: x.value for x in p.parameters}["event"]
        json.loads(event)  # the event stays valid JSON
        return member_texts(event)["data"]

    def assert_exact(self, mode, data, ctype="application/json"):
        ok, got, status = self.send(mode, data, ctype)
        self.assertTrue(ok, "%s: %r refused (%s): %s" % (mode, data[:80], status, got))
        self.assertEqual(self.data_text(got), data.strip(), "%s: %r" % (mode, data[:80]))

    def assert_refused(self, mode, data, needle, ctype="application/json"):
        ok, got, status = self.send(mode, data, ctype)
        self.assertFalse(ok, "%s: %r accepted" % (mode, data[:80]))
        want = grpc.StatusCode.INVALID_ARGUMENT if mode == "grpc" else 400
        self.assertEqual(status, want, "%s: %s" % (mode, got))
        self.assertIn(needle, got, mode)

    # ---- tests ----

    def test_numbers_arrive_as_sent_in_every_mode(self):
        for mode in MODES:
            for n in NUMBERS:
                with self.subTest(mode=mode, number=n):
                    self.assert_exact(mode, n)
                    self.assert_exact(mode, '{"n": [%s, {"m": %s}]}' % (n, n))
                    self.assert_exact(mode, "[%s]" % n, ctype=None)

    def test_data_nested_to_the_limit_arrives_deeper_is_refused(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assert_exact(mode, nested(MAX_DEPTH))
                self.assert_exact(mode, '{"a":%s}' % nested(MAX_DEPTH - 1))
                for depth in (MAX_DEPTH + 1, 999):
                    self.assert_refused(mode, nested(depth),
                                        "nested deeper than the limit of %d" % MAX_DEPTH)
                # never silently a string, even without a datacontenttype
                self.assert_refused(mode, nested(MAX_DEPTH + 1),
                                    "nested deeper than the limit of %d" % MAX_DEPTH, ctype=None)

    def test_invalid_json_is_refused_in_structured_and_batched_mode(self):
        cases = [("01", "number with a leading zero"),
                 ('"a\x01b"', "control character 0x01 in a string"),
                 ("[1,]", "']' where a value was expected"),
                 ('{"a":1,}', "'}' where a member name (a string) was expected"),
                 ('"\\ud800"', "lone high surrogate"),
                 ("+1", "'+' where a value was expected"),
                 ("1.", "'.' not followed by a digit")]
        for mode in ("structured", "batched"):
            for data, reason in cases:
                with self.subTest(mode=mode, data=data):
                    self.assert_refused(mode, data, reason)

    def test_text_that_is_not_json_travels_as_a_string_unchanged(self):
        # as the reference's Python SDK reads it (json.loads, else the text): never re-read
        # leniently (01 would become 1), never refused
        for mode in ("binary", "grpc"):
            for ctype in ("application/json", None):
                for text in ("{not json}", "01", "[1,]", "x"):
                    with self.subTest(mode=mode, ctype=ctype, text=text):
                        ok, pid, status = self.send(mode, text, ctype=ctype)
                        self.assertTrue(ok, "%s: %s" % (status, pid))
                        self.assertEqual(self.data_text(pid), json.dumps(text))

    def test_nul_escape_in_json_data_travels_as_six_characters(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assert_exact(mode, '{"k": "a\\u0000b"}')


class ExactJsonReachesTheNode(unittest.TestCase):
    """The run file carries the event with its data's own text (whitespace inside it too) to
    the Kedro stand-in, which reads it as Kedro does."""

    def test_the_node_receives_the_data_text_as_sent(self):
        import os
        import tempfile
        project = tempfile.mkdtemp(prefix="ke-project-")
        record_dir = tempfile.mkdtemp(prefix="ke-record-")
        data = '{\n\t"big": 9007199254740993,\r\n "f": [0.30000000000000004, 1e400, -0],' \
               ' "s": "${oc.env:HOME} \\u0000"\n}'
        with harness.Server(runner="local",
                            env={"KEDRO_STANDIN_RECORD_DIR": record_dir},
                            args=["--kedro-bin", harness.KEDRO_STANDIN,
                                  "--kedro-project", project]) as server:
            with server.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                e = ce.CloudEvent(id="node-1", source="example.com", spec_version="1.0",
                                  type="com.example.event", text_data=data)
                e.attributes["datacontenttype"].ce_string = "application/json"
                pid = stub.Dispatch(e).pipelines[0].id
                path = os.path.join(record_dir, pid + ".json")

                def finished():
                    p = stub.GetPipeline(pb.GetPipelineRequest(id=pid))
                    return p.status[-1].state == pb.PipelineStatus.State.SUCCESS

                self.assertTrue(harness.wait_until(finished, timeout=60), server.stderr())
                event = {x.name: x.value for x in
                         stub.GetPipeline(pb.GetPipelineRequest(id=pid)).parameters}["event"]
        with open(path) as f:
            recorded = json.load(f)["params"]["event"]
        self.assertEqual(recorded, event)
        # "${" is written "\u0024{" (DESIGN.md 3.4); nothing else differs from what was sent
        self.assertEqual(member_texts(recorded)["data"],
                         data.replace("${", "\\u0024{").strip())
        self.assertEqual(json.loads(recorded)["data"]["s"], "${oc.env:HOME} \x00")


if __name__ == "__main__":
    unittest.main()

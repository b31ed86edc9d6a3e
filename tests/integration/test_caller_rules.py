"""What callers may set, checked against the real kedro-eventd (grpcio) and kedro-event-shim
(curl): attributes free of control characters, sources that are URI-references, no NUL in any
string of any request, parameter names the server owns (`id`, `event`) or repeats refused,
pipeline names validated everywhere, every parameter value reaching the node (the Kedro
stand-in, which reads the run file with OmegaConf) as the exact str, and an event whose
rendering would pass the cap refused before anything is stored."""

import json
import os
import tempfile
import unittest

import grpc

import harness
import shim_harness
from shim_harness import curl

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
BIG = 64 << 20  # client-side message limits, well above the server's

# Values OmegaConf would read as interpolations, escapes or MISSING, and must not.
TRICKY_VALUES = {
    "home": "${oc.env:HOME}",
    "one": "\\${x}",
    "two": "\\\\${x}",
    "missing": "???",
    "mixed": "a$${b}\\${c}${d}\\",
}


def event(id="e-1", source="example.com", type="com.example.event", **attrs):
    e = ce.CloudEvent(id=id, source=source, spec_version="1.0", type=type,
                      text_data='{"k": 1}')
    e.attributes["datacontenttype"].ce_string = "application/json"
    for name, (kind, value) in attrs.items():
        setattr(e.attributes[name], kind, value)
    return e


class CallerRulesGrpcTest(unittest.TestCase):
    """kedro-eventd through grpcio, no runner."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(args=["--max-message-bytes", str(4 << 20)])
        cls.channel = cls.server.channel(**{"grpc.max_send_message_length": BIG,
                                            "grpc.max_receive_message_length": BIG})
        cls.stub = rpc.EventServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.__exit__(None, None, None)

    def refused(self, call, request, *needles, code=grpc.StatusCode.INVALID_ARGUMENT):
        with self.assertRaises(grpc.RpcError) as cm:
            call(request)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        for n in needles:
            self.assertIn(n, cm.exception.details())
        return cm.exception.details()

    def test_sources_must_be_uri_references(self):
        for bad, offset in (("exa mple", 3), ("a\r\nb", 1), ("http://a b", 8), ("%zz", 1),
                            ("a<b>", 1)):
            self.refused(self.stub.Dispatch, event(source=bad), 'attribute "source"',
                         "offset %d" % offset)
        for good in ("/sensors/tn-1", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
                     "https://example.com/a?b=c#d", "example.com", "mailto:a@example.com"):
            r = self.stub.Dispatch(event(id="ok-" + good, source=good))
            self.assertEqual(r.duplicate, False)

    def test_attributes_must_be_free_of_control_characters(self):
        cases = [
            (event(id="a\x01b"), 'attribute "id"', "U+0001 at offset 1"),
            (event(type="t\x7f"), 'attribute "type"', "U+007F at offset 1"),
            (event(subject=("ce_string", "ab\u0085")), 'attribute "subject"',
             "U+0085 at offset 2"),
            (event(ext=("ce_string", "tab\there")), 'attribute "ext"', "U+0009 at offset 3"),
            (event(ref=("ce_uri_ref", "a b")), 'attribute "ref"', "URI-reference"),
            (event(dataschema=("ce_uri", "relative/x")), 'attribute "dataschema"',
             "absolute URI"),
            (event(link=("ce_uri", "http://exa mple/")), 'attribute "link"', "offset 10"),
        ]
        for ev, *needles in cases:
            self.refused(self.stub.Dispatch, ev, *needles)
        # U+00A0 and beyond are not control characters
        self.stub.Dispatch(event(id="nbsp", subject=("ce_string", "caf\u00e9\u00a0\u2028")))

    def test_nul_is_refused_in_every_string_of_every_request(self):
        create = pb.CreatePipelineRequest
        cases = [
            (self.stub.CreatePipeline, create(name="event00\x00--evil"), "name: must not"),
            (self.stub.CreatePipeline, create(name="event00", parent="p\x00q"), "parent"),
            (self.stub.CreatePipeline,
             create(name="event00", parameters=[pb.Parameter(name="a", value="x\x00y")]),
             "parameters[0].value"),
            (self.stub.CreatePipeline,
             create(name="event00", parameters=[pb.Parameter(name="a", value="1"),
                                                pb.Parameter(name="b\x00", value="2")]),
             "parameters[1].name"),
            (self.stub.CreatePipeline,
             create(name="event00", tags=[pb.Tag(key="k", value="v\x00")]), "tags[0].value"),
            (self.stub.GetPipeline, pb.GetPipelineRequest(id="a\x00b"), "id: must not"),
            (self.stub.ListPipelines, pb.ListPipelinesRequest(name="event00\x00x"), "name"),
            (self.stub.ListPipelines, pb.ListPipelinesRequest(parent="\x00"), "parent"),
            (self.stub.ListPipelines, pb.ListPipelinesRequest(page_token="m1\x00"),
             "page_token"),
            (self.stub.Dispatch, event(id="a\x00b"), 'attribute "id"'),
        ]
        for call, request, needle in cases:
            self.refused(call, request, needle, "NUL")
        listed = self.stub.ListPipelines(pb.ListPipelinesRequest(name="event00", page_size=1000))
        self.assertEqual([p for p in listed.pipelines if p.name != "event00"], [])

    def test_reserved_and_repeated_parameter_names_are_refused(self):
        P = pb.Parameter
        for name in ("id", "event"):
            self.refused(self.stub.CreatePipeline,
                         pb.CreatePipelineRequest(name="event00", parameters=[
                             P(name="a", value="1"), P(name=name, value="forged")]),
                         'parameters[1]: parameter "%s"' % name, "set by the server")
        self.refused(self.stub.CreatePipeline,
                     pb.CreatePipelineRequest(name="event00", parameters=[
                         P(name="a", value="1"), P(name="b", value="2"), P(name="a", value="3")]),
                     'parameters[2]: parameter "a" appears twice')

    def test_pipeline_names_are_validated(self):
        for bad in ("-evil", ".hidden", "a b", "a/b", "caf\u00e9", "x" * 129, "", "${x}"):
            self.refused(self.stub.CreatePipeline, pb.CreatePipelineRequest(name=bad),
                         "a pipeline name must be 1 to 128 characters")
        for good in ("__default__", "data_processing.v2-x", "x" * 128):
            p = self.stub.CreatePipeline(pb.CreatePipelineRequest(name=good))
            self.assertEqual(p.name, good)

    def test_a_rendering_past_the_cap_is_refused_and_not_stored(self):
        e = ce.CloudEvent(id="ctl-body", source="example.com", spec_version="1.0",
                          type="com.example.event", text_data="\x01" * 4_000_000)
        e.attributes["datacontenttype"].ce_string = "text/plain"
        self.refused(self.stub.Dispatch, e, "cap of 8388608 bytes", "--max-message-bytes",
                     code=grpc.StatusCode.RESOURCE_EXHAUSTED)
        with self.assertRaises(grpc.RpcError):  # nothing stored: a retry is not a duplicate
            self.stub.Dispatch(e)
        listed = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000))
        self.assertNotIn("ctl-body", [t.value for p in listed.pipelines for t in p.tags])
        # 3 MiB of binary data (4 MiB as base64) stays under the cap
        b = ce.CloudEvent(id="bin-3mib", source="example.com", spec_version="1.0",
                          type="com.example.event", binary_data=os.urandom(3 << 20))
        r = self.stub.Dispatch(b)
        self.assertEqual(len(r.pipelines), 1)


class CallerRulesConfigTest(unittest.TestCase):
    """The event configuration follows the same rules: start-up fails naming the entry."""

    def refused_at_startup(self, config, *needles):
        with self.assertRaises(RuntimeError) as cm:
            with harness.Server(config=config):
                pass
        for n in needles:
            self.assertIn(n, str(cm.exception))

    def test_bad_pipeline_names_stop_the_server(self):
        for bad in ("-evil", "a b", ".x"):
            self.refused_at_startup({bad: {"source": "s", "type": "t"}},
                                    'entry "%s": a pipeline name must be' % bad)

    def test_reserved_static_parameters_stop_the_server(self):
        for name in ("id", "event"):
            self.refused_at_startup(
                {"event00": {"source": "s", "type": "t", "parameters": {name: "x"}}},
                'parameter "%s" is set by the server' % name)


class CallerRulesRunTest(unittest.TestCase):
    """Values reach the node (the Kedro stand-in reading the run file with OmegaConf)."""

    def setUp(self):
        self.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        config = {"event00": {"source": "example.com", "type": "com.example.event",
                              "parameters": TRICKY_VALUES}}
        self.server = harness.Server(
            config=config, runner="local",
            env={"KEDRO_STANDIN_RECORD_DIR": self.record_dir, "HOME": "/resolved-home"},
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project])
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.server.__exit__(None, None, None)

    def run_to_end(self, pid, marker=None):
        """What the run recorded: the stand-in names the record after params.id, or its process
        id when there is none (CreatePipeline's runs): then the one holding `marker`."""
        def done():
            return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid)).status[-1].state in FINAL
        self.assertTrue(harness.wait_until(done, timeout=60, step=0.05), self.server.stderr())
        p = self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))
        self.assertEqual(p.status[-1].state, State.SUCCESS, p.status[-1].error)
        for name in sorted(os.listdir(self.record_dir)):
            with open(os.path.join(self.record_dir, name)) as f:
                rec = json.load(f)
            if name == pid + ".json" or (marker and rec["params"].get("marker") == marker):
                return rec
        self.fail("no record for %s" % pid)

    def test_values_arrive_as_the_exact_str(self):
        # from the configuration's static parameters
        d = self.stub.Dispatch(event(id="tricky-1")).pipelines[0]
        rec = self.run_to_end(d.id)
        for k, v in TRICKY_VALUES.items():
            self.assertEqual(rec["params"][k], v, k)
            self.assertEqual(rec["types"][k], "str")
        self.assertEqual(rec["params"]["id"], d.id)
        self.assertEqual(json.loads(rec["params"]["event"])["id"], "tricky-1")
        # from CreatePipeline
        params = [pb.Parameter(name=k, value=v) for k, v in TRICKY_VALUES.items()]
        params.append(pb.Parameter(name="marker", value="created-1"))
        c = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="event00", parameters=params))
        rec = self.run_to_end(c.id, marker="created-1")
        for k, v in TRICKY_VALUES.items():
            self.assertEqual(rec["params"][k], v, k)
        self.assertNotIn("/resolved-home", json.dumps(rec["params"]))


class CallerRulesShimTest(unittest.TestCase):
    """The same rules through kedro-event-shim, with curl."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.shim = shim_harness.Shim(cls.server.target)

    @classmethod
    def tearDownClass(cls):
        cls.shim.__exit__(None, None, None)
        cls.server.__exit__(None, None, None)

    def post_pipeline(self, doc, raw=None):
        data = raw if raw is not None else json.dumps(doc).encode()
        return curl(self.shim.url + "/pipelines/", "-X", "POST", "-H",
                    "Content-Type: application/json", data=data)

    def assert_detail(self, a, status, *needles):
        self.assertEqual(a.status, status, a)
        for n in needles:
            self.assertIn(n, a.json()["detail"])

    def test_reserved_repeated_and_badly_named_are_400(self):
        for name in ("id", "event"):
            a = self.post_pipeline({"name": "event00", "parameters": {name: "forged"}})
            self.assert_detail(a, 400, 'parameter "%s"' % name, "set by the server")
            a = self.post_pipeline({"name": "event00",
                                    "parameters": [{"name": name, "value": "x"}]})
            self.assert_detail(a, 400, "set by the server")
        a = self.post_pipeline(None, raw=b'{"name": "event00", "parameters": {"a": 1, "a": 2}}')
        self.assert_detail(a, 400, 'parameter "a" appears twice')
        for bad in ("-evil", "a b", ".x"):
            a = self.post_pipeline({"name": bad})
            self.assert_detail(a, 400, "a pipeline name must be")

    def test_nul_is_refused(self):
        a = self.post_pipeline(None, raw=b'{"name": "event00\\u0000--evil"}')
        self.assert_detail(a, 400, "\\u0000", "NUL")
        a = self.post_pipeline(None, raw=b'{"name": "event00", "parameters": {"p": "a\\u0000"}}')
        self.assert_detail(a, 400, "NUL")
        a = curl(self.shim.url + "/pipelines/%00")
        self.assertEqual(a.status, 400, a)
        self.assertIn("NUL", a.json()["detail"])
        a = curl(self.shim.url + "/pipelines/abc%00def")
        self.assertEqual(a.status, 400, a)
        a = curl(self.shim.url + "/pipelines?name=event00%00x")
        self.assertEqual(a.status, 400, a)
        self.assertIn("name", a.json()["detail"])

    def test_bad_sources_and_control_characters_are_400(self):
        headers = dict(shim_harness.BINARY_HEADERS)
        headers["ce-source"] = "exa%20mple"
        a = curl(self.shim.url + "/event/", *shim_harness.binary_args(headers, "text/plain"),
                 data=b"x")
        self.assert_detail(a, 400, 'attribute "source"', "URI-reference")
        headers = dict(shim_harness.BINARY_HEADERS)
        headers["ce-subject"] = "a%01b"
        a = curl(self.shim.url + "/event/", *shim_harness.binary_args(headers, "text/plain"),
                 data=b"x")
        self.assert_detail(a, 400, 'attribute "subject"', "U+0001 at offset 1")
        body = shim_harness.structured(id="s-cr", source="a\r\nb")
        a = curl(self.shim.url + "/event/", "-X", "POST", "-H",
                 "Content-Type: application/cloudevents+json", data=json.dumps(body).encode())
        self.assert_detail(a, 400, 'attribute "source"')

    def test_control_character_body_is_413_and_not_stored(self):
        headers = dict(shim_harness.BINARY_HEADERS)
        headers["ce-id"] = "ctl-4mb"
        a = curl(self.shim.url + "/event/", *shim_harness.binary_args(headers, "text/plain"),
                 data=b"\x01" * 4_000_000)
        self.assert_detail(a, 413, "cap of")
        a = curl(self.shim.url + "/pipelines?limit=1000")
        self.assertEqual(a.status, 200, a)
        self.assertNotIn("ctl-4mb", a.body)


if __name__ == "__main__":
    unittest.main()

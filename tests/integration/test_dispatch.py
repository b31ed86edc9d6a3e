"""EventService over the wire: kedro-eventd started on loopback, called with
Python's grpcio through stubs generated from proto/."""

import json
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from google.protobuf import timestamp_pb2  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "audit": {"source": "example.com", "type": "com.example.event",
              "parameters": {"level": 3, "mode": "full"}, "tags": {"team": "data"}},
    "orders": {"source": "shop", "type": "order.created"},
}


def event(id="1234", source="example.com", type="com.example.event", **attrs):
    e = ce.CloudEvent(id=id, source=source, spec_version="1.0", type=type)
    for k, v in attrs.items():
        if k == "text_data":
            e.text_data = v
        elif k == "binary_data":
            e.binary_data = v
        elif isinstance(v, str):
            e.attributes[k].ce_string = v
        elif isinstance(v, bool):
            e.attributes[k].ce_boolean = v
        elif isinstance(v, int):
            e.attributes[k].ce_integer = v
    return e


def params(p):
    return {x.name: x.value for x in p.parameters}


def tags(p):
    return {x.key: x.value for x in p.tags}


class DispatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(config=CONFIG)
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        status = cls.server.stop()
        assert status == 0, "kedro-eventd exited %s:\n%s" % (status, cls.server.stderr())

    def test_dispatch_matching_nothing_answers_ok_with_no_pipelines(self):
        r = self.stub.Dispatch(event(id="n1", type="com.example.other"))
        self.assertEqual(len(r.pipelines), 0)
        self.assertFalse(r.duplicate)

    def test_dispatch_matching_one_route_starts_one_ready_pipeline(self):
        r = self.stub.Dispatch(event(id="o1", source="shop", type="order.created",
                                     datacontenttype="application/json",
                                     text_data='{"order": 7}'))
        self.assertEqual([p.name for p in r.pipelines], ["orders"])
        p = r.pipelines[0]
        self.assertEqual(len(p.id), 36)
        self.assertEqual(p.status[-1].state, State.READY)
        self.assertEqual(params(p)["id"], p.id)
        ev = json.loads(params(p)["event"])
        self.assertEqual(list(ev)[:4], ["specversion", "id", "source", "type"])
        self.assertEqual(ev["id"], "o1")
        self.assertEqual(ev["data"], {"order": 7})
        self.assertIn("time", ev)
        self.assertEqual(tags(p), {"event_id": "o1", "event_source": "shop",
                                   "event_type": "order.created"})
        self.assertTrue(all(x.type == "string" for x in p.parameters))

    def test_dispatch_matching_two_routes_starts_both_with_static_extras(self):
        r = self.stub.Dispatch(event(id="t2", text_data="hello"))
        self.assertEqual([p.name for p in r.pipelines], ["event00", "audit"])
        self.assertNotEqual(r.pipelines[0].id, r.pipelines[1].id)
        audit = r.pipelines[1]
        self.assertEqual([x.name for x in audit.parameters], ["id", "event", "level", "mode"])
        self.assertEqual(params(audit)["level"], "3")
        self.assertEqual({x.name: x.type for x in audit.parameters}["level"], "int")
        self.assertEqual(tags(audit)["team"], "data")
        # Both runs see the same event.
        self.assertEqual(params(r.pipelines[0])["event"], params(audit)["event"])
        self.assertEqual(json.loads(params(audit)["event"])["data"], "hello")

    def test_dispatch_same_source_and_id_twice_answers_the_original_pipelines(self):
        first = self.stub.Dispatch(event(id="dup-1"))
        again = self.stub.Dispatch(event(id="dup-1", text_data="changed"))
        self.assertFalse(first.duplicate)
        self.assertTrue(again.duplicate)
        self.assertEqual([p.id for p in again.pipelines], [p.id for p in first.pipelines])

    def test_dispatch_keeps_the_senders_time_and_extensions(self):
        e = event(id="tm1", myext="v", count=5, flag=True)
        e.attributes["time"].ce_timestamp.CopyFrom(timestamp_pb2.Timestamp(seconds=1522949460))
        r = self.stub.Dispatch(e)
        ev = json.loads(params(r.pipelines[0])["event"])
        self.assertEqual(ev["time"], "2018-04-05T17:31:00Z")
        self.assertEqual((ev["myext"], ev["count"], ev["flag"]), ("v", 5, True))

    def test_dispatch_batch_answers_one_result_per_event(self):
        batch = ce.CloudEventBatch(events=[event(id="b1"), event(id="b2", type="none"),
                                           event(id="b3", source="shop", type="order.created")])
        r = self.stub.DispatchBatch(batch)
        self.assertEqual([len(x.pipelines) for x in r.results], [2, 0, 1])

    def test_dispatch_batch_with_an_invalid_event_starts_nothing(self):
        batch = ce.CloudEventBatch(events=[event(id="bi1"), event(id="")])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.DispatchBatch(batch)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("events[1]", cm.exception.details())
        listed = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000))
        self.assertNotIn("bi1", [tags(p).get("event_id") for p in listed.pipelines])

    def test_invalid_event_answers_invalid_argument_naming_the_rule(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Dispatch(ce.CloudEvent(id="x", source="s", type="t", spec_version="0.3"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("spec", cm.exception.details())
        e = event(id="bad2")
        e.attributes["Bad.Name"].ce_string = "x"
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Dispatch(e)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("Bad.Name", cm.exception.details())

    def test_malformed_protobuf_bytes_answer_invalid_argument_and_serving_goes_on(self):
        raw = self.channel.unary_unary("/kedro.events.v1.EventService/Dispatch")
        with self.assertRaises(grpc.RpcError) as cm:
            raw(b"\x0a\xff\xff\xff\xff\x0f garbage")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("malformed", cm.exception.details())
        self.assertEqual(len(self.stub.Dispatch(event(id="after-malformed")).pipelines), 2)

    def test_unknown_method_answers_unimplemented_and_serving_goes_on(self):
        raw = self.channel.unary_unary("/kedro.events.v1.EventService/NoSuchMethod")
        with self.assertRaises(grpc.RpcError) as cm:
            raw(b"")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertIn("NoSuchMethod", cm.exception.details())
        self.assertEqual(len(self.stub.Dispatch(event(id="after-unknown")).pipelines), 2)

    def test_get_pipeline_returns_it_and_unknown_id_is_not_found(self):
        r = self.stub.Dispatch(event(id="g1"))
        got = self.stub.GetPipeline(pb.GetPipelineRequest(id=r.pipelines[0].id))
        self.assertEqual(got, r.pipelines[0])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.GetPipeline(pb.GetPipelineRequest(id="00000000-0000-0000-0000-000000000000"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.GetPipeline(pb.GetPipelineRequest())
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_create_pipeline_makes_a_child_listed_under_its_parent(self):
        parent = self.stub.Dispatch(event(id="c1")).pipelines[0]
        child = self.stub.CreatePipeline(pb.CreatePipelineRequest(
            name="example00", parent=parent.id,
            parameters=[pb.Parameter(name="x", value="1", type="int")],
            tags=[pb.Tag(key="k", value="v")]))
        self.assertEqual(child.parent, parent.id)
        self.assertEqual(child.status[-1].state, State.READY)
        listed = self.stub.ListPipelines(pb.ListPipelinesRequest(parent=parent.id))
        self.assertEqual([p.id for p in listed.pipelines], [child.id])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreatePipeline(pb.CreatePipelineRequest(name="x", parent="nope"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreatePipeline(pb.CreatePipelineRequest(name="bad name!"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_list_pipelines_filters_by_name_and_state_and_pages(self):
        for i in range(5):
            self.stub.Dispatch(event(id="page-%d" % i, source="shop", type="order.created"))
        seen, token = [], ""
        while True:
            page = self.stub.ListPipelines(pb.ListPipelinesRequest(
                name="orders", state=State.READY, page_size=2, page_token=token))
            self.assertLessEqual(len(page.pipelines), 2)
            seen += [p.id for p in page.pipelines]
            token = page.next_page_token
            if not token:
                break
        self.assertGreaterEqual(len(seen), 5)
        self.assertEqual(len(seen), len(set(seen)))
        created = [self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).created_at.ToMicroseconds()
                   for i in seen]
        self.assertEqual(created, sorted(created, reverse=True))
        none = self.stub.ListPipelines(pb.ListPipelinesRequest(state=State.SUCCESS))
        self.assertEqual(len(none.pipelines), 0)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListPipelines(pb.ListPipelinesRequest(page_token="bogus"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=-1))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


class LimitsTest(unittest.TestCase):
    def test_message_over_the_limit_is_resource_exhausted_and_serving_goes_on(self):
        with harness.Server(args=["--max-message-bytes", "4096"]) as server:
            with server.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                with self.assertRaises(grpc.RpcError) as cm:
                    stub.Dispatch(event(id="big", text_data="x" * 10000))
                self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                self.assertEqual(len(stub.Dispatch(event(id="small")).pipelines), 1)
            self.assertEqual(server.stop(), 0)


class DisabledTest(unittest.TestCase):
    def test_without_configuration_dispatch_is_failed_precondition_naming_the_variable(self):
        with harness.Server(config=None) as server:
            with server.channel() as ch:
                stub = rpc.EventServiceStub(ch)
                for call, msg in ((stub.Dispatch, event()),
                                  (stub.DispatchBatch, ce.CloudEventBatch(events=[event()]))):
                    with self.assertRaises(grpc.RpcError) as cm:
                        call(msg)
                    self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
                    self.assertIn("KEDRO_GRAPHQL_EVENTS_CONFIG", cm.exception.details())
                # Reading still works.
                self.assertEqual(len(stub.ListPipelines(pb.ListPipelinesRequest()).pipelines), 0)
            self.assertIn("KEDRO_GRAPHQL_EVENTS_CONFIG", server.stderr())
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

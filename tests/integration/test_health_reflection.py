"""grpc.health.v1 and server reflection, as grpcurl and load balancers use them,
driven with Python's grpcio and gRPC's own .proto files (Debian grpc-proto)."""

import threading
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
from grpcstd.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpcstd.reflection.v1 import reflection_pb2 as refl_v1  # noqa: E402
from grpcstd.reflection.v1 import reflection_pb2_grpc as refl_v1_grpc  # noqa: E402
from grpcstd.reflection.v1alpha import reflection_pb2 as refl  # noqa: E402
from grpcstd.reflection.v1alpha import reflection_pb2_grpc as refl_grpc  # noqa: E402

SERVICES = {"kedro.events.v1.EventService", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}


class HealthReflectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.channel = cls.server.channel()

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0, cls.server.stderr()

    def test_health_check_reports_serving_for_server_and_service(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        for name in ("", "kedro.events.v1.EventService"):
            r = stub.Check(health_pb2.HealthCheckRequest(service=name))
            self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)

    def test_health_check_of_unknown_service_is_not_found(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        with self.assertRaises(grpc.RpcError) as cm:
            stub.Check(health_pb2.HealthCheckRequest(service="no.Such"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_health_watch_streams_the_current_status(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=""))
        first = next(stream)
        self.assertEqual(first.status, health_pb2.HealthCheckResponse.SERVING)
        stream.cancel()
        unknown = stub.Watch(health_pb2.HealthCheckRequest(service="no.Such"))
        self.assertEqual(next(unknown).status, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        unknown.cancel()

    def _ask(self, stub_cls, module, **req):
        stub = stub_cls(self.channel)
        responses = list(stub.ServerReflectionInfo(iter([module.ServerReflectionRequest(**req)])))
        self.assertEqual(len(responses), 1)
        return responses[0]

    def test_reflection_lists_every_service(self):
        for stub_cls, module in ((refl_grpc.ServerReflectionStub, refl),
                                 (refl_v1_grpc.ServerReflectionStub, refl_v1)):
            r = self._ask(stub_cls, module, list_services="")
            self.assertEqual({s.name for s in r.list_services_response.service}, SERVICES)

    def test_reflection_file_containing_dispatch_decodes_to_the_service(self):
        r = self._ask(refl_grpc.ServerReflectionStub, refl,
                      file_containing_symbol="kedro.events.v1.EventService")
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in r.file_descriptor_response.file_descriptor_proto]
        self.assertEqual(files[0].name, "kedro/events/v1/events.proto")
        names = {f.name for f in files}
        self.assertIn("cloudevents/v1/cloudevents.proto", names)
        self.assertIn("google/protobuf/timestamp.proto", names)
        service = files[0].service[0]
        methods = {m.name: (m.input_type, m.output_type) for m in service.method}
        self.assertEqual(methods["Dispatch"],
                         (".io.cloudevents.v1.CloudEvent", ".kedro.events.v1.DispatchResponse"))
        self.assertIn("ListPipelines", methods)
        # The CloudEvent file describes the nested attribute value as the spec does.
        cefile = next(f for f in files if f.name == "cloudevents/v1/cloudevents.proto")
        msg = next(m for m in cefile.message_type if m.name == "CloudEvent")
        self.assertIn("CloudEventAttributeValue", [n.name for n in msg.nested_type])

    def test_reflection_unknown_symbol_answers_not_found_in_the_stream(self):
        r = self._ask(refl_grpc.ServerReflectionStub, refl, file_containing_symbol="no.Such")
        self.assertEqual(r.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])

    def test_reflection_answers_several_requests_on_one_stream(self):
        stub = refl_grpc.ServerReflectionStub(self.channel)
        reqs = [refl.ServerReflectionRequest(list_services=""),
                refl.ServerReflectionRequest(file_by_filename="cloudevents/v1/cloudevents.proto"),
                refl.ServerReflectionRequest(
                    file_containing_symbol="kedro.events.v1.EventService.Dispatch")]
        out = list(stub.ServerReflectionInfo(iter(reqs)))
        self.assertEqual(len(out), 3)
        self.assertEqual(out[1].original_request.file_by_filename,
                         "cloudevents/v1/cloudevents.proto")
        self.assertTrue(out[2].file_descriptor_response.file_descriptor_proto)

    def test_many_concurrent_calls_all_complete(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        errors = []

        def worker():
            try:
                for _ in range(50):
                    stub.Check(health_pb2.HealthCheckRequest())
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class ShutdownTest(unittest.TestCase):
    def test_sigterm_ends_open_watch_streams_at_once(self):
        import time
        server = harness.Server(args=["--shutdown-grace", "30"])
        with server.channel() as ch:
            stream = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest())
            self.assertEqual(next(stream).status, health_pb2.HealthCheckResponse.SERVING)
            start = time.monotonic()
            self.assertEqual(server.stop(), 0)
            elapsed = time.monotonic() - start
            # Shutdown is announced on the stream before it ends (issue 12, scope 7).
            self.assertEqual(next(stream).status, health_pb2.HealthCheckResponse.NOT_SERVING)
            with self.assertRaises(grpc.RpcError) as cm:
                next(stream)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # Not the 30 s grace period: the open stream was ended, not waited for.
        self.assertLess(elapsed, 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)

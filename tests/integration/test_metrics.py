"""Prometheus metrics of both faces: kedro-eventd --metrics-listen and the shim's GET /metrics,
scraped with requests/curl and parsed by Debian's python3-prometheus-client parser; the counts
must match what the test sent (accepted, duplicates, rejected by code, unmatched, pipelines
created and finished by name and state with the Kedro stand-in, shim requests by code)."""

import json
import os
import re
import tempfile
import unittest

import harness
import shim_harness

harness.load_stubs()

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # tests/deps.sh installs python3-prometheus-client
    print("skipped: python3-prometheus-client is not installed")
    raise SystemExit(77)
import grpc  # noqa: E402
import requests  # noqa: E402

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "audit": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
}
TOKEN = "metrics-token-0123456789abcdef"


def event(i, type="com.example.event", source="example.com"):
    return ce.CloudEvent(id="m-%s" % i, source=source, spec_version="1.0", type=type,
                         text_data='{"i": 1}')


def metrics_port(server):
    line = server.proc.stdout.readline().decode()
    m = re.search(r"^kedro-eventd: metrics on 127\.0\.0\.1:0 port (\d+)$", line.strip())
    if not m:
        raise RuntimeError("no metrics line: %r\n%s" % (line, server.stderr()))
    return int(m.group(1))


def parse(text):
    """{(sample name, frozenset(labels)): value} from the exposition text."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class EventdMetricsTest(unittest.TestCase):
    def setUp(self):
        self.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        self.project = tempfile.mkdtemp(prefix="ke-project-")
        self.server = harness.Server(
            config=CONFIG, runner="local", env={"KEDRO_STANDIN_RECORD_DIR": self.record_dir},
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", self.project,
                  "--max-runs", "2", "--metrics-listen", "127.0.0.1:0"])
        self.url = "http://127.0.0.1:%d/metrics" % metrics_port(self.server)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.assertEqual(self.server.stop(), 0, self.server.stderr())

    def scrape(self):
        r = requests.get(self.url, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return parse(r.text)

    def test_counts_match_what_was_sent(self):
        ids = []
        for i in range(5):  # each starts event00 and audit
            ids += [p.id for p in self.stub.Dispatch(event(i)).pipelines]
        self.assertTrue(self.stub.Dispatch(event(0)).duplicate)
        self.assertTrue(self.stub.Dispatch(event(1)).duplicate)
        ids += [p.id for p in self.stub.Dispatch(event("f", type="com.example.fail")).pipelines]
        self.assertEqual(len(self.stub.Dispatch(event("u", type="com.example.none")).pipelines),
                         0)
        for bad in (ce.CloudEvent(id="x", source="example.com", spec_version="1.0"),  # no type
                    ce.CloudEvent(id="", source="example.com", spec_version="1.0", type="t")):
            with self.assertRaises(grpc.RpcError) as cm:
                self.stub.Dispatch(bad)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        batch = ce.CloudEventBatch(events=[event("b1"), event("b2"), event(0)])
        res = self.stub.DispatchBatch(batch)
        self.assertEqual([r.duplicate for r in res.results], [False, False, True])
        ids += [p.id for r in res.results[:2] for p in r.pipelines]
        self.assertEqual(len(ids), 10 + 1 + 4)

        def finished():
            return all(self.stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1].state
                       in FINAL for i in ids)
        self.assertTrue(harness.wait_until(finished, timeout=120, step=0.1))
        # a child created with a name no route has
        child = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="child_x", parent=ids[0]))
        self.assertTrue(child.id)

        def settled():
            s = self.scrape()
            return (value(s, "kedro_events_pipelines_ready") == 0
                    and value(s, "kedro_events_pipelines_running") == 0
                    and value(s, "kedro_events_pipelines_finished_total",
                              pipeline="child_x", state="SUCCESS") == 1)
        self.assertTrue(harness.wait_until(settled, timeout=60, step=0.1))
        s = self.scrape()
        self.assertEqual(value(s, "kedro_events_build_info", version="0.1.0"), 1)
        # 5 + 2 duplicates + fail + unmatched + 2 invalid + a batch of 3
        self.assertEqual(value(s, "kedro_events_events_received_total"), 14)
        self.assertEqual(value(s, "kedro_events_events_accepted_total"), 5 + 1 + 1 + 2)
        self.assertEqual(value(s, "kedro_events_events_duplicate_total"), 3)
        self.assertEqual(value(s, "kedro_events_events_unmatched_total"), 1)
        self.assertEqual(value(s, "kedro_events_events_rejected_total", code="INVALID_ARGUMENT"),
                         2)
        self.assertEqual(value(s, "kedro_events_pipelines_created_total", pipeline="event00"), 7)
        self.assertEqual(value(s, "kedro_events_pipelines_created_total", pipeline="audit"), 7)
        self.assertEqual(value(s, "kedro_events_pipelines_created_total",
                               pipeline="fail_pipeline"), 1)
        self.assertEqual(value(s, "kedro_events_pipelines_created_total", pipeline="child_x"), 1)
        self.assertEqual(value(s, "kedro_events_pipelines_finished_total",
                               pipeline="event00", state="SUCCESS"), 7)
        self.assertEqual(value(s, "kedro_events_pipelines_finished_total",
                               pipeline="fail_pipeline", state="FAILURE"), 1)
        self.assertEqual(value(s, "kedro_events_pipelines_finished_total",
                               pipeline="fail_pipeline", state="SUCCESS"), 0)
        self.assertEqual(value(s, "kedro_events_pipelines_ready"), 0)
        self.assertEqual(value(s, "kedro_events_pipelines_running"), 0)
        # 11 Dispatch calls answered (2 invalid included), 1 DispatchBatch
        self.assertEqual(value(s, "kedro_events_dispatch_duration_seconds_count",
                               method="Dispatch"), 11)
        self.assertEqual(value(s, "kedro_events_dispatch_duration_seconds_bucket",
                               method="DispatchBatch", le="+Inf"), 1)
        self.assertGreater(value(s, "kedro_events_store_commit_duration_seconds_count"), 0)
        self.assertEqual(value(s, "kedro_events_config_routes"), 3)
        self.assertGreater(value(s, "process_resident_memory_bytes"), 1e6)
        self.assertGreater(value(s, "process_open_fds"), 3)

    def test_gauges_start_from_the_store(self):
        for i in range(3):
            self.stub.Dispatch(event(i, type="com.example.none"))
        self.channel.close()
        self.assertEqual(self.server.stop(), 0)
        # the same data dir with --runner none: 2 READY kept from before
        with harness.Server(config=CONFIG, data_dir=self.server.data_dir, runner="none") as s0:
            ch = s0.channel()
            rpc.EventServiceStub(ch).Dispatch(event("r"))  # event00 + audit stay READY
            ch.close()
            self.assertEqual(s0.stop(), 0)
        self.server = harness.Server(config=CONFIG, data_dir=self.server.data_dir, runner="none",
                                     args=["--metrics-listen", "127.0.0.1:0"])
        self.url = "http://127.0.0.1:%d/metrics" % metrics_port(self.server)
        self.channel = self.server.channel()
        s = self.scrape()
        self.assertEqual(value(s, "kedro_events_pipelines_ready"), 2)
        self.assertEqual(value(s, "kedro_events_events_received_total"), 0)

    def test_paths_methods_and_a_bad_address(self):
        base = self.url[:-len("/metrics")]
        self.assertEqual(requests.get(base + "/other", timeout=10).status_code, 404)
        r = requests.post(self.url, data=b"x", timeout=10)
        self.assertEqual(r.status_code, 405)
        self.assertIn("GET", r.headers["Allow"])
        self.assertEqual(requests.head(self.url, timeout=10).status_code, 200)
        p = harness.subprocess.run([harness.EVENTD, "--metrics-listen", "256.1.2.3:0",
                                    "--listen", "127.0.0.1:0", "--runner", "none",
                                    "--data-dir", tempfile.mkdtemp()],
                                   capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--metrics-listen '256.1.2.3:0'", p.stderr)
        p = harness.subprocess.run([harness.EVENTD, "--metrics-listen", "nocolon"],
                                   capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--metrics-listen \"nocolon\"", p.stderr)


class EventdMetricsAuthTest(unittest.TestCase):
    def test_scrape_needs_the_bearer_token(self):
        d = tempfile.mkdtemp(prefix="ke-tokens-")
        path = os.path.join(d, "tokens")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        with harness.Server(args=["--auth-tokens", path, "--metrics-listen", "127.0.0.1:0"]) as s:
            url = "http://127.0.0.1:%d/metrics" % metrics_port(s)
            self.assertEqual(requests.get(url, timeout=10).status_code, 401)
            r = requests.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"},
                             timeout=10)
            self.assertEqual(r.status_code, 401)
            r = requests.get(url, headers={"Authorization": "Bearer " + TOKEN}, timeout=10)
            self.assertEqual(r.status_code, 200)
            self.assertIn("kedro_events_events_received_total", r.text)
            self.assertEqual(s.stop(), 0)


class ShimMetricsTest(unittest.TestCase):
    def test_requests_counted_by_route_and_code(self):
        with harness.Server(config=CONFIG) as server, \
                shim_harness.Shim(server.target) as shim:
            for i in range(3):
                a = shim_harness.curl(shim.url + "/event/", "-H",
                                      "Content-Type: application/cloudevents+json",
                                      data=json.dumps(shim_harness.structured(id="s%d" % i)).encode())
                self.assertEqual(a.status, 200, a)
            a = shim_harness.curl(shim.url + "/event/", "-H",
                                  "Content-Type: application/cloudevents+json", data=b"{}")
            self.assertEqual(a.status, 400)
            self.assertEqual(shim_harness.curl(shim.url + "/nowhere").status, 404)
            self.assertEqual(shim_harness.curl(shim.url + "/healthz").status, 200)
            self.assertEqual(shim_harness.curl(shim.url + "/pipelines").status, 200)
            self.assertEqual(shim_harness.curl(shim.url + "/metrics", "-X", "DELETE").status, 405)
            a = shim_harness.curl(shim.url + "/metrics")
            self.assertEqual(a.status, 200)
            self.assertEqual(a.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
            s = parse(a.body)
            n = "kedro_event_shim_requests_total"
            self.assertEqual(value(s, n, route="event", code="200"), 3)
            self.assertEqual(value(s, n, route="event", code="400"), 1)
            self.assertEqual(value(s, n, route="other", code="404"), 1)
            self.assertEqual(value(s, n, route="healthz", code="200"), 1)
            self.assertEqual(value(s, n, route="pipelines", code="200"), 1)
            self.assertEqual(value(s, n, route="metrics", code="405"), 1)
            self.assertEqual(value(s, "kedro_event_shim_request_duration_seconds_count",
                                   route="event"), 4)
            self.assertEqual(value(s, "kedro_event_shim_build_info", version="0.1.0"), 1)
            # the scrape itself is counted once it completed
            s = parse(shim_harness.curl(shim.url + "/metrics").body)
            self.assertEqual(value(s, n, route="metrics", code="200"), 1)

    def test_shim_metrics_need_the_token_and_healthz_does_not(self):
        d = tempfile.mkdtemp(prefix="ke-tokens-")
        path = os.path.join(d, "tokens")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        with harness.Server(config=CONFIG) as server, \
                shim_harness.Shim(server.target, args=["--auth-tokens", path]) as shim:
            self.assertEqual(shim_harness.curl(shim.url + "/metrics").status, 401)
            self.assertEqual(shim_harness.curl(shim.url + "/healthz").status, 200)
            a = shim_harness.curl(shim.url + "/metrics", "-H", "Authorization: Bearer " + TOKEN)
            self.assertEqual(a.status, 200)
            s = parse(a.body)
            self.assertEqual(value(s, "kedro_event_shim_requests_total", route="metrics",
                                   code="401"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)

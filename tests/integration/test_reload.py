"""SIGHUP reloads the event configuration from where it came while events flow from several
grpcio threads: no call fails because of the swap, the new route starts pipelines after it, an
invalid file is refused (log line, counter) with the old routes still working; a configuration
appearing in the .env file enables dispatch; an inline one cannot change."""

import json
import os
import re
import signal
import tempfile
import threading
import time
import unittest

import harness

harness.load_stubs()

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # tests/deps.sh installs python3-prometheus-client
    print("skipped: python3-prometheus-client is not installed")
    raise SystemExit(77)
import grpc  # noqa: E402
import requests  # noqa: E402

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2_grpc as rpc  # noqa: E402

OLD = {"event00": {"source": "example.com", "type": "com.example.event"}}
NEW = {"event00": {"source": "example.com", "type": "com.example.event"},
       "fresh": {"source": "example.com", "type": "com.example.fresh"}}


def metrics(server):
    line = server.proc.stdout.readline().decode()
    m = re.search(r"metrics on .* port (\d+)", line)
    assert m, (line, server.stderr())
    return "http://127.0.0.1:%s/metrics" % m.group(1)


def scrape(url):
    out = {}
    for fam in text_string_to_metric_families(requests.get(url, timeout=10).text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def reloads(url, result):
    return scrape(url).get(("kedro_events_config_reloads_total", (("result", result),)), 0)


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Sender(threading.Thread):
    """Sends events of each type in turn until stopped, recording every call's outcome."""

    def __init__(self, target, n, types):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(target)
        self.stub = rpc.EventServiceStub(self.channel)
        self.n, self.types = n, types
        self.stop = threading.Event()
        self.errors = []
        self.results = []  # (monotonic time sent, time answered, type, pipeline names)

    def run(self):
        i = 0
        while not self.stop.is_set():
            t = self.types[i % len(self.types)]
            e = ce.CloudEvent(id="t%d-%d" % (self.n, i), source="example.com", spec_version="1.0",
                              type=t, text_data="{}")
            sent = time.monotonic()
            try:
                r = self.stub.Dispatch(e, timeout=30)
                self.results.append((sent, time.monotonic(), t, [p.name for p in r.pipelines]))
            except grpc.RpcError as err:
                self.errors.append((t, err.code(), err.details()))
            i += 1
        self.channel.close()


class ReloadTest(unittest.TestCase):
    def test_swap_while_events_flow_then_an_invalid_file_is_refused(self):
        d = tempfile.mkdtemp(prefix="ke-reload-")
        path = os.path.join(d, "events.json")
        write(path, json.dumps(OLD))
        with harness.Server(config=None, args=["--events-config", "@" + path,
                                               "--metrics-listen", "127.0.0.1:0"]) as s:
            url = metrics(s)
            senders = [Sender(s.target, n, ["com.example.event", "com.example.fresh"])
                       for n in range(4)]
            for t in senders:
                t.start()
            time.sleep(0.5)
            write(path, json.dumps(NEW))
            before = time.monotonic()
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: reloads(url, "success") == 1, timeout=20))
            after = time.monotonic()
            time.sleep(0.5)
            write(path, '{"broken": ')
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: reloads(url, "failure") == 1, timeout=20))
            time.sleep(0.5)
            os.unlink(path)  # a file gone is refused too
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: reloads(url, "failure") == 2, timeout=20))
            time.sleep(0.5)
            for t in senders:
                t.stop.set()
            for t in senders:
                t.join(timeout=60)
            self.assertEqual([e for t in senders for e in t.errors], [])
            results = [r for t in senders for r in t.results]
            self.assertGreater(len(results), 50)
            fresh = [r for r in results if r[2] == "com.example.fresh"]
            # answered before SIGHUP: no route; sent after the reload was counted: the new one
            early = [r for r in fresh if r[1] < before]
            self.assertGreater(len(early), 10)
            self.assertTrue(all(r[3] == [] for r in early))
            late = [r for r in fresh if r[0] > after]
            self.assertGreater(len(late), 10)
            self.assertTrue(all(r[3] == ["fresh"] for r in late), late[:5])
            # the old route worked throughout
            self.assertTrue(all(r[3] == ["event00"] for r in results
                                if r[2] == "com.example.event"))
            m = scrape(url)
            self.assertEqual(m[("kedro_events_config_routes", ())], 2)
            self.assertGreater(m[("kedro_events_config_last_reload_success_timestamp_seconds",
                                  ())], time.time() - 120)
            self.assertEqual(s.stop(), 0)
            err = s.stderr()
            self.assertIn("reload: 2 event route(s) from --events-config @" + path, err)
            self.assertRegex(err, r"reload: event configuration refused, the old one kept: "
                                  r"--events-config @.*: not valid JSON")
            self.assertRegex(err, r"refused, the old one kept: .*cannot read: No such file")

    def test_dotenv_appearing_enables_dispatch_and_inline_cannot_change(self):
        d = tempfile.mkdtemp(prefix="ke-reload-")
        with harness.Server(config=None, cwd=d, args=["--metrics-listen", "127.0.0.1:0"]) as s:
            url = metrics(s)
            ch = s.channel()
            stub = rpc.EventServiceStub(ch)
            e = ce.CloudEvent(id="1", source="example.com", spec_version="1.0",
                              type="com.example.event", text_data="{}")
            with self.assertRaises(grpc.RpcError) as cm:
                stub.Dispatch(e)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
            write(os.path.join(d, ".env"),
                  "KEDRO_GRAPHQL_EVENTS_CONFIG='%s'\n" % json.dumps(OLD))
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: reloads(url, "success") == 1, timeout=20))
            self.assertEqual([p.name for p in stub.Dispatch(e).pipelines], ["event00"])
            ch.close()
            self.assertEqual(s.stop(), 0)
        with harness.Server(config=OLD, args=["--metrics-listen", "127.0.0.1:0"]) as s:
            url = metrics(s)
            s.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(
                lambda: "cannot change; kept" in s.stderr(), timeout=20))
            self.assertEqual(reloads(url, "success") + reloads(url, "failure"), 0)
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

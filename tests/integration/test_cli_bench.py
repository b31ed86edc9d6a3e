"""`kedro-events bench` against the real kedro-eventd (--runner none): the open loop of --rate
(exactly the calls asked for reach the server, the report's rate object and lines, calls held
back by the in-flight cap, invalid rates refused) and the closed loop's report keeping its
keys. What reached the server is counted with Python's grpcio. Nothing here is timed: the
figures are only checked for their shape and for counts fixed by the flags."""

import json
import os
import re
import subprocess
import unittest

import harness

harness.load_stubs()

from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")


def bench(target, *args, timeout=120):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
    return subprocess.run([CLI, "bench", "--target", target] + [str(a) for a in args],
                          capture_output=True, env=env, timeout=timeout)


class BenchRateTest(unittest.TestCase):
    def setUp(self):
        # a server per test: each counts the pipelines its own run left
        self.server = harness.Server()
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.server.stop()

    def pipelines(self):
        """How many pipelines the server holds, paging through ListPipelines."""
        count, token = 0, ""
        while True:
            page = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000,
                                                                   page_token=token))
            count += len(page.pipelines)
            token = page.next_page_token
            if not token:
                return count

    def json_run(self, *args):
        p = bench(self.server.target, "--json-out", *args)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout)

    def test_rate_with_requests_sends_exactly_that_many_calls_and_reports_the_rate(self):
        r = self.json_run("--rate", "200", "--requests", "300", "--warmup", "0")
        self.assertEqual(r["calls"], 300)
        self.assertEqual(r["ok_calls"], 300)
        self.assertEqual(r["warmup_calls"], 0)
        self.assertEqual(r["drained_calls"], 0)
        self.assertEqual(r["errors"], 0)
        self.assertEqual(self.pipelines(), 300)
        rate = r["rate"]
        self.assertEqual(rate["scheduled_per_s"], 200)
        self.assertGreater(rate["sent_per_s"], 0)
        self.assertEqual(sorted(rate["lag_ms"]), ["max", "p50", "p99"])
        self.assertLessEqual(rate["lag_ms"]["p50"], rate["lag_ms"]["p99"])
        self.assertLessEqual(rate["lag_ms"]["p99"], rate["lag_ms"]["max"])
        self.assertEqual(rate["delayed_by_cap"], 0)  # far below the default cap of 10,000
        self.assertGreaterEqual(rate["max_in_flight"], 1)
        self.assertEqual(r["concurrency"], 10000)
        for key in ("p50", "p90", "p99", "max", "mean"):
            self.assertGreater(r["latency_ms"][key], 0)
        self.assertGreater(r["dispatches_per_s"], 0)

    def test_rate_warmup_calls_are_those_due_in_it_and_duration_sets_the_measured_ones(self):
        # at 100/s: 0.2 s of warmup holds calls 0..19, 0.5 s of duration calls 20..69
        r = self.json_run("--rate", "100", "--duration", "0.5", "--warmup", "0.2")
        self.assertEqual(r["warmup_calls"], 20)
        self.assertEqual(r["calls"], 50)
        self.assertEqual(r["ok_calls"], 50)
        self.assertEqual(self.pipelines(), 70)

    def test_rate_with_batch_sends_k_events_per_call(self):
        r = self.json_run("--rate", "100", "--requests", "10", "--batch", "5")
        self.assertEqual(r["method"], "DispatchBatch")
        self.assertEqual(r["calls"], 10)
        self.assertEqual(r["dispatches"], 50)
        self.assertEqual(self.pipelines(), 50)

    def test_calls_due_while_the_cap_is_reached_wait_and_are_counted_as_delayed(self):
        # 20 calls due 1 us apart with one allowed in flight: an answer (a gRPC round trip and
        # a durable insert) cannot come back within the microsecond before the next is due
        r = self.json_run("--rate", "1000000", "--requests", "20", "--concurrency", "1")
        self.assertEqual(r["calls"], 20)
        self.assertEqual(r["rate"]["max_in_flight"], 1)
        self.assertGreaterEqual(r["rate"]["delayed_by_cap"], 1)
        self.assertLessEqual(r["rate"]["delayed_by_cap"], 19)
        self.assertEqual(r["concurrency"], 1)
        self.assertEqual(self.pipelines(), 20)

    def test_rate_text_report_keeps_the_parsed_lines_and_adds_the_rate_line(self):
        p = bench(self.server.target, "--rate", "500", "--requests", "50")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertRegex(out, r"(?m)^concurrency  open loop, at most 10000 in flight over 1 "
                              r"connection \(peak \d+; delayed by the in-flight cap: \d+\)$")
        self.assertRegex(out, r"(?m)^calls        50 in [0-9.]+ s$")
        self.assertRegex(out, r"(?m)^throughput   \d+ dispatches/s$")
        self.assertRegex(out, r"(?m)^latency      p50 [0-9.]+ ms  p90 [0-9.]+ ms  p99 [0-9.]+ ms"
                              r"  max [0-9.]+ ms  \(mean [0-9.]+ ms\)$")
        self.assertRegex(out, r"(?m)^rate         500 calls/s scheduled, [0-9.]+ calls/s sent, "
                              r"lag p50 [0-9.]+ ms p99 [0-9.]+ ms max [0-9.]+ ms$")
        self.assertRegex(out, r"(?m)^errors       none$")

    def test_invalid_rates_exit_2_naming_the_flag(self):
        for value in ("0", "-1", "-0.5", "nan", "NaN", "inf", "-inf", "1e400", "1000001",
                      "2e6", "abc", "5x", "0x10", "", " 5"):
            with self.subTest(value=value):
                p = bench(self.server.target, "--rate", value, "--requests", "1")
                self.assertEqual(p.returncode, 2, p.stderr.decode())
                self.assertIn("--rate '%s' is not a number of calls per second" % value,
                              p.stderr.decode())
                self.assertEqual(p.stdout, b"")
        p = bench(self.server.target, "--rate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--rate needs a value", p.stderr.decode())
        self.assertEqual(self.pipelines(), 0)

    def test_closed_loop_keeps_its_keys_and_has_no_rate(self):
        r = self.json_run("--requests", "40", "--concurrency", "4")
        self.assertIsNone(r["rate"])
        self.assertEqual(r["calls"], 40)
        self.assertEqual(r["concurrency"], 4)
        for key in ("dispatches_per_s", "calls_per_s", "errors", "errors_by_status",
                    "warmup_calls", "drained_calls", "interval_s"):
            self.assertIn(key, r)
        self.assertEqual(sorted(r["latency_ms"]), ["max", "mean", "p50", "p90", "p99"])
        p = bench(self.server.target, "--requests", "10", "--concurrency", "2")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        self.assertRegex(out, r"(?m)^concurrency  2 calls in flight over 1 connection$")
        self.assertNotRegex(out, r"(?m)^rate ")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-event-shim driven with curl (Debian's), in front of the real kedro-eventd: binary mode
with percent-encoded headers that arrive decoded in the event, and every error answer, each its
own test. Statuses only a misbehaving server produces come from a stand-in gRPC server
(Python's grpcio)."""

import concurrent.futures
import json
import os
import unittest

import grpc

import harness
import shim_harness as sh
from shim_harness import curl, binary_args

EVENT_URL = "/event/"


class CurlAgainstEventd(unittest.TestCase):
    """One kedro-eventd (runner none) and one shim for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.shim = sh.Shim(cls.server.target, args=["--max-body-bytes", "4096"])
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.server.__exit__(None, None, None)
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def url(self, path=EVENT_URL):
        return self.shim.url + path

    def headers(self, **over):
        CurlAgainstEventd.n += 1
        h = dict(sh.BINARY_HEADERS, **{"ce-id": "curl-%d" % CurlAgainstEventd.n})
        h.update({k.replace("_", "-"): v for k, v in over.items()})
        return h

    def assert_detail(self, a, status, *needles):
        self.assertEqual(a.status, status, a)
        self.assertEqual(a.headers.get("content-type"), "application/json", a)
        detail = a.json()["detail"]
        for n in needles:
            self.assertIn(n, detail, a)
        return detail

    # ---- binary mode ----

    def test_binary_mode_percent_encoded_header_arrives_decoded(self):
        h = self.headers(ce_subject=sh.EURO_ENCODED, ce_comment="100%25 sure")
        a = curl(self.url(), *binary_args(h, "application/json"), data=b'{"key": "value"}')
        self.assertEqual(a.status, 200, a)
        [p] = a.json()
        self.assertEqual(p["name"], "event00")
        self.assertEqual(p["status"][-1]["state"], "READY")
        ev = sh.event_param(p)
        self.assertEqual(ev["subject"], sh.EURO)
        self.assertEqual(ev["comment"], "100% sure")  # decoded once: %25 is a literal %
        self.assertEqual(ev["data"], {"key": "value"})
        self.assertEqual(ev["datacontenttype"], "application/json")
        self.assertEqual(ev["id"], h["ce-id"])
        self.assertNotIn("x-duplicate", a.headers)

    def test_binary_mode_without_trailing_slash_and_upper_case_headers(self):
        h = {k.upper(): v for k, v in self.headers().items()}
        a = curl(self.url("/event"), *binary_args(h, "TEXT/PLAIN; charset=utf-8"),
                 data=b"hello")
        self.assertEqual(a.status, 200, a)
        ev = sh.event_param(a.json()[0])
        self.assertEqual(ev["data"], "hello")
        self.assertEqual(ev["datacontenttype"], "TEXT/PLAIN; charset=utf-8")

    def test_binary_mode_time_and_binary_data(self):
        h = self.headers(ce_time="2018-04-05T17:31:00Z")
        a = curl(self.url(), *binary_args(h, "application/octet-stream"), data=b"\x00\xff\x10")
        self.assertEqual(a.status, 200, a)
        ev = sh.event_param(a.json()[0])
        self.assertEqual(ev["time"], "2018-04-05T17:31:00Z")
        self.assertEqual(ev["data_base64"], "AP8Q")

    def test_a_repeated_event_answers_the_original_pipelines(self):
        h = self.headers()
        first = curl(self.url(), *binary_args(h), data=b"")
        again = curl(self.url(), *binary_args(h), data=b"")
        self.assertEqual(first.status, 200, first)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(again.headers.get("x-duplicate"), "true")

    def test_structured_mode_with_curl(self):
        body = json.dumps(sh.structured(id="curl-structured", data={"k": [1, 2]})).encode()
        a = curl(self.url(), "-H", "Content-Type: Application/CloudEvents+JSON; charset=UTF-8",
                 data=body)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(sh.event_param(a.json()[0])["data"], {"k": [1, 2]})

    def test_batched_mode_answers_one_array_per_event(self):
        batch = [sh.structured(id="batch-1"), sh.structured(id="batch-2", type="no.route")]
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents-batch+json",
                 data=json.dumps(batch).encode())
        self.assertEqual(a.status, 200, a)
        body = a.json()
        self.assertEqual(len(body), 2)
        self.assertEqual([p["name"] for p in body[0]], ["event00"])
        self.assertEqual(body[1], [])

    def test_an_event_that_matches_nothing_answers_an_empty_array(self):
        a = curl(self.url(), *binary_args(self.headers(ce_type="nobody.listens")), data=b"")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json(), [])

    # ---- bad input: each its own test ----

    def test_malformed_json_is_400(self):
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents+json",
                 data=b'{"specversion": "1.0", "id": ')
        self.assert_detail(a, 400, "structured mode")

    def test_a_non_object_event_is_400(self):
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents+json",
                 data=b'["not", "an", "event"]')
        self.assert_detail(a, 400, "not an object")

    def test_a_batch_that_is_not_an_array_is_400(self):
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents-batch+json",
                 data=json.dumps(sh.structured()).encode())
        self.assert_detail(a, 400, "batched mode")

    def test_a_body_over_the_limit_is_413_before_it_is_read(self):
        a = curl(self.url(), *binary_args(self.headers(), "text/plain"), data=b"x" * 5000)
        self.assert_detail(a, 413, "4096")

    def test_a_chunked_body_growing_past_the_limit_is_413(self):
        a = curl(self.url(), *binary_args(self.headers(), "text/plain"),
                 "-H", "Transfer-Encoding: chunked", data=b"x" * 20000)
        self.assert_detail(a, 413, "4096")

    def test_a_body_at_the_limit_is_accepted(self):
        a = curl(self.url(), *binary_args(self.headers(), "text/plain"), data=b"y" * 4096)
        self.assertEqual(a.status, 200, a)

    def test_a_wrong_method_is_405_with_allow(self):
        a = curl(self.url(), "-X", "PUT", data=b"{}")
        self.assert_detail(a, 405, "PUT")
        self.assertEqual(a.headers["allow"], "POST")
        a = curl(self.url("/event"))
        self.assert_detail(a, 405, "GET")
        a = curl(self.url("/healthz"), "-X", "DELETE")
        self.assertEqual(a.status, 405, a)
        self.assertEqual(a.headers["allow"], "GET, HEAD")

    def test_an_unknown_structured_format_is_415(self):
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents+avro", data=b"\x00")
        self.assert_detail(a, 415, "application/cloudevents+avro")

    def test_invalid_utf8_in_a_header_is_400_naming_it(self):
        a = curl(self.url(), *binary_args(self.headers(ce_subject="bad%FFbyte")), data=b"")
        self.assert_detail(a, 400, "ce-subject", "UTF-8")

    def test_missing_required_attributes_are_400_from_the_server(self):
        h = self.headers()
        del h["ce-source"]
        a = curl(self.url(), *binary_args(h), data=b"")
        self.assert_detail(a, 400, "source")

    def test_a_structured_event_without_id_is_400(self):
        ev = sh.structured()
        del ev["id"]
        a = curl(self.url(), "-H", "Content-Type: application/cloudevents+json",
                 data=json.dumps(ev).encode())
        self.assert_detail(a, 400, "id")

    def test_a_post_in_neither_mode_is_400_naming_what_is_missing(self):
        a = curl(self.url(), "-H", "Content-Type: application/json", data=b'{"key": "value"}')
        self.assert_detail(a, 400, "ce-specversion", "application/cloudevents+json")

    def test_a_bad_ce_time_is_400(self):
        a = curl(self.url(), *binary_args(self.headers(ce_time="tomorrow")), data=b"")
        self.assert_detail(a, 400, "ce-time")

    def test_an_unknown_path_is_404(self):
        a = curl(self.url("/events/"), "-X", "POST", data=b"{}")
        self.assertEqual(a.status, 404, a)
        self.assertEqual(a.json(), {"detail": "Not Found"})

    def test_an_unknown_pipeline_is_404(self):
        a = curl(self.url("/pipelines/00000000-0000-0000-0000-000000000000"))
        self.assertEqual(a.status, 404, a)


class CurlDispatchDisabled(unittest.TestCase):
    def test_dispatch_disabled_is_404_naming_the_variable(self):
        with harness.Server(config=None) as server, sh.Shim(server.target) as shim:
            a = curl(shim.url + EVENT_URL, *binary_args(sh.BINARY_HEADERS), data=b"")
            self.assertEqual(a.status, 404, a)
            self.assertIn("KEDRO_GRAPHQL_EVENTS_CONFIG", a.json()["detail"])


class CurlAgainstAStandInServer(unittest.TestCase):
    """Statuses that only a failing or overloaded server answers, from a grpcio stand-in."""

    def post(self, shim):
        return curl(shim.url + EVENT_URL, *binary_args(sh.BINARY_HEADERS), data=b"")

    def test_unavailable_from_a_connected_server_is_503_with_retry_after(self):
        with sh.FakeEventd(grpc.StatusCode.UNAVAILABLE, message="shutting down") as fake, \
                sh.Shim(fake.target) as shim:
            a = self.post(shim)
            self.assertEqual(a.status, 503, a)
            self.assertIn("shutting down", a.json()["detail"])
            self.assertEqual(a.headers.get("retry-after"), "1")

    def test_resource_exhausted_is_413(self):
        with sh.FakeEventd(grpc.StatusCode.RESOURCE_EXHAUSTED, message="too big") as fake, \
                sh.Shim(fake.target) as shim:
            a = self.post(shim)
            self.assertEqual(a.status, 413, a)
            self.assertIn("too big", a.json()["detail"])

    def test_an_internal_error_is_500(self):
        with sh.FakeEventd(grpc.StatusCode.INTERNAL, message="disk full") as fake, \
                sh.Shim(fake.target) as shim:
            a = self.post(shim)
            self.assertEqual(a.status, 500, a)
            self.assertIn("disk full", a.json()["detail"])

    def test_permission_denied_is_403(self):
        with sh.FakeEventd(grpc.StatusCode.PERMISSION_DENIED, message="no") as fake, \
                sh.Shim(fake.target) as shim:
            self.assertEqual(self.post(shim).status, 403)

    def test_no_answer_before_the_deadline_is_504(self):
        with sh.FakeEventd(grpc.StatusCode.OK, delay=3) as fake, \
                sh.Shim(fake.target, args=["--timeout", "0.5"]) as shim:
            a = self.post(shim)
            self.assertEqual(a.status, 504, a)
            self.assertIn(fake.target, a.json()["detail"])

    def test_past_max_inflight_is_429_with_retry_after(self):
        with sh.FakeEventd(grpc.StatusCode.OK, delay=1.5) as fake, \
                sh.Shim(fake.target, args=["--max-inflight", "2"]) as shim:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda _: self.post(shim), range(4)))
            statuses = sorted(a.status for a in answers)
            self.assertEqual(statuses, [200, 200, 429, 429], answers)
            for a in answers:
                if a.status == 429:
                    self.assertEqual(a.headers.get("retry-after"), "1")
                    self.assertIn("2 requests", a.json()["detail"])
                else:
                    self.assertEqual(a.json(), [])  # the stand-in answers no pipelines

    def test_sigterm_answers_the_requests_in_flight_then_exits_0(self):
        with sh.FakeEventd(grpc.StatusCode.OK, delay=1.0) as fake:
            shim = sh.Shim(fake.target)
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                pending = [pool.submit(self.post, shim) for _ in range(3)]
                harness.wait_until(lambda: fake.calls == 3, timeout=10)
                status = shim.stop()
                answers = [p.result() for p in pending]
            self.assertEqual(status, 0, shim.stderr())
            self.assertEqual([a.status for a in answers], [200, 200, 200], answers)


class CurlServerDown(unittest.TestCase):
    def test_a_server_that_is_down_is_502_and_the_shim_recovers_when_it_is_back(self):
        port = sh.free_port()
        target = "127.0.0.1:%d" % port
        with sh.Shim(target) as shim:
            a = curl(shim.url + EVENT_URL, *binary_args(sh.BINARY_HEADERS), data=b"")
            self.assertEqual(a.status, 502, a)
            self.assertIn(target, a.json()["detail"])
            h = curl(shim.url + "/healthz")
            self.assertEqual(h.status, 503, h)
            self.assertEqual(h.json()["status"], "UNREACHABLE")
            with harness.Server(args=["--listen", target]):
                def ok():
                    return curl(shim.url + "/healthz").status == 200
                # the library retries a failed connection within 2 s
                self.assertTrue(harness.wait_until(ok, timeout=5, step=0.2), shim.stderr())
                a = curl(shim.url + EVENT_URL, *binary_args(sh.BINARY_HEADERS), data=b"")
                self.assertEqual(a.status, 200, a)
                self.assertEqual(a.json()[0]["name"], "event00")


class ShimCommandLine(unittest.TestCase):
    def test_help_lists_the_flags(self):
        import subprocess
        r = subprocess.run([sh.SHIM, "--help"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for flag in ("--listen", "--target", "--max-body-bytes", "--timeout",
                     "--connection-timeout", "--threads", "--max-inflight"):
            self.assertIn(flag, out)

    def test_bad_flags_exit_2(self):
        import subprocess
        for args in (["--threads", "0"], ["--timeout", "x"], ["--listen", "nope"], ["extra"]):
            r = subprocess.run([sh.SHIM] + args, capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 2, (args, r.stderr))

    def test_an_address_in_use_exits_1(self):
        import socket
        import subprocess
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            r = subprocess.run([sh.SHIM, "--listen", "127.0.0.1:%d" % s.getsockname()[1]],
                               capture_output=True, timeout=10)
        finally:
            s.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"cannot listen", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-event-shim's strict HTTP framing, over raw loopback sockets (no HTTP client trims,
fixes or refuses the bytes): every request whose body length two HTTP implementations could
read differently is answered 400 (a transfer coding other than chunked 501) and its
connection closed, so a second request hidden in its body is never answered nor dispatched
(checked with Python's grpcio against kedro-eventd); a folded header line, whitespace before
a colon and a missing Host are refused; a wrong method is answered 405 before the body is
sent; and a flood of malformed requests writes a bounded number of lines to stderr."""

import json
import socket
import time
import unittest

import harness
import shim_harness as sh

harness.load_stubs()

from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

LOG_PER_S = 10  # KES_LOG_PER_S in client/shim/framing.h


def binary_event(event_id, method=b"POST", extra=b"", body=b"{}"):
    """A complete binary-mode POST /event/ whose event routes to pipeline event00."""
    return (method + b" /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"ce-specversion: 1.0\r\nce-id: " + event_id + b"\r\n"
            b"ce-source: example.com\r\nce-type: com.example.event\r\n"
            b"Content-Type: application/json\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def exchange(port, data, timeout=10):
    """Sends data on a new connection and reads until the shim closes it or timeout passes;
    returns (every byte received, whether the shim closed the connection, seconds taken)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks, closed = [], False
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    closed = True
                    break
                chunks.append(c)
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks), closed, time.monotonic() - t0


def statuses(raw):
    """The status codes of the answers in raw, read as an HTTP client reads them (each body
    by its Content-Length)."""
    out = []
    while raw.startswith(b"HTTP/1."):
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        out.append(int(lines[0].split(b" ")[1]))
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        raw = rest[length:]
    return out


class StrictFraming(unittest.TestCase):
    """One kedro-eventd (runner none) and one shim for the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.shim = sh.Shim(cls.server.target, args=["--max-body-bytes", "4096"])

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def stored_event_ids(self):
        """The CloudEvent ids of every pipeline kedro-eventd holds."""
        page = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000))
        ids = set()
        for p in page.pipelines:
            for param in p.parameters:
                if param.name == "event":
                    ids.add(json.loads(param.value)["id"])
        return ids

    def assert_refused_and_closed(self, data, status, *needles):
        raw, closed, took = exchange(self.shim.port, data)
        self.assertEqual(statuses(raw), [status], raw)
        self.assertTrue(closed, "the connection stayed open after %d: %r" % (status, raw))
        self.assertIn(b"connection: close", raw.lower(), raw)
        for n in needles:
            self.assertIn(n, raw, raw)
        return raw

    def assert_not_smuggled(self, first_id, hidden_id, data, *needles):
        """data carries event first_id in front and event hidden_id hidden in its body: both
        refused, neither dispatched."""
        self.assert_refused_and_closed(data, 400, *needles)
        stored = self.stored_event_ids()
        self.assertNotIn(hidden_id.decode(), stored, "the hidden request was dispatched")
        self.assertNotIn(first_id.decode(), stored, "the refused request was dispatched")

    # ---- smuggling: the body's length is ambiguous ----

    def test_content_length_with_transfer_encoding_is_400_and_nothing_hidden_runs(self):
        hidden = binary_event(b"smuggled-te")
        data = (b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\nce-specversion: 1.0\r\nce-id: front-te\r\n"
                b"ce-source: example.com\r\nce-type: com.example.event\r\n"
                b"Content-Type: application/json\r\n\r\n0\r\n\r\n" + hidden)
        self.assert_not_smuggled(b"front-te", b"smuggled-te", data,
                                 b"both Content-Length and Transfer-Encoding")

    def test_two_different_content_lengths_are_400_and_nothing_hidden_runs(self):
        hidden = binary_event(b"smuggled-cl")
        front = binary_event(b"front-cl")
        # one reader takes the first length ("{}"), another the second ("{}" and the hidden
        # request as the body)
        data = front.replace(b"Content-Length: 2\r\n",
                             b"Content-Length: 2\r\nContent-Length: %d\r\n"
                             % (2 + len(hidden))) + hidden
        self.assertEqual(data.count(b"Content-Length:"), 3)
        self.assert_not_smuggled(b"front-cl", b"smuggled-cl", data,
                                 b"Content-Length header appears more than once")

    def test_a_repeated_or_malformed_content_length_is_400(self):
        data = binary_event(b"twice-equal", extra=b"Content-Length: 2\r\n")
        self.assert_refused_and_closed(data, 400, b"more than once")
        for value in (b"5x", b"+2", b"2, 2", b"-1", b"0x2"):
            with self.subTest(value=value):
                data = binary_event(b"malformed").replace(b"Content-Length: 2",
                                                          b"Content-Length: " + value)
                self.assert_refused_and_closed(data, 400)
        stored = self.stored_event_ids()
        self.assertNotIn("twice-equal", stored)
        self.assertNotIn("malformed", stored)

    def test_whitespace_before_the_colon_is_400_and_nothing_hidden_runs(self):
        for ws in (b" ", b"\t"):
            with self.subTest(ws=ws):
                front, hidden_id = b"front-ws%d" % ws[0], b"smuggled-ws%d" % ws[0]
                hidden = binary_event(hidden_id)
                # a lenient reader takes "Content-Length : N" as the length; read as no length
                # at all, the body would be read as the next request
                data = binary_event(front).replace(
                    b"Content-Length: 2\r\n\r\n{}",
                    b"Content-Length" + ws + b": %d\r\n\r\n{}" % (2 + len(hidden)) + hidden)
                self.assert_not_smuggled(front, hidden_id, data, b"is not a token")

    def test_a_folded_header_line_is_400(self):
        for fold in (b" ", b"\t"):
            with self.subTest(fold=fold):
                data = binary_event(b"folded", extra=b"ce-comment: one\r\n" + fold + b"two\r\n")
                self.assert_refused_and_closed(data, 400, b"obs-fold")
        # a fold of the very first header line
        data = binary_event(b"folded").replace(b"Host: 127.0.0.1\r\n",
                                               b"Host: 127.0.0.1\r\n  x-folded: yes\r\n")
        self.assert_refused_and_closed(data, 400)
        self.assertNotIn("folded", self.stored_event_ids())

    def test_a_bare_cr_inside_a_value_is_400(self):
        data = binary_event(b"bare-cr", extra=b"ce-comment: one\rtwo: three\r\n")
        self.assert_refused_and_closed(data, 400, b"bare CR")

    # ---- Host ----

    def test_host_is_required_in_http11_and_not_in_http10(self):
        data = binary_event(b"no-host").replace(b"Host: 127.0.0.1\r\n", b"")
        self.assert_refused_and_closed(data, 400, b"needs a Host header")
        self.assertNotIn("no-host", self.stored_event_ids())
        data = binary_event(b"http10").replace(b"HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                               b"HTTP/1.0\r\n")
        raw, closed, _ = exchange(self.shim.port, data)
        self.assertEqual(statuses(raw), [200], raw)
        self.assertIn("http10", self.stored_event_ids())

    def test_two_host_headers_are_400(self):
        data = binary_event(b"two-hosts", extra=b"Host: elsewhere\r\n")
        self.assert_refused_and_closed(data, 400, b"Host header appears more than once")

    def test_an_unknown_transfer_coding_is_501_at_once(self):
        for coding in (b"gzip", b"gzip, chunked", b"identity"):
            with self.subTest(coding=coding):
                data = (b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Transfer-Encoding: " + coding + b"\r\n\r\n")
                raw = self.assert_refused_and_closed(data, 501, b"not supported")
                self.assertIn(coding.split(b",")[0], raw)

    def test_chunked_once_in_any_case_is_served_and_twice_is_400(self):
        body = b'{"k": 1}'
        data = binary_event(b"chunked-ok").replace(
            b"Content-Length: 2\r\n\r\n{}",
            b"Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n"
            b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        raw, _, _ = exchange(self.shim.port, data)
        self.assertEqual(statuses(raw), [200], raw)
        self.assertIn("chunked-ok", self.stored_event_ids())
        data = (b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assert_refused_and_closed(data, 400, b"more than once")

    def test_transfer_encoding_in_http10_is_400(self):
        data = b"POST /event/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        self.assert_refused_and_closed(data, 400, b"HTTP/1.0")

    def test_put_with_a_large_announced_body_is_405_before_the_body_is_sent(self):
        data = (b"PUT /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: %d\r\n\r\n" % (64 << 20))
        raw = self.assert_refused_and_closed(data, 405, b"PUT")
        self.assertIn(b"allow: post", raw.lower(), raw)
        # without a body the answer waits for nothing and the connection stays open
        data = (b"DELETE /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw, closed, _ = exchange(self.shim.port, data)
        self.assertEqual(statuses(raw), [405, 404], raw)

    def test_an_unknown_path_with_a_body_is_404_before_the_body_is_sent(self):
        data = b"POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n"
        self.assert_refused_and_closed(data, 404)

class LogFlood(unittest.TestCase):
    """A flood of malformed requests writes at most KES_LOG_PER_S lines a second (plus one
    "suppressed" line a second) to stderr."""

    def test_a_flood_of_malformed_requests_writes_a_bounded_number_of_lines(self):
        with harness.Server() as server:
            with sh.Shim(server.target) as shim:
                before = shim.stderr().count("\n")
                bad = [b"POST /event/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n",
                       b"POST /event/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n",
                       b"GET /healthz HTTP/1.1\r\nbad line\r\n\r\n"]
                n = 600
                t0 = time.monotonic()
                for i in range(n):
                    raw, closed, _ = exchange(shim.port, bad[i % len(bad)])
                    self.assertEqual(statuses(raw)[:1], [400], raw)
                took = time.monotonic() - t0
                shim.stop()
                lines = shim.stderr().count("\n") - before
                # seconds touched by the flood, each allowing LOG_PER_S lines and one report,
                # and the stop's own lines
                bound = (int(took) + 2) * (LOG_PER_S + 1) + 4
                print("%d malformed requests in %.2f s wrote %d stderr lines (bound %d)"
                      % (n, took, lines, bound))
                self.assertLessEqual(lines, bound, shim.stderr()[-3000:])
                self.assertIn("suppressed", shim.stderr())


if __name__ == "__main__":
    unittest.main()

"""kedro-event-shim's header hygiene in binary mode, over a raw loopback socket (so the bytes
on the wire are exactly the test's: no HTTP client trims or refuses them): optional
whitespace around ce-* values is dropped as RFC 9110 says, so the event matches its route;
a NUL byte in ce-id, ce-source or ce-type, percent-encoded, is answered 400 naming the header
and nothing is stored (checked with Python's grpcio against kedro-eventd).

A raw NUL byte: the shim refuses every NUL it is shown, but Debian 12's libmicrohttpd (0.9.75)
cuts a header value at a raw NUL while parsing, before any accessor (the length-aware _n ones
included) can report it; that case is skipped, with the reason, when the HTTP library hides it
(see test_raw_nul_in_a_required_header_is_refused_naming_it)."""

import json
import socket
import unittest

import harness
import shim_harness as sh

harness.load_stubs()

from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

REQUIRED = (("ce-specversion", b"1.0"), ("ce-id", b"h-1"), ("ce-source", b"example.com"),
            ("ce-type", b"com.example.event"))


def post_raw(port, headers, body=b"{}", ctype=b"application/json"):
    """POST /event/ with headers [(name, raw value bytes)]; returns (status, body dict)."""
    lines = [b"POST /event/ HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             b"Content-Type: " + ctype, b"Content-Length: %d" % len(body)]
    lines += [name.encode() + b": " + value for name, value in headers]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(payload) if payload else None


def with_value(name, value):
    """The required headers with name's value replaced by value (bytes)."""
    return [(n, value if n == name else v) for n, v in REQUIRED]


class ShimHeaders(unittest.TestCase):
    """One kedro-eventd (runner none) and one shim for the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.shim = sh.Shim(cls.server.target)

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def stored_ids(self):
        """The ids of every pipeline kedro-eventd holds."""
        page = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000))
        return {p.id for p in page.pipelines}

    def test_whitespace_around_ce_values_is_trimmed_and_the_event_matches(self):
        headers = [("ce-specversion", b" 1.0\t"), ("ce-id", b"\t ws-1 "),
                   ("ce-source", b"example.com \t"), ("ce-type", b"com.example.event "),
                   ("ce-subject", b"  %20kept%20 \t")]
        status, answer = post_raw(self.shim.port, headers, ctype=b"application/json ")
        self.assertEqual(status, 200, answer)
        [p] = answer
        self.assertEqual(p["name"], "event00")
        ev = sh.event_param(p)
        self.assertEqual(ev["id"], "ws-1")
        self.assertEqual(ev["source"], "example.com")
        self.assertEqual(ev["type"], "com.example.event")
        self.assertEqual(ev["specversion"], "1.0")
        self.assertEqual(ev["subject"], " kept ")  # encoded spaces are data, kept
        self.assertEqual(ev["datacontenttype"], "application/json")
        self.assertIn(p["id"], self.stored_ids())

    def assert_refused(self, headers, header_name, *needles):
        before = self.stored_ids()
        status, answer = post_raw(self.shim.port, headers)
        self.assertEqual(status, 400, answer)
        self.assertIn("header %s: holds a NUL byte" % header_name, answer["detail"])
        for n in needles:
            self.assertIn(n, answer["detail"])
        self.assertEqual(self.stored_ids(), before, "a refused event was stored")

    def test_raw_nul_in_a_required_header_is_refused_naming_it(self):
        status, answer = post_raw(self.shim.port, with_value("ce-id", b"probe\0tail"))
        if status == 200 and sh.event_param(answer[0])["id"] == "probe":
            self.skipTest("this libmicrohttpd cuts a header value at a raw NUL before the shim "
                          "can see it (0.9.75 does): the shim cannot refuse what it is not shown")
        for name, value in (("ce-id", b"a\0b"), ("ce-source", b"example.com\0evil"),
                            ("ce-type", b"com.example.event\0")):
            with self.subTest(header=name):
                self.assert_refused(with_value(name, value), name)

    def test_percent_encoded_nul_in_a_required_header_is_refused_naming_it(self):
        for name, value in (("ce-id", b"a%00b"), ("ce-source", b"example.com%00evil"),
                            ("ce-type", b"com.example.event%00")):
            with self.subTest(header=name):
                self.assert_refused(with_value(name, value), name, "%00")

    def test_nothing_refused_was_stored_under_the_decoded_id(self):
        # were "cut%00tail" dispatched as id "cut", a later event "cut" would be answered as
        # its duplicate
        self.assert_refused(with_value("ce-id", b"cut%00tail"), "ce-id")
        status, answer = post_raw(self.shim.port, with_value("ce-id", b"cut"))
        self.assertEqual(status, 200, answer)
        [p] = answer
        self.assertEqual(sh.event_param(p)["id"], "cut")
        self.assertEqual(len(self.stub.GetPipeline(pb.GetPipelineRequest(id=p["id"])).status),
                         1)


if __name__ == "__main__":
    unittest.main()

"""Bounded answers: a page of ListPipelines (and of the shim's GET /pipelines) stops at a byte
budget (4 MiB of stored pipelines, always at least one row) with fewer rows than asked and a
next-page token, and paging reaches every row exactly once.

The pipelines carry ~4 MiB events (3 MiB of binary data, base64 in the `event` parameter), as in
the issue. KE_LIST_BUDGET_COUNT raises their number (the issue's figure is 200); the server's
peak RSS is printed, not asserted (it depends on the allocator)."""

import json
import os
import unittest

import harness
import shim_harness
from shim_harness import curl

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

BUDGET = 4 << 20  # KE_LIST_MAX_BYTES in server/store_read.c
COUNT = int(os.environ.get("KE_LIST_BUDGET_COUNT", "8"))
DATA = 3 << 20  # 4 MiB as base64
BIG = 256 << 20  # client-side receive limit: a page is never near it


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


class ListBudgetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.addClassCleanup(cls.server.__exit__, None, None, None)  # also when setup fails
        cls.channel = cls.server.channel(**{"grpc.max_send_message_length": BIG,
                                            "grpc.max_receive_message_length": BIG})
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.ids = set()
        for i in range(COUNT):
            e = ce.CloudEvent(id="big-%d" % i, source="example.com", spec_version="1.0",
                              type="com.example.event", binary_data=bytes([0x80 + i % 100]) * DATA)
            (p,) = cls.stub.Dispatch(e).pipelines
            cls.ids.add(p.id)
        cls.shim = shim_harness.Shim(cls.server.target)

    @classmethod
    def tearDownClass(cls):
        cls.shim.__exit__(None, None, None)
        cls.channel.close()

    def test_grpc_pages_stop_at_the_budget_and_reach_every_row(self):
        seen, token, pages = [], "", 0
        while True:
            r = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000, page_token=token))
            pages += 1
            self.assertGreaterEqual(len(r.pipelines), 1)
            size = r.ByteSize()
            # within the budget, or a single row (always at least one)
            self.assertTrue(size <= BUDGET + (64 << 10) or len(r.pipelines) == 1,
                            "page of %d rows is %d bytes" % (len(r.pipelines), size))
            seen += [p.id for p in r.pipelines]
            if not r.next_page_token:
                break
            self.assertLess(len(r.pipelines), 1000)  # cut by bytes, not by page_size
            token = r.next_page_token
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), self.ids)
        self.assertGreater(pages, 1)
        # page_size still applies below the budget
        r = self.stub.ListPipelines(pb.ListPipelinesRequest(page_size=1))
        self.assertEqual(len(r.pipelines), 1)
        self.assertTrue(r.next_page_token)
        print("\nListPipelines: %d pipelines of ~4 MiB events in %d pages; kedro-eventd peak "
              "RSS %.1f MiB" % (COUNT, pages, peak_rss_kib(self.server.proc.pid) / 1024.0))

    def test_shim_pages_stop_at_the_budget_and_reach_every_row(self):
        seen, token, pages = [], None, 0
        while True:
            url = self.shim.url + "/pipelines?limit=1000"
            if token:
                url += "&page_token=" + token
            a = curl(url)
            self.assertEqual(a.status, 200, a)
            rows = json.loads(a.body)
            pages += 1
            self.assertGreaterEqual(len(rows), 1)
            seen += [p["id"] for p in rows]
            token = a.headers.get("x-next-page-token")
            if not token:
                break
            self.assertLess(len(rows), 1000)
        self.assertEqual(set(seen), self.ids)
        self.assertEqual(len(seen), len(self.ids))
        self.assertGreater(pages, 1)


if __name__ == "__main__":
    unittest.main()

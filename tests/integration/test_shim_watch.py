"""kedro-event-shim's GET /pipelines/watch against the real kedro-eventd (the Kedro stand-in
runs the pipelines), read with Python's http.client: the records of a dispatched event as
server-sent events with the dict GET /pipelines/{id} answers, the name and state filters, a
bad state (400), --max-watches (503, and a client that leaves frees its place), keep-alive
comments, a reader that reads nothing ended past 1 MiB, kedro-eventd stopping (event: end, the
response ends), and the shim's SIGTERM with a watch open (exit 0, promptly); and
GET /pipelines/{id}/watch: one run's records from its current one to its end, 404 for an
unknown id."""

import http.client
import json
import os
import signal
import socket
import tempfile
import threading
import time
import unittest

import harness
import shim_harness as sh
from shim_harness import curl

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail"},
}
KEEPALIVE_ENV = "KEDRO_EVENT_SHIM_TEST_KEEPALIVE_MS"
FINAL = ("SUCCESS", "FAILURE", "ABORTED")


def structured(i, type="com.example.event"):
    return json.dumps(sh.structured(id="watch-%s" % i, type=type, data={"i": i})).encode()


def dechunk(data):
    """The body of a chunked transfer coding (up to its last-chunk)."""
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2:]
    return out


class Watch(threading.Thread):
    """GET /pipelines/watch<query> read in the background: records (event, data), comments,
    and whether the response ended."""

    def __init__(self, port, query="", headers=None, path="/pipelines/watch"):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", path + query, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.records, self.comments = [], []
        self.ended = threading.Event()
        self.got = threading.Event()
        if self.resp.status == 200:
            self.start()
        else:
            self.body = self.resp.read()
            self.conn.close()

    def run(self):
        event, data = None, []
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event is not None:
                    self.records.append((event, json.loads("\n".join(data))))
                    self.got.set()
                    event, data = None, []
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # the test closed the connection
        self.ended.set()

    def pipelines(self):
        return [d for e, d in list(self.records) if e == "pipeline"]

    def close(self):
        """Leaves: shuts the socket down, waits for the reader, closes."""
        sock = self.resp.fp.raw._sock if self.resp.fp is not None else None
        if sock is not None:
            sock.shutdown(2)
        self.ended.wait(10)
        self.resp.close()
        self.conn.close()


class ShimWatchTest(unittest.TestCase):
    def start(self, shim_args=(), env=None, server_env=None):
        project = tempfile.mkdtemp(prefix="ke-project-")
        self.server = harness.Server(config=CONFIG, runner="local", args=[
            "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", project,
            "--shutdown-grace", "1"], env=server_env)
        self.shim = sh.Shim(self.server.target, args=list(shim_args), env=env)
        self.n = 0

    def tearDown(self):
        self.shim.__exit__(None, None, None)
        if self.server.alive():
            self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.server.__exit__(None, None, None)

    def test_one_run_watch_goes_from_its_record_now_to_its_end(self):
        self.start()
        id = self.post()
        w = Watch(self.shim.port, path="/pipelines/%s/watch" % id)
        self.assertEqual(w.resp.status, 200)
        self.assertEqual(w.resp.getheader("Content-Type"), "text/event-stream; charset=utf-8")
        self.assertTrue(w.ended.wait(60), w.records)
        records = list(w.records)
        self.assertEqual(records[-1], ("end", {"detail": "the run ended"}))
        ps = w.pipelines()
        self.assertGreaterEqual(len(ps), 1)
        self.assertEqual({p["id"] for p in ps}, {id})
        self.assertEqual(ps[-1]["status"][-1]["state"], "SUCCESS")
        self.assertEqual(ps[-1], curl(self.shim.url + "/pipelines/" + id).json())
        w.close()
        # States only move forward, and the first record is the run as it was when asked.
        order = ["READY", "STARTED", "SUCCESS"]
        seen = [order.index(p["status"][-1]["state"]) for p in ps]
        self.assertEqual(seen, sorted(seen))

        # An ended run: its record at once, then the end.
        again = Watch(self.shim.port, path="/pipelines/%s/watch" % id)
        self.assertTrue(again.ended.wait(30))
        self.assertEqual([e for e, _ in again.records], ["pipeline", "end"])
        self.assertEqual(again.records[0][1], ps[-1])
        again.close()

        # An unknown id is a 404 with the usual JSON error, not a stream.
        missing = Watch(self.shim.port, path="/pipelines/no-such-run/watch")
        self.assertEqual(missing.resp.status, 404)
        self.assertIn("not found", json.loads(missing.body)["detail"])
        a = curl(self.shim.url + "/pipelines/%s/watch" % id, "-X", "POST")
        self.assertEqual((a.status, a.headers.get("allow")), (405, "GET"))

    def test_one_run_watch_counts_against_max_watches(self):
        self.start(["--max-watches", "1"], env={KEEPALIVE_ENV: "100"})
        id = self.post()
        held = Watch(self.shim.port, "?name=nothing-matches")
        self.assertEqual(held.resp.status, 200)
        refused = Watch(self.shim.port, path="/pipelines/%s/watch" % id)
        self.assertEqual(refused.resp.status, 503)
        self.assertIn("--max-watches", json.loads(refused.body)["detail"])
        held.close()

        def accepted():
            w = Watch(self.shim.port, path="/pipelines/%s/watch" % id)
            if w.resp.status != 200:
                return False
            w.close()
            return True
        self.assertTrue(harness.wait_until(accepted, timeout=30))

    def post(self, type="com.example.event"):
        self.n += 1
        a = curl(self.shim.url + "/event/", "-H", "Content-Type: application/cloudevents+json",
                 data=structured(self.n, type))
        self.assertEqual(a.status, 200, a)
        return a.json()[0]["id"]

    def registered(self, *watches):
        """Posts events until every watch has a record: its stream is then open on the
        server (the shim answers 200 before kedro-eventd has it)."""
        for _ in range(100):
            if all(w.got.is_set() for w in watches):
                return
            self.post()
            harness.wait_until(lambda: all(w.got.is_set() for w in watches), timeout=0.3)
        self.fail("the watches never received a record")

    def test_records_of_a_dispatched_event_are_the_pipeline_dicts(self):
        self.start(env={KEEPALIVE_ENV: "200"})  # so the client leaving is seen soon
        w = Watch(self.shim.port)
        self.assertEqual(w.resp.status, 200)
        self.assertEqual(w.resp.getheader("Content-Type"), "text/event-stream; charset=utf-8")
        self.assertEqual(w.resp.getheader("Cache-Control"), "no-store")
        self.registered(w)
        pid = self.post()
        self.assertTrue(harness.wait_until(
            lambda: any(p["id"] == pid and p["status"][-1]["state"] == "SUCCESS"
                        for p in w.pipelines()), timeout=30), w.records)
        mine = [p for p in w.pipelines() if p["id"] == pid]
        for p in mine:
            sh.assert_local_pipeline_dict(self, p)
        states = [p["status"][-1]["state"] for p in mine]
        self.assertIn("STARTED", states)
        self.assertEqual(states[-1], "SUCCESS")
        got = curl(self.shim.url + "/pipelines/" + pid)
        self.assertEqual(mine[-1], got.json())
        self.assertEqual(sh.event_param(mine[-1])["id"], "watch-%d" % self.n)
        w.close()  # counted once the shim sees it gone
        counted = 'kedro_event_shim_requests_total{route="watch",code="200"} 1'
        self.assertTrue(harness.wait_until(
            lambda: counted in curl(self.shim.url + "/metrics").body, timeout=10))

    def test_filters_by_name_and_state_and_a_bad_state_is_400(self):
        self.start()
        everything = Watch(self.shim.port)
        fails = Watch(self.shim.port, "?name=fail_pipeline")
        failure = Watch(self.shim.port, "?state=failure&name=")
        self.registered(everything)
        bad = self.post("com.example.fail")
        good = self.post()
        self.assertTrue(harness.wait_until(
            lambda: any(p["id"] == bad for p in failure.pipelines())
            and any(p["id"] == good and p["status"][-1]["state"] == "SUCCESS"
                    for p in everything.pipelines()), timeout=30))
        self.assertEqual({p["name"] for p in fails.pipelines()}, {"fail_pipeline"})
        self.assertEqual({p["status"][-1]["state"] for p in failure.pipelines()}, {"FAILURE"})
        self.assertTrue(failure.pipelines()[-1]["status"][-1]["error"])
        self.assertNotIn(good, {p["id"] for p in failure.pipelines()})
        for query in ("?state=DONE", "?state=%00", "?name=%FF"):
            r = Watch(self.shim.port, query)
            self.assertEqual(r.resp.status, 400, query)
            self.assertIn("detail", json.loads(r.body))
        self.assertIn(b"state", Watch(self.shim.port, "?state=DONE").body)
        for w in (everything, fails, failure):
            w.close()
        r = curl(self.shim.url + "/pipelines/watch", "-X", "POST")
        self.assertEqual((r.status, r.headers.get("allow")), (405, "GET"))

    def test_a_record_larger_than_the_reader_limit_arrives_whole(self):
        # A 3 MiB event (the shim takes up to 4 MiB): each record of its run is larger than the
        # 1 MiB a reader may have waiting, yet a reader that keeps up gets them whole, with the
        # small records that come right behind them, and the stream goes on. The runs last a
        # second (the stand-in's sleep), as real ones do, so READY and STARTED may come
        # together but the end comes later.
        self.start(server_env={"KEDRO_STANDIN_SLEEP": "1"})
        w = Watch(self.shim.port)
        self.registered(w)
        big = "\u20ac" + "x" * (3 << 20) + "\"<>"
        ev = sh.structured(id="watch-big", data={"big": big})
        a = curl(self.shim.url + "/event/", "-H", "Content-Type: application/cloudevents+json",
                 data=json.dumps(ev).encode())
        self.assertEqual(a.status, 200, a)
        big_id = a.json()[0]["id"]
        small_id = self.post()
        self.assertTrue(harness.wait_until(
            lambda: any(p["id"] == small_id and p["status"][-1]["state"] == "SUCCESS"
                        for p in w.pipelines()), timeout=60), w.records[-1:])
        mine = [p for p in w.pipelines() if p["id"] == big_id]
        self.assertTrue(mine)
        self.assertEqual(sh.event_param(mine[0])["data"]["big"], big)
        self.assertNotIn("end", [e for e, _ in w.records])
        w.close()

    def test_max_watches_and_a_client_that_leaves_frees_its_place(self):
        self.start(shim_args=["--max-watches", "2"], env={KEEPALIVE_ENV: "200"})
        a, b = Watch(self.shim.port), Watch(self.shim.port)
        self.assertEqual((a.resp.status, b.resp.status), (200, 200))
        third = Watch(self.shim.port)
        self.assertEqual(third.resp.status, 503)
        self.assertEqual(third.resp.getheader("Retry-After"), "1")
        self.assertIn("--max-watches", json.loads(third.body)["detail"])
        self.assertIn("2", json.loads(third.body)["detail"])
        # watches are not requests waiting on kedro-eventd: the other endpoints still answer
        self.assertEqual(curl(self.shim.url + "/pipelines").status, 200)
        # keep-alive comments come when nothing else does, which is how a client that left
        # is noticed while its connection waits
        self.assertTrue(harness.wait_until(lambda: a.comments, timeout=5))
        self.assertEqual(a.comments[0], ": keep-alive")
        a.close()
        def accepted():
            w = Watch(self.shim.port)
            if w.resp.status == 200:
                self.addCleanup(w.close)
                return True
            return False
        self.assertTrue(harness.wait_until(accepted, timeout=10, step=0.2), self.shim.stderr())
        b.close()

    def test_a_reader_that_does_not_read_is_ended_past_1_mib(self):
        self.start()
        w = Watch(self.shim.port)
        self.registered(w)
        # a second client asks and then reads nothing while 30 events of 100 KiB flow
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", self.shim.port))
        raw.sendall(b"GET /pipelines/watch HTTP/1.1\r\nHost: x\r\n\r\n")
        big = "x" * (100 << 10)
        for i in range(30):
            self.n += 1
            ev = json.dumps(sh.structured(id="big-%d" % i, data={"big": big})).encode()
            a = curl(self.shim.url + "/event/", "-H",
                     "Content-Type: application/cloudevents+json", data=ev)
            self.assertEqual(a.status, 200, a)
        # the reader that reads got every one (the slow one did not hold it up)
        self.assertTrue(harness.wait_until(
            lambda: {"big-%d" % i for i in range(30)}
            <= {sh.event_param(p)["id"] for p in w.pipelines()}, timeout=30))
        raw.settimeout(30)
        got = b""
        while True:
            chunk = raw.recv(1 << 16)
            if not chunk:
                break
            got += chunk
            if got.endswith(b"0\r\n\r\n"):
                break
        raw.close()
        w.close()
        body = dechunk(got.partition(b"\r\n\r\n")[2])
        self.assertLess(body.count(b"event: pipeline\n"), 60)
        end = body[body.rindex(b"event: end\n"):]
        self.assertTrue(end.endswith(b"\n\n"), end)
        self.assertIn("reader too slow", json.loads(end.split(b"data: ", 1)[1])["detail"])

    def test_kedro_eventd_stopping_ends_the_stream(self):
        self.start()
        w = Watch(self.shim.port)
        self.registered(w)
        self.assertEqual(self.server.stop(timeout=20), 0, self.server.stderr())
        self.assertTrue(w.ended.wait(20))
        w.close()
        event, data = w.records[-1]
        self.assertEqual(event, "end", w.records[-3:])
        self.assertTrue(data["detail"])
        # after the end, a new watch gets the same answer: 200, then the end at once
        again = Watch(self.shim.port)
        if again.resp.status == 200:
            self.assertTrue(again.ended.wait(20))
            again.close()
            self.assertEqual(again.records[-1][0], "end")
        else:
            self.assertIn(again.resp.status, (502, 503))

    def test_sigterm_with_a_watch_open_exits_0_promptly(self):
        self.start()
        w = Watch(self.shim.port)
        self.registered(w)
        t = time.monotonic()
        self.assertEqual(self.shim.stop(sig=signal.SIGTERM, timeout=20), 0, self.shim.stderr())
        self.assertLess(time.monotonic() - t, 5)
        self.assertTrue(w.ended.wait(10))
        w.close()
        self.assertEqual(w.records[-1], ("end", {"detail": "shutting down"}))


if __name__ == "__main__":
    unittest.main(verbosity=2)

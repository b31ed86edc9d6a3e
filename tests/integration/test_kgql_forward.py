"""The kedro-graphql runner: the real kedro-eventd forwards READY pipelines to the kedro-graphql
stand-in (tests/stubs/kedro_graphql/standin.py) over loopback and mirrors their states back;
the stand-in goes down, fails, hangs and loses answers, and kedro-eventd is killed mid-forward."""

import datetime
import json
import os
import signal
import tempfile
import time
import unittest

import harness
from kgql_harness import ForwardingTestCase, KgqlStandin

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
FINAL = (State.SUCCESS, State.FAILURE, State.ABORTED)
SRC, TYPE = "example.com", "com.example.event"
CONFIG = {
    "event00": {"source": SRC, "type": TYPE},
    "event01": {"source": SRC, "type": TYPE},
    "unknown_pipe": {"source": SRC, "type": "com.example.unknown"},
    "single": {"source": SRC, "type": "com.example.single"},
}
PIPELINES = ("event00", "event01", "single")


def event(i, type=TYPE):
    e = ce.CloudEvent(id="ev-%s" % i, source=SRC, spec_version="1.0", type=type,
                      text_data='{"i": "%s", "x": "${oc.env:HOME}"}' % i)
    e.attributes["datacontenttype"].ce_string = "application/json"
    return e


def tags(p):
    return {t["key"]: t["value"] for t in p["tags"]} if isinstance(p, dict) else \
        {t.key: t.value for t in p.tags}


def params(p):
    return [(q["name"], q["value"]) for q in p["parameters"]] if isinstance(p, dict) else \
        [(q.name, q.value) for q in p.parameters]


def iso_us(text):
    """kedro-graphql's ISO 8601 text (no offset = UTC) as microseconds since the epoch."""
    d = datetime.datetime.fromisoformat(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return round(d.timestamp() * 1e6)


def ts_us(ts):
    return ts.seconds * 1000000 + ts.nanos // 1000


class KgqlForwardTest(ForwardingTestCase):
    def start_standin(self, **kw):
        kw.setdefault("pipelines", PIPELINES)
        self.standin = KgqlStandin(**kw)
        return self.standin

    def start(self, extra=(), timeout=2, poll="0.1"):
        if self.channel is not None:
            self.channel.close()
        self.server = harness.Server(
            config=CONFIG, runner="kedro-graphql", data_dir=self.data_dir,
            args=["--graphql-url", self.standin.url, "--graphql-timeout", str(timeout),
                  "--graphql-poll-interval", poll] + list(extra))
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def remote_of(self, pid):
        return tags(self.get(pid)).get("kedro_graphql_id")

    def by_our_id(self):
        """The stand-in's pipelines grouped by the tag holding our id."""
        out = {}
        for p in self.standin.pipelines():
            out.setdefault(tags(p).get("kedro_events_id"), []).append(p)
        return out

    def wait(self, pred, timeout=30, what="condition"):
        self.assertTrue(harness.wait_until(pred, timeout=timeout, step=0.05),
                        "timed out waiting for %s\n%s" % (what, self.server.stderr()))

    def wait_forwarded(self, ids, timeout=40):
        self.wait(lambda: all(self.remote_of(i) for i in ids), timeout, "forwarded")

    def wait_final(self, ids, timeout=40):
        self.wait(lambda: all(self.get(i).status[-1].state in FINAL for i in ids), timeout,
                  "final states")
        return [self.get(i) for i in ids]

    def assert_exactly_once(self, ids):
        """One stand-in pipeline per id, each launched once; nothing else there."""
        groups = self.by_our_id()
        self.assertEqual(sorted(groups), sorted(ids))
        for i in ids:
            self.assertEqual(len(groups[i]), 1, groups[i])
            self.assertEqual(self.remote_of(i), groups[i][0]["id"])
        self.assertEqual(self.standin.stats()["launches"], len(ids))

    # ---- forwarding and mirroring

    def test_one_event_fans_out_to_two_forwarded_pipelines_mirrored_to_success(self):
        self.start_standin(start_after=0.3, run_seconds=0.6)
        self.start()
        r = self.stub.Dispatch(event("fan"))
        ids = [p.id for p in r.pipelines]
        self.assertEqual([p.name for p in r.pipelines], ["event00", "event01"])
        self.wait_forwarded(ids)
        groups = self.by_our_id()
        for ours in r.pipelines:
            (theirs,) = groups[ours.id]
            self.assertEqual(theirs["name"], ours.name)
            # The parameters the local runner would get, with `id` = kedro-graphql's own id.
            self.assertEqual(params(theirs), [("id", theirs["id"]) if n == "id" else (n, v)
                                              for n, v in params(ours)])
            self.assertEqual(dict(params(theirs))["event"], dict(params(ours))["event"])
            self.assertEqual(theirs["parent"], None)
            t = tags(theirs)
            self.assertEqual(t["kedro_events_id"], ours.id)
            self.assertEqual((t["event_id"], t["event_source"], t["event_type"]),
                             ("ev-fan", SRC, TYPE))
            self.assertEqual(self.remote_of(ours.id), theirs["id"])
        self.assertEqual(self.standin.stats()["launches"], 2)
        final = self.wait_final(ids)
        theirs = {p["id"]: p for p in self.standin.pipelines()}
        for p in final:
            states = [s.state for s in p.status]
            self.assertEqual(states[0], State.READY)
            self.assertIn(State.STARTED, states)
            self.assertEqual(states[-1], State.SUCCESS, self.server.stderr())
            last, remote = p.status[-1], theirs[tags(p)["kedro_graphql_id"]]["status"][-1]
            self.assertEqual(last.runner, "kedro-graphql")
            self.assertEqual(ts_us(last.started_at), iso_us(remote["started_at"]))
            self.assertEqual(ts_us(last.finished_at), iso_us(remote["finished_at"]))
            started = [s for s in p.status if s.state == State.STARTED][0]
            self.assertEqual(ts_us(started.started_at), iso_us(remote["started_at"]))
            # kedro-graphql's own keys ride along for drop-in answers (the shim merges them).
            self.assertEqual(p.kedro_graphql_id, tags(p)["kedro_graphql_id"])
            mine = json.loads(p.kedro_graphql_json)
            self.assertEqual(mine["kedro_graphql_version"], "1.5.1")
            self.assertTrue(mine["describe"])
            self.assertEqual([n["name"] for n in mine["nodes"]],
                             [n["name"] for n in theirs[p.kedro_graphql_id]["nodes"]])
            self.assertEqual(json.loads(last.kedro_graphql_json)["task_id"], remote["task_id"])
            handover = [s for s in p.status if s.state == State.READY][-1]
            self.assertEqual(handover.runner, "kedro-graphql")
            self.assertEqual(json.loads(handover.kedro_graphql_json)["task_name"],
                             theirs[p.kedro_graphql_id]["status"][0]["task_name"])
        listed = self.stub.ListPipelines(pb.ListPipelinesRequest(state=State.SUCCESS))
        self.assertEqual(sorted(p.id for p in listed.pipelines), sorted(ids))
        for p in listed.pipelines:
            self.assertTrue(tags(p).get("kedro_graphql_id"))
        self.assertEqual(self.standin.stats()["launches"], 2)

    def test_a_failed_run_is_mirrored_with_the_exception_text(self):
        self.start_standin(start_after=0.1, run_seconds=0.1, fail_pipelines=("event01",))
        self.start()
        r = self.stub.Dispatch(event("fail"))
        ok, failed = self.wait_final([p.id for p in r.pipelines])
        self.assertEqual(ok.status[-1].state, State.SUCCESS)
        self.assertEqual(failed.status[-1].state, State.FAILURE)
        self.assertIn("ValueError('boom')", failed.status[-1].error)
        self.assertTrue(failed.status[-1].finished_at.seconds > 0)

    def test_a_child_is_forwarded_with_the_parents_kedro_graphql_id(self):
        self.start_standin()
        self.start()
        parent = self.stub.Dispatch(event("parent", type="com.example.single")).pipelines[0]
        self.wait_forwarded([parent.id])
        child = self.stub.CreatePipeline(pb.CreatePipelineRequest(
            name="event01", parent=parent.id,
            parameters=[pb.Parameter(name="level", value="3", type="int")],
            tags=[pb.Tag(key="k", value="v")]))
        self.wait_forwarded([child.id])
        (theirs,) = self.by_our_id()[child.id]
        self.assertEqual(theirs["parent"], self.remote_of(parent.id))
        self.assertEqual(theirs["name"], "event01")
        self.assertIn(("level", "3", "INTEGER"),
                      [(q["name"], q["value"], q["type"].upper()) for q in theirs["parameters"]])
        self.assertEqual(tags(theirs)["k"], "v")

    def test_a_request_too_large_is_split_and_a_pipeline_too_large_alone_fails(self):
        # kedro-graphql behind a proxy with a body limit (nginx: client_max_body_size): three
        # events of 90 kB fit one at a time, not together; one of 300 kB never fits and must
        # not hold up the others by being retried forever.
        self.start_standin(max_body=200000)
        self.start()

        def sized(i, size):
            e = event(i, type="com.example.single")
            e.text_data = json.dumps({"i": i, "pad": "x" * size})
            return e

        r = self.stub.DispatchBatch(ce.CloudEventBatch(
            events=[sized("s%d" % k, 90000) for k in range(3)] + [sized("big", 300000)]))
        ids = [res.pipelines[0].id for res in r.results]
        final = self.wait_final(ids)
        self.assertEqual([p.status[-1].state for p in final[:3]], [State.SUCCESS] * 3,
                         self.server.stderr())
        self.assertEqual(final[3].status[-1].state, State.FAILURE)
        self.assertIn("too large (HTTP 413)", final[3].status[-1].error)
        self.assertEqual(self.remote_of(ids[3]), None)
        self.assert_exactly_once(ids[:3])

    def test_an_unknown_pipeline_name_is_recorded_as_failure_with_kedro_graphqls_message(self):
        self.start_standin()
        self.start()
        bad = self.stub.Dispatch(event("bad", type="com.example.unknown")).pipelines[0]
        good = self.stub.Dispatch(event("good", type="com.example.single")).pipelines[0]
        (p,) = self.wait_final([bad.id])
        self.assertEqual(p.status[-1].state, State.FAILURE)
        self.assertIn("unknown_pipe does not exist in the project", p.status[-1].error)
        self.assertEqual(p.status[-1].runner, "kedro-graphql")
        self.wait_forwarded([good.id])
        self.assertNotIn(bad.id, self.by_our_id())
        self.assertEqual(self.standin.stats()["launches"], 1)

    # ---- failures

    def test_standin_down_failing_and_erroring_loses_nothing_and_doubles_nothing(self):
        self.start_standin()
        self.start(timeout=1)
        ids = []
        for k, mode in enumerate(("down", "fail", "error", "hang")):
            self.standin.set_mode(mode)
            for j in range(5):
                ids += [p.id for p in self.stub.Dispatch(event("%s-%d" % (mode, j))).pipelines]
                time.sleep(0.1)
            time.sleep(1.0)
        self.assertEqual(self.standin.stats()["launches"], 0)
        self.standin.set_mode("ok")
        self.wait_forwarded(ids, timeout=60)
        self.wait(lambda: len(self.standin.pipelines()) == len(ids), 10, "stand-in records")
        self.assert_exactly_once(ids)
        self.assertIn("forwarding pauses", self.server.stderr())

    def kill_mid_forward(self, mode, ready):
        self.start_standin()
        self.standin.set_mode(mode)
        self.start(timeout=1)
        # One batch, one commit: the forwarder takes all 20 pipelines together (it takes nothing
        # new while kedro-graphql fails).
        r = self.stub.DispatchBatch(ce.CloudEventBatch(
            events=[event("%s-%d" % (mode, j)) for j in range(10)]))
        ids = [p.id for res in r.results for p in res.pipelines]
        self.assertEqual(len(ids), 20)
        self.wait(lambda: ready(self.standin.pipelines(), len(ids)), 30, mode)
        self.server.stop(sig=signal.SIGKILL)
        self.standin.set_mode("ok")
        self.start(timeout=1)
        self.wait_forwarded(ids, timeout=60)
        self.assert_exactly_once(ids)
        self.wait_final(ids)
        self.assertEqual(self.standin.stats()["launches"], len(ids))

    def test_kill_9_while_updates_hang_creates_nothing_twice(self):
        self.kill_mid_forward("hang-update", lambda ps, n: len(ps) == n)

    def test_kill_9_after_answers_were_lost_launches_each_once(self):
        # Every create was done there but no answer came back: the restart must find them.
        self.kill_mid_forward("lose-answers", lambda ps, n: len(ps) == n)

    def test_a_create_whose_answer_is_lost_on_a_kept_alive_connection_is_not_sent_again(self):
        # libcurl sends a request again on a new connection when a reused one closes before
        # any answer byte: for a createPipeline kedro-graphql ran, that is a second pipeline.
        self.start_standin(start_after=0.1, run_seconds=0.1)
        self.start(timeout=2)
        first = self.stub.Dispatch(event("keep-1", type="com.example.single")).pipelines[0].id
        self.wait_final([first])  # forwarded and ended: its connections stay open and idle
        creates = self.standin.stats()["operations"]["createPipeline"]
        self.standin.set_mode("lose-answers")
        second = self.stub.Dispatch(event("keep-2", type="com.example.single")).pipelines[0].id
        self.wait(lambda: "forwarding pauses" in self.server.stderr(), 30, "the lost answer")
        self.standin.set_mode("ok")
        self.wait_forwarded([second])
        self.assertEqual(self.standin.stats()["operations"]["createPipeline"], creates + 1)
        self.assert_exactly_once([first, second])
        self.wait_final([second])

    def crash_after_lost_update_answers(self, ids, round_no):
        """One batch of 16 pipelines (one create, one update request) with the stand-in
        losing every update's answer; kills kedro-eventd -9 as soon as all 16 are launched.
        Returns whether it died before learning of the launches: no lookup was answered (a
        lookup comes only after the lost answer's backoff, so this is the usual outcome)."""
        reads = self.standin.stats()["operations"]["readPipelines"]
        r = self.stub.DispatchBatch(ce.CloudEventBatch(
            events=[event("lua-%d-%d" % (round_no, j)) for j in range(8)]))
        ids += [p.id for res in r.results for p in res.pipelines]
        self.assertEqual(len(ids), 16 * (round_no + 1))
        self.assertTrue(harness.wait_until(
            lambda: self.standin.stats()["launches"] == len(ids), timeout=30, step=0.005),
            self.server.stderr())
        self.server.stop(sig=signal.SIGKILL)
        return self.standin.stats()["operations"]["readPipelines"] == reads

    def test_kill_9_after_launched_updates_lost_their_answers_records_each_launch_once(self):
        # kedro-graphql ran the update (the run is launched) but its answer was lost, then
        # kedro-eventd died: the restart must find the launched pipelines and update none again.
        self.start_standin(start_after=0.3, run_seconds=0.3)
        self.standin.set_mode("lose-update-answers")
        ids = []
        for round_no in range(3):
            self.start(timeout=5)
            if round_no > 0:  # the crash came too late: wait until the mirror has no work
                self.wait_final(ids)
            if self.crash_after_lost_update_answers(ids, round_no):
                break
        else:
            self.fail("kedro-eventd always learnt of the launches before it was killed")
        ops = self.standin.stats()["operations"]
        self.standin.set_mode("ok")
        self.start(timeout=5)
        self.wait_forwarded(ids)
        self.assert_exactly_once(ids)
        final = self.wait_final(ids)
        after = self.standin.stats()["operations"]
        for op in ("createPipeline", "updatePipeline"):
            self.assertEqual(after[op], ops[op], op)  # found by the tag, not sent again
        theirs = {p["id"]: p for p in self.standin.pipelines()}
        for p in final:
            remote = theirs[p.kedro_graphql_id]
            self.assertEqual(len(remote["status"]), 1, remote)  # one run
            self.assertEqual([s.state for s in p.status][:2], [State.READY, State.READY])
            handover, last = p.status[1], p.status[-1]
            self.assertEqual((handover.runner, last.runner), ("kedro-graphql", "kedro-graphql"))
            self.assertEqual(last.state, State.SUCCESS, self.server.stderr())
            task_id = remote["status"][0]["task_id"]
            self.assertEqual(json.loads(handover.kedro_graphql_json)["task_id"], task_id)
            self.assertEqual(json.loads(last.kedro_graphql_json)["task_id"], task_id)
            self.assertEqual(dict(params(remote))["id"], remote["id"])

    # ---- headers and flags

    def test_headers_from_flags_and_file_reach_kedro_graphql_and_sighup_rereads_the_file(self):
        self.start_standin()
        path = os.path.join(tempfile.mkdtemp(prefix="ke-kgql-h-"), "headers")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("# kedro-graphql access\nAuthorization: Bearer s3cret-one\n")
        self.start(extra=["--graphql-header", "X-Tenant: blue",
                          "--graphql-headers-file", path])
        p = self.stub.Dispatch(event("h1", type="com.example.single")).pipelines[0]
        self.wait_forwarded([p.id])
        seen = self.standin.headers()
        self.assertEqual(seen.get("x-tenant"), "blue")
        self.assertEqual(seen.get("authorization"), "Bearer s3cret-one")
        with open(path, "w") as f:
            f.write("Authorization: Bearer s3cret-two\n")
        self.server.proc.send_signal(signal.SIGHUP)
        self.wait(lambda: "header(s) from" in self.server.stderr().split("SIGHUP")[-1], 10,
                  "reload")
        p = self.stub.Dispatch(event("h2", type="com.example.single")).pipelines[0]
        self.wait_forwarded([p.id])
        self.assertEqual(self.standin.headers().get("authorization"), "Bearer s3cret-two")
        os.chmod(path, 0o644)
        self.server.proc.send_signal(signal.SIGHUP)
        self.wait(lambda: "headers read before stay" in self.server.stderr(), 10, "refusal")
        self.assertNotIn("s3cret", self.server.stderr())

    def test_flags_are_checked(self):
        url = "http://127.0.0.1:9/graphql"
        bad = [
            (["--runner", "kedro-graphql"], "needs --graphql-url"),
            (["--runner", "none", "--graphql-url", url], "--graphql-url is for --runner"),
            (["--runner", "local", "--max-forwards", "3"], "--max-forwards is for --runner"),
            (["--runner", "kedro-graphql", "--graphql-url", "ftp://h/graphql"], "http://"),
            (["--runner", "kedro-graphql", "--graphql-url", url, "--graphql-header",
              "Bad Name: secretvalue"], "--graphql-header"),
            (["--runner", "kedro-graphql", "--graphql-url", url, "--graphql-header",
              "X-A: secret\rvalue"], "CR, LF or NUL"),
            (["--runner", "kedro-graphql", "--graphql-url", url, "--max-forwards", "0"],
             "--max-forwards"),
            (["--runner", "kedro-graphql", "--graphql-url", url, "--graphql-poll-interval",
              "0.01"], "--graphql-poll-interval"),
            (["--runner", "kedro-graphql", "--graphql-url", url, "--graphql-timeout", "0"],
             "--graphql-timeout"),
        ]
        import subprocess
        for args, msg in bad:
            r = subprocess.run([harness.EVENTD] + args, capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr.decode(), args)
            self.assertNotIn("secret", r.stderr.decode())
        path = os.path.join(tempfile.mkdtemp(prefix="ke-kgql-h-"), "headers")
        with open(path, "w") as f:
            f.write("Authorization: Bearer s3cret\n")
        os.chmod(path, 0o644)
        r = subprocess.run([harness.EVENTD, "--listen", "127.0.0.1:0", "--data-dir",
                            self.data_dir, "--runner", "kedro-graphql", "--graphql-url", url,
                            "--graphql-headers-file", path], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--graphql-headers-file", r.stderr.decode())
        self.assertNotIn("s3cret", r.stderr.decode())
        r = subprocess.run([harness.EVENTD, "--listen", "127.0.0.1:0", "--data-dir",
                            self.data_dir, "--runner", "kedro-graphql", "--graphql-url", url,
                            "--graphql-ca", path + ".missing"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--graphql-ca", r.stderr.decode())
        help_text = subprocess.run([harness.EVENTD, "--help"], capture_output=True).stdout
        for flag in (b"--graphql-url", b"--graphql-header ", b"--graphql-headers-file",
                     b"--graphql-timeout", b"--max-forwards", b"--graphql-ca",
                     b"--graphql-poll-interval", b"kedro-graphql"):
            self.assertIn(flag, help_text)


if __name__ == "__main__":
    unittest.main()

"""Resent events (DESIGN.md 3.6), driven with Python's grpcio: a resend of a committed event is
answered from the read side (server/store_lookup.c) and one still in flight by the writer; both
answer the original pipelines, as they are now, and the store holds one set per key, whether
the resend races its original, follows a restart, comes in a batch beside new events, or finds
its pipelines in another state."""

import random
import re
import threading
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
import requests  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State

# Two routes for one event: each key starts two pipelines.
CONFIG = {"event00": {"source": "example.com", "type": "com.example.event"},
          "audit": {"source": "example.com", "type": "com.example.event"}}
BOUND = 30  # seconds: a deadline for every call, so a hang fails instead of blocking


def event(i):
    return ce.CloudEvent(id="dup-%s" % i, source="example.com", spec_version="1.0",
                         type="com.example.event", text_data='{"i": "%s"}' % i)


def list_all(stub):
    out, token = [], ""
    while True:
        page = stub.ListPipelines(pb.ListPipelinesRequest(page_size=1000, page_token=token),
                                  timeout=BOUND)
        out += page.pipelines
        token = page.next_page_token
        if not token:
            return out


def ids_of(answer):
    return [p.id for p in answer.pipelines]


class DuplicatesTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server(config=CONFIG,
                                     args=["--metrics-listen", "127.0.0.1:0"])
        line = self.server.proc.stdout.readline().decode()
        m = re.search(r"metrics on 127\.0\.0\.1:0 port (\d+)", line)
        self.assertIsNotNone(m, line)
        self.metrics_url = "http://127.0.0.1:%s/metrics" % m.group(1)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        if self.server.alive():
            self.assertEqual(self.server.stop(), 0, self.server.stderr())

    def restart(self):
        self.channel.close()
        self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.server = harness.Server(config=CONFIG, data_dir=self.server.data_dir)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def metric(self, name):
        text = requests.get(self.metrics_url, timeout=BOUND).text
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        self.assertIsNotNone(m, name)
        return float(m.group(1))

    def test_resends_racing_their_originals_all_answer_one_set_of_pipelines(self):
        keys, threads, rounds = 40, 8, 3
        answers = {k: [] for k in range(keys)}
        errors = []
        lock = threading.Lock()
        start = threading.Barrier(threads)

        def send(seed):
            order = list(range(keys)) * rounds
            random.Random(seed).shuffle(order)
            try:
                with self.server.channel() as ch:
                    stub = rpc.EventServiceStub(ch)
                    start.wait(timeout=BOUND)
                    for k in order:
                        a = stub.Dispatch(event(k), timeout=BOUND)
                        with lock:
                            answers[k].append(a)
            except Exception as e:  # noqa: BLE001 -- reported below
                with lock:
                    errors.append(repr(e))

        workers = [threading.Thread(target=send, args=(s,)) for s in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        self.assertEqual(errors, [])
        for k, got in answers.items():
            self.assertEqual(len(got), threads * rounds)
            first = [a for a in got if not a.duplicate]
            self.assertEqual(len(first), 1, "key %d: %d answers not marked duplicate"
                             % (k, len(first)))
            self.assertEqual(len(first[0].pipelines), 2)
            for a in got:
                self.assertEqual(ids_of(a), ids_of(first[0]), "key %d" % k)
                self.assertEqual([p.name for p in a.pipelines], ["event00", "audit"])
        stored = list_all(self.stub)
        self.assertEqual(len(stored), 2 * keys)
        self.assertEqual(sorted(p.id for p in stored),
                         sorted(i for got in answers.values() for i in ids_of(got[0])))
        sent = keys * threads * rounds
        self.assertEqual(self.metric("kedro_events_events_received_total"), sent)
        self.assertEqual(self.metric("kedro_events_events_accepted_total"), keys)
        self.assertEqual(self.metric("kedro_events_events_duplicate_total"), sent - keys)

    def test_resends_after_a_restart_answer_the_originals_the_same_way_each_time(self):
        original = self.stub.Dispatch(event("r"), timeout=BOUND)
        self.assertFalse(original.duplicate)
        self.restart()
        # The first resend after the restart is the writer's (the key is not recent), the
        # next ones the read side's: the answers are the same bytes.
        resends = [self.stub.Dispatch(event("r"), timeout=BOUND) for _ in range(4)]
        for a in resends:
            self.assertTrue(a.duplicate)
            self.assertEqual(ids_of(a), ids_of(original))
            self.assertEqual(a.SerializeToString(), resends[0].SerializeToString())
        for got, orig in zip(resends[0].pipelines, original.pipelines):
            self.assertEqual(got, orig)  # nothing happened to them: the same records
        self.assertEqual(len(list_all(self.stub)), 2)

    def test_a_resend_shows_the_pipelines_as_they_are_now(self):
        original = self.stub.Dispatch(event("s"), timeout=BOUND)
        self.assertTrue(self.stub.Dispatch(event("s"), timeout=BOUND).duplicate)
        cancelled = original.pipelines[1].id
        self.stub.CancelPipeline(pb.CancelPipelineRequest(id=cancelled), timeout=BOUND)
        for _ in range(3):
            again = self.stub.Dispatch(event("s"), timeout=BOUND)
            self.assertTrue(again.duplicate)
            self.assertEqual(ids_of(again), ids_of(original))
            self.assertEqual([p.status[-1].state for p in again.pipelines],
                             [State.READY, State.ABORTED])
            for p in again.pipelines:  # exactly what GetPipeline answers
                self.assertEqual(p, self.stub.GetPipeline(pb.GetPipelineRequest(id=p.id),
                                                          timeout=BOUND))
        self.assertEqual(len(list_all(self.stub)), 2)

    def test_a_batch_mixing_new_and_resent_events(self):
        first = self.stub.DispatchBatch(ce.CloudEventBatch(events=[event("a"), event("b")]),
                                        timeout=BOUND)
        self.assertEqual([r.duplicate for r in first.results], [False, False])
        self.stub.Dispatch(event("a"), timeout=BOUND)  # a and b are recent now
        mixed = self.stub.DispatchBatch(
            ce.CloudEventBatch(events=[event("a"), event("c"), event("b"), event("c")]),
            timeout=BOUND)
        self.assertEqual([r.duplicate for r in mixed.results], [True, False, True, True])
        self.assertEqual(ids_of(mixed.results[0]), ids_of(first.results[0]))
        self.assertEqual(ids_of(mixed.results[2]), ids_of(first.results[1]))
        self.assertEqual(ids_of(mixed.results[3]), ids_of(mixed.results[1]))
        self.assertEqual(len(mixed.results[1].pipelines), 2)
        again = self.stub.DispatchBatch(
            ce.CloudEventBatch(events=[event("c"), event("b"), event("a")]), timeout=BOUND)
        self.assertEqual([r.duplicate for r in again.results], [True, True, True])
        self.assertEqual([ids_of(r) for r in again.results],
                         [ids_of(mixed.results[1]), ids_of(first.results[1]),
                          ids_of(first.results[0])])
        self.assertEqual(len(list_all(self.stub)), 6)

    def test_a_resend_of_an_invalid_event_is_still_refused(self):
        self.stub.Dispatch(event("v"), timeout=BOUND)
        bad = event("v")
        bad.spec_version = "0.3"
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Dispatch(bad, timeout=BOUND)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    unittest.main()

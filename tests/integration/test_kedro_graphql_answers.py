"""A pipeline forwarded to kedro-graphql, as kedro-event-shim and the kedro-events CLI show it:
a gRPC peer written with Python's grpcio (stubs generated from proto/) answers pipelines whose
kedro_graphql_id / kedro_graphql_json fields are set, as kedro-eventd does for a forwarded run,
and the shim's dicts carry kedro-graphql's values in place of the nulls, in kedro-graphql's key
order; `kedro-events get` shows kedro-graphql's id."""

import json
import os
import subprocess
import unittest
from concurrent import futures

import grpc

import harness
import shim_harness as sh

harness.load_stubs()

from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
OURS = "6f1b0c1e-0000-4000-8000-00000000000a"
THEIRS = "65a1b2c3d4e5f60718293a4b"
PIPELINE_JSON = {
    "id": THEIRS, "name": "theirs", "parent": "x",  # ours win: never merged
    "data_catalog": [{"name": "rows", "config": {"type": "pandas.CSVDataset"}}],
    "describe": "#### Pipeline execution order ####", "nodes": [{"name": "split"}],
    "project_version": "0.1", "pipeline_version": None, "kedro_graphql_version": "1.5.1",
    "unknown": 1,  # not a key of kedro-graphql's answer: left out
}
STARTED_JSON = {"session": "s-1", "task_id": "t-1", "task_name": "run_pipeline",
                "filtered_nodes": ["split"]}
SUCCESS_JSON = dict(STARTED_JSON, task_result="ok", task_args="[]", task_kwargs="{}",
                    runner="theirs", state="FAILURE")  # runner, state: ours win


class Peer(rpc.EventServiceServicer):
    """kedro-eventd's EventService as it answers for a forwarded run: every call answers the
    pipeline OURS, READY -> STARTED -> SUCCESS, with kedro_graphql_* set (texts given)."""

    def __init__(self, pipeline_json, started_json, success_json):
        self.texts = (pipeline_json, started_json, success_json)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        rpc.add_EventServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = "127.0.0.1:%d" % self.port
        self.server.start()

    def pipeline(self):
        pipeline_json, started_json, success_json = self.texts
        st = pb.PipelineStatus
        p = pb.Pipeline(id=OURS, name="event00", kedro_graphql_id=THEIRS,
                        kedro_graphql_json=pipeline_json,
                        parameters=[pb.Parameter(name="id", value=OURS, type="string")],
                        tags=[pb.Tag(key="kedro_graphql_id", value=THEIRS)])
        p.created_at.FromSeconds(1700000000)
        p.status.add(state=st.READY, runner="kedro-graphql").changed_at.FromSeconds(1700000000)
        p.status.add(state=st.STARTED, runner="kedro-graphql",
                     kedro_graphql_json=started_json).changed_at.FromSeconds(1700000001)
        p.status.add(state=st.SUCCESS, runner="kedro-graphql",
                     kedro_graphql_json=success_json).changed_at.FromSeconds(1700000002)
        return p

    def GetPipeline(self, request, context):
        return self.pipeline()

    def ListPipelines(self, request, context):
        return pb.ListPipelinesResponse(pipelines=[self.pipeline()])

    def WatchPipeline(self, request, context):
        yield self.pipeline()  # ended: kedro-eventd answers the one record and ends OK

    def Dispatch(self, request, context):
        return pb.DispatchResponse(pipelines=[self.pipeline()])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop(0)


def forwarded_peer():
    return Peer(json.dumps(PIPELINE_JSON), json.dumps(STARTED_JSON), json.dumps(SUCCESS_JSON))


class ShimDicts(unittest.TestCase):
    def check_merged(self, p):
        self.assertEqual(list(p), sh.KG_PIPELINE_KEYS + sh.OUR_PIPELINE_KEYS, p)
        self.assertEqual(p["id"], OURS)
        self.assertEqual(p["name"], "event00")
        self.assertIsNone(p["parent"])
        self.assertEqual(p["kedro_graphql_id"], THEIRS)
        for k in ("data_catalog", "describe", "nodes", "project_version",
                  "kedro_graphql_version"):
            self.assertEqual(p[k], PIPELINE_JSON[k], k)
        self.assertIsNone(p["pipeline_version"])
        for s in p["status"]:
            self.assertEqual(list(s), sh.KG_STATUS_KEYS + sh.OUR_STATUS_KEYS, s)
            self.assertEqual(s["runner"], "kedro-graphql")
        ready, started, success = p["status"]
        for k in sh.KG_ONLY_STATUS_KEYS:
            self.assertIsNone(ready[k], k)
            self.assertEqual(started[k], STARTED_JSON.get(k), k)
            self.assertEqual(success[k], SUCCESS_JSON.get(k), k)
        self.assertEqual(success["state"], "SUCCESS")

    def test_every_answer_carries_kedro_graphqls_values_in_its_key_order(self):
        with forwarded_peer() as peer, sh.Shim(peer.target) as shim:
            g = sh.curl(shim.url + "/pipelines/" + OURS)
            self.assertEqual(g.status, 200, g)
            self.check_merged(g.json())
            listed = sh.curl(shim.url + "/pipelines")
            self.assertEqual(listed.status, 200, listed)
            self.check_merged(listed.json()[0])
            d = sh.curl(shim.url + "/event/",
                        *sh.binary_args(dict(sh.BINARY_HEADERS, **{"ce-id": "kg-1"})), data=b"")
            self.assertEqual(d.status, 200, d)
            self.check_merged(d.json()[0])

    def test_kedro_graphql_json_that_does_not_parse_is_ignored(self):
        for bad in ('{"describe": "x"', "[1, 2]", '"text"', "{'describe': 'x'}"):
            with self.subTest(json=bad), Peer(bad, bad, bad) as peer, \
                    sh.Shim(peer.target) as shim:
                g = sh.curl(shim.url + "/pipelines/" + OURS)
                self.assertEqual(g.status, 200, g)
                p = g.json()
                self.assertEqual(list(p), sh.KG_PIPELINE_KEYS + sh.OUR_PIPELINE_KEYS, p)
                self.assertEqual(p["kedro_graphql_id"], THEIRS)
                self.assertEqual(p["data_catalog"], [])
                for k in sh.KG_ONLY_PIPELINE_KEYS:
                    self.assertIsNone(p[k], k)
                for s in p["status"]:
                    for k in sh.KG_ONLY_STATUS_KEYS:
                        self.assertIsNone(s[k], k)


class Cli(unittest.TestCase):
    def cli(self, *args):
        r = subprocess.run([CLI] + list(args), capture_output=True, timeout=60,
                           env={k: v for k, v in os.environ.items()
                                if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")})
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode()

    def test_get_shows_kedro_graphqls_id_and_its_values(self):
        with forwarded_peer() as peer:
            out = self.cli("get", OURS, "--target", peer.target)
            self.assertRegex(out, r"(?m)^graphql id: %s$" % THEIRS)
            self.assertRegex(out, r"(?m)^id: +%s$" % OURS)
            doc = json.loads(self.cli("get", OURS, "--json-out", "--target", peer.target))
            self.assertEqual(doc["kedro_graphql_id"], THEIRS)
            self.assertEqual(doc["nodes"], PIPELINE_JSON["nodes"])
            listed = json.loads(self.cli("list", "--json-out", "--target", peer.target))
            self.assertEqual(listed["pipelines"][0]["kedro_graphql_version"], "1.5.1")
            lines = self.cli("watch", OURS, "--json-out", "--target", peer.target).splitlines()
            entries = [json.loads(x) for x in lines]
            self.assertEqual([e["state"] for e in entries], ["READY", "STARTED", "SUCCESS"])
            self.assertEqual([e["task_id"] for e in entries], [None, "t-1", "t-1"])
            self.assertEqual(entries[2]["task_result"], "ok")


if __name__ == "__main__":
    unittest.main(verbosity=2)

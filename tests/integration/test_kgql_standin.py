"""The kedro-graphql stand-in itself (tests/stubs/kedro_graphql/standin.py): the forwarder's
tests trust it to answer as kedro-graphql 1.5.1 would, so what they rely on is pinned here:
the STAGED -> READY launch and the run's states, no second launch of a running pipeline,
resolver and validation errors, aliased mutations, readPipelines' tag filter and pages, the
fault modes and the state file."""

import base64
import json
import os
import shutil
import socket
import sys
import tempfile
import unittest

from kgql_harness import KgqlStandin

try:
    import requests
except ImportError as e:
    print("skipped: %s: %s" % (sys.executable, e))
    sys.exit(77)

CREATE = ("mutation ($p0: PipelineInput!) { c0: createPipeline(pipeline: $p0) "
          "{ id status { state } } }")
UPDATE = ("mutation ($i0: String!, $p0: PipelineInput!) { u0: updatePipeline(id: $i0, "
          "pipeline: $p0) { id parameters { name value type } status { state } } }")
READ = ("query ($id: String!) { readPipeline(id: $id) { id name status { state session startedAt "
        "finishedAt taskId taskName taskException taskTraceback } } }")
READ_MANY = ("query ($limit: Int!, $cursor: String, $filter: String) { readPipelines(limit: "
             "$limit, cursor: $cursor, filter: $filter) { pipelines { id tags { key value } } "
             "pageMeta { nextCursor } } }")
EVENT = '{"specversion": "1.0", "id": "e1", "source": "example.com", "type": "t"}'


def pipeline_input(name="event00", state="STAGED", our_id="ours-1", extra_params=()):
    return {"name": name, "state": state,
            "parameters": [{"name": "event", "value": EVENT}] + list(extra_params),
            "tags": [{"key": "kedro_events_id", "value": our_id},
                     {"key": "event_source", "value": "example.com"}]}


def last_state(p):
    return p["status"][-1]["state"]


class StandinCase(unittest.TestCase):
    options = {}

    def setUp(self):
        self.kg = KgqlStandin(**self.options)
        self.http = requests.Session()

    def tearDown(self):
        self.http.close()
        self.assertEqual(self.kg.stop(), 0)

    def post(self, query, variables=None, timeout=30, **body):
        body.update({"query": query, "variables": variables or {}})
        r = self.http.post(self.kg.url, json=body, timeout=timeout)
        return r.status_code, r.json()

    def gql(self, query, variables=None):
        """An answer that must be HTTP 200 without errors; returns its data."""
        code, ans = self.post(query, variables)
        self.assertEqual(code, 200, ans)
        self.assertNotIn("errors", ans)
        return ans["data"]

    def create(self, **kw):
        return self.gql(CREATE, {"p0": pipeline_input(**kw)})["c0"]

    def update(self, pid, **kw):
        return self.gql(UPDATE, {"i0": pid, "p0": pipeline_input(**kw)})["u0"]


class Runs(StandinCase):
    options = {"start_after": 0.3, "run_seconds": 1.5, "fail_pipelines": ["event01"]}

    def states_seen(self, pid, until):
        """The distinct states of pid's current status, in the order they were seen."""
        seen = []

        def record(ps):
            st = last_state([p for p in ps if p["id"] == pid][0])
            if not seen or seen[-1] != st:
                seen.append(st)
            return st == until
        self.kg.wait_for(record)
        return seen

    def test_staged_then_ready_launches_once_and_runs_to_success(self):
        c = self.create(state="STAGED")
        self.assertRegex(c["id"], r"^[0-9a-f]{24}$")
        self.assertEqual(c["status"], [{"state": "STAGED"}])
        self.assertEqual(self.kg.stats()["launches"], 0)
        u = self.update(c["id"], state="READY",
                        extra_params=[{"name": "id", "value": c["id"], "type": "STRING"}])
        self.assertEqual(u["status"], [{"state": "READY"}])
        self.assertEqual([p["name"] for p in u["parameters"]], ["event", "id"])
        self.assertEqual(u["parameters"][1], {"name": "id", "value": c["id"], "type": "STRING"})
        seen = self.states_seen(c["id"], "SUCCESS")
        self.assertEqual(seen[-1], "SUCCESS")
        self.assertIn("STARTED", seen)
        self.assertEqual([s for s in ["READY", "STARTED", "SUCCESS"] if s in seen], seen)
        self.assertEqual(self.kg.stats()["launches"], 1)
        st = self.gql(READ, {"id": c["id"]})["readPipeline"]["status"]
        self.assertEqual(len(st), 1, "one run, its status replaced in place")
        self.assertEqual(st[0]["state"], "SUCCESS")
        self.assertRegex(st[0]["session"], r"^[0-9a-f-]{36}$")
        self.assertRegex(st[0]["taskId"], r"^[0-9a-f-]{36}$")
        self.assertIn("run_pipeline", st[0]["taskName"])
        self.assertLessEqual(st[0]["startedAt"], st[0]["finishedAt"])
        self.assertIsNone(st[0]["taskException"])
        stored = self.kg.pipelines()[0]
        self.assertEqual(stored["parameters"][1], {"name": "id", "value": c["id"],
                                                   "type": "string"})
        self.assertEqual(stored["tags"][0], {"key": "kedro_events_id", "value": "ours-1"})
        self.assertEqual(stored["kedro_graphql_version"], "1.5.1")

    def test_fail_pipeline_ends_failure_with_task_exception(self):
        c = self.create(name="event01", state="READY")  # a READY create launches at once
        self.assertEqual(c["status"], [{"state": "READY"}])
        self.assertEqual(self.states_seen(c["id"], "FAILURE")[-1], "FAILURE")
        st = self.gql(READ, {"id": c["id"]})["readPipeline"]["status"][-1]
        self.assertEqual(st["taskException"], "ValueError('boom')")
        self.assertIn("ValueError: boom", st["taskTraceback"])
        self.assertIsNotNone(st["finishedAt"])

    def test_update_ready_of_ready_or_started_does_not_launch_again(self):
        c = self.create(state="READY")
        self.assertEqual(self.kg.stats()["launches"], 1)
        u = self.update(c["id"], state="READY")
        self.assertIn(u["status"][-1]["state"], ("READY", "STARTED"))
        self.kg.wait_for(lambda ps: last_state(ps[0]) == "STARTED")
        u = self.update(c["id"], state="READY")
        self.assertIn(u["status"][-1]["state"], ("STARTED", "SUCCESS"))
        self.kg.wait_for(lambda ps: last_state(ps[0]) == "SUCCESS")
        self.assertEqual(self.kg.stats()["launches"], 1)
        self.assertEqual(self.kg.stats()["operations"]["updatePipeline"], 2)
        # an ended pipeline updated READY runs a second time, as kedro-graphql does
        u = self.update(c["id"], state="READY")
        self.assertEqual([s["state"] for s in u["status"]], ["SUCCESS", "READY"])
        self.assertEqual(self.kg.stats()["launches"], 2)


class Errors(StandinCase):
    def test_unknown_pipeline_name_is_an_execution_error_with_path(self):
        code, ans = self.post(CREATE, {"p0": pipeline_input(name="nope")})
        self.assertEqual(code, 200)
        self.assertIsNone(ans["data"])
        self.assertEqual(ans["errors"][0]["message"],
                         "Pipeline nope does not exist in the project.")
        self.assertEqual(ans["errors"][0]["path"], ["c0"])
        code, ans = self.post(UPDATE, {"i0": "0123456789abcdef01234567", "p0": pipeline_input()})
        self.assertEqual(ans["errors"][0]["message"],
                         "Error retrieving pipeline 0123456789abcdef01234567: Pipeline "
                         "0123456789abcdef01234567 does not exist in the project.")
        self.assertEqual(ans["errors"][0]["path"], ["u0"])
        self.assertEqual(self.kg.pipelines(), [])

    def test_wrong_shapes_are_rejected_with_data_null(self):
        good = {"p0": pipeline_input()}
        cases = [
            ("unknown field", CREATE.replace("{ id status", "{ id nonsense status"), good,
             "Cannot query field 'nonsense' on type 'Pipeline'."),
            ("unknown argument", CREATE.replace("(pipeline: $p0)", "(pipeline: $p0, x: 1)"),
             good, "Unknown argument 'x' on field 'Mutation.createPipeline'."),
            ("unknown root field", CREATE.replace("createPipeline", "makePipeline"), good,
             "Cannot query field 'makePipeline' on type 'Mutation'."),
            ("wrong variable type", CREATE.replace("PipelineInput!", "String!"), {"p0": "x"},
             "Variable '$p0' of type 'String!' used in position expecting type "
             "'PipelineInput!'."),
            ("missing name", CREATE, {"p0": {"state": "READY"}},
             "Field 'name' of required type 'String!' was not provided."),
            ("unknown input key", CREATE, {"p0": dict(pipeline_input(), colour="red")},
             "Field 'colour' is not defined by type 'PipelineInput'."),
            ("bad enum", CREATE, {"p0": dict(pipeline_input(), state="RUNNING")},
             "Value 'RUNNING' does not exist in 'PipelineInputStatus' enum."),
            ("tag value not a string", CREATE,
             {"p0": dict(pipeline_input(), tags=[{"key": "k", "value": 7}])},
             "at 'p0.tags[0].value'; String cannot represent a non string value: 7"),
            ("missing variable", CREATE, {}, "Variable '$p0' of required type "
             "'PipelineInput!' was not provided."),
            ("undefined variable", "mutation { createPipeline(pipeline: $p) { id } }", {},
             "Variable '$p' is not defined."),
            ("missing argument", "mutation { createPipeline { id } }", {},
             "Field 'createPipeline' argument 'pipeline' of type 'PipelineInput!' is required"),
            ("missing selection set", "mutation ($p0: PipelineInput!) { createPipeline("
             "pipeline: $p0) }", good, "must have a selection of subfields"),
            ("selection on a scalar", CREATE.replace("{ id status", "{ id { x } status"), good,
             "Field 'id' must not have a selection since type 'ID' has no subfields."),
            ("literal with unknown key", 'mutation { createPipeline(pipeline: {name: "event00",'
             ' nope: 1}) { id } }', {}, "Field 'nope' is not defined by type 'PipelineInput'."),
            ("syntax error", CREATE[:-2], good, "Syntax Error"),
        ]
        for i, (what, query, variables, message) in enumerate(cases):
            with self.subTest(what):
                code, ans = self.post(query, variables)
                self.assertEqual(code, 200, ans)
                self.assertIsNone(ans["data"])
                self.assertEqual(len(ans["errors"]), 1, ans)
                self.assertIn(message, ans["errors"][0]["message"])
                self.assertNotIn("path", ans["errors"][0])
                self.assertEqual(self.kg.stats()["rejected"], i + 1)
        self.assertEqual(self.kg.pipelines(), [])
        self.assertEqual(self.kg.stats()["operations"]["createPipeline"], 0)

    def test_a_body_that_is_not_a_graphql_request_is_http_400(self):
        for body in (b"{not json", b'{"variables": {}}', b'{"query": 5}'):
            with self.subTest(body):
                r = self.http.post(self.kg.url, data=body,
                                   headers={"content-type": "application/json"}, timeout=30)
                self.assertEqual(r.status_code, 400)
                self.assertTrue(r.json()["errors"][0]["message"])

    def test_aliased_mutations_one_failing_keeps_earlier_ones_and_data_is_null(self):
        q = ("mutation ($a: PipelineInput!, $b: PipelineInput!, $c: PipelineInput!) { "
             "a: createPipeline(pipeline: $a) { id } b: createPipeline(pipeline: $b) { id } "
             "c: createPipeline(pipeline: $c) { id } }")
        code, ans = self.post(q, {"a": pipeline_input(our_id="A"),
                                  "b": pipeline_input(name="missing", our_id="B"),
                                  "c": pipeline_input(our_id="C")})
        self.assertEqual(code, 200)
        self.assertIsNone(ans["data"])
        self.assertEqual([e["path"] for e in ans["errors"]], [["b"]])
        self.assertEqual([p["tags"][0]["value"] for p in self.kg.pipelines()], ["A"])


class ReadPipelines(StandinCase):
    def test_tag_filter_finds_exactly_the_tagged_ones_in_pages(self):
        ids = {}
        for i, our in enumerate(["u0", "x0", "u1", "u2", "x1", "u3", "u4"]):
            ids[our] = self.create(name="event0%d" % (i % 2), our_id=our)["id"]
        wanted = ["u0", "u1", "u2", "u3", "u4", "never-created"]
        filt = json.dumps({"tags": {"$elemMatch": {"key": "kedro_events_id",
                                                   "value": {"$in": wanted}}}})
        pages, cursor = [], None
        while True:
            page = self.gql(READ_MANY, {"limit": 2, "cursor": cursor,
                                        "filter": filt})["readPipelines"]
            pages.append([p["id"] for p in page["pipelines"]])
            cursor = page["pageMeta"]["nextCursor"]
            if cursor is None:
                break
            self.assertLess(len(pages), 10)
            # the real server's cursor: base64 of "cursor:<first id of the next page>"
            self.assertTrue(base64.b64decode(cursor).decode().startswith("cursor:"))
        self.assertEqual([len(p) for p in pages], [2, 2, 1])
        self.assertEqual(sum(pages, []), [ids[u] for u in ["u0", "u1", "u2", "u3", "u4"]])
        one = self.gql(READ_MANY, {"limit": 10, "filter": json.dumps(
            {"tags": {"$elemMatch": {"key": "kedro_events_id", "value": "x1"}}})})
        self.assertEqual([p["id"] for p in one["readPipelines"]["pipelines"]], [ids["x1"]])
        both = self.gql(READ_MANY, {"limit": 10, "filter": json.dumps(
            {"$or": [{"name": "event01"}, {"_id": ids["u0"]}]})})
        self.assertEqual([p["id"] for p in both["readPipelines"]["pipelines"]],
                         [ids["u0"], ids["x0"], ids["u2"], ids["u3"]])
        dotted = self.gql(READ_MANY, {"limit": 10, "filter": json.dumps(
            {"tags.value": {"$in": ["x1", "u1", "u2", "nobody"]}, "name": {"$ne": "event01"}})})
        self.assertEqual([p["id"] for p in dotted["readPipelines"]["pipelines"]],
                         [ids["u1"], ids["x1"]])

    def test_bad_filter_is_an_execution_error(self):
        for filt, message in (('{"name": {"$regex": "e"}}', "unknown operator: $regex"),
                              ("{nope", "Expecting property name")):
            with self.subTest(filt):
                code, ans = self.post(READ_MANY, {"limit": 5, "filter": filt})
                self.assertEqual(code, 200)
                self.assertIsNone(ans["data"])
                self.assertIn(message, ans["errors"][0]["message"])
                self.assertEqual(ans["errors"][0]["path"], ["readPipelines"])


class Modes(StandinCase):
    def test_fail_answers_503_until_ok(self):
        self.kg.set_mode("fail")
        code, ans = self.post(CREATE, {"p0": pipeline_input()})
        self.assertEqual(code, 503)
        self.assertIn("detail", ans)
        self.kg.set_mode("ok")
        self.create()
        self.assertEqual(len(self.kg.pipelines()), 1)

    def test_error_is_a_graphql_error_and_changes_nothing(self):
        self.kg.set_mode("error")
        code, ans = self.post(CREATE, {"p0": pipeline_input()})
        self.assertEqual(code, 200)
        self.assertIsNone(ans["data"])
        self.assertIn("timed out", ans["errors"][0]["message"])
        self.assertEqual(self.kg.pipelines(), [])
        self.assertEqual(self.kg.stats()["operations"]["createPipeline"], 0)

    def test_hang_gives_no_answer_then_ok_answers_again(self):
        self.kg.set_mode("hang")
        with self.assertRaises(requests.exceptions.ReadTimeout):
            self.post(CREATE, {"p0": pipeline_input()}, timeout=1)
        self.assertEqual(self.kg.pipelines(), [])
        self.kg.set_mode("ok")
        self.http.close()
        self.create()
        self.assertEqual(len(self.kg.pipelines()), 1)

    def test_down_refuses_connections_drops_open_ones_then_listens_on_the_same_port(self):
        self.create()  # a keep-alive connection is open now
        host, port = self.kg.url.split("/")[2].split(":")
        self.kg.set_mode("down")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5).close()
        with self.assertRaises(requests.exceptions.ConnectionError):
            self.post(CREATE, {"p0": pipeline_input()})
        self.kg.set_mode("ok")
        self.create()
        self.assertEqual(len(self.kg.pipelines()), 2)

    def test_hang_update_holds_updates_only(self):
        c = self.create()
        self.kg.set_mode("hang-update")
        self.create(our_id="second")  # other requests work
        with self.assertRaises(requests.exceptions.ReadTimeout):
            self.post(UPDATE, {"i0": c["id"], "p0": pipeline_input(state="READY")}, timeout=1)
        self.assertEqual(self.kg.stats()["launches"], 0)
        self.kg.set_mode("ok")

    def test_lose_answers_executes_then_closes_without_answer(self):
        self.kg.set_mode("lose-answers")
        with self.assertRaises(requests.exceptions.ConnectionError):
            self.post(CREATE, {"p0": pipeline_input(our_id="lost")})
        self.kg.set_mode("ok")
        self.assertEqual([p["tags"][0]["value"] for p in self.kg.pipelines()], ["lost"])

    def test_reset_forgets_pipelines_and_zeroes_stats(self):
        self.create(state="READY")
        self.kg.reset()
        self.assertEqual(self.kg.pipelines(), [])
        self.assertEqual(self.kg.stats()["launches"], 0)
        self.assertEqual(self.kg.stats()["requests"], 0)


class StateFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ke-kgql-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_kill_9_and_restart_keeps_the_pipelines_and_runs_go_on(self):
        path = os.path.join(self.dir, "state.json")
        kg = KgqlStandin(state_file=path, start_after=0.2, run_seconds=0.2)
        try:
            http = requests.Session()

            def create(state, our):
                r = http.post(kg.url, json={"query": CREATE, "variables": {
                    "p0": pipeline_input(state=state, our_id=our)}}, timeout=30).json()
                return r["data"]["c0"]["id"]
            staged, ready = create("STAGED", "s"), create("READY", "r")
            http.close()
            before = kg.pipelines()
            url = kg.url
            self.assertEqual(kg.kill(), -9)
            kg.restart()
            self.assertEqual(kg.url, url)
            after = kg.pipelines()
            self.assertEqual([p["id"] for p in after], [staged, ready])
            self.assertEqual(after[0], before[0])
            done = kg.wait_for(lambda ps: last_state(ps[1]) == "SUCCESS")
            self.assertEqual(last_state(done[0]), "STAGED")
            third = requests.post(kg.url, json={"query": CREATE, "variables": {
                "p0": pipeline_input(our_id="t")}}, timeout=30).json()["data"]["c0"]["id"]
            self.assertGreater(third, ready, "ids keep growing across a restart")
        finally:
            self.assertEqual(kg.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-event-shim in front of a kedro-eventd that forwards to kedro-graphql (the stand-in,
tests/stubs/kedro_graphql/standin.py), end to end over loopback: POST /event/ answers at once,
and once the run is mirrored to SUCCESS the shim's pipeline dicts (GET /pipelines/{id},
GET /pipelines, and a resent event's duplicate answer) carry kedro-graphql's own values."""

import tempfile
import unittest

import harness
import shim_harness as sh
from kgql_harness import KgqlStandin

CONFIG = {"event00": {"source": sh.BINARY_HEADERS["ce-source"],
                      "type": sh.BINARY_HEADERS["ce-type"]}}


class KgqlShimTest(unittest.TestCase):
    def setUp(self):
        self.standin = KgqlStandin(pipelines=("event00",), start_after=0.2, run_seconds=0.2)
        self.addCleanup(self.standin.stop)
        self.server = harness.Server(
            config=CONFIG, runner="kedro-graphql",
            data_dir=tempfile.mkdtemp(prefix="ke-kgql-shim-"),
            args=["--graphql-url", self.standin.url, "--graphql-poll-interval", "0.1"])
        self.addCleanup(self.server.__exit__, None, None, None)

    def post(self, shim, ce_id):
        return sh.curl(shim.url + "/event/", *sh.binary_args(
            dict(sh.BINARY_HEADERS, **{"ce-id": ce_id}), "application/json"),
            data=b'{"order": 7}')

    def get(self, shim, pid):
        g = sh.curl(shim.url + "/pipelines/" + pid)
        self.assertEqual(g.status, 200, g)
        return g.json()

    def assert_kedro_graphqls_values(self, p, theirs):
        self.assertEqual(list(p), sh.KG_PIPELINE_KEYS + sh.OUR_PIPELINE_KEYS, p)
        self.assertEqual(p["kedro_graphql_id"], theirs["id"])
        self.assertEqual(p["kedro_graphql_version"], "1.5.1")
        for k in ("describe", "nodes", "data_catalog", "project_version", "pipeline_version"):
            self.assertEqual(p[k], theirs[k], k)
        self.assertTrue(p["describe"])
        self.assertEqual([n["name"] for n in p["nodes"]], ["event00_node"])
        last, their_last = p["status"][-1], theirs["status"][-1]
        self.assertEqual(last["state"], "SUCCESS")
        self.assertEqual(list(last), sh.KG_STATUS_KEYS + sh.OUR_STATUS_KEYS, last)
        self.assertEqual(last["runner"], "kedro-graphql")
        for k in ("task_id", "task_name", "session", "task_result"):
            self.assertEqual(last[k], their_last[k], k)
        self.assertTrue(last["task_id"])
        self.assertIn({"key": "kedro_graphql_id", "value": theirs["id"]}, p["tags"])

    def test_a_forwarded_run_seen_through_the_shim_carries_kedro_graphqls_values(self):
        with sh.Shim(self.server.target) as shim:
            d = self.post(shim, "kgql-shim-1")
            self.assertEqual(d.status, 200, d)
            (answered,) = d.json()
            self.assertEqual(list(answered), sh.KG_PIPELINE_KEYS + sh.OUR_PIPELINE_KEYS)
            self.assertEqual(answered["name"], "event00")
            self.assertEqual(answered["status"][0]["state"], "READY")
            self.assertEqual(sh.event_param(answered)["data"], {"order": 7})
            pid = answered["id"]
            self.assertTrue(harness.wait_until(
                lambda: self.get(shim, pid)["status"][-1]["state"] == "SUCCESS", timeout=30,
                step=0.05), "%s\n%s" % (self.get(shim, pid), self.server.stderr()))
            (theirs,) = self.standin.pipelines()
            self.assertEqual(self.standin.stats()["launches"], 1)
            p = self.get(shim, pid)
            self.assertEqual(p["id"], pid)
            self.assert_kedro_graphqls_values(p, theirs)
            listed = sh.curl(shim.url + "/pipelines")
            self.assertEqual(listed.status, 200, listed)
            self.assertEqual([q["id"] for q in listed.json()], [pid])
            self.assert_kedro_graphqls_values(listed.json()[0], theirs)
            # The sender retries: the original pipeline again, now with kedro-graphql's values.
            again = self.post(shim, "kgql-shim-1")
            self.assertEqual(again.status, 200, again)
            self.assertEqual(again.headers.get("x-duplicate"), "true", again)
            self.assert_kedro_graphqls_values(again.json()[0], theirs)
            self.assertEqual(self.standin.stats()["launches"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)

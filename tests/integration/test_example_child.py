"""The example project's event00 node, called directly (the Kedro stand-in cannot run Python
nodes, and real Kedro is not installable here) with a real kedro-eventd and kedro-event-shim
running: it starts an example00 child through POST /pipelines/ whose parent is the id it was
given, as kedro-graphql's event00 does."""

import importlib.util
import json
import os
import shutil
import tempfile
import unittest
import urllib.request

import harness
import shim_harness

PROJECT = os.path.join(harness.SOURCE_DIR, "examples", "kedro-events-demo")
NODES = os.path.join(PROJECT, "src", "kedro_events_demo", "pipelines", "event00", "nodes.py")


def load_nodes():
    spec = importlib.util.spec_from_file_location("kedro_events_demo_event00_child", NODES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get(url):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


class ExampleChildTest(unittest.TestCase):
    def setUp(self):
        self.saved = os.environ.get("KEDRO_EVENTS_HTTP_URL")

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("KEDRO_EVENTS_HTTP_URL", None)
        else:
            os.environ["KEDRO_EVENTS_HTTP_URL"] = self.saved

    def test_event00_node_creates_an_example00_child_of_its_own_pipeline(self):
        with harness.Server() as server, shim_harness.Shim(server.target) as shim:
            # the event00 pipeline the node would run in, started by an event through the shim
            event = shim_harness.structured(id="child-1", data={"key": "value"})
            req = urllib.request.Request(
                shim.url + "/event/", data=json.dumps(event).encode(), method="POST",
                headers={"Content-Type": "application/cloudevents+json"})
            with urllib.request.urlopen(req, timeout=30) as answer:
                parent = json.load(answer)[0]
            self.assertEqual(parent["name"], "event00")
            params = {p["name"]: p["value"] for p in parent["parameters"]}

            os.environ["KEDRO_EVENTS_HTTP_URL"] = shim.url
            summary = load_nodes().handle_event(params["id"], params["event"])

            child = get("%s/pipelines/%s" % (shim.url, summary["child_id"]))
            self.assertEqual(child["name"], "example00")
            self.assertEqual(child["parent"], parent["id"])
            self.assertEqual(child["status"][-1]["state"], "READY")
            cparams = {p["name"]: p["value"] for p in child["parameters"]}
            self.assertEqual(cparams["event_id"], "child-1")
            self.assertEqual(json.loads(cparams["data"]), {"key": "value"})
            children = get("%s/pipelines?parent=%s" % (shim.url, parent["id"]))
            self.assertEqual([c["id"] for c in children], [summary["child_id"]])

    def test_the_server_runs_event00_in_the_example_project(self):
        # kedro-eventd runs `kedro run` in the project; the Kedro stand-in checks the project as
        # Kedro 1.x does (its kedro_init_version against the running release) before it runs.
        record = tempfile.mkdtemp(prefix="ke-record-")
        self.addCleanup(shutil.rmtree, record)
        with harness.Server(runner="local", env={"KEDRO_STANDIN_RECORD_DIR": record}, args=[
                "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", PROJECT]) as server, \
                shim_harness.Shim(server.target) as shim:
            event = shim_harness.structured(id="run-1", data={"key": "value"})
            req = urllib.request.Request(
                shim.url + "/event/", data=json.dumps(event).encode(), method="POST",
                headers={"Content-Type": "application/cloudevents+json"})
            with urllib.request.urlopen(req, timeout=30) as answer:
                run = json.load(answer)[0]
            url = "%s/pipelines/%s" % (shim.url, run["id"])
            self.assertTrue(harness.wait_until(
                lambda: get(url)["status"][-1]["state"] in ("SUCCESS", "FAILURE"), timeout=60))
            final = get(url)
            self.assertEqual(final["status"][-1]["state"], "SUCCESS", final)
            with open(os.path.join(record, run["id"] + ".json"), encoding="utf-8") as f:
                rec = json.load(f)
            self.assertEqual(os.path.realpath(rec["cwd"]), os.path.realpath(PROJECT))
            self.assertEqual(rec["pipeline"], "event00")

    def test_a_refused_child_raises_with_the_shims_answer(self):
        with harness.Server() as server, shim_harness.Shim(server.target) as shim:
            os.environ["KEDRO_EVENTS_HTTP_URL"] = shim.url
            event = json.dumps({"specversion": "1.0", "id": "x", "source": "s", "type": "t"})
            with self.assertRaises(RuntimeError) as caught:
                load_nodes().handle_event("no-such-parent", event)
            self.assertIn("404", str(caught.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)

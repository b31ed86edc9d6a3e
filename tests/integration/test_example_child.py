"""The example project's event00 node, called directly (the Kedro stand-in cannot run Python
nodes, and real Kedro is not installable here) with a real kedro-eventd and kedro-event-shim
running: it starts an example00 child through POST /pipelines/ whose parent is the id it was
given, as kedro-graphql's event00 does."""

import importlib.util
import json
import os
import unittest
import urllib.request

import harness
import shim_harness

NODES = os.path.join(harness.SOURCE_DIR, "examples", "kedro-events-demo", "src",
                     "kedro_events_demo", "pipelines", "event00", "nodes.py")


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

    def test_a_refused_child_raises_with_the_shims_answer(self):
        with harness.Server() as server, shim_harness.Shim(server.target) as shim:
            os.environ["KEDRO_EVENTS_HTTP_URL"] = shim.url
            event = json.dumps({"specversion": "1.0", "id": "x", "source": "s", "type": "t"})
            with self.assertRaises(RuntimeError) as caught:
                load_nodes().handle_event("no-such-parent", event)
            self.assertIn("404", str(caught.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)

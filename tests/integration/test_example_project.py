"""The example Kedro project (examples/kedro-events-demo): its event00 node
handles an event rendered the way kedro-eventd renders it, and its
configuration loads as Kedro would load it. Kedro itself cannot be installed
here, so the node is called directly."""

import importlib.util
import json
import os
import tomllib
import unittest

import harness

PROJECT = os.path.join(harness.SOURCE_DIR, "examples", "kedro-events-demo")
NODES = os.path.join(PROJECT, "src", "kedro_events_demo", "pipelines", "event00", "nodes.py")


def load_nodes():
    spec = importlib.util.spec_from_file_location("event00_nodes", NODES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ExampleProjectTest(unittest.TestCase):
    def test_event00_node_summarises_the_event_it_gets_as_str(self):
        nodes = load_nodes()
        event = ('{"specversion":"1.0","id":"1234","source":"example.com",'
                 '"type":"com.example.event","time":"2026-01-02T03:04:05Z",'
                 '"data":{"key":"\\u0024{x} \\"q\\" caf\u00e9"}}')
        summary = nodes.handle_event("0f4c5a1e-0000-4000-8000-000000000001", event)
        self.assertEqual(summary["pipeline_id"], "0f4c5a1e-0000-4000-8000-000000000001")
        self.assertEqual((summary["event_id"], summary["source"], summary["type"]),
                         ("1234", "example.com", "com.example.event"))
        self.assertEqual(summary["data"], {"key": "${x} \"q\" caf\u00e9"})
        json.dumps(summary)  # a plain, serialisable result

    def test_parameters_load_with_omegaconf_and_name_id_and_event(self):
        try:
            from omegaconf import OmegaConf
        except ImportError:
            self.skipTest("python3-omegaconf is not installed")
        params = OmegaConf.to_container(
            OmegaConf.load(os.path.join(PROJECT, "conf", "base", "parameters.yml")), resolve=True)
        self.assertEqual(params, {"id": "", "event": "{}"})

    def test_pyproject_names_the_package_kedro_uses(self):
        with open(os.path.join(PROJECT, "pyproject.toml"), "rb") as f:
            meta = tomllib.load(f)
        self.assertEqual(meta["tool"]["kedro"]["package_name"], "kedro_events_demo")
        self.assertTrue(os.path.isdir(os.path.join(PROJECT, "src", "kedro_events_demo")))


if __name__ == "__main__":
    unittest.main(verbosity=2)

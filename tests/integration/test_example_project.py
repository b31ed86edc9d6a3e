"""The example Kedro project (examples/kedro-events-demo): its event00 node
handles an event rendered the way kedro-eventd renders it, and its
configuration loads as Kedro would load it. Kedro itself cannot be installed
here, so the node is imported by path and called directly."""

import harness

import ast  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

# The node starts a child only where kedro-eventd says where the shim is.
os.environ.pop("KEDRO_EVENTS_HTTP_URL", None)

PROJECT = os.path.join(harness.SOURCE_DIR, "examples", "kedro-events-demo")
PACKAGE = os.path.join(PROJECT, "src", "kedro_events_demo")
EVENT00 = os.path.join(PACKAGE, "pipelines", "event00")
NODES = os.path.join(EVENT00, "nodes.py")
EXAMPLE00 = os.path.join(PACKAGE, "pipelines", "example00")

PIPELINE_ID = "0f4c5a1e-0000-4000-8000-000000000001"
# As kedro-eventd renders it: compact, keys in the SDK's order, `$` before `{`
# written \u0024, non-ASCII as raw UTF-8, quotes and a backslash escaped.
EVENT = ('{"specversion":"1.0","id":"1234","source":"example.com",'
         '"type":"com.example.event","datacontenttype":"application/json",'
         '"time":"2026-01-02T03:04:05.005057958Z",'
         '"data":{"key":"\\u0024{x} \\"q\\" caf\u00e9 \U0001f600 a\\\\b, c"}}')
DATA = {"key": "${x} \"q\" caf\u00e9 \U0001f600 a\\b, c"}


def load_nodes():
    spec = importlib.util.spec_from_file_location("kedro_events_demo_event00_nodes", NODES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imported_modules(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            names.update(a.name.split(".")[0] for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            names.add("." if n.level else n.module.split(".")[0])
    return names


class EventNodeTest(unittest.TestCase):
    def test_node_summarises_and_logs_the_event_it_gets_as_str(self):
        nodes = load_nodes()
        self.assertIn("${", json.loads(EVENT)["data"]["key"])
        self.assertNotIn("${", EVENT)
        with self.assertLogs(nodes.log, "INFO") as logs:
            summary = nodes.handle_event(PIPELINE_ID, EVENT)
        self.assertEqual(summary, {
            "pipeline_id": PIPELINE_ID, "event_id": "1234", "source": "example.com",
            "type": "com.example.event", "time": "2026-01-02T03:04:05.005057958Z",
            "datacontenttype": "application/json", "data": DATA, "child_id": None})
        json.dumps(summary)  # plain and serialisable, fine for a MemoryDataset
        line = "\n".join(logs.output)
        for part in (PIPELINE_ID, "1234", "example.com", "com.example.event",
                     "${x}", "caf\u00e9"):
            self.assertIn(part, line)

    def test_node_runs_with_the_default_parameters(self):
        summary = load_nodes().handle_event("", "{}")
        self.assertEqual(summary["pipeline_id"], "")
        self.assertIsNone(summary["event_id"])
        self.assertIsNone(summary["data"])

    def test_binary_data_is_summarised_as_data_base64(self):
        event = ('{"specversion":"1.0","id":"b","source":"s","type":"t",'
                 '"datacontenttype":"application/octet-stream","data_base64":"AAEC"}')
        self.assertEqual(load_nodes().handle_event("p", event)["data"], "AAEC")

    def test_a_non_object_event_is_refused(self):
        with self.assertRaises(ValueError):
            load_nodes().handle_event("p", "[1, 2]")

    def test_nodes_import_only_the_standard_library(self):
        for path in (NODES, os.path.join(EXAMPLE00, "nodes.py")):
            modules = imported_modules(path)
            self.assertTrue(modules <= set(sys.stdlib_module_names), (path, modules))

    def test_example00_node_reads_what_event00_gives_it(self):
        spec = importlib.util.spec_from_file_location(
            "kedro_events_demo_example00_nodes", os.path.join(EXAMPLE00, "nodes.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.assertEqual(module.report("1234", json.dumps(DATA)),
                         {"event_id": "1234", "data": DATA})
        self.assertEqual(module.report("", ""), {"event_id": "", "data": None})


class ProjectFilesTest(unittest.TestCase):
    def test_parameters_load_with_omegaconf_and_name_id_and_event(self):
        try:
            from omegaconf import OmegaConf
        except ImportError:
            self.skipTest("omegaconf is not installed (Debian: python3-omegaconf)")
        params = OmegaConf.to_container(
            OmegaConf.load(os.path.join(PROJECT, "conf", "base", "parameters.yml")), resolve=True)
        self.assertEqual(params, {"id": "", "event": "{}", "event_id": "", "data": ""})
        self.assertIsInstance(params["id"], str)
        self.assertIsInstance(params["event"], str)
        catalog = OmegaConf.load(os.path.join(PROJECT, "conf", "base", "catalog.yml"))
        self.assertEqual(OmegaConf.to_container(catalog), {})

    def test_the_event_survives_a_run_file_read_as_kedro_reads_it(self):
        # kedro-eventd writes the event as a YAML double-quoted scalar and Kedro
        # resolves it with OmegaConf: \u0024{x} must not become an interpolation.
        try:
            from omegaconf import OmegaConf
        except ImportError:
            self.skipTest("omegaconf is not installed (Debian: python3-omegaconf)")
        run_file = ("run:\n  pipeline: \"event00\"\n  params:\n"
                    "    \"id\": \"%s\"\n    \"event\": %s\n"
                    % (PIPELINE_ID, json.dumps(EVENT, ensure_ascii=False)))
        params = OmegaConf.to_container(OmegaConf.create(run_file), resolve=True)["run"]["params"]
        self.assertEqual(params["event"], EVENT)
        self.assertEqual(load_nodes().handle_event(params["id"], params["event"])["data"], DATA)

    def test_pyproject_names_the_package_kedro_uses(self):
        try:
            import tomllib
        except ImportError:
            self.skipTest("tomllib is missing (Python < 3.11)")
        with open(os.path.join(PROJECT, "pyproject.toml"), "rb") as f:
            meta = tomllib.load(f)
        kedro = meta["tool"]["kedro"]
        self.assertEqual(kedro["package_name"], "kedro_events_demo")
        self.assertEqual(kedro["project_name"], "kedro-events-demo")
        # Kedro 1.x, what `pip install kedro` installs today, runs a project of its major version
        self.assertEqual(kedro["kedro_init_version"].split(".")[0], "1")
        self.assertEqual(meta["project"]["dependencies"], ["kedro>=1.0,<2"])
        with open(os.path.join(PROJECT, "requirements.txt"), encoding="utf-8") as f:
            self.assertIn("kedro>=1.0,<2", [line.strip() for line in f])
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE, "settings.py")))
        self.assertTrue(os.path.isdir(os.path.join(PROJECT, "conf", "local")))

    def test_event00_is_registered_and_takes_the_two_parameters(self):
        # Read without importing: pipeline.py and pipeline_registry.py need Kedro.
        with open(os.path.join(EVENT00, "pipeline.py"), encoding="utf-8") as f:
            pipeline = f.read()
        self.assertIn('["params:id", "params:event"]', pipeline)
        self.assertIn("from .nodes import handle_event", pipeline)
        with open(os.path.join(PACKAGE, "pipeline_registry.py"), encoding="utf-8") as f:
            registry = f.read()
        self.assertIn('"event00"', registry)
        self.assertIn('"example00"', registry)
        self.assertIn('"__default__"', registry)
        for path in (os.path.join(EVENT00, "pipeline.py"),
                     os.path.join(PACKAGE, "pipeline_registry.py")):
            self.assertLessEqual(imported_modules(path) - {"."},
                                 {"kedro", "kedro_events_demo"}, path)


class ProjectCheckTest(unittest.TestCase):
    """`kedro run` in the project, with the Kedro stand-in checking it as Kedro does (its
    kedro_init_version against the running release: tests/stubs/kedro)."""

    def kedro_run(self, project, version=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_STANDIN_")}
        if version:
            env["KEDRO_STANDIN_VERSION"] = version
        return subprocess.run([harness.KEDRO_STANDIN, "run", "--pipeline", "event00"], cwd=project,
                              env=env, capture_output=True, timeout=60)

    def copy_with_init_version(self, version):
        """A copy of the project whose kedro_init_version is version, as the README's section
        "On Kedro 0.19" says to change it."""
        copy = os.path.join(tempfile.mkdtemp(prefix="ke-example-"), "kedro-events-demo")
        self.addCleanup(shutil.rmtree, os.path.dirname(copy))
        shutil.copytree(PROJECT, copy)
        path = os.path.join(copy, "pyproject.toml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text, n = re.subn(r'(?m)^kedro_init_version = ".*"$',
                          'kedro_init_version = "%s"' % version, text)
        self.assertEqual(n, 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return copy

    def test_kedro_1_runs_the_project(self):
        r = self.kedro_run(PROJECT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn(b"Pipeline execution completed successfully.", r.stdout)

    def test_kedro_0_19_runs_it_once_the_readme_change_is_made(self):
        with open(os.path.join(PROJECT, "README.md"), encoding="utf-8") as f:
            self.assertIn('set `kedro_init_version = "0.19.14"`', f.read())
        r = self.kedro_run(PROJECT, version="0.19.14")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"does not match Kedro package version 0.19.14", r.stderr)
        copy = self.copy_with_init_version("0.19.14")
        r = self.kedro_run(copy, version="0.19.14")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        r = self.kedro_run(copy)  # and Kedro 1.x refuses that copy, as it refused the old example
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Your Kedro project version 0.19.14 does not match Kedro package version "
                      b"1.5.0", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

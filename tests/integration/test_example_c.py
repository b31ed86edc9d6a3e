"""The C example (client/examples/send_event.c), built by the top-level build against the
installed libkedroevents found with pkg-config, sends one event to a real kedro-eventd; the
pipeline it prints is the one the server recorded, with the event it sent."""

import json
import os
import subprocess
import unittest

import harness

harness.load_stubs()

EXAMPLE = os.path.join(harness.BUILD_DIR, "send_event")
STAGE = os.path.join(harness.BUILD_DIR, "stage")


class CExampleTest(unittest.TestCase):
    def test_example_is_built_against_the_installed_pkg_config_file(self):
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(STAGE) for f in fs
               if f == "kedroevents.pc"]
        self.assertEqual(len(pcs), 1, pcs)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        libs = subprocess.run(["pkg-config", "--libs", "kedroevents"], env=env,
                              capture_output=True, text=True, check=True).stdout
        self.assertIn("-lkedroevents", libs)
        # the example resolves the installed shared library, not one from the build tree
        ldd = subprocess.run(["ldd", EXAMPLE], capture_output=True, text=True).stdout
        line = [x for x in ldd.splitlines() if "libkedroevents" in x]
        self.assertEqual(len(line), 1, ldd)
        self.assertIn(os.path.realpath(STAGE), os.path.realpath(line[0].split()[2]))

    def test_example_sends_one_event_and_prints_its_pipeline(self):
        from kedro.events.v1 import events_pb2, events_pb2_grpc
        with harness.Server() as server:
            r = subprocess.run([EXAMPLE, server.target], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            pid, name, state = r.stdout.split()
            self.assertEqual((name, state), ("event00", "READY"))
            stub = events_pb2_grpc.EventServiceStub(server.channel())
            p = stub.GetPipeline(events_pb2.GetPipelineRequest(id=pid), timeout=10)
            params = {x.name: x.value for x in p.parameters}
            event = json.loads(params["event"])
            self.assertEqual(event["source"], "example.com")
            self.assertEqual(event["datacontenttype"], "application/json")
            self.assertEqual(event["data"], {"key": "value"})
            self.assertRegex(event["id"], r"^[0-9a-f-]{36}$")

    def test_example_reports_an_unreachable_server_and_fails(self):
        r = subprocess.run([EXAMPLE, "127.0.0.1:1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("send_event: ", r.stderr)
        self.assertIn("127.0.0.1:1", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

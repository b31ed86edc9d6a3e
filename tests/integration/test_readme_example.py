"""The README's Python example (examples/grpc_client.py) works as printed
against a running kedro-eventd."""

import os
import subprocess
import unittest

import harness

harness.load_stubs()


class ReadmeExampleTest(unittest.TestCase):
    def test_python_example_dispatches_and_prints_the_pipeline(self):
        with harness.Server() as server:
            example = os.path.join(harness.SOURCE_DIR, "examples", "grpc_client.py")
            r = subprocess.run(["/usr/bin/python3", example, harness._stub_dir, server.target],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            self.assertRegex(lines[0], r"^[0-9a-f-]{36} event00 READY$")
            self.assertEqual(lines[-1], "new 1 pipeline(s)")
            again = subprocess.run(["/usr/bin/python3", example, harness._stub_dir,
                                    server.target], capture_output=True, text=True, timeout=60)
            self.assertEqual(again.stdout.splitlines()[-1], "duplicate 1 pipeline(s)")
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

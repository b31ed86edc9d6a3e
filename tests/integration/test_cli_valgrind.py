"""kedro-events under valgrind against the real kedro-eventd: each subcommand frees what it
allocates (no definite or indirect leaks) and makes no memory errors, on the success path and
on the error paths that end early."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

import harness

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
VALGRIND = shutil.which("valgrind")

if os.environ.get("KE_SANITIZED") == "1":
    print("skipped: KE_SANITIZED=1: valgrind cannot run AddressSanitizer binaries")
    sys.exit(77)
if VALGRIND is None:
    print("skipped: valgrind is not installed (Debian: valgrind)")
    sys.exit(77)

ERROR_EXIT = 99  # what valgrind exits with when it found an error or a leak


def valgrind(*args, input=None, timeout=300):
    """Runs kedro-events under memcheck; returns (exit code, stdout, valgrind's report)."""
    log = tempfile.NamedTemporaryFile(prefix="ke-valgrind-", suffix=".log", delete=False)
    log.close()
    env = {k: v for k, v in os.environ.items()
           if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
    try:
        r = subprocess.run(
            [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite,indirect",
             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=%d" % ERROR_EXIT,
             "--log-file=" + log.name, CLI] + [str(a) for a in args],
            input=input, capture_output=True, env=env, timeout=timeout)
        with open(log.name, encoding="utf-8", errors="replace") as f:
            report = f.read()
    finally:
        os.unlink(log.name)
    return r.returncode, r.stdout, r.stderr, report


class CliValgrindTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.target = cls.server.target
        cls.tmp = tempfile.mkdtemp(prefix="ke-cli-vg-")

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert status == 0, "kedro-eventd exited %s:\n%s" % (status, cls.server.stderr())

    def assertClean(self, expected_exit, *args, input=None):
        code, out, err, report = valgrind(*args, input=input)
        self.assertNotEqual(code, ERROR_EXIT, "valgrind found errors or leaks:\n" + report)
        self.assertEqual(code, expected_exit, "stderr: %s\nvalgrind:\n%s" % (err, report))
        self.assertRegex(report, r"ERROR SUMMARY: 0 errors", report)
        self.assertTrue(re.search(r"definitely lost: 0 bytes", report)
                        or "no leaks are possible" in report, report)
        self.assertTrue(re.search(r"indirectly lost: 0 bytes", report)
                        or "no leaks are possible" in report, report)
        return out

    def test_send_frees_everything(self):
        out = self.assertClean(0, "send", "--target", self.target, "--source", "example.com",
                               "--type", "com.example.event", "--id", "vg-send",
                               "--data", '{"a": 1}', "--content-type", "application/json",
                               "--ext", "n:integer=5", "--ext", "b:binary=AAE=",
                               "--ext", "t:timestamp=2018-04-05T17:31:00Z", "--json-out")
        self.assertEqual(len(json.loads(out)["pipelines"]), 1)

    def test_send_json_batch_frees_everything(self):
        path = os.path.join(self.tmp, "batch.json")
        with open(path, "w") as f:
            json.dump([{"specversion": "1.0", "id": "vg-b%d" % i, "source": "example.com",
                        "type": "com.example.event", "data": {"i": i}} for i in range(3)], f)
        out = self.assertClean(0, "send", "--target", self.target, "--json", path)
        self.assertEqual(len(out.splitlines()), 3)

    def test_list_frees_everything(self):
        self.assertClean(0, "send", "--target", self.target, "--source", "example.com",
                         "--type", "com.example.event", "--id", "vg-list")
        out = self.assertClean(0, "list", "--target", self.target, "--limit", "5")
        self.assertGreaterEqual(len(out.splitlines()), 1)
        self.assertClean(0, "list", "--target", self.target, "--json-out", "--state", "ready")

    def test_get_frees_everything(self):
        out = self.assertClean(0, "send", "--target", self.target, "--source", "example.com",
                               "--type", "com.example.event", "--id", "vg-get")
        pid = out.decode().split("\t")[0]
        self.assertClean(0, "get", "--target", self.target, pid)
        self.assertClean(0, "get", "--target", self.target, pid, "--json-out")
        self.assertClean(1, "get", "--target", self.target, "no-such-id")

    def test_watch_frees_everything_when_the_run_ends_and_on_sigint(self):
        project = tempfile.mkdtemp(prefix="ke-cli-vg-project-")
        with harness.Server(runner="local", args=["--kedro-bin", harness.KEDRO_STANDIN,
                                                  "--kedro-project", project]) as runs:
            out = self.assertClean(0, "send", "--target", runs.target, "--source",
                                   "example.com", "--type", "com.example.event")
            pid = out.decode().split("\t")[0]
            out = self.assertClean(0, "watch", "--target", runs.target, "--interval", "0.1", pid)
            self.assertIn(b"SUCCESS  exit 0", out)
            self.assertClean(0, "watch", "--target", runs.target, "--json-out", pid)
        # --runner none: the run stays READY until Ctrl-C.
        out = self.assertClean(0, "send", "--target", self.target, "--source", "example.com",
                               "--type", "com.example.event", "--id", "vg-watch")
        pid = out.decode().split("\t")[0]
        log = os.path.join(self.tmp, "watch.log")
        p = subprocess.Popen(
            [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite,indirect",
             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=%d" % ERROR_EXIT,
             "--log-file=" + log, CLI, "watch", pid, "--target", self.target,
             "--interval", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            self.assertIn(b"READY", p.stdout.readline())
            p.send_signal(signal.SIGINT)
            code = p.wait(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        with open(log, encoding="utf-8", errors="replace") as f:
            report = f.read()
        self.assertEqual(code, 130, report)
        self.assertRegex(report, r"ERROR SUMMARY: 0 errors")
        self.assertTrue(re.search(r"definitely lost: 0 bytes", report)
                        or "no leaks are possible" in report, report)

    def test_error_paths_free_everything(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            down = "127.0.0.1:%d" % s.getsockname()[1]
        self.assertClean(3, "list", "--target", down, "--timeout", "5")
        self.assertClean(2, "send", "--source", "s", "--type", "t", "--ext", "n:integer=x")
        self.assertClean(2, "list", "--state", "nope")
        self.assertClean(4, "send", "--json", "-", input=b"not json")
        self.assertClean(0, "send", "--help")

    def test_bench_frees_everything(self):
        self.assertClean(0, "bench", "--target", self.target, "--requests", "200",
                         "--concurrency", "8")

    def test_bench_rate_frees_everything(self):
        # the open loop, its cap reached (slots reused) and a warmup: calls due 10 us apart,
        # at most 4 in flight
        self.assertClean(0, "bench", "--target", self.target, "--rate", "100000",
                         "--requests", "200", "--warmup", "0.0005", "--concurrency", "4")
        self.assertClean(0, "bench", "--target", self.target, "--rate", "500", "--requests",
                         "50", "--batch", "3", "--json-out")
        self.assertClean(2, "bench", "--rate", "nan")


if __name__ == "__main__":
    unittest.main(verbosity=2)

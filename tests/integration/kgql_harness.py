"""The kedro-graphql stand-in (tests/stubs/kedro_graphql/standin.py) as a Python object for
the integration tests: starts it on free loopback ports, talks to its control port, stops,
kills and restarts it on the same ports."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.environ.get("KE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
KGQL_STANDIN = os.path.join(SOURCE_DIR, "tests", "stubs", "kedro_graphql", "standin.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class KgqlStandin:
    """A running stand-in. url: its GraphQL endpoint; control_url: its control port."""

    def __init__(self, pipelines=("event00", "event01"), start_after=0.2, run_seconds=0.2,
                 fail_pipelines=(), state_file=None, tls=None, max_body=None):
        """tls: (certificate file, key file) to serve GraphQL over HTTPS (url then says
        https://127.0.0.1:PORT/graphql; the control port stays HTTP)."""
        self.options = ["--pipelines", ",".join(pipelines), "--start-after", str(start_after),
                        "--run-seconds", str(run_seconds)]
        if fail_pipelines:
            self.options += ["--fail-pipelines", ",".join(fail_pipelines)]
        if state_file:
            self.options += ["--state-file", state_file]
        if tls:
            self.options += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if max_body:
            self.options += ["--max-body", str(max_body)]
        self.proc = None
        self._start("127.0.0.1:0", "127.0.0.1:0")

    def _start(self, listen, control):
        self.proc = subprocess.Popen([PYTHON, KGQL_STANDIN, "--listen", listen,
                                      "--control", control] + self.options,
                                     stdout=subprocess.PIPE)
        lines = [self.proc.stdout.readline().decode().split() for _ in range(2)]
        if [ln[:1] for ln in lines] != [["graphql"], ["control"]]:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            raise RuntimeError("the kedro-graphql stand-in did not start: %r" % lines)
        self.url = lines[0][1]
        self.control_url = lines[1][1]

    def _control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def set_mode(self, mode):
        """ok | fail | error | hang | down | hang-update | lose-answers | lose-update-answers
        (see standin.py)."""
        return self._control("POST", "mode", {"mode": mode})

    def reset(self):
        return self._control("POST", "reset", {})

    def pipelines(self):
        """Every stored pipeline, snake_case as stored, in creation order."""
        return self._control("GET", "pipelines")

    def stats(self):
        return self._control("GET", "stats")

    def headers(self):
        """The last /graphql request's headers, names in lower case."""
        return self._control("GET", "headers")

    def wait_for(self, predicate, timeout=20.0):
        """Polls pipelines() until predicate(list) is true; returns the list, or raises
        AssertionError with the last list after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.pipelines()
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError("kedro-graphql stand-in: condition not met in %.0f s; "
                                     "pipelines: %s" % (timeout, json.dumps(got)[:4000]))
            time.sleep(0.05)

    def _wait(self, sig):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.proc.stdout.close()

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        return self._wait(signal.SIGTERM)

    def kill(self):
        """SIGKILL and wait (a crash: nothing is flushed or closed in order)."""
        return self._wait(signal.SIGKILL)

    def restart(self):
        """Stops it if it runs, then starts it again on the same two ports, same options."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        port = self.url.split("/")[2]
        control = self.control_url.split("/")[2]
        self._start(port, control)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ForwardingTestCase(unittest.TestCase):
    """A test of kedro-eventd forwarding to the stand-in: the members a test sets (standin,
    server, channel) are stopped after it in reverse order, and its data dir is removed."""

    data_dir_prefix = "ke-kgql-data-"

    def setUp(self):
        self.standin = None
        self.server = None
        self.channel = None
        self.data_dir = tempfile.mkdtemp(prefix=self.data_dir_prefix)

    def tearDown(self):
        if self.channel is not None:
            self.channel.close()
        if self.server is not None:
            self.server.__exit__(None, None, None)
        if self.standin is not None:
            self.standin.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


"""Shared pieces of kedro-event-shim's integration tests: a running shim on a free loopback
port, a stand-in gRPC server (Python's grpcio) that answers every call with a chosen status
after a chosen delay, and curl as the HTTP client.

The real kedro-eventd comes from harness.Server."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness

SHIM = os.environ.get("KE_SHIM") or os.path.join(harness.BUILD_DIR, "kedro-event-shim")

EURO_ENCODED = "Euro%20%E2%82%AC%20%F0%9F%98%80"
EURO = "Euro \u20ac \U0001F600"

BINARY_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "b-1",
    "ce-source": "example.com",
    "ce-type": "com.example.event",
}


def structured(id="1234", source="example.com", type="com.example.event", **extra):
    ev = {"specversion": "1.0", "id": id, "source": source, "type": type}
    ev.update(extra)
    return ev


class Shim:
    """A kedro-event-shim process on a free loopback port (it binds port 0 and prints the
    port it got)."""

    def __init__(self, target, args=(), env=None):
        self.workdir = tempfile.mkdtemp(prefix="ke-shim-")
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
        full_env.update(env or {})
        cmd = [SHIM, "--listen", "127.0.0.1:0"]
        if target is not None:
            cmd += ["--target", target]
        cmd += list(args)
        self.stderr_path = os.path.join(self.workdir, "shim.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=full_env)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"^kedro-event-shim: listening on 127\.0\.0\.1:0 port (\d+)$", line.strip())
        if not m:
            self.proc.wait(timeout=10)
            raise RuntimeError("kedro-event-shim did not start: %r\n%s" % (line, self.stderr()))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the shim and returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if not self.proc.stdout.closed:
                self.proc.stdout.close()
            if not self._stderr.closed:
                self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        """Stops the shim gracefully; when nothing else failed, a non-zero exit (e.g. a
        sanitizer's report) fails the test."""
        try:
            status = self.stop(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise
        if exc_type is None and status != 0:
            raise AssertionError("kedro-event-shim exited %r after SIGTERM:\n%s"
                                 % (status, self.stderr()))


class Answer:
    """What curl received: status, headers (lowercased names) and body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Answer(%d, %r, %r)" % (self.status, self.headers, self.body[:500])


def curl(url, *args, data=None):
    """Runs curl (the Debian package) with args; data (bytes) is the body, from a file."""
    with tempfile.TemporaryDirectory(prefix="ke-curl-") as d:
        hdr, out = os.path.join(d, "headers"), os.path.join(d, "body")
        cmd = ["curl", "-sS", "--max-time", "60", "-D", hdr, "-o", out, "-w", "%{http_code}"]
        if data is not None:
            src = os.path.join(d, "data")
            with open(src, "wb") as f:
                f.write(data)
            cmd += ["--data-binary", "@" + src]
        r = subprocess.run(cmd + list(args) + [url], capture_output=True, timeout=90)
        if r.returncode != 0:
            raise RuntimeError("curl failed (%d): %s" % (r.returncode, r.stderr.decode()))
        headers = {}
        with open(hdr, "rb") as f:
            blocks = f.read().decode("latin-1").split("\r\n\r\n")
        final = [b for b in blocks if b.startswith("HTTP/") and not b.startswith("HTTP/1.1 100")]
        for line in final[-1].split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = ""
        if os.path.exists(out):  # curl writes no file for an answer without a body (304)
            with open(out, "rb") as f:
                body = f.read().decode()
        return Answer(int(r.stdout.decode()), headers, body)


def binary_args(headers, ctype=None):
    """curl -H arguments for headers (a dict) and a Content-Type."""
    args = ["-X", "POST"]
    for k, v in headers.items():
        args += ["-H", "%s: %s" % (k, v)]
    args += ["-H", "Content-Type: %s" % ctype if ctype else "Content-Type:"]
    return args


def event_param(pipeline):
    """The `event` parameter of a pipeline dict, parsed."""
    for p in pipeline["parameters"]:
        if p["name"] == "event":
            return json.loads(p["value"])
    raise AssertionError("no event parameter in %r" % pipeline)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FakeEventd:
    """A gRPC server (Python's grpcio, not ours) whose EventService answers every call with
    `code` (a grpc.StatusCode; OK answers an empty message) after `delay` seconds."""

    def __init__(self, code, delay=0.0, message="stand-in answer"):
        import grpc
        from concurrent import futures

        self.code, self.delay, self.message = code, delay, message
        self.calls = 0
        self._lock = threading.Lock()

        def answer(request, context):
            with self._lock:
                self.calls += 1
            time.sleep(self.delay)
            if self.code != grpc.StatusCode.OK:
                context.abort(self.code, self.message)
            return b""

        methods = {m: grpc.unary_unary_rpc_method_handler(answer) for m in
                   ("Dispatch", "DispatchBatch", "CreatePipeline", "GetPipeline",
                    "ListPipelines")}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("kedro.events.v1.EventService", methods),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = "127.0.0.1:%d" % self.port
        self.server.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop(0)



# The keys of kedro-graphql's /event/ answer (release 1.5.1) in its order, then ours.
KG_PIPELINE_KEYS = ["id", "name", "data_catalog", "describe", "nodes", "parameters", "status",
                    "tags", "created_at", "parent", "project_version", "pipeline_version",
                    "kedro_graphql_version"]
OUR_PIPELINE_KEYS = ["kedro_graphql_id"]
KG_STATUS_KEYS = ["state", "session", "runner", "filtered_nodes", "started_at", "finished_at",
                  "task_id", "task_name", "task_args", "task_kwargs", "task_request",
                  "task_exception", "task_traceback", "task_einfo", "task_result"]
OUR_STATUS_KEYS = ["changed_at", "exit_code", "signal", "error", "log_path"]
# Those only kedro-graphql has values for: null for a run it never saw (data_catalog: []).
KG_ONLY_PIPELINE_KEYS = ["describe", "nodes", "project_version", "pipeline_version",
                         "kedro_graphql_version"]
KG_ONLY_STATUS_KEYS = ["session", "filtered_nodes"] + KG_STATUS_KEYS[6:]


def assert_local_pipeline_dict(test, p):
    """Asserts p (a pipeline dict the shim answered) has every key of kedro-graphql's in its
    order, then ours, with nulls where only kedro-graphql would have a value."""
    test.assertEqual(list(p), KG_PIPELINE_KEYS + OUR_PIPELINE_KEYS, p)
    test.assertEqual(p["data_catalog"], [], p)
    for k in KG_ONLY_PIPELINE_KEYS + OUR_PIPELINE_KEYS:
        test.assertIsNone(p[k], (k, p))
    for s in p["status"]:
        test.assertEqual(list(s), KG_STATUS_KEYS + OUR_STATUS_KEYS, s)
        for k in KG_ONLY_STATUS_KEYS:
            test.assertIsNone(s[k], (k, s))

"""Shared pieces of the integration tests: Python stubs generated from proto/
with Debian's protoc and grpc_python_plugin, and a running kedro-eventd.

The tests drive the real server binary over loopback with Python's grpcio, a
gRPC implementation this project did not write."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get("KE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("KE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
EVENTD = os.environ.get("KE_EVENTD") or os.path.join(BUILD_DIR, "kedro-eventd")
CONFORMANCE_DIR = os.environ.get("KE_CONFORMANCE_DIR") or os.path.join(
    SOURCE_DIR, "..", "shared", "conformance")
GRPC_PROTO_DIR = "/usr/share/grpc-proto"
# The Kedro stand-in (tests/stubs/kedro): imitates `kedro run` for tests.
KEDRO_STANDIN = os.path.join(SOURCE_DIR, "tests", "stubs", "kedro")

PROTOS = ["cloudevents/v1/cloudevents.proto", "kedro/events/v1/events.proto"]
# gRPC's own protos live under grpc/, which as a Python package would shadow
# grpcio itself: they are generated from a copy under grpcstd/ instead
# (modules grpcstd.health.v1.health_pb2 and so on; proto packages unchanged).
GRPC_PROTOS = ["health/v1/health.proto", "reflection/v1alpha/reflection.proto",
               "reflection/v1/reflection.proto"]

_stub_dir = None


def load_stubs():
    """Generates Python modules for the protos once per process and puts them on sys.path."""
    global _stub_dir
    if _stub_dir is None:
        _stub_dir = tempfile.mkdtemp(prefix="ke-stubs-")
        copies = os.path.join(_stub_dir, "src")
        for rel in GRPC_PROTOS:
            dst = os.path.join(copies, "grpcstd", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(GRPC_PROTO_DIR, "grpc", rel), dst)
        subprocess.run(
            ["protoc", "-I", os.path.join(SOURCE_DIR, "proto"), "-I", copies,
             "-I", "/usr/include", "--python_out=" + _stub_dir,
             "--grpc_python_out=" + _stub_dir,
             "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
            + PROTOS + ["grpcstd/" + p for p in GRPC_PROTOS],
            check=True)
        sys.path.insert(0, _stub_dir)


EVENT00 = {"event00": {"source": "example.com", "type": "com.example.event"}}


class Server:
    """A kedro-eventd process on a free loopback port (it binds port 0 and
    prints the port it got)."""

    def __init__(self, config=EVENT00, args=(), env=None, cwd=None, runner="none",
                 data_dir=None):
        self.workdir = cwd or tempfile.mkdtemp(prefix="ke-eventd-")
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("KEDRO_GRAPHQL_", "KEDROG_"))}
        if env:
            full_env.update(env)
        cmd = [EVENTD, "--listen", "127.0.0.1:0", "--threads", "2", "--data-dir", self.data_dir]
        if runner is not None:
            cmd += ["--runner", runner]
        if config is not None:
            import json
            cmd += ["--events-config", json.dumps(config)]
        cmd += list(args)
        self.stderr_path = os.path.join(self.workdir, "eventd.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=self.workdir, env=full_env)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on .* port (\d+)", line)
        if not m:
            self.proc.wait(timeout=10)
            raise RuntimeError("kedro-eventd did not start: %r\n%s" % (line, self.stderr()))
        self.port = int(m.group(1))
        self.target = "127.0.0.1:%d" % self.port

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def channel(self, **options):
        import grpc
        opts = [(k, v) for k, v in options.items()]
        return grpc.insecure_channel(self.target, options=opts)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server and returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()
            self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


def wait_until(pred, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()

"""Forwards per second of the kedro-graphql runner: the kedro-graphql stand-in and kedro-eventd
--runner kedro-graphql --max-forwards 64 on loopback; N events (one pipeline each) sent with
DispatchBatch; the figure is the time from the first accept until the stand-in holds N launched
pipelines. For comparison, the same N events dispatched to kedro-eventd --runner none. The
stand-in's runs start after an hour, so its timers cost nothing here, and the mirror polls once
a minute (nothing to mirror). Prints the figures; asserts nothing.

    KE_EVENTD=build/kedro-eventd /usr/bin/python3 tests/bench/forwards.py [N] [BATCH]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from kgql_harness import KgqlStandin  # noqa: E402

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2_grpc as rpc  # noqa: E402

CONFIG = {"event00": {"source": "example.com", "type": "com.example.event"}}


def batches(n, size, tag):
    for start in range(0, n, size):
        yield ce.CloudEventBatch(events=[ce.CloudEvent(
            id="%s-%d" % (tag, i), source="example.com", spec_version="1.0",
            type="com.example.event", text_data='{"i": %d}' % i)
            for i in range(start, min(n, start + size))])


def dispatch_all(server, n, size, tag):
    """Sends n events in DispatchBatch calls, 4 in flight; returns (first accept, last answer)."""
    with server.channel() as ch:
        stub = rpc.EventServiceStub(ch)
        t0 = time.monotonic()
        pending = []
        for b in batches(n, size, tag):
            pending.append(stub.DispatchBatch.future(b, timeout=120))
            if len(pending) == 4:
                pending.pop(0).result()
        for f in pending:
            f.result()
        return t0, time.monotonic()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with harness.Server(config=CONFIG, runner="none") as s:
        t0, t1 = dispatch_all(s, n, size, "none")
        s.stop()
    print("Dispatch alone (--runner none): %d events in %.2f s: %.0f events/s" % (
        n, t1 - t0, n / (t1 - t0)))
    standin = KgqlStandin(pipelines=("event00",), start_after=3600, run_seconds=1)
    try:
        with harness.Server(config=CONFIG, runner="kedro-graphql", args=[
                "--graphql-url", standin.url, "--max-forwards", "64",
                "--graphql-poll-interval", "60"]) as s:
            cpu0 = (cpu_seconds(s.proc.pid), cpu_seconds(standin.proc.pid))
            t0, t1 = dispatch_all(s, n, size, "kgql")
            deadline = time.monotonic() + 600
            while standin.stats()["launches"] < n and time.monotonic() < deadline:
                time.sleep(0.05)
            t2 = time.monotonic()
            cpu1 = (cpu_seconds(s.proc.pid), cpu_seconds(standin.proc.pid))
            got = standin.stats()
            s.stop()
    finally:
        standin.stop()
    print("Dispatch with --runner kedro-graphql: %d events in %.2f s: %.0f events/s" % (
        n, t1 - t0, n / (t1 - t0)))
    print("Forwarded %d of %d (launches %d, %d HTTP requests) in %.2f s from the first accept: "
          "%.0f forwards/s at --max-forwards 64" % (
              got["operations"]["updatePipeline"], n, got["launches"], got["requests"],
              t2 - t0, got["launches"] / (t2 - t0)))
    print("CPU seconds meanwhile: kedro-eventd %.2f, stand-in %.2f (wall %.2f)" % (
        cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], t2 - t0))


if __name__ == "__main__":
    main()

"""Runs per second of the local forwarder: kedro-eventd with /bin/true as --kedro-bin (so only
our own cost is measured: claim, run file, log, fork/exec, supervisor, reap, record) at
--max-runs 4. Prints the figure; asserts nothing.

    KE_EVENTD=build/kedro-eventd /usr/bin/python3 tests/bench/runs_rate.py [RUNS]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

FINAL = (pb.PipelineStatus.State.SUCCESS, pb.PipelineStatus.State.FAILURE,
         pb.PipelineStatus.State.ABORTED)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with harness.Server(runner="local", args=["--kedro-bin", "/bin/true", "--kedro-project",
                                              "/tmp", "--max-runs", "4"]) as s:
        with s.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            futures = [stub.Dispatch.future(ce.CloudEvent(
                id="rate-%d" % i, source="example.com", spec_version="1.0",
                type="com.example.event", text_data="{}")) for i in range(runs)]
            ids = [f.result(timeout=120).pipelines[0].id for f in futures]
            deadline = time.monotonic() + 600
            for i in ids:  # each final (the figure itself comes from the recorded times)
                while (time.monotonic() < deadline and stub.GetPipeline(
                        pb.GetPipelineRequest(id=i)).status[-1].state not in FINAL):
                    time.sleep(0.1)
            got = [stub.GetPipeline(pb.GetPipelineRequest(id=i)).status[-1] for i in ids]
        s.stop()
    states = {}
    for st in got:
        states[pb.PipelineStatus.State.Name(st.state)] = states.get(
            pb.PipelineStatus.State.Name(st.state), 0) + 1
    first = min(st.started_at.ToMicroseconds() for st in got if st.started_at.seconds)
    end = max(st.finished_at.ToMicroseconds() for st in got if st.finished_at.seconds)
    print("%d runs (%s) in %.2f s: %.1f runs/s at --max-runs 4 (%s)" % (
        runs, ", ".join("%s %d" % kv for kv in sorted(states.items())), (end - first) / 1e6,
        runs / ((end - first) / 1e6), harness.EVENTD))


if __name__ == "__main__":
    main()

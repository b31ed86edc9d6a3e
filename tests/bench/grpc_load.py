#!/usr/bin/python3
"""Benchmark (not a test): end-to-end durable Dispatch throughput with distinct event ids
(h2load repeats one body, so every call after the first is a duplicate). Python's grpc.aio
drives CONCURRENCY calls in flight from each of PROCS processes and prints dispatches/s,
latency percentiles and the client's CPU time, so a reader can tell when the client, not
the server, is the limit.

Usage: grpc_load.py TARGET [--requests N] [--concurrency C] [--procs P]"""

import argparse
import asyncio
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402


def worker(target, start, count, concurrency, out):
    harness.load_stubs()
    import grpc
    from cloudevents.v1 import cloudevents_pb2 as ce
    from kedro.events.v1 import events_pb2_grpc as rpc

    async def run():
        lat = []
        async with grpc.aio.insecure_channel(target) as ch:
            stub = rpc.EventServiceStub(ch)
            queue = iter(range(start, start + count))

            async def one_at_a_time():
                for i in queue:
                    e = ce.CloudEvent(id="load-%d-%d" % (os.getpid(), i), source="example.com",
                                      spec_version="1.0", type="com.example.event",
                                      text_data='{"n": %d}' % i)
                    t = time.perf_counter()
                    await stub.Dispatch(e, timeout=60)
                    lat.append(time.perf_counter() - t)
            await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))
        return lat

    cpu = time.process_time()
    lat = asyncio.run(run())
    out.put((lat, time.process_time() - cpu))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--procs", type=int, default=1)
    a = ap.parse_args()
    per = a.requests // a.procs
    out = multiprocessing.Queue()
    t = time.perf_counter()
    procs = [multiprocessing.Process(target=worker, args=(a.target, p * per, per,
                                                          a.concurrency // a.procs, out))
             for p in range(a.procs)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t
    lat = sorted(x for r in results for x in r[0])
    cpu = sum(r[1] for r in results)
    print("%d durable dispatches in %.2f s = %.0f dispatches/s (%d in flight, %d client procs)"
          % (len(lat), wall, len(lat) / wall, a.concurrency, a.procs))
    print("latency p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms" % tuple(
        1000 * lat[int(q * (len(lat) - 1))] for q in (0.5, 0.9, 0.99, 1.0)))
    print("client CPU %.2f s (%.0f%% of %d cores over the run)"
          % (cpu, 100 * cpu / wall / os.cpu_count(), os.cpu_count()))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""kgql_standin_load.py -- how many mutations/s the kedro-graphql stand-in serves (a benchmark,
not a test): THREADS keep-alive connections each send aliased batches as the forwarder does
(BATCH createPipeline STAGED, then BATCH updatePipeline READY with the ids), and every
READ_EVERY rounds a readPipelines of 100 by a tags $elemMatch/$in filter. Loopback only,
bounded by ROUNDS per thread. Prints mutations/s and forwards/s (a create plus an update).

Usage: kgql_standin_load.py [--threads 4] [--batch 32] [--rounds 100] [--read-every 4]
  [--url URL]   (without --url it starts its own stand-in on 127.0.0.1)"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stubs",
                       "kedro_graphql", "standin.py")
EVENT = json.dumps({"specversion": "1.0", "id": "x", "source": "example.com",
                    "type": "com.example.event", "time": "2026-12-01T20:55:14.187224+00:00",
                    "datacontenttype": "application/json",
                    "data": {"text": "some event data " * 16}}, separators=(", ", ": "))
SEL = "{ id status { state } }"


def queries(batch):
    create = "mutation (%s) { %s }" % (
        ", ".join("$p%d: PipelineInput!" % i for i in range(batch)),
        " ".join("c%d: createPipeline(pipeline: $p%d) %s" % (i, i, SEL) for i in range(batch)))
    update = "mutation (%s) { %s }" % (
        ", ".join("$i%d: String!, $p%d: PipelineInput!" % (i, i) for i in range(batch)),
        " ".join("u%d: updatePipeline(id: $i%d, pipeline: $p%d) %s" % (i, i, i, SEL)
                 for i in range(batch)))
    read = ("query ($f: String) { readPipelines(limit: 100, filter: $f) { pipelines "
            "{ id status { state startedAt finishedAt taskException } } pageMeta { nextCursor }"
            " } }")
    return create, update, read


def tags(our_id):
    return [{"key": "kedro_events_id", "value": our_id},
            {"key": "event_id", "value": "x"}, {"key": "event_source", "value": "example.com"},
            {"key": "event_type", "value": "com.example.event"}]


def worker(url, batch, rounds, read_every, counts, errors):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    create_q, update_q, read_q = queries(batch)
    hdr = {"content-type": "application/json"}

    def post(query, variables):
        conn.request("POST", u.path, json.dumps({"query": query, "variables": variables}), hdr)
        ans = json.loads(conn.getresponse().read())
        if ans.get("errors"):
            errors.append(ans["errors"][0]["message"])
            raise RuntimeError(ans["errors"][0]["message"])
        return ans["data"]

    done = 0
    for r in range(rounds):
        ours = [str(uuid.uuid4()) for _ in range(batch)]
        params = [{"name": "event", "value": EVENT}]
        data = post(create_q, {"p%d" % i: {"name": "event00", "state": "STAGED",
                                           "parameters": params, "tags": tags(ours[i])}
                               for i in range(batch)})
        ids = [data["c%d" % i]["id"] for i in range(batch)]
        variables = {}
        for i in range(batch):
            variables["i%d" % i] = ids[i]
            variables["p%d" % i] = {"name": "event00", "state": "READY",
                                    "parameters": params + [{"name": "id", "value": ids[i]}],
                                    "tags": tags(ours[i])}
        post(update_q, variables)
        done += 2 * batch
        if read_every and r % read_every == 0:
            f = json.dumps({"tags": {"$elemMatch": {"key": "kedro_events_id",
                                                     "value": {"$in": ours[:100]}}}})
            got = post(read_q, {"f": f})["readPipelines"]["pipelines"]
            if len(got) != len(ours[:100]):
                errors.append("readPipelines found %d of %d" % (len(got), len(ours[:100])))
    counts.append(done)


def cpu_seconds(pid):
    """User plus system CPU time of a process so far (Linux /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--read-every", type=int, default=4)
    ap.add_argument("--url")
    opts = ap.parse_args()
    proc = None
    url = opts.url
    if url is None:
        proc = subprocess.Popen([sys.executable, STANDIN, "--listen", "127.0.0.1:0",
                                 "--control", "127.0.0.1:0"], stdout=subprocess.PIPE)
        url = proc.stdout.readline().decode().split()[1]
        proc.stdout.readline()
    cpu0 = cpu_seconds(proc.pid) if proc else None
    counts, errors = [], []
    threads = [threading.Thread(target=worker, args=(url, opts.batch, opts.rounds,
                                                     opts.read_every, counts, errors))
               for _ in range(opts.threads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(proc.pid) - cpu0 if proc else None
    if proc:
        proc.terminate()
        proc.wait()
    total = sum(counts)
    print("%d mutations in %.2f s: %.0f mutations/s, %.0f forwards/s (threads %d, batch %d)"
          % (total, elapsed, total / elapsed, total / 2 / elapsed, opts.threads, opts.batch))
    if cpu is not None and total:
        print("stand-in CPU: %.1f s, %.1f us per mutation (%.0f mutations per CPU-second)"
              % (cpu, cpu / total * 1e6, total / cpu))
    if errors:
        print("errors: %d, first: %s" % (len(errors), errors[0]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

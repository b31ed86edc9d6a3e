#!/usr/bin/python3
"""standin.py -- a stand-in for a kedro-graphql server, for the tests and benchmarks only.

What it imitates: kedro-graphql 1.5.1's GraphQL API (`POST /graphql`, Strawberry on FastAPI,
with its MongoDB backend and Celery workers) as far as a forwarder relies on it:
  - `POST /graphql` with a JSON body {"query", "variables"?, "operationName"?} over HTTP/1.1
    keep-alive; HTTP 200 {"data": ...} or {"data": null, "errors": [{"message", "locations",
    "path"?}]}; a body that is not JSON or has no `query`: HTTP 400 with an `errors` array.
  - the schema's pipeline part: createPipeline, updatePipeline, deletePipeline, readPipeline,
    readPipelines(limit, cursor, filter, sort) with PipelineInput, ParameterInput, TagInput,
    DataSetInput and PipelineSlice as the real schema spells them, answering only what the
    selection set asks, enums by name (state "STARTED", type "STRING").
  - validation as graphql-core does it (syntax errors, unknown fields and arguments, missing
    arguments, undefined/unused/ill-typed variables, selection sets missing or present where
    they must not be, variable values that do not fit the input types): data null and
    graphql-core's message; resolver errors with the real server's messages and `path`.
  - mutations run in document order; an error in one (its field is non-null) makes `data`
    null while the mutations before it stay done; the ones after it do not run.
  - createPipeline STAGED only stores; READY (or updatePipeline READY of a STAGED or ended
    pipeline) launches a run, which a worker moves READY -> STARTED (after --start-after) ->
    SUCCESS, or FAILURE with taskException ValueError('boom') for --fail-pipelines names
    (after --run-seconds more); an update READY of a READY/STARTED pipeline launches nothing.
  - readPipelines as the MongoDB backend does it: `filter` is a MongoDB query (JSON text:
    equality, dotted paths, $in $nin $eq $ne $gt $gte $lt $lte $exists $and $or $nor
    $elemMatch; another operator is an error), merged over {_id: {$gte: cursor}}; `sort` is
    Python-literal text like [('created_at', -1)]; limit+1 rows read to set pageMeta.nextCursor
    (base64 of "cursor:<id of the next page's first pipeline>"). Ids are ObjectIds that grow,
    so the natural order is creation order, as in MongoDB.
  - runs keep going while the API is restarted (Celery workers are other processes):
    with --state-file, pipelines survive a restart and READY/STARTED runs carry on.
What it does not imitate: Kedro itself (no nodes run; `describe` and `nodes` are made up
from the pipeline name), Celery and Redis (a timer moves the states), MongoDB (a dict in
memory, plus the optional state file), WebSocket subscriptions, the pipeline templates,
data sets, logs and every other part of the schema, permissions and authentication,
fragments, directives and introspection beyond __typename, and speed (one Python process).

Command line: standin.py --listen HOST:PORT --control HOST:PORT [--pipelines A,B,...]
  [--start-after S] [--run-seconds S] [--fail-pipelines A,...] [--state-file PATH]
  [--tls-cert FILE --tls-key FILE] (GraphQL over HTTPS: tls.py). Prints `graphql
http[s]://HOST:PORT/graphql` and `control http://HOST:PORT2/`, then serves. Control (always
up, even when the GraphQL port is "down"): POST /mode {"mode": ok | fail | error | hang | down
| hang-update | lose-answers | lose-update-answers}, GET /pipelines, GET /stats, GET /headers
(the last /graphql request's headers, names in lower case), POST /reset.
SIGTERM exits 0. Limits: request bodies up to MAX_BODY bytes (else 413), MAX_CACHED_QUERIES
parsed query texts kept."""

import argparse
import ast
import base64
import datetime
import gc
import heapq
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gql  # noqa: E402  (the GraphQL subset, beside this file)
import tls  # noqa: E402  (HTTPS for the GraphQL port)
from gql import MISSING, GraphQLError  # noqa: E402
from mongoquery import QueryError, check, match, sort_key, tag_candidates  # noqa: E402

MAX_BODY = 16 * 1024 * 1024     # bytes of one request body; more is refused with HTTP 413
MAX_CACHED_QUERIES = 512        # parsed (query text, operation name) pairs kept
KGQL_VERSION = "1.5.1"
TASK_NAME = "<@task: kedro_graphql.tasks.run_pipeline of kedro_graphql>"
DEFAULT_RUNNER = "kedro.runner.SequentialRunner"
MODES = ("ok", "fail", "error", "hang", "down", "hang-update", "lose-answers",
         "lose-update-answers")
ENDED = ("SUCCESS", "FAILURE", "REVOKED")
ZERO_ID = "000000000000000000000000"
BOOM_TRACEBACK = (
    "Traceback (most recent call last):\n"
    "  File \"/usr/local/lib/python3.11/site-packages/kedro/runner/runner.py\", line 540, "
    "in run_node\n    node = _run_node_sequential(node, catalog, hook_manager, session_id)\n"
    "  File \"/usr/local/lib/python3.11/site-packages/kedro/pipeline/node.py\", line 392, "
    "in run\n    raise exc\nValueError: boom\n")

SCHEMA = gql.Schema(
    roots={
        "Query": {
            "readPipeline": ("Pipeline!", {"id": ("String!", MISSING)}),
            "readPipelines": ("Pipelines!", {"limit": ("Int!", MISSING),
                                             "cursor": ("String", None),
                                             "filter": ("String", ""),
                                             "sort": ("String", "")}),
        },
        "Mutation": {
            "createPipeline": ("Pipeline!", {"pipeline": ("PipelineInput!", MISSING)}),
            "updatePipeline": ("Pipeline!", {"id": ("String!", MISSING),
                                             "pipeline": ("PipelineInput!", MISSING)}),
            "deletePipeline": ("Pipeline", {"id": ("String!", MISSING)}),
        },
    },
    objects={
        "Pipeline": {"id": "ID", "name": "String!", "parent": "ID", "createdAt": "DateTime",
                     "parameters": "[Parameter!]", "tags": "[Tag!]",
                     "dataCatalog": "[DataSet!]", "describe": "String", "nodes": "[Node!]",
                     "projectVersion": "String", "pipelineVersion": "String",
                     "kedroGraphqlVersion": "String", "status": "[PipelineStatus!]!"},
        "Parameter": {"name": "String!", "value": "String!", "type": "ParameterType"},
        "Tag": {"key": "String!", "value": "String!"},
        "DataSet": {"name": "String!", "config": "String", "tags": "[Tag!]"},
        "Node": {"name": "String!", "inputs": "[String!]!", "outputs": "[String!]!",
                 "tags": "[String!]"},
        "PipelineStatus": {"state": "State!", "runner": "String", "session": "String",
                           "startedAt": "DateTime", "finishedAt": "DateTime",
                           "taskId": "String", "taskName": "String", "taskArgs": "String",
                           "taskKwargs": "String", "taskRequest": "String",
                           "taskException": "String", "taskTraceback": "String",
                           "taskEinfo": "String", "taskResult": "String",
                           "filteredNodes": "[String!]"},
        "Pipelines": {"pipelines": "[Pipeline!]!", "pageMeta": "PageMeta!"},
        "PageMeta": {"nextCursor": "String"},
    },
    inputs={
        "PipelineInput": {"name": ("String!", MISSING),
                          "state": ("PipelineInputStatus!", "STAGED"),
                          "parameters": ("[ParameterInput!]", MISSING),
                          "dataCatalog": ("[DataSetInput!]", MISSING),
                          "tags": ("[TagInput!]", MISSING), "parent": ("ID", MISSING),
                          "runner": ("String", MISSING), "slices": ("[PipelineSlice!]", MISSING),
                          "onlyMissing": ("Boolean", False)},
        "ParameterInput": {"name": ("String!", MISSING), "value": ("String!", MISSING),
                           "type": ("ParameterType", "string")},
        "TagInput": {"key": ("String!", MISSING), "value": ("String!", MISSING)},
        "DataSetInput": {"name": ("String!", MISSING), "config": ("String", MISSING),
                         "tags": ("[TagInput!]", MISSING)},
        "PipelineSlice": {"slice": ("PipelineSliceType!", MISSING),
                          "args": ("[String!]!", MISSING)},
    },
    enums={
        "State": {s: s for s in ("READY", "STAGED", "STARTED", "RETRY", "FAILURE", "SUCCESS",
                                 "REVOKED", "PENDING", "RECIEVED")},
        "PipelineInputStatus": {"STAGED": "STAGED", "READY": "READY"},
        "ParameterType": {"STRING": "string", "BOOLEAN": "boolean", "INTEGER": "integer",
                          "FLOAT": "float"},
        "PipelineSliceType": {n.upper(): n for n in ("tags", "from_nodes", "to_nodes",
                                                     "node_names", "from_inputs", "to_outputs",
                                                     "node_namespace")},
    },
    scalars=("String", "Int", "Float", "Boolean", "ID", "DateTime"))

ROOT_ARGS = {f: d[1] for root in SCHEMA.roots.values() for f, d in root.items()}
NULLABLE_ROOTS = {f for root in SCHEMA.roots.values() for f, d in root.items() if d[0][0] != "!"}


def new_uuid():
    """A random (version 4) UUID as text; random's generator, not os.urandom, which releases
    the GIL on every call and makes the request threads queue for it."""
    h = "%032x" % ((random.getrandbits(128) & ~(0xf000 << 64) & ~(0xc << 60))
                   | (0x4000 << 64) | (0x8 << 60))
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def now():
    return datetime.datetime.now().isoformat()


def new_status(state, runner):
    return {"state": state, "runner": runner, "session": None, "started_at": None,
            "finished_at": None, "task_id": None, "task_name": None, "task_args": None,
            "task_kwargs": None, "task_request": None, "task_exception": None,
            "task_traceback": None, "task_einfo": None, "task_result": None,
            "filtered_nodes": None}


# ------------------------------------------------------------------------------- the store

class Store:
    """The pipelines (as MongoDB holds them: snake_case dicts in creation order), the tag
    index, the runs a timer moves on, the statistics and the optional state file. Every
    method that touches them runs with self.lock held (execute() takes it)."""

    def __init__(self, names, start_after, run_seconds, fail_names, state_file):
        self.names = set(names)            # pipeline names the "project" has
        # made-up Kedro pipelines: Pipeline.describe() text and nodes per name (shared)
        self.describe = {n: "#### Pipeline execution order ####\nInputs: params:event\n\n"
                            "%s_node\n\nOutputs: %s_output\n##################################"
                            % (n, n) for n in names}
        self.nodes = {n: [{"name": n + "_node", "inputs": ["params:event"],
                           "outputs": [n + "_output"], "tags": []}] for n in names}
        self.start_after = start_after     # seconds from launch to STARTED
        self.run_seconds = run_seconds     # seconds from STARTED to SUCCESS/FAILURE
        self.fail_names = set(fail_names)  # names whose runs end FAILURE
        self.state_file = state_file       # path or None
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)  # wakes the timer thread
        self.heap = []                     # (due, seq, id, run number, "start" | "end")
        self.seq = 0
        self.runs = {}                     # id -> number of the current run
        self.last_id = 0                   # the largest ObjectId given, as an int
        self.rand = random.getrandbits(40)  # ObjectId's per-process random part
        self.reset()
        if state_file and os.path.exists(state_file):
            with self.lock:
                self.load()

    def reset(self):
        self.pipelines = {}                # id -> stored pipeline
        self.tag_index = {}                # (key, value) -> set of ids
        self.heap = []
        self.runs = {}
        self.stats = {"requests": 0, "operations": {f: 0 for f in ROOT_ARGS}, "launches": 0,
                      "rejected": 0}

    # -- persistence
    def load(self):
        with open(self.state_file, encoding="utf-8") as f:
            saved = json.load(f)
        for rec in saved["pipelines"]:
            self.pipelines[rec["id"]] = rec
            self.last_id = max(self.last_id, int(rec["id"], 16))
            self._index(rec, True)
            state = rec["status"][-1]["state"]
            if state in ("READY", "STARTED"):  # Celery workers kept running meanwhile
                self.runs[rec["id"]] = 1
                if state == "READY":
                    self._schedule(self.start_after, rec["id"], "start")
                else:
                    self._schedule(self.run_seconds, rec["id"], "end")

    def save(self):
        if not self.state_file:
            return
        tmp = "%s.tmp%d" % (self.state_file, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"pipelines": list(self.pipelines.values())}, f)
        os.replace(tmp, self.state_file)

    # -- helpers
    def _new_id(self):
        cand = (int(time.time()) << 64) | (self.rand << 24) | random.getrandbits(24)
        self.last_id = max(cand, self.last_id + 1)
        return "%024x" % self.last_id

    def _index(self, rec, add):
        for tag in rec["tags"] or ():
            key = (tag["key"], tag["value"])
            if add:
                self.tag_index.setdefault(key, set()).add(rec["id"])
            else:
                ids = self.tag_index.get(key)
                if ids is not None:
                    ids.discard(rec["id"])
                    if not ids:
                        del self.tag_index[key]

    def _schedule(self, delay, pid, what):
        self.seq += 1
        item = (time.monotonic() + delay, self.seq, pid, self.runs[pid], what)
        heapq.heappush(self.heap, item)
        if self.heap[0] is item:
            self.cond.notify()

    def _launch(self, rec, append):
        st = new_status("READY", rec["status"][-1]["runner"])
        st["started_at"] = now()
        st["task_name"] = TASK_NAME
        st["task_id"] = new_uuid()
        if append:
            rec["status"].append(st)
        else:
            rec["status"][-1] = st
        self.runs[rec["id"]] = self.runs.get(rec["id"], 0) + 1
        self.stats["launches"] += 1
        self._schedule(self.start_after, rec["id"], "start")

    def _check_name(self, name):
        if name not in self.names:
            raise GraphQLError("Pipeline %s does not exist in the project." % name)

    def _get(self, pid):
        if not re.fullmatch(r"[0-9a-f]{24}", pid):
            raise GraphQLError("Error retrieving pipeline %s: '%s' is not a valid ObjectId, it "
                               "must be a 12-byte input or a 24-character hex string"
                               % (pid, pid))
        rec = self.pipelines.get(pid)
        if rec is None:
            raise GraphQLError("Error retrieving pipeline %s: Pipeline %s does not exist in the"
                               " project." % (pid, pid))
        return rec

    @staticmethod
    def _inputs(p):
        """The stored forms of a PipelineInput's lists."""
        params = [{"name": x["name"], "value": x["value"], "type": x["type"]}
                  for x in p.get("parameters") or ()]
        tags = [{"key": x["key"], "value": x["value"]} for x in p.get("tags") or ()]
        catalog = [{"name": x["name"], "config": x.get("config"),
                    "tags": [{"key": t["key"], "value": t["value"]} for t in x.get("tags") or ()]}
                   for x in p.get("dataCatalog") or ()]
        return params, tags, catalog

    # -- resolvers (lock held)
    def create(self, args):
        p = args["pipeline"]
        name = p["name"]
        self._check_name(name)
        params, tags, catalog = self._inputs(p)
        pid = self._new_id()
        rec = {"id": pid, "name": name, "parent": p.get("parent"), "created_at": now(),
               "parameters": params, "tags": tags, "data_catalog": catalog,
               "describe": self.describe[name], "nodes": self.nodes[name],
               "project_version": "0.1", "pipeline_version": None,
               "kedro_graphql_version": KGQL_VERSION,
               "status": [new_status("STAGED", p.get("runner") or DEFAULT_RUNNER)]}
        self.pipelines[pid] = rec
        self._index(rec, True)
        if p["state"] == "READY":
            self._launch(rec, append=False)
        return rec

    def update(self, args):
        rec = self._get(args["id"])
        p = args["pipeline"]
        self._check_name(p["name"])
        params, tags, catalog = self._inputs(p)
        self._index(rec, False)
        rec["parameters"], rec["tags"], rec["data_catalog"] = params, tags, catalog
        rec["parent"] = p.get("parent")
        self._index(rec, True)
        if p["state"] == "READY":
            state = rec["status"][-1]["state"]
            if state == "STAGED":
                self._launch(rec, append=False)
            elif state in ENDED:
                self._launch(rec, append=True)  # the real server starts a second run
        return rec

    def delete(self, args):
        rec = self._get(args["id"])
        self._index(rec, False)
        del self.pipelines[rec["id"]]
        self.runs.pop(rec["id"], None)
        return rec

    def read(self, args):
        return self._get(args["id"])

    def read_many(self, args):
        limit, cursor, filter_, sort = args["limit"], args.get("cursor"), args.get("filter"), \
            args.get("sort")
        start = ZERO_ID
        if cursor is not None:
            try:
                start = base64.b64decode(cursor).decode("ascii").split(":")[1]
            except Exception as e:
                raise GraphQLError(str(e))
            if not re.fullmatch(r"[0-9a-f]{24}", start):
                raise GraphQLError("'%s' is not a valid ObjectId, it must be a 12-byte input or "
                                   "a 24-character hex string" % start)
        query = {"_id": {"$gte": start}}
        try:
            if filter_:
                extra = json.loads(filter_)
                if type(extra) is not dict:
                    raise QueryError("filter must be an instance of dict, bson.son.SON, or any "
                                     "other type that inherits from collections.Mapping")
                query.update(extra)
            check(query)
            keys = self._sort_keys(sort)
            ids = tag_candidates(query, self.tag_index)
            recs = (self.pipelines.values() if ids is None else
                    [self.pipelines[i] for i in sorted(ids) if i in self.pipelines])
            n = limit + 1 if limit + 1 != 0 else len(self.pipelines) + 1
            found = []
            for rec in recs:
                if match(rec, query):
                    found.append(rec)
                    if not keys and len(found) >= abs(n):
                        break
            for key, direction in reversed(keys):
                found.sort(key=lambda r: sort_key(r, key), reverse=direction < 0)
            found = found[:abs(n)]
        except (QueryError, ValueError) as e:
            raise GraphQLError(str(e))
        next_cursor = None
        if len(found) > limit:
            last = found.pop()
            next_cursor = base64.b64encode(("cursor:" + last["id"]).encode()).decode()
        return {"pipelines": found, "page_meta": {"next_cursor": next_cursor}}

    @staticmethod
    def _sort_keys(sort):
        if not sort:
            return []
        try:
            keys = ast.literal_eval(sort)
            if not (type(keys) is list and all(type(i) is tuple and len(i) == 2 for i in keys)):
                raise ValueError("Sort parameter should be a list of tuples like "
                                 "[('field', order)]")
        except (ValueError, SyntaxError) as e:
            raise ValueError("Invalid sort parameter format: %s" % e)
        return keys

    RESOLVERS = {"createPipeline": create, "updatePipeline": update,
                 "deletePipeline": delete, "readPipeline": read, "readPipelines": read_many}

    def execute(self, compiled, variables):
        """Runs a validated operation; returns (answer dict, whether anything changed)."""
        data, errors, changed = {}, [], False
        with self.lock:
            for key, fname, argplan, kind, locs in compiled.roots:
                if kind[0] == "T":
                    data[key] = kind[1]
                    continue
                self.stats["operations"][fname] += 1
                try:
                    args = gql.resolve_arguments(SCHEMA, fname, argplan, variables,
                                                 ROOT_ARGS[fname])
                    value = self.RESOLVERS[fname](self, args)
                except GraphQLError as e:
                    e.locations, e.path = locs, [key]
                    errors.append(e.to_dict())
                    if fname in NULLABLE_ROOTS:
                        data[key] = None
                        continue
                    data = None
                    break
                if compiled.kind == "mutation":
                    changed = True
                data[key] = gql.complete(value, kind)
            if changed:
                self.save()
        answer = {"data": data}
        if errors:
            answer["errors"] = errors
        return answer

    def run_timer(self):
        """The "Celery worker": moves launched runs on when they are due (own thread)."""
        with self.lock:
            while True:
                if not self.heap:
                    self.cond.wait()
                    continue
                delay = self.heap[0][0] - time.monotonic()
                if delay > 0:
                    self.cond.wait(delay)
                    continue
                changed = False
                while self.heap and self.heap[0][0] <= time.monotonic():
                    _, _, pid, run, what = heapq.heappop(self.heap)
                    rec = self.pipelines.get(pid)
                    if rec is None or self.runs.get(pid) != run:
                        continue  # deleted, reset or launched again since
                    changed = True
                    self._move(rec, what)
                if changed:
                    self.save()

    def _move(self, rec, what):
        st = rec["status"][-1]
        if what == "start":
            st["state"] = "STARTED"
            st["session"] = new_uuid()
            st["started_at"] = now()
            if st["task_id"] is None:
                st["task_id"] = new_uuid()
            self._schedule(self.run_seconds, rec["id"], "end")
            return
        st["finished_at"] = now()
        if rec["name"] in self.fail_names:
            st["state"] = "FAILURE"
            st["task_exception"] = "ValueError('boom')"
            st["task_traceback"] = BOOM_TRACEBACK
            st["task_einfo"] = BOOM_TRACEBACK
        else:
            st["state"] = "SUCCESS"
            st["task_result"] = "None"


# ------------------------------------------------------------------------------------ HTTP

class Service:
    """The mode, the query cache, the GraphQL listener (closed while "down") and its open
    connections."""

    def __init__(self, store, host, port):
        self.store = store
        self.host, self.port = host, port
        self.mode = "ok"
        self.generation = 0                 # bumped by every mode change; wakes hung requests
        self.cond = threading.Condition()   # guards mode, generation, conns, cache
        self.mode_lock = threading.Lock()   # one mode change at a time
        self.work_lock = threading.Lock()   # one GraphQL request worked on at a time
        self.cache = {}                     # (query, operation name) -> Compiled | GraphQLError
        self.conns = set()                  # sockets of open GraphQL connections
        self.server = None
        self.listen()

    def listen(self):
        self.server = GraphQLServer((self.host, self.port), GraphQLHandler, self)
        self.port = self.server.server_address[1]
        tls.wrap(self.server)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def set_mode(self, mode):
        with self.mode_lock:
            with self.cond:
                old, self.mode = self.mode, mode
                self.generation += 1
                self.cond.notify_all()
            if mode == "down" and old != "down":
                self.server.shutdown()
                self.server.server_close()
                with self.cond:
                    conns = list(self.conns)
                for conn in conns:
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            elif mode != "down" and old == "down":
                self.listen()

    def wait_mode_change(self, generation):
        with self.cond:
            while self.generation == generation:
                self.cond.wait()

    def compile(self, query, operation_name):
        key = (query, operation_name)
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = gql.compile_document(SCHEMA, query, operation_name)
            except GraphQLError as e:
                hit = e
            with self.cond:
                if len(self.cache) >= MAX_CACHED_QUERIES:
                    self.cache.clear()
                self.cache[key] = hit
        return hit


class GraphQLServer(ThreadingHTTPServer):
    daemon_threads = True
    handle_error = tls.quiet_handle_error
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, service):
        self.service = service
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.service.cond:
            self.service.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.service.cond:
            self.service.conns.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; every answer goes out in one write (no Nagle delays)."""
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""

    def setup(self):
        super().setup()
        tls.handshake(self.connection)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def read_body(self):
        """The request body, or None after answering 413/400 (connection then closed)."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                total += size
                if total > MAX_BODY:
                    self.answer(413, {"detail": "request body over %d bytes" % MAX_BODY}, True)
                    return None
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        left = length if length > MAX_BODY else 0  # read it all, so the client sees the 413
        while left > 0 and self.rfile.read(min(left, 1 << 20)):
            left -= 1 << 20
        if length < 0 or length > MAX_BODY:
            self.answer(413 if length > 0 else 400,
                        {"detail": "request body over %d bytes" % MAX_BODY if length > 0 else
                         "bad content-length"}, True)
            return None
        return self.rfile.read(length)

    def answer(self, code, obj, close=False):
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        if close:
            self.close_connection = True
        head = ("HTTP/1.1 %d %s\r\ndate: %s\r\nserver: uvicorn\r\ncontent-length: %d\r\n"
                "content-type: application/json\r\n%s\r\n"
                % (code, self.responses.get(code, ("",))[0], self.date_time_string(),
                   len(body), "connection: close\r\n" if self.close_connection else ""))
        self.wfile.write(head.encode() + body)


class GraphQLHandler(_Handler):
    HANG = object()  # outcome: hold the request until the mode changes, then close
    LOSE = object()  # outcome: done, but close the connection without an answer

    def do_GET(self):
        self.answer(405, {"detail": "Method Not Allowed"})

    def do_POST(self):
        service = self.server.service
        body = self.read_body()
        if body is None:
            return
        if self.path.split("?")[0] != "/graphql":
            return self.answer(404, {"detail": "Not Found"})
        generation = service.generation
        # one request at a time: threads queue on this lock instead of fighting for the GIL
        with service.work_lock:
            outcome = self.serve(service, body)
        if outcome is self.HANG:
            service.wait_mode_change(generation)
            self.close_connection = True
        elif outcome is self.LOSE:
            self.close_connection = True
        else:
            self.answer(*outcome)

    def serve(self, service, body):
        """What to do with one /graphql request: (HTTP code, answer), HANG or LOSE."""
        store, mode = service.store, service.mode
        with store.lock:
            store.stats["requests"] += 1
            # For tests of the forwarder's configured headers (GET /headers on the control port).
            service.last_headers = {k.lower(): v for k, v in self.headers.items()}
        if mode == "hang":
            return self.HANG
        if mode == "fail":
            return 503, {"detail": "Service Unavailable"}
        if mode == "error":
            return 200, {"data": None, "errors": [
                {"message": "connection to the database timed out"}]}
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return self.reject(415, "Unsupported content type")
        try:
            req = json.loads(body)
        except ValueError:
            return self.reject(400, "Unable to parse request body as JSON")
        if type(req) is not dict or type(req.get("query")) is not str:
            return self.reject(400, "No GraphQL query found in the request")
        variables = req.get("variables")
        if variables is None:
            variables = {}
        if type(variables) is not dict or type(req.get("operationName") or "") is not str:
            return self.reject(400, "Variables must be a JSON object, operationName a string")
        compiled = service.compile(req["query"], req.get("operationName") or None)
        if type(compiled) is GraphQLError:
            return self.reject(200, compiled)
        if mode == "hang-update" and "updatePipeline" in compiled.fields:
            return self.HANG
        try:
            values = gql.coerce_variables(SCHEMA, compiled, variables)
        except GraphQLError as e:
            return self.reject(200, e)
        answer = store.execute(compiled, values)
        if mode == "lose-answers" or (mode == "lose-update-answers" and
                                      "updatePipeline" in compiled.fields):
            return self.LOSE
        return 200, answer

    def reject(self, code, error):
        store = self.server.service.store
        with store.lock:
            store.stats["rejected"] += 1
        if isinstance(error, GraphQLError):
            return code, {"data": None, "errors": [error.to_dict()]}
        return code, {"errors": [{"message": error}]}


class ControlHandler(_Handler):
    def do_GET(self):
        store = self.server.service.store
        with store.lock:
            if self.path == "/pipelines":
                obj = json.loads(json.dumps(list(store.pipelines.values())))
            elif self.path == "/stats":
                obj = json.loads(json.dumps(store.stats))
            elif self.path == "/headers":
                obj = dict(getattr(self.server.service, "last_headers", {}))
            else:
                obj = None
        if obj is None:
            self.answer(404, {"detail": "Not Found"})
        else:
            self.answer(200, obj)

    def do_POST(self):
        service = self.server.service
        body = self.read_body()
        if body is None:
            return
        if self.path == "/reset":
            with service.store.lock:
                service.store.reset()
                service.store.save()
            return self.answer(200, {"ok": True})
        if self.path != "/mode":
            return self.answer(404, {"detail": "Not Found"})
        try:
            mode = json.loads(body)["mode"]
        except (ValueError, KeyError, TypeError):
            mode = None
        if mode not in MODES:
            return self.answer(400, {"detail": "mode must be one of %s" % ", ".join(MODES)})
        service.set_mode(mode)
        self.answer(200, {"mode": mode})


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    handle_error = tls.quiet_handle_error
    allow_reuse_address = True

    def __init__(self, addr, service):
        self.service = service
        super().__init__(addr, ControlHandler)


def _address(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("want HOST:PORT, got %r" % text)
    return host.strip("[]"), int(port)


def _names(text):
    return [n for n in text.split(",") if n]


def main(argv=None):
    global MAX_BODY
    ap = argparse.ArgumentParser(
        prog="standin.py", description="A stand-in for kedro-graphql 1.5.1's GraphQL API, for "
        "tests (see the top of this file for what it imitates and what not).")
    ap.add_argument("--listen", type=_address, required=True, help="GraphQL HOST:PORT (0: any)")
    ap.add_argument("--control", type=_address, required=True, help="control HOST:PORT")
    ap.add_argument("--pipelines", type=_names, default=["event00", "event01"],
                    help="pipeline names of the project (default event00,event01)")
    ap.add_argument("--start-after", type=float, default=0.2,
                    help="seconds from launch to STARTED (default 0.2)")
    ap.add_argument("--run-seconds", type=float, default=0.2,
                    help="seconds from STARTED to SUCCESS/FAILURE (default 0.2)")
    ap.add_argument("--fail-pipelines", type=_names, default=[],
                    help="names whose runs end FAILURE with ValueError('boom')")
    ap.add_argument("--state-file", help="keep pipelines in this JSON file across restarts")
    ap.add_argument("--max-body", type=int, default=MAX_BODY,
                    help="bytes a request body may have (default %d; more: 413)" % MAX_BODY)
    opts = tls.parse_args(ap, argv)  # with --tls-cert/--tls-key
    MAX_BODY = opts.max_body  # like a proxy's body limit (nginx: client_max_body_size)
    # many small dicts: collect cycles seldom, not every 700 allocations (rescans the store)
    gc.set_threshold(50000, 20, 100)
    store = Store(opts.pipelines, opts.start_after, opts.run_seconds, opts.fail_pipelines,
                  opts.state_file)

    def terminate(signum, frame):
        with store.lock:  # never mid-way through writing the state file
            os._exit(0)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    threading.Thread(target=store.run_timer, daemon=True).start()
    service = Service(store, *opts.listen)
    control = ControlServer(opts.control, service)
    threading.Thread(target=control.serve_forever, args=(0.05,), daemon=True).start()
    host = opts.listen[0] if ":" not in opts.listen[0] else "[%s]" % opts.listen[0]
    chost = opts.control[0] if ":" not in opts.control[0] else "[%s]" % opts.control[0]
    sys.stdout.write("graphql %s://%s:%d/graphql\ncontrol http://%s:%d/\n"
                     % (tls.scheme(), host, service.port, chost, control.server_address[1]))
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

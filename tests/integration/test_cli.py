"""The kedro-events command line against the real kedro-eventd: `send`, `get`, `list` and
`watch` run as a user runs them (the binary from $KE_CLI, over loopback), their output
shapes, exit codes and error messages; what they sent is checked with Python's grpcio."""

import base64
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATES = "STAGED, READY, STARTED, SUCCESS, FAILURE, ABORTED"

CONFIG = {
    "event00": {"source": "example.com", "type": "com.example.event"},
    "audit": {"source": "example.com", "type": "com.example.event",
              "parameters": {"level": 3}, "tags": {"team": "data"}},
    "orders": {"source": "shop", "type": "order.created"},
    "bulk": {"source": "bulk", "type": "bulk.event"},
    "listed": {"source": "lister", "type": "list.event"},
}

RUN_CONFIG = {
    "slow_ok": {"source": "example.com", "type": "com.example.ok",
                "parameters": {"sleep": "0.4"}},
    "fail_pipeline": {"source": "example.com", "type": "com.example.fail",
                      "parameters": {"sleep": "0.4"}},
}


def clean_env(extra=None):
    """The environment without anything that would pick a server for the CLI."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KEDRO_EVENTS_TARGET", "KEDRO_EVENTS_SERVER")}
    env.update(extra or {})
    return env


def cli(*args, input=None, env=None, timeout=60):
    """Runs kedro-events with stdout and stderr captured (stdout is then not a terminal)."""
    return subprocess.run([CLI] + [str(a) for a in args], input=input, capture_output=True,
                          env=clean_env(env), timeout=timeout)


def cli_tty(*args, timeout=60):
    """Runs kedro-events with stdout on a pseudo-terminal; returns (exit code, stdout, stderr)."""
    try:
        master, slave = pty.openpty()
    except OSError as e:  # e.g. a chroot without /dev/ptmx
        raise unittest.SkipTest("no pseudo-terminal to show the table on: %s" % e)
    p = subprocess.Popen([CLI] + [str(a) for a in args], stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=subprocess.PIPE, env=clean_env())
    os.close(slave)
    out = b""
    exited = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            if exited:  # looked once more after the exit: what it wrote has been read
                break
            exited = p.poll() is not None  # it may have written just before exiting
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = p.stderr.read()
    p.stderr.close()
    p.wait(timeout=timeout)
    return p.returncode, out.decode().replace("\r\n", "\n"), err.decode()


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tsv(out):
    """stdout of a non-terminal run as rows of fields."""
    return [line.split("\t") for line in out.decode().splitlines()]


class CliTest(unittest.TestCase):
    """Against one server with --runner none: runs are recorded, never executed."""

    @classmethod
    def setUpClass(cls):
        if not os.access(CLI, os.X_OK):
            raise RuntimeError("no kedro-events binary at %s (set KE_CLI)" % CLI)
        cls.server = harness.Server(config=CONFIG)
        cls.target = cls.server.target
        cls.channel = cls.server.channel()
        cls.stub = rpc.EventServiceStub(cls.channel)
        cls.tmp = tempfile.mkdtemp(prefix="ke-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        status = cls.server.stop()
        assert status == 0, "kedro-eventd exited %s:\n%s" % (status, cls.server.stderr())

    def run_cli(self, *args, **kw):
        return cli(*args, "--target", self.target, **kw)

    def ok(self, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r

    def send_json(self, *args, **kw):
        return json.loads(self.ok("send", "--json-out", *args, **kw).stdout)

    def event_of(self, pipeline_id):
        """The `event` parameter of a pipeline, parsed, as the server holds it."""
        p = self.stub.GetPipeline(pb.GetPipelineRequest(id=pipeline_id))
        return json.loads({x.name: x.value for x in p.parameters}["event"])

    def file(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        return path

    # ---- send ----------------------------------------------------------------------------

    def test_send_prints_id_name_state_per_pipeline_when_stdout_is_not_a_terminal(self):
        r = self.ok("send", "--source", "example.com", "--type", "com.example.event",
                    "--id", "tsv-1")
        rows = tsv(r.stdout)
        self.assertEqual([row[1:] for row in rows], [["event00", "READY"], ["audit", "READY"]])
        for row in rows:
            self.assertRegex(row[0], UUID)
            got = self.stub.GetPipeline(pb.GetPipelineRequest(id=row[0]))
            self.assertEqual({t.key: t.value for t in got.tags}["event_id"], "tsv-1")
        self.assertEqual(r.stderr, b"")

    def test_send_on_a_terminal_prints_a_table_with_a_header(self):
        code, out, err = cli_tty("send", "--target", self.target, "--source", "example.com",
                                 "--type", "com.example.event", "--id", "tty-1")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "NAME", "STATE", "CREATED"])
        self.assertEqual(len(lines), 3, out)
        for line, name in zip(lines[1:], ["event00", "audit"]):
            fields = line.split()
            self.assertRegex(fields[0], UUID)
            self.assertEqual(fields[1:3], [name, "READY"])
            self.assertRegex(fields[3], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_send_json_out_is_the_pipelines_and_the_duplicate_flag(self):
        doc = self.send_json("--source", "shop", "--type", "order.created", "--id", "jo-1")
        self.assertEqual(sorted(doc), ["duplicate", "pipelines"])
        self.assertIs(doc["duplicate"], False)
        self.assertEqual(len(doc["pipelines"]), 1)
        p = doc["pipelines"][0]
        for key in ("id", "name", "parent", "parameters", "tags", "status", "created_at"):
            self.assertIn(key, p)
        self.assertEqual(p["name"], "orders")
        self.assertEqual(p["status"][-1]["state"], "READY")
        self.assertEqual([x["name"] for x in p["parameters"]], ["id", "event"])
        self.assertEqual(json.loads(p["parameters"][1]["value"])["id"], "jo-1")
        got = self.stub.GetPipeline(pb.GetPipelineRequest(id=p["id"]))
        self.assertEqual(got.name, "orders")

    def test_send_duplicate_shows_the_original_pipelines_marked_duplicate(self):
        args = ("--source", "shop", "--type", "order.created", "--id", "dup-cli")
        first = self.send_json(*args)
        again = self.send_json(*args, "--data", "changed")
        self.assertIs(again["duplicate"], True)
        self.assertEqual([p["id"] for p in again["pipelines"]],
                         [p["id"] for p in first["pipelines"]])
        r = self.ok("send", *args)  # not a terminal: the note goes to stderr
        self.assertEqual([row[0] for row in tsv(r.stdout)], [p["id"] for p in first["pipelines"]])
        self.assertIn(b"duplicate", r.stderr)
        code, out, err = cli_tty("send", "--target", self.target, *args)
        self.assertEqual(code, 0, err)
        self.assertIn("duplicate: this (source, id) was accepted before; these are the "
                      "pipelines it started", out)
        self.assertIn(first["pipelines"][0]["id"], out)

    def test_send_matching_nothing_exits_0_and_says_so(self):
        r = self.ok("send", "--source", "example.com", "--type", "nobody.listens", "--id", "nm-1")
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"no pipeline matches source example.com and type nobody.listens",
                      r.stderr)
        doc = self.send_json("--source", "example.com", "--type", "nobody.listens")
        self.assertEqual(doc, {"pipelines": [], "duplicate": False})
        code, out, err = cli_tty("send", "--target", self.target, "--source", "example.com",
                                 "--type", "nobody.listens")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "no pipeline matches source example.com and type nobody.listens\n")

    def test_send_without_id_sends_a_new_random_uuid_each_time(self):
        a = self.send_json("--source", "shop", "--type", "order.created")
        b = self.send_json("--source", "shop", "--type", "order.created")
        self.assertFalse(b["duplicate"])
        ids = [self.event_of(d["pipelines"][0]["id"])["id"] for d in (a, b)]
        self.assertNotEqual(ids[0], ids[1])
        for i in ids:
            self.assertRegex(i, UUID)

    def test_send_text_data_and_content_type_reach_the_server(self):
        doc = self.send_json("--source", "shop", "--type", "order.created", "--data", "hello")
        ev = self.event_of(doc["pipelines"][0]["id"])
        self.assertEqual(ev["data"], "hello")
        self.assertNotIn("datacontenttype", ev)
        doc = self.send_json("--source", "shop", "--type", "order.created",
                             "--content-type", "application/json", "--data", '{"order": 7}')
        ev = self.event_of(doc["pipelines"][0]["id"])
        self.assertEqual(ev["datacontenttype"], "application/json")
        self.assertEqual(ev["data"], {"order": 7})

    def test_send_data_file_utf8_text_goes_as_text(self):
        path = self.file("text.txt", "h\u00e9llo \U0001F600\nline two\n")
        doc = self.send_json("--source", "shop", "--type", "order.created", "--data-file", path)
        ev = self.event_of(doc["pipelines"][0]["id"])
        self.assertEqual(ev["data"], "h\u00e9llo \U0001F600\nline two\n")
        self.assertNotIn("data_base64", ev)

    def test_send_data_file_json_with_a_json_content_type_goes_as_json_text(self):
        path = self.file("data.json", '{"a": [1, 2], "b": "x"}')
        doc = self.send_json("--source", "shop", "--type", "order.created", "--data-file", path,
                             "--content-type", "application/cloudevents+json; charset=utf-8")
        ev = self.event_of(doc["pipelines"][0]["id"])
        self.assertEqual(ev["data"], {"a": [1, 2], "b": "x"})

    def test_send_data_file_that_is_not_utf8_text_goes_as_binary(self):
        for name, content, ctype in [("bytes.bin", b"\x00\x01\xff\xfe", None),
                                     ("nul.txt", b"a\x00b", "text/plain"),
                                     ("latin1.txt", "caf\u00e9".encode("latin-1"), None),
                                     ("plain.bin", b"plain words", "application/octet-stream")]:
            with self.subTest(name=name):
                args = ["--data-file", self.file(name, content)]
                if ctype:
                    args += ["--content-type", ctype]
                doc = self.send_json("--source", "shop", "--type", "order.created", *args)
                ev = self.event_of(doc["pipelines"][0]["id"])
                self.assertNotIn("data", ev)
                self.assertEqual(base64.b64decode(ev["data_base64"]), content)

    def test_send_data_file_dash_reads_standard_input(self):
        doc = self.send_json("--source", "shop", "--type", "order.created", "--data-file", "-",
                             input=b"from stdin")
        self.assertEqual(self.event_of(doc["pipelines"][0]["id"])["data"], "from stdin")

    def test_send_typed_extensions_reach_the_server_with_their_types(self):
        doc = self.send_json(
            "--source", "shop", "--type", "order.created",
            "--ext", "plain=v=w",  # the value is everything after the first '='
            "--ext", "label:string=true",
            "--ext", "flag:boolean=true", "--ext", "off:boolean=false",
            "--ext", "count:integer=-2147483648", "--ext", "big:integer=2147483647",
            "--ext", "home:uri=https://example.com/a?b=c",
            "--ext", "rel:uriref=/orders/7",
            "--ext", "when:timestamp=2018-04-05T19:31:00.5+02:00",
            "--ext", "blob:binary=AAH/",
            "--ext", "subject=order-7",
            "--ext", "time:timestamp=2018-04-05T17:31:00Z")
        ev = self.event_of(doc["pipelines"][0]["id"])
        self.assertEqual(ev["plain"], "v=w")
        self.assertEqual(ev["label"], "true")
        self.assertIs(ev["flag"], True)
        self.assertIs(ev["off"], False)
        self.assertEqual((ev["count"], ev["big"]), (-2147483648, 2147483647))
        self.assertEqual(ev["home"], "https://example.com/a?b=c")
        self.assertEqual(ev["rel"], "/orders/7")
        self.assertEqual(ev["when"], "2018-04-05T17:31:00.500Z")
        self.assertEqual(base64.b64decode(ev["blob"]), b"\x00\x01\xff")
        self.assertEqual(ev["subject"], "order-7")
        self.assertEqual(ev["time"], "2018-04-05T17:31:00Z")

    def test_send_invalid_ext_values_are_usage_errors_naming_the_flag(self):
        for spec in ["noequals", "flag:boolean=yes", "flag:boolean=True", "n:integer=2147483648",
                     "n:integer=12abc", "n:integer=", "t:timestamp=2018-04-05",
                     "t:timestamp=yesterday", "b:binary=!!!!", "b:binary=AAH", "k:float=1.5",
                     "=value"]:
            with self.subTest(spec=spec):
                r = self.run_cli("send", "--source", "shop", "--type", "order.created",
                                 "--ext", spec)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"--ext", r.stderr)
                self.assertIn(b"Try 'kedro-events send --help'", r.stderr)
                self.assertEqual(r.stdout, b"")

    def test_send_json_file_with_one_event(self):
        path = self.file("one.json", json.dumps({
            "specversion": "1.0", "id": "json-1", "source": "shop", "type": "order.created",
            "datacontenttype": "application/json", "data": {"order": 9}, "myext": 5}))
        rows = tsv(self.ok("send", "--json", path).stdout)
        self.assertEqual([row[1:] for row in rows], [["orders", "READY"]])
        ev = self.event_of(rows[0][0])
        self.assertEqual((ev["id"], ev["data"], ev["myext"]), ("json-1", {"order": 9}, 5))

    def test_send_json_batch_answers_one_result_per_event(self):
        batch = [{"specversion": "1.0", "id": "jb-%d" % i, "source": s, "type": t}
                 for i, (s, t) in enumerate([("example.com", "com.example.event"),
                                             ("example.com", "unmatched"),
                                             ("shop", "order.created")])]
        path = self.file("batch.json", json.dumps(batch))
        doc = json.loads(self.ok("send", "--json", path, "--json-out").stdout)
        self.assertEqual(list(doc), ["results"])
        self.assertEqual([len(r["pipelines"]) for r in doc["results"]], [2, 0, 1])
        self.assertEqual([r["duplicate"] for r in doc["results"]], [False, False, False])
        self.assertEqual(self.event_of(doc["results"][2]["pipelines"][0]["id"])["id"], "jb-2")
        again = self.ok("send", "--json", path)  # as lines: every pipeline, in order
        self.assertEqual([row[0] for row in tsv(again.stdout)],
                         [p["id"] for r in doc["results"] for p in r["pipelines"]])
        self.assertIn(b"duplicate", again.stderr)

    def test_send_json_reads_standard_input(self):
        ev = {"specversion": "1.0", "id": "json-stdin", "source": "shop", "type": "order.created"}
        doc = self.send_json("--json", "-", input=json.dumps(ev).encode())
        self.assertEqual(self.event_of(doc["pipelines"][0]["id"])["id"], "json-stdin")

    # ---- send: errors --------------------------------------------------------------------

    def test_send_json_file_that_is_not_json_exits_4_with_the_readers_message(self):
        path = self.file("notjson.json", "this is { not json")
        r = self.run_cli("send", "--json", path)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn(path.encode(), r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_send_json_file_that_is_not_an_event_exits_4(self):
        for name, text in [("number.json", "42"), ("badid.json",
                           '{"specversion": "1.0", "id": 5, "source": "s", "type": "t"}')]:
            with self.subTest(name=name):
                r = self.run_cli("send", "--json", self.file(name, text))
                self.assertEqual(r.returncode, 4, r.stderr)
                self.assertRegex(r.stderr.decode(), r"^kedro-events send: --json .*: \S")

    def test_send_json_file_that_cannot_be_read_exits_4(self):
        missing = os.path.join(self.tmp, "missing.json")
        r = self.run_cli("send", "--json", missing)
        self.assertEqual(r.returncode, 4)
        self.assertIn(missing.encode(), r.stderr)
        r = self.run_cli("send", "--source", "s", "--type", "t", "--data-file", missing)
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"--data-file", r.stderr)

    def test_send_invalid_event_exits_1_with_the_servers_invalid_argument(self):
        r = self.run_cli("send", "--source", "", "--type", "com.example.event")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"INVALID_ARGUMENT", r.stderr)
        self.assertIn(b"source", r.stderr)
        r = self.run_cli("send", "--source", "shop", "--type", "order.created",
                         "--ext", "BadName=x")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"INVALID_ARGUMENT", r.stderr)
        self.assertIn(b"BadName", r.stderr)

    def test_send_invalid_flags_exit_2(self):
        for args in [["--bogus"],
                     ["--source"],  # a value is missing
                     ["--type", "t"],  # --source is missing
                     ["--source", "s"],
                     ["--source", "s", "--type", "t", "extra"],
                     ["--source", "s", "--type", "t", "--data", "x", "--data-file", "f"],
                     ["--json", "f", "--source", "s"],
                     ["--json", "f", "--ext", "a=b"],
                     ["--json", "f", "--data", "x"],
                     ["--source", "s", "--type", "t", "--timeout", "soon"],
                     ["-x"]]:
            with self.subTest(args=args):
                r = self.run_cli("send", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"Try 'kedro-events send --help'", r.stderr)
                self.assertEqual(r.stdout, b"")

    def test_server_down_exits_3_naming_the_target(self):
        target = "127.0.0.1:%d" % free_port()
        for args in [["send", "--source", "s", "--type", "t"], ["get", "some-id"], ["list"],
                     ["watch", "some-id"]]:
            with self.subTest(cmd=args[0]):
                r = cli(*args, "--target", target, "--timeout", "5")
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn(target.encode(), r.stderr)
                self.assertIn(b"UNAVAILABLE", r.stderr)

    def test_target_comes_from_kedro_events_target_without_target_flag(self):
        doc = json.loads(self.ok("send", "--json-out", "--source", "shop", "--type",
                                 "order.created", "--id", "env-target").stdout)
        r = cli("get", doc["pipelines"][0]["id"], env={"KEDRO_EVENTS_TARGET": self.target})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(doc["pipelines"][0]["id"].encode(), r.stdout)
        down = "127.0.0.1:%d" % free_port()
        r = cli("list", env={"KEDRO_EVENTS_TARGET": down})
        self.assertEqual(r.returncode, 3)
        self.assertIn(down.encode(), r.stderr)
        # --target wins over the environment.
        r = cli("list", "--target", self.target, env={"KEDRO_EVENTS_TARGET": down})
        self.assertEqual(r.returncode, 0, r.stderr)

    # ---- get -----------------------------------------------------------------------------

    def test_get_shows_one_pipeline_for_people(self):
        doc = self.send_json("--source", "example.com", "--type", "com.example.event",
                             "--id", "get-1")
        audit = doc["pipelines"][1]
        out = self.ok("get", audit["id"]).stdout.decode()
        self.assertRegex(out, r"(?m)^id: +%s$" % audit["id"])
        self.assertRegex(out, r"(?m)^name: +audit$")
        self.assertRegex(out, r"(?m)^parent: +-$")
        self.assertRegex(out, r"(?m)^created: +\d{4}-\d\d-\d\dT")
        self.assertRegex(out, r"(?m)^state: +READY$")
        self.assertRegex(out, r"(?m)^  id \(string\): %s$" % audit["id"])
        self.assertRegex(out, r'(?m)^  event \(string\): \{"specversion":')
        self.assertRegex(out, r"(?m)^  level \(int\): 3$")
        self.assertRegex(out, r"(?m)^  event_id: get-1$")
        self.assertRegex(out, r"(?m)^  team: data$")
        self.assertRegex(out, r"(?m)^status:\n  \d{4}-\d\d-\d\dT\S+Z  READY$")

    def test_get_json_out_is_the_pipeline_object(self):
        doc = self.send_json("--source", "shop", "--type", "order.created", "--id", "get-json")
        pid = doc["pipelines"][0]["id"]
        got = json.loads(self.ok("get", pid, "--json-out").stdout)
        self.assertEqual(got, doc["pipelines"][0])
        wire = self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))
        self.assertEqual(got["name"], wire.name)
        self.assertIsNone(got["parent"])  # absent values are null
        self.assertEqual([t["key"] for t in got["tags"]], [t.key for t in wire.tags])
        self.assertEqual(len(got["status"]), len(wire.status))

    def test_get_unknown_id_exits_1_with_not_found(self):
        r = self.run_cli("get", "00000000-0000-0000-0000-000000000000")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"NOT_FOUND", r.stderr)
        self.assertIn(b"00000000-0000-0000-0000-000000000000", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_get_and_watch_need_exactly_one_id(self):
        for cmd in ("get", "watch"):
            for args in [[], ["a", "b"], [""], ["a", "--bogus"]]:
                with self.subTest(cmd=cmd, args=args):
                    r = self.run_cli(cmd, *args)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn(("Try 'kedro-events %s --help'" % cmd).encode(), r.stderr)

    # ---- list ----------------------------------------------------------------------------

    def list_ids(self, *args):
        return [row[0] for row in tsv(self.ok("list", *args).stdout)]

    def test_list_is_newest_first_and_filters_by_name_parent_and_state(self):
        sent = [self.send_json("--source", "lister", "--type", "list.event")["pipelines"][0]["id"]
                for _ in range(3)]
        ids = self.list_ids("--name", "listed")
        self.assertEqual(ids[:3], sent[::-1])
        rows = tsv(self.ok("list", "--name", "listed", "--limit", "2").stdout)
        self.assertEqual([row[0] for row in rows], sent[:0:-1])
        self.assertEqual([row[1:] for row in rows], [["listed", "READY"]] * 2)
        self.assertEqual(self.list_ids("--name", "listed", "--state", "ReAdY")[:3], sent[::-1])
        self.assertEqual(self.list_ids("--name", "listed", "--state", "success"), [])
        child = self.stub.CreatePipeline(pb.CreatePipelineRequest(name="child", parent=sent[0]))
        self.assertEqual(self.list_ids("--parent", sent[0]), [child.id])
        self.assertEqual(self.list_ids("--name", "no-such-pipeline"), [])

    def test_list_json_out_and_table(self):
        sent = self.send_json("--source", "lister", "--type", "list.event")["pipelines"][0]
        doc = json.loads(self.ok("list", "--name", "listed", "--limit", "1", "--json-out").stdout)
        self.assertEqual(doc, {"pipelines": [sent]})
        doc = json.loads(self.ok("list", "--name", "no-such", "--json-out").stdout)
        self.assertEqual(doc, {"pipelines": []})
        code, out, err = cli_tty("list", "--target", self.target, "--name", "listed",
                                 "--limit", "1")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "NAME", "STATE", "CREATED"])
        self.assertEqual(lines[1].split()[:3], [sent["id"], "listed", "READY"])
        code, out, err = cli_tty("list", "--target", self.target, "--name", "no-such")
        self.assertEqual((code, out), (0, "no pipelines\n"), err)

    def test_list_pages_through_more_than_one_server_page(self):
        for start in (0, 1000):
            n = 1000 if start == 0 else 234
            batch = ce.CloudEventBatch(events=[
                ce.CloudEvent(id="bulk-%d" % i, source="bulk", spec_version="1.0",
                              type="bulk.event") for i in range(start, start + n)])
            self.stub.DispatchBatch(batch, timeout=60)
        everything = self.list_ids("--name", "bulk", "--limit", "100000")
        self.assertEqual(len(everything), 1234)
        self.assertEqual(len(set(everything)), 1234)
        wire, token = [], ""
        while True:
            page = self.stub.ListPipelines(pb.ListPipelinesRequest(name="bulk", page_size=500,
                                                                   page_token=token))
            wire += [p.id for p in page.pipelines]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(everything, wire)  # newest first, as the server orders them
        self.assertEqual(self.list_ids("--name", "bulk", "--limit", "1001"), wire[:1001])
        self.assertEqual(len(self.list_ids("--name", "bulk")), 50)  # the default limit
        doc = json.loads(self.ok("list", "--name", "bulk", "--limit", "1200",
                                 "--json-out").stdout)
        self.assertEqual([p["id"] for p in doc["pipelines"]], wire[:1200])

    def test_list_bad_state_exits_2_listing_the_valid_names(self):
        r = self.run_cli("list", "--state", "done")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"'done'", r.stderr)
        self.assertIn(STATES.encode(), r.stderr)

    def test_list_invalid_flags_exit_2(self):
        for args in [["--limit", "0"], ["--limit", "100001"], ["--limit", "ten"],
                     ["--limit"], ["extra"], ["--state", "STATE_UNSPECIFIED"], ["--interval", "1"]]:
            with self.subTest(args=args):
                r = self.run_cli("list", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"Try 'kedro-events list --help'", r.stderr)

    # ---- watch (a run that never starts) and help ------------------------------------------

    def test_watch_ends_on_sigint_with_130(self):
        pid = self.send_json("--source", "shop", "--type", "order.created")["pipelines"][0]["id"]
        p = subprocess.Popen([CLI, "watch", pid, "--target", self.target, "--interval", "0.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        try:
            line = p.stdout.readline().decode()
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\S+Z  READY\n$")
            time.sleep(0.3)
            self.assertIsNone(p.poll())  # READY is not final: it keeps watching
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=15), 130)
            self.assertEqual(p.stdout.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()

    def test_watch_invalid_interval_exits_2(self):
        for value in ["0", "-1", "soon", "nan", "90000"]:
            with self.subTest(value=value):
                r = self.run_cli("watch", "some-id", "--interval", value)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"--interval", r.stderr)

    def test_watch_unknown_id_exits_1_with_not_found(self):
        # Repeated: the stream ends at once, racing the client's teardown (a crash there once
        # showed about 1 time in 10 under ASan).
        for i in range(25):
            r = self.run_cli("watch", "no-such-pipeline")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(b"NOT_FOUND", r.stderr)

    def test_every_subcommand_has_help_on_stdout_with_exit_0(self):
        for cmd in ("send", "get", "list", "watch"):
            for flag in ("--help", "-h"):
                with self.subTest(cmd=cmd, flag=flag):
                    r = cli(cmd, flag)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    out = r.stdout.decode()
                    self.assertTrue(out.startswith("Usage: kedro-events %s" % cmd), out)
                    self.assertIn("--target HOST:PORT", out)
                    self.assertIn("--json-out", out)
                    self.assertEqual(r.stderr, b"")
        self.assertIn("--ext NAME[:KIND]=VALUE", cli("send", "--help").stdout.decode())
        self.assertIn("--state STATE", cli("list", "--help").stdout.decode())
        self.assertIn("--interval SECONDS", cli("watch", "--help").stdout.decode())


class CliWatchRunsTest(unittest.TestCase):
    """watch, with the local runner executing the Kedro stand-in."""

    @classmethod
    def setUpClass(cls):
        cls.project = tempfile.mkdtemp(prefix="ke-cli-project-")
        cls.server = harness.Server(config=RUN_CONFIG, runner="local", args=[
            "--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", cls.project])
        cls.target = cls.server.target

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def send(self, type):
        r = cli("send", "--target", self.target, "--source", "example.com", "--type", type)
        self.assertEqual(r.returncode, 0, r.stderr)
        return tsv(r.stdout)[0][0]

    def watch(self, pid, *args):
        return cli("watch", pid, "--target", self.target, "--interval", "0.05", *args)

    def test_watch_follows_a_run_to_success_and_exits_0(self):
        r = self.watch(self.send("com.example.ok"))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual([line.split("  ")[1] for line in lines], ["READY", "STARTED", "SUCCESS"])
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z  [A-Z]+")
        self.assertTrue(lines[-1].endswith("  SUCCESS  exit 0"), lines[-1])
        self.assertEqual(r.stderr, b"")

    def test_watch_follows_a_run_to_failure_and_exits_1(self):
        pid = self.send("com.example.fail")
        r = self.watch(pid)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual([line.split("  ")[1] for line in lines], ["READY", "STARTED", "FAILURE"])
        self.assertIn("  FAILURE  exit 1  ", lines[-1])
        # The error's first line, as the server recorded it.
        got = json.loads(cli("get", pid, "--json-out", "--target", self.target).stdout)
        self.assertTrue(lines[-1].endswith(got["status"][-1]["error"].split("\n")[0]))
        # Watching a run that has ended prints its whole history at once.
        again = self.watch(pid)
        self.assertEqual((again.returncode, again.stdout), (1, r.stdout))
        # get shows how it ended.
        out = cli("get", pid, "--target", self.target).stdout.decode()
        self.assertRegex(out, r"(?m)^state: +FAILURE$")
        self.assertRegex(out, r"(?m)^exit code: +1$")
        self.assertRegex(out, r"(?m)^error: +\S")
        self.assertRegex(out, r"(?m)^log: +/.*%s\.log$" % pid)
        self.assertRegex(out, r"(?m)^runner: +local$")

    def test_watch_json_out_prints_one_status_entry_per_line(self):
        pid = self.send("com.example.ok")
        r = self.watch(pid, "--json-out")
        self.assertEqual(r.returncode, 0, r.stderr)
        entries = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual([e["state"] for e in entries], ["READY", "STARTED", "SUCCESS"])
        self.assertEqual(entries[-1]["exit_code"], 0)
        got = json.loads(cli("get", pid, "--json-out", "--target", self.target).stdout)
        self.assertEqual(entries, got["status"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

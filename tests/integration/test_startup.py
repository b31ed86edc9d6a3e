"""kedro-eventd's start-up: flags, the event configuration from the flag, the
environment and .env, and clear refusals that name the problem."""

import os
import subprocess
import tempfile
import unittest

import harness

harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2_grpc as rpc  # noqa: E402

GOOD = '{"event00": {"source": "example.com", "type": "com.example.event"}}'


def run_eventd(args, env=None, cwd=None, timeout=20):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_GRAPHQL_", "KEDROG_"))}
    full.update(env or {})
    return subprocess.run([harness.EVENTD] + args, capture_output=True, text=True, env=full,
                          cwd=cwd or tempfile.mkdtemp(), timeout=timeout)


def dispatch_count(server):
    with server.channel() as ch:
        e = ce.CloudEvent(id="1", source="example.com", spec_version="1.0",
                          type="com.example.event")
        return len(rpc.EventServiceStub(ch).Dispatch(e).pipelines)


class StartupTest(unittest.TestCase):
    def test_help_lists_the_flags(self):
        r = run_eventd(["--help"])
        self.assertEqual(r.returncode, 0)
        for flag in ("--listen", "--events-config", "--data-dir", "--max-message-bytes",
                     "--threads", "KEDRO_GRAPHQL_EVENTS_CONFIG"):
            self.assertIn(flag, r.stdout)

    def test_invalid_flags_exit_2_naming_the_flag(self):
        for args, needle in ((["--threads", "zero"], "--threads"), (["--bogus"], "--bogus"),
                             (["--max-message-bytes", "-5"], "--max-message-bytes")):
            r = run_eventd(args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(needle, r.stderr)

    def test_config_that_is_not_json_refuses_to_start_and_says_where(self):
        r = run_eventd(["--listen", "127.0.0.1:0"], env={"KEDRO_GRAPHQL_EVENTS_CONFIG": "{nope"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("KEDRO_GRAPHQL_EVENTS_CONFIG", r.stderr)
        self.assertIn("JSON", r.stderr)

    def test_entry_without_type_refuses_to_start_naming_the_entry(self):
        r = run_eventd(["--listen", "127.0.0.1:0", "--events-config",
                        '{"event00": {"source": "example.com"}}'])
        self.assertEqual(r.returncode, 1)
        self.assertIn("event00", r.stderr)
        self.assertIn("type", r.stderr)

    def test_address_in_use_refuses_to_start(self):
        with harness.Server() as first:
            r = run_eventd(["--listen", first.target])
            self.assertEqual(r.returncode, 1)
            self.assertIn(first.target, r.stderr)
            self.assertEqual(first.stop(), 0)

    def test_environment_configures_dispatch(self):
        with harness.Server(config=None, env={"KEDRO_GRAPHQL_EVENTS_CONFIG": GOOD}) as s:
            self.assertEqual(dispatch_count(s), 1)
            self.assertEqual(s.stop(), 0)

    def test_singular_alias_is_read_with_a_warning(self):
        with harness.Server(config=None, env={"KEDRO_GRAPHQL_EVENT_CONFIG": GOOD}) as s:
            self.assertEqual(dispatch_count(s), 1)
            self.assertEqual(s.stop(), 0)
            self.assertIn("KEDRO_GRAPHQL_EVENT_CONFIG", s.stderr())
            self.assertIn("warning", s.stderr())

    def test_dotenv_in_working_directory_is_read_and_the_typo_is_named(self):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, ".env"), "w") as f:
            f.write("# as the reference documents it\n")
            f.write("KEDROG_GRAPHQL_EVENTS_CONFIG='%s'\n" % GOOD)
            f.write("KEDRO_GRAPHQL_EVENTS_CONFIG='%s'\n" % GOOD)
        with harness.Server(config=None, cwd=d) as s:
            self.assertEqual(dispatch_count(s), 1)
            self.assertEqual(s.stop(), 0)
            err = s.stderr()
            self.assertIn("KEDROG_GRAPHQL_EVENTS_CONFIG", err)
            self.assertIn(".env", err)

    def test_flag_file_wins_over_environment(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "events.json")
        with open(path, "w") as f:
            f.write('{"a": {"source": "example.com", "type": "com.example.event"},'
                    ' "b": {"source": "example.com", "type": "com.example.event"}}')
        with harness.Server(config=None, args=["--events-config", "@" + path],
                            env={"KEDRO_GRAPHQL_EVENTS_CONFIG": GOOD}) as s:
            self.assertEqual(dispatch_count(s), 2)
            self.assertEqual(s.stop(), 0)

    def test_sigint_shuts_down_cleanly(self):
        import signal
        with harness.Server() as s:
            self.assertEqual(dispatch_count(s), 1)
            self.assertEqual(s.stop(sig=signal.SIGINT), 0)
            self.assertIn("SIGINT", s.stderr())


if __name__ == "__main__":
    unittest.main(verbosity=2)

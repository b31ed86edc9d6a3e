"""Daemon conventions of kedro-eventd and kedro-event-shim: --log-format json (every stderr line
of a run, start-up to shutdown, is one JSON object with time, level, program and message, even
for bytes that are not UTF-8) and systemd's notification protocol (READY=1, RELOADING=1,
STOPPING=1 on a NOTIFY_SOCKET the test listens on, as systemd would)."""

import json
import os
import re
import signal
import socket
import tempfile
import threading
import unittest

import harness
import shim_harness

RFC3339_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
LEVELS = {"debug", "info", "warning", "error"}


def json_lines(test, raw, program):
    """Every line of raw (bytes) as a parsed JSON object with the keys every line has."""
    out = []
    test.assertTrue(raw.endswith(b"\n"), raw[-200:])
    for line in raw.split(b"\n")[:-1]:
        # json.loads refuses invalid UTF-8 when given str decoded strictly
        obj = json.loads(line.decode("utf-8"))
        test.assertIsInstance(obj, dict, line)
        test.assertRegex(obj["time"], RFC3339_MICRO)
        test.assertIn(obj["level"], LEVELS)
        test.assertEqual(obj["program"], program)
        test.assertIsInstance(obj["message"], str)
        out.append(obj)
    return out


def find(test, objs, needle, level=None):
    hits = [o for o in objs if needle in o["message"] and (level is None or o["level"] == level)]
    test.assertTrue(hits, "no %s line with %r in %r" % (level, needle, objs))
    return hits[0]


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ke-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(20)

    def next(self):
        """The next message as a dict of its KEY=VALUE lines."""
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.split("\n") if line)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def raw_request(port, text):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(text)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass


class JsonLogTest(unittest.TestCase):
    def test_every_eventd_line_is_json_from_start_to_shutdown(self):
        work = tempfile.mkdtemp(prefix="ke-logs-")
        # A token file whose name is not UTF-8: the start-up line names it.
        tokens = os.path.join(work.encode(), b"tokens-\xff\xfe")
        with open(tokens, "w") as f:
            f.write("a" * 32 + "\n")
        os.chmod(tokens, 0o600)
        # No configuration: the start-up warning that dispatch is disabled.
        server = harness.Server(config=None, cwd=work, args=[
            "--log-format", "json", "--auth-tokens", os.fsdecode(tokens)])
        with server:
            os.unlink(tokens)  # SIGHUP: the file is gone, refused, old tokens kept
            server.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: "SIGHUP" in server.stderr(), timeout=20),
                            server.stderr())
            self.assertEqual(server.stop(), 0, server.stderr())
        with open(server.stderr_path, "rb") as f:
            objs = json_lines(self, f.read(), "kedro-eventd")
        find(self, objs, "KEDRO_GRAPHQL_EVENTS_CONFIG is not set", "warning")
        tok = find(self, objs, "bearer token(s) from", "info")
        self.assertIn("tokens-\ufffd\ufffd", tok["message"])
        find(self, objs, "SIGHUP: ", "error")
        find(self, objs, "SIGTERM received, shutting down", "info")

    def test_text_lines_stay_as_they_were(self):
        server = harness.Server(config=None, cwd=tempfile.mkdtemp(prefix="ke-logs-"))
        with server:
            self.assertEqual(server.stop(), 0)
        err = server.stderr()
        self.assertIn("kedro-eventd: warning: KEDRO_GRAPHQL_EVENTS_CONFIG is not set: dispatch "
                      "is disabled and answers FAILED_PRECONDITION\n", err)
        self.assertIn("kedro-eventd: SIGTERM received, shutting down (grace 10 s)\n", err)
        self.assertNotIn("{", err)

    def test_bad_log_format_is_refused_naming_it(self):
        import subprocess
        for exe in (harness.EVENTD, shim_harness.SHIM):
            r = subprocess.run([exe, "--log-format", "xml"], capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--log-format", r.stderr)
            self.assertIn("xml", r.stderr)

    def test_every_shim_line_is_json_even_when_threads_log_at_once(self):
        with harness.Server() as server:
            shim = shim_harness.Shim(server.target, args=["--log-format", "json",
                                                          "--threads", "4"])
            with shim:
                bad = (b"POST /event/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                       b"Content-Length: 2\r\n\r\nab")
                threads = [threading.Thread(target=raw_request, args=(shim.port, bad))
                           for _ in range(16)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                shim.proc.send_signal(signal.SIGHUP)
                self.assertTrue(harness.wait_until(lambda: "SIGHUP" in shim.stderr(), timeout=20))
            with open(shim.stderr_path, "rb") as f:
                objs = json_lines(self, f.read(), "kedro-event-shim")
        find(self, objs, "forwarding to kedro-eventd at", "info")
        refused = [o for o in objs if "refused a request" in o["message"]]
        self.assertTrue(all(o["level"] == "warning" for o in refused))
        # at most KES_LOG_PER_S lines a second; the rest are counted in a line of their own
        suppressed = sum(int(re.match(r"(\d+) more log lines suppressed", o["message"]).group(1))
                         for o in objs if "more log lines suppressed" in o["message"])
        self.assertEqual(len(refused) + suppressed, 16, objs)
        find(self, objs, "SIGHUP: no token file", "info")
        find(self, objs, "SIGTERM: stopping", "info")


class NotifyTest(unittest.TestCase):
    def test_eventd_tells_systemd_ready_reloading_and_stopping(self):
        n = NotifySocket()
        try:
            server = harness.Server(env={"NOTIFY_SOCKET": n.path})
            with server:
                m = n.next()
                self.assertEqual(m.get("READY"), "1", m)
                self.assertIn("port %d" % server.port, m.get("STATUS", ""))
                server.proc.send_signal(signal.SIGHUP)
                m = n.next()
                self.assertEqual(m.get("RELOADING"), "1", m)
                self.assertRegex(m.get("MONOTONIC_USEC", ""), r"^\d+$")
                m = n.next()
                self.assertEqual(m.get("READY"), "1", m)
                server.proc.send_signal(signal.SIGTERM)
                m = n.next()
                self.assertEqual(m.get("STOPPING"), "1", m)
                self.assertEqual(server.stop(), 0, server.stderr())
        finally:
            n.close()

    def test_shim_tells_systemd_ready_and_stopping(self):
        n = NotifySocket()
        try:
            with harness.Server() as server:
                shim = shim_harness.Shim(server.target, env={"NOTIFY_SOCKET": n.path})
                with shim:
                    m = n.next()
                    self.assertEqual(m.get("READY"), "1", m)
                    self.assertIn("port %d" % shim.port, m.get("STATUS", ""))
                    shim.proc.send_signal(signal.SIGTERM)
                    m = n.next()
                    self.assertEqual(m.get("STOPPING"), "1", m)
        finally:
            n.close()


if __name__ == "__main__":
    unittest.main()

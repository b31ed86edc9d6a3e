"""kedro-event-shim under slow and idle clients, on loopback: 1,500 stalled connections (half
trickling a header a byte at a time, half announcing a 4 MiB body and stalling) are held
while an honest POST /event/ (Python's requests) is answered, and are cut once
--read-timeout has passed although the tricklers keep sending (a deadline, not inactivity);
the shim raises its open-files limit itself; past --max-connections a client
waits for a place, past --max-connections-per-client it is closed; a --max-connections that does not fit
the open-files limit is refused at start, naming the limit."""

import os
import resource
import socket
import subprocess
import time
import unittest

import requests

import harness
import shim_harness as sh

STALLED = 1500
READ_TIMEOUT_S = 3
SOFT_LIMIT = 1024  # the usual default soft limit, below what 1,500 connections need


def set_soft_nofile(n):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """Whether the shim closed s (EOF or reset pending); s is non-blocking, never waits."""
    try:
        return s.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def honest_post(url, event_id):
    t0 = time.monotonic()
    r = requests.post(url + "/event/", json={"k": 1}, timeout=10,
                      headers={"ce-specversion": "1.0", "ce-id": event_id,
                               "ce-source": "example.com", "ce-type": "com.example.event"})
    return r, time.monotonic() - t0


class StalledConnections(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < 2 * STALLED + 512:
            raise unittest.SkipTest("the open-files hard limit (%d) is too low for %d "
                                    "connections on both ends" % (hard, STALLED))
        cls.server = harness.Server()
        # the shim starts with the usual soft limit and must raise it itself
        set_soft_nofile(SOFT_LIMIT)
        try:
            cls.shim = sh.Shim(cls.server.target,
                               args=["--read-timeout", str(READ_TIMEOUT_S)])
        finally:
            set_soft_nofile(hard)

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.server.__exit__(None, None, None)
        assert status == 0, "the shim exited %r after SIGTERM:\n%s" % (status, cls.shim.stderr())

    def test_stalled_connections_are_held_an_honest_request_is_answered_then_they_are_cut(self):
        port = self.shim.port
        trickle = b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\nce-comment: " + b"x" * 4000
        big = (b"POST /event/ HTTP/1.1\r\nHost: 127.0.0.1\r\nce-specversion: 1.0\r\n"
               b"ce-id: big\r\nce-source: example.com\r\nce-type: com.example.event\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (4 << 20)
               + b"[" * 1024)
        slow, stalled = [], []
        sent = {}
        try:
            t0 = time.monotonic()
            for i in range(STALLED):
                s = connect(port)
                if i % 2 == 0:
                    s.send(trickle[:1])
                    sent[s] = 1
                    slow.append(s)
                else:
                    s.send(big)
                    stalled.append(s)
            opened = time.monotonic() - t0
            everyone = slow + stalled
            held = sum(not closed_by_peer(s) for s in everyone)
            r, latency = honest_post(self.shim.url, "honest-1")
            print("%d stalled connections opened in %.2f s (%d held); an honest POST /event/ "
                  "answered %d in %.3f s (target < 1 s)"
                  % (STALLED, opened, held, r.status_code, latency))
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()[0]["name"], "event00")
            self.assertEqual(held, STALLED, "connections were refused or cut while opening")

            # the tricklers go on sending a byte every 0.2 s: only a deadline cuts them
            cut_at = {}
            deadline = time.monotonic() + READ_TIMEOUT_S + 30
            while len(cut_at) < STALLED and time.monotonic() < deadline:
                for s in everyone:
                    if s in cut_at:
                        continue
                    if closed_by_peer(s):
                        cut_at[s] = time.monotonic() - t0
                    elif s in sent and sent[s] < len(trickle):
                        try:
                            s.send(trickle[sent[s]:sent[s] + 1])
                            sent[s] += 1
                        except (BrokenPipeError, ConnectionResetError):
                            cut_at[s] = time.monotonic() - t0
                        except BlockingIOError:
                            pass
                time.sleep(0.2)
            print("stalled connections cut: %d of %d, the last %.1f s after the first opened "
                  "(--read-timeout %d)" % (len(cut_at), STALLED,
                                           max(cut_at.values(), default=0), READ_TIMEOUT_S))
            self.assertEqual(len(cut_at), STALLED, "stalled connections were not cut")
            self.assertEqual(sum(1 for s in slow if sent[s] >= len(trickle)), 0,
                             "a trickler sent its whole header before being cut")
            # the shim still serves
            r, _ = honest_post(self.shim.url, "honest-2")
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            for s in slow + stalled:
                s.close()


class ConnectionCaps(unittest.TestCase):

    def hold(self, port, n):
        socks = [connect(port) for _ in range(n)]
        time.sleep(0.2)  # let the shim accept (or close) them all
        return socks

    def test_max_connections_per_client_closes_the_extra_ones(self):
        with sh.FakeEventd(__import__("grpc").StatusCode.OK) as fake, \
                sh.Shim(fake.target, args=["--max-connections-per-client", "5"]) as shim:
            socks = self.hold(shim.port, 8)
            try:
                self.assertTrue(harness.wait_until(
                    lambda: sum(closed_by_peer(s) for s in socks[5:]) == 3, timeout=10))
                self.assertFalse(any(closed_by_peer(s) for s in socks[:5]))
            finally:
                for s in socks:
                    s.close()

    def test_past_max_connections_a_client_waits_for_a_place(self):
        with sh.FakeEventd(__import__("grpc").StatusCode.OK) as fake, \
                sh.Shim(fake.target, args=["--max-connections", "20", "--threads", "1"]) as shim:
            socks = self.hold(shim.port, 20)
            extra = socket.create_connection(("127.0.0.1", shim.port), timeout=1)
            try:
                for s in socks:
                    s.send(b"GET /heal")
                extra.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                # the 21st connection waits in the listen backlog, unanswered...
                with self.assertRaises(socket.timeout):
                    extra.recv(100)
                # ...until one of the 20 closes
                socks.pop().close()
                extra.settimeout(10)
                self.assertTrue(extra.recv(100).startswith(b"HTTP/1.1 404"))
                self.assertFalse(any(closed_by_peer(s) for s in socks))
            finally:
                extra.close()
                for s in socks:
                    s.close()

    def test_a_kept_alive_connection_trickling_its_next_request_is_cut_after_the_idle_timeout(
            self):
        # libmicrohttpd's own timeout counts inactivity: a byte now and then defeats it
        with sh.FakeEventd(__import__("grpc").StatusCode.OK) as fake, \
                sh.Shim(fake.target, args=["--connection-timeout", "2"]) as shim:
            s = socket.create_connection(("127.0.0.1", shim.port), timeout=10)
            try:
                s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 404"))
                s.setblocking(False)
                trickle = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 1000
                t0, cut = time.monotonic(), False
                for i in range(len(trickle)):
                    if closed_by_peer(s):
                        cut = True
                        break
                    try:
                        s.send(trickle[i:i + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        cut = True
                        break
                    if time.monotonic() - t0 > 30:
                        break
                    time.sleep(0.1)
                print("a trickling kept-alive connection was cut after %.1f s (--connection-timeout"
                      " 2)" % (time.monotonic() - t0))
                self.assertTrue(cut, "the trickling connection was never cut")
            finally:
                s.close()

    def test_max_connections_beyond_the_open_files_limit_is_refused_at_start(self):
        # the shell lowers both limits (no preexec_fn: this process runs grpc threads)
        low = ["sh", "-c", 'ulimit -n 1024 && exec "$0" "$@"', sh.SHIM, "--listen",
               "127.0.0.1:0"]
        r = subprocess.run(low + ["--max-connections", "5000"], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 1, r)
        err = r.stderr.decode()
        self.assertIn("--max-connections 5000 needs 5256 open files", err)
        self.assertIn("is 1024", err)
        # the default is lowered to fit, with a warning, and the shim serves
        p = subprocess.Popen(low + ["--target", "127.0.0.1:1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            self.assertIn(b"listening on", p.stdout.readline())
        finally:
            p.terminate()
            _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"serving at most 768 connections at once", err)

if __name__ == "__main__":
    unittest.main()

"""Connection limits of kedro-eventd: a raw TCP connection that never sends the HTTP/2 preface
is closed by the server once --handshake-timeout passes (checked: closed, not when), and a
connection without calls is sent away (GOAWAY) after --max-connection-idle, which a grpcio
channel shows by leaving READY for IDLE."""

import socket
import threading
import unittest

import harness

harness.load_stubs()

from grpcstd.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

HANDSHAKE = 1  # --handshake-timeout, seconds
IDLE = 1  # --max-connection-idle, seconds
WAIT = 30  # how long the test waits for each, far past both


class ConnectionLimitsTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server(args=["--handshake-timeout", str(HANDSHAKE),
                                           "--max-connection-idle", str(IDLE)])
        self.addCleanup(self.server.__exit__, None, None, None)

    def test_silent_connection_is_closed_by_the_handshake_deadline(self):
        s = socket.create_connection(("127.0.0.1", self.server.port))
        s.settimeout(WAIT)
        got = b""
        try:
            while True:  # the server may send its own SETTINGS first; then it must close
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("a connection that sent nothing was still open after %d s" % WAIT)
        finally:
            s.close()
        # The server stays up and serves others.
        with self.server.channel() as ch:
            r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
            self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)

    def test_idle_connection_is_sent_away(self):
        import grpc
        states, idle = [], threading.Event()

        def watch(state):
            states.append(state)
            if state == grpc.ChannelConnectivity.IDLE and \
                    grpc.ChannelConnectivity.READY in states:
                idle.set()

        ch = self.server.channel()
        try:
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
            ch.subscribe(watch, try_to_connect=False)
            self.assertTrue(idle.wait(WAIT), "the idle connection stayed open: %r" % states)
        finally:
            ch.unsubscribe(watch)
            ch.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""kedro-events' exit codes for the answers only a loaded server gives: UNAVAILABLE
"overloaded: ..." (kedro-eventd past --max-calls / --max-inflight-bytes) is an error the
server answered (exit 1, its message shown), not an unreachable server (exit 3); RESOURCE_EXHAUSTED
"store full: ..." likewise. The peer is a small EventService written with Python's grpcio that
answers every call with the status it is given."""

import os
import subprocess
import unittest
from concurrent import futures

import grpc

import harness

CLI = os.environ.get("KE_CLI") or os.path.join(harness.BUILD_DIR, "kedro-events")


class Peer:
    def __init__(self, code, message):
        def answer(request, context):
            context.abort(code, message)

        methods = {m: grpc.unary_unary_rpc_method_handler(answer)
                   for m in ("Dispatch", "GetPipeline", "ListPipelines")}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("kedro.events.v1.EventService", methods),))
        self.target = "127.0.0.1:%d" % self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop(0)


def send(target):
    return subprocess.run([CLI, "send", "--target", target, "--source", "s", "--type", "t",
                           "--id", "e1", "--timeout", "5"],
                          capture_output=True, text=True, timeout=60)


class OverloadedAnswers(unittest.TestCase):
    def test_an_overloaded_server_is_an_error_answered_not_unreachable(self):
        msg = "overloaded: 1024 calls in flight, the most --max-calls allows; retry later"
        with Peer(grpc.StatusCode.UNAVAILABLE, msg) as peer:
            r = send(peer.target)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("UNAVAILABLE: " + msg, r.stderr)
        self.assertNotIn("cannot reach", r.stderr)

    def test_other_unavailable_answers_still_mean_unreachable(self):
        with Peer(grpc.StatusCode.UNAVAILABLE, "server shutting down") as peer:
            r = send(peer.target)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach kedro-eventd at " + peer.target, r.stderr)

    def test_a_full_store_is_an_error_answered(self):
        msg = "store full: d/kedro-events.db would take 1048577 bytes, past --max-store-bytes"
        with Peer(grpc.StatusCode.RESOURCE_EXHAUSTED, msg) as peer:
            r = send(peer.target)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("RESOURCE_EXHAUSTED: " + msg, r.stderr)


if __name__ == "__main__":
    unittest.main()

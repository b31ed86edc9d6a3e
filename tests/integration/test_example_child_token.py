"""The example project's event00 node sends `Authorization: Bearer $KEDRO_EVENTS_TOKEN` (the
token kedro-eventd --run-token-file gives runs) with the child pipeline it creates, and no
Authorization header without one. The shim's side is a small HTTP server here that records the
headers of POST /pipelines/ and answers as the shim does."""

import http.server
import importlib.util
import json
import os
import threading
import unittest

import harness

NODES = os.path.join(harness.SOURCE_DIR, "examples", "kedro-events-demo", "src",
                     "kedro_events_demo", "pipelines", "event00", "nodes.py")
TOKEN = "run-token-0123456789abcdef"
EVENT = json.dumps({"specversion": "1.0", "id": "e1", "source": "example.com",
                    "type": "com.example.event", "data": {"k": "v"}})


def load_nodes():
    spec = importlib.util.spec_from_file_location("kedro_events_demo_event00_token", NODES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []  # (path, Authorization header or None) per request

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"id": "child-%d" % len(Recorder.seen)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ExampleChildTokenTest(unittest.TestCase):
    def setUp(self):
        self.saved = {k: os.environ.get(k) for k in ("KEDRO_EVENTS_HTTP_URL",
                                                     "KEDRO_EVENTS_TOKEN")}
        Recorder.seen = []
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        os.environ["KEDRO_EVENTS_HTTP_URL"] = "http://127.0.0.1:%d" % self.httpd.server_port

    def tearDown(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def test_the_child_request_carries_the_runs_token(self):
        os.environ["KEDRO_EVENTS_TOKEN"] = TOKEN
        summary = load_nodes().handle_event("parent-1", EVENT)
        self.assertEqual(summary["child_id"], "child-1")
        self.assertEqual(Recorder.seen, [("/pipelines/", "Bearer " + TOKEN)])

    def test_without_a_token_no_authorization_is_sent(self):
        os.environ.pop("KEDRO_EVENTS_TOKEN", None)
        summary = load_nodes().handle_event("parent-2", EVENT)
        self.assertEqual(summary["child_id"], "child-1")
        self.assertEqual(Recorder.seen, [("/pipelines/", None)])


if __name__ == "__main__":
    unittest.main(verbosity=2)

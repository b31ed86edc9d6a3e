"""kedro-event-shim driven by the official CloudEvents JavaScript SDK (npm package
`cloudevents`, its HTTP emitter: emitterFor(httpTransport(url), {mode})), in binary and
structured mode, in front of the real kedro-eventd. tests/js/emit.js is the sender; its
dependencies are installed with `npm ci` in tests/js (tests/deps.sh does it). Skipped, with the
reason printed, when node or tests/js/node_modules is absent."""

import json
import os
import shutil
import subprocess
import sys
import unittest

import harness
import shim_harness as sh

JS_DIR = os.path.join(harness.SOURCE_DIR, "tests", "js")
NODE = shutil.which("node")

if NODE is None:
    print("skipped: node is not installed (tests/deps.sh installs nodejs)")
    sys.exit(77)
if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "cloudevents")):
    print("skipped: %s/node_modules is absent; run `npm ci` there (tests/deps.sh does)" % JS_DIR)
    sys.exit(77)


def emit(url, mode, *events):
    """Sends events (attribute dicts) with the SDK; returns [(body, headers)] per event."""
    r = subprocess.run([NODE, os.path.join(JS_DIR, "emit.js"), url, mode]
                       + [json.dumps(e) for e in events],
                       capture_output=True, timeout=60, cwd=JS_DIR)
    if r.returncode != 0:
        raise AssertionError("emit.js failed: %s" % r.stderr.decode())
    out = []
    for line in r.stdout.decode().splitlines():
        a = json.loads(line)
        out.append((json.loads(a["body"]), a["headers"]))
    return out


class JavaScriptSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.shim = sh.Shim(cls.server.target)
        cls.url = cls.shim.url + "/event/"

    @classmethod
    def tearDownClass(cls):
        status = cls.shim.stop()
        cls.server.__exit__(None, None, None)
        assert status == 0, cls.shim.stderr()

    def event(self, id, **extra):
        e = {"id": id, "source": "example.com", "type": "com.example.event"}
        e.update(extra)
        return e

    def test_binary_mode(self):
        [(body, headers)] = emit(self.url, "binary", self.event(
            "js-binary-1", subject="orders/42", time="2024-01-02T03:04:05.678Z",
            datacontenttype="application/json", data={"key": "value", "n": [1, 2]},
            myext="extension-value", count=7))
        self.assertIsInstance(body, list, body)
        [p] = body
        self.assertEqual(p["name"], "event00")
        self.assertEqual(p["status"][-1]["state"], "READY")
        ev = sh.event_param(p)
        self.assertEqual(ev["id"], "js-binary-1")
        self.assertEqual(ev["subject"], "orders/42")
        self.assertEqual(ev["time"], "2024-01-02T03:04:05.678Z")
        self.assertEqual(ev["datacontenttype"], "application/json")
        self.assertEqual(ev["data"], {"key": "value", "n": [1, 2]})
        self.assertEqual(ev["myext"], "extension-value")
        self.assertEqual(ev["count"], "7")  # a header carries a string
        self.assertEqual(headers["content-type"], "application/json")

    def test_binary_mode_text_data(self):
        [(body, _)] = emit(self.url, "binary", self.event(
            "js-binary-2", datacontenttype="text/plain", data="plain text, \u20ac"))
        ev = sh.event_param(body[0])
        self.assertEqual(ev["data"], "plain text, \u20ac")
        self.assertEqual(ev["datacontenttype"], "text/plain")

    def test_structured_mode(self):
        [(body, _)] = emit(self.url, "structured", self.event(
            "js-structured-1", subject="\u20ac \U0001F600", dataschema="https://example.com/s",
            data={"key": "value", "emoji": "\U0001F600"}, count=7, flag=True))
        [p] = body
        self.assertEqual(p["name"], "event00")
        ev = sh.event_param(p)
        self.assertEqual(ev["subject"], "\u20ac \U0001F600")
        self.assertEqual(ev["dataschema"], "https://example.com/s")
        self.assertEqual(ev["data"], {"key": "value", "emoji": "\U0001F600"})
        self.assertEqual(ev["count"], 7)     # the JSON format keeps an integer
        self.assertIs(ev["flag"], True)      # and a boolean

    def test_structured_mode_binary_data(self):
        [(body, _)] = emit(self.url, "structured", self.event(
            "js-structured-2", datacontenttype="application/octet-stream", data_base64="AP8Q"))
        self.assertEqual(sh.event_param(body[0])["data_base64"], "AP8Q")

    def test_a_resent_event_answers_the_original_pipelines(self):
        e = self.event("js-dup-1", data={"x": 1})
        [(first, h1), (again, h2)] = emit(self.url, "structured", e, e)
        self.assertEqual(first, again)
        self.assertNotIn("x-duplicate", h1)
        self.assertEqual(h2["x-duplicate"], "true")

    def test_an_event_that_matches_nothing_answers_an_empty_array(self):
        [(body, _)] = emit(self.url, "binary", self.event("js-none", type="nobody.listens",
                                                          data="x"))
        self.assertEqual(body, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

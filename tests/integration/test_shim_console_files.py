"""kedro-event-shim serving the web console at /ui/ against the real kedro-eventd, read with
curl: the embedded index.html and app.js with their headers, a deep path answered index.html,
/ and /ui redirected, other methods 405, If-None-Match 304, no bearer token needed for the
files while /pipelines needs one, --ui-dir read on each request, paths that try to leave
--ui-dir, --no-ui, and a --ui-dir that is missing at start."""

import os
import subprocess
import tempfile
import unittest

import harness
import shim_harness as sh
from shim_harness import curl

TOKEN = "console-token-0123456789abcdef"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
UI_SOURCE = os.path.join(harness.SOURCE_DIR, "client", "shim", "ui")


def source(name):
    with open(os.path.join(UI_SOURCE, name), "rb") as f:
        return f.read().decode()


class ConsoleFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_console_headers(self, a):
        self.assertEqual(a.headers.get("content-security-policy"), CSP, a)
        self.assertEqual(a.headers.get("x-content-type-options"), "nosniff", a)
        self.assertEqual(a.headers.get("referrer-policy"), "no-referrer", a)

    def test_embedded_files_deep_links_redirects_methods_and_304(self):
        with sh.Shim(self.server.target) as shim:
            index = curl(shim.url + "/ui/")
            self.assertEqual(index.status, 200, index)
            self.assertEqual(index.headers["content-type"], "text/html; charset=utf-8")
            self.assertEqual(index.body, source("index.html"))
            self.assertIn("<title>kedro-events</title>", index.body)
            self.assert_console_headers(index)
            self.assertEqual(index.headers["cache-control"], "no-cache")
            etag = index.headers["etag"]
            self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
            js = curl(shim.url + "/ui/app.js")
            self.assertEqual((js.status, js.headers["content-type"]),
                             (200, "text/javascript; charset=utf-8"))
            self.assertEqual(js.body, source("app.js"))
            self.assertNotEqual(js.headers["etag"], etag)
            css = curl(shim.url + "/ui/app.css")
            self.assertEqual(css.headers["content-type"], "text/css; charset=utf-8")
            for deep in ("/ui/runs/abc", "/ui/runs?state=FAILURE", "/ui/overview", "/ui/x/y"):
                a = curl(shim.url + deep)
                self.assertEqual((a.status, a.body, a.headers["etag"]),
                                 (200, index.body, etag), deep)
            # A file the console does not have is a 404, not the page in its place.
            for missing in ("/ui/nope.js", "/ui/img/logo.svg", "/ui/app.js.map"):
                a = curl(shim.url + missing)
                self.assertEqual(a.status, 404, missing)
                self.assertEqual(a.json()["detail"], "the console has no such file")
            for path in ("/ui", "/"):
                a = curl(shim.url + path)
                self.assertIn(a.status, (301, 302, 307, 308), (path, a))
                self.assertEqual(a.headers["location"], "/ui/", a)
            self.assertEqual(curl(shim.url + "/uinot").status, 404)
            for method in ("POST", "PUT", "DELETE"):
                a = curl(shim.url + "/ui/", "-X", method)
                self.assertEqual(a.status, 405, (method, a))
                self.assertEqual(a.headers["allow"], "GET, HEAD")
            head = curl(shim.url + "/ui/app.js", "-I")  # curl -I writes the headers as the body
            self.assertEqual(head.status, 200)
            self.assertEqual(head.headers["content-length"], str(len(source("app.js").encode())))
            self.assertNotIn(source("app.js"), head.body)
            same = curl(shim.url + "/ui/", "-H", "If-None-Match: " + etag)
            self.assertEqual((same.status, same.body), (304, ""))
            self.assertEqual(same.headers["etag"], etag)
            listed = curl(shim.url + "/ui/", "-H", 'If-None-Match: "x", W/' + etag)
            self.assertEqual(listed.status, 304)
            other = curl(shim.url + "/ui/", "-H", 'If-None-Match: "0000000000000000"')
            self.assertEqual(other.status, 200)

    def test_files_need_no_token_but_the_endpoints_do(self):
        d = tempfile.mkdtemp(prefix="ke-tokens-")
        path = os.path.join(d, "tokens")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        with sh.Shim(self.server.target, args=["--auth-tokens", path]) as shim:
            self.assertEqual(curl(shim.url + "/ui/").status, 200)
            self.assertEqual(curl(shim.url + "/ui/app.js").status, 200)
            self.assertEqual(curl(shim.url + "/ui/runs/x").status, 200)
            self.assertEqual(curl(shim.url + "/pipelines").status, 401)
            self.assertEqual(curl(shim.url + "/pipelines/watch").status, 401)
            ok = curl(shim.url + "/pipelines", "-H", "Authorization: Bearer " + TOKEN)
            self.assertEqual(ok.status, 200, ok)

    def test_ui_dir_is_read_on_each_request_and_never_left(self):
        root = tempfile.mkdtemp(prefix="ke-ui-")
        ui = os.path.join(root, "ui")
        os.makedirs(os.path.join(ui, "img"))
        with open(os.path.join(root, "secret.txt"), "w") as f:
            f.write("SECRET\n")
        with open(os.path.join(ui, "index.html"), "w") as f:
            f.write("<title>first</title>")
        with open(os.path.join(ui, "img", "logo.svg"), "w") as f:
            f.write("<svg/>")
        with open(os.path.join(ui, ".hidden"), "w") as f:
            f.write("HIDDEN")
        os.symlink(os.path.join(root, "secret.txt"), os.path.join(ui, "link.txt"))
        with sh.Shim(self.server.target, args=["--ui-dir", ui]) as shim:
            first = curl(shim.url + "/ui/")
            self.assertEqual(first.body, "<title>first</title>")
            self.assert_console_headers(first)
            svg = curl(shim.url + "/ui/img/logo.svg")
            self.assertEqual((svg.headers["content-type"], svg.body), ("image/svg+xml", "<svg/>"))
            with open(os.path.join(ui, "index.html"), "w") as f:
                f.write("<title>second</title>")
            second = curl(shim.url + "/ui/")
            self.assertEqual(second.body, "<title>second</title>")
            self.assertNotEqual(second.headers["etag"], first.headers["etag"])
            self.assertEqual(curl(shim.url + "/ui/", "-H",
                                  "If-None-Match: " + second.headers["etag"]).status, 304)
            for attempt in ("/ui/../secret.txt", "/ui/../../etc/passwd",
                            "/ui/%2e%2e/secret.txt", "/ui/%2e%2e%2fsecret.txt",
                            "/ui/img/..%2f..%2fsecret.txt", "/ui/.%2e/secret.txt",
                            "/ui//etc/passwd", "/ui/img//logo.svg", "/ui/.hidden",
                            "/ui/img/logo.svg%00", "/ui/%00", "/ui/%252e%252e/secret.txt"):
                a = curl(shim.url + attempt, "--path-as-is")
                self.assertNotIn("SECRET", a.body, attempt)
                if a.status == 200:  # a page's address: the page
                    self.assertEqual(a.body, "<title>second</title>", attempt)
                else:  # a file's name: not one of the console's
                    self.assertEqual(a.status, 404, attempt)
            # a symbolic link inside the directory is the operator's choice: it is followed
            self.assertEqual(curl(shim.url + "/ui/link.txt").body, "SECRET\n")
            os.remove(os.path.join(ui, "index.html"))
            gone = curl(shim.url + "/ui/")
            self.assertEqual(gone.status, 404)
            self.assertIn("index.html", gone.json()["detail"])

    def test_no_ui_and_a_missing_ui_dir(self):
        with sh.Shim(self.server.target, args=["--no-ui"]) as shim:
            for path in ("/ui/", "/ui/app.js", "/ui", "/"):
                self.assertEqual(curl(shim.url + path).status, 404, path)
            self.assertEqual(curl(shim.url + "/pipelines").status, 200)
        missing = os.path.join(tempfile.mkdtemp(prefix="ke-ui-"), "absent")
        r = subprocess.run([sh.SHIM, "--listen", "127.0.0.1:0", "--ui-dir", missing],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(missing.encode(), r.stderr)
        r = subprocess.run([sh.SHIM, "--no-ui", "--ui-dir", "/tmp"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        help_ = subprocess.run([sh.SHIM, "--help"], capture_output=True, timeout=10).stdout
        for flag in (b"--ui-dir", b"--no-ui", b"--max-watches"):
            self.assertIn(flag, help_)


if __name__ == "__main__":
    unittest.main(verbosity=2)

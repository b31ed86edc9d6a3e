"""The web console (/ui/ of kedro-event-shim) in a real headless Chromium driven by Selenium
(Debian's chromium, chromium-driver and python3-selenium), against the real shim and
kedro-eventd running the Kedro stand-in: Send starts runs that Runs shows changing state without
a reload, a run started elsewhere appears live (and by polling when the shim refuses the watch),
a run's event JSON (as text, never markup) and log, a Run page following its run live and
Cancel ending it, the state filter, a FAILURE's error, deep links, the token prompt, a 360 px
wide screen, keyboard navigation and the Overview's figures. Screenshots of each page go to $KE_ARTEFACTS_DIR (default
<build>/test-artefacts/console/). Skipped, with the reason printed, when chromium,
chromedriver or selenium is missing."""

import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import unittest
import uuid

import harness
import shim_harness as sh

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
for _path in (CHROMIUM, CHROMEDRIVER):
    if not os.path.exists(_path):
        print("skipped: %s is missing (tests/deps.sh installs chromium chromium-driver)" % _path)
        sys.exit(77)
try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as e:
    print("skipped: selenium is missing (tests/deps.sh installs python3-selenium): %s" % e)
    sys.exit(77)

try:  # Selenium and chromedriver reach each other and Chromium at "localhost"
    socket.getaddrinfo("localhost", None)
except OSError as e:
    print("skipped: the name localhost does not resolve (%s): chromedriver needs it; a Debian "
          "install lists it in /etc/hosts, a bare debootstrap root has no /etc/hosts" % e)
    sys.exit(77)

SOURCE, TYPE = "example.com", "com.example.event"
CONFIG = {"event00": {"source": SOURCE, "type": TYPE}, "fail00": {"source": SOURCE, "type": TYPE}}
TOKEN = "console-token-0123456789abcdef"
ARTEFACTS = os.environ.get("KE_ARTEFACTS_DIR") or os.path.join(
    harness.BUILD_DIR, "test-artefacts", "console")
WAIT = 15  # seconds: a run lasts about 1.5 s, polling (the fallback) every 3 s


def console_url(shim):
    """Where the console of shim is served: the shim itself."""
    return shim.url


def post_event(shim, data, id=None):
    """POSTs a structured event through the shim (as an outside client); answers its runs."""
    ev = sh.structured(id=id or str(uuid.uuid4()), source=SOURCE, type=TYPE, data=data)
    a = sh.curl(shim.url + "/event/", "-H", "Content-Type: application/cloudevents+json",
                data=json.dumps(ev).encode())
    assert a.status == 200, a
    return {p["name"]: p["id"] for p in a.json()}


def hold_watch(shim):
    """Opens GET /pipelines/watch and keeps it open (taking a place of --max-watches); answers
    the connection, to close."""
    c = http.client.HTTPConnection("127.0.0.1", shim.port, timeout=10)
    c.request("GET", "/pipelines/watch?name=nothing-matches")
    assert c.getresponse().status == 200
    return c


def state_of(shim, id):
    a = sh.curl(shim.url + "/pipelines/" + id)
    assert a.status == 200, a
    return a.json()["status"][-1]["state"]


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTEFACTS, exist_ok=True)
        print("console screenshots in %s" % ARTEFACTS)
        tokens_dir = tempfile.mkdtemp(prefix="ke-console-tokens-")
        tokens = os.path.join(tokens_dir, "tokens")
        with open(tokens, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tokens, 0o600)
        cls.server = harness.Server(config=CONFIG, runner="local",
                                    args=["--kedro-bin", harness.KEDRO_STANDIN],
                                    env={"KEDRO_STANDIN_SLEEP": "1.5"})
        cls.shim = sh.Shim(cls.server.target)
        cls.tshim = sh.Shim(cls.server.target, args=["--auth-tokens", tokens])
        # A shim whose only watch the test holds: the console must fall back to polling.
        cls.pshim = sh.Shim(cls.server.target, args=["--max-watches", "1"])
        cls.held = hold_watch(cls.pshim)
        cls.url = console_url(cls.shim)
        cls.turl = console_url(cls.tshim)
        cls.profile = tempfile.mkdtemp(prefix="ke-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                  "--user-data-dir=" + cls.profile):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.profile, ignore_errors=True)
        cls.held.close()
        cls.pshim.__exit__(None)
        cls.tshim.__exit__(None)
        cls.shim.__exit__(None)
        cls.server.__exit__(None)

    def setUp(self):
        self.d = self.driver
        self.d.set_window_size(1280, 900)

    def tearDown(self):
        # A script error or a CSP refusal in the page fails the test that caused it.
        bad = [e["message"] for e in self.d.get_log("browser")
               if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
        self.assertEqual(bad, [])

    # helpers

    def wait(self, cond, timeout=WAIT, msg=""):
        def safe(d):
            try:
                return cond(d)
            except StaleElementReferenceException:
                return False
        return WebDriverWait(self.d, timeout).until(safe, msg)

    def find(self, css):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)),
                         msg="no visible %s" % css)

    def shot(self, name):
        self.d.save_screenshot(os.path.join(ARTEFACTS, name + ".png"))

    def mark_document(self):
        """Sets a marker on window: it survives only while the document is not reloaded."""
        self.d.execute_script("window.keMarker = 'kept';")

    def assert_not_reloaded(self):
        self.assertEqual(self.d.execute_script("return window.keMarker || null;"), "kept")

    def row_state(self, id):
        rows = self.d.find_elements(By.CSS_SELECTOR, 'tr[data-id="%s"]' % id)
        return rows[0].get_attribute("data-state") if rows else None

    def open_runs(self, query="", url=None, mode="live"):
        self.d.get((url or self.url) + "/ui/runs" + query)
        self.wait(lambda d: d.find_element(By.ID, "live").text == mode,
                  msg="the Runs page did not say %s" % mode)

    def finished_run(self, name, data):
        """Starts runs through the shim and waits until name's has ended; answers its id."""
        id = post_event(self.shim, data)[name]
        self.assertTrue(harness.wait_until(
            lambda: state_of(self.shim, id) in ("SUCCESS", "FAILURE"), timeout=WAIT))
        return id

    def fill_send(self, type=TYPE, id="", data=""):
        """Fills the Send form (source, type, id, data) and submits it."""
        d = self.d
        for field, value in (("s-source", SOURCE), ("s-type", type), ("s-id", id)):
            el = d.find_element(By.ID, field)
            el.clear()
            el.send_keys(value)
        area = d.find_element(By.ID, "s-data")
        area.clear()
        if data:
            area.send_keys(data)
        d.find_element(By.CSS_SELECTOR, "#send-form button[type=submit]").click()

    # tests

    def test_send_starts_runs_that_runs_shows_changing_state_without_reload(self):
        d = self.d
        d.get(self.url + "/ui/send")
        self.assertEqual(d.title, "Send — kedro-events")
        self.mark_document()
        self.fill_send(data=json.dumps({"sent_from": "the console", "n": 14}))
        self.assertIn("Valid JSON", d.find_element(By.ID, "s-data-hint").text)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.started-run")) == 2,
                  msg="Send did not list the two runs it started")
        started = {a.text.split()[0]: a.get_attribute("data-id")
                   for a in d.find_elements(By.CSS_SELECTOR, "a.started-run")}
        self.assertEqual(sorted(started), ["event00", "fail00"])
        d.execute_script("document.getElementById('send-result').scrollIntoView(false);")
        self.shot("send")

        d.find_element(By.CSS_SELECTOR, 'nav a[data-page="runs"]').click()
        id = started["event00"]
        self.wait(lambda d: self.row_state(id), msg="the new run's row did not appear")
        first = self.row_state(id)
        self.assertIn(first, ("READY", "STARTED"))
        self.wait(lambda d: self.row_state(id) == "SUCCESS", msg="the row never said SUCCESS")
        self.wait(lambda d: self.row_state(started["fail00"]) == "FAILURE")
        row = d.find_element(By.CSS_SELECTOR, 'tr[data-id="%s"]' % id)
        self.assertIn("SUCCESS", row.text)  # the state as text, not only a colour
        self.assertIn("com.example.event", row.text)
        self.assertEqual(d.title, "Runs — kedro-events")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, 'nav a[aria-current="page"]').text,
                         "Runs")
        self.assert_not_reloaded()
        self.shot("runs")

    def test_send_says_no_match_and_duplicate_and_sends_text_or_no_data(self):
        d = self.d
        d.get(self.url + "/ui/send")
        self.fill_send(type="com.example.nothing")
        self.assertIn("sent without data", d.find_element(By.ID, "s-data-hint").text)
        self.assertIn("no pipeline matched", self.find("#no-match").text)

        event_id = "console-" + str(uuid.uuid4())
        self.fill_send(id=event_id, data="plain words, not JSON")
        self.assertIn("sent as a string", d.find_element(By.ID, "s-data-hint").text)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.started-run")) == 2)
        first = sorted(a.get_attribute("data-id")
                       for a in d.find_elements(By.CSS_SELECTOR, "a.started-run"))
        a = sh.curl(self.shim.url + "/pipelines/" + first[0])
        ev = sh.event_param(a.json())
        self.assertEqual((ev["data"], ev["datacontenttype"]), ("plain words, not JSON", "text/plain"))

        self.fill_send(id=event_id, data="plain words, not JSON")  # the same id again
        self.wait(lambda d: "A duplicate" in d.find_element(By.ID, "send-result").text,
                  msg="the resend was not said to be a duplicate")
        again = sorted(a.get_attribute("data-id")
                       for a in d.find_elements(By.CSS_SELECTOR, "a.started-run"))
        self.assertEqual(again, first)

    def test_a_run_started_elsewhere_appears_on_an_open_runs_page(self):
        self.open_runs()  # says "live": the watch stream is open
        self.mark_document()
        ids = post_event(self.shim, {"from": "curl"})
        self.wait(lambda d: self.row_state(ids["event00"]) is not None,
                  msg="the run posted with curl did not appear")
        self.wait(lambda d: self.row_state(ids["event00"]) == "SUCCESS")
        self.assertEqual(self.d.find_element(By.ID, "live").text, "live")
        self.assert_not_reloaded()

    def test_without_a_watch_runs_polls_and_still_shows_new_runs(self):
        # The shim refuses the page's watch (503: its only place is held), so the page polls.
        self.open_runs(url=console_url(self.pshim), mode="polling")
        self.assertIn("--max-watches", self.d.find_element(By.ID, "live").get_attribute("title"))
        self.mark_document()
        ids = post_event(self.shim, {"from": "curl, while polling"})
        self.wait(lambda d: self.row_state(ids["event00"]) == "SUCCESS",
                  msg="polling did not bring the run to SUCCESS")
        self.assert_not_reloaded()

    def test_run_page_follows_a_run_live_and_cancel_ends_it(self):
        # A run that sleeps for a minute (the stand-in's `sleep` parameter), made through the
        # shim's POST /pipelines/.
        id = self.create(name="event00", parameters={"sleep": 60})
        self.d.get(self.url + "/ui/runs/" + id)
        self.wait(lambda d: d.find_element(By.ID, "live").text == "live",
                  msg="the Run page did not follow the run's watch")
        self.mark_document()
        self.wait(lambda d: "STARTED" in d.find_element(By.CSS_SELECTOR, "dl.summary").text,
                  msg="the Run page never said STARTED")
        self.wait(lambda d: "Using pipeline 'event00'" in d.find_element(By.ID, "log").text,
                  msg="the followed log did not show the run's lines")
        self.find("#cancel").click()
        self.wait(lambda d: "ABORTED" in d.find_element(By.CSS_SELECTOR, "dl.summary").text,
                  msg="Cancel did not end the run")
        self.assertEqual(state_of(self.shim, id), "ABORTED")
        self.wait(lambda d: d.find_element(By.ID, "live").text == "ended")
        self.assertIn("ABORTED", self.d.find_element(By.ID, "history").text)
        self.find("#retry")  # an ended run offers Retry instead
        self.assertEqual(self.d.find_elements(By.ID, "cancel"), [])
        self.assert_not_reloaded()

    def test_run_page_shows_the_event_json_and_the_log(self):
        data = {"x": [1, 2, {"y": "z"}], "euro": "\u20ac", "nested": {"deep": True},
                "html": "<img src=x onerror=\"window.kePwned=1\"><script>window.kePwned=2</script>"}
        id = post_event(self.shim, data)["event00"]
        self.d.get(self.url + "/ui/runs/" + id)
        pre = self.find("#event-json")
        self.assertEqual(json.loads(pre.text)["data"], data)
        self.assertIn("\n  ", pre.text)  # pretty-printed
        # Data reaches the page as text, never as markup.
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main img, main script"), [])
        self.assertIsNone(self.d.execute_script("return window.kePwned || null;"))
        self.wait(lambda d: "Using pipeline 'event00'" in d.find_element(By.ID, "log").text,
                  msg="the log did not show the stand-in's lines")
        self.wait(lambda d: "SUCCESS" in d.find_element(By.ID, "history").text)
        self.assertTrue(self.d.find_element(By.ID, "retry").is_displayed())
        self.assertIn("event_source", self.d.find_element(By.CSS_SELECTOR, "main").text)
        self.shot("run")
        self.mark_document()
        self.d.find_element(By.ID, "retry").click()
        link = self.find("#retry-link")
        new_id = link.text.split()[-1]
        self.assertNotEqual(new_id, id)
        link.click()
        self.wait(lambda d: d.title == "Run event00 %s… — kedro-events" % new_id[:8])
        self.assert_not_reloaded()

    def test_filter_by_state_shows_only_failures_and_a_failure_shows_its_error(self):
        fail_id = self.finished_run("fail00", {"to": "fail"})
        self.finished_run("event00", {"to": "succeed"})
        self.open_runs()
        Select(self.d.find_element(By.ID, "f-state")).select_by_value("FAILURE")
        self.d.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        self.wait(lambda d: "state=FAILURE" in d.current_url)
        self.wait(lambda d: self.row_state(fail_id) == "FAILURE")
        states = {r.get_attribute("data-state")
                  for r in self.d.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")}
        self.assertEqual(states, {"FAILURE"})
        self.assertIn("FAILURE", self.d.title)
        self.d.find_element(By.CSS_SELECTOR, 'tr[data-id="%s"] a' % fail_id).click()
        err = self.find("#run-error")
        self.assertIn("failed on purpose", err.text)
        self.assertIn("exit code: 1", self.d.find_element(By.ID, "history").text)
        self.shot("run-failure")

    def create(self, shim=None, **body):
        a = sh.curl((shim or self.shim).url + "/pipelines/", "-H",
                    "Content-Type: application/json", data=json.dumps(body).encode())
        self.assertEqual(a.status, 201, a)
        return a.json()["id"]

    def test_a_row_in_a_state_filtered_list_shows_it_leaving_that_state(self):
        self.open_runs("?state=STARTED")
        self.mark_document()
        id = self.create(name="event00", parameters={"sleep": 60})
        self.wait(lambda d: self.row_state(id) == "STARTED",
                  msg="the run entering STARTED did not appear")
        a = sh.curl(self.shim.url + "/pipelines/%s/cancel" % id, "-X", "POST")
        self.assertEqual(a.status, 200, a)
        self.wait(lambda d: self.row_state(id) == "ABORTED",
                  msg="the row did not show the run leaving STARTED")
        self.assert_not_reloaded()

    def test_a_run_with_many_children_links_to_all_of_them(self):
        # Runs that stay READY (runner none), on a server of their own: 51 runs would otherwise
        # keep the other tests' runs waiting.
        with harness.Server(config=CONFIG, runner="none") as server, \
                sh.Shim(server.target) as shim:
            self.many_children(shim)

    def many_children(self, shim):
        parent = self.create(shim, name="event00")
        kids = {self.create(shim, name="child%02d" % i, parent=parent) for i in range(51)}
        self.d.get(console_url(shim) + "/ui/runs/" + parent)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.children li")) == 50)
        self.mark_document()
        self.find("#all-children").click()
        self.wait(lambda d: "parent=" + parent in d.current_url)
        self.find("#f-parent")
        self.assertEqual(self.d.find_element(By.ID, "f-parent").get_attribute("value"), parent)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")) == 25)
        self.find("#older").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")) == 50)
        self.find("#older").click()
        self.wait(lambda d: {r.get_attribute("data-id") for r in
                             d.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")} == kids,
                  msg="paging did not list every child once")
        self.assertFalse(self.d.find_element(By.ID, "older").is_displayed())
        self.assert_not_reloaded()

    def test_a_deep_link_loads_the_run_directly(self):
        id = self.finished_run("event00", {"deep": "link"})
        self.d.get(self.url + "/ui/runs/" + id)
        self.wait(lambda d: d.title == "Run event00 %s… — kedro-events" % id[:8],
                  msg="title %r" % self.d.title)
        self.assertEqual(self.d.find_element(By.CSS_SELECTOR, "main h1").text, "Run event00")
        self.assertIn(id, self.d.find_element(By.CSS_SELECTOR, "dl.summary").text)

    def test_with_tokens_the_console_asks_for_one_and_sends_it(self):
        d = self.d
        d.get(self.turl + "/ui/runs")
        self.find("#token-prompt")
        self.assertIn("Authorization: Bearer", d.find_element(By.ID, "token-detail").text)
        self.shot("token")
        d.find_element(By.ID, "token-input").send_keys("wrong-token-0123456789")
        d.find_element(By.CSS_SELECTOR, "#token-form button").click()
        self.wait(lambda d: "the bearer token is not accepted" in d.find_element(By.ID, "alert").text,
                  msg="the 401 detail was not shown")
        self.find("#token-prompt")
        d.find_element(By.ID, "token-input").send_keys(TOKEN)
        d.find_element(By.CSS_SELECTOR, "#token-form button").click()
        # Rows only come through the shim when it accepted the bearer token.
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "table.runs tbody tr"),
                  msg="Runs did not load with the token")
        self.assertFalse(d.find_element(By.ID, "token-prompt").is_displayed())
        self.assertEqual(d.execute_script(
            "return sessionStorage.getItem('kedro-events.token');"), TOKEN)
        d.find_element(By.ID, "forget-token").click()
        self.find("#token-prompt")
        self.assertIsNone(d.execute_script(
            "return sessionStorage.getItem('kedro-events.token');"))

    def test_360_px_wide_has_no_horizontal_scroll(self):
        id = self.finished_run("fail00", {"narrow": "screen " * 20})
        self.d.set_window_size(360, 800)
        width = self.d.execute_script("return window.innerWidth;")
        self.assertLessEqual(width, 360)
        self.open_runs()
        self.wait(lambda d: self.row_state(id))
        self.assertLessEqual(
            self.d.execute_script("return document.documentElement.scrollWidth;"), width)
        self.shot("runs-narrow")
        self.d.get(self.url + "/ui/runs/" + id)
        self.find("#run-error")
        self.find("#event-json")
        self.assertLessEqual(
            self.d.execute_script("return document.documentElement.scrollWidth;"), width)

    def test_keyboard_reaches_the_nav_links_and_enter_follows_them(self):
        self.open_runs()
        self.mark_document()
        body = self.d.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        self.assertEqual(self.d.switch_to.active_element.text, "Skip to content")
        for _ in range(6):
            active = self.d.switch_to.active_element
            if active.get_attribute("data-page") == "overview":
                break
            active.send_keys(Keys.TAB)
        active = self.d.switch_to.active_element
        self.assertEqual(active.get_attribute("data-page"), "overview")
        active.send_keys(Keys.ENTER)
        self.wait(lambda d: d.title == "Overview — kedro-events")
        self.assertTrue(self.d.current_url.endswith("/ui/overview"))
        self.assert_not_reloaded()

    def test_overview_shows_the_stats(self):
        self.finished_run("event00", {"for": "stats"})
        stats = sh.curl(self.shim.url + "/stats?window=3600&step=60")
        self.assertEqual(stats.status, 200, stats)
        self.d.get(self.url + "/ui/overview")
        self.find("#plot-events")
        self.find("#plot-runs")
        self.wait(lambda d: (d.find_element(By.ID, "n-ready").text,
                             d.find_element(By.ID, "n-started").text) == ("0", "0"))
        total = self.d.find_element(By.ID, "events-total").text
        events = sum(b["events"] for b in stats.json()["buckets"])
        self.assertGreaterEqual(int(total.split("Last hour: ")[1].split()[0]), events)
        self.assertIn("failure share", total)
        self.assertGreater(len(self.d.find_elements(By.CSS_SELECTOR, "#plot-runs rect")), 0)
        self.shot("overview")


if __name__ == "__main__":
    unittest.main()

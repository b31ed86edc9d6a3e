"""kedro-event-shim driven with Python's `requests` (Debian's python3-requests), in front of the
real kedro-eventd running pipelines with the Kedro stand-in: kedro-graphql's own /event/ test
reproduced, the read and child endpoints (GET /pipelines/{id}, GET /pipelines, POST
/pipelines/), /healthz, and keep-alive."""

import json
import os
import tempfile
import unittest

import requests

import harness
import shim_harness as sh

State = ("STAGED", "READY", "STARTED", "SUCCESS", "FAILURE", "ABORTED")


class RequestsAgainstEventd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = tempfile.mkdtemp(prefix="ke-project-")
        cls.record_dir = tempfile.mkdtemp(prefix="ke-record-")
        config = dict(harness.EVENT00)
        config["other"] = {"source": "other.example", "type": "com.example.other"}
        cls.server = harness.Server(
            config=config, runner="local",
            env={"KEDRO_STANDIN_RECORD_DIR": cls.record_dir, "KEDRO_STANDIN_SLEEP": "0.3"},
            args=["--kedro-bin", harness.KEDRO_STANDIN, "--kedro-project", cls.project])
        cls.shim = sh.Shim(cls.server.target)
        cls.http = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        status = cls.shim.stop()
        cls.server.__exit__(None, None, None)
        assert status == 0, cls.shim.stderr()

    def url(self, path):
        return self.shim.url + path

    def test_kedro_graphql_event_test(self):
        # kedro-graphql's test_asgi.py: to_structured(CloudEvent(attributes, data)), POSTed
        attributes = {"type": "com.example.event", "source": "example.com", "id": "1234"}
        data = {"key": "value"}
        body = dict(attributes, specversion="1.0", time="2024-01-02T03:04:05.678Z", data=data)
        r = requests.post(self.url("/event/"), data=json.dumps(body).encode(),
                          headers={"content-type": "application/cloudevents+json"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["content-type"], "application/json")
        pipelines = r.json()
        self.assertEqual(len(pipelines), 1)
        self.assertEqual(pipelines[0]["name"], "event00")
        self.assertIn(pipelines[0]["status"][-1]["state"], ["READY", "STARTED"])
        ev = sh.event_param(pipelines[0])
        self.assertEqual(ev["data"], data)
        self.assertEqual(ev["id"], "1234")
        params = {p["name"]: p for p in pipelines[0]["parameters"]}
        self.assertEqual(params["id"]["value"], pipelines[0]["id"])
        tags = {t["key"]: t["value"] for t in pipelines[0]["tags"]}
        self.assertEqual(tags, {"event_id": "1234", "event_source": "example.com",
                                "event_type": "com.example.event"})
        # and the stand-in really runs it
        pid = pipelines[0]["id"]

        def finished():
            p = self.http.get(self.url("/pipelines/" + pid)).json()
            return p["status"][-1]["state"] == "SUCCESS"
        self.assertTrue(harness.wait_until(finished, timeout=30, step=0.1), self.server.stderr())
        with open(os.path.join(self.record_dir, pid + ".json")) as f:
            recorded = json.load(f)
        self.assertEqual(json.loads(recorded["params"]["event"])["data"], data)

    def test_answers_carry_every_key_of_kedro_graphqls_event_answer(self):
        r = self.http.post(self.url("/event/"), headers={"content-type":
                                                         "application/cloudevents+json"},
                           data=json.dumps(sh.structured(id="keys-1")))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(len(r.json()), 1)
        sh.assert_local_pipeline_dict(self, r.json()[0])
        pid = r.json()[0]["id"]

        def ended():
            return self.http.get(self.url("/pipelines/" + pid)).json()["status"][-1]["state"] \
                == "SUCCESS"
        self.assertTrue(harness.wait_until(ended, timeout=30, step=0.1), self.server.stderr())
        g = self.http.get(self.url("/pipelines/" + pid)).json()
        sh.assert_local_pipeline_dict(self, g)
        self.assertEqual([s["state"] for s in g["status"]], ["READY", "STARTED", "SUCCESS"])
        self.assertEqual(g["status"][-1]["runner"], "local")
        self.assertEqual(g["status"][-1]["exit_code"], 0)
        listed = self.http.get(self.url("/pipelines"), params={"name": "event00"})
        self.assertEqual(listed.status_code, 200, listed.text)
        self.assertIn(pid, [p["id"] for p in listed.json()])
        for p in listed.json():
            sh.assert_local_pipeline_dict(self, p)
        c = self.http.post(self.url("/pipelines/"), json={"name": "example00", "parent": pid})
        self.assertEqual(c.status_code, 201, c.text)
        sh.assert_local_pipeline_dict(self, c.json())
        self.assertEqual(c.json()["parent"], pid)
        b = self.http.post(self.url("/event/"), headers={"content-type":
                                                         "application/cloudevents-batch+json"},
                           data=json.dumps([sh.structured(id="keys-2"),
                                            sh.structured(id="keys-3")]))
        self.assertEqual(b.status_code, 200, b.text)
        self.assertEqual([len(x) for x in b.json()], [1, 1])
        for x in b.json():
            sh.assert_local_pipeline_dict(self, x[0])

    def test_get_pipeline_by_id(self):
        r = self.http.post(self.url("/event/"), headers=dict(sh.BINARY_HEADERS, **{
            "ce-id": "get-1", "content-type": "text/plain"}), data=b"hello")
        self.assertEqual(r.status_code, 200, r.text)
        pid = r.json()[0]["id"]
        g = self.http.get(self.url("/pipelines/" + pid))
        self.assertEqual(g.status_code, 200, g.text)
        self.assertEqual(g.json()["id"], pid)
        self.assertEqual(g.json()["name"], "event00")
        self.assertEqual(g.json()["status"][0]["state"], "READY")
        self.assertEqual(self.http.get(self.url("/pipelines/%s/" % pid)).json()["id"], pid)

    def test_get_an_unknown_pipeline_is_404(self):
        g = self.http.get(self.url("/pipelines/6f1b0c1e-0000-4000-8000-000000000000"))
        self.assertEqual(g.status_code, 404, g.text)
        self.assertIn("detail", g.json())

    def test_create_a_child_pipeline_and_list_it_by_parent(self):
        r = self.http.post(self.url("/event/"), headers={"content-type":
                                                         "application/cloudevents+json"},
                           data=json.dumps(sh.structured(id="parent-1", data={"n": 1})))
        self.assertEqual(r.status_code, 200, r.text)
        parent = r.json()[0]["id"]
        c = self.http.post(self.url("/pipelines/"), json={
            "name": "example00", "parent": parent,
            "parameters": [{"name": "source_id", "value": parent, "type": "string"},
                           {"name": "rows", "value": 3}],
            "tags": {"origin": "event00"}})
        self.assertEqual(c.status_code, 201, c.text)
        child = c.json()
        self.assertEqual(child["name"], "example00")
        self.assertEqual(child["parent"], parent)
        self.assertEqual(c.headers["location"], "/pipelines/" + child["id"])
        params = {p["name"]: (p["value"], p["type"]) for p in child["parameters"]}
        self.assertEqual(params, {"source_id": (parent, "string"), "rows": ("3", "int")})
        self.assertEqual(child["tags"], [{"key": "origin", "value": "event00"}])
        self.assertEqual(child["status"][-1]["state"], "READY")
        # object forms, too
        c2 = self.http.post(self.url("/pipelines"), json={
            "name": "example00", "parent": parent, "parameters": {"ratio": 0.5, "flag": True},
            "tags": [{"key": "k", "value": "v"}]})
        self.assertEqual(c2.status_code, 201, c2.text)
        params = {p["name"]: (p["value"], p["type"]) for p in c2.json()["parameters"]}
        self.assertEqual(params, {"ratio": ("0.5", "float"), "flag": ("true", "bool")})
        listed = self.http.get(self.url("/pipelines"), params={"parent": parent})
        self.assertEqual(listed.status_code, 200, listed.text)
        self.assertEqual(sorted(p["id"] for p in listed.json()),
                         sorted([child["id"], c2.json()["id"]]))

    def test_create_with_an_unknown_parent_is_refused_by_the_server(self):
        c = self.http.post(self.url("/pipelines/"), json={
            "name": "example00", "parent": "6f1b0c1e-0000-4000-8000-000000000001"})
        self.assertIn(c.status_code, (400, 404), c.text)
        self.assertIn("parent", c.json()["detail"])

    def test_create_with_a_bad_name_shows_the_servers_message(self):
        c = self.http.post(self.url("/pipelines/"), json={"name": "bad name!"})
        self.assertEqual(c.status_code, 400, c.text)
        self.assertIn("name", c.json()["detail"])

    def test_create_with_a_body_that_is_not_an_object_is_400(self):
        for body in (b"[]", b"{", b'{"name": 3}', b'{"name": "x", "color": "red"}',
                     b'{"name": "x", "parameters": [{"value": 1}]}',
                     b'{"name": "x", "parameters": {"p": [1]}}',
                     b'{"name": "x", "tags": {"k": 1}}'):
            c = self.http.post(self.url("/pipelines/"), data=body,
                               headers={"content-type": "application/json"})
            self.assertEqual(c.status_code, 400, (body, c.text))
            self.assertIn("detail", c.json())

    def test_list_filters_by_name_and_state_and_pages(self):
        for i in range(3):
            r = self.http.post(self.url("/event/"), headers=dict(sh.BINARY_HEADERS, **{
                "ce-id": "list-%d" % i, "ce-source": "other.example",
                "ce-type": "com.example.other"}))
            self.assertEqual(r.status_code, 200, r.text)
        first = self.http.get(self.url("/pipelines"), params={"name": "other", "limit": 2})
        self.assertEqual(first.status_code, 200, first.text)
        self.assertEqual(len(first.json()), 2)
        token = first.headers.get("x-next-page-token")
        self.assertTrue(token, first.headers)
        rest = self.http.get(self.url("/pipelines/"), params={"name": "other", "limit": 2,
                                                              "page_token": token})
        self.assertEqual(rest.status_code, 200, rest.text)
        ids = [p["id"] for p in first.json() + rest.json()]
        self.assertEqual(len(set(ids)), 3)
        self.assertNotIn("x-next-page-token", rest.headers)
        for p in first.json() + rest.json():
            self.assertEqual(p["name"], "other")
        by_state = self.http.get(self.url("/pipelines"), params={"state": "aborted"})
        self.assertEqual(by_state.status_code, 200, by_state.text)
        self.assertEqual(by_state.json(), [])

    def test_list_with_a_bad_state_or_limit_is_400(self):
        for params in ({"state": "DONE"}, {"limit": "ten"}, {"limit": "0"}):
            r = self.http.get(self.url("/pipelines"), params=params)
            self.assertEqual(r.status_code, 400, (params, r.text))
            self.assertIn(list(params)[0], r.json()["detail"])

    def test_healthz_reports_serving(self):
        r = self.http.get(self.url("/healthz"))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json(), {"status": "SERVING"})
        self.assertEqual(self.http.head(self.url("/healthz")).status_code, 200)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with requests.Session() as s:
            for i in range(20):
                r = s.post(self.url("/event/"), headers=dict(sh.BINARY_HEADERS, **{
                    "ce-id": "keepalive-%d" % i, "ce-type": "nobody.listens"}))
                self.assertEqual(r.status_code, 200, r.text)
                self.assertNotEqual(r.headers.get("connection"), "close")
            bad = s.post(self.url("/event/"), data=b"{",
                         headers={"content-type": "application/cloudevents+json"})
            self.assertEqual(bad.status_code, 400)
            self.assertEqual(s.get(self.url("/healthz")).status_code, 200)

    def test_a_large_body_over_the_limit_is_413_for_requests_too(self):
        r = requests.post(self.url("/event/"), data=b"x" * (5 << 20),
                          headers=dict(sh.BINARY_HEADERS, **{"content-type": "text/plain"}))
        self.assertEqual(r.status_code, 413, r.text[:300])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The kedro-graphql runner over HTTPS: the stand-in (tests/stubs/kedro_graphql/standin.py)
serves GraphQL with a certificate from a test CA (tests/integration/certs.py, made at test
time); kedro-eventd forwards and mirrors with --graphql-ca naming that CA, and without it (the
system's roots do not hold the test CA) or against a certificate for another name it forwards
nothing, keeps the pipeline READY, says why on stderr once, and forwards it once a restart
gives it the right CA."""

import unittest

import certs
import harness
from kgql_harness import ForwardingTestCase, KgqlStandin

harness.load_stubs()

from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402

State = pb.PipelineStatus.State
SRC, TYPE = "example.com", "com.example.single"
CONFIG = {"event00": {"source": SRC, "type": TYPE}}
SECRET = "Bearer tls-s3cret-value"


def event(i):
    e = ce.CloudEvent(id="tls-%s" % i, source=SRC, spec_version="1.0", type=TYPE,
                      text_data='{"i": "%s"}' % i)
    e.attributes["datacontenttype"].ce_string = "application/json"
    return e


def tags(p):
    return {t.key: t.value for t in p.tags}


class KgqlTlsTest(ForwardingTestCase):
    data_dir_prefix = "ke-kgql-tls-"

    def setUp(self):
        super().setUp()
        self.certs = certs.shared()

    def start_standin(self, cert_key):
        self.standin = KgqlStandin(pipelines=("event00",), start_after=0.1, run_seconds=0.1,
                                   tls=cert_key)
        self.assertTrue(self.standin.url.startswith("https://127.0.0.1:"), self.standin.url)
        # The certificates name localhost (and 127.0.0.1): ask for the name, as a user would.
        self.url = self.standin.url.replace("127.0.0.1", "localhost")

    def start(self, ca):
        if self.channel is not None:
            self.channel.close()
            self.server.stop()
        args = ["--graphql-url", self.url, "--graphql-timeout", "5",
                "--graphql-poll-interval", "0.1", "--graphql-header", "Authorization: " + SECRET]
        if ca is not None:
            args += ["--graphql-ca", ca]
        self.server = harness.Server(config=CONFIG, runner="kedro-graphql",
                                     data_dir=self.data_dir, args=args)
        self.channel = self.server.channel()
        self.stub = rpc.EventServiceStub(self.channel)

    def get(self, pid):
        return self.stub.GetPipeline(pb.GetPipelineRequest(id=pid))

    def wait(self, pred, what, timeout=30):
        self.assertTrue(harness.wait_until(pred, timeout=timeout, step=0.05),
                        "timed out waiting for %s\n%s" % (what, self.server.stderr()))

    def forwarded_and_mirrored(self, pid):
        """Waits until pid is mirrored to SUCCESS; asserts it went to the stand-in once."""
        self.wait(lambda: self.get(pid).status[-1].state == State.SUCCESS, "SUCCESS")
        p = self.get(pid)
        theirs = self.standin.pipelines()
        self.assertEqual(len(theirs), 1, theirs)
        self.assertEqual(tags(p)["kedro_graphql_id"], theirs[0]["id"])
        self.assertEqual(p.kedro_graphql_id, theirs[0]["id"])
        self.assertEqual([s.state for s in p.status][:2], [State.READY, State.READY])
        self.assertEqual(self.standin.stats()["launches"], 1)
        self.assertEqual(self.standin.headers().get("authorization"), SECRET)

    def refused(self, words):
        """Dispatches one event to a kedro-eventd whose TLS check fails; asserts nothing
        reached kedro-graphql, the pipeline stays READY, and stderr says why (words) without
        the header's value. Returns the pipeline's id."""
        pid = self.stub.Dispatch(event(words[0])).pipelines[0].id
        self.wait(lambda: "forwarding pauses" in self.server.stderr(), "the TLS failure")
        err = self.server.stderr()
        line = [ln for ln in err.splitlines() if "forwarding pauses" in ln][0]
        for w in words:
            self.assertIn(w, line)
        self.assertNotIn("s3cret", err)
        self.assertEqual(self.standin.stats()["requests"], 0)  # no request got through
        p = self.get(pid)
        self.assertEqual([s.state for s in p.status], [State.READY])
        self.assertNotIn("kedro_graphql_id", tags(p))
        self.assertEqual(p.kedro_graphql_id, "")
        self.assertEqual(err.count("forwarding pauses"), 1, err)  # once per outage
        return pid

    def test_https_with_graphql_ca_forwards_and_mirrors(self):
        self.start_standin((self.certs.server_cert, self.certs.server_key))
        self.start(self.certs.ca)
        pid = self.stub.Dispatch(event("ok")).pipelines[0].id
        self.forwarded_and_mirrored(pid)
        self.assertNotIn("forwarding pauses", self.server.stderr())

    def test_without_graphql_ca_nothing_is_forwarded_until_a_restart_names_the_ca(self):
        self.start_standin((self.certs.server_cert, self.certs.server_key))
        self.start(None)
        pid = self.refused(["TLS", "certificate", "verif", "--graphql-ca"])
        self.start(self.certs.ca)
        self.forwarded_and_mirrored(pid)

    def test_a_certificate_for_another_name_is_refused_like_an_unknown_ca(self):
        self.start_standin(certs.server_for(self.certs, "other", "DNS:other.test"))
        self.start(self.certs.ca)
        self.refused(["TLS", "certificate", "verif", "localhost"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

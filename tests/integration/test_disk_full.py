"""A full disk never costs an acknowledged event: kedro-eventd's data dir on a 6 MiB tmpfs,
64 concurrent clients sending 300 KB events until the disk fills. Every event answered OK is
found by GetPipeline, live and after a restart; every failure is UNAVAILABLE naming the data dir;
once space returns (the tmpfs is grown) new dispatches succeed without a restart.

Needs root (it mounts a tmpfs); otherwise, or when the mount is refused, it says why and exits
77 (skipped)."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness

CLIENTS = 64              # concurrent senders
EVENTS_PER_CLIENT = 6     # each sends at most this many (the disk is full long before)
EVENT_BYTES = 300 * 1000  # text data of each event
TMPFS_SIZE = "6m"         # the data dir's file system
GROWN_SIZE = "64m"        # ... once space returns
MAX_SECONDS = 60          # the whole test stays under this


def skip(reason):
    print("SKIP: %s" % reason)
    sys.exit(77)


def mount_tmpfs():
    if os.geteuid() != 0:
        skip("not root: mounting a tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="ke-diskfull-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        skip("mount -t tmpfs refused: %s" % r.stderr.strip())
    return mnt


def unmount(mnt):
    if subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    shutil.rmtree(mnt, ignore_errors=True)


harness.load_stubs()

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2 as ce  # noqa: E402
from kedro.events.v1 import events_pb2 as pb, events_pb2_grpc as rpc  # noqa: E402


def event(name):
    body = ('{"pad": "%s"}' % (name * (EVENT_BYTES // len(name) + 1)))[:EVENT_BYTES - 2] + '"}'
    return ce.CloudEvent(id=name, source="example.com", spec_version="1.0",
                         type="com.example.event", text_data=body)


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = mount_tmpfs()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.alive():
                s.proc.kill()
            s.stop()
        unmount(self.mnt)

    def start(self, data_dir):
        # 64 clients x 300 KB in flight is past the default --max-inflight-bytes (16 MiB): its
        # "overloaded" answer is test_overload's subject, not this one's, so the budget here
        # holds every client's event at once and each failure is the disk's.
        s = harness.Server(data_dir=data_dir, args=["--max-message-bytes", str(4 << 20),
                                                    "--max-inflight-bytes", str(64 << 20)])
        self.servers.append(s)
        return s

    def flood(self, server):
        """Sends until the disk is full; returns ({event id: [pipeline ids]}, [RpcError])."""
        acked, failed = {}, []
        lock = threading.Lock()
        full = threading.Event()

        def send(c):
            with server.channel(**{"grpc.max_send_message_length": 4 << 20}) as ch:
                stub = rpc.EventServiceStub(ch)
                for i in range(EVENTS_PER_CLIENT):
                    if full.is_set() and i > 1:
                        return
                    name = "full-%d-%d" % (c, i)
                    try:
                        r = stub.Dispatch(event(name), timeout=30)
                        with lock:
                            acked[name] = [p.id for p in r.pipelines]
                    except grpc.RpcError as e:
                        with lock:
                            failed.append(e)
                        full.set()
        threads = [threading.Thread(target=send, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return acked, failed

    def assert_found(self, server, acked):
        with server.channel() as ch:
            stub = rpc.EventServiceStub(ch)
            for name, ids in acked.items():
                self.assertEqual(len(ids), 1, name)
                got = stub.GetPipeline(pb.GetPipelineRequest(id=ids[0]), timeout=30)
                self.assertEqual(got.id, ids[0])
                event_param = [p.value for p in got.parameters if p.name == "event"]
                self.assertEqual(len(event_param), 1)
                self.assertIn(name, event_param[0])

    def test_full_disk_answers_unavailable_never_ok_for_what_is_lost_and_recovers(self):
        began = time.monotonic()
        data_dir = os.path.join(self.mnt, "data")
        server = self.start(data_dir)
        acked, failed = self.flood(server)
        self.assertTrue(failed, "the disk never filled (%d events stored)" % len(acked))
        self.assertTrue(acked, "nothing was stored before the disk filled")
        self.assertTrue(server.alive())
        self.assert_found(server, acked)  # live: an OK was a commit
        for e in failed:
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
            self.assertIn(data_dir, e.details())
        self.assertTrue(any("disk full" in e.details() for e in failed),
                        [e.details() for e in failed][:3])

        # Space returns: the same server takes new events, no restart.
        r = subprocess.run(["mount", "-o", "remount,size=" + GROWN_SIZE, self.mnt],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with server.channel(**{"grpc.max_send_message_length": 4 << 20}) as ch:
            stub = rpc.EventServiceStub(ch)
            for i in range(4):
                name = "after-%d" % i
                answer = stub.Dispatch(event(name), timeout=30)
                self.assertFalse(answer.duplicate)
                acked[name] = [p.id for p in answer.pipelines]
        self.assert_found(server, acked)

        # And after a restart: every acknowledged event is there, and a retry is a duplicate.
        self.assertEqual(server.stop(), 0)
        again = self.start(data_dir)
        self.assert_found(again, acked)
        with again.channel(**{"grpc.max_send_message_length": 4 << 20}) as ch:
            stub = rpc.EventServiceStub(ch)
            for name in list(acked)[:8]:
                answer = stub.Dispatch(event(name), timeout=30)
                self.assertTrue(answer.duplicate)
                self.assertEqual([p.id for p in answer.pipelines], acked[name])
        self.assertEqual(again.stop(), 0)
        print("disk full: %d events acknowledged before, %d refused UNAVAILABLE; %.1f s"
              % (len(acked) - 4, len(failed), time.monotonic() - began))
        self.assertLess(time.monotonic() - began, MAX_SECONDS)


if __name__ == "__main__":
    unittest.main(verbosity=2)

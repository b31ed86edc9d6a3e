"""The Debian packages: built by CPack from this build, installed with dpkg -i (then apt-get -f
install for the Depends from the Debian mirror) into a fresh Debian 12 root made by debootstrap, and the
services answering there: kedro-eventd started as its unit starts it (the unit's ExecStart,
/etc/default/kedro-eventd, the kedro-events user, /var/lib/kedro-events), a health check
from grpcio and a Dispatch through the installed CLI, and POST /event/ through the installed
shim. systemd does not run in a chroot, so the test runs the units' ExecStart itself and checks
what the maintainer scripts did (the units enabled, masked on removal).

Needs root (debootstrap, chroot, mount) and the Debian mirror: without either it FAILS, naming
what is missing. Runs in the plain build only (the sanitized build skips it: one run per CI).
Nothing is cached between runs."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness

MIRROR = os.environ.get("KE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBS = ("kedro-eventd", "kedro-event-shim", "kedro-events", "libkedroevents-dev")
CONFIG = {"event00": {"source": "example.com", "type": "com.example.event"}}

if os.environ.get("KE_SANITIZED") == "1":
    print("test_packages: runs in the plain build only (the packages are built once per CI)")
    sys.exit(77)


def run(cmd, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s\n%s" % (" ".join(cmd), r.returncode,
                                                        r.stdout[-4000:], r.stderr[-4000:]))
    return r.stdout


def mirror_reachable():
    m = re.match(r"^https?://([^/:]+)(?::(\d+))?", MIRROR)
    host, port = m.group(1), int(m.group(2) or (443 if MIRROR.startswith("https") else 80))
    try:
        socket.create_connection((host, port), timeout=10).close()
        return None
    except OSError as e:
        return "%s:%d: %s" % (host, port, e)


def unit_exec_start(root, unit):
    with open(os.path.join(root, "lib/systemd/system", unit)) as f:
        return re.search(r"^ExecStart=(.*)$", f.read(), re.M).group(1)


class Daemon:
    """A daemon in the chroot, started as its unit would: EnvironmentFile= sourced, ExecStart
    run by sh (which splits $VAR as systemd does), as the kedro-events user."""

    def __init__(self, root, unit, default_file):
        exec_start = unit_exec_start(root, unit)
        script = "set -a; . %s; set +a; exec %s" % (default_file, exec_start)
        self.proc = subprocess.Popen(
            ["chroot", "--userspec=kedro-events:kedro-events", root, "/bin/sh", "-c", script],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on .* port (\d+)", line)
        if not m:
            self.proc.kill()
            raise AssertionError("%s did not start: %r\n%s" % (unit, line,
                                                                self.proc.stderr.read().decode()))
        self.port = int(m.group(1))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=30)
        err = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return status, err


class PackagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_packages needs root (debootstrap, chroot, mount); "
                                 "run it as root, as CI does")
        why = mirror_reachable()
        if why is not None:
            raise AssertionError("test_packages needs the Debian mirror %s: %s" % (MIRROR, why))
        for tool in ("debootstrap", "cpack", "dpkg-shlibdeps", "systemd-analyze"):
            if shutil.which(tool) is None:
                raise AssertionError("test_packages needs %s (tests/deps.sh installs it)" % tool)
        cls.work = tempfile.mkdtemp(prefix="ke-packages-")
        cls.mounts = []
        cls.debs = cls.build_packages()
        cls.root = os.path.join(cls.work, "root")
        t0 = time.monotonic()
        run(["debootstrap", "--variant=minbase", "bookworm", cls.root, MIRROR], timeout=900)
        print("debootstrap: %.0f s" % (time.monotonic() - t0), file=sys.stderr)
        for fs, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            target = os.path.join(cls.root, fs)
            run(["mount"] + args + [target])
            cls.mounts.append(target)
        inside = os.path.join(cls.root, "tmp", "debs")
        os.makedirs(inside)
        for d in cls.debs:
            shutil.copy(d, inside)
        cls.chroot(["apt-get", "update", "-q"])
        t0 = time.monotonic()
        # dpkg -i unpacks the four packages and leaves them unconfigured while their Depends
        # (grpc, protobuf-c, ...) are missing; apt-get -f installs those from the mirror and
        # configures ours (their postinst scripts run then).
        first = subprocess.run(
            ["chroot", cls.root, "dpkg", "-i"] + ["/tmp/debs/" + os.path.basename(d)
                                                 for d in cls.debs],
            capture_output=True, text=True, timeout=600,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        cls.dpkg_log = first.stdout + first.stderr
        cls.install_log = cls.chroot(
            ["apt-get", "install", "-f", "-y", "-q", "--no-install-recommends"])
        print("dpkg -i + apt-get -f install: %.0f s" % (time.monotonic() - t0), file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        for m in reversed(getattr(cls, "mounts", [])):
            subprocess.run(["umount", "-l", m])
        if hasattr(cls, "work"):
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def chroot(cls, cmd, timeout=600):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C"}
        return run(["chroot", cls.root] + cmd, timeout=timeout, env=env)

    @classmethod
    def build_packages(cls):
        """cpack from this build's CPackConfig into a fresh directory: the four packages."""
        with open(os.path.join(harness.BUILD_DIR, "CMakeCache.txt")) as f:
            cache = f.read()
        prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M).group(1)
        if prefix != "/usr":
            raise AssertionError("the build's CMAKE_INSTALL_PREFIX is %s: packages need /usr"
                                 % prefix)
        out = os.path.join(cls.work, "debs")
        t0 = time.monotonic()
        run(["cpack", "-G", "DEB", "--config", os.path.join(harness.BUILD_DIR,
                                                            "CPackConfig.cmake"), "-B", out],
            cwd=harness.BUILD_DIR)
        print("cpack: %.0f s" % (time.monotonic() - t0), file=sys.stderr)
        debs = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".deb"))
        names = sorted(run(["dpkg-deb", "-f", d, "Package"]).strip() for d in debs)
        assert names == sorted(DEBS), names
        return debs

    def write_default(self, name, text):
        with open(os.path.join(self.root, "etc/default", name), "w") as f:
            f.write(text)

    def test_1_installed_as_a_debian_daemon(self):
        for p in DEBS:  # dpkg -i unpacked each package itself
            self.assertIn("Unpacking %s " % p, self.dpkg_log)
        status = self.chroot(["dpkg-query", "-W", "-f", "${Package} ${Status}\\n"] + list(DEBS))
        for p in DEBS:
            self.assertIn("%s install ok installed" % p, status)
        # postinst: the system user; the units enabled (deb-systemd-helper without systemd)
        passwd = self.chroot(["getent", "passwd", "kedro-events"])
        self.assertIn("/usr/sbin/nologin", passwd)
        for unit in ("kedro-eventd.service", "kedro-event-shim.service"):
            link = os.path.join(self.root, "etc/systemd/system/multi-user.target.wants", unit)
            self.assertTrue(os.path.islink(link), unit)
        conffiles = self.chroot(["dpkg-query", "-W", "-f", "${Conffiles}\\n", "kedro-eventd"])
        self.assertIn("/etc/default/kedro-eventd", conffiles)
        # the installed units, checked against the installed tree
        run(["systemd-analyze", "verify", "--recursive-errors=no", "--root=" + self.root,
             "/lib/systemd/system/kedro-eventd.service",
             "/lib/systemd/system/kedro-event-shim.service"])
        # the dev package: pkg-config finds the header where it is
        self.chroot(["apt-get", "install", "-y", "-q", "--no-install-recommends", "pkgconf"])
        cflags = self.chroot(["pkg-config", "--cflags", "--libs", "kedroevents"])
        self.assertIn("-lkedroevents", cflags)
        self.assertTrue(os.path.exists(os.path.join(self.root, "usr/include/kedroevents.h")))

    def test_2_services_answer(self):
        harness.load_stubs()
        import grpc
        import requests
        from grpcstd.health.v1 import health_pb2, health_pb2_grpc

        # StateDirectory=kedro-events, as systemd would make it
        state = os.path.join(self.root, "var/lib/kedro-events")
        os.makedirs(state, exist_ok=True)
        self.chroot(["chown", "kedro-events:kedro-events", "/var/lib/kedro-events"])
        self.write_default("kedro-eventd",
                           "KEDRO_GRAPHQL_EVENTS_CONFIG='%s'\n"
                           "KEDRO_EVENTD_OPTS=\"--listen 127.0.0.1:0 --runner none "
                           "--log-format json\"\n" % json.dumps(CONFIG))
        eventd = Daemon(self.root, "kedro-eventd.service", "/etc/default/kedro-eventd")
        target = "127.0.0.1:%d" % eventd.port
        try:
            with grpc.insecure_channel(target) as ch:
                r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                         timeout=10)
                self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
            out = self.chroot(["kedro-events", "send", "--target", target, "--source",
                               "example.com", "--type", "com.example.event", "--id", "pkg-1"])
            self.assertRegex(out, r"^[0-9a-f-]{36}\tevent00\tREADY$")
            self.write_default("kedro-event-shim",
                               "KEDRO_EVENT_SHIM_OPTS=\"--listen 127.0.0.1:0 --target %s "
                               "--log-format json\"\n" % target)
            shim = Daemon(self.root, "kedro-event-shim.service", "/etc/default/kedro-event-shim")
            try:
                a = requests.post("http://127.0.0.1:%d/event/" % shim.port, timeout=10,
                                  json={"specversion": "1.0", "id": "pkg-2",
                                        "source": "example.com", "type": "com.example.event"},
                                  headers={"Content-Type": "application/cloudevents+json"})
                self.assertEqual(a.status_code, 200, a.text)
            finally:
                status, err = shim.stop()
            self.assertEqual(status, 0, err)
            listed = self.chroot(["kedro-events", "list", "--target", target])
            self.assertEqual(len(listed.strip().splitlines()), 2, listed)
            # the store is where the unit says, owned by the service user
            db = os.path.join(state, "kedro-events.db")
            self.assertTrue(os.path.exists(db))
            uid = int(self.chroot(["id", "-u", "kedro-events"]))
            self.assertEqual(os.stat(db).st_uid, uid)
        finally:
            status, err = eventd.stop()
        self.assertEqual(status, 0, err)
        for line in err.splitlines():
            self.assertEqual(json.loads(line)["program"], "kedro-eventd")

    def test_3_removal_masks_and_keeps_the_conffile(self):
        self.chroot(["apt-get", "remove", "-y", "-q", "kedro-event-shim"])
        mask = os.path.join(self.root, "etc/systemd/system/kedro-event-shim.service")
        self.assertEqual(os.readlink(mask), "/dev/null")
        self.assertTrue(os.path.exists(os.path.join(self.root, "etc/default/kedro-event-shim")))
        self.chroot(["apt-get", "purge", "-y", "-q", "kedro-event-shim"])
        self.assertFalse(os.path.lexists(mask))
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc/default/kedro-event-shim")))


if __name__ == "__main__":
    unittest.main()

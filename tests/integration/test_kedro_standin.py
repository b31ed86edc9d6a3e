"""The Kedro stand-in itself (tests/stubs/kedro): its command line, how it reads a run file
(with OmegaConf, as Kedro does), what it records and how it fails. Other tests trust it to
tell them what a real `kedro run` would have seen, so its behaviour is pinned here."""

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

import harness

try:
    importlib.import_module("omegaconf")  # the stand-in reads run files with it, as Kedro does
    import yaml
except ImportError as e:
    print("skipped: %s: %s" % (sys.executable, e))
    sys.exit(77)

KEDRO = harness.KEDRO_STANDIN
TRICKY = ('{"specversion": "1.0", "data": {"text": "commas, \\"quotes\\", back\\\\slash\\n'
          'new line", "tmpl": "\\u0024{oc.env:HOME}"}}\n\ttab \u2028 \u2029 \u0085 \ufeff '
          'caf\u00e9 \u4e2d \U0001F600 # : - [ { &a *a !t % @ `')


class StandinCase(unittest.TestCase):
    """A scratch directory, run files and the stand-in's command line, for the tests below."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ke-standin-")
        self.record_dir = os.path.join(self.dir, "record")
        self.running_dir = os.path.join(self.dir, "running")
        os.mkdir(self.record_dir)
        os.mkdir(self.running_dir)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def run_file(self, params, pipeline="event00", name="run.yml", **dump):
        """Writes a run file with PyYAML (a YAML writer that is not ours) and returns its path."""
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"run": {"pipeline": pipeline, "params": params}}, f,
                           allow_unicode=True, sort_keys=False, **dump)
        return path

    def kedro(self, *args, env=None, **kw):
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("KEDRO_STANDIN_", "KEDRO_EVENTS_"))}
        full_env.update({"KEDRO_STANDIN_RECORD_DIR": self.record_dir,
                         "KEDRO_STANDIN_CONCURRENCY_DIR": self.running_dir})
        full_env.update(env or {})
        return subprocess.run([KEDRO] + list(args), env=full_env, capture_output=True,
                              timeout=60, **kw)

    def recorded(self, name):
        with open(os.path.join(self.record_dir, name + ".json"), encoding="utf-8") as f:
            return json.load(f)


class StandinTest(StandinCase):
    def test_tricky_str_written_by_pyyaml_is_recorded_exactly_as_str(self):
        for style in (None, '"', "'", "|"):
            with self.subTest(style=style):
                params = {"id": "run-1", "event": TRICKY, "number_like": "10",
                          "bool_like": "true", "empty": ""}
                path = self.run_file(params, default_style=style)
                r = self.kedro("run", "--pipeline", "event00", "--config", path)
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                rec = self.recorded("run-1")
                self.assertEqual(rec["params"], params)
                self.assertEqual(set(rec["types"].values()), {"str"})
                self.assertEqual(rec["pipeline"], "event00")
                self.assertIsNone(rec["env"])

    def test_values_are_typed_and_interpolated_as_omegaconf_does(self):
        path = os.path.join(self.dir, "run.yml")
        with open(path, "w") as f:
            f.write('run:\n  pipeline: event00\n  params:\n    id: typed\n    n: 10\n'
                    '    b: true\n    s: "10"\n    home: ${oc.env:KE_STANDIN_PROBE}\n')
        r = self.kedro("run", "--pipeline=event00", "--config=" + path,
                       env={"KE_STANDIN_PROBE": "resolved"})
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rec = self.recorded("typed")
        self.assertEqual(rec["params"], {"id": "typed", "n": 10, "b": True, "s": "10",
                                         "home": "resolved"})
        self.assertEqual(rec["types"], {"id": "str", "n": "int", "b": "bool", "s": "str",
                                        "home": "str"})

    def test_records_env_cwd_and_the_kedro_events_environment(self):
        path = self.run_file({"id": "env-1"})
        project = os.path.join(self.dir, "project")
        os.mkdir(project)
        r = self.kedro("run", "-p", "event00", "-c", path, "-e", "staging", cwd=project,
                       env={"KEDRO_EVENTS_PIPELINE_ID": "env-1", "KEDRO_EVENTS_SERVER": "h:1",
                            "OTHER_VARIABLE": "not recorded"})
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rec = self.recorded("env-1")
        self.assertEqual(rec["env"], "staging")
        self.assertEqual(os.path.realpath(rec["cwd"]), os.path.realpath(project))
        self.assertEqual(rec["environ"], {"KEDRO_EVENTS_PIPELINE_ID": "env-1",
                                          "KEDRO_EVENTS_SERVER": "h:1"})

    def test_logs_like_kedro_and_exits_0(self):
        r = self.kedro("run", "--pipeline", "event00", "--config", self.run_file({"id": "x"}))
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"INFO", r.stdout)
        self.assertIn(b"Pipeline execution completed successfully.", r.stdout)
        self.assertTrue(r.stderr)
        self.assertEqual(os.listdir(self.running_dir), [])

    def test_fail_pipeline_exits_1_naming_it(self):
        path = self.run_file({"id": "f-1"}, pipeline="fail_pipeline")
        r = self.kedro("run", "--pipeline", "fail_pipeline", "--config", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Traceback", r.stderr)
        self.assertIn(b"fail_pipeline", r.stderr)
        self.assertNotIn(b"completed successfully", r.stdout)
        self.assertEqual(self.recorded("f-1")["pipeline"], "fail_pipeline")
        self.assertEqual(os.listdir(self.running_dir), [])

    def test_crash_pipeline_dies_by_sigkill(self):
        path = self.run_file({"id": "c-1"}, pipeline="crash_now")
        r = self.kedro("run", "--pipeline", "crash_now", "--config", path)
        self.assertEqual(r.returncode, -signal.SIGKILL)
        self.assertEqual(os.listdir(self.running_dir), [])

    def test_bad_command_lines_exit_2_with_usage(self):
        path = self.run_file({"id": "u-1"})
        for args in (["run", "--pipeline", "event00", "--config", path, "--bogus"],
                     ["run", "--pipeline", "event00", "--config", path, "--runner", "x"],
                     ["run", "--pipeline"],
                     ["run", "--pipeline", "event00", "--config", path, "extra"],
                     ["run", "--pipeline", "event00", "--config", path + ".missing"],
                     ["new"], []):
            with self.subTest(args=args):
                r = self.kedro(*args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(b"Usage: kedro", r.stderr)
                self.assertIn(b"Error:", r.stderr)
        self.assertEqual(os.listdir(self.record_dir), [])

    def test_pipeline_must_match_the_run_file(self):
        path = self.run_file({"id": "m-1"}, pipeline="other")
        r = self.kedro("run", "--pipeline", "event00", "--config", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"other", r.stderr)

    def test_unknown_run_file_key_is_refused_as_kedro_does(self):
        path = os.path.join(self.dir, "run.yml")
        with open(path, "w") as f:
            f.write('run:\n  pipeline: event00\n  bogus_key: 1\n')
        r = self.kedro("run", "--pipeline", "event00", "--config", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"bogus_key", r.stderr)

    def test_sleep_holds_the_running_marker_and_sigterm_kills(self):
        path = self.run_file({"id": "s-1", "sleep": "30"})
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_STANDIN_")}
        env["KEDRO_STANDIN_CONCURRENCY_DIR"] = self.running_dir
        p = subprocess.Popen([KEDRO, "run", "--pipeline", "event00", "--config", path], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(harness.wait_until(
                lambda: os.listdir(self.running_dir) == ["s-1.running"], timeout=20))
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=20), -signal.SIGTERM)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(os.listdir(self.running_dir), [])

    def test_sleep_from_the_environment(self):
        path = self.run_file({"id": "e-1"})
        r = self.kedro("run", "--pipeline", "event00", "--config", path,
                       env={"KEDRO_STANDIN_SLEEP": "0.5"})
        self.assertEqual(r.returncode, 0)
        self.assertEqual(self.recorded("e-1")["params"], {"id": "e-1"})

    def test_recording_replaces_the_file_by_rename(self):
        # A write in place would go through the symlink; a rename replaces the link itself.
        outside = os.path.join(self.dir, "outside.json")
        with open(outside, "w") as f:
            f.write("untouched")
        os.symlink(outside, os.path.join(self.record_dir, "r-1.json"))
        path = self.run_file({"id": "r-1"})
        r = self.kedro("run", "--pipeline", "event00", "--config", path)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertFalse(os.path.islink(os.path.join(self.record_dir, "r-1.json")))
        self.assertEqual(self.recorded("r-1")["params"], {"id": "r-1"})
        with open(outside) as f:
            self.assertEqual(f.read(), "untouched")
        self.assertEqual(os.listdir(self.record_dir), ["r-1.json"])  # no temp file left

    def test_recording_is_never_seen_half_written(self):
        big = "x" * (512 << 10)  # large enough that a plain write would be seen half-done
        paths = [self.run_file({"id": "a-%d" % i, "event": big}, name="run-%d.yml" % i)
                 for i in range(6)]
        bad, stop = [], threading.Event()

        def watch():
            while not stop.is_set():
                for name in os.listdir(self.record_dir):
                    if not name.endswith(".json"):
                        continue  # the temp file, never under a name a reader looks for
                    try:
                        with open(os.path.join(self.record_dir, name), encoding="utf-8") as f:
                            if json.load(f)["params"]["event"] != big:
                                bad.append(name)
                    except ValueError:
                        bad.append(name)
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            env = dict(os.environ, KEDRO_STANDIN_RECORD_DIR=self.record_dir)
            procs = [subprocess.Popen([KEDRO, "run", "--pipeline", "event00", "--config", p],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
                     for p in paths]
            self.assertEqual([p.wait(timeout=60) for p in procs], [0] * len(paths))
        finally:
            stop.set()
            watcher.join()
        self.assertEqual(bad, [])
        self.assertEqual(sorted(os.listdir(self.record_dir)),
                         ["a-%d.json" % i for i in range(len(paths))])  # no temp file left

    def test_background_dir_leaves_a_child_a_daemon_and_a_stubborn_daemon_behind(self):
        bg = os.path.join(self.dir, "bg")
        os.mkdir(bg)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_STANDIN_")}
        env.update({"KEDRO_STANDIN_BACKGROUND_DIR": bg, "KEDRO_STANDIN_RECORD_DIR": self.record_dir})
        path = self.run_file({"id": "b-1"})
        # Not captured: the sleepers hold the stand-in's stdout and stderr open.
        r = subprocess.run([KEDRO, "run", "--pipeline=event00", "--config", path], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        with open(os.path.join(bg, "b-1.pids")) as f:
            pids = json.load(f)
        try:
            self.assertEqual(r.returncode, 0)
            self.assertEqual(sorted(pids), ["child", "daemon", "stubborn"])
            for kind, (pid, start) in pids.items():
                with open("/proc/%d/stat" % pid) as f:
                    stat = f.read()
                self.assertIn("(sleep)", stat, kind)
                self.assertEqual(int(stat.rpartition(")")[2].split()[19]), start, kind)
            self.assertEqual(os.getsid(pids["child"][0]), os.getsid(0))
            for kind in ("daemon", "stubborn"):
                self.assertNotEqual(os.getsid(pids[kind][0]), os.getsid(0), kind)
            with open("/proc/%d/status" % pids["stubborn"][0]) as f:
                ign = int([ln for ln in f if ln.startswith("SigIgn:")][0].split()[1], 16)
            self.assertTrue(ign & (1 << (signal.SIGTERM - 1)))
            rec = self.recorded("b-1")
            self.assertRegex(rec["sigblk"], "^[0-9a-f]{16}$")
            self.assertRegex(rec["sigign"], "^[0-9a-f]{16}$")
        finally:
            for pid, _ in pids.values():
                os.kill(pid, signal.SIGKILL)

    def test_id_that_is_not_a_file_name_records_under_the_pid(self):
        path = self.run_file({"id": "../escape"})
        r = self.kedro("run", "--pipeline", "event00", "--config", path)
        self.assertEqual(r.returncode, 0)
        (name,) = os.listdir(self.record_dir)
        self.assertRegex(name, r"^\d+\.json$")


class ProjectCheckTest(StandinCase):
    """In a Kedro project (a pyproject.toml with [tool.kedro] here or in a parent directory)
    the stand-in refuses what Kedro's bootstrap_project refuses."""

    def project(self, init_version="1.0.0", drop=(), files=("settings", "pipeline_registry")):
        """Writes a project under self.dir/project and returns its path."""
        root = os.path.join(self.dir, "project")
        package = os.path.join(root, "src", "demo_pkg")
        os.makedirs(package)
        keys = {"package_name": "demo_pkg", "project_name": "demo",
                "kedro_init_version": init_version}
        with open(os.path.join(root, "pyproject.toml"), "w", encoding="utf-8") as f:
            f.write("[project]\nname = \"demo\"\n\n[tool.kedro]\n")
            for key, value in keys.items():
                if key not in drop:
                    f.write('%s = "%s"\n' % (key, value))
        for name in files:
            open(os.path.join(package, name + ".py"), "w").close()
        return root

    def run_in(self, cwd, version=None):
        env = {"KEDRO_STANDIN_VERSION": version} if version else {}
        return self.kedro("run", "--pipeline", "event00", "--config",
                          self.run_file({"id": "p-1"}), cwd=cwd, env=env)

    def test_a_project_of_the_running_release_line_runs(self):
        for init, running in (("1.0.0", None), ("1.5.0", None), ("1.0.0", "1.2.3"),
                              ("0.19.14", "0.19.3")):
            with self.subTest(init=init, running=running):
                shutil.rmtree(os.path.join(self.dir, "project"), ignore_errors=True)
                r = self.run_in(self.project(init), running)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(b"kedro_init_version %s" % init.encode(), r.stdout)

    def test_a_project_of_another_release_line_is_refused_as_kedro_does(self):
        for init, running, shown in (("0.19.14", None, "1.5.0"), ("2.0.0", None, "1.5.0"),
                                     ("1.0.0", "0.19.14", "0.19.14"),
                                     ("0.18.14", "0.19.14", "0.19.14")):
            with self.subTest(init=init, running=running):
                shutil.rmtree(os.path.join(self.dir, "project"), ignore_errors=True)
                r = self.run_in(self.project(init), running)
                self.assertEqual(r.returncode, 1)
                self.assertIn(b"ValueError: Your Kedro project version %s does not match Kedro "
                              b"package version %s you are running."
                              % (init.encode(), shown.encode()), r.stderr)
                self.assertNotIn(b"completed successfully", r.stdout)
                self.assertEqual(os.listdir(self.record_dir), [])

    def test_the_project_is_found_from_a_subdirectory(self):
        sub = os.path.join(self.project("0.19.14"), "conf", "local")
        os.makedirs(sub)
        r = self.run_in(sub)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"does not match Kedro package version", r.stderr)

    def test_missing_keys_and_modules_are_refused(self):
        r = self.run_in(self.project(drop=("kedro_init_version",)))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Missing required keys ['kedro_init_version']", r.stderr)
        shutil.rmtree(os.path.join(self.dir, "project"))
        r = self.run_in(self.project(files=("settings",)))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"No module named 'demo_pkg.pipeline_registry'", r.stderr)

    def test_a_pyproject_without_tool_kedro_is_no_project(self):
        root = os.path.join(self.dir, "plain")
        os.mkdir(root)
        with open(os.path.join(root, "pyproject.toml"), "w") as f:
            f.write('[project]\nname = "plain"\n')
        self.assertEqual(self.run_in(root).returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The processes a Kedro stand-in run leaves behind on purpose (KEDRO_STANDIN_BACKGROUND_DIR:
its sleepers, written as <run id>.pids = {kind: [pid, start time in clock ticks]}), for the
tests that check a run's whole process tree ends: whether one still runs, and killing any a
failed test left."""

import json
import os
import signal


def alive(pid, start):
    """Whether the process pid started at start (clock ticks) still runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return int(fields[19]) == start and fields[0] != "Z"


def load(bg_dir, name):
    """The sleepers file name in bg_dir: {kind: [pid, start]}."""
    with open(os.path.join(bg_dir, name)) as f:
        return json.load(f)


def kill_left(bg_dir):
    """SIGKILLs every sleeper recorded in bg_dir that still runs (a failed test must not leave
    any); a missing bg_dir is fine."""
    if bg_dir is None or not os.path.isdir(bg_dir):
        return
    for name in os.listdir(bg_dir):
        if name.endswith(".pids"):
            for pid, start in load(bg_dir, name).values():
                if alive(pid, start):
                    os.kill(pid, signal.SIGKILL)

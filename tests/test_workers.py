"""Worker processes end when the process that started them dies without shutting them down (a
notebook kernel killed by ``jupyter nbconvert`` on SIGTERM), instead of finishing their run and idling."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]

PARENT = textwrap.dedent("""
    import sys, time
    from joblib import Parallel, delayed
    from qmoe_tfq.core.workers import exit_with_parent

    def task(i, watch, delay):
        time.sleep(delay)  # e.g. still unpickling the task when the parent dies
        if watch:
            exit_with_parent(poll_seconds=0.2)
        time.sleep(120)  # a long training run
        return i

    watch, delay = sys.argv[1] == "1", float(sys.argv[2])
    list(Parallel(n_jobs=2, return_as="generator_unordered")(delayed(task)(i, watch, delay) for i in range(2)))
""")


def loky_workers(pid: int) -> list[psutil.Process]:
    return [c for c in psutil.Process(pid).children(recursive=True) if "popen_loky" in " ".join(c.cmdline())]


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_parent_and_count_survivors(watch: bool, delay: float = 0.0) -> int:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, "1" if watch else "0", str(delay)], cwd=ROOT)
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 60
        while len(loky_workers(parent.pid)) < 2:
            assert time.time() < deadline, "workers did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # both tasks running
        children = psutil.Process(parent.pid).children(recursive=True)
        workers = loky_workers(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        time.sleep(3.0 + delay)
        return sum(alive(w) for w in workers)
    finally:
        parent.kill()
        for child in children:  # orphans are no longer our children: kill them by the handles kept
            if alive(child):
                child.kill()


def test_workers_exit_when_their_parent_is_killed():
    assert kill_parent_and_count_survivors(watch=True) == 0


def test_workers_exit_when_their_parent_died_before_the_watch_started():
    assert kill_parent_and_count_survivors(watch=True, delay=3.0) == 0


@pytest.mark.slow
def test_without_the_watch_workers_outlive_their_parent():
    """The control: the same kill leaves joblib's workers running (why the watch exists)."""
    assert kill_parent_and_count_survivors(watch=False) == 2

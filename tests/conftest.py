import os
import shutil
import tempfile

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One TensorFlow / BLAS thread per process: the suite already keeps both cores busy with its xdist
# workers (and the runner's own workers pin themselves the same way), so more threads only add idle
# spinning. Measured on test_estimators.py with -n 2: user CPU 85 s -> 75 s, wall 133 s -> 86 s.
for _var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The processes the tests start get a temporary folder of the session's own (TMPDIR), removed when the
# session ends: a process a test kills on purpose (SIGKILL, os._exit after Ctrl-C) cannot clean up after
# itself, and left ~80 files (TensorFlow's AutoGraph modules, kernel folders) in /tmp each run. This
# process keeps its own temp folder (and pytest's tmp_path stays where pytest puts it); the xdist workers
# inherit the variable and leave it alone.
_SESSION_TMP = None
if "QMOE_TEST_TMPDIR" not in os.environ:
    tempfile.gettempdir()
    _SESSION_TMP = tempfile.mkdtemp(prefix="qmoe-tests-")
    os.environ["TMPDIR"] = os.environ["QMOE_TEST_TMPDIR"] = _SESSION_TMP


def pytest_unconfigure(config):
    if _SESSION_TMP is not None:
        shutil.rmtree(_SESSION_TMP, ignore_errors=True)


# The suite runs on pytest-xdist workers (``-n 2 --dist worksteal`` in pyproject.toml). These tests take
# a minute to ten, far longer than the rest (seconds; rough serial times on a loaded 2-core machine):
# they are spread over the workers longest first (each to the worker with the least so far) and put at
# the head of that worker's first share of the collection (worksteal hands worker k the k-th contiguous
# slice), so they start at once while the rest is balanced around them by stealing.
HEAVY = {
    "tests/test_paper_quick.py::test_quick_paper_pipeline": 580,
    "tests/test_benchmarks_asv.py::test_asv_check_and_one_quick_pass": 120,
    "tests/test_paper_run.py::test_a_killed_run_leaves_the_previous_complete_folder_untouched": 60,
}


def _slice_sizes(n: int, workers: int) -> list[int]:
    """How xdist's worksteal scheduler first splits ``n`` items over ``workers`` idle workers."""
    sizes = []
    for i in range(workers):
        sizes.append(n // (workers - i))
        n -= sizes[-1]
    return sizes


# Per-test limit for the heavy tests (pyproject's ``timeout`` covers the rest): the QUICK paper test runs
# the pipeline twice, each under a 1200 s subprocess timeout of its own.
HEAVY_TIMEOUT = 2700


def pytest_collection_modifyitems(config, items):
    by_id = {it.nodeid: it for it in items}
    heavy = [by_id[h] for h in sorted(HEAVY, key=HEAVY.get, reverse=True) if h in by_id]
    for it in heavy:
        if it.get_closest_marker("timeout") is None:
            it.add_marker(pytest.mark.timeout(HEAVY_TIMEOUT))
    if not heavy:
        return
    rest = [it for it in items if it not in heavy]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers <= 1:
        items[:] = heavy + rest
        return
    assigned: list[list] = [[] for _ in range(workers)]
    load = [0] * workers
    for it in heavy:
        k = load.index(min(load))
        assigned[k].append(it)
        load[k] += HEAVY[it.nodeid]
    ordered = []
    for share, size in zip(assigned, _slice_sizes(len(items), workers)):
        take = max(size - len(share), 0)
        ordered += share + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


@pytest.fixture
def qmoe_cli(capsys):
    """Run ``qmoe <argv>`` in this process (TensorFlow is already loaded in the worker, so this costs
    the command's own work, not a new interpreter): returns (exit code, stdout, stderr). The console
    script's process-level behaviour (SIGINT, what loads before TensorFlow) is tested by subprocess."""
    from qmoe_tfq.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as stop:
            code = stop.code
        out, err = capsys.readouterr()
        return code, out, err

    return run

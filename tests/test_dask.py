"""Sweeps on a dask.distributed cluster: the runner sends its jobs through joblib's Dask backend and
gets the numbers the local process pool gets; the client writes the cache; a killed worker loses
only its in-flight jobs."""

import os
import signal
import threading
import time

import pandas as pd
import pytest

from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments.registry import EstimatorSpec
from qmoe_tfq.experiments.runner import run_experiments, runner
from qmoe_tfq.experiments.tuning import Budget, Candidate, run_tuned

distributed = pytest.importorskip("distributed")

CANDIDATES = [
    Candidate("linear", "linear", "linear", EstimatorSpec.of("qmoe", router="linear"), "moe"),
    Candidate("mlp_h4", "mlp", "mlp", EstimatorSpec.of("qmoe", router="mlp", hidden=4), "moe"),
    Candidate("logreg", "logreg", "logreg", EstimatorSpec("logreg"), "logreg"),
]
BUDGET = Budget("d/", DataSpec(n_samples=100), n_tuning_seeds=2, eval_seeds=(0, 1, 2), max_epochs=2, quick=True)
COLUMNS = ["experiment", "seed", "key", "n_correct", "test_accuracy", "train_accuracy", "n_validation_correct"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.mark.slow
def test_cluster_gives_the_local_numbers_and_a_complete_cache(cluster, tmp_path):
    local = run_tuned(CANDIDATES, BUDGET, runner(jobs=1, cache_dir=tmp_path / "local", progress=False))
    remote = run_tuned(
        CANDIDATES, BUDGET, runner(cache_dir=tmp_path / "dask", progress=False, scheduler=cluster.scheduler_address)
    )
    for a, b in ((local.tuning, remote.tuning), (local.evaluation, remote.evaluation)):
        pd.testing.assert_frame_equal(a[COLUMNS].reset_index(drop=True), b[COLUMNS].reset_index(drop=True))
    files = {p.stem for p in (tmp_path / "dask").glob("*.json")}
    assert files == set(remote.tuning["key"]) | set(remote.evaluation["key"])


@pytest.mark.slow
def test_a_killed_worker_loses_only_its_jobs(cluster, tmp_path):
    from qmoe_tfq.experiments.experiment import Experiment

    exps = [
        Experiment(
            f"k/{i}",
            EstimatorSpec.of("qmoe", router="mlp", hidden=4 + i, max_epochs=30),
            DataSpec(n_samples=200),
            "fair",
            (0, 1),
        )
        for i in range(6)
    ]
    cache = tmp_path / "cache"
    client = distributed.Client(cluster.scheduler_address)
    pids = list(client.run(os.getpid).values())

    killed = {}

    def kill_one():
        while len(list(cache.glob("*.json"))) < 1:
            time.sleep(0.1)
        killed["done_at_kill"] = len(list(cache.glob("*.json")))
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    rows = run_experiments(exps, cache_dir=cache, progress=False, scheduler=cluster.scheduler_address)
    killer.join(timeout=60)
    assert killed["done_at_kill"] < 12, "the worker was killed after the run had finished"
    assert pids[0] not in client.run(os.getpid).values()
    assert len(rows) == 12 and rows["test_accuracy"].notna().all()
    assert len(list(cache.glob("*.json"))) == 12
    client.close()

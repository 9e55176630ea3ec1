"""One worker pool shared by concurrent runner calls: the same rows as one call at a time, each run
computed once, the costliest waiting job first, and an error stops every call that waits on it."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments import runner
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.pool import SharedPool
from qmoe_tfq.experiments.registry import EstimatorSpec

COLUMNS = ["experiment", "seed", "key", "test_accuracy", "train_accuracy", "total_params"]


def sk(name="svm", seeds=(0, 1, 2), C=1.0):
    return Experiment(name, EstimatorSpec.of("rbf_svm", C=C), DataSpec(n_samples=120), "fair", seeds)


def in_threads(*calls):
    """Run the calls in threads at once; their return values, in order (an exception is returned)."""
    out = [None] * len(calls)

    def one(i, call):
        try:
            out[i] = call()
        except Exception as err:  # noqa: BLE001
            out[i] = err

    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def test_concurrent_calls_give_the_rows_of_one_call_at_a_time(tmp_path):
    a = [
        sk("a", seeds=(0, 1, 2, 3)),
        Experiment("lr", EstimatorSpec("logreg"), DataSpec(n_samples=120), "fair", (0, 1)),
    ]
    b = [sk("b", seeds=(2, 3, 4)), sk("c", C=3.0)]  # b's seeds 2 and 3 are runs of a: computed once
    serial = [runner.run_experiments(x, cache_dir=tmp_path / "serial", progress=False) for x in (a, b)]
    with SharedPool(2, progress=False) as pool:
        shared = in_threads(
            *[
                lambda x=x: runner.run_experiments(x, cache_dir=tmp_path / "pool", progress=False, pool=pool)
                for x in (a, b)
            ]
        )
        computed = pool.runs_computed
    for s, p in zip(serial, shared):
        assert s[COLUMNS].equals(p[COLUMNS])
    assert computed == len(list((tmp_path / "pool").glob("*.json"))) == 4 + 2 + 1 + 3


def fake_results(batch, _limited):
    return [(key, {"seed": seed}) for _, seed, key in batch]


def held_first_job():
    """(order of jobs run, 'first' started, release it, compute): the job keyed 'first' holds the one
    worker until released, so every job submitted meanwhile waits in the pool's queue."""
    started, release, order = threading.Event(), threading.Event(), []

    def compute(batch, limited):
        order.append(batch[0][2])
        if batch[0][2] == "first":
            started.set()
            release.wait(10)
        return fake_results(batch, limited)

    return order, started, release, compute


def test_the_costliest_waiting_job_runs_first():
    order, started, release, compute = held_first_job()
    with SharedPool(1, progress=False, executor=ThreadPoolExecutor(1), compute=compute) as pool:
        tasks = {k: (None, 0, k) for k in ("first", "cheap", "dear", "middle")}
        pool.claim(list(tasks.values()))
        futures = [pool.submit([tasks["first"]], 1.0)]
        assert started.wait(10)
        futures += [pool.submit([tasks[k]], cost) for k, cost in (("cheap", 1.0), ("dear", 9.0), ("middle", 5.0))]
        release.set()
        assert [f.result(10) for f in futures][1] == [("cheap", {"seed": 0})]
    assert order == ["first", "dear", "middle", "cheap"]


def test_a_lower_priority_thread_waits_for_the_higher_ones_jobs():
    order, started, release, compute = held_first_job()
    with SharedPool(1, progress=False, executor=ThreadPoolExecutor(1), compute=compute) as pool:
        tasks = {k: (None, 0, k) for k in ("first", "later study", "this study")}
        pool.claim(list(tasks.values()))
        futures = [pool.submit([tasks["first"]], 1.0)]
        assert started.wait(10)

        def later():
            pool.set_priority(1)
            futures.append(pool.submit([tasks["later study"]], 100.0))

        in_threads(later)
        futures.append(pool.submit([tasks["this study"]], 1.0))
        release.set()
        for f in futures:
            f.result(10)
    assert order == ["first", "this study", "later study"]


def test_a_run_claimed_by_another_call_is_waited_for_not_recomputed():
    with SharedPool(2, progress=False, executor=ThreadPoolExecutor(2), compute=fake_results) as pool:
        task = (None, 7, "k")
        mine, theirs = pool.claim([task])
        again, waiting = pool.claim([task])
        assert mine == [task] and theirs == {} and again == [] and set(waiting) == {"k"}
        pool.submit(mine, 1.0)
        assert waiting["k"].result(10) == {"seed": 7}
        assert pool.runs_computed == 1


def test_a_failed_job_raises_in_every_call_waiting_for_it(tmp_path):
    def broken(batch, limited):
        raise RuntimeError("job exploded")

    with pytest.raises(RuntimeError, match="job exploded"):
        with SharedPool(2, progress=False, executor=ThreadPoolExecutor(2), compute=broken) as pool:
            out = in_threads(
                *[lambda: runner.run_experiments([sk()], cache_dir=tmp_path, progress=False, pool=pool)] * 2
            )
            assert all(isinstance(o, RuntimeError) for o in out)
            raise out[0]
    assert not list(tmp_path.glob("*.json"))


def test_pool_needs_a_worker():
    with pytest.raises(ValueError, match="jobs=0"):
        SharedPool(0)


def test_side_by_side_studies_merge_their_choices_in_study_order_and_stop_on_an_error(tmp_path, monkeypatch):
    from qmoe_tfq import studies
    from qmoe_tfq.publish import paper

    def results(name, settings, pool=None):
        if name == "bad":
            raise ValueError("study bad failed")
        runner.run_experiments([sk(name)], cache_dir=settings.cache_dir, progress=False, pool=pool)
        return SimpleNamespace(chosen={"shared": name, name: 1})

    monkeypatch.setattr(studies, "study_results", results)
    settings = SimpleNamespace(quick=True, jobs=2, cache_dir=tmp_path)
    lines = []
    chosen = paper.warm_cache(settings, ["one", "two"], lines.append)
    assert chosen == {"shared": "two", "one": 1, "two": 1}  # as one after another would merge them
    assert sorted(line.split()[1] for line in lines) == ["one", "two"]
    with pytest.raises(ValueError, match="study bad failed"):
        paper.warm_cache(settings, ["one", "bad"], lines.append)

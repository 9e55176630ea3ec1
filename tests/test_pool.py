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


def pool_of(jobs, compute, affinity=lambda job: None):
    """A pool of ``jobs`` one-thread workers running ``compute`` (no process, no TensorFlow)."""
    workers = [ThreadPoolExecutor(1) for _ in range(jobs)]
    return SharedPool(jobs, progress=False, executors=workers, compute=compute, affinity=affinity)


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
    with pool_of(1, compute) as pool:
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
    with pool_of(1, compute) as pool:
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
    with pool_of(2, fake_results) as pool:
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
        with pool_of(2, broken) as pool:
            out = in_threads(
                *[lambda: runner.run_experiments([sk()], cache_dir=tmp_path, progress=False, pool=pool)] * 2
            )
            assert all(isinstance(o, RuntimeError) for o in out)
            raise out[0]
    assert not list(tmp_path.glob("*.json"))


def test_a_free_worker_takes_the_stack_it_traced_then_one_nobody_traced_then_the_first_in_line():
    """Worker 0 holds a job of stack A, worker 1 one of stack B; released, worker 1 takes B's next
    job before a costlier one, then the jobs no worker traced (C, then the one without a stack), and
    A's job last, as nothing else is left."""
    order, hold = [], {k: threading.Event() for k in ("a-hold", "b-hold")}
    started = {k: threading.Event() for k in hold}

    def compute(batch, limited):
        name = batch[0][2]
        order.append(name)
        if name in hold:
            started[name].set()
            hold[name].wait(10)
        return fake_results(batch, limited)

    stack = {"a-hold": "A", "a2": "A", "b-hold": "B", "b2": "B", "c": "C", "n": None}
    with pool_of(2, compute, affinity=lambda job: stack[job[0][2]]) as pool:
        tasks = {k: (None, 0, k) for k in stack}
        pool.claim(list(tasks.values()))
        futures = [pool.submit([tasks["a-hold"]], 10.0), pool.submit([tasks["b-hold"]], 10.0)]
        assert all(e.wait(10) for e in started.values())
        futures += [pool.submit([tasks[k]], cost) for k, cost in (("a2", 1.0), ("b2", 1.0), ("c", 5.0), ("n", 0.5))]
        hold["b-hold"].set()
        futures[2].result(10)  # a2: worker 1's last
        hold["a-hold"].set()
        for f in futures:
            f.result(10)
        reused = pool.reused
    assert order == ["a-hold", "b-hold", "b2", "c", "n", "a2"]
    assert reused == 1


def test_a_jobs_affinity_is_its_stack_and_lanes():
    moe = Experiment("q", EstimatorSpec.of("qmoe", router="quantum"), DataSpec(n_samples=40), "fair", tuple(range(24)))
    job = [(moe, s, f"k{s}") for s in moe.seeds]
    assert runner.job_affinity(job[:10]) == runner.job_affinity(job[:16]) != runner.job_affinity(job[:17])
    assert runner.job_affinity(job[:10])[0] == runner.stack_key(moe)
    assert runner.job_affinity([(sk(), 0, "k")]) is None


def test_pool_needs_a_worker_and_one_executor_each():
    with pytest.raises(ValueError, match="jobs=0"):
        SharedPool(0)
    with pytest.raises(ValueError, match="one executor per worker: jobs=2, 1 executors"):
        SharedPool(2, executors=[ThreadPoolExecutor(1)])


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

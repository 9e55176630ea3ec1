"""The experiment runner caches by config hash, resumes after interruption, and never trusts a bad entry."""

import json

import pytest

from qmoe_tfq.core.machine import cpu
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments import runner
from qmoe_tfq.experiments.experiment import Experiment, config_key
from qmoe_tfq.experiments.probes import DecisionGrid
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe


def sk(name="svm", seeds=(0, 1, 2), C=1.0):
    return Experiment(name, EstimatorSpec.of("rbf_svm", C=C), DataSpec(n_samples=120), "fair", seeds)


def forbid_compute(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the runner recomputed a cached run")

    monkeypatch.setattr(runner, "run_one", boom)


def test_results_are_cached_and_reused(tmp_path, monkeypatch):
    first = runner.run_experiments([sk()], cache_dir=tmp_path, progress=False)
    assert len(first) == 3 and len(list(tmp_path.glob("*.json"))) == 3
    forbid_compute(monkeypatch)
    again = runner.run_experiments([sk()], cache_dir=tmp_path, progress=False)
    assert again.equals(first)


def test_key_depends_on_config_and_seed_not_name():
    assert config_key(sk("a"), 0) == config_key(sk("b"), 0)
    assert config_key(sk(), 0) != config_key(sk(), 1)
    assert config_key(sk(C=1.0), 0) != config_key(sk(C=2.0), 0)
    moe = Experiment("m", qmoe(router="linear", max_epochs=3), DataSpec(), "fair", (0,))
    assert config_key(moe, 0) != config_key(
        Experiment("m", qmoe(router="linear", max_epochs=4), DataSpec(), "fair", (0,)), 0
    )
    assert config_key(moe, 0) != config_key(
        Experiment("m", qmoe(router="linear", max_epochs=3), DataSpec(), "fair", (0,), probes=(DecisionGrid(8),)), 0
    )
    tagged = Experiment("m", qmoe(router="linear", max_epochs=3), DataSpec(), "fair", (0,), tags={"model_id": "x"})
    assert config_key(moe, 0) == config_key(tagged, 0)


@pytest.mark.parametrize(
    "damage", ["truncate", "garbage", "tamper", "wrong_key", "config", "seed", "schema", "provenance", "no_checksum"]
)
def test_corrupted_entry_is_reported_and_recomputed(tmp_path, damage):
    exp = sk(seeds=(0,))
    first = runner.run_experiments([exp], cache_dir=tmp_path, progress=False)
    path = tmp_path / f"{config_key(exp, 0)}.json"
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "tamper":
        entry = json.loads(text)
        entry["result"]["test_accuracy"] = 1.0
        path.write_text(json.dumps(entry))
    elif damage == "wrong_key":
        entry = json.loads(text)
        entry["key"] = "0" * 24
        path.write_text(json.dumps(entry))
    else:  # every stored field is covered by the checksum
        entry = json.loads(text)
        if damage == "config":
            entry["config"]["data"] = {**entry["config"]["data"], "noise": 0.3}
        elif damage == "seed":
            entry["seed"] = 7
        elif damage == "schema":
            entry["schema"] += 1
        elif damage == "provenance":
            entry["provenance"] = {"commit": "f" * 40, "dirty": False}
        else:
            del entry["sha256"]
        path.write_text(json.dumps(entry))
    with pytest.warns(UserWarning, match="corrupted cache entry"):
        again = runner.run_experiments([exp], cache_dir=tmp_path, progress=False)
    assert again["test_accuracy"].tolist() == first["test_accuracy"].tolist()
    runner.read_entry(path, config_key(exp, 0))


def test_interrupted_run_keeps_finished_runs_and_resumes(tmp_path, monkeypatch):
    calls = []
    real = runner.run_one

    def flaky(experiment, seed):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(seed)
        return real(experiment, seed)

    monkeypatch.setattr(runner, "run_one", flaky)
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiments([sk()], cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert not list(tmp_path.glob(".*.tmp")), "a temp file was left behind"
    monkeypatch.setattr(runner, "run_one", real)
    rows = runner.run_experiments([sk()], cache_dir=tmp_path, progress=False)
    assert rows["seed"].tolist() == [0, 1, 2]


def test_parallel_rows_equal_serial_rows(tmp_path):
    exps = [
        sk("a", seeds=(0, 1, 2, 3)),
        Experiment("lr", EstimatorSpec("logreg"), DataSpec(n_samples=120), "fair", (0, 1)),
    ]
    serial = runner.run_experiments(exps, cache_dir=tmp_path / "s", progress=False)
    parallel = runner.run_experiments(exps, jobs=2, cache_dir=tmp_path / "p", progress=False)
    cols = ["experiment", "seed", "test_accuracy", "train_accuracy", "total_params"]
    assert serial[cols].equals(parallel[cols])


def test_duplicate_experiment_names_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        runner.run_experiments([sk("x"), sk("x", C=2.0)], cache_dir=tmp_path, progress=False)


def test_moe_run_records_losses_and_grid(tmp_path):
    exp = Experiment(
        "lin", qmoe(router="linear", max_epochs=2), DataSpec(n_samples=100), "fair", (0,), probes=(DecisionGrid(8),)
    )
    row = runner.run_experiments([exp], cache_dir=tmp_path, progress=False).iloc[0]
    assert len(row["epoch_losses"]) == 2
    assert len(row["grid_predictions"]) == 64 and set(row["grid_predictions"]) <= {"0", "1"}
    assert (row["router_params"], row["expert_params"]) == (6, 12)


def test_entries_record_schema_and_provenance_under_the_checksum(tmp_path):
    from qmoe_tfq.experiments.experiment import RESULTS_SCHEMA

    exp = sk(seeds=(0,))
    runner.run_experiments([exp], cache_dir=tmp_path, progress=False)
    key = config_key(exp, 0)
    entry = json.loads((tmp_path / f"{key}.json").read_text())
    assert set(entry) == {*runner.ENTRY_FIELDS, "sha256"}
    assert entry["schema"] == RESULTS_SCHEMA and entry["seed"] == 0
    assert entry["provenance"] == runner.current_provenance()
    assert set(entry["provenance"]) == {"commit", "dirty", "cpu"}
    assert entry["provenance"]["cpu"] == cpu()["model"]
    commit = entry["provenance"]["commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)


def test_an_entry_from_before_provenance_is_recomputed(tmp_path):
    exp = sk(seeds=(0, 1))
    first = runner.run_experiments([exp], cache_dir=tmp_path, progress=False)
    for seed in (0, 1):  # the format before: a checksum of the result only, no schema or provenance
        path = tmp_path / f"{config_key(exp, seed)}.json"
        entry = json.loads(path.read_text())
        del entry["schema"], entry["provenance"]
        path.write_text(json.dumps(entry))
    with pytest.warns(UserWarning, match="2 cache entries .* written by an older version"):
        again = runner.run_experiments([exp], cache_dir=tmp_path, progress=False)
    assert again["test_accuracy"].tolist() == first["test_accuracy"].tolist()
    assert "provenance" in json.loads((tmp_path / f"{config_key(exp, 0)}.json").read_text())


def test_provenance_of_counts_runs_per_commit(tmp_path):
    exps = [sk("a", seeds=(0, 1, 2)), sk("b", seeds=(0, 1), C=2.0)]
    runner.run_experiments(exps, cache_dir=tmp_path, progress=False)
    keys = [config_key(e, s) for e in exps for s in e.seeds]
    here = runner.current_provenance()
    assert runner.provenance_of(keys, tmp_path) == [{**here, "runs": 5}]
    old = {"commit": "a" * 40, "dirty": True}
    for seed in (0, 1):  # two runs recomputed by another commit
        exp = exps[1]
        path = tmp_path / f"{config_key(exp, seed)}.json"
        result = runner.read_entry(path, config_key(exp, seed))
        runner.write_entry(path, config_key(exp, seed), exp, seed, result, provenance=old)
    keys_plus_missing = [*keys, keys[0], "0" * 24]  # repeated and uncached keys are not counted
    # an entry from before the processor was recorded reads as cpu None
    assert runner.provenance_of(keys_plus_missing, tmp_path) == [{**here, "runs": 3}, {**old, "cpu": None, "runs": 2}]
    other = {**here, "cpu": "Another CPU"}  # the same commit on another processor is its own line
    path = tmp_path / f"{config_key(exps[0], 0)}.json"
    runner.write_entry(path, keys[0], exps[0], 0, runner.read_entry(path, keys[0]), provenance=other)
    counted = runner.provenance_of(keys, tmp_path)
    assert counted[2] == {**other, "runs": 1}  # fewest runs last; ties ordered by commit
    assert sorted(counted[:2], key=str) == sorted([{**here, "runs": 2}, {**old, "cpu": None, "runs": 2}], key=str)
    assert runner.provenance_of([], tmp_path) == []


def test_a_fully_cached_call_says_so(tmp_path, capsys):
    runner.run_experiments([sk()], cache_dir=tmp_path, progress=False)
    runner.run_experiments([sk()], cache_dir=tmp_path, progress=True, desc="two_moons tuning")
    assert "two_moons tuning: 3 runs, all from the cache\n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("n_runs", "jobs", "sizes"),
    [
        (24, 2, [16, 8]),  # was four jobs of 6: 64 lanes for 24 runs
        (10, 2, [10]),  # never below one block of lanes
        (48, 1, [32, 16]),  # two jobs per worker (was 24 + 24: 64 lanes)
        (150, 1, [64, 64, 22]),  # at most MAX_JOB each
        (3, 4, [3]),
    ],
)
def test_a_group_is_split_in_whole_blocks_of_lanes(n_runs, jobs, sizes):
    from qmoe_tfq.training.lanes import LANES

    exp = Experiment("q", qmoe(router="linear", max_epochs=5), DataSpec(n_samples=40), "fair", tuple(range(n_runs)))
    planned = runner.plan_jobs([(exp, s, f"k{s}") for s in exp.seeds], jobs)
    assert sorted(map(len, planned), reverse=True) == sizes
    assert all(len(job) % LANES == 0 for job in sorted(planned, key=len, reverse=True)[:-1])
    assert sorted(s for job in planned for _, s, _ in job) == list(range(n_runs))

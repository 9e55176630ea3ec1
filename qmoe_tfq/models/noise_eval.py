"""Stage: models. The *deploy* protocol: one trained model's router evaluated under depolarizing noise.

``with_noise(model, eps, ...)`` copies a trained model's weights into a router run under noise.
``evaluate_under_noise`` measures a trained model over a grid of noise levels:

* ``exact``: ``exact_noise_sweep`` evaluates the router over every eps of a placement in one call of
  one density-matrix engine, with eps as a per-row input (``noise_placement.SymbolicDepolarize``)
  rather than a compiled constant, and interpolates the readout exactly from the 3^d embedding grid
  (``routers.interpolation_weights``; exact under noise, see there), so a whole sweep costs
  (number of eps) x 3^d density-matrix rows instead of one circuit per point and eps. The engine is
  compiled once per process and circuit shape.
* ``tfq_sampled``: per eps, the weights are copied into a router run on TFQ's trajectories
  (``deployed`` builds each noisy model once per process and reloads weights later); its circuit
  outputs are read once and the forward pass finished from them. The trajectories are checked
  against the exact engine on the same model:

* ``max_output_deviation``: max |z_sampled - z_exact| over every point and readout. Each readout is
  a +-1-valued Pauli average over R >= ``repetitions`` trajectories, so its standard error is at most
  1/sqrt(R); ``sampled_tolerance`` is 5 of those (a correct engine exceeds it with probability ~6e-7
  per value).
* ``disagreement``: fraction of points whose sampled prediction differs from the exact one.
* ``fragile``: fraction of points whose exact prediction changes somewhere in the box
  z_exact +- tolerance (checked at its corners; exact for the adapter readout with two experts,
  where the gate is monotone in one linear form of z). While every output is within tolerance,
  only fragile points can change, so ``disagreement <= fragile`` and the sampled accuracy is within
  ``fragile`` of the exact one.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.noise import NOISE_SYMBOL, noisy_circuit
from qmoe_tfq.circuits.router import readout_observables, router_circuit
from qmoe_tfq.models.mixture import MixtureOfExperts
from qmoe_tfq.models.ops import softmax
from qmoe_tfq.models.routers.quantum import interpolation_grid, interpolation_weights
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation

TOLERANCE_SIGMAS = 5.0
MAX_CORNER_OUTPUTS = 10
# Density-matrix coefficients per engine call in a sweep (rows x 4^n): bounds its memory (128 MB in
# float64).
MAX_SWEEP_COEFFICIENTS = 2**24
# Noisy routers already built in this process, by (spec, n_features, n_classes): the circuit and its
# engine do not depend on the weights, so each later seed only loads its weights into them.
_BUILT: dict[tuple, MixtureOfExperts] = {}


def sampled_tolerance(repetitions: int) -> float:
    """Per-value tolerance of a trajectory estimate of a +-1 Pauli observable: 5 / sqrt(R)."""
    return TOLERANCE_SIGMAS / math.sqrt(repetitions)


def with_noise(
    model: MixtureOfExperts,
    noise: float,
    placement: str = "authors",
    engine: str = "exact",
    repetitions: int = 1000,
) -> MixtureOfExperts:
    """A copy of ``model`` with the same weights whose router runs under ``noise`` (the "deploy"
    protocol: train noiseless, evaluate under noise). Classical routers are copied unchanged."""
    spec = dataclasses.replace(
        model.spec, noise=noise, noise_placement=placement, engine=engine, repetitions=repetitions
    )
    _, n_features, n_classes = model.experts.kernel.shape
    copy = MixtureOfExperts(spec, int(n_features), int(n_classes), seed=0)
    copy.set_weights(model.get_weights())
    return copy


@functools.lru_cache(maxsize=32)
def sweep_engine(
    n_features: int, n_qubits: int, layers: int, ansatz: str, readout: str, placement: str
) -> DensityMatrixExpectation:
    """The density-matrix engine of the router circuit under ``placement`` with the depolarizing
    probability as its first symbol (``NOISE_SYMBOL``), then the circuit's symbols; built once per
    process and shape."""
    rc = router_circuit(n_features, n_qubits, layers, ansatz)
    names = [NOISE_SYMBOL.name] + [s.name for s in rc.symbols]
    return DensityMatrixExpectation(
        noisy_circuit(rc, NOISE_SYMBOL, placement), names, readout_observables(rc.qubits, readout), qubits=rc.qubits
    )


def exact_noise_sweep(model: MixtureOfExperts, x: np.ndarray, noise: Sequence[float], placement: str) -> np.ndarray:
    """Exact circuit outputs (len(noise), rows, width) of ``model``'s router on ``x`` under each
    depolarizing probability in ``noise`` placed as ``placement`` (module docstring). Rows are
    interpolated from the 3^d embedding grid when the router would interpolate them
    (``QuantumRouter.interpolates_batch``)."""
    router = model.router
    spec = router.spec
    d = len(router.rc.input_symbols)
    engine = sweep_engine(d, router.n_qubits, spec.layers, spec.ansatz, spec.readout, placement)
    x = np.asarray(x, np.float32)
    interpolate = router.interpolates_batch(len(x))
    points = interpolation_grid(d) if interpolate else x
    theta = router.theta.numpy()
    eps = np.repeat(np.asarray(noise, np.float32), len(points))[:, None]
    values = np.concatenate([eps, np.tile(points, (len(noise), 1)), np.tile(theta, (len(eps), 1))], axis=1)
    chunk = max(1, MAX_SWEEP_COEFFICIENTS // 4**router.n_qubits)
    e = tf.concat([engine(values[s : s + chunk]) for s in range(0, len(values), chunk)], axis=0)
    e = tf.reshape(e, [len(noise), len(points), -1])
    if interpolate:
        e = tf.einsum("bg,egk->ebk", interpolation_weights(tf.constant(x)), e)
    out = router.readout(tf.reshape(e, [len(noise) * len(x), -1]))
    return tf.reshape(out, [len(noise), len(x), -1]).numpy()


def logits_from_outputs(model: MixtureOfExperts, x: tf.Tensor, outputs: tf.Tensor) -> np.ndarray:
    """Class logits of ``model`` given its router's circuit outputs (the rest of ``model(x)``)."""
    router = model.router
    gates = outputs if router.adapter is None else softmax(router.adapter(outputs))
    return tf.einsum("be,bec->bc", gates, model.experts(x)).numpy()


def fragile_fraction(model: MixtureOfExperts, x: tf.Tensor, outputs: np.ndarray, tolerance: float) -> float:
    """Fraction of points whose prediction is not the same at every corner of outputs +- tolerance."""
    k = outputs.shape[1]
    if k > MAX_CORNER_OUTPUTS:
        return math.nan
    base = np.argmax(logits_from_outputs(model, x, tf.constant(outputs)), axis=1)
    fragile = np.zeros(len(outputs), dtype=bool)
    for signs in itertools.product((-1.0, 1.0), repeat=k):
        corner = (outputs + tolerance * np.array(signs)).astype(np.float32)
        fragile |= np.argmax(logits_from_outputs(model, x, tf.constant(corner)), axis=1) != base
    return float(fragile.mean())


def deployed(model: MixtureOfExperts, eps: float, placement: str, engine: str, repetitions: int) -> MixtureOfExperts:
    """``with_noise(model, ...)``, building each noisy model once per process and setting and
    giving it ``model``'s weights on every later call (same numbers, no recompilation)."""
    spec = dataclasses.replace(model.spec, noise=eps, noise_placement=placement, engine=engine, repetitions=repetitions)
    _, n_features, n_classes = model.experts.kernel.shape
    key = (spec, int(n_features), int(n_classes))
    if key in _BUILT:
        _BUILT[key].set_weights(model.get_weights())
    else:
        _BUILT[key] = with_noise(model, eps, placement, engine, repetitions)
    return _BUILT[key]


def _evaluate(
    model: MixtureOfExperts, x: tf.Tensor, eps: float, placement: str, engine: str, repetitions: int
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(circuit outputs, predictions, build seconds, total seconds) of ``model`` deployed under one
    noise setting; building (``deployed``) compiles the engine the first time in a process, and
    later only loads the weights."""
    start = time.perf_counter()
    noisy = deployed(model, eps, placement, engine, repetitions)
    built = time.perf_counter()
    outputs = noisy.router.circuit_outputs(x)
    pred = np.argmax(logits_from_outputs(noisy, x, outputs), axis=1)
    return outputs.numpy(), pred, built - start, time.perf_counter() - start


def evaluate_under_noise(
    model: MixtureOfExperts,
    x: np.ndarray,
    y: np.ndarray,
    noise: Sequence[float],
    placements: Sequence[str],
    engines: Sequence[str],
    repetitions: int,
    split: str = "test",
) -> list[dict]:
    """One record per (placement, eps, engine): accuracy on ``x, y``, wall seconds (router built and
    evaluated; ``build_seconds`` of them building it), and for ``tfq_sampled`` the agreement with the
    exact engine (module docstring). The exact engine evaluates all eps of a placement in one call:
    that call's time, and the engine's build the first time in a process, are split evenly over
    its eps records."""
    xt = tf.constant(x, tf.float32)
    noise = [float(eps) for eps in noise]
    records = []
    for placement in placements:
        start = time.perf_counter()
        cold = sweep_engine.cache_info().currsize
        exact_outputs = exact_noise_sweep(model, x, noise, placement)
        built = (time.perf_counter() - start) if sweep_engine.cache_info().currsize > cold else 0.0
        share = (time.perf_counter() - start) / len(noise)
        for i, eps in enumerate(noise):
            begin = time.perf_counter()
            exact_pred = np.argmax(logits_from_outputs(model, xt, tf.constant(exact_outputs[i])), axis=1)
            exact = (exact_outputs[i], exact_pred)
            for engine in sorted(engines):  # "exact" first, as the records always listed them
                record = {"placement": placement, "noise": eps, "engine": engine, "split": split}
                if engine == "exact":
                    record.update(
                        accuracy=float(np.mean(exact_pred == y)),
                        seconds=share + time.perf_counter() - begin,
                        build_seconds=built / len(noise),
                    )
                else:
                    outputs, pred, build, seconds = _evaluate(model, xt, eps, placement, engine, repetitions)
                    tol = sampled_tolerance(repetitions)
                    record.update(
                        {
                            "accuracy": float(np.mean(pred == y)),
                            "seconds": seconds,
                            "build_seconds": build,
                            "repetitions": int(repetitions),
                            "tolerance": tol,
                            "max_output_deviation": float(np.abs(outputs - exact[0]).max()),
                            "disagreement": float(np.mean(pred != exact[1])),
                            "fragile": fragile_fraction(model, xt, exact[0], tol),
                        }
                    )
                records.append(record)
    return records


__all__ = [
    "deployed",
    "evaluate_under_noise",
    "exact_noise_sweep",
    "fragile_fraction",
    "logits_from_outputs",
    "sampled_tolerance",
    "sweep_engine",
    "with_noise",
]

"""The *deploy* protocol: one trained model's router evaluated under depolarizing noise.

``evaluate_under_noise`` copies the trained weights into a router run under each (placement, eps,
engine) (``noise.with_noise``; ``deployed`` builds each noisy model once per process and reloads
weights later), reads the circuit outputs once and finishes the forward pass from them, so each
setting costs one circuit evaluation of the whole split. For the ``tfq_sampled`` engine
it also checks the trajectories against the exact engine on the same model:

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

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from qmoe_tfq.model import MixtureOfExperts
from qmoe_tfq.noise import with_noise

TOLERANCE_SIGMAS = 5.0
MAX_CORNER_OUTPUTS = 10
# Noisy routers already built in this process, by (spec, n_features, n_classes): the circuit and its
# engine do not depend on the weights, so each later seed only loads its weights into them.
_BUILT: dict[tuple, MixtureOfExperts] = {}


def sampled_tolerance(repetitions: int) -> float:
    """Per-value tolerance of a trajectory estimate of a +-1 Pauli observable: 5 / sqrt(R)."""
    return TOLERANCE_SIGMAS / math.sqrt(repetitions)


def logits_from_outputs(model: MixtureOfExperts, x: tf.Tensor, outputs: tf.Tensor) -> np.ndarray:
    """Class logits of ``model`` given its router's circuit outputs (the rest of ``model(x)``)."""
    router = model.router
    gates = outputs if router.adapter is None else tf.nn.softmax(router.adapter(outputs))
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


def deployed(model: MixtureOfExperts, eps: float, placement: str, engine: str,
             repetitions: int) -> MixtureOfExperts:
    """``noise.with_noise(model, ...)``, building each noisy model once per process and setting and
    giving it ``model``'s weights on every later call (same numbers, no recompilation)."""
    spec = dataclasses.replace(model.spec, noise=eps, noise_placement=placement, engine=engine,
                               repetitions=repetitions)
    _, n_features, n_classes = model.experts.kernel.shape
    key = (spec, int(n_features), int(n_classes))
    if key in _BUILT:
        _BUILT[key].set_weights(model.get_weights())
    else:
        _BUILT[key] = with_noise(model, eps, placement, engine, repetitions)
    return _BUILT[key]


def _evaluate(model: MixtureOfExperts, x: tf.Tensor, eps: float, placement: str, engine: str,
              repetitions: int) -> tuple[np.ndarray, np.ndarray, float, float]:
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
    exact engine (module docstring)."""
    xt = tf.constant(x, tf.float32)
    records = []
    for placement in placements:
        for eps in noise:
            exact = None
            for engine in sorted(engines):  # "exact" first: the sampled checks compare against it
                outputs, pred, build, seconds = _evaluate(model, xt, eps, placement, engine, repetitions)
                record = {"placement": placement, "noise": float(eps), "engine": engine, "split": split,
                          "accuracy": float(np.mean(pred == y)), "seconds": seconds, "build_seconds": build}
                if engine == "exact":
                    exact = (outputs, pred)
                else:
                    if exact is None:
                        exact = _evaluate(model, xt, eps, placement, "exact", repetitions)[:2]
                    tol = sampled_tolerance(repetitions)
                    record.update({
                        "repetitions": int(repetitions),
                        "tolerance": tol,
                        "max_output_deviation": float(np.abs(outputs - exact[0]).max()),
                        "disagreement": float(np.mean(pred != exact[1])),
                        "fragile": fragile_fraction(model, xt, exact[0], tol),
                    })
                records.append(record)
    return records


__all__ = ["deployed", "evaluate_under_noise", "fragile_fraction", "logits_from_outputs", "sampled_tolerance"]

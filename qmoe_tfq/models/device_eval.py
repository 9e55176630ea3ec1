"""Stage: models. The deploy protocol on a real processor's calibrated noise, exactly and with finite shots.

``evaluate_on_devices(model, x, y, ...)`` takes a trained mixture whose router is the quantum
router with the <Z_i> + adapter readout and, for each processor of ``circuits.device.PROCESSORS``:

1. compiles its trained circuit to the processor (``compile_router``: placement, routing, native
   sqrt-iSWAP gates) and checks it against the abstract circuit without noise
   (``equivalence_error``: 1 - |overlap| of the state vectors on ``check_points`` test inputs);
2. evaluates it exactly under the processor's noise model (``sim.heisenberg``: every <Z_i> as a
   trigonometric polynomial in the inputs, found once per model; on up to 4 qubits also checked
   against ``cirq.DensityMatrixSimulator`` on one input, ``dm_check_deviation``), then

   * ``readout``: with the calibrated readout error (<Z> -> (1 - e0 - e1) <Z> + e1 - e0), and
   * ``mitigated``: that readout error inverted by the calibrated confusion matrix (exactly the
     values without readout error when evaluated exactly);
3. estimates each <Z_i> from S shots per input: the number of 1s read on qubit i is binomial
   (S, (1 - <Z_i>_readout) / 2), drawn by a numpy Generator seeded from (seed, processor, S, draw);
   ``draws`` independent draws per S. The qubits' counts are drawn independently: each <Z_i>
   estimate has its exact distribution, but the correlation between qubits within one shot is
   ignored (the gates read a linear form of the <Z_i>, whose variance this changes slightly).
   Mitigation applies the same inversion to the estimates (no clipping).

With the abstract depolarizing model (``models.noise_eval.exact_noise_sweep``, no readout error),
the same shot estimates are taken at each eps of ``noise`` (``processor = "depolarizing/<placement>"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import cirq
import numpy as np
import sympy
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits import device as dev
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.models.mixture import MixtureOfExperts
from qmoe_tfq.models.noise_eval import exact_noise_sweep, logits_from_outputs
from qmoe_tfq.sim import heisenberg

SETTINGS = ("readout", "mitigated")
MAX_DM_CHECK_QUBITS = 4


def check_router(model: MixtureOfExperts) -> None:
    """Raise ``ConfigError`` unless ``model``'s router is the quantum router with the <Z> + adapter
    readout and one input feature per qubit (what device evaluation supports)."""
    router = model.router
    spec = getattr(router, "spec", None)
    if spec is None or spec.router != "quantum":
        raise ConfigError("device evaluation applies to quantum routers only")
    if spec.readout != "expectation":
        raise ConfigError(f"device evaluation supports the <Z> + adapter readout only, got readout={spec.readout!r}")
    if len(router.rc.input_symbols) != router.n_qubits:
        raise ConfigError("device evaluation needs one input feature per qubit")


def predictions(model: MixtureOfExperts, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Argmax class of ``model`` on ``x`` given its router's <Z_i> values ``z`` (rows, n)."""
    logits = logits_from_outputs(model, tf.constant(x, tf.float32), tf.constant(np.asarray(z, np.float32)))
    return np.argmax(logits, axis=1)


def sample_z(z: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """<Z> estimated from ``shots`` measurements per value: 1 - 2 k / S with k ~ Binomial(S, (1 - z) / 2)."""
    if shots < 1:
        raise ConfigError(f"shots must be a positive integer, got {shots!r}")
    p1 = np.clip((1.0 - np.asarray(z, float)) / 2.0, 0.0, 1.0)
    return 1.0 - 2.0 * rng.binomial(shots, p1) / shots


def mitigate(z: np.ndarray, slope: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Invert the per-qubit confusion matrix on <Z>: (z - (e1 - e0)) / (1 - e0 - e1)."""
    slope = np.asarray(slope, float)
    if np.any(np.abs(slope) < 1e-9):
        raise ConfigError("readout error of 50% on some qubit: the confusion matrix is not invertible")
    return (np.asarray(z, float) - offset) / slope


def confusion_matrix(e0: float, e1: float) -> np.ndarray:
    """Single-qubit confusion matrix M[read, prepared] for P(read 1 | 0) = e0, P(read 0 | 1) = e1."""
    return np.array([[1.0 - e0, e1], [e0, 1.0 - e1]])


def mitigate_distribution(p_read: np.ndarray, errors: Sequence[tuple[float, float]]) -> np.ndarray:
    """The standard tensor-product confusion-matrix inversion of a measured bitstring distribution
    over n qubits (qubit 0 most significant), per-qubit errors (e0, e1)."""
    m = np.ones((1, 1))
    for e0, e1 in errors:
        m = np.kron(m, confusion_matrix(e0, e1))
    return np.linalg.solve(m, np.asarray(p_read, float))


def _seed(seed: int, processor: str, shots: int, draw: int) -> np.random.Generator:
    tag = int.from_bytes(processor.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), tag, int(shots), int(draw)]))


def _shot_records(model, x, y, z_read, slope, offset, shots, draws, seed, processor, noise=None) -> list[dict]:
    # Every draw's estimates (and their mitigated versions) are classified in one batched call.
    settings = ["readout"] + (["mitigated"] if slope is not None else [])
    estimates = []
    for s in shots:
        for r in range(draws):
            zhat = sample_z(z_read, s, _seed(seed, f"{processor}/{noise}", s, r))
            estimates.append(zhat)
            if slope is not None:
                estimates.append(mitigate(zhat, slope, offset))
    if not estimates:
        return []
    pred = predictions(model, np.tile(x, (len(estimates), 1)), np.concatenate(estimates))
    correct = np.mean(pred.reshape(len(shots), draws, len(settings), len(x)) == y, axis=-1)
    out = []
    for i, s in enumerate(shots):
        acc = {setting: list(correct[i, :, j]) for j, setting in enumerate(settings)}
        for setting, values in acc.items():
            if values:
                out.append(
                    {
                        "processor": processor,
                        "setting": setting,
                        "noise": noise,
                        "shots": int(s),
                        "accuracy": float(np.mean(values)),
                        "accuracy_sd": float(np.std(values)),
                        "draws": int(draws),
                    }
                )
    return out


def dm_check(noisy: cirq.Circuit, compiled: dev.CompiledRouter, x: np.ndarray, z: np.ndarray) -> float:
    """Largest |<Z_i>| difference between ``z`` (one input) and cirq's density-matrix simulator on the
    same noisy circuit with RX(x) in the embedding slots."""
    return float(np.max(np.abs(dm_readouts(noisy, compiled, x) - z)))


def dm_readouts(noisy: cirq.Circuit, compiled: dev.CompiledRouter, x: np.ndarray) -> np.ndarray:
    """<Z_i> of the readout qubits by ``cirq.DensityMatrixSimulator`` (complex128) on the noisy
    compiled circuit with RX(x) in the embedding slots: the independent reference for one input."""
    ops = [
        cirq.rx(float(x[compiled.physical.index(op.qubits[0])])).on(op.qubits[0])
        if dev.EMBEDDING_TAG in op.tags
        else op
        for op in noisy.all_operations()
    ]
    qs = sorted(compiled.placed)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(cirq.Circuit(ops), qubit_order=qs)
    rho = rho.final_density_matrix
    return np.array([np.real(np.trace(rho @ cirq.PauliString({q: cirq.Z}).matrix(qs))) for q in compiled.readout])


def placed_inputs(compiled: dev.CompiledRouter, x: np.ndarray) -> np.ndarray:
    """``x`` (rows, n; logical order) as the inputs of the sorted placed qubits (``sorted(compiled.placed)``)."""
    qs = sorted(compiled.placed)
    x = np.atleast_2d(np.asarray(x, float))
    xq = np.zeros((len(x), len(qs)))
    for i, p in enumerate(compiled.physical):
        xq[:, qs.index(p)] = x[:, i]
    return xq


def exact_z(noisy: cirq.Circuit, compiled: dev.CompiledRouter, x: np.ndarray) -> np.ndarray:
    """Exact <Z_i> (rows, n; readout order) of a noisy version of ``compiled`` at the rows of ``x``."""
    qs = sorted(compiled.placed)
    coefficients = heisenberg.fourier_coefficients(
        noisy, qs, [qs.index(q) for q in compiled.readout], dev.EMBEDDING_TAG
    )
    return heisenberg.evaluate(coefficients, placed_inputs(compiled, x))


def tfq_check(compiled: dev.CompiledRouter, x: np.ndarray, repetitions: int) -> dict:
    """The calibrated noisy circuit through TFQ's trajectories (``tfq.noise.expectation``) against the
    exact engine with the same channels, at the rows of ``x``.

    TFQ runs single-qubit channels only: ``circuits.device.tfq_reduction`` drops the others (the
    two-qubit depolarizing channels) from both sides and translates the rest to TFQ's gate set
    exactly. Each <Z_i> is a mean over R = ``repetitions`` trajectories of values in [-1, 1] (TFQ
    takes each trajectory's expectation exactly and samples only the channels' branches), so its
    standard error is at most 1/sqrt(R); the check passes when every value is within
    ``noise_eval.sampled_tolerance(R)`` = 5/sqrt(R). Also returned: how much the dropped channels
    move the exact values (``dropped_effect_max``).
    """
    from qmoe_tfq.models.noise_eval import sampled_tolerance
    from qmoe_tfq.sim.tfq import SampledExpectation

    start = time.perf_counter()
    noisy = dev.noisy_circuit(compiled)
    reduced, translated, dropped = dev.tfq_reduction(noisy)
    x = np.atleast_2d(np.asarray(x, float))
    exact = exact_z(reduced, compiled, x)
    full = exact_z(noisy, compiled, x)
    symbols = [sympy.Symbol(f"device_x{i}") for i in range(len(compiled.physical))]
    position = {p: i for i, p in enumerate(compiled.physical)}
    circuit = cirq.Circuit(
        cirq.rx(symbols[position[op.qubits[0]]]).on(op.qubits[0]) if dev.EMBEDDING_TAG in op.tags else op
        for op in translated.all_operations()
    )
    engine = SampledExpectation(circuit, [s.name for s in symbols], [cirq.Z(q) for q in compiled.readout], repetitions)
    sampled = engine(tf.constant(x, tf.float32)).numpy().astype(float)
    tolerance = sampled_tolerance(repetitions)
    deviation = float(np.abs(sampled - exact).max())
    return {
        "processor": compiled.processor,
        "points": int(len(x)),
        "repetitions": int(repetitions),
        "tolerance": float(tolerance),
        "max_deviation": deviation,
        "within_tolerance": bool(deviation <= tolerance),
        "dropped": "; ".join(sorted(dropped)) or "none",
        "dropped_ops": int(sum(dropped.values())),
        "kept_channels": int(sum(1 for op in reduced.all_operations() if not cirq.has_unitary(op))),
        "dropped_effect_max": float(np.abs(full - exact).max()),
        "seconds": time.perf_counter() - start,
    }


def device_outputs(
    model: MixtureOfExperts, x: np.ndarray, name: str, check_points: int = 2
) -> tuple[np.ndarray, dict, dev.CompiledRouter]:
    """(exact <Z_i> before readout error (rows, n), compile record, compiled circuit) of ``model``'s
    router on processor ``name``."""
    check_router(model)
    router = model.router
    start = time.perf_counter()
    weights = router.theta.numpy().astype(float)
    compiled = dev.compile_router(router.rc, weights, name)
    compiled_at = time.perf_counter()
    equivalence = dev.equivalence_error(router.rc, weights, compiled, x[:check_points])
    noisy = dev.noisy_circuit(compiled)
    qs = sorted(compiled.placed)
    coefficients = heisenberg.fourier_coefficients(
        noisy, qs, [qs.index(q) for q in compiled.readout], dev.EMBEDDING_TAG
    )
    xq = np.zeros((len(x), len(qs)))
    for i, p in enumerate(compiled.physical):
        xq[:, qs.index(p)] = x[:, i]
    z = heisenberg.evaluate(coefficients, xq)
    dm = dm_check(noisy, compiled, x[0], z[0]) if router.n_qubits <= MAX_DM_CHECK_QUBITS else None
    fidelity = dev.estimated_fidelity(compiled)
    record = {
        "processor": name,
        "n_qubits": int(router.n_qubits),
        "placement": " ".join(f"({q.row},{q.col})" for q in compiled.placed),
        "two_qubit_gates": compiled.two_qubit_gates(),
        "single_qubit_gates": sum(1 for op in compiled.circuit.all_operations() if len(op.qubits) == 1),
        "depth": compiled.depth(),
        "swaps": compiled.swaps,
        "fidelity_gates": fidelity["gates"],
        "fidelity_readout": fidelity["readout"],
        "fidelity_total": fidelity["total"],
        "equivalence_error": equivalence,
        "dm_check_deviation": dm,
        "compile_seconds": compiled_at - start,
        "seconds": time.perf_counter() - start,
    }
    return z, record, compiled


def evaluate_on_devices(
    model: MixtureOfExperts,
    x: np.ndarray,
    y: np.ndarray,
    processors: Sequence[str] = dev.PROCESSORS,
    shots: Sequence[int] = (10, 100, 1000, 10000),
    draws: int = 5,
    seed: int = 0,
    noise: Sequence[float] = (),
    placements: Sequence[str] = ("every_gate",),
    check_points: int = 2,
    tfq_points: int = 0,
    tfq_repetitions: int = 5000,
) -> dict:
    """Every record of the module docstring for ``model`` on (scaled) ``x`` with labels ``y``.

    Returns
    -------
    dict
        ``device_eval``: one record per (processor, setting, noise, shots; 0 = exact) with the
        accuracy (mean and sd over ``draws`` for shots); ``device_compiled``: one record per
        processor (gate counts, depth, SWAPs, placement, fidelity estimates, checks, seconds); with
        ``tfq_points`` > 0, ``device_tfq``: one ``tfq_check`` record per processor on the first
        ``tfq_points`` rows of ``x`` with ``tfq_repetitions`` trajectories.
    """
    check_router(model)
    x = np.asarray(x, float)
    y = np.asarray(y)
    z0 = model.router.circuit_outputs(tf.constant(x, tf.float32)).numpy()
    records = [
        {
            "processor": "noiseless",
            "setting": "exact",
            "noise": None,
            "shots": 0,
            "accuracy": float(np.mean(predictions(model, x, z0) == y)),
        }
    ]
    records += _shot_records(model, x, y, z0, None, None, shots, draws, seed, "noiseless")
    compiled, tfq = [], []
    for name in processors:
        z, rec, circuit = device_outputs(model, x, name, check_points)
        if tfq_points > 0:
            tfq.append(tfq_check(circuit, x[:tfq_points], tfq_repetitions))
        slope, offset = dev.readout_affine(name, circuit.readout)
        z_read = slope * z + offset
        for setting, values in (("readout", z_read), ("mitigated", mitigate(z_read, slope, offset))):
            records.append(
                {
                    "processor": name,
                    "setting": setting,
                    "noise": None,
                    "shots": 0,
                    "accuracy": float(np.mean(predictions(model, x, values) == y)),
                }
            )
        records += _shot_records(model, x, y, z_read, slope, offset, shots, draws, seed, name)
        rec["mean_abs_z_noiseless"] = float(np.mean(np.abs(z0)))
        rec["mean_abs_z_device"] = float(np.mean(np.abs(z_read)))
        compiled.append(rec)
    for placement in placements:
        if not noise:
            break
        outs = exact_noise_sweep(model, x.astype(np.float32), list(noise), placement)
        for eps, z in zip(noise, outs):
            label = f"depolarizing/{placement}"
            records.append(
                {
                    "processor": label,
                    "setting": "readout",
                    "noise": float(eps),
                    "shots": 0,
                    "accuracy": float(np.mean(predictions(model, x, z) == y)),
                }
            )
            records += _shot_records(model, x, y, z, None, None, shots, draws, seed, label, float(eps))
    out = {"device_eval": records, "device_compiled": compiled}
    if tfq_points > 0:
        out["device_tfq"] = tfq
    return out


__all__ = [
    "SETTINGS",
    "check_router",
    "confusion_matrix",
    "device_outputs",
    "dm_check",
    "evaluate_on_devices",
    "exact_z",
    "mitigate",
    "mitigate_distribution",
    "placed_inputs",
    "predictions",
    "sample_z",
    "tfq_check",
]

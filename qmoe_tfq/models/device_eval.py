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
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits import device as dev
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.models.mixture import MixtureOfExperts
from qmoe_tfq.models.noise_eval import exact_noise_sweep, logits_from_outputs
from qmoe_tfq.sim import heisenberg

SETTINGS = ("readout", "mitigated")
MAX_DM_CHECK_QUBITS = 4


def _check_router(model: MixtureOfExperts) -> None:
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
    out = []
    for s in shots:
        acc = {setting: [] for setting in SETTINGS}
        for r in range(draws):
            zhat = sample_z(z_read, s, _seed(seed, f"{processor}/{noise}", s, r))
            acc["readout"].append(np.mean(predictions(model, x, zhat) == y))
            if slope is not None:
                acc["mitigated"].append(np.mean(predictions(model, x, mitigate(zhat, slope, offset)) == y))
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
    ops = [
        cirq.rx(float(x[compiled.physical.index(op.qubits[0])])).on(op.qubits[0])
        if dev.EMBEDDING_TAG in op.tags
        else op
        for op in noisy.all_operations()
    ]
    qs = sorted(compiled.placed)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(cirq.Circuit(ops), qubit_order=qs)
    rho = rho.final_density_matrix
    exact = [np.real(np.trace(rho @ cirq.PauliString({q: cirq.Z}).matrix(qs))) for q in compiled.readout]
    return float(np.max(np.abs(np.array(exact) - z)))


def device_outputs(
    model: MixtureOfExperts, x: np.ndarray, name: str, check_points: int = 2
) -> tuple[np.ndarray, dict, dev.CompiledRouter]:
    """(exact <Z_i> before readout error (rows, n), compile record, compiled circuit) of ``model``'s
    router on processor ``name``."""
    _check_router(model)
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
) -> dict:
    """Every record of the module docstring for ``model`` on (scaled) ``x`` with labels ``y``.

    Returns
    -------
    dict
        ``device_eval``: one record per (processor, setting, noise, shots; 0 = exact) with the
        accuracy (mean and sd over ``draws`` for shots); ``device_compiled``: one record per
        processor (gate counts, depth, SWAPs, placement, fidelity estimates, checks, seconds).
    """
    _check_router(model)
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
    compiled = []
    for name in processors:
        z, rec, circuit = device_outputs(model, x, name, check_points)
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
    return {"device_eval": records, "device_compiled": compiled}


__all__ = [
    "SETTINGS",
    "confusion_matrix",
    "device_outputs",
    "dm_check",
    "evaluate_on_devices",
    "mitigate",
    "mitigate_distribution",
    "predictions",
    "sample_z",
]

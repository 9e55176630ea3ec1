"""Stage: models. A mixture with several circuits deployed on a real processor's calibrated noise, exactly
(issue #23: the fully quantum mixture under a processor's noise, open question 4).

``evaluate_mixture_on_devices(model, x, y, processors)`` takes a trained mixture whose circuits are any of

* a **quantum router** with one RX-embedded input per qubit (the Two Moons router): compiled and evaluated
  as ``models.device_eval.device_outputs`` does (``sim.heisenberg.fourier_coefficients``);
* an **amplitude router** (``models.routers.amplitude``) and the authors' **Phase 1 quantum experts**
  (``models.phase1.AmplitudeQuantumExperts``): each circuit's strongly entangling layers compiled to the
  processor (``circuits.device.compile_ansatz``: placement, routing, sqrt-iSWAP), the calibrated noise
  model applied, and each <Z_i> read as the quadratic form psi^T M_i psi of the prepared state
  psi = x / ||x|| (``sim.heisenberg.quadratic_forms``: the noisy channel's adjoint applied to Z_i, exact,
  once per circuit). The amplitude **state preparation is taken as ideal**: on hardware it is a circuit
  of its own (Mottonen's, 2^n - 2 CNOTs for n qubits) whose noise this does not charge, so the device's
  effect on those circuits is a lower bound (the authors' depolarizing placement treats the embedding
  the same way: noise after it, not inside it);

and reports the held-out accuracy with every circuit on the processor at once, with the calibrated
readout error on every <Z_i> (``readout``) and with it inverted (``mitigated``; exact values, so the
same as no readout error), next to the noiseless model's. Every circuit is also compiled without noise
and checked against the model's own readouts on the test inputs (``equivalence``: largest |<Z>|
difference), and the router's and the first expert's noisy readouts at the first test input against
``cirq.DensityMatrixSimulator`` (``dm_check_deviation``). Each expert of a mixture runs as its own
circuit on the same placement (one after another on the processor), so they share its calibration.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace

import cirq
import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits import device as dev
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.models.device_eval import device_outputs, exact_z
from qmoe_tfq.models.ops import softmax
from qmoe_tfq.sim import heisenberg

SETTINGS = ("readout", "mitigated")


def amplitude_states(x: np.ndarray, n_qubits: int) -> np.ndarray:
    """psi(x) = x / ||x|| zero-padded to 2^n amplitudes (an all-zero row: |0...0>), float64 (rows, 2^n)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    dim = 2**n_qubits
    if x.shape[1] > dim:
        raise ConfigError(f"{x.shape[1]} features do not fit the {dim} amplitudes of {n_qubits} qubits")
    psi = np.zeros((len(x), dim))
    psi[:, : x.shape[1]] = x
    norm = np.linalg.norm(psi, axis=1)
    psi[norm == 0, 0] = 1.0
    norm[norm == 0] = 1.0
    return psi / norm[:, None]


def dm_readouts(noisy: cirq.Circuit, compiled: dev.CompiledRouter, psi: np.ndarray) -> np.ndarray:
    """<Z_i> (logical order) by ``cirq.DensityMatrixSimulator`` (complex128) on ``noisy`` from the state ``psi``
    (logical qubit 0 the most significant) prepared on the compiled circuit's physical qubits: the
    independent reference for one input."""
    order = sorted(compiled.placed)
    perm = [list(compiled.physical).index(q) for q in order]
    state = np.transpose(np.asarray(psi, complex).reshape((2,) * len(order)), perm).reshape(-1)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
        noisy, qubit_order=order, initial_state=np.outer(state, state.conj())
    )
    rho = rho.final_density_matrix
    return np.array([np.real(np.trace(rho @ cirq.PauliString({q: cirq.Z}).matrix(order))) for q in compiled.readout])


def _record(
    compiled: dev.CompiledRouter, circuit: str, equivalence: float, seconds: float, dm: float | None = None
) -> dict:
    fidelity = dev.estimated_fidelity(compiled)
    return {
        "processor": compiled.processor,
        "circuit": circuit,
        "n_qubits": len(compiled.physical),
        "two_qubit_gates": compiled.two_qubit_gates(),
        "depth": len(compiled.ansatz),
        "swaps": compiled.swaps,
        "fidelity_total": fidelity["total"],
        "equivalence": equivalence,
        "dm_check_deviation": dm,
        "seconds": seconds,
    }


def ansatz_readouts(
    theta: np.ndarray, x: np.ndarray, name: str, noiseless: np.ndarray, circuit: str, dm_check: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(<Z_i> exact under processor ``name``'s noise (rows, n; logical order), readout slope, offset, record)
    of the strongly entangling layers ``theta`` (layers, n, 3) after the amplitude state of each row of
    ``x``; ``noiseless``: the model's own readouts at ``x``, for the compiled-equals-abstract check;
    ``dm_check``: also compare the first row with ``cirq.DensityMatrixSimulator`` (``dm_check_deviation``)."""
    start = time.perf_counter()
    compiled = dev.compile_ansatz(theta, name)
    qubits = list(compiled.physical)
    observables = [qubits.index(q) for q in compiled.readout]
    psi = amplitude_states(x, len(qubits))
    clean = heisenberg.quadratic_forms(compiled.ansatz, qubits, observables)
    noisy_circuit = dev.noisy_circuit(compiled, embedding=False)
    noisy = heisenberg.quadratic_forms(noisy_circuit, qubits, observables)
    z = np.einsum("rk,jkl,rl->rj", psi, noisy, psi)
    equivalence = float(np.max(np.abs(np.einsum("rk,jkl,rl->rj", psi, clean, psi) - noiseless)))
    dm = float(np.max(np.abs(dm_readouts(noisy_circuit, compiled, psi[0]) - z[0]))) if dm_check else None
    slope, offset = dev.readout_affine(name, compiled.readout)
    return z, slope, offset, _record(compiled, circuit, equivalence, time.perf_counter() - start, dm)


def _router_readouts(
    router, x: np.ndarray, name: str, dm_check: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The router's <Z_i> on processor ``name`` (as ``ansatz_readouts``), by its circuit's kind."""
    noiseless = router.circuit_outputs(tf.constant(x, tf.float32)).numpy().astype(float)
    kind = type(router).__name__
    if kind == "AmplitudeRouter":
        theta = router.theta.numpy().astype(float).reshape(router.spec.layers, router.n_qubits, 3)
        return ansatz_readouts(theta, x, name, noiseless, "router", dm_check=dm_check)
    if kind == "QuantumRouter":
        start = time.perf_counter()
        z, checks, compiled = device_outputs(SimpleNamespace(router=router), x, name, check_points=1)
        equivalence = float(np.max(np.abs(exact_z(compiled.circuit, compiled, x) - noiseless)))
        slope, offset = dev.readout_affine(name, compiled.readout)
        seconds = time.perf_counter() - start
        return z, slope, offset, _record(compiled, "router", equivalence, seconds, checks["dm_check_deviation"])
    raise ConfigError(f"no device evaluation for a {kind} router; allowed: the quantum and amplitude routers")


def _parts(model) -> tuple[object | None, object | None]:
    """(the router if it has a circuit, the quantum experts layer if any) of a mixture."""
    router = getattr(model, "router", None)
    router = router if type(router).__name__ in ("AmplitudeRouter", "QuantumRouter") else None
    experts = getattr(model, "experts", None)
    experts = experts if type(experts).__name__ == "AmplitudeQuantumExperts" else None
    return router, experts


def _logits(model, x: np.ndarray, z_router: np.ndarray | None, z_experts: np.ndarray | None) -> np.ndarray:
    """Class logits of ``model`` at ``x`` with its circuits' readouts replaced by the given ones."""
    xt = tf.constant(x, tf.float32)
    router = model.router
    if z_router is None:
        gates = model.gates(xt) if hasattr(model, "gates") else router(xt)
    else:
        gates = softmax(router.adapter(tf.constant(z_router, tf.float32)))
    if hasattr(model, "head"):  # a Phase 1 mixture: head(sum_e gate_e expert_e)
        experts = model.experts(xt) if z_experts is None else tf.constant(z_experts, tf.float32)
        return model.head(tf.einsum("be,bew->bw", gates, experts)).numpy()
    return tf.einsum("be,bec->bc", gates, model.experts(xt)).numpy()


def evaluate_mixture_on_devices(
    model, x: np.ndarray, y: np.ndarray, processors: Sequence[str] = dev.PROCESSORS, dm_check: bool = True
) -> dict:
    """Held-out accuracy of ``model`` (a ``models.mixture.MixtureOfExperts`` or ``models.phase1.Phase1Model``
    with a quantum or amplitude router and/or Phase 1 quantum experts) on (model-scaled) ``x`` with label
    indices ``y``, noiseless and with every circuit on each processor (module docstring); ``dm_check``: the
    router's and first expert's check against cirq's density-matrix simulator (the RX router's always runs).

    Returns
    -------
    dict
        ``mixture_device_eval``: one record per (processor, setting) with ``accuracy`` (and the noiseless
        model's as processor ``noiseless``); ``mixture_device_compiled``: one record per (processor, circuit)
        with gate counts, depth, fidelity estimate, the compiled-equals-abstract check and seconds.
    """
    router, experts = _parts(model)
    if router is None and experts is None:
        raise ConfigError("evaluate_mixture_on_devices needs a mixture with a quantum router or quantum experts")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    xt = tf.constant(x, tf.float32)
    accuracy = lambda logits: float(np.mean(np.argmax(logits, axis=1) == y))  # noqa: E731
    records = [{"processor": "noiseless", "setting": "exact", "accuracy": accuracy(_logits(model, x, None, None))}]
    compiled = []
    expert_clean = None if experts is None else experts(xt).numpy().astype(float)  # (rows, E, n)
    for name in processors:
        zr = sr = orr = None
        if router is not None:
            zr, sr, orr, rec = _router_readouts(router, x, name, dm_check)
            compiled.append(rec)
        ze = se = oe = None
        if experts is not None:
            theta = experts.theta.numpy().astype(float)
            outs = []
            for e in range(len(theta)):
                z, se, oe, rec = ansatz_readouts(
                    theta[e], x, name, expert_clean[:, e], f"expert {e}", dm_check=dm_check and e == 0
                )
                outs.append(z)
                compiled.append(rec)
            ze = np.stack(outs, axis=1)
        for setting in SETTINGS:
            read = setting == "readout"
            z_router = None if zr is None else (sr * zr + orr if read else zr)
            z_experts = None if ze is None else (se * ze + oe if read else ze)
            records.append(
                {"processor": name, "setting": setting, "accuracy": accuracy(_logits(model, x, z_router, z_experts))}
            )
    return {"mixture_device_eval": records, "mixture_device_compiled": compiled}


__all__ = ["SETTINGS", "amplitude_states", "ansatz_readouts", "dm_readouts", "evaluate_mixture_on_devices"]

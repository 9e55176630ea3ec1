"""The TFQ router readouts equal an independent cirq.Simulator evaluation of the same circuit."""

import cirq
import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.models.routers.quantum import QuantumRouter
from qmoe_tfq.specs.config import ModelSpec


def readout_from_probabilities(probs: np.ndarray, readout: str) -> np.ndarray:
    """The router's raw readout from basis probabilities (rows, 2^n): themselves, or <Z_i>."""
    if readout == "probabilities":
        return probs
    n = int(np.log2(probs.shape[1]))
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1
    return probs @ (1 - 2 * bits)


def cirq_readout(router: QuantumRouter, x: np.ndarray, readout: str, theta: np.ndarray | None = None) -> np.ndarray:
    """<Z_i> or basis probabilities from cirq's state-vector simulator in complex128, qubit 0 most
    significant, at the router's weights or at ``theta`` (e.g. float64 weights)."""
    rc = router.rc
    theta = router.theta.numpy() if theta is None else theta
    sim = cirq.Simulator(dtype=np.complex128)
    probs = [
        np.abs(sim.simulate(rc.circuit, rc.resolver(xi, theta), qubit_order=rc.qubits).final_state_vector) ** 2
        for xi in x
    ]
    return readout_from_probabilities(np.array(probs), readout)


@pytest.mark.parametrize("n_qubits", [2, 3, 4])
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_tfq_matches_cirq_simulator(n_qubits, layers, readout, ansatz):
    rng = np.random.default_rng(1000 * n_qubits + 10 * layers + len(readout))
    spec = ModelSpec(layers=layers, readout=readout, ansatz=ansatz)
    router = QuantumRouter(spec, n_features=n_qubits, seed=int(rng.integers(1 << 30)))
    router.theta.assign(rng.uniform(0, 2 * np.pi, router.theta.shape).astype(np.float32))
    x = rng.uniform(0, np.pi, (5, n_qubits)).astype(np.float32)
    got = router.circuit_outputs(tf.constant(x)).numpy()
    want = cirq_readout(router, x, readout)
    np.testing.assert_allclose(got, want, atol=1e-5)
    if readout == "probabilities":
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_extra_qubits_without_features_match_cirq():
    rng = np.random.default_rng(7)
    router = QuantumRouter(ModelSpec(layers=2, n_qubits=3), n_features=2, seed=3)
    x = rng.uniform(0, np.pi, (4, 2)).astype(np.float32)
    got = router.circuit_outputs(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, cirq_readout(router, x, "expectation"), atol=1e-5)


def test_gates_are_a_distribution():
    router = QuantumRouter(ModelSpec(), n_features=2, seed=0)
    gates = router(tf.constant(np.random.default_rng(0).uniform(0, np.pi, (8, 2)), tf.float32)).numpy()
    assert gates.shape == (8, 2)
    assert np.all(gates >= 0)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, atol=1e-6)

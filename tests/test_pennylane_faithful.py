"""The Cirq circuit is the authors' PennyLane AngleEmbedding + StronglyEntanglingLayers circuit."""

import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.models.routers.quantum import QuantumRouter
from qmoe_tfq.specs.config import ModelSpec

qml = pytest.importorskip("pennylane")


def pennylane_readout(weights: np.ndarray, x: np.ndarray, n_qubits: int):
    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev)
    def expvals(inputs):
        qml.AngleEmbedding(inputs, wires=range(n_qubits))  # rotation="X", as the authors used it
        qml.StronglyEntanglingLayers(weights, wires=range(n_qubits))
        return [qml.expval(qml.PauliZ(i)) for i in range(n_qubits)]

    @qml.qnode(dev)
    def probs(inputs):
        qml.AngleEmbedding(inputs, wires=range(n_qubits))
        qml.StronglyEntanglingLayers(weights, wires=range(n_qubits))
        return qml.probs(wires=range(n_qubits))

    return (
        np.array([np.array(expvals(xi), dtype=float) for xi in x]),
        np.array([np.array(probs(xi), dtype=float) for xi in x]),
    )


@pytest.mark.parametrize("n_qubits,layers", [(2, 3), (3, 1), (3, 3), (4, 3)])
def test_router_circuit_equals_pennylane(n_qubits, layers):
    rng = np.random.default_rng(n_qubits * 10 + layers)
    weights = rng.uniform(0, 2 * np.pi, (layers, n_qubits, 3))
    x = rng.uniform(0, np.pi, (4, n_qubits))
    want_z, want_p = pennylane_readout(weights, x, n_qubits)
    for readout, want in (("expectation", want_z), ("probabilities", want_p)):
        router = QuantumRouter(ModelSpec(layers=layers, readout=readout), n_features=n_qubits, seed=0)
        router.theta.assign(weights.reshape(-1).astype(np.float32))
        got = router.circuit_outputs(tf.constant(x, tf.float32)).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)

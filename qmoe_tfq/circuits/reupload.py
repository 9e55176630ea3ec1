"""Stage: circuits. The data re-uploading router circuit (family ``reupload``): features loaded as RX
angles in groups of n_qubits, one group before each strongly entangling layer.

Layer l first applies RX(x_{g n + i}) on qubit i for group g = l mod G (G = ceil(d / n); the last
group may be short: its missing qubits get no gate, i.e. RX(0)), then the authors' strongly
entangling layer l: Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) on every qubit and
CNOT(i -> (i + r_l) mod n) with PennyLane's range rule r_l = (l mod (n - 1)) + 1 over the whole
circuit. It is PennyLane's ``AngleEmbedding(x_group, rotation="X")`` followed by
``StronglyEntanglingLayers(weights[l:l + 1], ranges=[r_l])``, layer by layer.
"""

from __future__ import annotations

import cirq
import sympy

from qmoe_tfq.circuits.router import RouterCircuit, entangler_ranges
from qmoe_tfq.specs.high_dim_routers import reupload_shape


def reupload_circuit(n_features: int, n_qubits: int | None, layers: int) -> RouterCircuit:
    """The re-uploading circuit for ``n_features`` inputs (``reupload_shape`` fixes qubits and layers);
    input symbols ``x{j}``, weights ``w{l}_{i}_{k}`` in (layers, n_qubits, 3) order. ``embedding`` is
    None: the inputs enter between the layers."""
    n, groups, total = reupload_shape(n_features, n_qubits, layers)
    qubits = tuple(cirq.GridQubit.rect(1, n))
    xs = tuple(sympy.Symbol(f"x{j}") for j in range(n_features))
    circuit = cirq.Circuit()
    weights: list[sympy.Symbol] = []
    for layer, r in enumerate(entangler_ranges(n, total)):
        g = layer % groups
        circuit.append(cirq.rx(xs[g * n + i]).on(q) for i, q in enumerate(qubits) if g * n + i < n_features)
        for i, q in enumerate(qubits):
            phi, theta, omega = (sympy.Symbol(f"w{layer}_{i}_{k}") for k in range(3))
            weights += [phi, theta, omega]
            circuit.append([cirq.rz(phi).on(q), cirq.ry(theta).on(q), cirq.rz(omega).on(q)])
        if n > 1:
            circuit.append(cirq.CNOT(qubits[i], qubits[(i + r) % n]) for i in range(n))
    return RouterCircuit(circuit, qubits, xs, tuple(weights), (total, n, 3), embedding=None, ansatz=None)


__all__ = ["reupload_circuit"]

"""Stage: circuits. Router circuits in Cirq: RX angle embedding followed by a variational ansatz.

Three ansatzes:

- ``strongly_entangling``: PennyLane's ``StronglyEntanglingLayers`` as the authors used it. Per layer
  a ``Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)`` on every qubit, then for each qubit i a
  CNOT(i -> (i + r) mod n) with PennyLane's default range r = (l mod (n - 1)) + 1.
- ``ry_cz``: the paper text's layer, RY(theta) on every qubit then a ring of CZ gates.
- ``strongly_entangling_no_cnot``: the authors' layers with every CNOT removed (the entanglement
  ablation): the same angles, so the same parameter count, but the state stays a product state and
  each <Z_i> depends on x_i alone.

Readout observables: ``expectation`` gives <Z_i> per qubit (the authors' readout);
``probabilities`` gives the 2^n basis-state probabilities |<i|U(theta)|psi(x)>|^2 (the paper's text).
Probabilities are computed from the 2^n - 1 single-term Z-string expectations <Z_S> through the
Walsh-Hadamard transform P(i) = 2^-n sum_S (-1)^{|i & S|} <Z_S>, which is exact and far cheaper to
simulate than 2^n projectors of 2^n Pauli terms each.
"""

from __future__ import annotations

from dataclasses import dataclass

import cirq
import numpy as np
import sympy

from qmoe_tfq.core.errors import ConfigError, check_choice, check_positive_int
from qmoe_tfq.specs.vocabulary import ANGLES_PER_QUBIT, ANSATZES, MAX_QUBITS, READOUTS, validate_router_shape  # noqa: F401


@dataclass(frozen=True)
class RouterCircuit:
    """A parameterised router circuit: inputs enter as ``x_i`` symbols, weights as ``w_*`` symbols."""

    circuit: cirq.Circuit
    qubits: tuple[cirq.GridQubit, ...]
    input_symbols: tuple[sympy.Symbol, ...]
    weight_symbols: tuple[sympy.Symbol, ...]
    weight_shape: tuple[int, ...]
    embedding: cirq.Circuit | None = None
    ansatz: cirq.Circuit | None = None

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """All symbols in the order the simulator expects their values: inputs, then weights."""
        return self.input_symbols + self.weight_symbols

    def resolver(self, x: np.ndarray, weights: np.ndarray) -> cirq.ParamResolver:
        """Bind one input vector and one weight array (of ``weight_shape``) to the symbols."""
        values = np.concatenate([np.ravel(x), np.ravel(weights)])
        return cirq.ParamResolver({s.name: float(v) for s, v in zip(self.symbols, values)})


def entangler_ranges(n_qubits: int, n_layers: int) -> list[int]:
    """PennyLane's default CNOT ranges for StronglyEntanglingLayers."""
    if n_qubits < 2:
        return [0] * n_layers
    return [(layer % (n_qubits - 1)) + 1 for layer in range(n_layers)]


def router_circuit(n_features: int, n_qubits: int, n_layers: int, ansatz: str = "strongly_entangling") -> RouterCircuit:
    """Build the embedding + ansatz circuit with symbolic inputs and weights."""
    validate_router_shape(n_features, n_qubits, n_layers)
    check_choice("ansatz", ansatz, ANSATZES)
    qubits = tuple(cirq.GridQubit.rect(1, n_qubits))
    xs = tuple(sympy.Symbol(f"x{i}") for i in range(n_features))
    embedding = cirq.Circuit(cirq.rx(x).on(q) for x, q in zip(xs, qubits))
    circuit = cirq.Circuit()
    weights: list[sympy.Symbol] = []
    if ansatz in ("strongly_entangling", "strongly_entangling_no_cnot"):
        shape: tuple[int, ...] = (n_layers, n_qubits, 3)
        for layer, r in enumerate(entangler_ranges(n_qubits, n_layers)):
            for i, q in enumerate(qubits):
                phi, theta, omega = (sympy.Symbol(f"w{layer}_{i}_{k}") for k in range(3))
                weights += [phi, theta, omega]
                circuit.append([cirq.rz(phi).on(q), cirq.ry(theta).on(q), cirq.rz(omega).on(q)])
            if n_qubits > 1 and ansatz == "strongly_entangling":
                circuit.append(cirq.CNOT(qubits[i], qubits[(i + r) % n_qubits]) for i in range(n_qubits))
    else:
        shape = (n_layers, n_qubits)
        for layer in range(n_layers):
            for i, q in enumerate(qubits):
                theta = sympy.Symbol(f"w{layer}_{i}")
                weights.append(theta)
                circuit.append(cirq.ry(theta).on(q))
            circuit.append(cz_ring(qubits))
    return RouterCircuit(embedding + circuit, qubits, xs, tuple(weights), shape, embedding=embedding, ansatz=circuit)


def cz_ring(qubits: tuple[cirq.GridQubit, ...]) -> list[cirq.Operation]:
    """CZ between neighbours, closed into a ring for three or more qubits."""
    n = len(qubits)
    pairs = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if n > 2 else [])
    return [cirq.CZ(qubits[a], qubits[b]) for a, b in pairs]


def z_string_masks(n_qubits: int) -> list[int]:
    """Non-empty qubit subsets S as bit masks, qubit 0 the most significant bit (Cirq's order)."""
    return list(range(1, 2**n_qubits))


def z_string(qubits: tuple[cirq.GridQubit, ...], mask: int) -> cirq.PauliString:
    """The Pauli string prod_{q in S} Z_q for subset mask S."""
    n = len(qubits)
    return cirq.PauliString({q: cirq.Z for i, q in enumerate(qubits) if (mask >> (n - 1 - i)) & 1})


def walsh_hadamard(n_qubits: int) -> np.ndarray:
    """Matrix M with P = M @ [1, <Z_S> for S in z_string_masks]: M[i, S] = (-1)^{|i & S|} / 2^n."""
    dim = 2**n_qubits
    i = np.arange(dim)[:, None]
    s = np.arange(dim)[None, :]
    parity = np.vectorize(lambda v: bin(v).count("1") % 2)(i & s)
    return ((-1.0) ** parity / dim).astype(np.float32)


def readout_observables(qubits: tuple[cirq.GridQubit, ...], readout: str) -> list[cirq.PauliString]:
    """Observables whose expectations the router measures for ``readout``."""
    check_choice("readout", readout, READOUTS)
    if readout == "expectation":
        return [cirq.PauliString({q: cirq.Z}) for q in qubits]
    return [z_string(qubits, m) for m in z_string_masks(len(qubits))]


def n_router_outputs(n_qubits: int, readout: str) -> int:
    """Width of the circuit readout: n for <Z_i>, 2^n for basis probabilities."""
    check_choice("readout", readout, READOUTS)
    return n_qubits if readout == "expectation" else 2**n_qubits


# --- amplitude embedding (the authors' Phase 1 quantum experts) ---------------------------------------


def gray_code(i: int) -> int:
    """The i-th reflected binary Gray code: consecutive codes differ in one bit."""
    return i ^ (i >> 1)


def uniformly_controlled_ry_matrix(n_controls: int) -> np.ndarray:
    """M with alpha = M @ theta for ``uniformly_controlled_ry``: M[c, i] = (-1)^{|c & g_i|}.

    ``alpha[c]`` is the RY angle applied to the target when the controls hold the pattern ``c``
    (first control = most significant bit) and ``theta[i]`` the angle of the i-th plain RY in the
    Gray-code sequence. M is a permuted Sylvester-Hadamard matrix, M.T @ M = 2^k I, so
    theta = M.T @ alpha / 2^k.
    """
    size = 2**n_controls
    c = np.arange(size)[:, None]
    g = np.array([gray_code(i) for i in range(size)])[None, :]
    parity = np.vectorize(lambda v: bin(v).count("1") % 2)(c & g)
    return (-1.0) ** parity


def uniformly_controlled_ry(
    controls: tuple[cirq.Qid, ...], target: cirq.Qid, thetas: tuple[sympy.Symbol, ...]
) -> list[cirq.Operation]:
    """sum_c |c><c| (x) RY(alpha_c) from 2^k plain RY(theta_i) and 2^k CNOTs (Mottonen et al. 2004).

    Step i applies RY(theta_i) to the target, then a CNOT from the control whose bit flips between
    the Gray codes g_i and g_{i+1 mod 2^k}. Since X RY(t) X = RY(-t), the target sees RY(theta_i)
    with the sign (-1)^{|c & g_i|} (the parity of the CNOTs fired before step i on pattern c), and
    the CNOTs cancel over the whole cycle, so alpha = M @ theta with M from
    ``uniformly_controlled_ry_matrix``. With no controls it is the single RY(theta_0).
    """
    k = len(controls)
    ops: list[cirq.Operation] = []
    for i, theta in enumerate(thetas):
        ops.append(cirq.ry(theta).on(target))
        if k:
            flipped = gray_code(i) ^ gray_code((i + 1) % 2**k)
            ops.append(cirq.CNOT(controls[k - flipped.bit_length()], target))
    return ops


def amplitude_embedding(qubits: tuple[cirq.Qid, ...]) -> tuple[cirq.Circuit, tuple[sympy.Symbol, ...]]:
    """Real amplitude embedding |0...0> -> sum_i x_i |i> / ||x|| as a fixed circuit with 2^n - 1 RY angles.

    Mottonen state preparation restricted to real amplitudes: a binary tree of uniformly controlled
    RY rotations, qubit j (the j-th most significant bit) controlled by qubits 0 .. j-1. For control
    pattern c, the rotation splits the weight of the block of amplitudes whose leading bits are c
    between its two halves: alpha_c = 2 atan2(||x_{c1*}||, ||x_{c0*}||). On the last qubit the halves
    are single amplitudes and the signed alpha_c = 2 atan2(x_{c1}, x_{c0}) (range (-2 pi, 2 pi])
    also sets their signs, so negative entries need no phase gates and no global phase arises. A
    zero block gives alpha = 0. Symbols ``a{j}_{i}`` (level j, Gray-code step i) take
    theta_j = M_j.T @ alpha_j / 2^j (``uniformly_controlled_ry_matrix``), which
    ``qmoe_tfq.specs.phase1.amplitude_angles`` computes from x.
    """
    circuit = cirq.Circuit()
    symbols: list[sympy.Symbol] = []
    for j, target in enumerate(qubits):
        thetas = tuple(sympy.Symbol(f"a{j}_{i}") for i in range(2**j))
        symbols += thetas
        circuit.append(uniformly_controlled_ry(tuple(qubits[:j]), target, thetas))
    return circuit, tuple(symbols)


def amplitude_expert_circuit(n_qubits: int, n_layers: int) -> RouterCircuit:
    """The authors' Phase 1 quantum expert: amplitude embedding, then StronglyEntanglingLayers(n_layers).

    Inputs are the 2^n - 1 embedding angles (not the features); weights ``w{l}_{i}_{k}`` in the
    (n_layers, n_qubits, 3) order of PennyLane's ``StronglyEntanglingLayers``. Read out <Z_i>.
    """
    check_positive_int("n_qubits", n_qubits)
    if n_qubits > MAX_QUBITS:
        raise ConfigError(f"n_qubits={n_qubits} is too large to simulate here (allowed: <= {MAX_QUBITS})")
    ansatz = router_circuit(1, n_qubits, n_layers, "strongly_entangling")
    embedding, inputs = amplitude_embedding(ansatz.qubits)
    return RouterCircuit(
        embedding + ansatz.ansatz,
        ansatz.qubits,
        inputs,
        ansatz.weight_symbols,
        ansatz.weight_shape,
        embedding=embedding,
        ansatz=ansatz.ansatz,
    )

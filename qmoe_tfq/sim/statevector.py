"""Stage: sim. An exact, differentiable state-vector simulator in TensorFlow, compiled once per circuit.

The circuit is compiled into a short sequence of batched TF ops on a (rows, 2^n) complex state,
each row with its own symbol values:

* single-qubit operations are grouped per qubit between multi-qubit gates (a step) and multiplied
  into one 2x2 matrix per step, qubit and row: rotations are exp(-i theta P / 2) = cos(theta/2) I
  - i sin(theta/2) P with theta affine in one symbol, adjacent constant gates are folded;
* multi-qubit gates must be permutations with phases (CNOT, CZ, SWAP, ...), and runs of them are
  composed into one gather times a phase vector;
* the steps run as ``executor.StepProgram`` lays them out (few TF ops: that is what small circuits
  cost);
* the readout takes Z-strings from the probabilities |psi|^2 with a (2^n, n_observables) sign
  matrix.

Gradients are TF autodiff (one backward pass through the same ops), with respect to the symbol
values, so inputs and circuit weights are differentiated alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.sim.executor import CompiledEngine, StepProgram
from qmoe_tfq.sim.program import (
    Local,
    Monomial,
    Observable,
    Op,
    affine_map,
    as_monomial,
    base_digits,
    build_steps,
    circuit_qubits,
    embed_monomial,
    rotation_angle,
    rotation_axis,
)

# -i P for P = X, Y, Z: exp(-i theta P / 2) = cos(theta/2) I + sin(theta/2) (-i P).
_MINUS_I_PAULI = {axis: -1j * cirq.unitary(g) for axis, g in ((1, cirq.X), (2, cirq.Y), (3, cirq.Z))}


def _compile(
    circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], symbol_names: Sequence[str]
) -> tuple[list[Monomial | Local], list[int], np.ndarray, np.ndarray]:
    """(steps, rotation axes, angle matrix, angle offset) of ``circuit``."""
    position = {q: i for i, q in enumerate(qubits)}
    symbol_index = {name: i for i, name in enumerate(symbol_names)}
    n = len(qubits)
    ops: list[Op] = []
    axes: list[int] = []
    angles: list[tuple[int, float, float]] = []
    for op in circuit.all_operations():
        pos = tuple(position[q] for q in op.qubits)
        if cirq.is_parameterized(op):
            axis = rotation_axis(op.gate)
            if axis is None or len(pos) != 1:
                raise ValueError(f"unsupported parameterised operation {op}: only X/Y/Z rotations")
            angles.append(rotation_angle(op, symbol_index))
            axes.append(axis)
            ops.append(Op(pos, len(axes) - 1, False))
            continue
        if not cirq.has_unitary(op):
            raise ValueError(
                f"unsupported operation {op}: it has no unitary (the state-vector engine simulates pure "
                "states; noisy circuits need the density-matrix engine)"
            )
        u = cirq.unitary(op)
        found = as_monomial(u)
        if len(pos) == 1:
            ops.append(Op(pos, u, found is not None))
        elif found is None:
            raise ValueError(
                f"unsupported operation {op}: multi-qubit gates must permute basis states with phases "
                "(CNOT, CZ, SWAP, ...)"
            )
        else:
            ops.append(Op(pos, embed_monomial(found, pos, n, base=2), True))
    matrix, offset = affine_map(angles, len(symbol_names))
    steps = build_steps(ops, n, lambda u, positions: embed_monomial(as_monomial(u), positions, n, base=2))
    return steps, axes, matrix, offset


def _z_string_signs(observables: Sequence[Observable], position: dict[cirq.Qid, int], n: int) -> np.ndarray:
    """(2^n, n_observables) real matrix S with <O_k> = sum_i |psi_i|^2 S[i, k] for Z-string sums."""
    bits = base_digits(n, 2)
    signs = np.zeros((2**n, len(observables)))
    for k, obs in enumerate(observables):
        for ps in obs if isinstance(obs, cirq.PauliSum) else [obs]:
            coef = complex(ps.coefficient)
            if abs(coef.imag) > 1e-12:
                raise ValueError(f"observable {obs} is not Hermitian")
            if any(p != cirq.Z for p in ps.values()):
                raise ValueError(f"observable {obs}: the state-vector engine reads Z strings only")
            mask = np.zeros(n, dtype=np.int64)
            for q in ps.keys():
                mask[position[q]] = 1
            signs[:, k] += coef.real * (-1.0) ** (bits @ mask)
    return signs


class StateVectorExpectation(CompiledEngine):
    """<O_k> of a noiseless parameterised circuit for a batch of symbol values, with TF gradients.

    Same call contract as ``ExactExpectation`` (TFQ): ``(rows, n_symbols)`` float32 in, ``(rows,
    n_observables)`` float32 out, each row its own symbol values. Supports X/Y/Z rotations whose
    angle is affine in one symbol, any constant single-qubit gate, constant multi-qubit gates that
    permute basis states with phases (CNOT, CZ, SWAP, Toffoli, ...), and observables that are real
    sums of Z strings. ``qubits`` fixes the qubit order (default: sorted); ``dtype`` is the complex
    type of the state (complex64 by default).
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: Sequence[str],
        observables: Sequence[Observable],
        qubits: Sequence[cirq.Qid] | None = None,
        dtype: tf.DType = tf.complex64,
    ) -> None:
        self.qubits = circuit_qubits(circuit, observables, qubits)
        self.symbol_names = list(symbol_names)
        self.n_qubits = n = len(self.qubits)
        self.dtype = dtype
        real = dtype.real_dtype
        steps, axes, matrix, offset = _compile(circuit, self.qubits, self.symbol_names)
        initial = np.zeros(2**n, complex)
        initial[0] = 1.0
        self._program = StepProgram(steps, n, 2, len(axes), initial, dtype)
        # the rotations, then the identity: a rotation by angle 0
        generators = np.stack([_MINUS_I_PAULI[a] for a in axes + [3]])
        self._gen_re = tf.constant(generators.real, real)
        self._gen_im = tf.constant(generators.imag, real)
        self._eye = tf.constant(np.eye(2), real)
        self._signs = tf.constant(_z_string_signs(observables, {q: i for i, q in enumerate(self.qubits)}, n), real)
        self._set_parameters(matrix, offset, real)

    def _rotations(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """(rows, n_rotations + 1, 2, 2): exp(-i theta P / 2) of every rotation, then the identity."""
        n_factors = self._offset.shape[0]
        half = 0.5 * self._parameters(symbol_values)
        c = tf.reshape(tf.cos(half), [-1, n_factors, 1, 1])
        s = tf.reshape(tf.sin(half), [-1, n_factors, 1, 1])
        return tf.complex(c * self._eye + s * self._gen_re, s * self._gen_im)

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        return self.readout(self.states(symbol_values))

    def states(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """The final states (rows, 2^n) for symbol values (rows, n_symbols), qubit 0 most significant."""
        return self._program.run(self._rotations(tf.cast(symbol_values, tf.float32)))

    def readout(self, states: tf.Tensor) -> tf.Tensor:
        """<O_k> (..., n_observables) float32 of states (..., 2^n)."""
        probs = tf.math.square(tf.math.real(states)) + tf.math.square(tf.math.imag(states))
        return tf.cast(tf.tensordot(probs, self._signs, 1), tf.float32)


__all__ = ["StateVectorExpectation"]

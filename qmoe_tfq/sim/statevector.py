"""An exact, differentiable state-vector simulator in TensorFlow, compiled once per circuit.

The circuit is compiled into a short sequence of batched TF ops on a (rows, 2^n) complex state,
each row with its own symbol values:

* single-qubit operations are grouped per qubit between multi-qubit gates (a step) and multiplied
  into one 2x2 matrix per step, qubit and row: rotations are exp(-i theta P / 2) = cos(theta/2) I
  - i sin(theta/2) P with theta affine in one symbol, adjacent constant gates are folded, and every
  step's chain of factors is gathered at once and multiplied by a few batched matmuls;
* multi-qubit gates must be permutations with phases (CNOT, CZ, SWAP, ...), and runs of them are
  composed into one gather times a phase vector;
* a 2x2 matrix is applied to qubit 0 as one batched matmul on the (rows, 2, 2^(n-1)) view, then the
  qubits are rotated by one place (a transpose), so a step over all n qubits is n matmuls and n
  transposes;
* the readout takes Z-strings from the probabilities |psi|^2 with a (2^n, n_observables) sign
  matrix.

Gradients are TF autodiff (one backward pass through the same ops), with respect to the symbol
values, so inputs and circuit weights are differentiated alike.
"""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

from collections.abc import Sequence
from dataclasses import dataclass

import cirq
import numpy as np
import tensorflow as tf

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


def _permute(x: tf.Tensor, index: tf.Tensor, inverse: tf.Tensor, phase: tf.Tensor) -> tf.Tensor:
    """x'[:, a] = phase[a] x[:, index[a]] (along axis 1), with a gather, not a scatter, in the
    backward pass too. ``phase`` broadcasts against x[:, index]."""

    @tf.custom_gradient
    def apply(v):
        def grad(g):
            return tf.gather(g * tf.math.conj(phase), inverse, axis=1)

        return tf.gather(v, index, axis=1) * phase, grad

    return apply(x)


@dataclass
class _Plan:
    """The compiled circuit as the engine runs it: an initial state, then S steps, each a 2x2 map per
    qubit (the product of a chain of factor-table entries) followed by an optional monomial."""

    initial: np.ndarray
    chains: np.ndarray
    active: np.ndarray
    after: list[Monomial | None]
    constants: np.ndarray


def _plan(steps: list[Monomial | Local], n: int, n_rotations: int) -> _Plan:
    """Lay ``steps`` out as a ``_Plan``. Factor-table entries: the circuit's rotations, then one
    rotation by angle 0 (the identity, padding shorter chains), then the constant 2x2 factors."""
    initial = np.zeros(2**n, complex)
    initial[0] = 1.0
    if steps and isinstance(steps[0], Monomial):
        initial = steps[0].scale * initial[steps[0].index]
        steps = steps[1:]
    locals_: list[Local] = []
    after: list[Monomial | None] = []
    for step in steps:
        if isinstance(step, Monomial):
            after[-1] = step if after[-1] is None else after[-1].then(step)
        else:
            locals_.append(step)
            after.append(None)
    constants: list[np.ndarray] = []
    length = max([len(fs) for st in locals_ for fs in st.factors.values()] or [1])
    identity = n_rotations
    chains = np.full((len(locals_), n, length), identity, dtype=np.int64)
    for s, step in enumerate(locals_):
        for q, factors in step.factors.items():
            for k, f in enumerate(factors):
                if isinstance(f, np.ndarray):
                    constants.append(f)
                    f = identity + len(constants)
                chains[s, q, k] = f
    active = (chains != identity).any(axis=2)
    return _Plan(initial, chains, active, after, np.array(constants).reshape(-1, 2, 2))


class StateVectorExpectation:
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
        plan = _plan(steps, n, len(axes))
        self._n_steps, self._chain = plan.chains.shape[0], plan.chains.shape[2]
        self._chains = tf.constant(plan.chains.reshape(-1))
        self._active = plan.active
        self._constants = tf.constant(plan.constants, dtype) if len(plan.constants) else None
        self._initial = tf.constant(plan.initial, dtype)
        self._after = [
            None if m is None else (tf.constant(m.index), tf.constant(np.argsort(m.index)), tf.constant(m.scale, dtype))
            for m in plan.after
        ]
        # the rotations, then the identity: a rotation by angle 0
        generators = np.stack([_MINUS_I_PAULI[a] for a in axes + [3]])
        self._gen_re = tf.constant(generators.real, real)
        self._gen_im = tf.constant(generators.imag, real)
        self._eye = tf.constant(np.eye(2), real)
        self._matrix = tf.constant(np.concatenate([matrix, np.zeros((len(symbol_names), 1))], axis=1), real)
        self._offset = tf.constant(np.append(offset, 0.0), real)
        self._signs = tf.constant(_z_string_signs(observables, {q: i for i, q in enumerate(self.qubits)}, n), real)
        self._forward = tf.function(
            self._evaluate, input_signature=[tf.TensorSpec([None, len(self.symbol_names)], tf.float32)]
        )

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        return self._forward(tf.convert_to_tensor(symbol_values, tf.float32))

    def _step_maps(self, symbol_values: tf.Tensor) -> list[list[tf.Tensor]]:
        """maps[s][q]: step s's (rows, 2, 2) map on qubit q. Slices are unstacks (one op forward,
        one backward) rather than strided slices."""
        real = self.dtype.real_dtype
        n_factors = self._offset.shape[0]
        half = 0.5 * (tf.matmul(tf.cast(symbol_values, real), self._matrix) + self._offset)
        c = tf.reshape(tf.cos(half), [-1, n_factors, 1, 1])
        s = tf.reshape(tf.sin(half), [-1, n_factors, 1, 1])
        table = tf.complex(c * self._eye + s * self._gen_re, s * self._gen_im)
        if self._constants is not None:
            rows = tf.shape(symbol_values)[0]
            constants = tf.broadcast_to(self._constants, tf.concat([[rows], tf.shape(self._constants)], 0))
            table = tf.concat([table, constants], axis=1)
        g = tf.reshape(tf.gather(table, self._chains, axis=1), [-1, self._n_steps * self.n_qubits, self._chain, 2, 2])
        factors = tf.unstack(g, axis=2)
        m = factors[0]
        for f in factors[1:]:
            m = tf.matmul(f, m)
        maps = tf.unstack(m, axis=1)
        return [maps[i * self.n_qubits : (i + 1) * self.n_qubits] for i in range(self._n_steps)]

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        rows = tf.shape(symbol_values)[0]
        psi = tf.tile(self._initial[None, :], [rows, 1])
        if self._n_steps:
            psi = self._run(self._step_maps(symbol_values), psi)
        probs = tf.math.square(tf.math.real(psi)) + tf.math.square(tf.math.imag(psi))
        return tf.cast(tf.matmul(probs, self._signs), tf.float32)

    def _run(self, maps: list[list[tf.Tensor]], psi: tf.Tensor) -> tf.Tensor:
        """Apply every step to ``psi`` (rows, 2^n)."""
        n, dim = self.n_qubits, 2**self.n_qubits
        for s in range(self._n_steps):
            for q in range(n):
                # qubit q leads here: apply its 2x2, then rotate it to the back
                x = tf.reshape(psi, [-1, 2, dim // 2])
                if self._active[s, q]:
                    x = tf.matmul(maps[s][q], x)
                psi = tf.reshape(tf.transpose(x, [0, 2, 1]), [-1, dim])
            if self._after[s] is not None:
                psi = _permute(psi, *self._after[s])
        return psi


__all__ = ["StateVectorExpectation"]

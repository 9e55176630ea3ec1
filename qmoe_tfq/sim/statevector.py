"""Stage: sim. An exact, differentiable state-vector simulator in TensorFlow, compiled once per circuit.

The circuit is compiled into a short sequence of batched TF ops on a (rows, 2^n) complex state,
each row with its own symbol values:

* single-qubit operations are grouped per qubit between multi-qubit gates (a step) and multiplied
  into one 2x2 matrix per step, qubit and row: rotations are exp(-i theta P / 2) = cos(theta/2) I
  - i sin(theta/2) P with theta affine in one symbol, adjacent constant gates are folded. A chain
  of L factors is multilinear in their (cos, sin) pairs, so its product is a fixed (2^L, 4) basis
  times the 2^L products of cosines and sines (``_chain_basis``): every chain of every row comes
  out of one batched real matmul, with no 2x2 matmuls (chains longer than ``MAX_CHAIN`` multiply a
  table of factors instead);
* the first step acts on the product state |0...0>: each qubit's chain is applied to its own
  vector and the state is their Kronecker product (``StepProgram.run_maps``);
* multi-qubit gates must be permutations with phases (CNOT, CZ, SWAP, ...), and runs of them are
  composed into one gather times a phase vector;
* the steps run as ``executor.StepProgram`` lays them out (few TF ops: that is what small circuits
  cost);
* the readout takes Z-strings from the probabilities |psi|^2 with a (2^n, n_observables) sign
  matrix, into which the permutation after the last step is folded (its rows permuted).

Gradients are TF autodiff (one backward pass through the same ops), with respect to the symbol
values, so inputs and circuit weights are differentiated alike.
"""

from __future__ import annotations

import itertools
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


# Longest chain of single-qubit factors (between multi-qubit gates) whose product ``_chain_maps``
# expands into its 2^L cos/sin terms.
MAX_CHAIN = 6


def _chain_basis(
    chains: np.ndarray, axis: dict[int, int], constants: Sequence[np.ndarray], n_params: int
) -> tuple[np.ndarray, np.ndarray]:
    """Chains of factors (K, L) (ids as ``StepProgram`` numbers them) as a linear map of products of
    half-angle cosines and sines: the angle id of every factor (K, L) and the constant basis G (K,
    2^L, 2, 2) with the chain's product F_L ... F_1 = sum_b coef_b G[k, b], coef_b = prod_l (cos if
    bit l of b is 0 else sin)(theta_l / 2), bit 1 most significant. A rotation is cos I + sin (-i P);
    a constant factor C (or the identity) has angle id ``n_params`` (angle 0: cos 1, sin 0), so C +
    0."""
    k, length = chains.shape
    ids = np.where(chains < n_params, chains, n_params)
    basis = np.zeros((k, 2**length, 2, 2), complex)
    for i in range(k):
        options = []
        for f in chains[i]:
            if f < n_params:
                options.append((np.eye(2), _MINUS_I_PAULI[axis[int(f)]]))
            else:
                options.append((np.eye(2) if f == n_params else constants[f - n_params - 1], np.zeros((2, 2))))
        for b, bits in enumerate(itertools.product((0, 1), repeat=length)):
            m = np.eye(2, dtype=complex)
            for (a0, a1), bit in zip(options, bits):
                m = (a1 if bit else a0) @ m
            basis[i, b] = m
    return ids, basis


def _chain_maps(cs: tf.Tensor, basis_re: tf.Tensor, basis_im: tf.Tensor) -> tf.Tensor:
    """(K, e, rows) complex: every chain's product (``_chain_basis``) from the cosines and sines of
    its half angles (K * L * 2, rows), as the basis (K, e, 2^L) times coef (K, 2^L, rows) in real
    arithmetic: one batched matmul of few large matrices, not a matmul of 2 x 2 matrices per row
    and chain factor. Rows are the last axis throughout, so the products building coef broadcast
    over contiguous rows."""
    k, terms = basis_re.shape[0], basis_re.shape[2]
    length = terms.bit_length() - 1
    factors = tf.unstack(tf.reshape(cs, [k, length, 2, -1]), axis=1)  # L x (K, 2, rows)
    coef = factors[0]
    for t in factors[1:]:
        width = coef.shape[1]
        coef = tf.reshape(tf.reshape(coef, [k, width, 1, -1]) * tf.reshape(t, [k, 1, 2, -1]), [k, width * 2, -1])
    return tf.complex(tf.matmul(basis_re, coef), tf.matmul(basis_im, coef))


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
        self._set_parameters(matrix, offset, real)
        program = self._program
        # long chains would need 2^L terms (``_chain_basis``): those multiply a table of 2 x 2 factors
        longest = max([c.shape[-1] for c in (program.first_chains, program.chains) if c is not None and c.size] or [0])
        self._by_table = longest > MAX_CHAIN
        if self._by_table:
            generators = np.stack([_MINUS_I_PAULI[a] for a in axes + [3]])  # the rotations, then the identity
            self._gen_re = tf.constant(generators.real, real)
            self._gen_im = tf.constant(generators.imag, real)
            self._eye = tf.constant(np.eye(2), real)
        else:
            self._chains = self._chain_program(program, axes, matrix, offset, real)
        signs = _z_string_signs(observables, {q: i for i, q in enumerate(self.qubits)}, n)
        self._signs = tf.constant(signs, real)
        # <O> of the state before the last permutation: sum_a |scale_a psi_index[a]|^2 S[a] = sum_b
        # |psi_b|^2 S'[b] with S' = (|scale|^2 S)[argsort(index)], so ``_evaluate`` skips that gather.
        last = self._program.last
        if last is not None:
            signs = (np.abs(last.scale)[:, None] ** 2 * signs)[np.argsort(last.index)]
        self._last_signs = tf.constant(signs, real)

    def _rotations(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """(rows, n_rotations + 1, 2, 2): exp(-i theta P / 2) of every rotation, then the identity."""
        n_factors = self._offset.shape[0]
        half = 0.5 * self._parameters(symbol_values)
        c = tf.reshape(tf.cos(half), [-1, n_factors, 1, 1])
        s = tf.reshape(tf.sin(half), [-1, n_factors, 1, 1])
        return tf.complex(c * self._eye + s * self._gen_re, s * self._gen_im)

    def _chain_program(
        self, program: StepProgram, axes: list[int], matrix: np.ndarray, offset: np.ndarray, real: tf.DType
    ) -> tuple | None:
        """Constants of ``_run``: every chain of the program (the first step's on the product state,
        then the other steps', padded with the identity to one length L) as the affine map from the
        symbol values to the half angles, each twice (cos and sin columns: sin x = cos(x - pi / 2)),
        and the (K, 4, 2^L) basis of ``_chain_basis`` (the first step's columns applied to the
        initial vectors, in entries 0 and 1)."""
        n, identity = self.n_qubits, program.n_params
        parts = [] if program.first_chains is None else [program.first_chains]
        if program.n_steps:
            parts.append(program.chains.reshape(-1, program.chains.shape[-1]))
        if not parts:
            return None
        length = max(p.shape[1] for p in parts)
        chains = np.concatenate(
            [np.pad(p, [(0, 0), (0, length - p.shape[1])], constant_values=identity) for p in parts]
        )
        ids, basis = _chain_basis(chains, dict(enumerate(axes)), program.constants, identity)
        basis = basis.reshape(len(chains), 2**length, 4)
        if program.first_chains is not None:
            vectors = np.einsum("kbij,kj->kbi", basis[:n].reshape(n, -1, 2, 2), np.stack(program.product))
            basis[:n] = np.concatenate([vectors, np.zeros_like(vectors)], axis=-1)
        full_matrix = np.concatenate([matrix, np.zeros((matrix.shape[0], 1))], axis=1)[:, ids.reshape(-1)]
        full_offset = np.append(offset, 0.0)[ids.reshape(-1)]
        angle_matrix = np.repeat(0.5 * full_matrix, 2, axis=1)
        angle_offset = np.repeat(0.5 * full_offset, 2) - np.tile([0.0, np.pi / 2], len(full_offset))
        basis = np.swapaxes(basis, 1, 2)
        return (
            tf.constant(angle_matrix, real),
            tf.constant(angle_offset[:, None], real),
            tf.constant(basis.real, real),
            tf.constant(basis.imag, real),
            0 if program.first_chains is None else n,
        )

    def _run(self, symbol_values: tf.Tensor, last: bool = True) -> tf.Tensor:
        """The program's state (rows, 2^n) for symbol values (rows, n_symbols): each qubit's map per
        step from ``_chain_maps`` (or, for chains longer than ``MAX_CHAIN``, from a table of factors)."""
        if self._by_table:
            return self._program.run(self._rotations(tf.cast(symbol_values, tf.float32)), last)
        if self._chains is None:
            return self._program.run_maps(tf.shape(symbol_values)[0], None, None, last)
        angle_matrix, angle_offset, basis_re, basis_im, n_first = self._chains
        values = tf.cast(symbol_values, angle_matrix.dtype)
        rows = tf.shape(values)[0]
        if angle_matrix.shape[0] == 0:  # no symbols: oneDNN aborts on a zero inner dimension
            angles = tf.zeros(tf.stack([1, rows]), angle_matrix.dtype) + angle_offset
        else:
            angles = tf.matmul(angle_matrix, values, transpose_a=True, transpose_b=True) + angle_offset
        out = _chain_maps(tf.cos(angles), basis_re, basis_im)  # (K, 4, rows)
        steps = self._program.n_steps
        first, rest = tf.split(out, [n_first, out.shape[0] - n_first]) if n_first and steps else (out, out)
        vectors = tf.transpose(first[:, :2], [2, 0, 1]) if n_first else None
        maps = None
        if steps:
            maps = tf.transpose(tf.reshape(rest, [steps, self.n_qubits, 2, 2, -1]), [4, 0, 1, 2, 3])
        return self._program.run_maps(rows, vectors, maps, last)

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        states = self._run(symbol_values, last=False)
        return self._readout(states, self._last_signs)

    def states(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """The final states (rows, 2^n) for symbol values (rows, n_symbols), qubit 0 most significant."""
        return self._run(symbol_values)

    def readout(self, states: tf.Tensor) -> tf.Tensor:
        """<O_k> (..., n_observables) float32 of states (..., 2^n)."""
        return self._readout(states, self._signs)

    @staticmethod
    def _readout(states: tf.Tensor, signs: tf.Tensor) -> tf.Tensor:
        probs = tf.math.square(tf.math.real(states)) + tf.math.square(tf.math.imag(states))
        return tf.cast(tf.tensordot(probs, signs, 1), tf.float32)


__all__ = ["StateVectorExpectation"]

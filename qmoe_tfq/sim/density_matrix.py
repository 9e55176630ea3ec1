"""Stage: sim. An exact, differentiable density-matrix simulator in TensorFlow, for noisy circuits.

It holds rho in the Pauli basis, rho = 2^-n sum_P r_P P with real r_P = Tr(rho P), so every gate and
channel is a real linear map (its Pauli transfer matrix, PTM), <P> is read off as r_P, rotations are
4x4 maps on one qubit axis, and CNOT, CZ and depolarizing channels are signed, scaled permutations
of the 4^n coefficients. The steps run as ``executor.StepProgram`` lays them out; gradients are
ordinary TF autodiff.

Parameters enter per row as symbol values: rotation angles, and the probability of a
``SymbolicDepolarize`` channel (PTM diag(1, l, l, l) with l = 1 - 4p/3), so one compiled engine can
evaluate a circuit over a whole grid of noise levels in one call. Channels that meet in a run of
single-qubit gates on one qubit (noise after every gate) are merged into one factor first (``_compile``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cirq
import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.noise import SymbolicDepolarize
from qmoe_tfq.sim.executor import CompiledEngine, StepProgram
from qmoe_tfq.sim.program import (
    Local,
    Monomial,
    Observable,
    Op,
    affine_in_symbol,
    affine_map,
    as_monomial,
    base_digits,
    build_steps,
    circuit_qubits,
    embed_monomial,
    rotation_angle,
    rotation_axis,
)

_PAULIS = (np.eye(2), cirq.unitary(cirq.X), cirq.unitary(cirq.Y), cirq.unitary(cirq.Z))
_PAULI_INDEX = {cirq.X: 1, cirq.Y: 2, cirq.Z: 3}
# Rotation about axis P mixes the other two Paulis (Q, R), with (P, Q, R) cyclic.
_ROTATION_PLANES = {1: (2, 3), 2: (3, 1), 3: (1, 2)}
_DEPOLARIZING = 0  # parameter kind of a SymbolicDepolarize channel (rotations use their axis 1..3)


def pauli_transfer_matrix(kraus: Sequence[np.ndarray]) -> np.ndarray:
    """T[a, b] = 2^-k sum_K Tr(P_a K P_b K^dagger) for a k-qubit channel (qubit 0 most significant)."""
    k = int(round(np.log2(kraus[0].shape[0])))
    basis = [_kron(ps) for ps in itertools.product(_PAULIS, repeat=k)]
    t = np.zeros((4**k, 4**k))
    for b, pb in enumerate(basis):
        out = sum(m @ pb @ m.conj().T for m in kraus)
        for a, pa in enumerate(basis):
            t[a, b] = np.real(np.trace(pa @ out)) / 2**k
    return t


def _kron(mats: Sequence[np.ndarray]) -> np.ndarray:
    out = np.eye(1)
    for m in mats:
        out = np.kron(out, m)
    return out


def _parameter_constants(kind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K0, K1, K2 with PTM = K0 + a K1 + b K2 for the per-row coefficients (a, b) of the parameter:
    (cos theta, sin theta) for exp(-i theta P_axis / 2), (1 - 4p/3, 0) for depolarize(p)."""
    k0, k1, k2 = np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))
    k0[0, 0] = 1.0
    if kind == _DEPOLARIZING:
        k1[1, 1] = k1[2, 2] = k1[3, 3] = 1.0
        return k0, k1, k2
    q, r = _ROTATION_PLANES[kind]
    k0[kind, kind] = 1.0
    k1[q, q] = k1[r, r] = 1.0
    k2[q, r], k2[r, q] = -1.0, 1.0
    return k0, k1, k2


def _embed_monomial(t: np.ndarray, positions: Sequence[int], n: int) -> Monomial:
    """A k-qubit monomial PTM on qubits ``positions`` as a monomial on all 4^n coefficients."""
    found = as_monomial(t)
    if found is None:
        raise ValueError(
            "only multi-qubit operations with a signed-permutation Pauli transfer matrix "
            "(Clifford gates such as CNOT, CZ, SWAP, or Pauli channels) are supported"
        )
    mono = embed_monomial(found, positions, n, base=4)
    return Monomial(mono.index, mono.scale.astype(np.float64))


@dataclass
class _Program:
    n_qubits: int
    steps: list[Monomial | Local]
    kinds: list[int]
    powers: list[int]
    matrix: np.ndarray
    offset: np.ndarray


def _depolarizing(op: cirq.Operation) -> bool:
    """A single-qubit depolarizing channel, constant or symbolic."""
    gate = op.gate
    return isinstance(gate, SymbolicDepolarize) or (
        isinstance(gate, cirq.DepolarizingChannel) and gate.num_qubits() == 1
    )


def _ends_run(op: cirq.Operation) -> bool:
    """Whether ``op`` ends the runs of its qubits, past which no depolarizing channel may move: anything but
    another depolarizing channel or a single-qubit unitary (rotation or constant gate), whose PTM diag(1, R),
    R in SO(3), commutes with a channel's diag(1, l, l, l)."""
    single_unitary = len(op.qubits) == 1 and (rotation_axis(op.gate) is not None or cirq.has_unitary(op))
    return not (_depolarizing(op) or single_unitary)


def _merged_channels(circuit: cirq.Circuit, position: dict[cirq.Qid, int], symbol_index: dict[str, int]) -> dict:
    """For each depolarizing channel that meets another of its kind in a run of single-qubit operations on its
    qubit (the run ends at the next operation that does not commute with it, or at the end): the run it
    belongs to. Channels alone in their run are not moved, so circuits without such meetings compile as before."""
    run_of: dict[int, tuple[int, int, object]] = {}  # id(op) -> (qubit, run, kind)
    count: dict[tuple[int, int, object], int] = {}
    runs = dict.fromkeys(position.values(), 0)
    for op in circuit.all_operations():
        pos = [position[q] for q in op.qubits]
        if _depolarizing(op):
            key = (pos[0], runs[pos[0]], _channel_kind(op, symbol_index))
            run_of[id(op)] = key
            count[key] = count.get(key, 0) + 1
        elif _ends_run(op):
            for q in pos:
                runs[q] += 1
    return {i: key for i, key in run_of.items() if count[key] > 1}


def _channel_kind(op: cirq.Operation, symbol_index: dict[str, int]) -> object:
    """'constant', or the affine row (symbol, a, b) of a symbolic channel's probability."""
    if isinstance(op.gate, SymbolicDepolarize):
        return affine_in_symbol(op.gate.p, symbol_index, op, "noise probability")
    return "constant"


def _compile(circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], symbol_names: Sequence[str]) -> _Program:
    """Depolarizing channels that meet in a run of single-qubit operations on their qubit (``every_gate``
    noise) are moved to the end of the run (they commute with single-qubit unitaries: PTMs diag(1, R), R in
    SO(3), against diag(1, l, l, l)) and merged into one: a constant diag(1, l, l, l) with l the product,
    or one factor l^k for k channels of the same symbolic probability."""
    position = {q: i for i, q in enumerate(qubits)}
    symbol_index = {name: i for i, name in enumerate(symbol_names)}
    n = len(qubits)
    ops: list[Op] = []
    kinds: list[int] = []
    powers: list[int] = []
    rows: list[tuple[int, float, float]] = []
    merged = _merged_channels(circuit, position, symbol_index)
    pending: dict[int, dict[object, float]] = {}  # qubit -> kind -> l (constant) or count (symbolic)

    def constant(pos: tuple[int, ...], t: np.ndarray) -> None:
        if len(pos) > 1:
            ops.append(Op(pos, _embed_monomial(t, pos, n), True))
        else:
            ops.append(Op(pos, t, as_monomial(t) is not None))

    def symbolic(pos: tuple[int, ...], row: tuple[int, float, float], kind: int, power: int = 1) -> None:
        rows.append(row)
        kinds.append(kind)
        powers.append(power)
        ops.append(Op(pos, len(kinds) - 1, False))

    def flush(q: int) -> None:
        for kind, value in pending.pop(q, {}).items():
            if kind == "constant":
                constant((q,), np.diag([1.0, value, value, value]))
            else:
                symbolic((q,), kind, _DEPOLARIZING, int(value))

    for op in circuit.all_operations():
        pos = tuple(position[q] for q in op.qubits)
        gate = op.gate
        if id(op) in merged:
            q, _, kind = merged[id(op)]
            waiting = pending.setdefault(q, {})
            if kind == "constant":
                waiting[kind] = waiting.get(kind, 1.0) * (1.0 - 4.0 * gate.p / 3.0)
            else:
                waiting[kind] = waiting.get(kind, 0) + 1
            continue
        if _ends_run(op):
            for q in pos:
                flush(q)
        if cirq.is_parameterized(op):
            axis = rotation_axis(gate)
            if axis is not None:
                symbolic(pos, rotation_angle(op, symbol_index), axis)
            elif isinstance(gate, SymbolicDepolarize):
                symbolic(pos, _channel_kind(op, symbol_index), _DEPOLARIZING)
            else:
                raise ValueError(
                    f"unsupported parameterised operation {op}: only X/Y/Z rotations and SymbolicDepolarize"
                )
            continue
        if not cirq.has_kraus(op):
            raise ValueError(f"unsupported operation {op}: it has no Kraus representation")
        constant(pos, pauli_transfer_matrix(cirq.kraus(op)))
    for q in sorted(pending):
        flush(q)
    steps = build_steps(ops, n, lambda t, positions: _embed_monomial(t, positions, n))
    matrix, offset = affine_map(rows, len(symbol_names))
    return _Program(n, steps, kinds, powers, matrix, offset)


def _observable_terms(observables: Sequence[Observable], position: dict[cirq.Qid, int], n: int):
    """Unique Pauli-basis indices and the real (n_terms, n_obs) coefficient matrix."""
    terms: dict[int, int] = {}
    entries: list[tuple[int, int, float]] = []
    for j, obs in enumerate(observables):
        strings = obs if isinstance(obs, cirq.PauliSum) else [obs]
        for ps in strings:
            coef = complex(ps.coefficient)
            if abs(coef.imag) > 1e-12:
                raise ValueError(f"observable {obs} is not Hermitian")
            a = sum(_PAULI_INDEX[p] * 4 ** (n - 1 - position[q]) for q, p in ps.items())
            row = terms.setdefault(a, len(terms))
            entries.append((row, j, coef.real))
    weights = np.zeros((len(terms), len(observables)))
    for row, j, c in entries:
        weights[row, j] += c
    return np.array(list(terms), dtype=np.int64), weights


class DensityMatrixExpectation(CompiledEngine):
    """<O_k> of a noisy parameterised circuit for a batch of symbol values, exactly, with TF gradients.

    Same call interface as ``ExactExpectation``: ``(batch, n_symbols)`` float32 in, ``(batch,
    n_observables)`` float32 out. Supports X/Y/Z rotations whose angle is affine in one symbol,
    ``SymbolicDepolarize`` channels whose probability is affine in one symbol, any constant
    single-qubit gate or channel (e.g. ``cirq.depolarize``), and constant multi-qubit Clifford gates
    (CNOT, CZ). ``qubits`` fixes the qubit order (default: sorted). ``dtype`` defaults to float64 up
    to 5 qubits and float32 above (the faster of the two on CPU there).
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: Sequence[str],
        observables: Sequence[Observable],
        qubits: Sequence[cirq.Qid] | None = None,
        dtype: tf.DType | None = None,
    ) -> None:
        self.qubits = circuit_qubits(circuit, observables, qubits)
        self.symbol_names = list(symbol_names)
        n = len(self.qubits)
        self.dtype = dtype = dtype or (tf.float64 if n <= 5 else tf.float32)
        program = _compile(circuit, self.qubits, self.symbol_names)
        self.n_qubits = n
        # the parameterised factors, then the identity: a rotation by angle 0
        kinds = program.kinds + [3]
        initial = np.all(base_digits(n, 4) % 3 == 0, axis=1).astype(np.float64)  # |0..0><0..0|: I, Z only
        self._program = StepProgram(program.steps, n, 4, len(program.kinds), initial, dtype)
        k0, k1, k2 = (np.stack(m) for m in zip(*(_parameter_constants(kind) for kind in kinds)))
        self._k0, self._k1, self._k2 = (tf.constant(m, dtype) for m in (k0, k1, k2))
        self._is_rotation = tf.constant([kind != _DEPOLARIZING for kind in kinds])
        powers = np.array(program.powers + [1], dtype=np.float64)
        merged = np.any(powers > 1)
        self._powers = tf.constant(powers, dtype) if merged else None
        self._merged = tf.constant(powers > 1) if merged else None
        terms, weights = _observable_terms(observables, {q: i for i, q in enumerate(self.qubits)}, n)
        self._terms = tf.constant(terms)
        self._weights = tf.constant(weights, dtype)
        self._set_parameters(program.matrix, program.offset, dtype)

    def _factors(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """(rows, n_params + 1, 4, 4): the PTM of every parameterised factor, then the identity."""
        n_factors = self._offset.shape[0]
        linear = self._parameters(symbol_values)
        lam = 1.0 - (4.0 / 3.0) * linear
        if self._powers is not None:
            lam = tf.where(self._merged, tf.pow(lam, self._powers), lam)
        a = tf.where(self._is_rotation, tf.cos(linear), lam)
        b = tf.where(self._is_rotation, tf.sin(linear), tf.zeros_like(linear))
        a = tf.reshape(a, [-1, n_factors, 1, 1])
        b = tf.reshape(b, [-1, n_factors, 1, 1])
        return self._k0 + a * self._k1 + b * self._k2

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        r = self._program.run(self._factors(symbol_values))
        return tf.cast(tf.matmul(tf.gather(r, self._terms, axis=1), self._weights), tf.float32)


__all__ = ["DensityMatrixExpectation", "pauli_transfer_matrix"]

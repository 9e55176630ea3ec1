"""Depolarizing noise on the router circuit, and the engines that evaluate noisy circuits.

Placements (``noisy_circuit``): ``authors`` puts ``cirq.depolarize(p)`` on every qubit once after the
RX embedding and once after the whole variational block, as the authors' notebook did; ``every_gate``
puts one after every gate on each qubit the gate acts on, as the paper's text says.

Engines (``make_expectation``):

* ``exact``: noiseless circuits go to TFQ's analytic op (``ExactExpectation``); noisy ones to
  ``DensityMatrixExpectation``, an exact, differentiable density-matrix simulator written in
  TensorFlow. It holds rho in the Pauli basis, rho = 2^-n sum_P r_P P with real r_P = Tr(rho P), so
  every gate and channel is a real linear map (its Pauli transfer matrix), <P> is read off as r_P,
  rotations are 4x4 maps on one qubit axis, and CNOT, CZ and depolarizing channels are signed,
  scaled permutations of the 4^n coefficients. Gradients are ordinary TF autodiff.
* ``tfq_sampled``: TFQ's Monte-Carlo trajectory op (``tfq.noise.expectation``, as in
  ``tfq.layers.NoisyPQC``) with ``repetitions`` trajectories and ParameterShift gradients. It seeds
  itself from the OS, so its results are not reproducible bit for bit.
"""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import dataclasses
import functools
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cirq
import numpy as np
import sympy
import tensorflow as tf
import tensorflow_quantum as tfq

from qmoe_tfq.circuits import RouterCircuit
from qmoe_tfq.config import ENGINES, NOISE_PLACEMENTS, ModelSpec
from qmoe_tfq.errors import check_choice, check_positive_int, check_probability
from qmoe_tfq.tfq_ops import ExactExpectation

if TYPE_CHECKING:
    from qmoe_tfq.model import MixtureOfExperts

PLACEMENTS = NOISE_PLACEMENTS
__all__ = [
    "ENGINES",
    "PLACEMENTS",
    "DensityMatrixExpectation",
    "SampledExpectation",
    "make_expectation",
    "noisy_circuit",
    "with_noise",
]

Observable = cirq.PauliString | cirq.PauliSum


def noisy_circuit(rc: RouterCircuit, p: float, placement: str) -> cirq.Circuit:
    """``rc.circuit`` with single-qubit ``cirq.depolarize(p)`` channels placed as ``placement`` says."""
    check_probability("noise", p)
    check_choice("noise_placement", placement, PLACEMENTS)
    if rc.embedding is None or rc.ansatz is None:
        raise ValueError("noisy_circuit needs a RouterCircuit built by router_circuit (embedding and ansatz)")
    channel = cirq.depolarize(float(p))
    if placement == "authors":
        layer = cirq.Circuit(cirq.Moment(channel.on_each(rc.qubits)))
        return rc.embedding + layer + rc.ansatz + layer
    ops: list[cirq.Operation] = []
    for op in itertools.chain(rc.embedding.all_operations(), rc.ansatz.all_operations()):
        ops.append(op)
        ops.extend(channel.on_each(op.qubits))
    return cirq.Circuit(ops)


# ----------------------------------------------------------------------------------------------
# Pauli-basis compilation

_PAULIS = (np.eye(2), cirq.unitary(cirq.X), cirq.unitary(cirq.Y), cirq.unitary(cirq.Z))
_PAULI_INDEX = {cirq.X: 1, cirq.Y: 2, cirq.Z: 3}
# Rotation about axis P mixes the other two Paulis (Q, R), with (P, Q, R) cyclic.
_ROTATION_PLANES = {1: (2, 3), 2: (3, 1), 3: (1, 2)}
_ROTATION_GATES = ((cirq.XPowGate, 1), (cirq.YPowGate, 2), (cirq.ZPowGate, 3))


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


def _rotation_constants(axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K0, K1, K2 with PTM(theta) = K0 + cos(theta) K1 + sin(theta) K2 for exp(-i theta P_axis / 2)."""
    q, r = _ROTATION_PLANES[axis]
    k0, k1, k2 = np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))
    k0[0, 0] = k0[axis, axis] = 1.0
    k1[q, q] = k1[r, r] = 1.0
    k2[q, r], k2[r, q] = -1.0, 1.0
    return k0, k1, k2


@dataclass
class _Monomial:
    """r'[a] = scale[a] * r[index[a]] on the flattened 4^n coefficients (index is a permutation)."""

    index: np.ndarray
    scale: np.ndarray

    def then(self, other: _Monomial) -> _Monomial:
        return _Monomial(self.index[other.index], other.scale * self.scale[other.index])


@dataclass
class _Local:
    """Single-qubit maps: per qubit, factors in time order, each a constant 4x4 or a rotation id."""

    factors: dict[int, list[np.ndarray | int]] = field(default_factory=dict)


def _as_monomial(t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(index, scale), index a permutation, with t[a, index[a]] = scale[a] and no other non-zeros
    (zero rows get an unused column and scale 0), or None if t is not of that form."""
    nz = np.abs(t) > 1e-12
    if np.any(nz.sum(axis=1) > 1) or np.any(nz.sum(axis=0) > 1):
        return None
    index = np.argmax(nz, axis=1)
    empty = ~nz.any(axis=1)
    index[empty] = np.flatnonzero(~nz.any(axis=0))
    return index, np.where(empty, 0.0, t[np.arange(len(t)), index])


@functools.cache
def _pauli_digits(n: int) -> np.ndarray:
    """(4^n, n) Pauli index per qubit of every flattened coefficient, qubit 0 most significant."""
    return np.array(list(itertools.product(range(4), repeat=n)))


def _embed_monomial(t: np.ndarray, positions: Sequence[int], n: int) -> _Monomial:
    """A k-qubit monomial PTM on qubits ``positions`` as a monomial on all 4^n coefficients."""
    found = _as_monomial(t)
    if found is None:
        raise ValueError("only multi-qubit operations with a signed-permutation Pauli transfer matrix "
                         "(Clifford gates such as CNOT, CZ, SWAP, or Pauli channels) are supported")
    local_index, local_scale = found
    digits = _pauli_digits(n)
    k = len(positions)
    local = sum(digits[:, q] * 4 ** (k - 1 - j) for j, q in enumerate(positions))
    src_local = local_index[local]
    src = digits.copy()
    for j, q in enumerate(positions):
        src[:, q] = (src_local // 4 ** (k - 1 - j)) % 4
    flat = sum(src[:, q] * 4 ** (n - 1 - q) for q in range(n))
    return _Monomial(flat.astype(np.int64), local_scale[local].astype(np.float64))


def _linear_angle(exponent: sympy.Basic, symbol_index: dict[str, int], op: cirq.Operation):
    """theta = pi * exponent = a * value[symbol] + b; returns (symbol position, a, b)."""
    theta = sympy.pi * exponent
    free = sorted(theta.free_symbols, key=str)
    if len(free) != 1 or str(free[0]) not in symbol_index:
        raise ValueError(f"{op}: the exponent must depend on exactly one of the given symbols")
    s = free[0]
    a, b = sympy.diff(theta, s), theta.subs(s, 0)
    if not (a.is_number and b.is_number):
        raise ValueError(f"{op}: the angle must be linear in its symbol")
    return symbol_index[str(s)], float(a), float(b)


@dataclass
class _Program:
    n_qubits: int
    steps: list[_Monomial | _Local]
    rot_axis: list[int]
    rot_matrix: np.ndarray
    rot_offset: np.ndarray


@dataclass
class _Op:
    """One circuit operation: a rotation id or constant PTM (one qubit), or a monomial (several)."""

    qubits: tuple[int, ...]
    factor: np.ndarray | int | _Monomial
    monomial: bool


def _compile(circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], symbol_names: Sequence[str]) -> _Program:
    position = {q: i for i, q in enumerate(qubits)}
    symbol_index = {name: i for i, name in enumerate(symbol_names)}
    n = len(qubits)
    ops: list[_Op] = []
    rot_axis: list[int] = []
    rot_rows: list[tuple[int, float, float]] = []
    for op in circuit.all_operations():
        pos = tuple(position[q] for q in op.qubits)
        gate = op.gate
        if cirq.is_parameterized(op):
            axis = next((a for g, a in _ROTATION_GATES if isinstance(gate, g)), None)
            if axis is None:
                raise ValueError(f"unsupported parameterised operation {op}: only X/Y/Z rotations")
            rot_rows.append(_linear_angle(gate.exponent, symbol_index, op))
            rot_axis.append(axis)
            ops.append(_Op(pos, len(rot_axis) - 1, False))
            continue
        if not cirq.has_kraus(op):
            raise ValueError(f"unsupported operation {op}: it has no Kraus representation")
        t = pauli_transfer_matrix(cirq.kraus(op))
        if len(pos) > 1:
            ops.append(_Op(pos, _embed_monomial(t, pos, n), True))
        else:
            ops.append(_Op(pos, t, _as_monomial(t) is not None))
    steps: list[_Monomial | _Local] = []
    for local, group in _schedule(ops, n):
        if local:
            step = _Local()
            for op in group:
                step.factors.setdefault(op.qubits[0], []).append(op.factor)
            steps.append(step)
            continue
        mono = None
        for op in group:
            m = op.factor if isinstance(op.factor, _Monomial) else _embed_monomial(op.factor, op.qubits, n)
            mono = m if mono is None else mono.then(m)
        steps.append(mono)
    steps = _fold_constant_steps(steps, n)
    matrix = np.zeros((len(symbol_names), len(rot_rows)))
    offset = np.zeros(len(rot_rows))
    for j, (i, a, b) in enumerate(rot_rows):
        matrix[i, j], offset[j] = a, b
    return _Program(n, steps, rot_axis, matrix, offset)


def _schedule(ops: list[_Op], n: int) -> list[tuple[bool, list[_Op]]]:
    """Reorder ``ops`` (respecting each qubit's order) into alternating maximal groups: single-qubit
    operations (``True``) and multi-qubit or constant monomial ones (``False``), so each local group
    costs one 4x4 map per qubit and each monomial group one gather."""
    queues = [deque() for _ in range(n)]
    for i, op in enumerate(ops):
        for q in op.qubits:
            queues[q].append(i)
    groups: list[tuple[bool, list[_Op]]] = []
    local, done = True, 0
    while done < len(ops):
        group: list[_Op] = []
        progress = True
        while progress:
            progress = False
            for q in range(n):
                while queues[q]:
                    i = queues[q][0]
                    op = ops[i]
                    ready = all(queues[p] and queues[p][0] == i for p in op.qubits)
                    if not ready or not (len(op.qubits) == 1 if local else op.monomial):
                        break
                    for p in op.qubits:
                        queues[p].popleft()
                    group.append(op)
                    progress = True
        if group:
            groups.append((local, group))
            done += len(group)
        local = not local
    return groups


def _fold_constant_steps(steps: list[_Monomial | _Local], n: int) -> list[_Monomial | _Local]:
    """Multiply adjacent constant factors, move qubits whose single-qubit maps are constant monomials
    out into a monomial step, and merge adjacent monomials."""
    out: list[_Monomial | _Local] = []

    def emit(step: _Monomial | _Local) -> None:
        if isinstance(step, _Monomial) and out and isinstance(out[-1], _Monomial):
            out[-1] = out[-1].then(step)
        else:
            out.append(step)

    for step in steps:
        if isinstance(step, _Monomial):
            emit(step)
            continue
        rest = _Local()
        for q, factors in step.factors.items():
            merged: list[np.ndarray | int] = []
            for f in factors:
                if isinstance(f, np.ndarray) and merged and isinstance(merged[-1], np.ndarray):
                    merged[-1] = f @ merged[-1]
                else:
                    merged.append(f)
            if len(merged) == 1 and isinstance(merged[0], np.ndarray) and _as_monomial(merged[0]) is not None:
                emit(_embed_monomial(merged[0], [q], n))
            else:
                rest.factors[q] = merged
        if rest.factors:
            emit(rest)
    return out


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


def _apply_monomial(r: tf.Tensor, index: tf.Tensor, inverse: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    @tf.custom_gradient
    def apply(x):
        def grad(g):
            return tf.gather(g * scale, inverse, axis=1)

        return tf.gather(x, index, axis=1) * scale, grad

    return apply(r)


class DensityMatrixExpectation:
    """<O_k> of a noisy parameterised circuit for a batch of symbol values, exactly, with TF gradients.

    Same call interface as ``ExactExpectation``: ``(batch, n_symbols)`` float32 in, ``(batch,
    n_observables)`` float32 out. Supports X/Y/Z rotations whose angle is linear in one symbol, any
    constant single-qubit gate or channel (e.g. ``cirq.depolarize``), and constant multi-qubit
    Clifford gates (CNOT, CZ). ``qubits`` fixes the qubit order (default: sorted). ``dtype``
    defaults to float64 up to 5 qubits and float32 above (the faster of the two on CPU there).
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: Sequence[str],
        observables: Sequence[Observable],
        qubits: Sequence[cirq.Qid] | None = None,
        dtype: tf.DType | None = None,
    ) -> None:
        if qubits is None:
            found = set(circuit.all_qubits())
            for obs in observables:
                found |= set(obs.qubits)
            qubits = sorted(found)
        self.qubits = tuple(qubits)
        self.symbol_names = list(symbol_names)
        n = len(self.qubits)
        self.dtype = dtype = dtype or (tf.float64 if n <= 5 else tf.float32)
        program = _compile(circuit, self.qubits, self.symbol_names)
        self.n_qubits = n
        self._steps: list[tuple] = []
        for step in program.steps:
            if isinstance(step, _Monomial):
                inverse = np.argsort(step.index)
                self._steps.append(
                    ("mono", tf.constant(step.index), tf.constant(inverse), tf.constant(step.scale, dtype))
                )
            else:
                per_qubit = [
                    (q, [f if isinstance(f, int) else tf.constant(f, dtype) for f in fs])
                    for q, fs in sorted(step.factors.items())
                ]
                self._steps.append(("local", per_qubit))
        k = [_rotation_constants(a) for a in program.rot_axis] or [(np.zeros((4, 4)),) * 3]
        self._k0, self._k1, self._k2 = (tf.constant(np.stack(m), dtype) for m in zip(*k))
        self._rot_matrix = tf.constant(program.rot_matrix, dtype)
        self._rot_offset = tf.constant(program.rot_offset, dtype)
        self._initial = tf.constant(np.all(_pauli_digits(n) % 3 == 0, axis=1)[None, :], dtype)
        terms, weights = _observable_terms(observables, {q: i for i, q in enumerate(self.qubits)}, n)
        self._terms = tf.constant(terms)
        self._weights = tf.constant(weights, dtype)
        self._forward = tf.function(
            self._evaluate, input_signature=[tf.TensorSpec([None, len(self.symbol_names)], tf.float32)]
        )

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        return self._forward(tf.convert_to_tensor(symbol_values, tf.float32))

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        n = self.n_qubits
        batch = tf.shape(symbol_values)[0]
        angles = tf.matmul(tf.cast(symbol_values, self.dtype), self._rot_matrix) + self._rot_offset
        c = tf.cos(angles)[:, :, None, None]
        s = tf.sin(angles)[:, :, None, None]
        rotations = self._k0 + c * self._k1 + s * self._k2
        r = tf.tile(self._initial, [batch, 1])
        for step in self._steps:
            if step[0] == "mono":
                r = _apply_monomial(r, *step[1:])
                continue
            for q, factors in step[1]:
                m = None
                for f in factors:
                    f = rotations[:, f] if isinstance(f, int) else f
                    m = f if m is None else tf.matmul(f, m)
                x = tf.reshape(r, [batch, 4**q, 4, 4 ** (n - 1 - q)])
                eq = "bij,bajc->baic" if m.shape.rank == 3 else "ij,bajc->baic"
                r = tf.reshape(tf.einsum(eq, m, x), [batch, 4**n])
        out = tf.matmul(tf.gather(r, self._terms, axis=1), self._weights)
        return tf.cast(out, tf.float32)


class SampledExpectation:
    """<O_k> of a noisy circuit from TFQ's Monte-Carlo trajectories (``repetitions`` per value),
    with ParameterShift gradients. Same call interface as ``ExactExpectation``; not bit-reproducible."""

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: Sequence[str],
        observables: Sequence[Observable],
        repetitions: int = 1000,
    ) -> None:
        check_positive_int("repetitions", repetitions)
        self.repetitions = repetitions
        self.program = tfq.convert_to_tensor([circuit])
        self.observables = tfq.convert_to_tensor([[cirq.PauliSum.wrap(o) for o in observables]])
        self.n_observables = len(observables)
        self.symbol_names = tf.constant(list(symbol_names))
        self.op = tfq.differentiators.ParameterShift().generate_differentiable_op(
            sampled_op=tfq.noise.expectation
        )

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(symbol_values)[0]
        programs = tf.tile(self.program, [batch])
        ops = tf.tile(self.observables, [batch, 1])
        reps = tf.fill([batch, self.n_observables], self.repetitions)
        return self.op(programs, self.symbol_names, symbol_values, ops, reps)


def make_expectation(
    rc: RouterCircuit, observables: Sequence[Observable], spec: ModelSpec
) -> Callable[[tf.Tensor], tf.Tensor]:
    """The expectation op for ``spec``: TFQ analytic when noiseless and exact, the density-matrix
    engine when noisy and exact, TFQ trajectories for ``engine="tfq_sampled"`` (any noise)."""
    names = [s.name for s in rc.symbols]
    if spec.engine == "exact" and spec.noise == 0:
        return ExactExpectation(rc.circuit, names, list(observables), spec.differentiator)
    circuit = noisy_circuit(rc, spec.noise, spec.noise_placement)
    if spec.engine == "exact":
        return DensityMatrixExpectation(circuit, names, observables, qubits=rc.qubits)
    return SampledExpectation(circuit, names, observables, spec.repetitions)


def with_noise(
    model: MixtureOfExperts,
    noise: float,
    placement: str = "authors",
    engine: str = "exact",
    repetitions: int = 1000,
) -> MixtureOfExperts:
    """A copy of ``model`` with the same weights whose router runs under ``noise`` (the "deploy"
    protocol: train noiseless, evaluate under noise). Classical routers are copied unchanged."""
    from qmoe_tfq.model import MixtureOfExperts

    spec = dataclasses.replace(
        model.spec, noise=noise, noise_placement=placement, engine=engine, repetitions=repetitions
    )
    _, n_features, n_classes = model.experts.kernel.shape
    copy = MixtureOfExperts(spec, int(n_features), int(n_classes), seed=0)
    copy.set_weights(model.get_weights())
    return copy

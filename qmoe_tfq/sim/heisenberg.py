"""Stage: sim. Exact <Z_i> of a noisy circuit after an RX embedding, as a trigonometric polynomial (numpy); after an
amplitude embedding, as a quadratic form (``quadratic_forms``).

A circuit whose only data-dependent gates are RX(x_i) on |0> at the start of each qubit, followed by
any constant gates and channels (unitaries, Kraus channels, one or two qubits), gives
<O>(x) = sum_g C[g] prod_i f_{g_i}(x_i) with f = (1, cos x_i, sin x_i): the embedded state is the
product of (I + cos x_i Z - sin x_i Y) / 2 and everything after it is linear and independent of x.
``fourier_coefficients`` finds C exactly, once per circuit, by propagating each observable
backwards through the circuit in the Pauli basis (the Heisenberg picture: o <- T^T o for each
operation's Pauli transfer matrix T, rho = 2^-n sum_P r_P P as in ``sim.density_matrix``); every test
point then costs one product with the 3^n features (``evaluate``). Operations are fused first
(single-qubit maps absorbed into the neighbouring two-qubit map on that qubit; consecutive maps on
the same pair multiplied), so the cost is about (two-qubit blocks) x (observables) x 16 x 4^n.

The embedding gates are the operations carrying ``embedding_tag`` (their own angle is ignored: each
is taken as RX(x_i) of the i-th qubit of ``qubits``); they must be the first operation on their qubit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cirq
import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

_PAULIS = np.stack([np.eye(2), cirq.unitary(cirq.X), cirq.unitary(cirq.Y), cirq.unitary(cirq.Z)]).astype(complex)
# Pauli vector (I, X, Y, Z) of RX(x)|0><0|RX(x)^dagger in the features (1, cos x, sin x).
_EMBEDDED = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def pauli_basis(k: int) -> np.ndarray:
    """The 4^k k-qubit Pauli matrices (qubit 0 most significant), shape (4^k, 2^k, 2^k)."""
    out = _PAULIS
    for _ in range(k - 1):
        out = np.einsum("aij,bkl->abikjl", out, _PAULIS).reshape(len(out) * 4, *(2 * out.shape[1],) * 2)
    return out


# PTMs of constant gates and channels already computed in this process (noise channels repeat).
_PTM_CACHE: dict = {}
_PTM_CACHE_LIMIT = 20000


def ptm(op: cirq.Operation) -> np.ndarray:
    """Pauli transfer matrix T[a, b] = 2^-k Tr(P_a E(P_b)) of a constant operation (unitary or
    channel); memoised by gate for the gate types that repeat (channels, two-qubit gates)."""
    gate = op.untagged.gate
    cacheable = gate is not None and (len(op.qubits) == 2 or not cirq.has_unitary(gate))
    if cacheable:
        try:
            return _PTM_CACHE[gate]
        except (KeyError, TypeError):
            pass
    t = _ptm(op)
    if cacheable and len(_PTM_CACHE) < _PTM_CACHE_LIMIT:
        try:
            _PTM_CACHE[gate] = t
        except TypeError:
            pass
    return t


def _ptm(op: cirq.Operation) -> np.ndarray:
    k = len(op.qubits)
    if cirq.has_unitary(op):
        kraus = [cirq.unitary(op)]
    elif cirq.has_kraus(op):
        kraus = list(cirq.kraus(op))
    else:
        raise ValueError(f"operation {op} has neither a unitary nor a Kraus representation")
    basis = pauli_basis(k)
    image = sum(np.einsum("ij,bjk,lk->bil", m, basis, m.conj()) for m in kraus)
    return np.real(np.einsum("aij,bji->ab", basis, image)) / 2**k


def _non_embedding_ops(
    circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], embedding_tag: str, embedded: list[int]
) -> Iterator[tuple[cirq.Operation, tuple[int, ...]]]:
    """(operation, qubit positions) of every operation that is not an embedding gate, in circuit
    order; the embedding gates' positions are appended to ``embedded``. Raises ValueError for an
    embedding gate on several qubits or after another operation on its qubit."""
    pos = {q: i for i, q in enumerate(qubits)}
    touched: set[int] = set()
    for op in circuit.all_operations():
        where = tuple(pos[q] for q in op.qubits)
        if embedding_tag in op.tags:
            if len(where) != 1 or where[0] in touched:
                raise ValueError(f"embedding gate {op} must act on one qubit, before any other operation on it")
            embedded.append(where[0])
            touched.add(where[0])
            continue
        touched.update(where)
        yield op, where


def _check_embedded(embedded: list[int], n: int) -> None:
    if sorted(embedded) != list(range(n)):
        raise ValueError(f"every qubit needs one embedding gate; found them on positions {sorted(embedded)}")


def fuse(circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], embedding_tag: str) -> tuple[list[int], list]:
    """(embedded qubit positions, blocks): the constant operations as a list of (positions, T) with
    one- or two-qubit PTMs in circuit order, fused (module docstring)."""
    pending: dict[int, np.ndarray] = {}
    blocks: list[list] = []
    last: dict[int, int] = {}  # qubit -> index of the last block touching it
    embedded: list[int] = []
    for op, where in _non_embedding_ops(circuit, qubits, embedding_tag, embedded):
        if cirq.is_parameterized(op):
            raise ValueError(f"operation {op} is parameterised; resolve it first")
        t = ptm(op)
        if len(where) == 1:
            q = where[0]
            pending[q] = t if q not in pending else t @ pending[q]
            continue
        if len(where) != 2:
            raise ValueError(f"operation {op} acts on {len(where)} qubits; at most two are supported")
        a, b = where
        before = np.kron(pending.pop(a, np.eye(4)), pending.pop(b, np.eye(4)))
        t = t @ before
        j = last.get(a)
        if j is not None and j == last.get(b) and sorted(blocks[j][0]) == sorted(where):
            if blocks[j][0] != where:  # same pair, other order: swap the block's qubit axes
                t = _swap_axes(t)
            blocks[j][1] = t @ blocks[j][1]
            continue
        blocks.append([where, t])
        last[a] = last[b] = len(blocks) - 1
    for q, t in sorted(pending.items()):
        blocks.append([(q,), t])
    return embedded, [(tuple(w), t) for w, t in blocks]


def _swap_axes(t: np.ndarray) -> np.ndarray:
    """The 16x16 PTM with its two qubits exchanged."""
    return t.reshape(4, 4, 4, 4).transpose(1, 0, 3, 2).reshape(16, 16)


def _backwards(
    circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], observables: Sequence[int], embedding_tag: str
) -> tuple[list[int], np.ndarray]:
    """(embedded positions, o): each <Z_q> observable propagated backwards through the circuit's
    non-embedding operations, as Pauli vectors o of shape (len(observables),) + (4,) * n, so that
    <Z_q> = sum_b o[j, b] Tr(P_b rho) for the state rho the non-embedding part starts from."""
    n = len(qubits)
    embedded, blocks = fuse(circuit, qubits, embedding_tag)
    o = np.zeros((len(observables),) + (4,) * n)
    for j, q in enumerate(observables):
        index = [j] + [0] * n
        index[1 + q] = 3
        o[tuple(index)] = 1.0
    for where, t in reversed(blocks):
        k = len(where)
        axes = [1 + w for w in where]
        o = np.tensordot(o, t.reshape((4,) * (2 * k)), axes=(axes, list(range(k))))
        o = np.moveaxis(o, list(range(o.ndim - k, o.ndim)), axes)
    return embedded, o


def fourier_coefficients(
    circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], observables: Sequence[int], embedding_tag: str
) -> np.ndarray:
    """C of shape (len(observables), 3^n) with <Z_q>(x) = C[j] . phi(x) for q = qubits[observables[j]]
    (``evaluate``; phi as ``features``), exactly, for the circuit after RX(x_i) on qubit i."""
    n = len(qubits)
    embedded, o = _backwards(circuit, qubits, observables, embedding_tag)
    _check_embedded(embedded, n)
    for i in range(n):
        o = np.moveaxis(np.tensordot(o, _EMBEDDED, axes=([1 + i], [0])), -1, 1 + i)
    return o.reshape(len(observables), 3**n)


def quadratic_forms(circuit: cirq.Circuit, qubits: Sequence[cirq.Qid], observables: Sequence[int]) -> np.ndarray:
    """M of shape (len(observables), 2^n, 2^n), real symmetric, with <Z_q> = psi^T M[j] psi for every
    real state psi (qubit 0 of ``qubits`` the most significant bit) that the circuit starts from:
    M[j] = Re(sum_b o_b P_b), the observable in the Heisenberg picture (the circuit's channel's adjoint
    applied to Z_q). For amplitude-embedded circuits whose state preparation is taken as ideal: the
    circuit is what follows the preparation, every operation constant."""
    n = len(qubits)
    _, o = _backwards(circuit, qubits, observables, _NO_EMBEDDING)
    basis = np.real(pauli_basis(n))
    return np.einsum("jb,bkl->jkl", o.reshape(len(observables), 4**n), basis)


_NO_EMBEDDING = "qmoe_tfq.sim.heisenberg: no embedding"


def features(x: np.ndarray) -> np.ndarray:
    """phi(x) = (x)_i (1, cos x_i, sin x_i), qubit 0 most significant: shape (rows, 3^d)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    per = np.stack([np.ones_like(x), np.cos(x), np.sin(x)], axis=-1)
    out = per[:, 0, :]
    for i in range(1, x.shape[1]):
        out = (out[:, :, None] * per[:, i, None, :]).reshape(len(x), -1)
    return out


def evaluate(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """<Z> of every observable at every row of ``x``: shape (rows, n_observables)."""
    return features(x) @ coefficients.T


MAX_TRAINABLE_QUBITS = 4


def _full_ptm(t: np.ndarray, where: Sequence[int], n: int) -> np.ndarray:
    """A one- or two-qubit PTM on positions ``where`` as the 4^n x 4^n PTM of n qubits."""
    k = len(where)
    eye = np.eye(4**n).reshape((4,) * n + (4**n,))
    out = np.tensordot(t.reshape((4,) * (2 * k)), eye, axes=(list(range(k, 2 * k)), list(where)))
    rest = [i for i in range(n) if i not in where]
    order = [0] * n
    for j, w in enumerate(where):
        order[w] = j
    for j, r in enumerate(rest):
        order[r] = k + j
    return np.transpose(out, order + [n]).reshape(4**n, 4**n)


def _rotation_constants(axis: int) -> np.ndarray:
    """(K0, K1, K2) with PTM(exp(-i theta P_axis / 2)) = K0 + cos(theta) K1 + sin(theta) K2 (axis 1, 2,
    3 = X, Y, Z): the rotation of the other two Paulis (Q, R), (P, Q, R) cyclic."""
    q, r = {1: (2, 3), 2: (3, 1), 3: (1, 2)}[axis]
    k = np.zeros((3, 4, 4))
    k[0, 0, 0] = k[0, axis, axis] = 1.0
    k[1, q, q] = k[1, r, r] = 1.0
    k[2, q, r], k[2, r, q] = -1.0, 1.0
    return k


_ROTATIONS = {axis: tf.constant(_rotation_constants(axis), tf.float64) for axis in (1, 3)}


def _rotation_ptms(theta: tf.Tensor, axis: int) -> tf.Tensor:
    """PTMs (rows, 4, 4) of rotations by the angles ``theta`` (rows,) about ``axis``."""
    k = _ROTATIONS[axis]
    c, s = tf.cos(theta)[:, None, None], tf.sin(theta)[:, None, None]
    return k[0] + c * k[1] + s * k[2]


def phased_xz_ptm(exponents: tf.Tensor) -> tf.Tensor:
    """PTMs (rows, 4, 4) of ``cirq.PhasedXZGate(x_exponent=x, z_exponent=z, axis_phase_exponent=a)``
    for the rows (x, z, a) of ``exponents`` (rows, 3): Z^-a, then X^x, then Z^(a + z) (rotations by pi
    times the exponents)."""
    e = tf.cast(tf.reshape(exponents, [-1, 3]), tf.float64) * np.pi
    x, z, a = e[:, 0], e[:, 1], e[:, 2]
    return _rotation_ptms(z + a, 3) @ _rotation_ptms(x, 1) @ _rotation_ptms(-a, 3)


class TrainableCoefficients:
    """``fourier_coefficients`` as a differentiable TensorFlow function of the angles of a circuit's
    ``PhasedXZGate`` s that ``trainable(op)`` selects (the native single-qubit gates of a compiled
    circuit); every other operation is constant. Exact: the same Pauli-basis propagation, on the
    full 4^n space (so up to ``MAX_TRAINABLE_QUBITS`` qubits), in float64.

    ``initial`` holds the circuit's own (x, z, a) exponents, one row per trainable gate in circuit
    order; ``coefficients(exponents)`` gives C (n_observables, 3^n) for any such array, and
    ``with_exponents(circuit, exponents)`` the circuit with them put in (for cirq checks).
    """

    def __init__(
        self,
        circuit: cirq.Circuit,
        qubits: Sequence[cirq.Qid],
        observables: Sequence[int],
        embedding_tag: str,
        trainable,
    ) -> None:
        n = len(qubits)
        if n > MAX_TRAINABLE_QUBITS:
            raise ValueError(f"TrainableCoefficients supports up to {MAX_TRAINABLE_QUBITS} qubits, got {n}")
        self.n = n
        self.segments: list = []  # constant 4^n x 4^n PTMs and (position, index) of trainable gates
        initial, embedded = [], []
        current = np.eye(4**n)
        for op, where in _non_embedding_ops(circuit, qubits, embedding_tag, embedded):
            if trainable(op):
                gate = op.untagged.gate
                if not isinstance(gate, cirq.PhasedXZGate):
                    raise ValueError(f"trainable operation {op} is not a PhasedXZGate")
                self.segments.append(current)
                current = np.eye(4**n)
                self.segments.append((where[0], len(initial)))
                initial.append([gate.x_exponent, gate.z_exponent, gate.axis_phase_exponent])
                continue
            if len(where) > 2:
                raise ValueError(f"operation {op} acts on {len(where)} qubits; at most two are supported")
            current = _full_ptm(ptm(op), where, n) @ current
        self.segments.append(current)
        _check_embedded(embedded, n)
        self.initial = np.array(initial, dtype=float).reshape(-1, 3)
        select = np.zeros((len(observables), 4**n))
        for j, q in enumerate(observables):
            select[j, 3 * 4 ** (n - 1 - q)] = 1.0
        embed = np.ones((1, 1))
        for _ in range(n):
            embed = np.kron(embed, _EMBEDDED)
        self._select = tf.constant(select, tf.float64)
        self._embed = tf.constant(embed, tf.float64)
        self._positions = [s[0] for s in self.segments if isinstance(s, tuple)]
        self._segments = [s[1] if isinstance(s, tuple) else tf.constant(s, tf.float64) for s in self.segments]

    def _lifted(self, exponents: tf.Tensor) -> tf.Tensor:
        """Every trainable gate's PTM on all n qubits (n_trainable, 4^n, 4^n), one einsum per position."""
        t = phased_xz_ptm(exponents)
        n, parts, order = self.n, [], []
        for p in range(n):
            idx = [i for i, q in enumerate(self._positions) if q == p]
            if not idx:
                continue
            left, right = tf.eye(4**p, dtype=tf.float64), tf.eye(4 ** (n - p - 1), dtype=tf.float64)
            full = tf.einsum("ab,gcd,ef->gacebdf", left, tf.gather(t, idx), right)
            parts.append(tf.reshape(full, [len(idx), 4**n, 4**n]))
            order += idx
        inverse = np.argsort(order)
        return tf.gather(tf.concat(parts, axis=0), inverse)

    def coefficients(self, exponents: tf.Tensor) -> tf.Tensor:
        """C (n_observables, 3^n) at the trainable gates' (x, z, a) ``exponents`` (n_trainable, 3)."""
        lifted = self._lifted(exponents) if len(self._positions) else None
        o = self._select
        for seg in reversed(self._segments):
            o = o @ (lifted[seg] if isinstance(seg, int) else seg)
        return o @ self._embed

    def with_exponents(self, circuit: cirq.Circuit, exponents: np.ndarray, trainable) -> cirq.Circuit:
        """``circuit`` with its trainable gates' exponents replaced by the rows of ``exponents``."""
        rows = iter(np.asarray(exponents, float))

        def swap(op: cirq.Operation) -> cirq.Operation:
            if not trainable(op):
                return op
            x, z, a = next(rows)
            gate = cirq.PhasedXZGate(x_exponent=x, z_exponent=z, axis_phase_exponent=a)
            return gate.on(*op.qubits).with_tags(*op.tags)

        return cirq.Circuit(cirq.Moment(swap(op) for op in m) for m in circuit)


def features_tf(x: tf.Tensor) -> tf.Tensor:
    """``features`` in TensorFlow (float64): shape (rows, 3^d)."""
    x = tf.cast(x, tf.float64)
    per = tf.stack([tf.ones_like(x), tf.cos(x), tf.sin(x)], axis=-1)
    out = per[:, 0, :]
    for i in range(1, x.shape[1]):
        out = tf.reshape(out[:, :, None] * per[:, i, None, :], [tf.shape(x)[0], -1])
    return out


def all_single_z(n: int) -> list[int]:
    """Observables of ``fourier_coefficients`` for <Z_i> of every qubit."""
    return list(range(n))


__all__ = [
    "MAX_TRAINABLE_QUBITS",
    "TrainableCoefficients",
    "all_single_z",
    "evaluate",
    "features",
    "features_tf",
    "fourier_coefficients",
    "fuse",
    "quadratic_forms",
    "pauli_basis",
    "phased_xz_ptm",
    "ptm",
]

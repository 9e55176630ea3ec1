"""Stage: sim. What the TensorFlow engines share when they compile a cirq circuit: the qubit order, rotation
angles (and other parameters) affine in one symbol, and the grouping of operations into
alternating single-qubit and multi-qubit steps."""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cirq
import numpy as np
import sympy

Observable = cirq.PauliString | cirq.PauliSum

# cirq's X/Y/Z power gates with exponent t are rotations by pi * t about that axis (up to a global
# phase, which no expectation sees).
ROTATION_GATES = ((cirq.XPowGate, 1), (cirq.YPowGate, 2), (cirq.ZPowGate, 3))


def rotation_axis(gate: cirq.Gate | None) -> int | None:
    """1, 2, 3 for an X, Y, Z power gate (rotation), else None."""
    return next((axis for g, axis in ROTATION_GATES if isinstance(gate, g)), None)


def affine_in_symbol(
    expr: sympy.Basic, symbol_index: dict[str, int], op: cirq.Operation, what: str = "angle"
) -> tuple[int, float, float]:
    """``expr = a * value[symbol] + b``: returns (symbol position, a, b), or raises ValueError
    naming ``op`` when ``expr`` depends on anything but exactly one given symbol, or not affinely."""
    free = sorted(expr.free_symbols, key=str)
    if len(free) != 1 or str(free[0]) not in symbol_index:
        raise ValueError(f"{op}: the {what} must depend on exactly one of the given symbols")
    s = free[0]
    a, b = sympy.diff(expr, s), expr.subs(s, 0)
    if not (a.is_number and b.is_number):
        raise ValueError(f"{op}: the {what} must be linear in its symbol")
    return symbol_index[str(s)], float(a), float(b)


def rotation_angle(op: cirq.Operation, symbol_index: dict[str, int]) -> tuple[int, float, float]:
    """theta = pi * exponent of a parameterised X/Y/Z rotation as (symbol position, a, b)."""
    return affine_in_symbol(sympy.pi * op.gate.exponent, symbol_index, op)


def affine_map(rows: Sequence[tuple[int, float, float]], n_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    """(matrix (n_symbols, k), offset (k,)) with values @ matrix + offset = the k affine parameters."""
    matrix = np.zeros((n_symbols, len(rows)))
    offset = np.zeros(len(rows))
    for j, (i, a, b) in enumerate(rows):
        matrix[i, j], offset[j] = a, b
    return matrix, offset


def circuit_qubits(
    circuit: cirq.Circuit, observables: Sequence[Observable], qubits: Sequence[cirq.Qid] | None
) -> tuple[cirq.Qid, ...]:
    """``qubits`` if given, else every qubit of the circuit and the observables, sorted."""
    if qubits is not None:
        return tuple(qubits)
    found = set(circuit.all_qubits())
    for obs in observables:
        found |= set(obs.qubits)
    return tuple(sorted(found))


@dataclass
class Op:
    """One compiled operation: a parameter id or a constant matrix on one qubit, or a monomial on
    several; ``monomial`` says whether it can join a monomial step."""

    qubits: tuple[int, ...]
    factor: np.ndarray | int | Monomial
    monomial: bool


@dataclass
class Local:
    """The single-qubit maps of one step: per qubit, its factors in time order, each a constant
    matrix or a parameter id."""

    factors: dict[int, list[np.ndarray | int]] = field(default_factory=dict)


def schedule(ops: Sequence[Op], n: int) -> list[tuple[bool, list[Op]]]:
    """Reorder ``ops`` (respecting each qubit's order) into alternating maximal groups: single-qubit
    operations (``True``) and monomial ones (``False``: multi-qubit permutations with phases or
    signs, and single-qubit ones of that form), so each single-qubit group costs one fused map per
    qubit and each monomial group one gather."""
    queues = [deque() for _ in range(n)]
    for i, op in enumerate(ops):
        for q in op.qubits:
            queues[q].append(i)
    groups: list[tuple[bool, list]] = []
    local, done, stalled = True, 0, 0
    while done < len(ops):
        group = []
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
            stalled = 0
        elif (stalled := stalled + 1) > 1:
            raise ValueError("multi-qubit operations must be monomial (a permutation with phases)")
        local = not local
    return groups


@dataclass
class Monomial:
    """out[a] = scale[a] * in[index[a]] on a flattened vector (``index`` a permutation): a gate or
    channel that maps basis elements to multiples of basis elements."""

    index: np.ndarray
    scale: np.ndarray

    def then(self, other: Monomial) -> Monomial:
        """This map followed by ``other``."""
        return Monomial(self.index[other.index], other.scale * self.scale[other.index])

    def is_identity(self) -> bool:
        return bool(np.array_equal(self.index, np.arange(len(self.index))) and np.allclose(self.scale, 1.0))


def as_monomial(t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
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
def base_digits(n: int, base: int) -> np.ndarray:
    """(base^n, n) digits of every flattened index, qubit 0 most significant."""
    return np.array(list(itertools.product(range(base), repeat=n)))


def embed_monomial(local: tuple[np.ndarray, np.ndarray], positions: Sequence[int], n: int, base: int) -> Monomial:
    """A monomial ``local = (index, scale)`` on the qubits ``positions`` (each qubit one digit in
    ``base``: 2 for amplitudes, 4 for Pauli coefficients) as a monomial on all base^n entries."""
    local_index, local_scale = local
    digits = base_digits(n, base)
    k = len(positions)
    local_flat = sum(digits[:, q] * base ** (k - 1 - j) for j, q in enumerate(positions))
    src_local = local_index[local_flat]
    src = digits.copy()
    for j, q in enumerate(positions):
        src[:, q] = (src_local // base ** (k - 1 - j)) % base
    flat = sum(src[:, q] * base ** (n - 1 - q) for q in range(n))
    return Monomial(np.asarray(flat, dtype=np.int64), np.asarray(local_scale[local_flat]))


Embed = Callable[[np.ndarray, Sequence[int]], Monomial]


def build_steps(ops: Sequence[Op], n: int, embed: Embed) -> list[Monomial | Local]:
    """``ops`` as alternating steps (``schedule``): a ``Local`` per single-qubit group, one composed
    ``Monomial`` per monomial group, with constants folded (``fold_constant_steps``). ``embed(t,
    positions)`` turns a constant matrix on ``positions`` into a monomial on the whole register."""
    steps: list[Monomial | Local] = []
    for local, group in schedule(ops, n):
        if local:
            step = Local()
            for op in group:
                step.factors.setdefault(op.qubits[0], []).append(op.factor)
            steps.append(step)
            continue
        mono = None
        for op in group:
            m = op.factor if isinstance(op.factor, Monomial) else embed(op.factor, op.qubits)
            mono = m if mono is None else mono.then(m)
        steps.append(mono)
    return fold_constant_steps(steps, embed)


def fold_constant_steps(steps: list[Monomial | Local], embed: Embed) -> list[Monomial | Local]:
    """Multiply adjacent constant factors, move qubits whose single-qubit maps are one constant
    monomial into a monomial step, merge adjacent monomials and drop identity ones."""
    out: list[Monomial | Local] = []

    def emit(step: Monomial | Local) -> None:
        if isinstance(step, Monomial) and out and isinstance(out[-1], Monomial):
            out[-1] = out[-1].then(step)
        else:
            out.append(step)

    for step in steps:
        if isinstance(step, Monomial):
            emit(step)
            continue
        rest = Local()
        for q, factors in step.factors.items():
            merged: list[np.ndarray | int] = []
            for f in factors:
                if isinstance(f, np.ndarray) and merged and isinstance(merged[-1], np.ndarray):
                    merged[-1] = f @ merged[-1]
                else:
                    merged.append(f)
            if len(merged) == 1 and isinstance(merged[0], np.ndarray) and as_monomial(merged[0]) is not None:
                emit(embed(merged[0], [q]))
            else:
                rest.factors[q] = merged
        if rest.factors:
            emit(rest)
    return [s for s in out if not (isinstance(s, Monomial) and s.is_identity())]

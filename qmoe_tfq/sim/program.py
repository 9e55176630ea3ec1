"""What the TensorFlow engines share when they compile a cirq circuit: the qubit order, rotation
angles (and other parameters) affine in one symbol, and the grouping of operations into
alternating single-qubit and multi-qubit steps."""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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


class ScheduledOp(Protocol):
    qubits: tuple[int, ...]
    monomial: bool


def schedule(ops: Sequence[ScheduledOp], n: int) -> list[tuple[bool, list]]:
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


def embed_monomial(
    local: tuple[np.ndarray, np.ndarray], positions: Sequence[int], n: int, base: int
) -> Monomial:
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

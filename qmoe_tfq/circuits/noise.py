"""Stage: circuits. Depolarizing noise placed on a router circuit (no TensorFlow).

``noisy_circuit(rc, p, placement)``: ``authors`` puts ``cirq.depolarize(p)`` on every qubit once
after the RX embedding and once after the whole variational block, as the authors' notebook did;
``every_gate`` puts one after every gate on each qubit the gate acts on, as the paper's text says.

``p`` may also be a sympy expression (e.g. ``NOISE_SYMBOL``): the channels are then
``SymbolicDepolarize`` gates that cirq resolves to ``cirq.depolarize`` like any other parameter, and
the density-matrix engine takes the probability per row as a symbol value, so one compiled engine
evaluates a whole noise grid.
"""

from __future__ import annotations

import itertools

import cirq
import sympy

from qmoe_tfq.circuits.router import RouterCircuit
from qmoe_tfq.core.errors import check_choice, check_probability
from qmoe_tfq.specs.vocabulary import NOISE_PLACEMENTS

PLACEMENTS = NOISE_PLACEMENTS
NOISE_SYMBOL = sympy.Symbol("noise_eps")


class SymbolicDepolarize(cirq.Gate):
    """Single-qubit ``cirq.depolarize(p)`` whose probability ``p`` is a sympy expression."""

    def __init__(self, p: sympy.Basic) -> None:
        self.p = p

    def _num_qubits_(self) -> int:
        return 1

    def _is_parameterized_(self) -> bool:
        return True

    def _parameter_names_(self) -> set[str]:
        return {str(s) for s in self.p.free_symbols}

    def _resolve_parameters_(self, resolver: cirq.ParamResolver, recursive: bool) -> cirq.Gate:
        value = resolver.value_of(self.p, recursive)
        if isinstance(value, sympy.Basic) and value.free_symbols:
            return SymbolicDepolarize(value)
        return cirq.depolarize(float(value))

    def _circuit_diagram_info_(self, args: cirq.CircuitDiagramInfoArgs) -> str:
        return f"D({self.p})"

    def __repr__(self) -> str:
        return f"SymbolicDepolarize({self.p!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolicDepolarize) and self.p == other.p

    def __hash__(self) -> int:
        return hash((SymbolicDepolarize, self.p))


def depolarizing_channel(p: float | sympy.Basic) -> cirq.Gate:
    """``cirq.depolarize(p)`` for a number in [0, 1], ``SymbolicDepolarize(p)`` for an expression."""
    if isinstance(p, sympy.Basic) and p.free_symbols:
        return SymbolicDepolarize(p)
    check_probability("noise", p)
    return cirq.depolarize(float(p))


def noisy_circuit(rc: RouterCircuit, p: float | sympy.Basic, placement: str) -> cirq.Circuit:
    """``rc.circuit`` with single-qubit depolarizing channels of probability ``p`` placed as
    ``placement`` says (module docstring)."""
    channel = depolarizing_channel(p)
    check_choice("noise_placement", placement, PLACEMENTS)
    if rc.embedding is None or rc.ansatz is None:
        raise ValueError("noisy_circuit needs a RouterCircuit built by router_circuit (embedding and ansatz)")
    if placement == "authors":
        layer = cirq.Circuit(cirq.Moment(channel.on_each(rc.qubits)))
        return rc.embedding + layer + rc.ansatz + layer
    ops: list[cirq.Operation] = []
    for op in itertools.chain(rc.embedding.all_operations(), rc.ansatz.all_operations()):
        ops.append(op)
        ops.extend(channel.on_each(op.qubits))
    return cirq.Circuit(ops)


__all__ = ["NOISE_SYMBOL", "PLACEMENTS", "SymbolicDepolarize", "depolarizing_channel", "noisy_circuit"]

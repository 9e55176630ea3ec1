"""Differentiable TFQ expectation ops, built once per router.

The circuit and its observables are serialised to tensors once (``tfq.convert_to_tensor`` is slow
Python); each call only feeds symbol values, so inputs and weights flow as plain tensors.
"""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import cirq
import numpy as np
import tensorflow as tf
import tensorflow_quantum as tfq

from qmoe_tfq.errors import check_choice


def make_differentiator(name: str) -> tfq.differentiators.Differentiator:
    """A fresh TFQ differentiator (each instance can generate only one op)."""
    check_choice("differentiator", name, ("adjoint", "parameter_shift"))
    if name == "adjoint":
        return tfq.differentiators.Adjoint()
    return tfq.differentiators.ParameterShift()


class ExactExpectation:
    """<O_k> of one parameterised circuit for a batch of symbol values, with analytic gradients."""

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: list[str],
        observables: list[cirq.PauliString],
        differentiator: str = "adjoint",
    ) -> None:
        self.program = tfq.convert_to_tensor([circuit])
        self.observables = tfq.convert_to_tensor([[cirq.PauliSum.from_pauli_strings(o) for o in observables]])
        self.symbol_names = tf.constant(symbol_names)
        self.op = make_differentiator(differentiator).generate_differentiable_op(
            analytic_op=tfq.get_expectation_op()
        )

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(symbol_values)[0]
        programs = tf.tile(self.program, [batch])
        ops = tf.tile(self.observables, [batch, 1])
        return self.op(programs, self.symbol_names, symbol_values, ops)


def as_float32(a: np.ndarray) -> tf.Tensor:
    return tf.convert_to_tensor(np.asarray(a, dtype=np.float32))

"""Stage: sim. TFQ's engines: the analytic expectation op (the reference engine) and the Monte-Carlo
trajectory op for noisy circuits.

The circuit and its observables are serialised to tensors once (``tfq.convert_to_tensor`` is slow
Python); each call only feeds symbol values, so inputs and weights flow as plain tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import tensorflow as tf
import tensorflow_quantum as tfq

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.core.errors import check_choice, check_positive_int
from qmoe_tfq.sim.program import Observable


def make_differentiator(name: str) -> tfq.differentiators.Differentiator:
    """A fresh TFQ differentiator (each instance can generate only one op)."""
    check_choice("differentiator", name, ("adjoint", "parameter_shift"))
    if name == "adjoint":
        return tfq.differentiators.Adjoint()
    return tfq.differentiators.ParameterShift()


class ExactExpectation:
    """<O_k> of one parameterised circuit for a batch of symbol values, with analytic gradients
    (TFQ's ``Expectation`` op and the named differentiator)."""

    def __init__(
        self,
        circuit: cirq.Circuit,
        symbol_names: Sequence[str],
        observables: Sequence[Observable],
        differentiator: str = "adjoint",
    ) -> None:
        self.program = tfq.convert_to_tensor([circuit])
        self.observables = tfq.convert_to_tensor([[cirq.PauliSum.wrap(o) for o in observables]])
        self.symbol_names = tf.constant(list(symbol_names))
        self.op = make_differentiator(differentiator).generate_differentiable_op(analytic_op=tfq.get_expectation_op())

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(symbol_values)[0]
        programs = tf.tile(self.program, [batch])
        ops = tf.tile(self.observables, [batch, 1])
        return self.op(programs, self.symbol_names, symbol_values, ops)


class SampledExpectation:
    """<O_k> of a noisy circuit from TFQ's Monte-Carlo trajectories (``tfq.noise.expectation``, as
    in ``tfq.layers.NoisyPQC``), ``repetitions`` per value, with ParameterShift gradients. Same call
    interface as ``ExactExpectation``. TFQ seeds it from the OS, so it is not bit-reproducible."""

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
        self.op = tfq.differentiators.ParameterShift().generate_differentiable_op(sampled_op=tfq.noise.expectation)

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(symbol_values)[0]
        programs = tf.tile(self.program, [batch])
        ops = tf.tile(self.observables, [batch, 1])
        reps = tf.fill([batch, self.n_observables], self.repetitions)
        return self.op(programs, self.symbol_names, symbol_values, ops, reps)


__all__ = ["ExactExpectation", "SampledExpectation", "make_differentiator"]

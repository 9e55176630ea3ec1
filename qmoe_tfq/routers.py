"""Routers: Keras layers mapping inputs (batch, d) to expert gates (batch, E) that sum to one."""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import numpy as np
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq.circuits import readout_observables, router_circuit, walsh_hadamard
from qmoe_tfq.config import ModelSpec
from qmoe_tfq.tfq_ops import ExactExpectation


class QuantumRouter(keras.layers.Layer):
    """PQC router: RX embedding + ansatz, measured as <Z_i> (then adapter + softmax) or as
    basis-state probabilities (used directly as gates). Circuit angles start uniform in [0, 2 pi)."""

    def __init__(self, spec: ModelSpec, n_features: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.n_qubits = spec.qubits_for(n_features)
        self.n_experts = spec.experts_for(n_features)
        self.rc = router_circuit(n_features, self.n_qubits, spec.layers, spec.ansatz)
        self.expectation = ExactExpectation(
            self.rc.circuit,
            [s.name for s in self.rc.symbols],
            readout_observables(self.rc.qubits, spec.readout),
            spec.differentiator,
        )
        seeds = np.random.SeedSequence(seed).generate_state(2)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(len(self.rc.weight_symbols),),
            initializer=keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=int(seeds[0])),
            trainable=True,
        )
        self.adapter = None
        if spec.readout == "expectation":
            self.adapter = keras.layers.Dense(
                self.n_experts,
                kernel_initializer=keras.initializers.GlorotUniform(seed=int(seeds[1])),
                name="adapter",
            )
            self.adapter.build((None, self.n_qubits))
        else:
            self._wh = tf.constant(walsh_hadamard(self.n_qubits).T)

    def circuit_outputs(self, x: tf.Tensor) -> tf.Tensor:
        """Raw readout: <Z_i> (batch, n) or basis probabilities (batch, 2^n)."""
        batch = tf.shape(x)[0]
        values = tf.concat([x, tf.tile(self.theta[None, :], [batch, 1])], axis=1)
        e = self.expectation(values)
        if self.adapter is not None:
            return e
        return tf.matmul(tf.concat([tf.ones([batch, 1]), e], axis=1), self._wh)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        out = self.circuit_outputs(x)
        if self.adapter is None:
            return out
        return tf.nn.softmax(self.adapter(out))


class ConstantRouter(keras.layers.Layer):
    """Uniform gates 1/E for every input: no parameters, the experts alone decide."""

    def __init__(self, n_experts: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_experts = n_experts

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.fill([tf.shape(x)[0], self.n_experts], 1.0 / self.n_experts)


def classical_router(spec: ModelSpec, n_features: int, seed: int) -> keras.Sequential:
    """Model A (``linear``: Dense(E) + softmax) or the MLP router (Dense(h, relu) -> Dense(E))."""
    e = spec.experts_for(n_features)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]
    glorot = lambda i: keras.initializers.GlorotUniform(seed=seeds[i])  # noqa: E731
    layers = []
    if spec.router == "mlp":
        layers.append(keras.layers.Dense(spec.hidden, activation="relu", kernel_initializer=glorot(0)))
    layers.append(keras.layers.Dense(e, activation="softmax", kernel_initializer=glorot(1)))
    router = keras.Sequential(layers, name=f"{spec.router}_router")
    router.build((None, n_features))
    return router


def build_router(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The router ``spec`` describes, initialised deterministically from ``seed``."""
    if spec.router == "quantum":
        return QuantumRouter(spec, n_features, seed, name="quantum_router")
    if spec.router == "constant":
        return ConstantRouter(spec.experts_for(n_features), name="constant_router")
    return classical_router(spec, n_features, seed)

"""Stage: models. The classical routers: ``linear`` (Model A: Dense(E) + softmax), ``mlp`` (Model C /
width sweep: Dense(h, relu) -> Dense(E) + softmax) and ``constant`` (uniform gates 1/E, no parameters)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.specs.config import ModelSpec


class ConstantRouter(keras.layers.Layer):
    """Uniform gates 1/E for every input: no parameters, the experts alone decide."""

    def __init__(self, n_experts: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_experts = n_experts

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.fill([tf.shape(x)[0], self.n_experts], 1.0 / self.n_experts)


def classical_router(spec: ModelSpec, n_features: int, seed: int, hidden: int | None = None) -> keras.Sequential:
    """Model A (``hidden=None``: Dense(E) + softmax) or the MLP router (Dense(hidden, relu) -> Dense(E))."""
    e = spec.experts_for(n_features)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]
    layers = []
    fan_in = n_features
    if hidden is not None:
        layers.append(dense(hidden, fan_in, seeds[0], spec.init, activation="relu"))
        fan_in = hidden
    layers.append(dense(e, fan_in, seeds[1], spec.init, activation=softmax))
    router = keras.Sequential(layers, name=f"{spec.router}_router")
    router.build((None, n_features))
    return router


def build_linear(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``linear`` family's layer (``BUILDERS``)."""
    return classical_router(spec, n_features, seed, hidden=None)


def build_mlp(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``mlp`` family's layer (``BUILDERS``)."""
    return classical_router(spec, n_features, seed, hidden=spec.hidden)


def build_constant(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``constant`` family's layer (``BUILDERS``)."""
    return ConstantRouter(spec.experts_for(n_features), name="constant_router")


class DenseStack(StackSupport):
    """``linear`` / ``mlp`` in a stack: ``hidden_*`` (mlp only) then ``out_*``."""

    def __init__(self, hidden: bool) -> None:
        self.hidden = hidden

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        first, second = seed_pair(seed)
        weights: list[tuple[str, np.ndarray]] = []
        fan_in = n_features
        if self.hidden:
            weights += named_dense(n_features, spec.hidden, first, "hidden", init=spec.init)
            fan_in = spec.hidden
        weights += named_dense(fan_in, n_experts, second, "out", init=spec.init)
        return weights

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        h = x
        if self.hidden:
            h = tf.nn.relu(add_rows(tf.einsum("mbd,mdh->mbh", x, v["hidden_kernel"]), v["hidden_bias"]))
        return softmax(add_rows(tf.einsum("mbh,mhe->mbe", h, v["out_kernel"]), v["out_bias"]))


class ConstantStack(StackSupport):
    """``constant`` in a stack: no weights, gates 1/E."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        return []

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        e = stack.spec.experts_for(stack.n_features)
        return tf.fill([tf.shape(x)[0], tf.shape(x)[1], e], 1.0 / e)


CLASSICAL_KINDS = {
    "linear": RouterKind(build_linear, DenseStack(hidden=False)),
    "mlp": RouterKind(build_mlp, DenseStack(hidden=True)),
    "constant": RouterKind(build_constant, ConstantStack()),
}

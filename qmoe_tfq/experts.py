"""Experts: E independent linear maps Dense(n_classes) on the raw input, as the authors built them."""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import tensorflow as tf
import tf_keras as keras


class LinearExperts(keras.layers.Layer):
    """``E`` linear experts evaluated at once: (batch, d) -> expert logits (batch, E, n_classes)."""

    def __init__(self, n_experts: int, n_features: int, n_classes: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        init = keras.initializers.GlorotUniform(seed=seed)
        self.kernel = self.add_weight(
            name="kernel", shape=(n_experts, n_features, n_classes), initializer=init
        )
        self.bias = self.add_weight(name="bias", shape=(n_experts, n_classes), initializer="zeros")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.einsum("bd,edc->bec", x, self.kernel) + self.bias

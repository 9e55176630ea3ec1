"""Stage: models. Experts: E independent linear maps Dense(n_classes) on the raw input, as the authors built them
(each initialised like ``torch.nn.Linear``, see ``qmoe_tfq.models.initializers``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import linear_init


class LinearExperts(keras.layers.Layer):
    """``E`` linear experts evaluated at once: (batch, d) -> expert logits (batch, E, n_classes)."""

    def __init__(
        self, n_experts: int, n_features: int, n_classes: int, seed: int, init: str = "pytorch", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        kernel_seed, bias_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
        kernel, bias = linear_init(init, n_features, n_classes, kernel_seed, bias_seed)
        self.kernel = self.add_weight(name="kernel", shape=(n_experts, n_features, n_classes), initializer=kernel)
        self.bias = self.add_weight(name="bias", shape=(n_experts, n_classes), initializer=bias)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.einsum("bd,edc->bec", x, self.kernel) + self.bias

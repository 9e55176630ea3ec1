"""Stage: models. The mixture of experts: logits = sum_e gate_e(x) * expert_e(x) (dense soft mixture, no top-k)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.experts import LinearExperts
from qmoe_tfq.models.routers import build_router
from qmoe_tfq.specs.config import ModelSpec, ParamCounts


class MixtureOfExperts(keras.Model):
    """A router gating linear experts; ``call`` returns class logits."""

    def __init__(self, spec: ModelSpec, n_features: int, n_classes: int, seed: int = 0) -> None:
        super().__init__(name="moe")
        router_seed, expert_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
        self.spec = spec
        self.router = build_router(spec, n_features, router_seed)
        self.experts = LinearExperts(spec.experts_for(n_features), n_features, n_classes, expert_seed, spec.init)
        self(tf.zeros((1, n_features)))

    def gates(self, x: tf.Tensor) -> tf.Tensor:
        """Expert weights (batch, E)."""
        return self.router(x)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.einsum("be,bec->bc", self.router(x), self.experts(x))

    def param_counts(self) -> ParamCounts:
        """Trainable parameters of router and experts, counted from the built variables."""
        count = lambda layer: int(sum(np.prod(v.shape) for v in layer.trainable_variables))  # noqa: E731
        return ParamCounts(router=count(self.router), experts=count(self.experts))


def build_model(spec: ModelSpec, n_features: int, n_classes: int, seed: int = 0) -> MixtureOfExperts:
    """Build and initialise the model ``spec`` describes, deterministically from ``seed``."""
    return MixtureOfExperts(spec, n_features, n_classes, seed)

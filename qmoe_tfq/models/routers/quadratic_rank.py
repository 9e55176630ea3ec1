"""Stage: models. The amplitude router's low-rank classical twin (family ``quadratic_rank``): r rank-one
readouts z_k = (v_k . x)^2 / ||x||^2, then Dense(E) + softmax.

The amplitude router reads n quadratic forms <Z_i> = x^T M_i x / ||x||^2 and mixes them with an
adapter; its full twin (``quadratic``) is Dense(E) on all d (d + 1) / 2 products x_j x_k / ||x||^2,
65,794 parameters at d = 256. This twin keeps the readout-then-adapter shape at the amplitude
router's size: a projection V (d, r) without bias on u = x/||x|| (an all-zero row as e_0, like the
amplitude embedding), squared, then the adapter (W, b). Its logits are::

    l_e(x) = sum_k W_ke (v_k . u)^2 + b_e = u^T (V diag(W_e) V^T) u + b_e,

a quadratic form of rank <= r per expert: of the same kind as the amplitude router's (and inside
``quadratic``'s class), an MLP with a square activation and no hidden bias on x/||x||. The rank r is
``ModelSpec.hidden``; d r + r E + E parameters. Both layers start like ``torch.nn.Linear``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.models.routers.quadratic import unit_rows
from qmoe_tfq.specs.config import ModelSpec


def rank_logits(x: tf.Tensor, projection: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Gate logits (M, B, E) = ((x/||x||) V)^2 W + b for inputs x (M, B, d), V (M, d, r), W (M, r, E), b (M, E)."""
    z = tf.square(tf.einsum("mbd,mdr->mbr", unit_rows(x), projection))
    return add_rows(tf.einsum("mbr,mre->mbe", z, kernel), bias)


class QuadraticRankRouter(keras.layers.Layer):
    """Gates softmax(((x/||x||) V)^2 W + b): ``projection`` (d, r, no bias), ``readout`` Dense(E)."""

    def __init__(self, n_features: int, n_experts: int, rank: int, seed: int, init: str = "pytorch", **kwargs):
        super().__init__(**kwargs)
        first, second = seed_pair(seed)
        self.projection = dense(rank, n_features, first, init, use_bias=False, name="projection")
        self.projection.build((None, n_features))
        self.readout = dense(n_experts, rank, second, init, name="readout")
        self.readout.build((None, rank))

    def readouts(self, x: tf.Tensor) -> tf.Tensor:
        """z (batch, r): (v_k . x)^2 / ||x||^2."""
        return tf.square(self.projection(unit_rows(tf.cast(x, tf.float32))))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return softmax(self.readout(self.readouts(x)))


def build_quadratic_rank(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``quadratic_rank`` family's layer (``BUILDERS``): rank ``spec.hidden``."""
    return QuadraticRankRouter(
        n_features, spec.experts_for(n_features), spec.hidden, seed, spec.init, name="quadratic_rank_router"
    )


class QuadraticRankStack(StackSupport):
    """``quadratic_rank`` in a stack: ``projection_kernel`` (d, r), then ``readout_kernel`` / ``readout_bias``."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        first, second = seed_pair(seed)
        return named_dense(n_features, spec.hidden, first, "projection", bias=False, init=spec.init) + named_dense(
            spec.hidden, n_experts, second, "readout", init=spec.init
        )

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        return softmax(rank_logits(x, v["projection_kernel"], v["readout_kernel"], v["readout_bias"]))


QUADRATIC_RANK_KINDS = {"quadratic_rank": RouterKind(build_quadratic_rank, QuadraticRankStack())}

__all__ = ["QUADRATIC_RANK_KINDS", "QuadraticRankRouter", "QuadraticRankStack", "build_quadratic_rank", "rank_logits"]

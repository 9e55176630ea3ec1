"""Stage: models. The amplitude router's classical twin (family ``quadratic``): Dense(E) + softmax on
the quadratic features q(x) = (x_j x_k / ||x||^2)_{j <= k}.

Every <Z_i> of an amplitude-embedded circuit is x^T M_i x / ||x||^2 (``qmoe_tfq.models.routers.amplitude``),
so the amplitude router's gate logits W z + b are linear in q(x): this router contains its whole
function class. The d (d + 1) / 2 features are never built: the logits are x^T W_e x / ||x||^2 with
the symmetric W_e read from the weight vector (diagonal w_jj, off-diagonal w_jk / 2), one quadratic
form per expert and row, so 256 inputs need no 32,896-wide feature matrix. The weights are those of
Dense(E) on q(x) (kernel (d (d + 1) / 2, E), then bias), initialised like ``torch.nn.Linear``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import named_dense, seed_pair, torch_linear
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.high_dim_routers import quadratic_width


def quadratic_pairs(n_features: int) -> np.ndarray:
    """(d (d + 1) / 2, 2) index pairs (j, k), j <= k, in the feature order of ``quadratic_features``."""
    return np.array([(j, k) for j in range(n_features) for k in range(j, n_features)], dtype=np.int64)


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """q(x) (rows, d (d + 1) / 2) in NumPy (float64): x_j x_k / ||x||^2 for j <= k (an all-zero row as
    e_0, the state |0...0> the amplitude embedding prepares for it)."""
    x = np.asarray(x, np.float64)
    norm2 = np.sum(x * x, axis=1, keepdims=True)
    u = np.divide(x, np.sqrt(norm2), out=np.zeros_like(x), where=norm2 > 0)
    u[norm2[:, 0] == 0, 0] = 1.0
    pairs = quadratic_pairs(x.shape[1])
    return u[:, pairs[:, 0]] * u[:, pairs[:, 1]]


def _symmetric_index(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Index (d, d) into the weight vector and factor (d, d): W[j, k] = factor * w[index]."""
    index = np.zeros((n_features, n_features), np.int64)
    for t, (j, k) in enumerate(quadratic_pairs(n_features)):
        index[j, k] = index[k, j] = t
    factor = np.where(np.eye(n_features, dtype=bool), 1.0, 0.5).astype(np.float32)
    return index, factor


def quadratic_logits(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Gate logits (M, B, E) = q(x) @ kernel + bias for inputs x (M, B, d), kernel (M, T, E), bias (M, E)."""
    d = x.shape[-1]
    index, factor = _symmetric_index(d)
    w = tf.gather(kernel, tf.constant(index), axis=1) * tf.constant(factor)[None, :, :, None]  # (M, d, d, E)
    u = unit_rows(x)
    return add_rows(tf.einsum("mbj,mjke,mbk->mbe", u, w, u), bias)


def unit_rows(x: tf.Tensor) -> tf.Tensor:
    """x/||x|| row by row; an all-zero row becomes e_0, as the amplitude embedding prepares |0...0> for it."""
    norm = tf.norm(x, axis=-1, keepdims=True)
    return tf.where(norm > 0, x / tf.where(norm > 0, norm, 1.0), tf.one_hot(0, x.shape[-1]))


class QuadraticRouter(keras.layers.Layer):
    """Gates softmax(q(x) @ kernel + bias): Dense(E) on the quadratic features, without building them."""

    def __init__(self, n_features: int, n_experts: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        width = quadratic_width(n_features)
        kernel_seed, bias_seed = seed_pair(seed_pair(seed)[1])
        self.kernel = self.add_weight(
            name="kernel", shape=(width, n_experts), initializer=torch_linear(width, kernel_seed)
        )
        self.bias = self.add_weight(name="bias", shape=(n_experts,), initializer=torch_linear(width, bias_seed))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return softmax(quadratic_logits(x[None], self.kernel[None], self.bias[None])[0])


def build_quadratic(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``quadratic`` family's layer (``BUILDERS``)."""
    return QuadraticRouter(n_features, spec.experts_for(n_features), seed, name="quadratic_router")


class QuadraticStack(StackSupport):
    """``quadratic`` in a stack: ``readout_kernel`` (T, E) and ``readout_bias`` (E,)."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        return named_dense(quadratic_width(n_features), n_experts, seed_pair(seed)[1], "readout")

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        return softmax(quadratic_logits(x, v["readout_kernel"], v["readout_bias"]))


QUADRATIC_KINDS = {"quadratic": RouterKind(build_quadratic, QuadraticStack())}

__all__ = [
    "QUADRATIC_KINDS",
    "QuadraticRouter",
    "QuadraticStack",
    "build_quadratic",
    "quadratic_features",
    "quadratic_logits",
    "quadratic_pairs",
    "unit_rows",
]

"""Stage: models. The Fourier-feature routers (Keras): a classical router on phi(x) = (x)_i (1, cos x_i, sin x_i).

Every readout of the quantum router is linear in phi(x) (``qmoe_tfq.models.fourier_features``), so its gate logits
are ``W phi(x) + b`` for some W, b fixed by the circuit angles and the adapter:

* ``rank=None`` (family ``fourier``): Dense(E) + softmax on phi(x), 3^d * E + E parameters (20 for
  two features and two experts). Contains the quantum router's whole function class.
* ``rank=r`` (family ``fourier_rank``): Dense(r, no bias) -> Dense(E) + softmax, mirroring <Z_i>
  (r linear functions of phi, the constant feature playing the bias) then the adapter:
  3^d * r + r * E + E parameters (24 for d = r = 2, E = 2, the quantum router's count).

Both start from PyTorch's ``nn.Linear`` initialisation, like every other dense layer here.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.routers import fourier_width, router_family


def fourier_features_tf(x: tf.Tensor) -> tf.Tensor:
    """phi(x) in TensorFlow, the column order of ``qmoe_tfq.models.fourier_features.fourier_features``: (batch, 3^d)."""
    factors = tf.stack([tf.ones_like(x), tf.cos(x), tf.sin(x)], axis=-1)  # (batch, d, 3)
    out = factors[:, 0, :]
    for i in range(1, x.shape[-1]):
        out = tf.reshape(out[:, :, None] * factors[:, i, None, :], [tf.shape(x)[0], -1])
    return out


class FourierRouter(keras.layers.Layer):
    """Gates softmax(W phi(x) + b), optionally through a rank-``rank`` projection of phi first."""

    def __init__(
        self, n_features: int, n_experts: int, rank: int | None, seed: int, init: str = "pytorch", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        width = fourier_width(n_features)
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]
        self.n_features, self.n_experts, self.rank = n_features, n_experts, rank
        self.projection = None
        fan_in = width
        if rank is not None:
            self.projection = dense(rank, width, seeds[0], init, use_bias=False, name="projection")
            self.projection.build((None, width))
            fan_in = rank
        self.readout = dense(n_experts, fan_in, seeds[1], init, name="readout")
        self.readout.build((None, fan_in))

    def features(self, x: tf.Tensor) -> tf.Tensor:
        """What the readout sees: phi(x), or its rank-r projection."""
        phi = fourier_features_tf(x)
        return phi if self.projection is None else self.projection(phi)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return softmax(self.readout(self.features(x)))


def build_fourier(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``fourier`` and ``fourier_rank`` families' layer (``BUILDERS``): the rank is the family's."""
    family = router_family(spec.router)
    fourier_width(n_features)
    return FourierRouter(
        n_features,
        spec.experts_for(n_features),
        family.rank(spec, n_features),
        seed,
        spec.init,
        name=f"{family.name}_router",
    )


class FourierStack(StackSupport):
    """``fourier`` / ``fourier_rank`` in a stack: ``projection_kernel`` (rank only) then ``readout_*``."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        first, second = seed_pair(seed)
        fan_in = fourier_width(n_features)
        rank = router_family(spec.router).rank(spec, n_features)
        weights: list[tuple[str, np.ndarray]] = []
        if rank is not None:
            weights += named_dense(fan_in, rank, first, "projection", bias=False, init=spec.init)
            fan_in = rank
        weights += named_dense(fan_in, n_experts, second, "readout", init=spec.init)
        return weights

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        m, b, d = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        h = tf.reshape(fourier_features_tf(tf.reshape(x, [m * b, d])), [m, b, -1])
        if "projection_kernel" in v:
            h = tf.einsum("mbf,mfr->mbr", h, v["projection_kernel"])
        return softmax(add_rows(tf.einsum("mbh,mhe->mbe", h, v["readout_kernel"]), v["readout_bias"]))


FOURIER_KINDS = {
    "fourier": RouterKind(build_fourier, FourierStack()),
    "fourier_rank": RouterKind(build_fourier, FourierStack()),
}

__all__ = ["FOURIER_KINDS", "FourierRouter", "FourierStack", "build_fourier", "fourier_features_tf"]

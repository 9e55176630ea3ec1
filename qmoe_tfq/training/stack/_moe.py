"""Stage: training. Mixtures of experts as a stack (``qmoe_tfq.models.mixture`` run ``M`` at a time).

Every router family says how it runs in a stack in its own file (``qmoe_tfq.models.routers``: a
``StackSupport``, or ``NOT_STACKABLE``); this module holds no if-chain on the router name.
Initial weights are those ``build_model(spec, ..., seed)`` draws (``initial_weights``), and
``member_weights(i)`` gives member ``i``'s weights in ``MixtureOfExperts.get_weights()`` order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import linear_init
from qmoe_tfq.models.ops import add_rows
from qmoe_tfq.models.routers import router_kind
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.training.stack._base import Stack, _seeds


def supports(spec: ModelSpec) -> bool:
    """Whether runs of ``spec`` can be stacked: its family has a ``StackSupport`` that takes it
    (sampled engines cannot: TFQ seeds them itself)."""
    return router_kind(spec.router).stackable(spec)


def named_initial_weights(spec: ModelSpec, n_features: int, n_classes: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """(role, weights) pairs ``build_model(spec, n_features, n_classes, seed)`` starts from, in its
    ``get_weights()`` order, drawn by the same seeded initializers without building the model. Roles:
    ``theta`` (circuit angles), ``adapter_*``, ``hidden_*`` / ``out_*`` (classical routers),
    ``projection_kernel`` / ``readout_*`` (Fourier-feature routers), ``experts_*``."""
    router_seed, expert_seed = _seeds(seed)
    e = spec.experts_for(n_features)
    weights: list[tuple[str, np.ndarray]] = []
    weights += router_kind(spec.router).stack.initial(spec, n_features, e, router_seed)
    kernel_seed, bias_seed = _seeds(expert_seed)
    kernel, bias = linear_init(spec.init, n_features, n_classes, kernel_seed, bias_seed)
    weights.append(("experts_kernel", kernel((e, n_features, n_classes), dtype="float32").numpy()))
    weights.append(("experts_bias", bias((e, n_classes), dtype="float32").numpy()))
    return weights


def initial_weights(spec: ModelSpec, n_features: int, n_classes: int, seed: int) -> list[np.ndarray]:
    """The weights ``build_model(spec, n_features, n_classes, seed)`` starts from, in ``get_weights()``
    order (``named_initial_weights`` without the roles)."""
    return [w for _, w in named_initial_weights(spec, n_features, n_classes, seed)]


class StackedMoE(Stack):
    """``M`` mixtures of the same ``spec`` (``qmoe_tfq.models.mixture``) as a ``Stack``; weights in
    ``MixtureOfExperts.get_weights()`` order. Noisy stacks hold one depolarizing probability per member."""

    def _named_initial(self, seed: int) -> list[tuple[str, np.ndarray]]:
        return named_initial_weights(self.spec, self.n_features, self.n_classes, seed)

    def _set_noise(self, noise: list[float] | None, members: int) -> None:
        eps = np.full(members, self.spec.noise, np.float32) if noise is None else np.asarray(noise, np.float32)
        if len(eps) != members:
            raise ValueError(f"{members} members need {members} noise levels, got {len(eps)}")
        if np.any((eps > 0) != (self.spec.noise > 0)):
            raise ValueError("a stack is either noiseless or noisy in every member")
        self._eps.assign(np.concatenate([eps, np.repeat(eps[:1], self.lanes - members)]))

    def __init__(
        self, spec: ModelSpec, n_features: int, n_classes: int, seeds: list[int], noise: list[float] | None = None
    ) -> None:
        if not supports(spec):
            raise ValueError(f"cannot stack runs of {spec.label()} with engine {spec.engine!r}")
        self.spec = spec
        self.support = router_kind(spec.router).stack
        self._setup(n_features, n_classes, seeds, frozen=self.support.frozen(spec))
        self.router = self.engine = None
        self._eps = tf.Variable(tf.zeros([self.lanes]), trainable=False)
        self.support.setup(self)
        self._set_noise(noise, len(seeds))

    def gates(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Expert weights (lanes, B, E) of every member, or (1, B, E) of member ``lane`` alone: the
        router family's ``StackSupport.gates`` (``qmoe_tfq.models.routers``)."""
        return self.support.gates(self, x, self._weights(lane), lane)

    def logits(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Class logits (lanes, B, C) of every member, or (1, B, C) of member ``lane`` alone."""
        v = self._weights(lane)
        kernel, bias = v["experts_kernel"], v["experts_bias"]
        experts = add_rows(tf.einsum("mbd,medc->mbec", x, kernel), bias)
        return tf.einsum("mbe,mbec->mbc", self.gates(x, lane), experts)


__all__ = ["StackedMoE", "initial_weights", "named_initial_weights", "supports"]

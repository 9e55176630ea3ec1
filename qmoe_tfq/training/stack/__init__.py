"""Stage: training. Stacks: many training runs of one architecture as one TensorFlow program.

``_base`` holds what every stack shares (``Stack``, ``LANES``, the trainer, ``fit_stack``); the two
variants are ``_moe`` (the mixtures, any router family with a ``StackSupport``) and ``_phase1`` (the
authors' Phase 1 models), independent of each other. ``supports`` and ``new_stack`` pick the variant.
"""

from __future__ import annotations

import numpy as np

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.core.cache import ThreadCache
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.phase1 import Phase1Spec
from qmoe_tfq.training.lanes import TRACED_STACKS
from qmoe_tfq.training.stack._base import ADAM, LANES, Stack, StackHistory, StackTrainer, fit_stack, lanes_for
from qmoe_tfq.training.stack._moe import StackedMoE, initial_weights, named_initial_weights
from qmoe_tfq.training.stack._moe import supports as moe_supports
from qmoe_tfq.training.stack._phase1 import StackedPhase1
from qmoe_tfq.training.stack._phase1 import supports as phase1_supports


def supports(spec: ModelSpec | Phase1Spec) -> bool:
    """Whether runs of ``spec`` can be stacked (sampled engines cannot: TFQ seeds them itself; Phase 1
    models: ``_phase1.supports``)."""
    if isinstance(spec, Phase1Spec):
        return phase1_supports(spec)
    return moe_supports(spec)


def new_stack(
    spec: ModelSpec | Phase1Spec, n_features: int, n_classes: int, seeds: list[int], noise: list[float] | None = None
) -> Stack:
    """A stack of ``seeds`` for ``spec``: a ``StackedMoE``, or a ``StackedPhase1`` for a Phase 1 model."""
    if isinstance(spec, Phase1Spec):
        return StackedPhase1(spec, n_features, n_classes, seeds, noise)
    return StackedMoE(spec, n_features, n_classes, seeds, noise)


_CACHE_SIZE = TRACED_STACKS  # training.lanes says why 64
_CACHE = ThreadCache(_CACHE_SIZE)  # (Stack, StackTrainer) by shapes, per thread


def stack_spec(spec: ModelSpec | Phase1Spec) -> ModelSpec | Phase1Spec:
    """The spec a stack is built for: noise levels are per member, so noisy specs differing only in
    their probability share one (the stack's own ``noise`` field then only says "noisy")."""
    import dataclasses

    return dataclasses.replace(spec, noise=1.0) if isinstance(spec, ModelSpec) and spec.noise > 0 else spec


def reusable_stack(
    spec: ModelSpec | Phase1Spec,
    n_features: int,
    n_classes: int,
    seeds: list[int],
    batch_size: int,
    noise: list[float] | None = None,
) -> tuple[Stack, StackTrainer]:
    """A stack (and its trainer) of ``seeds`` for ``spec``, reusing one this process built and traced
    before for the same shapes: the model is reinitialised, the optimiser reset, the graph kept. The
    stack stays valid until the next call with the same shapes in the same thread (the runner finishes
    each group first; a single estimator's ``fit`` copies its weights out). At most ``_CACHE_SIZE``
    shapes per thread are kept, the oldest dropped first."""
    key = (stack_spec(spec), n_features, n_classes, lanes_for(len(seeds)), int(batch_size))
    cached = _CACHE.get(key)
    if cached is not None:
        model, trainer = cached
        model.reset(seeds, noise)
        return model, trainer
    model = new_stack(spec, n_features, n_classes, seeds, noise)
    return _CACHE.put(key, (model, StackTrainer(model, np.zeros(len(seeds)), batch_size)))


__all__ = [
    "ADAM",
    "LANES",
    "Stack",
    "StackHistory",
    "StackTrainer",
    "StackedMoE",
    "StackedPhase1",
    "fit_stack",
    "initial_weights",
    "lanes_for",
    "named_initial_weights",
    "new_stack",
    "reusable_stack",
    "stack_spec",
    "supports",
]

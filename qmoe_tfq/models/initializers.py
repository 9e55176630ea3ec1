"""Stage: models. Weight initialisation of the classical layers, as in the authors' PyTorch code.

Every ``torch.nn.Linear`` there (routers, the quantum router's adapter, the experts) starts from
PyTorch's default: weights and biases uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)]. Keras' default
(Glorot weights, zero biases) trains these small mixtures differently, so we match PyTorch.
"""

from __future__ import annotations

import math

import numpy as np
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def torch_linear(fan_in: int, seed: int) -> keras.initializers.Initializer:
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded: PyTorch's nn.Linear default for W and b."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound, seed=int(seed))


def dense(units: int, fan_in: int, seed: int, **kwargs) -> keras.layers.Dense:
    """A Dense layer initialised like ``torch.nn.Linear(fan_in, units)``, deterministically from ``seed``."""
    kernel_seed, bias_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    return keras.layers.Dense(
        units,
        kernel_initializer=torch_linear(fan_in, kernel_seed),
        bias_initializer=torch_linear(fan_in, bias_seed),
        **kwargs,
    )


def seed_pair(seed: int) -> list[int]:
    """Two seeds drawn from ``seed`` (``SeedSequence``), as every two-part layer here splits its seed."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]


def named_dense(fan_in: int, units: int, seed: int, name: str, bias: bool = True) -> list[tuple[str, np.ndarray]]:
    """The (role, weights) ``dense(units, fan_in, seed)`` starts from, without building it: roles
    ``<name>_kernel`` (fan_in, units) and ``<name>_bias`` (units,)."""
    kernel_seed, bias_seed = seed_pair(seed)
    out = [(f"{name}_kernel", torch_linear(fan_in, kernel_seed)((fan_in, units), dtype="float32").numpy())]
    if bias:
        out.append((f"{name}_bias", torch_linear(fan_in, bias_seed)((units,), dtype="float32").numpy()))
    return out

"""Stage: models. Weight initialisation of the classical layers, as in the authors' PyTorch code.

Every ``torch.nn.Linear`` there (routers, the quantum router's adapter, the experts) starts from
PyTorch's default: weights and biases uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)]. Keras' default
(Glorot weights, zero biases) trains these small mixtures differently, so we match PyTorch
(``init="pytorch"``, the default everywhere). ``init="glorot"`` (issue #21, a run choice of the claims'
multiverse) gives Keras' default instead: weights uniform in [-sqrt(6 / (fan_in + fan_out)), +...] from
the same seeds, biases zero. The quantum circuit's angles (uniform in [0, 2 pi)) are not classical layers
and do not change.
"""

from __future__ import annotations

import math

import numpy as np
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.specs.vocabulary import INITS


def torch_linear(fan_in: int, seed: int) -> keras.initializers.Initializer:
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded: PyTorch's nn.Linear default for W and b."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound, seed=int(seed))


def linear_init(
    init: str, fan_in: int, fan_out: int, kernel_seed: int, bias_seed: int
) -> tuple[keras.initializers.Initializer, keras.initializers.Initializer]:
    """(kernel, bias) initializers of a linear map fan_in -> fan_out: PyTorch's default (``pytorch``) or
    Keras' (``glorot``: Glorot uniform with this map's own fans, zero bias), seeded."""
    if init == "pytorch":
        return torch_linear(fan_in, kernel_seed), torch_linear(fan_in, bias_seed)
    if init == "glorot":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return keras.initializers.RandomUniform(-limit, limit, seed=int(kernel_seed)), keras.initializers.Zeros()
    raise ConfigError(f"unknown init {init!r}; known: {', '.join(INITS)}")


def dense(units: int, fan_in: int, seed: int, init: str = "pytorch", **kwargs) -> keras.layers.Dense:
    """A Dense layer initialised like ``torch.nn.Linear(fan_in, units)`` (or Glorot, ``init``),
    deterministically from ``seed``."""
    kernel_seed, bias_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    kernel, bias = linear_init(init, fan_in, units, kernel_seed, bias_seed)
    return keras.layers.Dense(units, kernel_initializer=kernel, bias_initializer=bias, **kwargs)


def seed_pair(seed: int) -> list[int]:
    """Two seeds drawn from ``seed`` (``SeedSequence``), as every two-part layer here splits its seed."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]


def named_dense(
    fan_in: int, units: int, seed: int, name: str, bias: bool = True, init: str = "pytorch"
) -> list[tuple[str, np.ndarray]]:
    """The (role, weights) ``dense(units, fan_in, seed, init)`` starts from, without building it: roles
    ``<name>_kernel`` (fan_in, units) and ``<name>_bias`` (units,)."""
    kernel_seed, bias_seed = seed_pair(seed)
    kernel, bias_init = linear_init(init, fan_in, units, kernel_seed, bias_seed)
    out = [(f"{name}_kernel", kernel((fan_in, units), dtype="float32").numpy())]
    if bias:
        out.append((f"{name}_bias", bias_init((units,), dtype="float32").numpy()))
    return out

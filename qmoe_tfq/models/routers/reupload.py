"""Stage: models. The data re-uploading router (family ``reupload``): its Keras layer, builder and stack support.

The circuit is ``qmoe_tfq.circuits.reupload.reupload_circuit`` (features in groups of n_qubits as RX
angles before each strongly entangling layer), read out as <Z_i> + Dense adapter + softmax, on the
engine ``ModelSpec`` asks for (``qmoe_tfq.sim.engines.make_expectation``: the state vector by
default, or TFQ). Noiseless only (``ReuploadFamily.validate`` refuses noise). The inputs enter between the layers, so neither
the 3^d interpolation of the angle router nor the unitary of the amplitude router applies: one
circuit per row, linear in the rows.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.reupload import reupload_circuit
from qmoe_tfq.circuits.router import readout_observables
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, broadcast_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.sim.engines import make_expectation
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.high_dim_routers import reupload_shape


class ReuploadRouter(keras.layers.Layer):
    """Re-uploading router: angles start uniform in [0, 2 pi), the adapter like ``torch.nn.Linear``."""

    def __init__(self, spec: ModelSpec, n_features: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.n_qubits, _, self.n_layers = reupload_shape(n_features, spec.n_qubits, spec.layers)
        self.n_experts = spec.experts_for(n_features)
        self.rc = reupload_circuit(n_features, spec.n_qubits, spec.layers)
        self.expectation = make_expectation(self.rc, readout_observables(self.rc.qubits, "expectation"), spec)
        theta_seed, adapter_seed = seed_pair(seed)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(len(self.rc.weight_symbols),),
            initializer=keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed),
            trainable=True,
        )
        self.adapter = dense(self.n_experts, self.n_qubits, adapter_seed, name="adapter")
        self.adapter.build((None, self.n_qubits))

    def circuit_outputs(self, x: tf.Tensor) -> tf.Tensor:
        """<Z_i> (batch, n), one circuit per row."""
        values = tf.concat([tf.cast(x, tf.float32), tf.tile(self.theta[None, :], [tf.shape(x)[0], 1])], axis=1)
        return self.expectation(values)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return softmax(self.adapter(self.circuit_outputs(x)))


def build_reupload(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``reupload`` family's layer (``BUILDERS``)."""
    return ReuploadRouter(spec, n_features, seed, name="reupload_router")


class ReuploadStack(StackSupport):
    """The re-uploading router in a stack: ``theta`` then ``adapter_*``; one engine for every member."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        theta_seed, adapter_seed = seed_pair(seed)
        n, _, layers = reupload_shape(n_features, spec.n_qubits, spec.layers)
        init = keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed)
        return [("theta", init((layers * n * 3,), dtype="float32").numpy())] + named_dense(
            n, n_experts, adapter_seed, "adapter"
        )

    def setup(self, stack) -> None:
        stack.router = ReuploadRouter(stack.spec, stack.n_features, seed=0)
        stack.engine = stack.router.expectation

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        m, b = tf.shape(x)[0], tf.shape(x)[1]
        values = tf.concat([x, broadcast_rows(v["theta"], b)], axis=-1)
        z = tf.reshape(stack.engine(tf.reshape(values, [m * b, -1])), [m, b, -1])
        return softmax(add_rows(tf.einsum("mbn,mne->mbe", z, v["adapter_kernel"]), v["adapter_bias"]))


REUPLOAD_KINDS = {"reupload": RouterKind(build_reupload, ReuploadStack())}

__all__ = ["REUPLOAD_KINDS", "ReuploadRouter", "ReuploadStack", "build_reupload"]

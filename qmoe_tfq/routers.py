"""Routers: Keras layers mapping inputs (batch, d) to expert gates (batch, E) that sum to one.

Which layer a ``ModelSpec`` gets is decided by its family in ``qmoe_tfq.specs.routers``
(``build_router``); the Fourier-feature routers live in ``qmoe_tfq.fourier_router``."""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import cirq
import numpy as np
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq.circuits import readout_observables, router_circuit, walsh_hadamard
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.initializers import dense
from qmoe_tfq.specs.routers import router_family
from qmoe_tfq.sim.engines import make_expectation


class QuantumRouter(keras.layers.Layer):
    """PQC router: RX embedding + ansatz, measured as <Z_i> (then adapter + softmax) or as
    basis-state probabilities (used directly as gates). Circuit angles start uniform in [0, 2 pi);
    with ``spec.frozen_circuit`` they stay there (not trainable)."""

    def __init__(self, spec: ModelSpec, n_features: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.n_qubits = spec.qubits_for(n_features)
        self.n_experts = spec.experts_for(n_features)
        self.rc = router_circuit(n_features, self.n_qubits, spec.layers, spec.ansatz)
        self.expectation = make_expectation(
            self.rc, readout_observables(self.rc.qubits, spec.readout), spec
        )
        seeds = np.random.SeedSequence(seed).generate_state(2)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(len(self.rc.weight_symbols),),
            initializer=keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=int(seeds[0])),
            trainable=not spec.frozen_circuit,
        )
        self.adapter = None
        if spec.readout == "expectation":
            self.adapter = dense(self.n_experts, self.n_qubits, int(seeds[1]), name="adapter")
            self.adapter.build((None, self.n_qubits))
        else:
            self._wh = tf.constant(walsh_hadamard(self.n_qubits).T)

    #: How an exact readout is evaluated (any exact engine, noiseless or noisy): ``"direct"``
    #: simulates one circuit per input row; ``"interpolate"`` simulates the 3^d fixed embedding
    #: angles of ``interpolation_grid`` once per call and interpolates every row exactly from them
    #: (see ``interpolation_weights``); ``"auto"`` picks whichever simulates fewer circuits for the
    #: batch at hand. Both are exact (the tests compare each with cirq); the sampled engine
    #: (``tfq_sampled``) always runs directly.
    evaluation = "auto"

    def circuit_outputs(self, x: tf.Tensor) -> tf.Tensor:
        """Raw readout: <Z_i> (batch, n) or basis probabilities (batch, 2^n)."""
        return self.readout(self._expectations(x))

    def readout(self, expectations: tf.Tensor) -> tf.Tensor:
        """The raw readout from the engine's expectations (rows, n_observables): <Z_i> as they are,
        or basis probabilities from the Z-strings (Walsh-Hadamard transform)."""
        if self.adapter is not None:
            return expectations
        rows = tf.shape(expectations)[0]
        return tf.matmul(tf.concat([tf.ones([rows, 1]), expectations], axis=1), self._wh)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        out = self.circuit_outputs(x)
        if self.adapter is None:
            return out
        return tf.nn.softmax(self.adapter(out))

    def _direct(self, x: tf.Tensor) -> tf.Tensor:
        values = tf.concat([x, tf.tile(self.theta[None, :], [tf.shape(x)[0], 1])], axis=1)
        return self.expectation(values)

    def _interpolated(self, x: tf.Tensor) -> tf.Tensor:
        grid = interpolation_grid(len(self.rc.input_symbols))
        values = tf.concat([tf.constant(grid), tf.tile(self.theta[None, :], [len(grid), 1])], axis=1)
        return tf.matmul(interpolation_weights(x), self.expectation(values))

    def interpolates(self) -> bool:
        """True when the readout may be interpolated from the 3^d grid: an exact engine (every
        channel independent of x) and an embedding of single RX gates (``_embedding_is_single_rx``)."""
        return self.spec.engine == "exact" and self._rx_embedding()

    def _rx_embedding(self) -> bool:
        if getattr(self, "_rx_embedding_checked", None) is None:
            self._rx_embedding_checked = _embedding_is_single_rx(self.rc)
        return self._rx_embedding_checked

    def interpolates_batch(self, rows: int | None) -> bool | None:
        """Whether a batch of ``rows`` rows is read from the interpolation grid under
        ``evaluation``; None when that depends on a row count not known yet."""
        mode = self.evaluation
        if mode not in ("auto", "direct", "interpolate"):
            raise ValueError(f"evaluation={mode!r}; allowed: auto, direct, interpolate")
        n_points = 3 ** len(self.rc.input_symbols)
        if mode == "direct" or not self.interpolates() or (mode == "auto" and n_points > MAX_INTERPOLATION_POINTS):
            return False
        if mode == "interpolate":
            return True
        return None if rows is None else rows > n_points

    def _expectations(self, x: tf.Tensor) -> tf.Tensor:
        use_grid = self.interpolates_batch(x.shape[0])
        if use_grid is not None:
            return self._interpolated(x) if use_grid else self._direct(x)
        return tf.cond(
            tf.shape(x)[0] > 3 ** len(self.rc.input_symbols), lambda: self._interpolated(x), lambda: self._direct(x)
        )


# Exact interpolation of the readout in the embedding angles. With RX(x_i)|0> on qubit i, the
# embedded state is rho(x) = (x)_i (I + cos x_i Z - sin x_i Y) / 2, so every expectation <O>(x) of the
# circuit (any ansatz and observable after the embedding) is affine in (cos x_i, sin x_i) in each
# feature separately: f(x) = sum_g prod_i L_{g_i}(x_i) f(grid_g) over the 3^d grid points
# {0, pi/2, pi}^d, with Lagrange weights L_0 = (1 + cos - sin)/2, L_1 = sin, L_2 = (1 - cos - sin)/2.
# Simulating the 3^d grid circuits once per batch replaces simulating one circuit per row, and the
# gradient in the circuit weights flows through the same engine. The same holds under noise: rho(x)
# after the embedding is that product, and every later gate, channel and observable is linear and
# independent of x, so any noisy expectation whose channels do not depend on x (both placements of
# ``noise_placement``: channels after the embedding act linearly on rho(x)) is multi-affine in
# (cos x_i, sin x_i) too.
INTERPOLATION_ANGLES = (0.0, np.pi / 2, np.pi)
MAX_INTERPOLATION_POINTS = 3**6


def interpolation_grid(n_features: int) -> np.ndarray:
    """The 3^d embedding angles (feature 0 varying slowest), float32 of shape (3^d, d)."""
    axes = np.meshgrid(*[INTERPOLATION_ANGLES] * n_features, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1).astype(np.float32)


def interpolation_weights(x: tf.Tensor) -> tf.Tensor:
    """(batch, 3^d) weights W with f(x) = W @ f(grid) for every readout f of an RX embedding."""
    c, s = tf.cos(x), tf.sin(x)
    per_feature = tf.stack([0.5 * (1.0 + c - s), s, 0.5 * (1.0 - c - s)], axis=-1)  # (batch, d, 3)
    weights = per_feature[:, 0, :]
    for i in range(1, x.shape[-1]):
        weights = tf.reshape(weights[:, :, None] * per_feature[:, i, None, :], [tf.shape(x)[0], -1])
    return weights


def _embedding_is_single_rx(rc) -> bool:
    """True when each input symbol enters once, as RX on its own qubit before any other gate."""
    first_ops: dict = {}
    inputs = {s.name for s in rc.input_symbols}
    seen = set()
    for op in rc.circuit.all_operations():
        names = {s.name for s in cirq.parameter_symbols(op)} & inputs
        if names:
            if len(names) != 1 or not isinstance(op.gate, cirq.Rx) or len(op.qubits) != 1:
                return False
            name = names.pop()
            if name in seen or op.qubits[0] in first_ops:
                return False
            if str(op.gate._rads) != name:
                return False
            seen.add(name)
        for q in op.qubits:
            first_ops.setdefault(q, op)
    return seen == inputs


class ConstantRouter(keras.layers.Layer):
    """Uniform gates 1/E for every input: no parameters, the experts alone decide."""

    def __init__(self, n_experts: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_experts = n_experts

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.fill([tf.shape(x)[0], self.n_experts], 1.0 / self.n_experts)


def classical_router(spec: ModelSpec, n_features: int, seed: int, hidden: int | None = None) -> keras.Sequential:
    """Model A (``hidden=None``: Dense(E) + softmax) or the MLP router (Dense(hidden, relu) -> Dense(E))."""
    e = spec.experts_for(n_features)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]
    layers = []
    fan_in = n_features
    if hidden is not None:
        layers.append(dense(hidden, fan_in, seeds[0], activation="relu"))
        fan_in = hidden
    layers.append(dense(e, fan_in, seeds[1], activation="softmax"))
    router = keras.Sequential(layers, name=f"{spec.router}_router")
    router.build((None, n_features))
    return router


def build_router(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The router ``spec`` describes (built by its family), initialised deterministically from ``seed``."""
    return router_family(spec.router).build(spec, n_features, seed)

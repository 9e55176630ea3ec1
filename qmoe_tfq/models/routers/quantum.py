"""Stage: models. The quantum router (family ``quantum``): its Keras layer, builder and stack support.

Which layer a ``ModelSpec`` gets is decided by its family (``qmoe_tfq.models.routers.BUILDERS``);
the classical routers live in ``classical``, the Fourier-feature routers in ``fourier``."""

from __future__ import annotations

import cirq
import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.noise import noisy_circuit
from qmoe_tfq.circuits.router import readout_observables, router_circuit, walsh_hadamard
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, broadcast_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation
from qmoe_tfq.sim.engines import make_expectation
from qmoe_tfq.sim.tfq import ExactExpectation
from qmoe_tfq.specs.config import ModelSpec, circuit_weight_count


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
        self.expectation = make_expectation(self.rc, readout_observables(self.rc.qubits, spec.readout), spec)
        seeds = np.random.SeedSequence(seed).generate_state(2)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(len(self.rc.weight_symbols),),
            initializer=keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=int(seeds[0])),
            trainable=not spec.frozen_circuit,
        )
        self.adapter = None
        if spec.readout == "expectation":
            self.adapter = dense(self.n_experts, self.n_qubits, int(seeds[1]), spec.init, name="adapter")
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
        return softmax(self.adapter(out))

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


def build_quantum(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``quantum`` family's layer (``BUILDERS``)."""
    return QuantumRouter(spec, n_features, seed, name="quantum_router")


class QuantumStack(StackSupport):
    """The quantum router in a stack: angles ``theta`` (and ``adapter_*`` for the <Z> readout), one
    engine for every member; readouts interpolated from the 3^d grid as ``QuantumRouter`` does."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        theta_seed, adapter_seed = seed_pair(seed)
        n = spec.qubits_for(n_features)
        init = keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed)
        theta = [("theta", init((circuit_weight_count(spec, n),), dtype="float32").numpy())]
        adapter = (
            named_dense(n, n_experts, adapter_seed, "adapter", init=spec.init) if spec.readout == "expectation" else []
        )
        # Keras lists trainable weights first: a frozen circuit's angles come after the adapter.
        return adapter + theta if spec.frozen_circuit else theta + adapter

    def frozen(self, spec: ModelSpec) -> tuple[str, ...]:
        return ("theta",) if spec.frozen_circuit else ()

    def setup(self, stack) -> None:
        import dataclasses

        spec = stack.spec
        noisy = spec.noise > 0
        stack.router = QuantumRouter(dataclasses.replace(spec, noise=0.0) if noisy else spec, stack.n_features, seed=0)
        stack.engine = self._noisy_engine(stack) if noisy else stack.router.expectation

    def _noisy_engine(self, stack):
        """The exact density-matrix engine with the depolarizing probability as a last symbol column,
        so members under different noise levels share one stack (and one compiled engine)."""
        import sympy

        rc, eps = stack.router.rc, sympy.Symbol("depolarizing_eps")
        return DensityMatrixExpectation(
            noisy_circuit(rc, eps, stack.spec.noise_placement),
            [s.name for s in rc.symbols] + [eps.name],
            readout_observables(rc.qubits, stack.spec.readout),
            qubits=rc.qubits,
        )

    def _interpolation_points(self, stack) -> int | None:
        """3^d when the router's readout may be interpolated exactly (see ``interpolation_weights``), else None."""
        router = stack.router
        points = 3 ** len(router.rc.input_symbols)
        ok = (
            router.evaluation != "direct"
            and router.interpolates()
            and (router.evaluation == "interpolate" or points <= MAX_INTERPOLATION_POINTS)
        )
        return points if ok else None

    def _interpolated(self, stack, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        m, b, d = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        grid = tf.constant(interpolation_grid(d))
        g = grid.shape[0]
        values = tf.concat([tf.tile(grid[None], [m, 1, 1]), broadcast_rows(theta, g)], axis=-1)
        out = self._simulate(stack, values, lane)
        w = tf.reshape(interpolation_weights(tf.reshape(x, [m * b, d])), [m, b, g])
        return tf.einsum("mbg,mgk->mbk", w, out)

    def _direct(self, stack, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        b = tf.shape(x)[1]
        return self._simulate(stack, tf.concat([x, broadcast_rows(theta, b)], axis=-1), lane)

    def _simulate(self, stack, values: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """The router's readouts for symbol values (lanes, rows, S) -> (lanes, rows, K) of every lane,
        or of member ``lane`` alone (one lane). TFQ simulates each circuit on its own, so the idle
        padding lanes are skipped (zeros stand in for them); engines made of TensorFlow ops see every
        lane (see ``qmoe_tfq.training.lanes.LANES``)."""
        lanes, rows = tf.shape(values)[0], tf.shape(values)[1]
        engine = stack.engine
        if stack.spec.noise > 0:
            eps = stack._eps if lane is None else stack._eps[lane : lane + 1]
            values = tf.concat([values, tf.cast(tf.tile(tf.reshape(eps, [-1, 1, 1]), [1, rows, 1]), values.dtype)], -1)
        if isinstance(engine, ExactExpectation) and lane is None:
            k = stack._n_members
            out = tf.reshape(engine(tf.reshape(values[:k], [k * rows, -1])), [k, rows, -1])
            return tf.concat([out, tf.zeros([lanes - k, rows, tf.shape(out)[-1]])], axis=0)
        return tf.reshape(engine(tf.reshape(values, [lanes * rows, -1])), [lanes, rows, -1])

    def outputs(self, stack, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Raw readouts (M, B, K), by the router's rule: interpolated from the 3^d grid circuits when
        that is exact and simulates fewer circuits than the batch has rows, else one circuit per row."""
        points = self._interpolation_points(stack)
        if points is None:
            return self._direct(stack, x, theta, lane)
        if stack.router.evaluation == "interpolate":
            return self._interpolated(stack, x, theta, lane)
        rows = x.shape[1]
        if rows is not None:
            return self._interpolated(stack, x, theta, lane) if rows > points else self._direct(stack, x, theta, lane)
        return tf.cond(
            tf.shape(x)[1] > points,
            lambda: self._interpolated(stack, x, theta, lane),
            lambda: self._direct(stack, x, theta, lane),
        )

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        z = self.outputs(stack, x, v["theta"], lane)
        if stack.spec.readout == "expectation":
            return softmax(add_rows(tf.einsum("mbn,mne->mbe", z, v["adapter_kernel"]), v["adapter_bias"]))
        ones = tf.ones_like(z[..., :1])
        return tf.einsum("mbk,kj->mbj", tf.concat([ones, z], axis=-1), stack.router._wh)


QUANTUM_KINDS = {"quantum": RouterKind(build_quantum, QuantumStack())}

"""Stage: models. The authors' Phase 1 models (``qmoe_tfq.specs.phase1``) rebuilt in Cirq + TFQ as Keras models.

Initialisation as in their PyTorch code: every Linear from ``torch.nn.Linear``'s default (weights
and biases uniform in +-1/sqrt(fan_in), ``qmoe_tfq.models.initializers``); circuit weights
``torch.randn``, i.e. standard normal (not the uniform [0, 2 pi) of their later notebooks).
The heads output logits; they trained with mean cross-entropy (``AUTHORS_TRAINING``).

Amplitude embedding as a circuit: the state x/||x|| is prepared by a fixed circuit of RY rotations
and CNOTs (``qmoe_tfq.circuits.router.amplitude_embedding``, Mottonen's uniformly controlled rotations for
real amplitudes) whose 2^n - 1 angles ``amplitude_angles`` computes from x in TensorFlow and feeds
as symbol values, so one compiled circuit serves every input, expert and weight, on either engine
(``Phase1Spec.simulator``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.router import amplitude_expert_circuit, readout_observables, uniformly_controlled_ry_matrix
from qmoe_tfq.core.errors import check_choice
from qmoe_tfq.models.initializers import dense, torch_linear
from qmoe_tfq.models.ops import softmax
from qmoe_tfq.sim.statevector import StateVectorExpectation
from qmoe_tfq.sim.tfq import ExactExpectation
from qmoe_tfq.specs.phase1 import PHASE1_SIMULATORS, Phase1Params, Phase1Spec


def amplitude_angles(x: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """(batch, 2^n - 1) symbol values of ``amplitude_embedding`` preparing x/||x|| for each row of x.

    Rows shorter than 2^n are padded with zeros (PennyLane's ``pad_with=0.``). Level j (qubit j)
    views the amplitudes as blocks (2^j patterns, 2 halves, 2^(n-j-1) entries): alpha_c =
    2 atan2(||upper half||, ||lower half||), with signed single entries on the last level, then
    theta_j = alpha_j @ M_j / 2^j. Scale-invariant, so normalising x first changes nothing; an
    all-zero row gives all angles 0, the state |0...0> (PennyLane would fail to normalise it). The
    angles carry no gradient: they are inputs, not trainable weights.
    """
    x = tf.stop_gradient(tf.cast(x, tf.float64))
    dim = 2**n_qubits
    x = tf.pad(x, [[0, 0], [0, dim - x.shape[-1]]])
    levels = []
    for j in range(n_qubits):
        blocks = tf.reshape(x, [-1, 2**j, 2, 2 ** (n_qubits - j - 1)])
        halves = blocks[..., 0] if j == n_qubits - 1 else tf.sqrt(tf.reduce_sum(tf.square(blocks), axis=-1))
        alpha = 2.0 * tf.atan2(halves[..., 1], halves[..., 0])
        m = tf.constant(uniformly_controlled_ry_matrix(j) / 2**j, tf.float64)
        levels.append(tf.matmul(alpha, m))
    return tf.cast(tf.concat(levels, axis=1), tf.float32)


class AmplitudeQuantumExperts(keras.layers.Layer):
    """E quantum experts on one input: (batch, d) -> <Z_i> of each expert, (batch, E, n_qubits).

    Each expert is ``amplitude_expert_circuit``: amplitude embedding of x (d <= 2^n), then
    StronglyEntanglingLayers with its own weights ``theta[e]`` of shape (n_layers, n_qubits, 3),
    initialised standard normal like ``torch.randn``. All batch x E circuits run in one call of the
    ``simulator`` engine: ``statevector`` (``qmoe_tfq.sim.statevector``) or ``tfq`` (TFQ's op).
    """

    def __init__(
        self, n_experts: int, n_qubits: int, n_layers: int, seed: int, simulator: str = "statevector", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        check_choice("simulator", simulator, PHASE1_SIMULATORS)
        self.n_experts, self.n_qubits = n_experts, n_qubits
        self.rc = amplitude_expert_circuit(n_qubits, n_layers)
        names, observables = [s.name for s in self.rc.symbols], readout_observables(self.rc.qubits, "expectation")
        if simulator == "tfq":
            self.expectation = ExactExpectation(self.rc.circuit, names, observables)
        else:
            self.expectation = StateVectorExpectation(self.rc.circuit, names, observables, qubits=self.rc.qubits)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(n_experts, *self.rc.weight_shape),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=int(seed)),
            trainable=True,
        )

    def call(self, x: tf.Tensor) -> tf.Tensor:
        batch = tf.shape(x)[0]
        angles = tf.repeat(amplitude_angles(x, self.n_qubits), self.n_experts, axis=0)  # rows (b, e)
        weights = tf.tile(tf.reshape(self.theta, [self.n_experts, -1]), [batch, 1])
        z = self.expectation(tf.concat([angles, weights], axis=1))
        return tf.reshape(z, [batch, self.n_experts, self.n_qubits])


def part_seeds(seed: int) -> tuple[int, int, int]:
    """Seeds of a Phase 1 model's router, experts and head, from the model's seed."""
    router, experts, head = (int(s) for s in np.random.SeedSequence(seed).generate_state(3))
    return router, experts, head


def mlp_expert_initializers(
    n_experts: int, n_features: int, hidden: int, width: int, seed: int
) -> dict[str, tuple[tuple[int, ...], keras.initializers.Initializer]]:
    """(shape, initializer) of each weight of ``MLPExperts``, in its order, seeded from ``seed``."""
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(4)]
    shapes = {
        "kernel1": ((n_experts, n_features, hidden), n_features),
        "bias1": ((n_experts, hidden), n_features),
        "kernel2": ((n_experts, hidden, width), hidden),
        "bias2": ((n_experts, width), hidden),
    }
    return {name: (shape, torch_linear(fan_in, s)) for (name, (shape, fan_in)), s in zip(shapes.items(), seeds)}


class MLPExperts(keras.layers.Layer):
    """E classical experts Linear(d -> h) -> ReLU -> Linear(h -> width), evaluated at once:
    (batch, d) -> (batch, E, width); every Linear initialised like ``torch.nn.Linear``."""

    def __init__(self, n_experts: int, n_features: int, hidden: int, width: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        for name, (shape, init) in mlp_expert_initializers(n_experts, n_features, hidden, width, seed).items():
            setattr(self, name, self.add_weight(name=name, shape=shape, initializer=init))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        h = tf.nn.relu(tf.einsum("bd,edh->beh", x, self.kernel1) + self.bias1)
        return tf.einsum("beh,ehw->bew", h, self.kernel2) + self.bias2


class Phase1Model(keras.Model):
    """One of the authors' Phase 1 models (``spec.kind``); ``call`` returns class logits.

    logits = head(sum_e gate_e(x) * expert_e(x)), gates from Linear(d -> E) + softmax (the QNN has one
    expert and no router). Initialised deterministically from ``seed``.
    """

    def __init__(self, spec: Phase1Spec, seed: int = 0) -> None:
        super().__init__(name=spec.kind)
        self.spec = spec
        router_seed, expert_seed, head_seed = part_seeds(seed)
        d, n, e = spec.n_features, spec.n_qubits, spec.experts_used
        self.router = None if spec.kind == "qnn" else dense(e, d, router_seed, activation=softmax, name="router")
        if spec.router != "linear":  # the fully quantum mixture (#23): a quantum router from the registry
            from qmoe_tfq.models.routers import build_router

            self.router = build_router(spec.router_spec(), d, router_seed)
        if spec.kind == "classical_moe":
            self.experts = MLPExperts(e, d, spec.hidden, n, expert_seed, name="experts")
        elif spec.noise > 0:
            from qmoe_tfq.models.fully_quantum import NoisyAmplitudeExperts

            self.experts = NoisyAmplitudeExperts(e, n, spec.n_layers, expert_seed, spec.noise, name="experts")
        else:
            self.experts = AmplitudeQuantumExperts(e, n, spec.n_layers, expert_seed, spec.simulator, name="experts")
        self.head = dense(spec.n_classes, n, head_seed, name="head")
        self(tf.zeros((1, d)))

    def gates(self, x: tf.Tensor) -> tf.Tensor:
        """Expert weights (batch, E); all ones for the single-expert QNN."""
        if self.router is None:
            return tf.ones([tf.shape(x)[0], 1])
        return self.router(x)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        mixed = tf.einsum("be,bew->bw", self.gates(x), self.experts(x))
        return self.head(mixed)

    def param_counts(self) -> Phase1Params:
        """Trainable parameters by part, counted from the built variables."""
        count = lambda layer: 0 if layer is None else int(sum(np.prod(v.shape) for v in layer.trainable_variables))  # noqa: E731
        return Phase1Params(router=count(self.router), experts=count(self.experts), head=count(self.head))


def build_phase1_model(kind: str = "qmoe", seed: int = 0, **spec) -> Phase1Model:
    """The Phase 1 model ``kind`` (one of ``PHASE1_MODELS``) with the authors' sizes unless overridden."""
    return Phase1Model(Phase1Spec(kind=kind, **spec), seed)


__all__ = [
    "AmplitudeQuantumExperts",
    "MLPExperts",
    "Phase1Model",
    "amplitude_angles",
    "build_phase1_model",
    "mlp_expert_initializers",
    "part_seeds",
]

"""Stage: models. The fully quantum mixture (issue #23, the paper's open question 4): a quantum router
gating the authors' Phase 1 quantum experts, noiseless or with depolarizing noise on every circuit.

It is ``Phase1Spec(kind="qmoe", router="amplitude" | "quantum", noise=p)``: the authors' Phase 1 QMoE
(``qmoe_tfq.models.phase1``) with its Linear(d -> E) + softmax router replaced by a router family of
the registry (``qmoe_tfq.models.routers``), and, under noise, experts whose readouts are the
quadratic forms of ``qmoe_tfq.models.routers.amplitude.noisy_forms`` (depolarizing on every qubit
after the amplitude embedding and after the layers, exactly, from each expert's unitary once per
call). Noiseless experts are the Phase 1 experts unchanged. ``fully_quantum_counts`` gives the
parameter counts of the four mixtures the study compares.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.routers.amplitude import amplitude_readouts
from qmoe_tfq.specs.phase1 import Phase1Params, Phase1Spec


class NoisyAmplitudeExperts(keras.layers.Layer):
    """E Phase 1 quantum experts under single-qubit depolarizing ``noise`` (authors' placement):
    (batch, d) -> <Z_i> of each expert, (batch, E, n_qubits). Weights as ``AmplitudeQuantumExperts``
    (shape (E, L, n, 3), standard normal like ``torch.randn``), so the same seed gives the same model."""

    def __init__(self, n_experts: int, n_qubits: int, n_layers: int, seed: int, noise: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_experts, self.n_qubits, self.noise = n_experts, n_qubits, float(noise)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(n_experts, n_layers, n_qubits, 3),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=int(seed)),
            trainable=True,
        )

    def call(self, x: tf.Tensor) -> tf.Tensor:
        eps = tf.constant([self.noise], tf.float32)
        return amplitude_readouts(x[None], self.theta[None], self.n_qubits, eps)[0]


def fully_quantum_counts(
    n_features: int, n_experts: int = 3, router_layers: int = 3, **spec
) -> dict[str, Phase1Params]:
    """Parameter counts of the fully quantum mixture (amplitude router) and the authors' Phase 1
    QMoE and classical MoE for the same shape: {"fully_quantum", "phase1_qmoe", "classical_moe"}."""
    common = dict(n_features=n_features, n_experts=n_experts, **spec)
    return {
        "fully_quantum": Phase1Spec(
            kind="qmoe", router="amplitude", router_layers=router_layers, **common
        ).param_counts(),
        "phase1_qmoe": Phase1Spec(kind="qmoe", **common).param_counts(),
        "classical_moe": Phase1Spec(kind="classical_moe", **common).param_counts(),
    }


__all__ = ["NoisyAmplitudeExperts", "fully_quantum_counts"]

"""Stage: specs. The authors' Phase 1 models (their notebook ``QMoE.ipynb``) as data: which model, its sizes and
its parameter counts. The Keras models are in ``qmoe_tfq.models.phase1``; this module does not import
TensorFlow, so specs can be planned and validated cheaply.

Phase 1 is a different architecture from the paper's: a *classical* router gating *quantum* experts.
Three models, all ending in a linear head Linear(n_qubits -> classes) on an n_qubits-wide vector:

* ``qmoe`` (their ``QMoE``): router Linear(16 -> 3) + softmax; 3 quantum experts, each 4 qubits with
  PennyLane's ``AmplitudeEmbedding(normalize=True)`` of the 16 features, ``StronglyEntanglingLayers``
  with weights (2, 4, 3), readout <Z_i> on every qubit; mixture sum_e gate_e * expert_e(x) (4 wide).
* ``qnn`` (their ``StandardQNN``): one such quantum circuit, no router.
* ``classical_moe`` (their ``ClassicalMoE``): the same router; 3 experts Linear(16 -> 8) -> ReLU ->
  Linear(8 -> 4) ("output matches qubit count"); the same mixture and head.

The fully quantum mixture (issue #23, the paper's open question 4) is ``qmoe`` with its classical
router replaced by a quantum one (``router``: ``amplitude`` or ``quantum``, a family of
``qmoe_tfq.specs.routers`` with ``router_layers`` layers and the <Z_i> + adapter readout), and
``noise`` puts single-qubit depolarizing channels (the authors' placement: every qubit once after the
embedding and once after the ansatz) on every circuit of the model, router and experts alike. The
defaults (``router="linear"``, ``noise=0``) are the authors' models, unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qmoe_tfq.core.errors import ConfigError, check_choice, check_positive_int, check_probability

PHASE1_MODELS = ("qmoe", "qnn", "classical_moe")
#: Routers of a Phase 1 mixture: the authors' Linear(d -> E) + softmax, or a quantum router family.
PHASE1_ROUTERS = ("linear", "amplitude", "quantum")
#: Engines of the quantum experts (``qmoe_tfq.sim``): TensorFlow's state-vector simulator, as the
#: paper's router uses by default, or TFQ's analytic op (the reference; the tests check both).
PHASE1_SIMULATORS = ("statevector", "tfq")
#: Their notebook's settings (``QMoE.ipynb``, GLOBAL CONFIG and ``train_model``).
AUTHORS_TRAINING = dict(epochs=8, lr=0.01, batch_size=32, optimizer="Adam", loss="mean cross-entropy")


def phase1_qubits(n_features: int) -> int:
    """Qubits whose amplitudes hold ``n_features`` values: ceil(log2 d), at least 1 (4 for the authors' 16)."""
    check_positive_int("n_features", n_features)
    return max(1, math.ceil(math.log2(n_features)))


@dataclass(frozen=True)
class Phase1Params:
    """Trainable parameters of a Phase 1 model by part."""

    router: int
    experts: int
    head: int

    @property
    def total(self) -> int:
        return self.router + self.experts + self.head


@dataclass(frozen=True)
class Phase1Spec:
    """A Phase 1 model; the defaults are the authors' (16 features, 4 qubits, 2 layers, 3 experts,
    hidden width 8, 2 classes). ``n_qubits`` is also the width of every expert's output (their
    classical experts output 4 values to match the qubit count). ``simulator``: the quantum experts'
    engine (``PHASE1_SIMULATORS``); the same numbers to float32 rounding, not the same speed."""

    kind: str = "qmoe"
    n_features: int = 16
    n_qubits: int = 4
    n_layers: int = 2
    n_experts: int = 3
    hidden: int = 8
    n_classes: int = 2
    simulator: str = "statevector"
    router: str = "linear"
    router_layers: int = 3
    noise: float = 0.0

    def __post_init__(self) -> None:
        check_choice("phase 1 model", self.kind, PHASE1_MODELS)
        check_choice("simulator", self.simulator, PHASE1_SIMULATORS)
        check_choice("phase 1 router", self.router, PHASE1_ROUTERS)
        check_positive_int("router_layers", self.router_layers)
        check_probability("noise", self.noise)
        object.__setattr__(self, "noise", float(self.noise))
        if self.router != "linear" and self.kind == "qnn":
            raise ConfigError(f"the QNN has no router (router={self.router!r}; allowed for qnn: 'linear')")
        if (self.router != "linear" or self.noise > 0) and self.simulator != "statevector":
            raise ConfigError(
                "a quantum router or noise in a Phase 1 model runs on the state-vector stack only "
                f"(allowed: simulator='statevector', got {self.simulator!r})"
            )
        if self.router != "linear":
            self.router_spec().experts_for(self.n_features)
        for name in ("n_features", "n_qubits", "n_layers", "n_experts", "hidden", "n_classes"):
            check_positive_int(name, getattr(self, name))
        if self.kind != "classical_moe" and self.n_features > 2**self.n_qubits:
            raise ConfigError(
                f"{self.n_features} features do not fit the amplitudes of {self.n_qubits} qubits "
                f"(allowed: n_features <= 2^n_qubits = {2**self.n_qubits}); add qubits or reduce the features"
            )

    def router_spec(self):
        """The ``ModelSpec`` of a quantum router (``router`` != ``linear``): ``router_layers`` layers,
        ``n_experts`` experts, depolarizing ``noise`` in the authors' placement."""
        from qmoe_tfq.specs.config import ModelSpec

        return ModelSpec(router=self.router, layers=self.router_layers, n_experts=self.n_experts, noise=self.noise)

    @property
    def experts_used(self) -> int:
        """Experts actually built: 1 for the standalone QNN."""
        return 1 if self.kind == "qnn" else self.n_experts

    def param_counts(self) -> Phase1Params:
        """Analytic parameter counts (checked against the built models in the tests).

        Router d*E + E (none for the QNN); quantum experts E * L * n * 3; classical experts
        E * (d*h + h + h*n + n); head n * classes + classes. Defaults: qmoe 51 + 72 + 10 = 133,
        qnn 0 + 24 + 10 = 34, classical_moe 51 + 516 + 10 = 577.
        """
        d, n, e = self.n_features, self.n_qubits, self.experts_used
        router = 0 if self.kind == "qnn" else d * e + e
        if self.router != "linear":
            from qmoe_tfq.specs.routers import router_family

            router = router_family(self.router).param_count(self.router_spec(), d, e)
        if self.kind == "classical_moe":
            experts = e * (d * self.hidden + self.hidden + self.hidden * n + n)
        else:
            experts = e * self.n_layers * n * 3
        return Phase1Params(router=router, experts=experts, head=n * self.n_classes + self.n_classes)


__all__ = [
    "AUTHORS_TRAINING",
    "PHASE1_MODELS",
    "PHASE1_ROUTERS",
    "PHASE1_SIMULATORS",
    "Phase1Params",
    "Phase1Spec",
    "phase1_qubits",
]

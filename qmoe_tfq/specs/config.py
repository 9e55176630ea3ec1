"""Stage: specs. Model and training specifications as plain frozen dataclasses (no TensorFlow import).

They validate on construction, so a bad value fails before any training starts, with a message
naming the value and what is allowed. Parameter counts follow from a spec analytically; the tests
check them against the built Keras models.
"""

from __future__ import annotations

from dataclasses import dataclass

from qmoe_tfq.core.errors import check_choice, check_learning_rate, check_positive_int, check_probability
from qmoe_tfq.specs.routers import ROUTER_FAMILIES, circuit_weight_count, router_family  # noqa: F401
from qmoe_tfq.specs.vocabulary import (  # noqa: F401
    ANSATZES,
    DIFFERENTIATORS,
    ENGINES,
    INITS,
    NOISE_PLACEMENTS,
    READOUTS,
    SIMULATORS,
    validate_router_shape,
)

ROUTERS = tuple(ROUTER_FAMILIES)


@dataclass(frozen=True)
class ModelSpec:
    """A mixture of ``n_experts`` linear experts gated by one router.

    router: a family of ``qmoe_tfq.specs.routers`` (``ROUTERS``): ``quantum`` (PQC router),
    ``linear`` (Model A: Dense(E) + softmax), ``mlp`` (Model C / h-sweep: Dense(hidden, relu) ->
    Dense(E) + softmax), ``constant`` (gates fixed at uniform 1/E, no router parameters: the floor
    any router must beat with these experts), ``fourier`` / ``fourier_rank`` (a classical router on
    the trigonometric product features that span the quantum router's function class).
    layers, readout, ansatz, n_qubits, differentiator, frozen_circuit: quantum router only
    (``n_qubits`` also sets the rank of ``fourier_rank``). ``n_qubits=None`` means one qubit per
    feature. With ``readout="probabilities"`` the gates are the 2^n basis-state probabilities, so
    there are 2^n experts and no adapter. ``frozen_circuit=True`` keeps the circuit's random initial
    angles fixed (only the adapter trains; an ablation).
    noise, noise_placement, engine, repetitions: quantum router only (see ``qmoe_tfq.circuits.noise`` and ``qmoe_tfq.models.noise_eval``).
    ``noise`` is the single-qubit depolarizing probability (``cirq.depolarize(p)``), placed as the
    authors' notebook did (``authors``: once after the embedding and once after the ansatz) or after
    every gate (``every_gate``). ``engine="exact"`` simulates the density matrix exactly;
    ``tfq_sampled`` uses TFQ's Monte-Carlo trajectories, ``repetitions`` of them per expectation.
    simulator: the engine of a noiseless exact quantum router (``qmoe_tfq.sim.engines``): ``tfq``
    (TFQ's analytic op with ``differentiator``, the reference engine), ``statevector`` (the
    package's TensorFlow state-vector engine) or ``auto`` (the faster of the two as measured, see
    ``qmoe_tfq.sim.engines.auto_simulator``). Noisy exact routers always use the density-matrix
    engine; the value does not enter the results beyond float rounding.
    init: the classical layers' initialisation (routers, adapter, experts): ``pytorch`` (the authors'
    ``torch.nn.Linear`` default, the plan's) or ``glorot`` (Keras' default; a run choice of the multiverse).
    """

    router: str = "quantum"
    n_experts: int | None = None
    layers: int = 3
    hidden: int = 8
    readout: str = "expectation"
    ansatz: str = "strongly_entangling"
    n_qubits: int | None = None
    differentiator: str = "adjoint"
    noise: float = 0.0
    noise_placement: str = "authors"
    engine: str = "exact"
    repetitions: int = 1000
    frozen_circuit: bool = False
    simulator: str = "auto"
    init: str = "pytorch"

    def __post_init__(self) -> None:
        family = router_family(self.router)
        check_choice("readout", self.readout, READOUTS)
        check_choice("ansatz", self.ansatz, ANSATZES)
        check_choice("differentiator", self.differentiator, DIFFERENTIATORS)
        check_positive_int("layers", self.layers)
        check_positive_int("hidden", self.hidden)
        if self.n_experts is not None:
            check_positive_int("n_experts", self.n_experts)
        if self.n_qubits is not None:
            check_positive_int("n_qubits", self.n_qubits)
        check_probability("noise", self.noise)
        object.__setattr__(self, "noise", float(self.noise))
        check_choice("noise_placement", self.noise_placement, NOISE_PLACEMENTS)
        check_choice("engine", self.engine, ENGINES)
        check_positive_int("repetitions", self.repetitions)
        check_choice("simulator", self.simulator, SIMULATORS)
        check_choice("init", self.init, INITS)
        family.validate(self)

    def qubits_for(self, n_features: int) -> int:
        """Qubit count for data with ``n_features`` features (validated)."""
        n = n_features if self.n_qubits is None else self.n_qubits
        validate_router_shape(n_features, n, self.layers)
        return n

    def experts_for(self, n_features: int) -> int:
        """Expert count: 2^n for the probabilities readout of a quantum router, else n_experts or 2."""
        return router_family(self.router).experts(self, n_features)

    def label(self) -> str:
        """Short human name, e.g. ``quantum(L=3, expectation)``, ``quantum(L=3, expectation,
        noise=0.02 authors)``, ``mlp(h=8)`` or ``fourier``."""
        return router_family(self.router).label(self)


@dataclass(frozen=True)
class TrainSpec:
    """Optimiser settings: Adam with learning rate ``lr``, ``epochs`` passes of ``batch_size``."""

    epochs: int = 50
    lr: float = 0.1
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_learning_rate(self.lr)


@dataclass(frozen=True)
class ParamCounts:
    """Trainable parameters of the router, of the experts, and in total."""

    router: int
    experts: int

    @property
    def total(self) -> int:
        return self.router + self.experts


def param_counts(spec: ModelSpec, n_features: int, n_classes: int) -> ParamCounts:
    """Analytic parameter counts of the model ``spec`` builds for this data shape."""
    e = spec.experts_for(n_features)
    experts = e * (n_features * n_classes + n_classes)
    return ParamCounts(router=router_family(spec.router).param_count(spec, n_features, e), experts=experts)

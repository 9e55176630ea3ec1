"""Stage: specs. Router families: one entry per kind of router, owning its validation, expert count,
parameter count and label, so ``config.ModelSpec`` holds no if-chains on the router name.

No TensorFlow here: each family's Keras layer, builder and stack support live in its file under
``qmoe_tfq.models.routers`` (the ``BUILDERS`` table, keyed like ``ROUTER_FAMILIES``). A router from
outside the package registers both halves with ``qmoe_tfq.models.routers.register_router``.

Families (``ROUTER_FAMILIES``):

* ``quantum``: RX embedding + ansatz (``qmoe_tfq.circuits.router``), read out as <Z_i> + Dense adapter +
  softmax, or as the 2^n basis probabilities used directly as gates (2^n experts, no adapter).
  ``frozen_circuit=True`` keeps the circuit's random initial angles fixed: only the adapter trains.
* ``linear`` (Model A): Dense(E) + softmax on x.
* ``mlp`` (Model C / width sweep): Dense(h, relu) -> Dense(E) + softmax.
* ``constant``: uniform gates 1/E, no parameters (the experts-only floor).
* ``fourier``: Dense(E) + softmax on phi(x) = (x)_i (1, cos x_i, sin x_i), the 3^d trigonometric
  product features; it contains the quantum router's whole function class (``qmoe_tfq.models.fourier_features``).
* ``fourier_rank``: Dense(r, no bias) -> Dense(E) + softmax on phi(x), r = the quantum router's
  qubit count: the <Z> readout (linear in phi) then the adapter, mirrored classically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qmoe_tfq.core.errors import ConfigError, check_choice
from qmoe_tfq.specs.vocabulary import ANGLES_PER_QUBIT, validate_router_shape

if TYPE_CHECKING:
    from qmoe_tfq.specs.config import ModelSpec

#: Features of the Fourier-feature routers: 3^d grows fast, so d is capped (3^8 = 6,561 features).
MAX_FOURIER_FEATURES = 8


def fourier_width(n_features: int) -> int:
    """Number of product features 3^d of ``n_features`` inputs (validated against the cap)."""
    if n_features > MAX_FOURIER_FEATURES:
        raise ConfigError(
            f"the Fourier-feature router has 3^d features; d = {n_features} is too many "
            f"(allowed: d <= {MAX_FOURIER_FEATURES}); reduce the features first (e.g. PCA)"
        )
    return 3**n_features


def circuit_weight_count(spec: ModelSpec, n_qubits: int) -> int:
    """Variational angles of the quantum router's ansatz (trainable, or fixed with ``frozen_circuit``)."""
    return spec.layers * n_qubits * ANGLES_PER_QUBIT[spec.ansatz]


def _dense(fan_in: int, units: int, bias: bool = True) -> int:
    return fan_in * units + (units if bias else 0)


class RouterFamily:
    """Base of every family: E = ``n_experts`` or 2; no quantum-only option allowed."""

    name = ""
    description = ""
    #: Figure colour of the family (``qmoe_tfq.reporting.style``); None: the neutral default.
    color: str | None = None

    def validate(self, spec: ModelSpec) -> None:
        """Raise ConfigError for options this family does not take."""
        if spec.frozen_circuit:
            raise ConfigError(f"frozen_circuit=True applies to the quantum router only (router={spec.router!r})")

    def experts(self, spec: ModelSpec, n_features: int) -> int:
        return 2 if spec.n_experts is None else spec.n_experts

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        """Trainable router parameters for this data shape."""
        raise NotImplementedError

    def label(self, spec: ModelSpec) -> str:
        return self.name


class QuantumFamily(RouterFamily):
    name = "quantum"
    description = "PQC router: RX embedding + ansatz, <Z_i> + adapter or basis probabilities"

    def validate(self, spec: ModelSpec) -> None:
        if not isinstance(spec.frozen_circuit, bool):
            raise ConfigError(f"frozen_circuit must be True or False, got {spec.frozen_circuit!r}")

    def experts(self, spec: ModelSpec, n_features: int) -> int:
        if spec.readout != "probabilities":
            return super().experts(spec, n_features)
        n = spec.qubits_for(n_features)
        if spec.n_experts not in (None, 2**n):
            raise ConfigError(
                f"n_experts={spec.n_experts} does not fit the probabilities readout on {n} qubits "
                f"(allowed: {2**n} = 2^n_qubits, or leave unset)"
            )
        return 2**n

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        n = spec.qubits_for(n_features)
        circuit = 0 if spec.frozen_circuit else circuit_weight_count(spec, n)
        adapter = _dense(n, n_experts) if spec.readout == "expectation" else 0
        return circuit + adapter

    def label(self, spec: ModelSpec) -> str:
        extra = "" if spec.ansatz == "strongly_entangling" else f", {spec.ansatz}"
        if spec.frozen_circuit:
            extra += ", frozen circuit"
        if spec.noise > 0:
            extra += f", noise={spec.noise:g} {spec.noise_placement}"
        if spec.engine != "exact":
            extra += f", {spec.engine} R={spec.repetitions}"
        return f"quantum(L={spec.layers}, {spec.readout}{extra})"


class LinearFamily(RouterFamily):
    name = "linear"
    description = "Model A: Dense(E) + softmax"

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        return _dense(n_features, n_experts)


class MLPFamily(RouterFamily):
    name = "mlp"
    description = "Model C: Dense(h, relu) -> Dense(E) + softmax"

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        return _dense(n_features, spec.hidden) + _dense(spec.hidden, n_experts)

    def label(self, spec: ModelSpec) -> str:
        return f"mlp(h={spec.hidden})"


class ConstantFamily(RouterFamily):
    name = "constant"
    description = "uniform gates 1/E, no parameters"

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        return 0


class FourierFamily(RouterFamily):
    name = "fourier"
    description = "Dense(E) + softmax on the 3^d product features (1, cos x_i, sin x_i)"

    def rank(self, spec: ModelSpec, n_features: int) -> int | None:
        return None

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        width, r = fourier_width(n_features), self.rank(spec, n_features)
        if r is None:
            return _dense(width, n_experts)
        return _dense(width, r, bias=False) + _dense(r, n_experts)


class FourierRankFamily(FourierFamily):
    name = "fourier_rank"
    description = "Dense(n_qubits, no bias) -> Dense(E) + softmax on the 3^d product features"

    def rank(self, spec: ModelSpec, n_features: int) -> int:
        n = n_features if spec.n_qubits is None else spec.n_qubits
        validate_router_shape(n_features, n, 1)
        return n

    def label(self, spec: ModelSpec) -> str:
        return "fourier_rank" if spec.n_qubits is None else f"fourier_rank(r={spec.n_qubits})"


ROUTER_FAMILIES: dict[str, RouterFamily] = {
    f.name: f
    for f in (QuantumFamily(), LinearFamily(), MLPFamily(), ConstantFamily(), FourierFamily(), FourierRankFamily())
}


def register_router_family(family: RouterFamily) -> RouterFamily:
    """Add ``family`` to ``ROUTER_FAMILIES`` (ConfigError if its name is taken); returns it."""
    if not family.name or family.name in ROUTER_FAMILIES:
        raise ConfigError(f"router family name {family.name!r} is empty or taken (taken: {', '.join(ROUTER_FAMILIES)})")
    ROUTER_FAMILIES[family.name] = family
    return family


def router_family(name: str) -> RouterFamily:
    """The family called ``name`` (ConfigError listing the families otherwise)."""
    check_choice("router", name, tuple(ROUTER_FAMILIES))
    return ROUTER_FAMILIES[name]


__all__ = [
    "MAX_FOURIER_FEATURES",
    "ROUTER_FAMILIES",
    "RouterFamily",
    "circuit_weight_count",
    "fourier_width",
    "register_router_family",
    "router_family",
]

# Routers for many inputs (issue #23): ``amplitude``, ``reupload`` and the twins ``quadratic`` and ``quadratic_rank``; the
# module registers them in ``ROUTER_FAMILIES`` when it loads.
import qmoe_tfq.specs.high_dim_routers  # noqa: E402, F401

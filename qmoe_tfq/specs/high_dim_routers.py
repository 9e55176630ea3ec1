"""Stage: specs. Router families for many inputs (issue #23, the paper's open question 2): the spec halves.

Every router of the paper loads one feature per qubit (an RX angle), so its inputs are cut to
k <= 8 PCA components. Four families lift that bottleneck, or mirror it classically:

* ``amplitude``: amplitude embedding of the whole input, the state x/||x|| on n = ceil(log2 d)
  qubits (2^n >= d amplitudes, zero-padded; 16 features on 4 qubits, 256 on 8), then the authors'
  ``StronglyEntanglingLayers`` (``layers`` of them), read out as <Z_i> + a Dense adapter + softmax.
  3 L n + n E + E parameters (L = 3, d = 256, E = 2: 72 + 18 = 90).
* ``reupload``: data re-uploading of angles, n qubits (default ceil(log2 d), at least 1), features
  loaded in groups of n as RX angles before each strongly entangling layer (layer l loads group
  l mod G, G = ceil(d / n)); max(``layers``, G) layers, so every feature is loaded at least once and
  a router with more layers than groups re-uploads. <Z_i> + adapter, 3 L' n + n E + E parameters.
* ``quadratic``: the amplitude router's classical twin. Every <Z_i> readout of an amplitude-embedded
  circuit is a quadratic form x^T M_i x / ||x||^2 (M_i = Re U^dagger Z_i U for the ansatz' unitary
  U, under depolarizing noise too: the channels are linear in rho = psi psi^T), so the gate logits
  are linear in the d (d + 1) / 2 features q(x) = (x_j x_k / ||x||^2)_{j <= k}. Dense(E) + softmax on
  q(x): (d (d + 1) / 2) E + E parameters; it contains the amplitude router's whole function class
  (any qubit count, depth and noise), as ``fourier`` contains the angle router's.
* ``quadratic_rank``: the twin at low rank, sized like the amplitude router. r rank-one readouts
  z_k = (v_k . x)^2 / ||x||^2 (a Dense(r, no bias) on x/||x||, squared), then Dense(E) + softmax:
  every gate logit is x^T A_e x / ||x||^2 + b_e with A_e = V diag(w_e) V^T of rank <= r, a quadratic
  form of the same kind as the amplitude router's (in ``quadratic``'s class, at rank r).
  r = ``hidden``; d r + r E + E parameters (d = 64, r = 1, E = 2: 68, the amplitude router's count).

No TensorFlow here; the Keras halves are ``qmoe_tfq.models.routers.amplitude`` / ``reupload`` /
``quadratic`` / ``quadratic_rank``. The families are registered in ``qmoe_tfq.specs.routers.ROUTER_FAMILIES``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from qmoe_tfq.core.errors import ConfigError, check_positive_int
from qmoe_tfq.specs.routers import ROUTER_FAMILIES, RouterFamily, register_router_family
from qmoe_tfq.specs.vocabulary import MAX_QUBITS

if TYPE_CHECKING:
    from qmoe_tfq.specs.config import ModelSpec

#: Largest input of the quadratic twin: d (d + 1) / 2 features per expert (256: 32,896).
MAX_QUADRATIC_FEATURES = 256


def amplitude_qubits(n_features: int, n_qubits: int | None = None) -> int:
    """Qubits of an amplitude embedding of ``n_features`` values: ceil(log2 d) (at least 1), or
    ``n_qubits`` when given (ConfigError when its 2^n amplitudes cannot hold the features)."""
    check_positive_int("n_features", n_features)
    n = max(1, math.ceil(math.log2(n_features))) if n_qubits is None else n_qubits
    check_positive_int("n_qubits", n)
    if 2**n < n_features:
        raise ConfigError(
            f"{n_features} features do not fit the amplitudes of n_qubits={n} "
            f"(allowed: n_qubits >= {math.ceil(math.log2(n_features))}, 2^n >= d)"
        )
    if n > MAX_QUBITS:
        raise ConfigError(f"n_qubits={n} is too large to simulate here (allowed: <= {MAX_QUBITS})")
    return n


def reupload_shape(n_features: int, n_qubits: int | None, layers: int) -> tuple[int, int, int]:
    """(qubits n, feature groups G = ceil(d / n), layers max(layers, G)) of a re-uploading router."""
    check_positive_int("n_features", n_features)
    check_positive_int("layers", layers)
    n = max(1, math.ceil(math.log2(n_features))) if n_qubits is None else n_qubits
    check_positive_int("n_qubits", n)
    if n > MAX_QUBITS:
        raise ConfigError(f"n_qubits={n} is too large to simulate here (allowed: <= {MAX_QUBITS})")
    groups = -(-n_features // n)
    return n, groups, max(layers, groups)


def quadratic_width(n_features: int) -> int:
    """Number of quadratic features d (d + 1) / 2 of ``n_features`` inputs (validated against the cap)."""
    check_positive_int("n_features", n_features)
    if n_features > MAX_QUADRATIC_FEATURES:
        raise ConfigError(
            f"the quadratic router has d (d + 1) / 2 features; d = {n_features} is too many "
            f"(allowed: d <= {MAX_QUADRATIC_FEATURES})"
        )
    return n_features * (n_features + 1) // 2


def _dense(fan_in: int, units: int, bias: bool = True) -> int:
    return fan_in * units + (units if bias else 0)


class _CircuitFamily(RouterFamily):
    """What the two circuit families share: strongly entangling layers, <Z_i> + adapter readout."""

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        if spec.readout != "expectation" or spec.ansatz != "strongly_entangling":
            raise ConfigError(
                f"the {self.name} router reads <Z_i> + adapter after the authors' strongly entangling layers "
                f"(allowed: readout='expectation', ansatz='strongly_entangling'; got readout={spec.readout!r}, "
                f"ansatz={spec.ansatz!r})"
            )
        if spec.engine != "exact":
            raise ConfigError(
                f"the {self.name} router is simulated exactly (allowed: engine='exact', got {spec.engine!r})"
            )

    def qubits(self, spec: ModelSpec, n_features: int) -> int:
        raise NotImplementedError

    def circuit_layers(self, spec: ModelSpec, n_features: int) -> int:
        return spec.layers

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        n = self.qubits(spec, n_features)
        return 3 * self.circuit_layers(spec, n_features) * n + _dense(n, n_experts)


class AmplitudeFamily(_CircuitFamily):
    name = "amplitude"
    description = "amplitude embedding of x/||x|| on ceil(log2 d) qubits + strongly entangling layers, <Z_i> + adapter"
    color = "#762a83"

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        if spec.noise > 0 and spec.noise_placement != "authors":
            raise ConfigError(
                "the amplitude router takes depolarizing noise in the authors' placement only (after the "
                f"embedding and after the ansatz; allowed: noise_placement='authors', got {spec.noise_placement!r})"
            )

    def qubits(self, spec: ModelSpec, n_features: int) -> int:
        return amplitude_qubits(n_features, spec.n_qubits)

    def label(self, spec: ModelSpec) -> str:
        noise = f", noise={spec.noise:g}" if spec.noise > 0 else ""
        return f"amplitude(L={spec.layers}{noise})"


class ReuploadFamily(_CircuitFamily):
    name = "reupload"
    description = "RX angles re-uploaded in groups of n_qubits before each strongly entangling layer, <Z_i> + adapter"
    color = "#8c510a"

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        if spec.noise > 0:
            raise ConfigError(
                f"the reupload router is simulated noiseless here (allowed: noise=0, got {spec.noise!r}); "
                "the noisy fully quantum mixture uses the amplitude router"
            )
        reupload_shape(1, spec.n_qubits, spec.layers)

    def qubits(self, spec: ModelSpec, n_features: int) -> int:
        return reupload_shape(n_features, spec.n_qubits, spec.layers)[0]

    def circuit_layers(self, spec: ModelSpec, n_features: int) -> int:
        return reupload_shape(n_features, spec.n_qubits, spec.layers)[2]

    def label(self, spec: ModelSpec) -> str:
        qubits = "" if spec.n_qubits is None else f", n={spec.n_qubits}"
        return f"reupload(L>={spec.layers}{qubits})"


class QuadraticFamily(RouterFamily):
    name = "quadratic"
    description = "Dense(E) + softmax on the d(d+1)/2 quadratic features x_j x_k / ||x||^2 (amplitude twin)"
    color = "#e08214"

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        return _dense(quadratic_width(n_features), n_experts)


class QuadraticRankFamily(RouterFamily):
    name = "quadratic_rank"
    description = "Dense(r = hidden, no bias) on x/||x||, squared, -> Dense(E) + softmax (low-rank amplitude twin)"
    color = "#fdb863"

    def param_count(self, spec: ModelSpec, n_features: int, n_experts: int) -> int:
        check_positive_int("n_features", n_features)
        return _dense(n_features, spec.hidden, bias=False) + _dense(spec.hidden, n_experts)

    def label(self, spec: ModelSpec) -> str:
        return f"quadratic_rank(r={spec.hidden})"


#: The families this module adds to ``ROUTER_FAMILIES`` (once, whichever of the two modules loads first).
HIGH_DIM_FAMILIES = (AmplitudeFamily(), ReuploadFamily(), QuadraticFamily(), QuadraticRankFamily())
for _family in HIGH_DIM_FAMILIES:
    if _family.name not in ROUTER_FAMILIES:
        register_router_family(_family)

__all__ = [
    "HIGH_DIM_FAMILIES",
    "MAX_QUADRATIC_FEATURES",
    "AmplitudeFamily",
    "QuadraticFamily",
    "QuadraticRankFamily",
    "ReuploadFamily",
    "amplitude_qubits",
    "quadratic_width",
    "reupload_shape",
]

"""Stage: models. The quantum router's function class, made explicit: the trigonometric product features phi(x).

After the RX(x_i) angle embedding the state is rho(x) = (x)_i (I + cos x_i Z - sin x_i Y) / 2, so
every expectation the circuit can produce, for any ansatz and observable after the embedding, is a
fixed linear combination of the 3^d functions

    phi(x) = (x)_i (1, cos x_i, sin x_i)       (feature 0 varying slowest, the constant first),

with coefficients set by the circuit's angles. The router's <Z_i>, its basis probabilities, and the
adapter's logits (linear in <Z>) all lie in span(phi). ``readout_fit`` checks that numerically with
an independent simulator (cirq, complex128): a least-squares fit on phi reproduces every readout to
rounding error, while a fit on the additive features (1, cos x_i, sin x_i summed over i, no cross
terms) does not once the circuit entangles.

``FourierFeatures`` is phi as a scikit-learn transformer (the references ``fourier_logreg`` and
``fourier_rbf_svm``); ``qmoe_tfq.models.routers.fourier`` is the Keras router on phi. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from qmoe_tfq.specs.routers import fourier_width


def fourier_features(x) -> np.ndarray:
    """phi(x) for each row of ``x`` (n, d): (n, 3^d) products of (1, cos x_i, sin x_i), float64."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"fourier_features needs a 2-D array (rows, features), got shape {x.shape}")
    fourier_width(x.shape[1])
    out = np.ones((len(x), 1))
    for i in range(x.shape[1]):
        factor = np.stack([np.ones(len(x)), np.cos(x[:, i]), np.sin(x[:, i])], axis=1)
        out = (out[:, :, None] * factor[:, None, :]).reshape(len(x), -1)
    return out


def additive_features(x) -> np.ndarray:
    """(1, cos x_i, sin x_i for every i): the 1 + 2d features without products across features."""
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([np.ones((len(x), 1)), np.cos(x), np.sin(x)], axis=1)


class FourierFeatures(TransformerMixin, BaseEstimator):
    """phi(x) = (x)_i (1, cos x_i, sin x_i) as a scikit-learn transformer (stateless; 3^d columns).

    The trigonometric product features that span the quantum router's function class: after the RX
    angle embedding every readout of the circuit is a linear combination of them.

    Attributes
    ----------
    n_features_in_ : int
        Number of features d seen in ``fit`` (at most 8: 3^8 columns).

    Examples
    --------
    >>> import numpy as np
    >>> from qmoe_tfq.models.fourier_features import FourierFeatures
    >>> X = np.array([[0.0, np.pi / 2], [np.pi, 0.0]])
    >>> FourierFeatures().fit_transform(X).shape
    (2, 9)
    """

    def fit(self, X, y=None) -> FourierFeatures:
        X = validate_data(self, X, dtype=np.float64)
        fourier_width(X.shape[1])
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return fourier_features(validate_data(self, X, dtype=np.float64, reset=False))


# ---------------------------------------------------------------------------------- function class


@dataclass(frozen=True)
class ReadoutFit:
    """Largest absolute residuals of least-squares fits of a circuit's readouts on phi and on the
    additive features, over ``n_points`` random inputs."""

    n_qubits: int
    layers: int
    readout: str
    ansatz: str
    n_points: int
    n_outputs: int
    residual_phi: float
    residual_additive: float


def circuit_readouts(
    n_qubits: int, layers: int, readout: str, ansatz: str, weights: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """The router readouts (<Z_i>, or the 2^n basis probabilities) of the RX-embedded circuit at each
    row of ``x``, from cirq's gate matrices in complex128 (independent of TFQ): the state is the
    ansatz unitary (resolved at ``weights``) applied to the product of RX(x_i)|0>."""
    import cirq

    from qmoe_tfq.circuits.router import router_circuit

    rc = router_circuit(n_qubits, n_qubits, layers, ansatz)
    resolver = rc.resolver(np.zeros(n_qubits), weights)
    unitary = cirq.resolve_parameters(rc.ansatz, resolver).unitary(qubit_order=rc.qubits, dtype=np.complex128)
    bits = (np.arange(2**n_qubits)[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    out = []
    for row in x:
        embedded = np.ones(1, dtype=np.complex128)
        for angle in row:
            embedded = np.kron(embedded, cirq.unitary(cirq.rx(float(angle))).astype(np.complex128)[:, 0])
        p = np.abs(unitary @ embedded) ** 2
        out.append(p if readout == "probabilities" else p @ (1.0 - 2.0 * bits))
    return np.array(out)


def readout_fit(
    n_qubits: int,
    layers: int,
    readout: str,
    ansatz: str = "strongly_entangling",
    seed: int = 0,
    points_per_feature: int = 2,
) -> ReadoutFit:
    """Fit a random circuit's readouts (angles uniform in [0, 2 pi)) by least squares on phi(x) and on
    the additive features, at ``points_per_feature * 3^n`` random inputs in [0, pi]^n."""
    from qmoe_tfq.circuits.router import ANGLES_PER_QUBIT

    rng = np.random.default_rng([seed, n_qubits, layers])
    weights = rng.uniform(0.0, 2 * np.pi, layers * n_qubits * ANGLES_PER_QUBIT[ansatz])
    n_points = points_per_feature * 3**n_qubits
    x = rng.uniform(0.0, np.pi, (n_points, n_qubits))
    r = circuit_readouts(n_qubits, layers, readout, ansatz, weights, x)

    def residual(features: np.ndarray) -> float:
        coef = np.linalg.lstsq(features, r, rcond=None)[0]
        return float(np.max(np.abs(features @ coef - r)))

    return ReadoutFit(
        n_qubits,
        layers,
        readout,
        ansatz,
        n_points,
        r.shape[1],
        residual(fourier_features(x)),
        residual(additive_features(x)),
    )


__all__ = ["FourierFeatures", "ReadoutFit", "additive_features", "circuit_readouts", "fourier_features", "readout_fit"]

"""Stage: models. The quantum kernel of the router's embedding, and kernel-target alignment.

The paper's kernel view (C8) is K(x, x') = |<psi(x)|psi(x')>|^2 with |psi(x)> = (x)_i RX(x_i)|0>.
Because RX(a)|0> = cos(a/2)|0> - i sin(a/2)|1>, each factor's overlap is cos((x_i - x'_i)/2), so

    K(x, x') = prod_i cos^2((x_i - x'_i) / 2).

The trainable ansatz U(theta) after the embedding does not change it: <psi(x)|U^dag U|psi(x')> is
the same overlap. And since cos^2(t/2) = (1 + cos a cos b + sin a sin b) / 2 for t = a - b, the kernel
is a plain inner product of the router's trigonometric features (``qmoe_tfq.models.fourier_features``):

    K(x, x') = 2^-d <phi(x), phi(x')>,   phi(x) = (x)_i (1, cos x_i, sin x_i),

so an SVM on K is a linear SVM on phi(x), and K has rank at most 3^d on any data. ``quantum_kernel`` computes K from simulated states (TFQ's state-vector op, or cirq
in complex128 as an independent check, optionally with an ansatz to show the invariance) or from the
closed form; the tests hold all of them equal to 1e-6 (TFQ, complex64 states) and 1e-12 (cirq).

``QuantumKernel`` is the kernel callable an ``sklearn.svm.SVC`` uses (registry kind
``quantum_kernel_svm``). It evaluates the closed form in float64 (``KERNEL_DTYPE``), checked against
cirq's complex128 state overlaps to 1e-12 (``tests/test_kernel_float64.py``): TFQ's complex64 states give
a Gram matrix good to ~1e-7 only, and at that precision borderline support vectors differ between
machines (the support-vector count changed on 2 of 20 seeds). The registry kind's ``version``
(``KERNEL_VERSION``) is in its cache key, so results from the float32 kernel are not reused.

**Bandwidth.** The paper's kernel has none: on the angles it is fixed. ``bandwidth_scale(b)`` = 2 sqrt(b)
scales the inputs so that K(sx, sx') = prod_i cos^2(sqrt(b) (x_i - x'_i)) = exp(-b ||x - x'||^2) to second
order near the diagonal: ``bandwidth`` b is on the scale of the RBF kernel's gamma, so the two kernels can
be tuned over the same values (issue #21, C8). ``QuantumKernel(scale=...)`` applies the factor.

Kernel-target alignment (Cristianini et al. 2002): A(K, y) = <K, yy^T>_F / (||K||_F ||yy^T||_F) with
labels y in {-1, +1}; the centred alignment (Cortes et al. 2012) first centres both matrices in
feature space (HKH, H = I - 11^T/n), which removes the credit a kernel gets for a large constant part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qmoe_tfq.core.errors import ConfigError, check_choice

KERNEL_METHODS = ("statevector", "cirq", "closed_form")
KERNEL_DTYPE = np.float64
# Version of the SVM's kernel in the cache key of ``quantum_kernel_svm`` runs (registry ``Kind.version``):
# 1 = closed form in float64 (0, unrecorded: TFQ complex64 states).
KERNEL_VERSION = 1
SVM_KERNEL_METHOD = "closed_form"


def bandwidth_scale(bandwidth: float) -> float:
    """The input scaling 2 sqrt(``bandwidth``) that gives the quantum kernel the RBF's gamma = ``bandwidth``
    near the diagonal (module docstring); ``bandwidth`` must be finite and > 0."""
    b = float(bandwidth)
    if not (np.isfinite(b) and b > 0):
        raise ConfigError(f"a kernel bandwidth must be a finite number > 0, got {bandwidth!r}")
    return 2.0 * float(np.sqrt(b))


def closed_form_kernel(X, Y) -> np.ndarray:
    """prod_i cos^2((x_i - y_i) / 2) for every pair of rows, (len(X), len(Y)), float64."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return np.prod(np.cos((X[:, None, :] - Y[None, :, :]) / 2.0) ** 2, axis=-1)


@lru_cache(maxsize=8)
def _embedding_program(n_features: int):
    import tensorflow_quantum as tfq

    from qmoe_tfq.circuits.router import router_circuit

    rc = router_circuit(n_features, n_features, 1)
    return tfq.convert_to_tensor([rc.embedding]), [s.name for s in rc.input_symbols]


def tfq_states(X) -> np.ndarray:
    """|psi(x)> for each row, simulated by TFQ's state-vector op (complex64), (n, 2^d)."""
    import tensorflow as tf
    from tensorflow_quantum.core.ops.tfq_simulate_ops import tfq_simulate_state

    import qmoe_tfq  # noqa: F401  (TF_USE_LEGACY_KERAS)

    X = np.asarray(X, dtype=np.float32)
    program, names = _embedding_program(X.shape[1])
    return tfq_simulate_state(tf.tile(program, [len(X)]), tf.constant(names), tf.constant(X)).numpy()


def cirq_states(X, layers: int = 0, ansatz: str = "strongly_entangling", seed: int = 0) -> np.ndarray:
    """|psi(x)> (after ``layers`` ansatz layers with random angles, when ``layers`` > 0), simulated by
    ``cirq.Simulator`` in complex128, (n, 2^d)."""
    import cirq

    from qmoe_tfq.circuits.router import router_circuit

    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    rc = router_circuit(d, d, max(layers, 1), ansatz)
    circuit = rc.circuit if layers > 0 else rc.embedding
    weights = np.random.default_rng(seed).uniform(0.0, 2 * np.pi, len(rc.weight_symbols))
    sim = cirq.Simulator(dtype=np.complex128)
    return np.array(
        [sim.simulate(circuit, rc.resolver(x, weights), qubit_order=rc.qubits).final_state_vector for x in X]
    )


def fidelity(states_x: np.ndarray, states_y: np.ndarray) -> np.ndarray:
    """|<psi_x|psi_y>|^2 for every pair of rows of two state arrays."""
    return np.abs(np.conj(states_x) @ states_y.T).astype(np.float64) ** 2


def quantum_kernel(X, Y=None, method: str = "statevector") -> np.ndarray:
    """K(x, y) = |<psi(x)|psi(y)>|^2 of the RX embedding: from TFQ states (``statevector``), cirq
    states (``cirq``) or the closed form. ``Y=None`` means ``Y = X``."""
    check_choice("kernel method", method, KERNEL_METHODS)
    X = np.asarray(X, dtype=np.float64)
    Y = X if Y is None else np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ConfigError(f"quantum_kernel needs two 2-D arrays with the same features, got {X.shape} and {Y.shape}")
    if method == "closed_form":
        return closed_form_kernel(X, Y)
    states = tfq_states if method == "statevector" else cirq_states
    sx = states(X)
    return fidelity(sx, sx if Y is X else states(Y))


@dataclass(frozen=True)
class QuantumKernel:
    """The quantum kernel as a callable for ``SVC(kernel=QuantumKernel())``: ``K(X, Y)``, float64.

    By default the closed form in float64 (``SVM_KERNEL_METHOD``), equal to the simulated state overlaps
    to 1e-12 and the same bits on every machine; ``method="statevector"`` uses TFQ's complex64 states.

    Parameters
    ----------
    method : str, default SVM_KERNEL_METHOD
        How the kernel is computed: ``closed_form`` (prod_i cos^2((x_i - y_i)/2), float64),
        ``statevector`` (TFQ's state-vector op) or ``cirq`` (cirq's simulator).
    scale : float, default 1.0
        Inputs are multiplied by it before the embedding (``bandwidth_scale``); 1 is the paper's kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from qmoe_tfq.models.kernels import QuantumKernel
    >>> X = np.array([[0.0, 0.0], [np.pi, 0.0]])
    >>> np.round(QuantumKernel()(X, X), 6)
    array([[1., 0.],
           [0., 1.]])
    """

    method: str = SVM_KERNEL_METHOD
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_choice("kernel method", self.method, KERNEL_METHODS)
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"QuantumKernel scale must be a finite number > 0, got {self.scale!r}")

    def __call__(self, X, Y) -> np.ndarray:
        if self.scale != 1.0:
            X, Y = np.asarray(X, dtype=np.float64) * self.scale, np.asarray(Y, dtype=np.float64) * self.scale
        return np.asarray(quantum_kernel(X, Y, self.method), dtype=KERNEL_DTYPE)


def _signs(y) -> np.ndarray:
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) != 2:
        raise ConfigError(f"kernel-target alignment needs two classes, got {len(classes)}: {classes.tolist()}")
    return np.where(y == classes[1], 1.0, -1.0)


def kernel_alignment(K: np.ndarray, y, centered: bool = False) -> float:
    """Kernel-target alignment of the Gram matrix ``K`` with binary labels ``y`` (centred: Cortes et al.)."""
    K = np.asarray(K, dtype=np.float64)
    s = _signs(y)
    if centered:  # H K H with H = I - 11^T/n, in O(n^2): subtract row and column means, add back the grand mean
        K = K - K.mean(axis=0)[None, :] - K.mean(axis=1)[:, None] + K.mean()
        s = s - s.mean()
    # <K, s s^T> = s^T K s, ||s s^T|| = ||s||^2
    return float(s @ K @ s / (np.linalg.norm(K) * (s @ s)))


def nearest_rbf_gamma(K: np.ndarray, X, bounds: tuple[float, float] = (1e-3, 1e2)) -> float:
    """The gamma whose RBF Gram matrix exp(-gamma ||x - x'||^2) on ``X`` is closest to ``K`` in
    Frobenius norm (bounded search in log gamma)."""
    from scipy.optimize import minimize_scalar
    from sklearn.metrics.pairwise import euclidean_distances

    d2 = euclidean_distances(X, squared=True)
    res = minimize_scalar(
        lambda t: np.linalg.norm(np.exp(-np.exp(t) * d2) - K),
        bounds=np.log(bounds),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


__all__ = [
    "KERNEL_DTYPE",
    "KERNEL_METHODS",
    "KERNEL_VERSION",
    "QuantumKernel",
    "SVM_KERNEL_METHOD",
    "bandwidth_scale",
    "cirq_states",
    "closed_form_kernel",
    "fidelity",
    "kernel_alignment",
    "nearest_rbf_gamma",
    "quantum_kernel",
    "tfq_states",
]

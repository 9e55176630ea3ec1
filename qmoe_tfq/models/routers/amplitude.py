"""Stage: models. The amplitude-embedding router (family ``amplitude``) and the amplitude circuits' maths.

The circuit prepares psi(x) = x / ||x|| (zero-padded to 2^n amplitudes; an all-zero row as |0...0>,
as ``qmoe_tfq.models.phase1.amplitude_angles`` does), applies the authors' strongly entangling
layers U(theta) (PennyLane's ``StronglyEntanglingLayers``: Rot = RZ RY RZ on every qubit, then
CNOT(i -> i + r mod n) with PennyLane's range rule) and reads <Z_i>; a Dense adapter + softmax gives
the gates.

No circuit is simulated per row. The state is a linear function of psi, so U's 2^n columns (U
applied to every basis state, ``unitary_columns``) serve a whole batch as one matrix product; a batch
of fewer rows than 2^n applies the layers to the rows' states directly (``apply_layers``), which is
the same arithmetic on fewer vectors. Either way the cost is linear in the rows. Under depolarizing
noise (the authors' placement: every qubit once after the embedding and once after the ansatz) each
readout is the quadratic form psi^T Re(A_i) psi with A_i = D(U^dagger D(Z_i) U) (Heisenberg picture,
``noisy_forms``; ``D`` depolarizes every qubit, and is its own adjoint), computed once per step.
Noiseless, A_i = U^dagger Z_i U: every readout is x^T M_i x / ||x||^2, which is why the classical
twin (``quadratic``) has the same function class.

The same maths serves the authors' Phase 1 quantum experts in the fully quantum mixture
(``qmoe_tfq.models.fully_quantum``): ``amplitude_readouts`` takes an expert axis.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits.router import entangler_ranges
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers._kind import RouterKind, StackSupport
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.high_dim_routers import amplitude_qubits


def cnot_layer_permutation(n_qubits: int, r: int) -> np.ndarray:
    """Index map p of one layer's CNOTs CNOT(i -> (i + r) mod n), i = 0..n-1 in order: the state after
    them is psi[p] (basis index with qubit 0 the most significant bit, Cirq's order)."""
    dim = 2**n_qubits
    p = np.arange(dim)
    if n_qubits < 2:
        return p
    b = np.arange(dim)
    for i in range(n_qubits):
        c, t = i, (i + r) % n_qubits
        f = b ^ (((b >> (n_qubits - 1 - c)) & 1) << (n_qubits - 1 - t))
        p = p[f]
    return p


def rot_matrices(theta: tf.Tensor) -> tf.Tensor:
    """Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi), complex64 (..., 2, 2), from angles (..., 3)."""
    phi, th, om = theta[..., 0], theta[..., 1], theta[..., 2]
    c, s = tf.cos(th / 2), tf.sin(th / 2)
    a, b = (phi + om) / 2, (phi - om) / 2

    def e(angle, mag):
        return tf.complex(mag * tf.cos(angle), mag * tf.sin(angle))

    row0 = tf.stack([e(-a, c), -e(b, s)], axis=-1)
    row1 = tf.stack([e(-b, s), e(a, c)], axis=-1)
    return tf.stack([row0, row1], axis=-2)


def _kron(u: tf.Tensor) -> tf.Tensor | None:
    """kron(u[:, 0], u[:, 1], ...) (K, 2^q, 2^q) of single-qubit matrices u (K, q, 2, 2), the first
    qubit the most significant; None for q = 0."""
    q = u.shape[1]
    if q == 0:
        return None
    out = u[:, 0]
    for i in range(1, q):
        size = 2 ** (i + 1)
        out = tf.reshape(tf.einsum("kab,kcd->kacbd", out, u[:, i]), [-1, size, size])
    return out


def apply_layers(states: tf.Tensor, theta: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """The strongly entangling layers applied to states (K, R, 2^n) complex64, each of the K circuits
    with its own angles theta (K, L, n, 3) (PennyLane's weight order)."""
    k, dim = tf.shape(states)[0], 2**n_qubits
    rot = rot_matrices(theta)  # (K, L, n, 2, 2)
    high = (n_qubits + 1) // 2  # the layer's rotations as kron(high qubits) (x) kron(low qubits): two matmuls
    for layer, r in enumerate(entangler_ranges(n_qubits, theta.shape[1])):
        u_high, u_low = _kron(rot[:, layer, :high]), _kron(rot[:, layer, high:])
        shaped = tf.reshape(states, [k, -1, 2**high, 2 ** (n_qubits - high)])
        shaped = tf.matmul(u_high[:, None], shaped)
        if u_low is not None:
            shaped = tf.matmul(shaped, u_low[:, None], transpose_b=True)
        states = tf.reshape(shaped, [k, -1, dim])
        if n_qubits > 1:
            states = tf.gather(states, tf.constant(cnot_layer_permutation(n_qubits, r)), axis=-1)
    return states


def unitary_columns(theta: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """(K, 2^n, 2^n) complex64: row k is U e_k, the layers applied to basis state k (so a state psi
    becomes psi @ columns)."""
    dim = 2**n_qubits
    eye = tf.tile(tf.eye(dim, dtype=tf.complex64)[None], [tf.shape(theta)[0], 1, 1])
    return apply_layers(eye, theta, n_qubits)


def z_signs(n_qubits: int) -> np.ndarray:
    """(2^n, n) float32: (-1)^(bit i of b), so <Z_i> = |psi|^2 @ signs."""
    b = np.arange(2**n_qubits)[:, None]
    bits = (b >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return (1.0 - 2.0 * bits).astype(np.float32)


def unit_states(x: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """x/||x|| zero-padded to 2^n entries (..., 2^n) float32; an all-zero row becomes |0...0>."""
    dim = 2**n_qubits
    pad = [[0, 0]] * (len(x.shape) - 1) + [[0, dim - x.shape[-1]]]
    x = tf.pad(tf.cast(x, tf.float32), pad)
    norm = tf.norm(x, axis=-1, keepdims=True)
    return tf.where(norm > 0, x / tf.where(norm > 0, norm, 1.0), tf.one_hot(0, dim))


def depolarize_all(a: tf.Tensor, lam: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """Single-qubit depolarizing channel (``cirq.depolarize(p)``, lam = 4p/3) on every qubit of the
    operators a (K, J, 2^n, 2^n): A -> (1 - lam) A + lam (I_q / 2) (x) Tr_q A, qubit by qubit (the
    channel is self-adjoint, so this is its Heisenberg picture too). ``lam`` is (K,)."""
    k, j, dim = tf.shape(a)[0], tf.shape(a)[1], 2**n_qubits
    lam = tf.reshape(tf.cast(lam, a.dtype), [-1, 1, 1, 1, 1, 1, 1, 1])
    eye = tf.eye(2, dtype=a.dtype)
    for q in range(n_qubits):
        hi, lo = 2**q, 2 ** (n_qubits - q - 1)
        six = tf.reshape(a, [k, j, hi, 2, lo, hi, 2, lo])
        traced = six[:, :, :, 0, :, :, 0, :] + six[:, :, :, 1, :, :, 1, :]
        mixed = 0.5 * tf.einsum("mxabcd,pq->mxapbcqd", traced, eye)
        a = tf.reshape((1 - lam) * six + lam * mixed, [k, j, dim, dim])
    return a


def noisy_forms(columns: tf.Tensor, eps: tf.Tensor, n_qubits: int) -> tf.Tensor:
    """Real symmetric (K, n, 2^n, 2^n): <Z_i> = psi^T F_i psi for a real state psi under depolarizing
    ``eps`` (K,) after the embedding and after the ansatz; F_i = Re D(U^dagger D(Z_i) U), and with
    eps = 0 simply Re U^dagger Z_i U."""
    lam = 4.0 * tf.cast(eps, tf.float32) / 3.0
    signs = tf.constant(z_signs(n_qubits))
    # U = columns^T, so U^dagger Z_i U = conj(columns) diag(s_i) columns^T
    a = tf.math.real(tf.einsum("mkb,bi,mlb->mikl", tf.math.conj(columns), tf.cast(signs, columns.dtype), columns))
    a = a * tf.reshape(1.0 - lam, [-1, 1, 1, 1])
    return depolarize_all(a, lam, n_qubits)


def amplitude_readouts(
    x: tf.Tensor, theta: tf.Tensor, n_qubits: int, eps: tf.Tensor | None = None, mode: str = "auto"
) -> tf.Tensor:
    """<Z_i> of E amplitude-embedded circuits per member: inputs x (M, B, d), angles theta (M, E, L, n, 3)
    -> (M, B, E, n). ``eps`` (M,): depolarizing probability per member (None: noiseless). ``mode``:
    ``columns`` (U's columns, then one matrix product per batch), ``direct`` (the layers applied to
    the batch's states) or ``auto`` (``direct`` when the batch has fewer rows per circuit than 2^n)."""
    m, e, dim = tf.shape(theta)[0], theta.shape[1], 2**n_qubits
    psi = unit_states(x, n_qubits)  # (M, B, dim)
    flat = tf.reshape(theta, [-1, theta.shape[2], n_qubits, 3])
    if eps is not None:
        forms = tf.reshape(
            noisy_forms(unitary_columns(flat, n_qubits), tf.repeat(eps, e), n_qubits), [m, e, -1, dim, dim]
        )
        return tf.einsum("mbk,meikl,mbl->mbei", psi, forms, psi)
    rows = x.shape[1]
    if mode == "direct" or (mode == "auto" and rows is not None and rows < dim):
        states = tf.reshape(tf.tile(tf.cast(psi, tf.complex64)[:, None], [1, e, 1, 1]), [m * e, -1, dim])
        out = tf.reshape(apply_layers(states, flat, n_qubits), [m, e, -1, dim])
        states = tf.transpose(out, [0, 2, 1, 3])
    else:
        columns = tf.reshape(unitary_columns(flat, n_qubits), [m, e, dim, dim])
        states = tf.einsum("mbk,mekj->mbej", tf.cast(psi, tf.complex64), columns)
    probs = tf.math.square(tf.math.real(states)) + tf.math.square(tf.math.imag(states))
    return tf.tensordot(probs, tf.constant(z_signs(n_qubits)), 1)


class AmplitudeRouter(keras.layers.Layer):
    """Amplitude-embedding router: x/||x|| on n qubits, strongly entangling layers, <Z_i> + adapter +
    softmax. Angles start uniform in [0, 2 pi), the adapter like ``torch.nn.Linear``."""

    def __init__(self, spec: ModelSpec, n_features: int, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.n_qubits = amplitude_qubits(n_features, spec.n_qubits)
        self.n_experts = spec.experts_for(n_features)
        theta_seed, adapter_seed = seed_pair(seed)
        self.theta = self.add_weight(
            name="circuit_weights",
            shape=(spec.layers * self.n_qubits * 3,),
            initializer=keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed),
            trainable=True,
        )
        self.adapter = dense(self.n_experts, self.n_qubits, adapter_seed, name="adapter")
        self.adapter.build((None, self.n_qubits))

    #: ``amplitude_readouts``' mode (``auto``, ``columns`` or ``direct``); all exact, the tests compare each with cirq.
    evaluation = "auto"

    def circuit_outputs(self, x: tf.Tensor) -> tf.Tensor:
        """<Z_i> (batch, n)."""
        theta = tf.reshape(self.theta, [1, 1, self.spec.layers, self.n_qubits, 3])
        eps = tf.constant([self.spec.noise], tf.float32) if self.spec.noise > 0 else None
        return amplitude_readouts(x[None], theta, self.n_qubits, eps, self.evaluation)[0, :, 0]

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return softmax(self.adapter(self.circuit_outputs(x)))


def build_amplitude(spec: ModelSpec, n_features: int, seed: int) -> keras.layers.Layer:
    """The ``amplitude`` family's layer (``BUILDERS``)."""
    return AmplitudeRouter(spec, n_features, seed, name="amplitude_router")


class AmplitudeStack(StackSupport):
    """The amplitude router in a stack: ``theta`` then ``adapter_*`` (the layer's order); per-member
    depolarizing probabilities from the stack (``StackedMoE._eps``) when the spec is noisy."""

    def initial(self, spec: ModelSpec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        theta_seed, adapter_seed = seed_pair(seed)
        n = amplitude_qubits(n_features, spec.n_qubits)
        init = keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed)
        theta = [("theta", init((spec.layers * n * 3,), dtype="float32").numpy())]
        return theta + named_dense(n, n_experts, adapter_seed, "adapter")

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        spec = stack.spec
        n = amplitude_qubits(stack.n_features, spec.n_qubits)
        theta = tf.reshape(v["theta"], [-1, 1, spec.layers, n, 3])
        eps = None
        if spec.noise > 0:
            eps = stack._eps if lane is None else stack._eps[lane : lane + 1]
        z = amplitude_readouts(x, theta, n, eps)[:, :, 0]
        return softmax(add_rows(tf.einsum("mbn,mne->mbe", z, v["adapter_kernel"]), v["adapter_bias"]))


AMPLITUDE_KINDS = {"amplitude": RouterKind(build_amplitude, AmplitudeStack())}

__all__ = [
    "AMPLITUDE_KINDS",
    "AmplitudeRouter",
    "AmplitudeStack",
    "amplitude_readouts",
    "apply_layers",
    "build_amplitude",
    "cnot_layer_permutation",
    "depolarize_all",
    "noisy_forms",
    "rot_matrices",
    "unit_states",
    "unitary_columns",
    "z_signs",
]

"""Routers for many inputs (#23): the amplitude and re-uploading routers against cirq and PennyLane,
the quadratic-form identity behind the classical twin, parameter counts, and stacked training."""

import cirq
import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq import ConfigError
from qmoe_tfq.circuits.reupload import reupload_circuit
from qmoe_tfq.circuits.router import router_circuit
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.models.routers.amplitude import AmplitudeRouter, amplitude_readouts, noisy_forms, unitary_columns
from qmoe_tfq.models.routers.quadratic import QuadraticRouter, quadratic_features, quadratic_pairs
from qmoe_tfq.models.routers.quadratic_rank import QuadraticRankRouter
from qmoe_tfq.models.routers.reupload import ReuploadRouter
from qmoe_tfq.specs.config import ModelSpec, param_counts
from qmoe_tfq.training.stack import LANES, StackedMoE, fit_stack, initial_weights

qml = pytest.importorskip("pennylane")


def _z(n):
    b = np.arange(2**n)[:, None]
    return 1 - 2 * ((b >> (n - 1 - np.arange(n))) & 1)


def cirq_amplitude(theta, x, n, p=0.0):
    """<Z_i> of x/||x|| (zero-padded) through the authors' layers, by cirq (density matrix when p > 0)."""
    rc = router_circuit(n, n, theta.shape[0])
    res = cirq.ParamResolver({s.name: float(v) for s, v in zip(rc.weight_symbols, theta.ravel())})
    out = []
    for xi in x:
        psi = np.zeros(2**n)
        psi[: len(xi)] = xi / np.linalg.norm(xi)
        if p == 0:
            st = cirq.Simulator(dtype=np.complex128).simulate(
                rc.ansatz, res, qubit_order=rc.qubits, initial_state=psi.astype(complex)
            )
            out.append(np.abs(st.final_state_vector) ** 2 @ _z(n))
        else:
            layer = cirq.Circuit(cirq.depolarize(p).on_each(*rc.qubits))
            rho = (
                cirq.DensityMatrixSimulator(dtype=np.complex128)
                .simulate(layer + rc.ansatz + layer, res, qubit_order=rc.qubits, initial_state=np.outer(psi, psi))
                .final_density_matrix
            )
            out.append(np.real(np.diag(rho)) @ _z(n))
    return np.array(out)


def pennylane_amplitude(theta, x, n):
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def f(v):
        qml.AmplitudeEmbedding(v, wires=range(n), normalize=True, pad_with=0.0)
        qml.StronglyEntanglingLayers(theta, wires=range(n))
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return np.array([np.array(f(xi), dtype=float) for xi in x])


@pytest.mark.parametrize("d,layers", [(2, 2), (3, 3), (8, 2), (16, 3), (27, 1)])
def test_amplitude_router_equals_cirq_and_pennylane(d, layers):
    rng = np.random.default_rng(d * 10 + layers)
    router = AmplitudeRouter(ModelSpec(router="amplitude", layers=layers), n_features=d, seed=0)
    n = router.n_qubits
    assert 2**n >= d > 2 ** (n - 1) or d <= 2
    theta = rng.uniform(0, 2 * np.pi, (layers, n, 3))
    router.theta.assign(theta.reshape(-1).astype(np.float32))
    x = rng.normal(size=(2 ** (n + 1) + 3, d))  # more rows than 2^n: the unitary's columns
    want = cirq_amplitude(theta, x, n)
    np.testing.assert_allclose(pennylane_amplitude(theta, x, n), want, atol=1e-10)
    for mode in ("auto", "columns", "direct"):
        router.evaluation = mode
        for rows in (x, x[:2]):
            got = router.circuit_outputs(tf.constant(rows, tf.float32)).numpy()
            np.testing.assert_allclose(got, want[: len(rows)], atol=1e-5, err_msg=mode)


@pytest.mark.parametrize("n,layers,p", [(1, 2, 0.1), (2, 3, 0.02), (4, 2, 0.05)])
def test_noisy_amplitude_readouts_equal_cirq_density_matrix(n, layers, p):
    rng = np.random.default_rng(n)
    theta = rng.uniform(0, 2 * np.pi, (layers, n, 3))
    x = rng.normal(size=(5, 2**n))
    got = amplitude_readouts(tf.constant(x[None], tf.float32), tf.constant(theta[None, None], tf.float32), n, [p])
    np.testing.assert_allclose(got.numpy()[0, :, 0], cirq_amplitude(theta, x, n, p), atol=1e-5)
    router = AmplitudeRouter(ModelSpec(router="amplitude", layers=layers, noise=p), n_features=2**n, seed=0)
    router.theta.assign(theta.reshape(-1).astype(np.float32))
    np.testing.assert_allclose(router.circuit_outputs(tf.constant(x, tf.float32)).numpy(), got[0, :, 0], atol=1e-6)


def pennylane_reupload(theta, x, n, groups):
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def f(v):
        for layer in range(theta.shape[0]):
            g = layer % groups
            chunk = v[g * n : (g + 1) * n]
            qml.AngleEmbedding(chunk, wires=range(len(chunk)), rotation="X")
            r = (layer % (n - 1)) + 1 if n > 1 else 0
            qml.StronglyEntanglingLayers(theta[layer : layer + 1], wires=range(n), ranges=[r] if n > 1 else None)
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return np.array([np.array(f(xi), dtype=float) for xi in x])


@pytest.mark.parametrize("d,n_qubits,layers", [(2, None, 3), (5, 2, 1), (16, None, 2), (7, 3, 5)])
def test_reupload_router_equals_cirq_and_pennylane(d, n_qubits, layers):
    rng = np.random.default_rng(d)
    spec = ModelSpec(router="reupload", layers=layers, n_qubits=n_qubits)
    router = ReuploadRouter(spec, n_features=d, seed=0)
    n, total = router.n_qubits, router.n_layers
    groups = -(-d // n)
    assert total == max(layers, groups)
    theta = rng.uniform(0, 2 * np.pi, (total, n, 3))
    router.theta.assign(theta.reshape(-1).astype(np.float32))
    x = rng.uniform(0, np.pi, (4, d))
    rc = reupload_circuit(d, n_qubits, layers)
    want = []
    for xi in x:
        st = cirq.Simulator(dtype=np.complex128).simulate(rc.circuit, rc.resolver(xi, theta), qubit_order=rc.qubits)
        want.append(np.abs(st.final_state_vector) ** 2 @ _z(n))
    want = np.array(want)
    np.testing.assert_allclose(pennylane_reupload(theta, x, n, groups), want, atol=1e-10)
    np.testing.assert_allclose(router.circuit_outputs(tf.constant(x, tf.float32)).numpy(), want, atol=1e-5)


def test_the_reupload_router_at_256_inputs_equals_cirq():
    """The study's largest re-uploading router (256 features on 8 qubits, 32 layers): every row of a
    batch as one state vector in TensorFlow, equal to cirq.Simulator (complex128) to 1e-5."""
    d = 256
    router = ReuploadRouter(ModelSpec(router="reupload", layers=1), n_features=d, seed=0)
    assert (router.n_qubits, router.n_layers) == (8, 32)
    rng = np.random.default_rng(256)
    theta = rng.uniform(0, 2 * np.pi, (32, 8, 3))
    router.theta.assign(theta.reshape(-1).astype(np.float32))
    x = rng.uniform(0, np.pi, (3, d))
    rc = reupload_circuit(d, None, 1)
    want = np.array(
        [
            np.abs(
                cirq.Simulator(dtype=np.complex128)
                .simulate(rc.circuit, rc.resolver(xi, theta), qubit_order=rc.qubits)
                .final_state_vector
            )
            ** 2
            @ _z(8)
            for xi in x
        ]
    )
    np.testing.assert_allclose(router.circuit_outputs(tf.constant(x, tf.float32)).numpy(), want, atol=1e-5)


@pytest.mark.parametrize("n,layers,p", [(2, 1, 0.0), (3, 3, 0.0), (4, 2, 0.0), (3, 2, 0.05)])
def test_every_amplitude_readout_is_a_quadratic_form(n, layers, p):
    """Least squares on q(x) = (x_j x_k / ||x||^2)_{j<=k} reproduces random circuits' <Z_i> (cirq,
    complex128, noiseless and noisy) to rounding; the d features x_j^2 / ||x||^2 alone do not."""
    rng = np.random.default_rng(n * 7 + layers)
    d = 2**n
    theta = rng.uniform(0, 2 * np.pi, (layers, n, 3))
    x = rng.normal(size=(3 * d * (d + 1) // 2 + 10, d))
    z = cirq_amplitude(theta, x, n, p)
    q = quadratic_features(x)
    assert q.shape[1] == d * (d + 1) // 2
    coef, *_ = np.linalg.lstsq(q, z, rcond=None)
    assert np.abs(q @ coef - z).max() < 1e-9
    diag = q[:, [i for i, (j, k) in enumerate(quadratic_pairs(d)) if j == k]]
    coef, *_ = np.linalg.lstsq(diag, z, rcond=None)
    assert np.abs(diag @ coef - z).max() > 1e-2
    # and the forms themselves: <Z_i> = psi^T F_i psi
    forms = noisy_forms(unitary_columns(tf.constant(theta[None], tf.float32), n), [p], n).numpy()[0]
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("bk,ikl,bl->bi", u, forms, u), z, atol=1e-5)


def test_the_twin_represents_the_amplitude_router_exactly():
    d, n, layers = 12, 4, 2
    spec = ModelSpec(router="amplitude", layers=layers, n_experts=3)
    router = AmplitudeRouter(spec, n_features=d, seed=5)
    forms = noisy_forms(unitary_columns(tf.reshape(router.theta, [1, layers, n, 3]), n), [0.0], n).numpy()[0]
    kernel, bias = (w.numpy() for w in router.adapter.weights)
    total = np.einsum("ie,ijk->ejk", kernel, forms)[:, :d, :d]  # (E, d, d) logit forms
    pairs = quadratic_pairs(d)
    w = np.stack([total[:, j, k] * (1 if j == k else 2) for j, k in pairs])  # (T, E)
    twin = QuadraticRouter(d, 3, seed=0)
    twin.kernel.assign(w.astype(np.float32))
    twin.bias.assign(bias)
    x = tf.constant(np.random.default_rng(0).normal(size=(40, d)), tf.float32)
    np.testing.assert_allclose(twin(x).numpy(), router(x).numpy(), atol=1e-5)


def _twin_kernel(forms: np.ndarray) -> np.ndarray:
    """The ``quadratic`` router's kernel (T, E) whose logits are u^T forms[e] u (forms (E, d, d), symmetric)."""
    return np.stack([forms[:, j, k] * (1 if j == k else 2) for j, k in quadratic_pairs(forms.shape[-1])])


@pytest.mark.parametrize("d,rank,experts", [(6, 1, 2), (12, 2, 3), (16, 2, 2)])
def test_the_low_rank_twin_is_a_rank_r_quadratic_form_of_the_same_kind(d, rank, experts):
    """Its logits are u^T A_e u + b_e with A_e = V diag(W_e) V^T (rank <= r): by construction, the full
    twin with those forms gives the same gates, and least squares on q(x) reproduces its logits, with
    a coefficient matrix of rank <= r per expert; x and 3 x give the same gates (a form of x/||x||)."""
    router = QuadraticRankRouter(d, experts, rank, seed=3)
    x = np.random.default_rng(d).normal(size=(d * (d + 1) // 2 + 40, d))
    v = router.projection.kernel.numpy().astype(np.float64)  # (d, r)
    w, b = (t.numpy().astype(np.float64) for t in router.readout.weights)  # (r, E), (E,)
    forms = np.einsum("jr,re,kr->ejk", v, w, v)
    assert all(np.linalg.matrix_rank(f, tol=1e-6) <= rank for f in forms)
    twin = QuadraticRouter(d, experts, seed=0)
    twin.kernel.assign(_twin_kernel(forms).astype(np.float32))
    twin.bias.assign(b.astype(np.float32))
    xt = tf.constant(x, tf.float32)
    np.testing.assert_allclose(router(xt).numpy(), twin(xt).numpy(), atol=1e-6)
    np.testing.assert_allclose(router(3 * xt).numpy(), router(xt).numpy(), atol=1e-6)
    logits = router.readout(router.readouts(xt)).numpy().astype(np.float64)
    q = quadratic_features(x)  # its diagonal sums to 1, so it carries the bias too: b_e = u^T (b_e I) u
    coef, *_ = np.linalg.lstsq(q, logits, rcond=None)
    assert np.abs(q @ coef - logits).max() < 1e-5
    for e in range(experts):  # the fitted coefficients, back as a symmetric matrix, are A_e + b_e I
        fitted = np.zeros((d, d))
        for t, (j, k) in enumerate(quadratic_pairs(d)):
            fitted[j, k] = fitted[k, j] = coef[t, e] if j == k else coef[t, e] / 2
        np.testing.assert_allclose(fitted - b[e] * np.eye(d), forms[e], atol=1e-4)
        assert np.linalg.matrix_rank(fitted - b[e] * np.eye(d), tol=1e-3) <= rank


@pytest.mark.parametrize("d", [16, 64, 256])
def test_parameter_counts_of_the_high_dim_routers(d):
    n = {16: 4, 64: 6, 256: 8}[d]
    assert param_counts(ModelSpec(router="amplitude"), d, 2).router == 9 * n + 2 * n + 2
    assert param_counts(ModelSpec(router="quadratic"), d, 10).router == d * (d + 1) // 2 * 2 + 2
    groups = -(-d // n)
    assert param_counts(ModelSpec(router="reupload", layers=1), d, 2).router == 3 * groups * n + 2 * n + 2
    for name in ("amplitude", "quadratic") if d < 256 else ("amplitude",):
        spec = ModelSpec(router=name)
        assert build_model(spec, d, 3, seed=0).param_counts() == param_counts(spec, d, 3)
    for r in (1, 2, 5):
        spec = ModelSpec(router="quadratic_rank", hidden=r)
        assert param_counts(spec, d, 2).router == d * r + r * 2 + 2
        assert build_model(spec, d, 3, seed=0).param_counts() == param_counts(spec, d, 3)
    # the amplitude router at 256 inputs: 90 parameters; its twin 65,794
    if d == 256:
        assert param_counts(ModelSpec(router="amplitude"), d, 2).router == 90
        assert param_counts(ModelSpec(router="quadratic"), d, 2).router == 65_794


def test_bad_high_dim_router_options_are_refused():
    with pytest.raises(ConfigError, match="2\\^n >= d"):
        param_counts(ModelSpec(router="amplitude", n_qubits=2), 5, 2)
    with pytest.raises(ConfigError, match="readout='expectation'"):
        ModelSpec(router="amplitude", readout="probabilities")
    with pytest.raises(ConfigError, match="noise_placement='authors'"):
        ModelSpec(router="amplitude", noise=0.01, noise_placement="every_gate")
    with pytest.raises(ConfigError, match="noise=0"):
        ModelSpec(router="reupload", noise=0.01)
    with pytest.raises(ConfigError, match="d <= 256"):
        param_counts(ModelSpec(router="quadratic"), 300, 2)


SPECS = [
    ModelSpec(router="amplitude", layers=2),
    ModelSpec(router="amplitude", layers=2, noise=0.03),
    ModelSpec(router="reupload", layers=2),
    ModelSpec(router="quadratic"),
    ModelSpec(router="quadratic_rank", hidden=2),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (20, 60, 6)).astype(np.float32)
    y = (x[..., 0] * x[..., 1] > x[..., 2] * x[..., 3]).astype(np.int32)
    return x, y


def _train(spec, x, y, members):
    st = StackedMoE(spec, 6, 2, list(members))
    lr = np.array([0.02 + 0.01 * (s % 5) for s in members])
    h = fit_stack(
        st, x[members], y[members], lr=lr, seeds=list(members), batch_size=16, max_epochs=2,
        validation=(x[members][:, :20], y[members][:, :20]),
    )  # fmt: skip
    return st, h


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label())
def test_a_high_dim_run_gives_the_same_bits_alone_or_in_a_stack(spec, data):
    x, y = data
    for seed in (0, 7):
        ours = initial_weights(spec, 6, 2, seed)
        keras = build_model(spec, 6, 2, seed).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(ours, keras, strict=True))
    st1, h1 = _train(spec, x, y, [3])
    members = list(range(18))[::-1]
    st, h = _train(spec, x, y, members)
    assert st.lanes == 2 * LANES
    i = members.index(3)
    assert all(np.array_equal(a, b) for a, b in zip(st.member_weights(i), st1.member_weights(0)))
    assert h.losses[i] == h1.losses[0] and h.validation_scores[i] == h1.validation_scores[0]
    # and the stack's member computes what the Keras model with its weights computes
    model = build_model(spec, 6, 2, 3)
    model.set_weights(st1.member_weights(0))
    np.testing.assert_allclose(st1.member_output(0, x[0]), model(x[0]).numpy(), atol=1e-4)

"""The quantum kernel |<psi(x)|psi(x')>|^2 of the RX embedding: simulated (TFQ, cirq) equals the closed
form prod_i cos^2((x_i - x'_i)/2), the ansatz leaves it unchanged, kernel-target alignment on
constructed matrices, and the quantum-kernel SVM estimator kind."""

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.svm import SVC

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.experiments.registry import EstimatorSpec
from qmoe_tfq.models.kernels import (
    QuantumKernel,
    cirq_states,
    closed_form_kernel,
    fidelity,
    kernel_alignment,
    nearest_rbf_gamma,
    quantum_kernel,
)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_simulated_kernel_equals_the_closed_form(d):
    rng = np.random.default_rng(d)
    x, y = rng.uniform(0, np.pi, (25, d)), rng.uniform(-1, 4, (15, d))
    closed = closed_form_kernel(x, y)
    assert np.abs(quantum_kernel(x, y, "statevector") - closed).max() < 1e-6  # TFQ, float32 states
    assert np.abs(quantum_kernel(x, y, "cirq") - closed).max() < 1e-10
    np.testing.assert_allclose(quantum_kernel(x, method="closed_form"), closed_form_kernel(x, x))
    assert closed.min() >= 0 and closed.max() <= 1


@pytest.mark.parametrize("d", [1, 2, 3])
def test_the_kernel_is_an_inner_product_of_the_trigonometric_features(d):
    from qmoe_tfq.models.fourier_features import fourier_features

    x = np.random.default_rng(d).uniform(-1, 4, (30, d))
    phi = fourier_features(x)
    np.testing.assert_allclose(closed_form_kernel(x, x), phi @ phi.T / 2**d, atol=1e-12)
    assert np.linalg.matrix_rank(closed_form_kernel(x, x), tol=1e-9) <= 3**d


def test_the_trained_ansatz_does_not_change_the_kernel():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (12, 2))
    with_ansatz = fidelity(cirq_states(x, layers=3, seed=4), cirq_states(x, layers=3, seed=4))
    assert np.abs(with_ansatz - closed_form_kernel(x, x)).max() < 1e-10
    # a different circuit per side (different angles) is not the same kernel: the check can fail
    other = fidelity(cirq_states(x, layers=3, seed=4), cirq_states(x, layers=3, seed=5))
    assert np.abs(other - closed_form_kernel(x, x)).max() > 1e-2


def test_kernel_target_alignment_on_constructed_matrices():
    y = np.array([0, 0, 1, 1, 1, 0])
    s = np.where(y == 1, 1.0, -1.0)
    assert kernel_alignment(np.outer(s, s), y) == pytest.approx(1.0)
    assert kernel_alignment(np.eye(6), y) == pytest.approx(1 / np.sqrt(6))
    assert kernel_alignment(np.outer(s, s), y, centered=True) == pytest.approx(1.0)
    assert kernel_alignment(-np.outer(s, s), y) == pytest.approx(-1.0)
    # centring removes the credit a large constant part gets (balanced classes)
    shifted = 5.0 + np.outer(s, s)
    assert kernel_alignment(shifted, y) < 0.3
    assert kernel_alignment(shifted, y, centered=True) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="two classes"):
        kernel_alignment(np.eye(3), [0, 1, 2])
    # Cortes et al.'s definition, <HKH, HLH>_F / (||HKH|| ||HLH||) with H = I - 11^T/n, on an unbalanced split
    rng = np.random.default_rng(3)
    a = rng.normal(size=(9, 4))
    K, y = a @ a.T + 2.0, np.array([1, 0, 0, 1, 1, 1, 0, 1, 1])
    H, L = np.eye(9) - 1 / 9, np.outer(*(2 * [np.where(y == 1, 1.0, -1.0)]))
    Kc, Lc = H @ K @ H, H @ L @ H
    want = np.sum(Kc * Lc) / (np.linalg.norm(Kc) * np.linalg.norm(Lc))
    assert kernel_alignment(K, y, centered=True) == pytest.approx(want, abs=1e-12)
    assert kernel_alignment(K, y) == pytest.approx(np.sum(K * L) / (np.linalg.norm(K) * 9), abs=1e-12)


def test_nearest_rbf_gamma_recovers_a_known_gamma():
    from sklearn.metrics.pairwise import rbf_kernel

    x = np.random.default_rng(2).uniform(0, np.pi, (40, 2))
    assert nearest_rbf_gamma(rbf_kernel(x, gamma=0.7), x) == pytest.approx(0.7, rel=1e-3)
    # small differences: cos^2(t/2) = 1 - t^2/4 + ..., so the quantum kernel is near an RBF with gamma ~ 1/4
    assert 0.15 < nearest_rbf_gamma(closed_form_kernel(x, x), x) < 0.4


def test_quantum_kernel_svm_kind_matches_a_precomputed_svc():
    x, y = make_moons(80, noise=0.1, random_state=0)
    x = (x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi
    spec = EstimatorSpec.of("quantum_kernel_svm", C=10.0)
    est = spec.build(0).fit(x[:60], y[:60])
    ref = SVC(kernel="precomputed", C=10.0).fit(closed_form_kernel(x[:60], x[:60]), y[:60])
    np.testing.assert_array_equal(est.predict(x[60:]), ref.predict(closed_form_kernel(x[60:], x[:60])))
    assert spec.count(est).total == est.support_vectors_.size + est.dual_coef_.size + 1
    assert isinstance(est.kernel, QuantumKernel)
    scaled = EstimatorSpec.of("quantum_kernel_svm", C=1.0, input_scaling="standard").build(0)
    assert [type(s).__name__ for s in scaled] == ["StandardScaler", "SVC"]
    with pytest.raises(ConfigError, match="kernel method"):
        QuantumKernel("shots")


def test_fourier_reference_kinds_are_pipelines_on_phi():
    for kind in ("fourier_logreg", "fourier_rbf_svm"):
        est = EstimatorSpec.of(kind, input_scaling="standard").build(0)
        assert [type(s).__name__ for _, s in est.steps][:2] == ["StandardScaler", "FourierFeatures"]
    est = EstimatorSpec.of("fourier_logreg", C=1.0).build(0)
    x, y = make_moons(60, noise=0.1, random_state=1)
    est.fit(x, y)
    assert EstimatorSpec.of("fourier_logreg").count(est).total == 9 + 1


def test_kernel_bandwidth_grid_has_the_same_size_values_and_edge_rule_as_gamma():
    """Issue #21 (C8): the quantum kernel's bandwidth gets exactly the RBF-SVM's budget for gamma."""
    from qmoe_tfq.experiments import search_spaces as ss

    for quick in (False, True):
        bw, rbf = ss.space("quantum_kernel_bandwidth", quick), ss.space("rbf_svm", quick)
        assert len(bw["bandwidth"]) == len(rbf["gamma"]) and bw["bandwidth"] == rbf["gamma"]
        assert {k: v for k, v in bw.items() if k != "bandwidth"} == {k: v for k, v in rbf.items() if k != "gamma"}
        assert len(ss.configurations("quantum_kernel_bandwidth", quick)) == len(ss.configurations("rbf_svm", quick))
    assert ss.ORDERED["bandwidth"] == ss.ORDERED["gamma"]
    top = ss.extended_space("quantum_kernel_bandwidth", extensions=(ss.Extension("bandwidth", "high"),))
    assert (
        top.grid["bandwidth"] == ss.extended_space("rbf_svm", extensions=(ss.Extension("gamma", "high"),)).grid["gamma"]
    )


def test_bandwidth_scales_the_inputs_to_the_rbf_gamma_near_the_diagonal():
    from qmoe_tfq.models.kernels import bandwidth_scale

    x = np.zeros((1, 2))
    y = np.array([[1e-3, -2e-3]])
    for b in (0.1, 1.0, 3.0):
        k = QuantumKernel(scale=bandwidth_scale(b))(x, y)[0, 0]
        assert k == pytest.approx(np.exp(-b * np.sum(y**2)), rel=1e-9)
    assert QuantumKernel()(x, y)[0, 0] == pytest.approx(np.prod(np.cos(y / 2) ** 2))
    with pytest.raises(ConfigError):
        bandwidth_scale(0.0)
    # no bandwidth: the paper's kernel and the old cache key (the parameter only enters new runs' keys)
    assert EstimatorSpec("quantum_kernel_svm").config() == {"kind": "quantum_kernel_svm", "params": {}, "version": 1}
    assert "bandwidth" in EstimatorSpec.of("quantum_kernel_svm", bandwidth=1.0).config()["params"]

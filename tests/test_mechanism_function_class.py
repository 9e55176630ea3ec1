"""The quantum router's function class is span(phi), phi(x) = (x)_i (1, cos x_i, sin x_i): every
readout of random circuits is reproduced by least squares on phi (cirq, complex128), and a
Fourier-feature router with the fitted weights gives the quantum router's gates."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.models.fourier_features import FourierFeatures, additive_features, fourier_features, readout_fit
from qmoe_tfq.models.routers import build_router
from qmoe_tfq.models.routers.fourier import FourierRouter, fourier_features_tf
from qmoe_tfq.specs.config import ModelSpec


@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_every_readout_is_linear_in_phi(n, layers, readout):
    fit = readout_fit(n, layers, readout, "strongly_entangling", seed=7)
    assert fit.n_points > 3**n and fit.n_outputs == (n if readout == "expectation" else 2**n)
    assert fit.residual_phi < 1e-10
    # The check can fail: without the cross-feature products the entangled readouts are not reproduced.
    assert fit.residual_additive > 1e-3


@pytest.mark.parametrize("n", [2, 3])
def test_without_cnots_each_expectation_depends_on_its_own_feature_only(n):
    fit = readout_fit(n, 3, "expectation", "strongly_entangling_no_cnot", seed=3)
    assert fit.residual_phi < 1e-10 and fit.residual_additive < 1e-10


def test_phi_is_the_kronecker_product_with_the_constant_first():
    x = np.array([[0.3, 1.1], [2.0, 0.0]])
    phi = fourier_features(x)
    f0 = np.array([1.0, np.cos(0.3), np.sin(0.3)])
    f1 = np.array([1.0, np.cos(1.1), np.sin(1.1)])
    np.testing.assert_allclose(phi[0], np.kron(f0, f1))
    assert phi.shape == (2, 9) and np.all(phi[:, 0] == 1.0)
    assert additive_features(x).shape == (2, 5)
    np.testing.assert_allclose(fourier_features_tf(tf.constant(x, tf.float32)).numpy(), phi, atol=1e-6)


def test_phi_transformer_in_a_pipeline():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (60, 2))
    y = (np.sin(x[:, 0]) * np.cos(x[:, 1]) > 0).astype(int)
    pipe = clone(make_pipeline(FourierFeatures(), LogisticRegression(C=100.0, max_iter=5000))).fit(x, y)
    assert pipe[0].transform(x).shape == (60, 9)
    assert pipe.score(x, y) == 1.0  # y is a sign of one of the nine features
    with pytest.raises(ConfigError, match="d = 9"):
        FourierFeatures().fit(rng.uniform(size=(5, 9)))


def _quantum_router(n: int, seed: int):
    router = build_router(ModelSpec(router="quantum", layers=3), n, seed)
    x = np.random.default_rng(seed).uniform(0, np.pi, (4 * 3**n, n)).astype(np.float32)
    z = router.circuit_outputs(tf.constant(x)).numpy().astype(np.float64)
    logits = z @ router.adapter.kernel.numpy() + router.adapter.bias.numpy()
    return router, x, z, logits


@pytest.mark.parametrize("n", [2, 3])
def test_the_fourier_router_contains_the_quantum_router(n):
    router, x, z, logits = _quantum_router(n, seed=5)
    phi = fourier_features(x)
    w = np.linalg.lstsq(phi, logits, rcond=None)[0]
    fourier = FourierRouter(n, 2, None, seed=0)
    fourier.readout.set_weights([w.astype(np.float32), np.zeros(2, np.float32)])
    np.testing.assert_allclose(fourier(tf.constant(x)).numpy(), router(tf.constant(x)).numpy(), atol=2e-5)
    # rank variant: projection = <Z> as linear functions of phi, readout = the adapter
    c = np.linalg.lstsq(phi, z, rcond=None)[0]
    rank = build_router(ModelSpec(router="fourier_rank"), n, seed=1)
    rank.projection.set_weights([c.astype(np.float32)])
    rank.readout.set_weights(router.adapter.get_weights())
    np.testing.assert_allclose(rank(tf.constant(x)).numpy(), router(tf.constant(x)).numpy(), atol=2e-5)


def test_fourier_routers_are_deterministic_gates():
    x = tf.constant(np.random.default_rng(1).uniform(0, np.pi, (7, 2)), tf.float32)
    for name in ("fourier", "fourier_rank"):
        a = build_router(ModelSpec(router=name), 2, seed=3)(x).numpy()
        b = build_router(ModelSpec(router=name), 2, seed=3)(x).numpy()
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)
        assert a.shape == (7, 2)

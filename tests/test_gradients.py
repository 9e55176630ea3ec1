"""Gradients from the TFQ differentiators match central finite differences of the same loss."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.specs.config import ModelSpec


def loss_of(model, x, y):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))


@pytest.mark.parametrize("differentiator", ["adjoint", "parameter_shift"])
@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
def test_gradient_matches_finite_differences(differentiator, readout):
    rng = np.random.default_rng(5)
    spec = ModelSpec(layers=2, readout=readout, differentiator=differentiator)
    model = build_model(spec, n_features=2, n_classes=2, seed=11)
    x = tf.constant(rng.uniform(0, np.pi, (16, 2)), tf.float32)
    y = tf.constant(rng.integers(0, 2, 16), tf.int32)
    theta = model.router.theta
    with tf.GradientTape() as tape:
        loss = loss_of(model, x, y)
    grad = tape.gradient(loss, theta).numpy()

    base = theta.numpy().astype(np.float64)
    eps = 1e-2
    numeric = np.zeros_like(base)
    for k in range(len(base)):
        for sign in (1, -1):
            shifted = base.copy()
            shifted[k] += sign * eps
            theta.assign(shifted.astype(np.float32))
            numeric[k] += sign * float(loss_of(model, x, y)) / (2 * eps)
    theta.assign(base.astype(np.float32))
    assert np.max(np.abs(grad)) > 1e-3, "degenerate test: all gradients vanish"
    np.testing.assert_allclose(grad, numeric, atol=2e-3)

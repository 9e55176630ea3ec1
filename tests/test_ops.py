"""models.ops.softmax: an exact division (the same bits on every processor), the softmax's values and
gradient, and no model code reaching the processor-dependent kernels by a route ruff cannot see."""

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import qmoe_tfq
from qmoe_tfq.models.ops import softmax


def _logits(shape=(4096, 4), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype(np.float32)


def test_softmax_is_exp_over_sum_with_an_ieee_division():
    z = _logits()
    e = tf.exp(z - z.max(axis=1, keepdims=True)).numpy()
    expected = e / e.sum(axis=1, dtype=np.float32, keepdims=True)
    np.testing.assert_array_equal(softmax(tf.constant(z)).numpy(), expected)


def test_softmax_is_not_the_reciprocal_kernel():
    # The check above can fail: TensorFlow's own kernel (e * approximate 1/sum) misses it on many rows.
    z = _logits()
    e = tf.exp(z - z.max(axis=1, keepdims=True)).numpy()
    expected = e / e.sum(axis=1, dtype=np.float32, keepdims=True)
    assert (tf.nn.softmax(z).numpy() != expected).mean() > 0.01  # noqa: TID251


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_values_and_gradient_match_tensorflow(axis):
    z = tf.constant(_logits((64, 5), seed=1))
    w = tf.constant(_logits((64, 5), seed=2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        ours = tf.reduce_sum(softmax(z, axis=axis) * w)
        theirs = tf.reduce_sum(tf.nn.softmax(z, axis=axis) * w)  # noqa: TID251
    np.testing.assert_allclose(softmax(z, axis=axis).numpy(), tf.nn.softmax(z, axis=axis).numpy(), atol=1e-6)  # noqa: TID251
    np.testing.assert_allclose(tape.gradient(ours, z).numpy(), tape.gradient(theirs, z).numpy(), atol=1e-5)
    np.testing.assert_allclose(softmax(z, axis=axis).numpy().sum(axis=axis), 1.0, atol=1e-6)


def test_softmax_survives_large_logits():
    p = softmax(tf.constant([[1000.0, 0.0, -1000.0]])).numpy()
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0]])


def test_no_keras_softmax_by_name():
    # ruff's banned-api (TID251) catches tf.nn.softmax and friends; a Keras activation named by string
    # ("softmax") is a value it cannot see.
    root = Path(qmoe_tfq.__file__).parent
    hits = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"""activation\s*=\s*["']softmax["']|Activation\(\s*["']softmax["']""", line)
    ]
    assert not hits, f"Keras softmax by name (use qmoe_tfq.models.ops.softmax): {hits}"


@pytest.mark.parametrize("shape", [(4, 3), (16, 10), (32, 2, 10)])
def test_broadcast_rows_repeats_and_its_gradient_sums_the_rows(shape):
    from qmoe_tfq.models.ops import add_rows, broadcast_rows

    t = tf.constant(_logits(shape, seed=3))
    w = tf.constant(_logits((shape[0], 7, *shape[1:]), seed=4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(t)
        ours = broadcast_rows(t, 7)
        theirs = tf.tile(t[:, None], [1, 7, *([1] * (len(shape) - 1))])
        loss_ours, loss_theirs = tf.reduce_sum(ours * w), tf.reduce_sum(theirs * w)
        added = tf.reduce_sum(add_rows(w, t) * w)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_allclose(tape.gradient(loss_ours, t).numpy(), tape.gradient(loss_theirs, t).numpy(), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(added, t).numpy(), w.numpy().sum(axis=1), rtol=1e-5)

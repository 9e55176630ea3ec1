"""Stage: models. Numerical operations whose results must not depend on the processor, nor on a run's
place in a stack (``broadcast_rows``, ``add_rows``: a stacked member's biases and angles).

TensorFlow's ``Softmax`` kernel (``tf.nn.softmax``, Keras' ``"softmax"`` activation) multiplies by an
approximate reciprocal of the row sum: Eigen's ``preciprocal`` is the processor's ``RCPPS`` estimate
refined by one Newton step, and ``RCPPS`` is implementation-specific (Intel's and AMD's tables
differ), so the last bit of a gate depended on the machine, and training amplified it (an Intel
Xeon and an AMD EPYC Zen 4, same binary and pins: every TensorFlow product identical, the softmax
and every training run not; ``experiments.fingerprint``). ``softmax`` here divides instead, which
IEEE 754 rounds the same on every processor. The same holds for ``tf.math.reciprocal`` and
``tf.math.rsqrt`` (and ``tf.nn.l2_normalize``, which uses it): ruff's banned-api rule keeps them out
of the package.
"""

from __future__ import annotations

import tensorflow as tf


def softmax(logits: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """``exp(z - max z) / sum exp(z - max z)`` along ``axis``, with an exact division.

    Parameters
    ----------
    logits : tf.Tensor
        Real logits, any shape.
    axis : int, default -1
        The axis the probabilities sum over.

    Returns
    -------
    tf.Tensor
        Probabilities of ``logits``' shape and dtype; equal to ``tf.nn.softmax`` within a few ulp.

    Examples
    --------
    >>> import tensorflow as tf
    >>> from qmoe_tfq.models.ops import softmax
    >>> [round(float(p), 4) for p in softmax(tf.constant([0.0, 1.0, 2.0]))]
    [0.09, 0.2447, 0.6652]
    """
    e = tf.exp(logits - tf.stop_gradient(tf.reduce_max(logits, axis=axis, keepdims=True)))
    return e / tf.reduce_sum(e, axis=axis, keepdims=True)


def _sum_rows(g: tf.Tensor) -> tf.Tensor:
    """``g`` (M, rows, ...) summed over its rows, innermost: (M, ...), in the same order in every lane."""
    return tf.reduce_sum(tf.transpose(g, [0, *range(2, g.shape.rank), 1]), axis=-1)


def broadcast_rows(t: tf.Tensor, rows: int | tf.Tensor) -> tf.Tensor:
    """``t`` (M, ...) repeated along a new axis 1 of length ``rows``: (M, rows, ...), for a stacked
    member's angles shared by its rows.

    Its gradient sums over the rows with an innermost reduction. TensorFlow's gradient of a broadcast
    (``x + bias[:, None]``, ``tf.tile``) reduces over the middle axis, which Eigen vectorises across
    the flattened (member, ...) outputs: when the trailing size is not a multiple of the packet
    width (10 classes, 18 angles), a member's sums were rounded differently in lane 0 and lane 15 of
    one stack, so a run's numbers depended on its place in the stack. An innermost reduction sums
    each output's rows in one order, whatever the lane.

    Examples
    --------
    >>> import tensorflow as tf
    >>> from qmoe_tfq.models.ops import broadcast_rows
    >>> broadcast_rows(tf.constant([[1.0, 2.0]]), 3).shape
    TensorShape([1, 3, 2])
    """

    @tf.custom_gradient
    def _broadcast(t):
        return tf.tile(tf.expand_dims(t, 1), [1, rows] + [1] * (t.shape.rank - 1)), _sum_rows

    return _broadcast(tf.convert_to_tensor(t))


@tf.custom_gradient
def add_rows(x: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """``x`` (M, B, ...) plus each member's ``bias`` (M, ...) on every row, with ``broadcast_rows``'
    lane-independent gradient (the bias is broadcast, not materialised)."""
    return x + tf.expand_dims(bias, 1), lambda g: (g, _sum_rows(g))

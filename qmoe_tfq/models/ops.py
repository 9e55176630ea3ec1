"""Stage: models. Numerical operations whose results must not depend on the processor.

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

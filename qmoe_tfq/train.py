"""Training and evaluation: Adam on cross-entropy over shuffled mini-batches, seeded end to end."""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq.config import ModelSpec, ParamCounts, TrainSpec
from qmoe_tfq.data import Dataset
from qmoe_tfq.model import MixtureOfExperts, build_model


@dataclass
class TrainResult:
    """What one training run produced. ``test_accuracy`` is NaN when there is no held-out split."""

    train_accuracy: float
    test_accuracy: float
    params: ParamCounts
    train_seconds: float
    epoch_losses: list[float] = field(default_factory=list)
    model: MixtureOfExperts | None = field(default=None, repr=False)


def accuracy(model: MixtureOfExperts, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of argmax predictions equal to ``y``; NaN for an empty set."""
    if len(x) == 0:
        return float("nan")
    pred = np.argmax(model(tf.constant(x)).numpy(), axis=1)
    return float(np.mean(pred == y))


def fit(
    model: MixtureOfExperts,
    data: Dataset,
    train: TrainSpec,
    seed: int,
    progress=None,
) -> list[float]:
    """Train ``model`` in place; returns the mean per-sample training loss of each epoch.

    Batches are drawn from a NumPy generator seeded by ``seed``, so a run is reproducible.
    ``progress``, if given, is called as ``progress(epoch, loss)`` after every epoch.
    """
    optimizer = keras.optimizers.Adam(learning_rate=train.lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    variables = model.trainable_variables
    spec = (tf.TensorSpec([None, data.n_features], tf.float32), tf.TensorSpec([None], tf.int32))

    @tf.function(input_signature=spec)
    def step(xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb))
            mean = loss / tf.cast(tf.shape(xb)[0], tf.float32)
        optimizer.apply_gradients(zip(tape.gradient(mean, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    x, y = data.x_train, data.y_train
    losses = []
    for epoch in range(train.epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), train.batch_size):
            idx = order[start : start + train.batch_size]
            total += float(step(tf.constant(x[idx]), tf.constant(y[idx])))
        losses.append(total / len(x))
        if progress is not None:
            progress(epoch, losses[-1])
    return losses


def train_model(
    spec: ModelSpec, data: Dataset, train: TrainSpec, seed: int, keep_model: bool = False, progress=None
) -> TrainResult:
    """Build the model of ``spec`` from ``seed``, train it on ``data`` and measure it."""
    tf.random.set_seed(seed)
    model = build_model(spec, data.n_features, data.n_classes, seed)
    start = time.perf_counter()
    losses = fit(model, data, train, seed, progress)
    seconds = time.perf_counter() - start
    return TrainResult(
        train_accuracy=accuracy(model, data.x_train, data.y_train),
        test_accuracy=accuracy(model, data.x_test, data.y_test),
        params=model.param_counts(),
        train_seconds=seconds,
        epoch_losses=losses,
        model=model if keep_model else None,
    )

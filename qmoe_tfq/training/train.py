"""Stage: training. Training and evaluation: Adam on cross-entropy over shuffled mini-batches, seeded end to end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.core.cache import ThreadCache
from qmoe_tfq.core.errors import TrainingDiverged
from qmoe_tfq.data import Dataset
from qmoe_tfq.models.mixture import MixtureOfExperts, build_model
from qmoe_tfq.specs.config import ModelSpec, ParamCounts, TrainSpec


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


class EpochTrainer:
    """Adam on summed cross-entropy / batch size, one compiled TensorFlow call per epoch.

    The whole epoch (every mini-batch step of an already shuffled training set) is one
    ``tf.function`` with a ``tf.while_loop`` over the batches, so Python and the TF runtime are
    entered once per epoch rather than once per batch; the model's circuits stay serialised
    tensors throughout. ``run_epoch(x, y)`` trains on the rows of ``x, y`` in order, in batches of
    ``batch_size`` (the last may be smaller), and returns the summed loss of each batch as NumPy.
    The graph is traced on the first call; later calls with any number of rows reuse it.
    """

    def __init__(self, model: MixtureOfExperts, n_features: int, lr: float, batch_size: int) -> None:
        self.model = model
        self.batch_size = int(batch_size)
        self.optimizer = keras.optimizers.Adam(learning_rate=lr)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
        self.variables = model.trainable_variables
        # Slot variables must exist before the graph loop that updates them is traced.
        self.optimizer.build(self.variables)
        spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None], tf.int32))
        self._epoch = tf.function(self._epoch_graph, input_signature=spec, autograph=False)
        self._scores = tf.function(self._score_graph, input_signature=spec, autograph=False)

    def _step(self, xb: tf.Tensor, yb: tf.Tensor, wb: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self.loss_fn(yb, self.model(xb), sample_weight=wb)
            mean = loss / tf.reduce_sum(wb)
        grads = tape.gradient(mean, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss

    def _epoch_graph(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        # The last, short batch is padded with rows of weight 0, so every step sees a batch of the
        # static shape (batch_size, d): one traced step, and the router picks its evaluation
        # statically. Weight-0 rows add exact zeros to the loss and the gradients.
        bs = self.batch_size
        n = tf.shape(x)[0]
        n_batches = (n + bs - 1) // bs
        pad = n_batches * bs - n
        d = x.shape[1]
        xs = tf.reshape(tf.concat([x, tf.zeros([pad, d], x.dtype)], 0), [n_batches, bs, d])
        ys = tf.reshape(tf.concat([y, tf.zeros([pad], y.dtype)], 0), [n_batches, bs])
        ws = tf.reshape(tf.concat([tf.ones([n]), tf.zeros([pad])], 0), [n_batches, bs])

        def batch(i: tf.Tensor, losses: tf.TensorArray) -> tuple[tf.Tensor, tf.TensorArray]:
            return i + 1, losses.write(i, self._step(xs[i], ys[i], ws[i]))

        losses = tf.TensorArray(tf.float32, size=n_batches)
        _, losses = tf.while_loop(lambda i, _: i < n_batches, batch, (tf.constant(0), losses))
        return losses.stack()

    def _score_graph(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        logits = self.model(x)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), y), tf.float32))
        return correct, self.loss_fn(y, logits)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Accuracy and mean cross-entropy of the model on ``x, y`` (one compiled call)."""
        correct, loss = self._scores(tf.constant(x, tf.float32), tf.constant(y, tf.int32))
        return float(correct) / len(x), float(loss) / len(x)

    def run_epoch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Train one pass over ``x, y`` in the given order; summed loss of each batch."""
        return self._epoch(tf.constant(x, tf.float32), tf.constant(y, tf.int32)).numpy()


_TRAINERS_SIZE = 16
_TRAINERS = ThreadCache(_TRAINERS_SIZE)  # EpochTrainer by (architecture, batch size), per thread


def reusable_trainer(
    key: tuple, build, initial: keras.Model, n_features: int, lr: float, batch_size: int
) -> EpochTrainer:
    """A trainer whose compiled epoch is reused across runs: the first run of ``key`` (an architecture
    and its shapes) at ``batch_size`` in this process builds the trainer's own model with ``build()`` and traces it;
    every run then copies ``initial``'s weights into that model and restarts the optimiser from zero
    at ``lr``, so it trains exactly as on a fresh trainer, without paying the tracing again. The
    trainer's model is shared: read a run's weights before the next call with the same ``key`` (in the
    same thread; at most ``_TRAINERS_SIZE`` keys per thread are kept, the oldest dropped first)."""
    trainer = _TRAINERS.get_or_make((key, int(batch_size)), lambda: EpochTrainer(build(), n_features, lr, batch_size))
    trainer.model.set_weights(initial.get_weights())
    for v in trainer.optimizer.variables:
        v.assign(tf.zeros_like(v))
    trainer.optimizer.learning_rate.assign(lr)
    return trainer


@dataclass
class History:
    """What one training run recorded, epoch by epoch.

    ``losses``: mean per-sample training loss of each epoch. With a validation set,
    ``validation_scores`` / ``validation_losses`` are its accuracy and mean loss after each epoch,
    and ``best_epoch`` (1-based) is the epoch whose weights were kept (restored at the end).
    """

    losses: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    validation_losses: list[float] | None = None
    best_epoch: int | None = None
    seconds: float = 0.0

    @property
    def n_epochs(self) -> int:
        return len(self.losses)


def fit_model(
    model: MixtureOfExperts,
    x: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    max_epochs: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    n_iter_no_change: int | None = None,
    progress=None,
    trainer: EpochTrainer | None = None,
) -> History:
    """Train ``model`` in place with Adam on ``x, y``; batch order drawn from ``seed``.

    With ``validation = (x_val, y_val)`` the model is scored after every epoch and the weights of the
    best epoch are restored at the end (best: the highest validation accuracy, ties broken by the
    lower validation loss), as scikit-learn's ``MLPClassifier(early_stopping=True)``
    keeps its best coefficients. ``n_iter_no_change`` epochs without such an improvement end the run
    early; ``None`` always trains ``max_epochs`` (a router sitting on a plateau may leave it late).
    ``progress(epoch, loss)`` is called after every epoch. A non-finite loss raises TrainingDiverged.
    ``trainer``: a prepared trainer of ``model`` (``reusable_trainer``); by default a new one.
    """
    if trainer is None:
        trainer = EpochTrainer(model, x.shape[1], lr, batch_size)
    rng = np.random.default_rng(seed)
    history = History()
    if validation is not None:
        history.validation_scores, history.validation_losses = [], []
        best = (-np.inf, np.inf)
        best_weights = None
        since_best = 0
    start = time.perf_counter()
    for epoch in range(max_epochs):
        order = rng.permutation(len(x))
        loss = sum(float(b) for b in trainer.run_epoch(x[order], y[order])) / len(x)
        history.losses.append(loss)
        if not np.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: the loss of epoch {epoch + 1} is {loss} (lr {lr}); try a smaller learning rate"
            )
        if progress is not None:
            progress(epoch, loss)
        if validation is None:
            continue
        score, val_loss = trainer.evaluate(*validation)
        history.validation_scores.append(score)
        history.validation_losses.append(val_loss)
        if (score, -val_loss) > (best[0], -best[1]):
            best, best_weights, history.best_epoch, since_best = (score, val_loss), model.get_weights(), epoch + 1, 0
        else:
            since_best += 1
            if n_iter_no_change is not None and since_best >= n_iter_no_change:
                break
    history.seconds = time.perf_counter() - start
    if validation is not None and best_weights is not None:
        model.set_weights(best_weights)
    return history


def fit(
    model: MixtureOfExperts,
    data: Dataset,
    train: TrainSpec,
    seed: int,
    progress=None,
) -> list[float]:
    """Train ``model`` in place for ``train.epochs``; returns the mean per-sample training loss of
    each epoch. Batches are drawn from a NumPy generator seeded by ``seed``, so a run is reproducible.
    """
    return fit_model(
        model,
        data.x_train,
        data.y_train,
        lr=train.lr,
        batch_size=train.batch_size,
        max_epochs=train.epochs,
        seed=seed,
        progress=progress,
    ).losses


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

"""Stage: training. Many training runs of one architecture as one TensorFlow program: the members of a stack.

Every member is its own model (weights, data, batch order, learning rate, input scaling, seed); the
stack only stores their weights side by side along a leading *member* axis, so each operation runs
once for all members. Nothing couples the members: the loss is the sum of the members' mean batch
losses, so each member's gradient is its own, and Adam updates element by element with each
member's own learning rate. Training ``M`` members together therefore gives each of them what
training it alone gives (``tests/test_stacked.py`` checks this), at close to the cost of one run:
the per-run costs that dominate these small models (tracing, dispatch, TFQ's per-call overhead)
are paid once per stack.

Supported: the mixtures of ``qmoe_tfq.models.mixture`` with the quantum (every readout, ansatz and exact
engine), linear, MLP and constant routers, and the authors' Phase 1 models on the state-vector
engine (``qmoe_tfq.training.stack._phase1``); ``supports(spec)`` says whether a spec is stackable.
Initial weights are those ``build_model(spec, ..., seed)`` draws (``initial_weights``), and
``member_weights(i)`` gives member ``i``'s weights in ``MixtureOfExperts.get_weights()`` order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.initializers import named_dense, seed_pair
from qmoe_tfq.training.lanes import LANES, lanes_for, round_up

#: Rows per call when one member predicts (``Stack.member_output``; every call has exactly this many).
PREDICT_ROWS = 64
EAGER_PREDICTION = False  # op by op instead of compiled (the equivalence check in tests/test_stacked.py)
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # tf_keras Adam defaults, as the single path uses


#: Seeds of a two-part layer, and the (role, weights) of a Dense layer, as the Keras models draw them.
_seeds = seed_pair
_dense = named_dense


class Stack:
    """What every stack of models shares: ``M`` runs of one model with their weights stacked on a
    leading member axis, padded to ``lanes`` (a multiple of ``LANES``) with idle copies of the
    first member; ``v`` maps each weight's role to its variable. A subclass sets ``spec``, draws a
    member's ``(role, weights)`` in ``_named_initial(seed)`` (its model's ``get_weights()`` order),
    calls ``_setup`` and defines ``logits(x, lane)`` and ``gates(x, lane)``: inputs (lanes, B, d) to
    (lanes, B, C) and (lanes, B, E), or member ``lane``'s alone, (1, B, ...)."""

    spec: object

    def _named_initial(self, seed: int) -> list[tuple[str, np.ndarray]]:
        raise NotImplementedError

    def _setup(self, n_features: int, n_classes: int, seeds: list[int], frozen: tuple[str, ...] = ()) -> None:
        """Variables for members ``seeds``; roles in ``frozen`` are not trained."""
        if not seeds:
            raise ValueError("a stack needs at least one member")
        self.n_features, self.n_classes = n_features, n_classes
        self.members = len(seeds)
        self.lanes = lanes_for(self.members)
        self.variables = [tf.Variable(w) for w in self._initial(seeds)]
        self.v = dict(zip([r for r, _ in self._named_initial(seeds[0])], self.variables))
        self.trainable = [v for r, v in self.v.items() if r not in frozen]
        self._n_members = tf.Variable(self.members, dtype=tf.int32, trainable=False)

    def _initial(self, seeds: list[int]) -> list[np.ndarray]:
        per_member = [[w for _, w in self._named_initial(s)] for s in seeds]
        per_member += [per_member[0]] * (self.lanes - len(seeds))
        return [np.stack(ws) for ws in zip(*per_member)]

    def _set_noise(self, noise: list[float] | None, members: int) -> None:
        if noise is not None and any(noise):
            raise ValueError(f"runs of {type(self).__name__} are noiseless; got noise levels {list(noise)}")

    def reset(self, seeds: list[int], noise: list[float] | None = None) -> None:
        """Start over with members initialised from ``seeds`` (as many lanes as before, or fewer members),
        each under its depolarizing probability in ``noise`` (noisy stacks)."""
        if lanes_for(len(seeds)) != self.lanes:
            raise ValueError(f"{len(seeds)} members need {lanes_for(len(seeds))} lanes; this stack has {self.lanes}")
        self.members = len(seeds)
        self._n_members.assign(self.members)
        self._set_noise(noise, len(seeds))
        for v, w in zip(self.variables, self._initial(seeds)):
            v.assign(w)

    def pad(self, a: np.ndarray) -> np.ndarray:
        """Per-member data (M, ...) padded to (lanes, ...) with copies of the first member's."""
        a = np.asarray(a)
        return np.concatenate([a, np.repeat(a[:1], self.lanes - len(a), axis=0)]) if len(a) < self.lanes else a

    def member_weights(self, i: int) -> list[np.ndarray]:
        """Member ``i``'s weights in its model's ``get_weights()`` order."""
        return [v[i].numpy() for v in self.variables]

    def set_member_weights(self, i: int, weights: list[np.ndarray]) -> None:
        """Load ``weights`` (its model's ``get_weights()`` order) into member ``i``."""
        for v, w in zip(self.variables, weights):
            v[i].assign(np.asarray(w, np.float32))

    def member_output(self, lane: int, x: np.ndarray, what: str = "logits") -> np.ndarray:
        """``logits`` (n, C) or ``gates`` (n, E) of member ``lane`` on inputs ``x`` (n, d): a stack of
        that member alone, so no other member's circuits are simulated and the numbers do not
        depend on which runs share the stack. The distinct rows go through in sorted order, in chunks of
        exactly ``PREDICT_ROWS`` (the last padded with zero rows): float32 kernels may round a row
        differently at another position of a batch (a vectorised body against a ragged tail) or in a
        product with another number of rows (TensorFlow's Eigen contraction on an Intel Xeon: a row
        alone and the same row among 64 gave different bits), so a row's outputs must depend neither on
        where it sits in ``x`` (the estimators' sample-order check) nor on which other rows are predicted
        with it (their subset check): equal inputs give bit-identical outputs in any order and company."""
        x = np.asarray(x, np.float32)
        unique, inverse = np.unique(x.reshape(len(x), -1), axis=0, return_inverse=True)
        unique = unique.reshape(-1, *x.shape[1:])
        n = len(unique)
        padded = np.concatenate([unique, np.zeros((round_up(max(n, 1), PREDICT_ROWS) - n, *x.shape[1:]), np.float32)])
        chunks = padded.reshape(-1, PREDICT_ROWS, *padded.shape[1:])
        if EAGER_PREDICTION:
            fn = self.logits if what == "logits" else self.gates
            out = np.concatenate([fn(tf.constant(c[None]), lane)[0].numpy() for c in chunks])
        else:
            out = self._member_function(what, padded.shape[1:])(tf.constant(chunks), tf.constant(lane, tf.int32))
            out = out.numpy().reshape(len(padded), -1)
        return out[:n][inverse.reshape(-1)]

    def _member_function(self, what: str, row_shape: tuple) -> Callable:
        """``logits`` or ``gates`` of one member (its lane a tensor) on chunks of rows (chunks, rows, ...),
        compiled once per stack. The chunks run one after another inside the graph (``tf.map_fn``), each
        through the ops and shapes of a chunk predicted on its own, so a row's bits are those of its
        chunk alone; one call per prediction, not per chunk: a call's Python dispatch (about 1 ms) had
        cost a fifth of the Two Moons and noise studies' time, more than their predictions' arithmetic."""
        cache = self.__dict__.setdefault("_member_functions", {})
        key = (what, tuple(row_shape))
        if key not in cache:
            one = self.logits if what == "logits" else self.gates

            def chunked(chunks: tf.Tensor, lane: tf.Tensor) -> tf.Tensor:
                return tf.map_fn(lambda c: one(c[None], lane)[0], chunks, fn_output_signature=tf.float32)

            spec = (tf.TensorSpec([None, None, *row_shape], tf.float32), tf.TensorSpec([], tf.int32))
            cache[key] = tf.function(chunked, input_signature=spec, autograph=False)
        return cache[key]

    def _weights(self, lane: int | None) -> dict[str, tf.Tensor]:
        """Every member's weights (``lane`` None), or member ``lane``'s alone with a member axis of 1."""
        return self.v if lane is None else {r: w[lane : lane + 1] for r, w in self.v.items()}

    def logits(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        raise NotImplementedError

    def gates(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        raise NotImplementedError


@dataclass
class StackHistory:
    """Per member: training losses per epoch, validation accuracy / loss per epoch, best epoch,
    epochs trained and whether training diverged (a non-finite loss)."""

    losses: list[list[float]]
    validation_scores: list[list[float]] | None
    validation_losses: list[list[float]] | None
    best_epoch: list[int | None]
    n_epochs: list[int]
    diverged: list[bool]
    seconds: float = 0.0


class StackTrainer:
    """Adam on each member's mean cross-entropy, one compiled TensorFlow call per epoch for the stack.

    The epoch is a ``tf.while_loop`` over batches of shape (M, batch_size, d); the last batch is
    padded with rows of weight 0 (exact zeros in loss and gradients), as ``train.EpochTrainer`` does.
    ``lr`` holds each member's learning rate; a member whose ``active`` flag is 0 is left unchanged.
    Every function here is traced without AutoGraph (``autograph=False``; hence the explicit loop): the
    ops are the same, and AutoGraph's conversion of the package's code cost about 2 s of CPU in every
    process that trains (each asv benchmark, loky and test worker).
    """

    def __init__(self, model: Stack, lr: np.ndarray, batch_size: int) -> None:
        self.model = model
        self.batch_size = int(batch_size)
        m = model.lanes
        self.lr = tf.Variable(tf.zeros([m]), trainable=False)
        self.active = tf.Variable(tf.zeros([m]), trainable=False)
        self.step = tf.Variable(0.0, trainable=False)
        self.slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in model.trainable]
        self.reset(lr)
        d = model.n_features
        spec = (tf.TensorSpec([m, None, d], tf.float32), tf.TensorSpec([m, None], tf.int32))
        self._epoch = tf.function(self._epoch_graph, input_signature=spec, autograph=False)
        self._scores = tf.function(self._score_graph, input_signature=spec, autograph=False)

    def reset(self, lr: np.ndarray) -> None:
        """Fresh optimiser state for the model's current members, with learning rates ``lr``."""
        m, k = self.model.lanes, self.model.members
        self.lr.assign(np.concatenate([np.asarray(lr, np.float32), np.zeros(m - k, np.float32)]))
        self.active.assign((np.arange(m) < k).astype(np.float32))
        self.step.assign(0.0)
        for first, second in self.slots:
            first.assign(tf.zeros_like(first))
            second.assign(tf.zeros_like(second))

    def _adam(self, grads: list[tf.Tensor]) -> None:
        t = self.step + 1.0
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        alpha = self.lr * tf.sqrt(1 - tf.pow(b2, t)) / (1 - tf.pow(b1, t)) * self.active
        for var, (m, v), g in zip(self.model.trainable, self.slots, grads):
            g = tf.where(tf.math.is_finite(g), g, tf.zeros_like(g))
            shape = [-1] + [1] * (var.shape.rank - 1)
            m.assign_add((g - m) * (1 - b1))
            v.assign_add((tf.square(g) - v) * (1 - b2))
            var.assign_sub((m * tf.reshape(alpha, shape)) / (tf.sqrt(v) + eps))
        self.step.assign_add(1.0)

    def _step(self, xb: tf.Tensor, yb: tf.Tensor, wb: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=self.model.logits(xb))
            loss = tf.reduce_sum(ce * wb, axis=1)
            total = tf.reduce_sum(loss / tf.reduce_sum(wb, axis=1))
        self._adam(tape.gradient(total, self.model.trainable))
        return loss

    def _epoch_graph(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        bs, m = self.batch_size, self.model.lanes
        n = tf.shape(x)[1]
        n_batches = (n + bs - 1) // bs
        pad = n_batches * bs - n
        d = x.shape[-1]
        xs = tf.transpose(tf.reshape(tf.concat([x, tf.zeros([m, pad, d])], 1), [m, n_batches, bs, d]), [1, 0, 2, 3])
        # Labels are sliced per batch, not transposed: oneDNN's transpose logs an error line for integer
        # tensors on CPUs without AVX-512.
        ys = tf.concat([y, tf.zeros([m, pad], tf.int32)], 1)
        w = tf.concat([tf.ones([m, n]), tf.zeros([m, pad])], 1)
        ws = tf.transpose(tf.reshape(w, [m, n_batches, bs]), [1, 0, 2])

        def batch(i: tf.Tensor, losses: tf.TensorArray) -> tuple[tf.Tensor, tf.TensorArray]:
            return i + 1, losses.write(i, self._step(xs[i], ys[:, i * bs : (i + 1) * bs], ws[i]))

        losses = tf.TensorArray(tf.float32, size=n_batches)
        _, losses = tf.while_loop(lambda i, _: i < n_batches, batch, (tf.constant(0), losses))
        return tf.transpose(losses.stack())

    def _score_graph(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        logits = self.model.logits(x)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y), tf.float32), 1)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), 1)
        return correct, loss

    def run_epoch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Train one pass over each member's rows ``x[i], y[i]`` (M, n, ...) in order; (M, batches)
        summed losses."""
        pad = self.model.pad
        out = self._epoch(tf.constant(pad(x), tf.float32), tf.constant(pad(y), tf.int32)).numpy()
        return out[: self.model.members]

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accuracy and mean cross-entropy of every member on its own rows ``x[i], y[i]``."""
        pad, m = self.model.pad, self.model.members
        correct, loss = self._scores(tf.constant(pad(x), tf.float32), tf.constant(pad(y), tf.int32))
        n = x.shape[1]
        return correct.numpy()[:m] / n, loss.numpy()[:m] / n


def fit_stack(
    model: Stack,
    x: np.ndarray,
    y: np.ndarray,
    *,
    lr: np.ndarray,
    seeds: list[int],
    batch_size: int,
    max_epochs: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    n_iter_no_change: int | None = None,
    progress=None,
    trainer: StackTrainer | None = None,
) -> StackHistory:
    """Train every member of ``model`` on its rows ``x[i], y[i]`` (M, n, d), batch order drawn from
    ``default_rng(seeds[i])`` as the single-run loop draws it; with ``validation`` (M, n_val, ...),
    each member keeps its best epoch's weights (highest validation accuracy, ties to the lower loss)
    and, with ``n_iter_no_change``, stops after that many epochs without improving. A member whose
    loss turns non-finite stops there (``diverged``), its weights restored to its best epoch.
    ``trainer``: a ``StackTrainer`` of ``model`` to reuse (its traced epoch), reset first."""
    m = model.members
    if trainer is None:
        trainer = StackTrainer(model, lr, batch_size)
    else:
        trainer.reset(lr)
    rngs = [np.random.default_rng(s) for s in seeds]
    losses: list[list[float]] = [[] for _ in range(m)]
    val_scores = [[] for _ in range(m)] if validation is not None else None
    val_losses = [[] for _ in range(m)] if validation is not None else None
    best = np.full((m, 2), [-np.inf, np.inf])
    best_epoch: list[int | None] = [None] * m
    best_weights = [v.numpy()[:m].copy() for v in model.variables]
    since_best = np.zeros(m, int)
    active = np.ones(m, bool)
    diverged = np.zeros(m, bool)
    n_epochs = [0] * m
    start = time.perf_counter()
    for epoch in range(max_epochs):
        order = np.stack([r.permutation(x.shape[1]) for r in rngs])
        batch_losses = trainer.run_epoch(np.take_along_axis(x, order[..., None], 1), np.take_along_axis(y, order, 1))
        for i in np.flatnonzero(active):
            loss = sum(float(b) for b in batch_losses[i]) / x.shape[1]
            losses[i].append(loss)
            n_epochs[i] = epoch + 1
            if not np.isfinite(loss):
                diverged[i], active[i] = True, False
        if progress is not None:
            progress(epoch, [losses[i][-1] for i in range(m)])
        if validation is not None:
            scores, vloss = trainer.evaluate(*validation)
            improved = np.zeros(m, bool)
            for i in np.flatnonzero(active):
                val_scores[i].append(float(scores[i]))
                val_losses[i].append(float(vloss[i]))
                if (scores[i], -vloss[i]) > (best[i, 0], -best[i, 1]):
                    best[i] = (scores[i], vloss[i])
                    best_epoch[i], since_best[i], improved[i] = epoch + 1, 0, True
                else:
                    since_best[i] += 1
                    if n_iter_no_change is not None and since_best[i] >= n_iter_no_change:
                        active[i] = False
            if improved.any():
                for k, v in enumerate(model.variables):
                    best_weights[k][improved] = v.numpy()[:m][improved]
        if not active.all():
            trainer.active.assign(np.concatenate([active, np.zeros(model.lanes - m, bool)]).astype(np.float32))
        if not active.any():
            break
    seconds = time.perf_counter() - start
    if validation is not None:
        restore = np.array([e is not None for e in best_epoch])
        for k, v in enumerate(model.variables):
            value = v.numpy()
            value[:m][restore] = best_weights[k][restore]
            v.assign(value)
    return StackHistory(losses, val_scores, val_losses, best_epoch, n_epochs, diverged.tolist(), seconds)


__all__ = ["ADAM", "LANES", "PREDICT_ROWS", "Stack", "StackHistory", "StackTrainer", "fit_stack", "lanes_for"]

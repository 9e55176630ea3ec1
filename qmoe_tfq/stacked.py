"""Many training runs of one architecture as one TensorFlow program: the members of a stack.

Every member is its own model (weights, data, batch order, learning rate, input scaling, seed); the
stack only stores their weights side by side along a leading *member* axis, so each operation runs
once for all members. Nothing couples the members: the loss is the sum of the members' mean batch
losses, so each member's gradient is its own, and Adam updates element by element with each
member's own learning rate. Training ``M`` members together therefore gives each of them what
training it alone gives (``tests/test_stacked.py`` checks this), at close to the cost of one run:
the per-run costs that dominate these small models (tracing, dispatch, TFQ's per-call overhead)
are paid once per stack.

Supported: the mixtures of ``qmoe_tfq.model`` with the quantum (every readout, ansatz and exact
engine), linear, MLP and constant routers, and the authors' Phase 1 models on the state-vector
engine (``qmoe_tfq.stacked_phase1``); ``supports(spec)`` says whether a spec is stackable.
Initial weights are those ``build_model(spec, ..., seed)`` draws (``initial_weights``), and
``member_weights(i)`` gives member ``i``'s weights in ``MixtureOfExperts.get_weights()`` order.
"""

from __future__ import annotations

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq.specs.config import ModelSpec, circuit_weight_count
from qmoe_tfq.initializers import torch_linear
from qmoe_tfq.specs.phase1 import Phase1Spec

STACKABLE_ROUTERS = ("quantum", "linear", "mlp", "constant", "fourier", "fourier_rank")
# Stacks are padded with idle copies of their first member up to a multiple of LANES members. CPU
# kernels vectorise across the member axis in packets (8 floats with AVX2, 16 with AVX-512) and
# finish a ragged tail with scalar code, which rounds differently; with every real member inside a
# full packet, a member's numbers do not depend on which or how many other runs share its stack
# (``tests/test_stacked.py``), so a run gives the same result alone, in a study, or after a resume.
LANES = 16
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # tf_keras Adam defaults, as the single path uses


def lanes_for(members: int) -> int:
    """Lanes a stack of ``members`` runs occupies: the next multiple of ``LANES``."""
    return -(-members // LANES) * LANES


def supports(spec: ModelSpec | Phase1Spec) -> bool:
    """Whether runs of ``spec`` can be stacked (sampled engines cannot: TFQ seeds them itself; Phase 1
    models: ``qmoe_tfq.stacked_phase1.supports``)."""
    if isinstance(spec, Phase1Spec):
        from qmoe_tfq.stacked_phase1 import supports as phase1_supports

        return phase1_supports(spec)
    return spec.router in STACKABLE_ROUTERS and spec.engine == "exact"


def new_stack(spec: ModelSpec | Phase1Spec, n_features: int, n_classes: int, seeds: list[int],
              noise: list[float] | None = None) -> Stack:
    """A stack of ``seeds`` for ``spec``: a ``StackedMoE``, or a ``StackedPhase1`` for a Phase 1 model."""
    if isinstance(spec, Phase1Spec):
        from qmoe_tfq.stacked_phase1 import StackedPhase1

        return StackedPhase1(spec, n_features, n_classes, seeds, noise)
    return StackedMoE(spec, n_features, n_classes, seeds, noise)


def _seeds(seed: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(2)]


def _dense(fan_in: int, units: int, seed: int, name: str, bias: bool = True) -> list[tuple[str, np.ndarray]]:
    kernel_seed, bias_seed = _seeds(seed)
    out = [(f"{name}_kernel", torch_linear(fan_in, kernel_seed)((fan_in, units), dtype="float32").numpy())]
    if bias:
        out.append((f"{name}_bias", torch_linear(fan_in, bias_seed)((units,), dtype="float32").numpy()))
    return out


def named_initial_weights(spec: ModelSpec, n_features: int, n_classes: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """(role, weights) pairs ``build_model(spec, n_features, n_classes, seed)`` starts from, in its
    ``get_weights()`` order, drawn by the same seeded initializers without building the model. Roles:
    ``theta`` (circuit angles), ``adapter_*``, ``hidden_*`` / ``out_*`` (classical routers),
    ``projection_kernel`` / ``readout_*`` (Fourier-feature routers), ``experts_*``."""
    from qmoe_tfq.specs.routers import fourier_width, router_family

    router_seed, expert_seed = _seeds(seed)
    e = spec.experts_for(n_features)
    weights: list[tuple[str, np.ndarray]] = []
    if spec.router == "quantum":
        theta_seed, adapter_seed = _seeds(router_seed)
        n = spec.qubits_for(n_features)
        init = keras.initializers.RandomUniform(0.0, 2 * np.pi, seed=theta_seed)
        theta = [("theta", init((circuit_weight_count(spec, n),), dtype="float32").numpy())]
        adapter = _dense(n, e, adapter_seed, "adapter") if spec.readout == "expectation" else []
        # Keras lists trainable weights first: a frozen circuit's angles come after the adapter.
        weights += adapter + theta if spec.frozen_circuit else theta + adapter
    elif spec.router in ("linear", "mlp"):
        first, second = _seeds(router_seed)
        fan_in = n_features
        if spec.router == "mlp":
            weights += _dense(n_features, spec.hidden, first, "hidden")
            fan_in = spec.hidden
        weights += _dense(fan_in, e, second, "out")
    elif spec.router in ("fourier", "fourier_rank"):
        first, second = _seeds(router_seed)
        fan_in = fourier_width(n_features)
        rank = router_family(spec.router).rank(spec, n_features)
        if rank is not None:
            weights += _dense(fan_in, rank, first, "projection", bias=False)
            fan_in = rank
        weights += _dense(fan_in, e, second, "readout")
    kernel_seed, bias_seed = _seeds(expert_seed)
    weights.append(("experts_kernel",
                    torch_linear(n_features, kernel_seed)((e, n_features, n_classes), dtype="float32").numpy()))
    weights.append(("experts_bias", torch_linear(n_features, bias_seed)((e, n_classes), dtype="float32").numpy()))
    return weights


def initial_weights(spec: ModelSpec, n_features: int, n_classes: int, seed: int) -> list[np.ndarray]:
    """The weights ``build_model(spec, n_features, n_classes, seed)`` starts from, in ``get_weights()``
    order (``named_initial_weights`` without the roles)."""
    return [w for _, w in named_initial_weights(spec, n_features, n_classes, seed)]


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
        depend on which runs share the stack."""
        xs = tf.constant(np.asarray(x, np.float32)[None])
        out = self.logits(xs, lane) if what == "logits" else self.gates(xs, lane)
        return out[0].numpy()

    def _weights(self, lane: int | None) -> dict[str, tf.Tensor]:
        """Every member's weights (``lane`` None), or member ``lane``'s alone with a member axis of 1."""
        return self.v if lane is None else {r: w[lane:lane + 1] for r, w in self.v.items()}

    def logits(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        raise NotImplementedError

    def gates(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        raise NotImplementedError


class StackedMoE(Stack):
    """``M`` mixtures of the same ``spec`` (``qmoe_tfq.model``) as a ``Stack``; weights in
    ``MixtureOfExperts.get_weights()`` order. Noisy stacks hold one depolarizing probability per member."""

    def _named_initial(self, seed: int) -> list[tuple[str, np.ndarray]]:
        return named_initial_weights(self.spec, self.n_features, self.n_classes, seed)

    def _set_noise(self, noise: list[float] | None, members: int) -> None:
        eps = np.full(members, self.spec.noise, np.float32) if noise is None else np.asarray(noise, np.float32)
        if len(eps) != members:
            raise ValueError(f"{members} members need {members} noise levels, got {len(eps)}")
        if np.any((eps > 0) != (self.spec.noise > 0)):
            raise ValueError("a stack is either noiseless or noisy in every member")
        self._eps.assign(np.concatenate([eps, np.repeat(eps[:1], self.lanes - members)]))

    def __init__(self, spec: ModelSpec, n_features: int, n_classes: int, seeds: list[int],
                 noise: list[float] | None = None) -> None:
        if not supports(spec):
            raise ValueError(f"cannot stack runs of {spec.label()} with engine {spec.engine!r}")
        self.spec = spec
        self._setup(n_features, n_classes, seeds, frozen=("theta",) if spec.frozen_circuit else ())
        self.router = self.engine = None
        self._eps = tf.Variable(tf.zeros([self.lanes]), trainable=False)
        if spec.router == "quantum":
            import dataclasses

            from qmoe_tfq.routers import QuantumRouter

            noisy = spec.noise > 0
            self.router = QuantumRouter(dataclasses.replace(spec, noise=0.0) if noisy else spec, n_features, seed=0)
            self.engine = self._noisy_engine() if noisy else self.router.expectation
        self._set_noise(noise, len(seeds))

    def _noisy_engine(self):
        """The exact density-matrix engine with the depolarizing probability as a last symbol column,
        so members under different noise levels share one stack (and one compiled engine)."""
        import sympy

        from qmoe_tfq.circuits import readout_observables
        from qmoe_tfq.noise_placement import noisy_circuit
        from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation

        rc, eps = self.router.rc, sympy.Symbol("depolarizing_eps")
        return DensityMatrixExpectation(noisy_circuit(rc, eps, self.spec.noise_placement),
                                        [s.name for s in rc.symbols] + [eps.name],
                                        readout_observables(rc.qubits, self.spec.readout), qubits=rc.qubits)

    def _interpolation_points(self) -> int | None:
        """3^d when the router's readout may be interpolated exactly (see ``routers.interpolation_weights``), else None."""
        from qmoe_tfq.routers import MAX_INTERPOLATION_POINTS

        router = self.router
        points = 3 ** len(router.rc.input_symbols)
        ok = (router.evaluation != "direct" and router.interpolates()
              and (router.evaluation == "interpolate" or points <= MAX_INTERPOLATION_POINTS))
        return points if ok else None

    def _interpolated(self, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        from qmoe_tfq.routers import interpolation_grid, interpolation_weights

        m, b, d = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        grid = tf.constant(interpolation_grid(d))
        g = grid.shape[0]
        values = tf.concat([tf.tile(grid[None], [m, 1, 1]), tf.tile(theta[:, None, :], [1, g, 1])], axis=-1)
        out = self._simulate(values, lane)
        w = tf.reshape(interpolation_weights(tf.reshape(x, [m * b, d])), [m, b, g])
        return tf.einsum("mbg,mgk->mbk", w, out)

    def _direct(self, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        m, b = tf.shape(x)[0], tf.shape(x)[1]
        return self._simulate(tf.concat([x, tf.tile(theta[:, None, :], [1, b, 1])], axis=-1), lane)

    def _simulate(self, values: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """The router's readouts for symbol values (lanes, rows, S) -> (lanes, rows, K) of every lane,
        or of member ``lane`` alone (one lane). TFQ simulates each circuit on its own, so the idle
        padding lanes are skipped (zeros stand in for them); engines made of TensorFlow ops see every
        lane (see ``LANES``)."""
        from qmoe_tfq.sim.tfq import ExactExpectation

        lanes, rows = tf.shape(values)[0], tf.shape(values)[1]
        engine = self.engine
        if self.spec.noise > 0:
            eps = self._eps if lane is None else self._eps[lane:lane + 1]
            values = tf.concat([values, tf.cast(tf.tile(tf.reshape(eps, [-1, 1, 1]), [1, rows, 1]), values.dtype)], -1)
        if isinstance(engine, ExactExpectation) and lane is None:
            k = self._n_members
            out = tf.reshape(engine(tf.reshape(values[:k], [k * rows, -1])), [k, rows, -1])
            return tf.concat([out, tf.zeros([lanes - k, rows, tf.shape(out)[-1]])], axis=0)
        return tf.reshape(engine(tf.reshape(values, [lanes * rows, -1])), [lanes, rows, -1])

    def _quantum_outputs(self, x: tf.Tensor, theta: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Raw readouts (M, B, K), by the router's rule: interpolated from the 3^d grid circuits when
        that is exact and simulates fewer circuits than the batch has rows, else one circuit per row."""
        points = self._interpolation_points()
        if points is None:
            return self._direct(x, theta, lane)
        if self.router.evaluation == "interpolate":
            return self._interpolated(x, theta, lane)
        rows = x.shape[1]
        if rows is not None:
            return self._interpolated(x, theta, lane) if rows > points else self._direct(x, theta, lane)
        return tf.cond(tf.shape(x)[1] > points, lambda: self._interpolated(x, theta, lane),
                       lambda: self._direct(x, theta, lane))

    def gates(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Expert weights (lanes, B, E) of every member, or (1, B, E) of member ``lane`` alone."""
        spec, v = self.spec, self._weights(lane)
        if spec.router == "constant":
            e = spec.experts_for(self.n_features)
            return tf.fill([tf.shape(x)[0], tf.shape(x)[1], e], 1.0 / e)
        if spec.router == "quantum":
            z = self._quantum_outputs(x, v["theta"], lane)
            if spec.readout == "expectation":
                return tf.nn.softmax(tf.einsum("mbn,mne->mbe", z, v["adapter_kernel"]) + v["adapter_bias"][:, None, :])
            ones = tf.ones_like(z[..., :1])
            return tf.einsum("mbk,kj->mbj", tf.concat([ones, z], axis=-1), self.router._wh)
        if spec.router in ("fourier", "fourier_rank"):
            from qmoe_tfq.fourier_router import fourier_features_tf

            m, b, d = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
            h = tf.reshape(fourier_features_tf(tf.reshape(x, [m * b, d])), [m, b, -1])
            if "projection_kernel" in v:
                h = tf.einsum("mbf,mfr->mbr", h, v["projection_kernel"])
            return tf.nn.softmax(tf.einsum("mbh,mhe->mbe", h, v["readout_kernel"]) + v["readout_bias"][:, None, :])
        h = x
        if spec.router == "mlp":
            h = tf.nn.relu(tf.einsum("mbd,mdh->mbh", x, v["hidden_kernel"]) + v["hidden_bias"][:, None, :])
        return tf.nn.softmax(tf.einsum("mbh,mhe->mbe", h, v["out_kernel"]) + v["out_bias"][:, None, :])

    def logits(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Class logits (lanes, B, C) of every member, or (1, B, C) of member ``lane`` alone."""
        v = self._weights(lane)
        kernel, bias = v["experts_kernel"], v["experts_bias"]
        experts = tf.einsum("mbd,medc->mbec", x, kernel) + bias[:, None, :, :]
        return tf.einsum("mbe,mbec->mbc", self.gates(x, lane), experts)


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

    The epoch is a ``tf.range`` loop over batches of shape (M, batch_size, d); the last batch is
    padded with rows of weight 0 (exact zeros in loss and gradients), as ``train.EpochTrainer`` does.
    ``lr`` holds each member's learning rate; a member whose ``active`` flag is 0 is left unchanged.
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
        self._epoch = tf.function(self._epoch_graph, input_signature=spec)
        self._scores = tf.function(self._score_graph, input_signature=spec)

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
        losses = tf.TensorArray(tf.float32, size=n_batches)
        for i in tf.range(n_batches):
            losses = losses.write(i, self._step(xs[i], ys[:, i * bs:(i + 1) * bs], ws[i]))
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


_CACHE: dict[tuple, tuple[Stack, StackTrainer]] = {}
_CACHE_SIZE = 16


def stack_spec(spec: ModelSpec | Phase1Spec) -> ModelSpec | Phase1Spec:
    """The spec a stack is built for: noise levels are per member, so noisy specs differing only in
    their probability share one (the stack's own ``noise`` field then only says "noisy")."""
    import dataclasses

    return dataclasses.replace(spec, noise=1.0) if isinstance(spec, ModelSpec) and spec.noise > 0 else spec


def reusable_stack(spec: ModelSpec | Phase1Spec, n_features: int, n_classes: int, seeds: list[int], batch_size: int,
                   noise: list[float] | None = None) -> tuple[Stack, StackTrainer]:
    """A stack (and its trainer) of ``seeds`` for ``spec``, reusing one this process built and traced
    before for the same shapes: the model is reinitialised, the optimiser reset, the graph kept. The
    stack stays valid until the next call with the same shapes (the runner finishes each group first)."""
    key = (stack_spec(spec), n_features, n_classes, lanes_for(len(seeds)), int(batch_size))
    if key in _CACHE:
        model, trainer = _CACHE[key]
        model.reset(seeds, noise)
        return model, trainer
    model = new_stack(spec, n_features, n_classes, seeds, noise)
    trainer = StackTrainer(model, np.zeros(len(seeds)), batch_size)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (model, trainer)
    return model, trainer


__all__ = ["Stack", "lanes_for", "named_initial_weights", "new_stack", "reusable_stack", "stack_spec", "STACKABLE_ROUTERS", "StackHistory", "StackTrainer", "StackedMoE", "fit_stack", "initial_weights", "supports"]

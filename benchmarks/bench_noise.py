"""Noisy evaluation and training of the quantum router model.

* ``NoisyEvaluation``: the forward pass under one noise level, the exact density-matrix engine vs
  TFQ's Monte-Carlo trajectories.
* ``NoiseSweep``: the deploy protocol's cost per trained model and placement,
  ``noise_eval.evaluate_under_noise`` over the noise study's whole eps grid with the exact engine,
  with the readout interpolated from the 3^d embedding grid or simulated per point (``direct``).
* ``NoisyTrainingEpoch``: one Two Moons training epoch under noise (exact engine), interpolated vs
  direct.

Skipped (``NotImplementedError``) on commits without the noise study, i.e. when ``with_noise`` or
the ``ModelSpec`` fields ``noise``/``engine`` are missing.
"""

from __future__ import annotations

from ._common import BATCH, LR, grid, moons

# The noise study's deploy grid (qmoe_tfq.studies.noise_study.NOISE_GRID) and test split size
# (30 % of 500 Two Moons points).
NOISE_GRID = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05, 0.1, 0.15, 0.2)
TEST_POINTS = 150


def _noise_api():
    """``with_noise`` (``qmoe_tfq.models.noise_eval``, earlier ``qmoe_tfq.noise``) or a
    NotImplementedError saying what is missing."""
    try:
        from qmoe_tfq.specs.config import ModelSpec
    except ImportError as exc:
        raise NotImplementedError(f"no noise study in this commit ({exc})") from None
    fields = getattr(ModelSpec, "__dataclass_fields__", {})
    for module in ("qmoe_tfq.models.noise_eval", "qmoe_tfq.noise"):
        try:
            with_noise = getattr(__import__(module, fromlist=["with_noise"]), "with_noise", None)
        except ImportError:
            continue
        if with_noise is not None and {"noise", "engine", "repetitions"} <= set(fields):
            return with_noise
    raise NotImplementedError("no with_noise(model, noise, placement, engine, repetitions) in this commit")


N_POINTS = 100
REPETITIONS = 1000


class NoisyEvaluation:
    """Forward pass (logits) of the 2-qubit L=3 model on 100 Two Moons points under single-qubit
    depolarizing noise ``eps``: ``exact`` (density matrix, deterministic) vs ``tfq_sampled`` (TFQ
    Monte-Carlo trajectories, 1000 repetitions per expectation)."""

    params = [
        grid(["exact", "tfq_sampled"], ["exact", "tfq_sampled"]),
        grid([0.02], [0.02]),
        grid(["authors", "every_gate"], ["authors"]),
    ]
    param_names = ["engine", "eps", "placement"]
    timeout = 600
    warmup_time = 0.0
    repeat = (2, 5, 30.0)
    number = 1

    def setup(self, engine, eps, placement):
        with_noise = _noise_api()
        from ._common import make_model, tensorflow

        tf = tensorflow()
        x, _ = moons()
        model = with_noise(make_model("quantum", seed=0), eps, placement, engine, REPETITIONS)
        self.x = tf.constant(x[:N_POINTS])
        self.forward = tf.function(model, input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        self.forward(self.x[:1])  # trace on one row; the timed call reuses the graph

    def time_evaluate(self, engine, eps, placement):
        self.forward(self.x)


class NoiseSweep:
    """``evaluate_under_noise`` of one 2-qubit L=3 model on 150 Two Moons points over the noise
    study's 13 eps values, one placement, exact engine only: what one seed of the deploy study costs
    per placement once the engine is built (setup runs one sweep first). ``interpolate``: the
    readout from the 3^d embedding grid (the default); ``direct``: one circuit per point."""

    params = [grid(["interpolate", "direct"], ["interpolate"]), grid(["authors", "every_gate"], ["every_gate"])]
    param_names = ["evaluation", "placement"]
    timeout = 600
    warmup_time = 0.0
    repeat = (2, 5, 30.0)
    number = 1

    def setup(self, evaluation, placement):
        _noise_api()
        try:
            from qmoe_tfq.models.noise_eval import evaluate_under_noise
        except ImportError as exc:
            raise NotImplementedError(f"no deploy protocol in this commit ({exc})") from None
        from ._common import make_model

        x, y = moons()
        self.x, self.y = x[:TEST_POINTS], y[:TEST_POINTS]
        self.model = make_model("quantum", seed=0)
        self.model.router.evaluation = evaluation
        self.evaluate = evaluate_under_noise
        self.time_sweep(evaluation, placement)

    def time_sweep(self, evaluation, placement):
        self.evaluate(self.model, self.x, self.y, NOISE_GRID, [placement], ["exact"], REPETITIONS)


class NoisyTrainingEpoch:
    """One Two Moons training epoch (500 samples, batch 32, Adam lr 0.1) of the 2-qubit L=3 model
    under depolarizing noise 0.02 (exact density-matrix engine), readout interpolated from the 3^d
    embedding grid or simulated per point (``direct``)."""

    params = [grid(["interpolate", "direct"], ["interpolate"]), grid(["authors", "every_gate"], ["every_gate"])]
    param_names = ["evaluation", "placement"]
    timeout = 300
    warmup_time = 0.0
    repeat = (3, 10, 20.0)

    def setup(self, evaluation, placement):
        _noise_api()
        import numpy as np

        from ._common import epoch_runner, make_model

        self.x, self.y = moons()
        self.order = np.random.default_rng(0).permutation(len(self.x))
        model = make_model("quantum", seed=0, noise=0.02, noise_placement=placement)
        model.router.evaluation = evaluation
        self.run = epoch_runner(model, n_features=2, lr=LR, batch_size=BATCH)
        self.time_epoch(evaluation, placement)  # trace + first epoch

    def time_epoch(self, evaluation, placement):
        self.run(self.x[self.order], self.y[self.order])

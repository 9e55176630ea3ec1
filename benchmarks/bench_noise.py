"""Noisy evaluation of the quantum router model: the exact density-matrix engine vs TFQ's Monte-Carlo
trajectories, at the same depolarizing probability and placement.

Skipped (``NotImplementedError``) on commits without the noise study, i.e. when
``qmoe_tfq.noise.with_noise`` or the ``ModelSpec`` fields ``noise``/``engine`` are missing.
"""

from __future__ import annotations

from ._common import grid, moons


def _noise_api():
    """``qmoe_tfq.noise.with_noise`` or a NotImplementedError saying what is missing."""
    try:
        import qmoe_tfq.noise as noise
        from qmoe_tfq.config import ModelSpec
    except ImportError as exc:
        raise NotImplementedError(f"no noise study in this commit ({exc})") from None
    fields = getattr(ModelSpec, "__dataclass_fields__", {})
    if not hasattr(noise, "with_noise") or not {"noise", "engine", "repetitions"} <= set(fields):
        raise NotImplementedError(
            "qmoe_tfq.noise lacks with_noise(model, noise, placement, engine, repetitions)"
        )
    return noise.with_noise


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

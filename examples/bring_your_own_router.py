"""Bring your own router: define a router in this one file, register it, and compare it with the
suite's baselines under the tuned protocol on Two Moons.

The steps, each a short block below:

1. **The spec half** (``RouterFamily``, no TensorFlow): the family's name, what it accepts
   (``validate``), how many experts and trainable parameters it has, its label and figure colour.
2. **The Keras half**: ``build(spec, n_features, seed)`` returns a layer mapping inputs (batch, d) to
   gates (batch, E) that sum to one, initialised deterministically from ``seed``.
3. **The stack half** (optional but fast): a ``StackSupport`` drawing the same initial weights and
   computing the gates of ``M`` members at once, so the runner trains many runs as one program. A
   router that cannot must say ``NOT_STACKABLE`` (its runs then train one at a time).
4. **Register** all three with ``register_router``; from then on ``QMoEClassifier(router="cosine")``,
   ``qmoe(router="cosine")`` and the whole experiment machinery take it by name.
5. **Compare** under the tuned protocol (``qmoe_tfq.experiments.tuning``): every model searched over
   the same configurations on tuning seeds, the chosen one evaluated on fresh seeds.

Run it (about a minute at the default small size)::

    TF_USE_LEGACY_KERAS=1 python examples/bring_your_own_router.py [--seeds 3] [--epochs 10]

The router here, ``cosine``, gates with softmax(W cos(x) + b): a linear router on the features
cos(x_i), one of the trigonometric features the quantum router's gates are built from.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe
from qmoe_tfq.experiments.runner import runner
from qmoe_tfq.experiments.tuning import Budget, Candidate, run_tuned
from qmoe_tfq.models.initializers import dense, named_dense, seed_pair
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.routers import BUILDERS, StackSupport, register_router
from qmoe_tfq.specs.routers import RouterFamily


# 1. The spec half: what the router accepts and what it costs.
class CosineFamily(RouterFamily):
    name = "cosine"
    description = "Dense(E) + softmax on cos(x)"
    color = "#b2182b"

    def param_count(self, spec, n_features: int, n_experts: int) -> int:
        return n_features * n_experts + n_experts


# 2. The Keras half: seeded like every dense layer of the suite (PyTorch's nn.Linear initialisation).
def build_cosine(spec, n_features: int, seed: int) -> keras.layers.Layer:
    e = spec.experts_for(n_features)
    router = keras.Sequential(
        [keras.layers.Lambda(tf.cos), dense(e, n_features, seed_pair(seed)[1], activation=softmax)],
        name="cosine_router",
    )
    router.build((None, n_features))
    return router


# 3. The stack half: the same initial weights (roles ``out_kernel``, ``out_bias``), gates for M members.
class CosineStack(StackSupport):
    def initial(self, spec, n_features: int, n_experts: int, seed: int) -> list[tuple[str, np.ndarray]]:
        return named_dense(n_features, n_experts, seed_pair(seed)[1], "out")

    def gates(self, stack, x: tf.Tensor, v: dict, lane: int | None = None) -> tf.Tensor:
        return softmax(add_rows(tf.einsum("mbd,mde->mbe", tf.cos(x), v["out_kernel"]), v["out_bias"]))


# 4. Register (once per process).
def register() -> None:
    if "cosine" not in BUILDERS:
        register_router(CosineFamily(), build_cosine, CosineStack())


# 5. Compare under the tuned protocol.
def candidates() -> list[Candidate]:
    return [
        Candidate("cosine", "your router: softmax(W cos(x) + b)", "cosine", qmoe(router="cosine"), "moe"),
        Candidate(
            "quantum",
            "quantum router (authors: SEL L=3, <Z> + adapter)",
            "quantum",
            qmoe(router="quantum", layers=3),
            "moe",
        ),
        Candidate("linear", "Model A: linear router", "linear", qmoe(router="linear"), "moe"),
        Candidate("logreg", "logistic regression (no MoE)", "logreg", EstimatorSpec.of("logreg"), "logreg"),
    ]


def main(seeds: int = 3, epochs: int = 10, n_samples: int = 200, cache_dir: str | None = None, progress: bool = True):
    """Tune and evaluate ``candidates()`` on Two Moons; returns (table of test accuracy, TunedResults)."""
    register()
    budget = Budget(
        prefix="byor/",
        data=DataSpec(name="moons", n_samples=n_samples),
        n_tuning_seeds=1,
        eval_seeds=tuple(range(seeds)),
        max_epochs=epochs,
        quick=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        # A fresh cache: cache keys name the router, not its code, so an edited router must not reuse old runs.
        run = runner(jobs=1, cache_dir=cache_dir or tmp, progress=progress)
        results = run_tuned(candidates(), budget, run, desc="bring your own router")
    table = (
        results.evaluation.groupby("model_id")["test_accuracy"]
        .agg(["mean", "std", "count"])
        .sort_values("mean", ascending=False)
    )
    return table, results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds")
    parser.add_argument("--epochs", type=int, default=10, help="epoch budget of every mixture")
    parser.add_argument("--samples", type=int, default=200, help="Two Moons points")
    args = parser.parse_args()
    table, results = main(args.seeds, args.epochs, args.samples)
    print(results.selection_table().to_string(index=False))
    print()
    print("held-out test accuracy over the evaluation seeds:")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))

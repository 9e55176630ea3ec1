"""Held-out test error rate (1 - accuracy) on a fixed-seed Two Moons split.

asv treats every ``track_`` value as lower-is-better, so an accuracy regression shows up as an
increase here, like a slowdown. The models are trained once per environment and commit in
``setup_cache`` (deterministic for the seeds below) and only read back by the benchmarks.
"""

from __future__ import annotations

ROUTERS = ["quantum", "linear", "mlp_h4"]
DATA_SEED = 0
TRAIN_SEED = 1
EPOCHS = 30


class ErrorRate:
    """quantum: 2-qubit L=3 router (24 params); linear: Model A (6); mlp_h4: Dense(4, relu) ->
    Dense(2) (22 params, parameter-matched within 20% of the quantum router). 500 samples, 30%
    held out (stratified), Adam lr 0.1, 30 epochs."""

    params = [ROUTERS]
    param_names = ["router"]
    timeout = 900
    unit = "error rate"

    def setup_cache(self):
        from ._common import tensorflow

        tensorflow()
        from qmoe_tfq.config import ModelSpec, TrainSpec
        from qmoe_tfq.data import DataSpec, load_dataset
        from qmoe_tfq.train import train_model

        specs = {
            "quantum": ModelSpec(router="quantum"),
            "linear": ModelSpec(router="linear"),
            "mlp_h4": ModelSpec(router="mlp", hidden=4),
        }
        data = load_dataset(DataSpec(n_samples=500, test_size=0.3, seed=DATA_SEED), DATA_SEED)
        train = TrainSpec(epochs=EPOCHS, lr=0.1)
        return {
            name: 1.0 - train_model(spec, data, train, seed=TRAIN_SEED).test_accuracy
            for name, spec in specs.items()
        }

    def track_test_error_rate(self, cache, router):
        return cache[router]

"""Training is deterministic in the seed, varies across seeds, and learns Two Moons."""

import pytest

from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.specs.config import ModelSpec, TrainSpec
from qmoe_tfq.training.train import train_model


def run(seed: int, spec=ModelSpec(), epochs=4):
    data = load_dataset(DataSpec(n_samples=200), seed)
    return train_model(spec, data, TrainSpec(epochs=epochs, lr=0.1), seed)


@pytest.mark.parametrize("spec", [ModelSpec(), ModelSpec(router="linear")])
def test_same_seed_same_numbers(spec):
    a, b = run(3, spec), run(3, spec)
    assert a.test_accuracy == b.test_accuracy
    assert a.epoch_losses == b.epoch_losses


def test_different_seeds_differ():
    a, b = run(3), run(4)
    assert a.epoch_losses != b.epoch_losses


def test_dataset_split_is_stratified_and_scaled():
    import numpy as np

    data = load_dataset(DataSpec(n_samples=500, test_size=0.3), 0)
    assert len(data.x_train) == 350 and len(data.x_test) == 150
    assert abs(data.y_test.mean() - 0.5) < 0.01
    assert data.x_train.min() >= 0 and data.x_train.max() <= np.pi + 1e-6
    assert np.isclose(data.x_train.min(axis=0), 0).all() and np.isclose(data.x_train.max(axis=0), np.pi).all()


@pytest.mark.slow
def test_quantum_router_learns_two_moons():
    data = load_dataset(DataSpec(n_samples=500, test_size=0.3), 0)
    result = train_model(ModelSpec(), data, TrainSpec(epochs=30, lr=0.1), seed=1)
    assert result.test_accuracy > 0.85, result


def test_training_and_prediction_graphs_are_traced_without_autograph(monkeypatch):
    """Every compiled function of training and prediction is traced with ``autograph=False``: AutoGraph's
    conversion of the package's code cost about 2 s of CPU in every fresh process that trains."""
    import numpy as np
    from tensorflow.python.autograph.impl import api

    from qmoe_tfq.models.mixture import build_model
    from qmoe_tfq.training.stack import StackedMoE, StackTrainer
    from qmoe_tfq.training.train import EpochTrainer

    converted = []
    real = api.converted_call
    monkeypatch.setattr(api, "converted_call", lambda f, *a, **k: converted.append(f) or real(f, *a, **k))
    stack = StackedMoE(ModelSpec(layers=2), 2, 2, [0, 1])
    trainer = StackTrainer(stack, np.full(2, 0.1), 8)
    x = np.random.default_rng(0).uniform(0, 3, (stack.lanes, 20, 2)).astype(np.float32)
    y = (x[..., 0] > 1.5).astype(np.int32)
    keras_loop = EpochTrainer(build_model(ModelSpec(layers=2), 2, 2), 2, lr=0.1, batch_size=8)  # fresh: it traces
    keras_loop.run_epoch(x[0], y[0])
    keras_loop.evaluate(x[0], y[0])
    trainer.run_epoch(x, y)
    trainer.evaluate(x, y)
    stack.member_output(1, x[0], "gates")
    assert converted == []

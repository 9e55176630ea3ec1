"""Noise end to end: TFQ trajectories vs the exact engine, noisy training, ``with_noise``, the CLI.

Tolerance for the TFQ trajectory engine. ``tfq.noise.expectation`` draws R' >= R Monte-Carlo
trajectories (it rounds R up to a multiple of its thread count), computes the analytic <O> of each
trajectory's pure state, and averages. For a +-1-valued Pauli observable each per-trajectory value
lies in [-1, 1], so its variance is at most 1 and the average's standard error at most 1/sqrt(R).
Entries are compared at 5 such standard errors, 5/sqrt(R): by the central limit theorem (R >= 1000)
a correct engine exceeds it with probability ~6e-7 per entry. Sampled ops seed themselves from the
OS, so these tests are not bit-reproducible, only reproducible within that tolerance.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.circuits.noise import noisy_circuit
from qmoe_tfq.circuits.router import readout_observables, router_circuit
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.models.noise_eval import with_noise
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation
from qmoe_tfq.sim.tfq import SampledExpectation
from qmoe_tfq.specs.config import ModelSpec, TrainSpec
from qmoe_tfq.training.train import fit, train_model

REPETITIONS = 2000
TOLERANCE = 5 / np.sqrt(REPETITIONS)


@pytest.fixture(scope="module")
def moons():
    return load_dataset(DataSpec(n_samples=200, test_size=0.3), 0)


@pytest.fixture(scope="module")
def trained(moons):
    """A noiseless quantum model trained briefly (the 'deploy' protocol's starting point)."""
    model = build_model(ModelSpec(layers=3), 2, 2, seed=3)
    fit(model, moons, TrainSpec(epochs=2, lr=0.1), seed=3)
    return model


@pytest.mark.parametrize("placement", ["authors", "every_gate"])
def test_tfq_trajectories_agree_with_exact_density_matrix(placement):
    rc = router_circuit(2, 2, 3)
    rng = np.random.default_rng(21)
    values = np.concatenate(
        [rng.uniform(0, np.pi, (6, 2)), rng.uniform(0, 2 * np.pi, (6, len(rc.weight_symbols)))], axis=1
    ).astype(np.float32)
    names = [s.name for s in rc.symbols]
    observables = readout_observables(rc.qubits, "probabilities")
    circuit = noisy_circuit(rc, 0.15, placement)
    exact = DensityMatrixExpectation(circuit, names, observables, rc.qubits)(values).numpy()
    sampled = SampledExpectation(circuit, names, observables, REPETITIONS)(tf.constant(values)).numpy()
    assert sampled.shape == exact.shape
    np.testing.assert_allclose(sampled, exact, atol=TOLERANCE)
    clean = DensityMatrixExpectation(noisy_circuit(rc, 0.0, placement), names, observables, rc.qubits)(values).numpy()
    assert np.abs(exact - clean).max() > 2 * TOLERANCE, "noise too weak for this comparison to mean anything"


@pytest.mark.slow
def test_noisy_training_reduces_the_loss(moons):
    spec = ModelSpec(layers=3, noise=0.05, noise_placement="every_gate")
    result = train_model(spec, moons, TrainSpec(epochs=6, lr=0.1), seed=0)
    losses = result.epoch_losses
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert result.params.router == 24 and result.params.total == 36
    assert 0.5 < result.train_accuracy <= 1.0


def test_with_noise_keeps_weights_and_is_identity_at_zero(trained, moons):
    x = tf.constant(moons.x_test)
    clean = trained(x).numpy()
    same = with_noise(trained, 0.0)
    for a, b in zip(same.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(same(x).numpy(), clean, atol=1e-5)
    noisy = with_noise(trained, 0.1, "every_gate")
    assert noisy.spec.noise == 0.1 and noisy.spec.noise_placement == "every_gate"
    assert trained.spec.noise == 0.0
    for a, b in zip(noisy.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(noisy.router.expectation, DensityMatrixExpectation)
    assert np.abs(noisy.gates(x).numpy() - trained.gates(x).numpy()).max() > 1e-3
    np.testing.assert_allclose(noisy.gates(x).numpy().sum(axis=1), 1.0, atol=1e-5)


def test_with_noise_sampled_engine_agrees_with_exact(trained, moons):
    x = tf.constant(moons.x_test[:8])
    exact = with_noise(trained, 0.1, "authors")
    sampled = with_noise(trained, 0.1, "authors", engine="tfq_sampled", repetitions=REPETITIONS)
    assert isinstance(sampled.router.expectation, SampledExpectation)
    np.testing.assert_allclose(
        sampled.router.circuit_outputs(x).numpy(), exact.router.circuit_outputs(x).numpy(), atol=TOLERANCE
    )


def test_with_noise_leaves_classical_routers_alone(moons):
    model = build_model(ModelSpec(router="mlp", hidden=4), 2, 2, seed=1)
    copy = with_noise(model, 0.2)
    x = tf.constant(moons.x_test)
    np.testing.assert_array_equal(copy(x).numpy(), model(x).numpy())


def test_cli_trains_under_noise(qmoe_cli):
    code, out, err = qmoe_cli(
        "train",
        "--router",
        "quantum",
        "--depolarizing",
        "0.05",
        "--noise-placement",
        "every_gate",
        "--epochs",
        "1",
        "--n-samples",
        "80",
        "--json",
    )
    assert code == 0, err
    out = json.loads(out)
    assert out["router_params"] == 24 and 0 <= out["train_accuracy"] <= 1


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--depolarizing", "1.5"], "--depolarizing must be in [0, 1], got 1.5"),
        (["--noise-placement", "all"], "--noise-placement must be one of authors, every_gate, got all"),
        (["--engine", "qsim"], "--engine must be one of exact, tfq_sampled, got qsim"),
        (["--repetitions", "0"], "--repetitions must be an integer in [1, 1000000], got 0"),
    ],
)
def test_cli_rejects_bad_noise_options(args, fragment, qmoe_cli):
    code, _, err = qmoe_cli("train", "--router", "quantum", *args)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err

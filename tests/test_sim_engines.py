"""Engine selection (``ModelSpec.simulator``), the router on every exact engine against cirq, exact
interpolation under noise against cirq.DensityMatrixSimulator, and the batched noise-grid
evaluation against the per-eps path."""

import dataclasses

import cirq
import numpy as np
import pytest
import tensorflow as tf
from test_circuits_vs_cirq import cirq_readout, readout_from_probabilities

from qmoe_tfq import ConfigError
from qmoe_tfq.circuits.noise import NOISE_SYMBOL, noisy_circuit
from qmoe_tfq.circuits.router import readout_observables, router_circuit
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.models.noise_eval import evaluate_under_noise, exact_noise_sweep, with_noise
from qmoe_tfq.models.routers.quantum import QuantumRouter
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation
from qmoe_tfq.sim.engines import auto_simulator, make_expectation
from qmoe_tfq.sim.statevector import StateVectorExpectation
from qmoe_tfq.sim.tfq import ExactExpectation, SampledExpectation
from qmoe_tfq.specs.config import ModelSpec


def test_simulator_field_is_validated():
    assert ModelSpec().simulator == "auto"
    with pytest.raises(ConfigError) as err:
        ModelSpec(simulator="qsim")
    assert "'qsim'" in str(err.value) and "auto, tfq, statevector" in str(err.value)


@pytest.mark.parametrize(
    "spec,kind",
    [
        (ModelSpec(), StateVectorExpectation),
        (ModelSpec(simulator="statevector"), StateVectorExpectation),
        (ModelSpec(simulator="tfq"), ExactExpectation),
        (ModelSpec(differentiator="parameter_shift"), ExactExpectation),
        (ModelSpec(noise=0.05), DensityMatrixExpectation),
        (ModelSpec(noise=0.05, simulator="tfq"), DensityMatrixExpectation),
        (ModelSpec(engine="tfq_sampled", repetitions=10), SampledExpectation),
        (ModelSpec(noise=0.05, engine="tfq_sampled", repetitions=10), SampledExpectation),
    ],
)
def test_factory_picks_the_engine(spec, kind):
    rc = router_circuit(2, 2, 1)
    assert isinstance(make_expectation(rc, readout_observables(rc.qubits, "expectation"), spec), kind)


def test_auto_resolves_to_a_concrete_engine():
    for n in range(1, 13):
        assert auto_simulator(ModelSpec(), n) in ("tfq", "statevector")
    assert auto_simulator(ModelSpec(simulator="tfq"), 2) == "tfq"


def circuit_weight_gradient(router, x, upstream):
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(router.circuit_outputs(tf.constant(x)) * upstream)
    return tape.gradient(total, router.theta).numpy()


@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_router_engines_agree_with_cirq_values_and_weight_gradients(readout, ansatz):
    """Router outputs on TFQ and on the state vector equal cirq.Simulator; the state vector's
    gradient in the circuit weights equals float64 cirq central differences, and TFQ's adjoint
    gradient within TFQ's own error."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, np.pi, (12, 2)).astype(np.float32)
    routers = {}
    for simulator in ("tfq", "statevector"):
        spec = ModelSpec(layers=2, readout=readout, ansatz=ansatz, n_qubits=3, simulator=simulator)
        routers[simulator] = QuantumRouter(spec, n_features=2, seed=4)
    theta = routers["tfq"].theta.numpy().astype(np.float64)
    want = cirq_readout(routers["tfq"], x, readout, theta)
    upstream = rng.normal(size=want.shape)
    grads = {}
    for name, router in routers.items():
        np.testing.assert_allclose(router.circuit_outputs(tf.constant(x)).numpy(), want, atol=1e-5)
        grads[name] = circuit_weight_gradient(router, x, tf.constant(upstream, tf.float32))
    numeric = np.zeros_like(theta)
    for k in range(len(theta)):
        step = np.zeros_like(theta)
        step[k] = 1e-4
        plus = np.sum(cirq_readout(routers["tfq"], x, readout, theta + step) * upstream)
        minus = np.sum(cirq_readout(routers["tfq"], x, readout, theta - step) * upstream)
        numeric[k] = (plus - minus) / 2e-4
    assert np.abs(numeric).max() > 0.1, "degenerate test: gradients vanish"
    np.testing.assert_allclose(grads["statevector"], numeric, atol=1e-5)
    tfq_error = np.abs(grads["tfq"] - numeric)
    assert np.all(np.abs(grads["statevector"] - grads["tfq"]) <= tfq_error + 1e-5)


# ------------------------------------------------------------------ exact interpolation under noise


def cirq_noisy_readout(router, x, eps, placement):
    """The router's raw readout from cirq.DensityMatrixSimulator (complex128)."""
    rc = router.rc
    circuit = noisy_circuit(rc, eps, placement)
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    probs = [
        np.real(
            np.diag(
                sim.simulate(circuit, rc.resolver(xi, router.theta.numpy()), qubit_order=rc.qubits).final_density_matrix
            )
        )
        for xi in x
    ]
    return readout_from_probabilities(np.array(probs), router.spec.readout)


@pytest.mark.parametrize("placement", ["authors", "every_gate"])
@pytest.mark.parametrize(
    "n_features,n_qubits,readout,ansatz",
    [(2, 2, "expectation", "strongly_entangling"), (2, 3, "probabilities", "ry_cz"), (1, 1, "expectation", "ry_cz")],
)
def test_noisy_interpolation_matches_density_matrix_simulator(placement, n_features, n_qubits, readout, ansatz):
    rng = np.random.default_rng(n_qubits)
    spec = ModelSpec(layers=2, readout=readout, ansatz=ansatz, n_qubits=n_qubits, noise=0.07, noise_placement=placement)
    router = QuantumRouter(spec, n_features, seed=5)
    assert router.interpolates()
    x = rng.uniform(-np.pi, 2 * np.pi, (15, n_features)).astype(np.float32)
    out = {}
    for mode in ("interpolate", "direct"):
        router.evaluation = mode
        out[mode] = router.circuit_outputs(tf.constant(x)).numpy()
    np.testing.assert_allclose(out["interpolate"], cirq_noisy_readout(router, x, 0.07, placement), atol=1e-5)
    np.testing.assert_allclose(out["interpolate"], out["direct"], atol=1e-5)


def test_sampled_engine_never_interpolates():
    router = QuantumRouter(ModelSpec(noise=0.05, engine="tfq_sampled", repetitions=10), 2, seed=0)
    assert not router.interpolates()


# ------------------------------------------------------------------------ noise grid in one call


@pytest.mark.parametrize("placement", ["authors", "every_gate"])
def test_symbolic_noise_engine_matches_density_matrix_simulator(placement):
    rc = router_circuit(2, 2, 2)
    circuit = noisy_circuit(rc, NOISE_SYMBOL, placement)
    names = [NOISE_SYMBOL.name] + [s.name for s in rc.symbols]
    observables = readout_observables(rc.qubits, "probabilities")
    engine = DensityMatrixExpectation(circuit, names, observables, rc.qubits)
    rng = np.random.default_rng(8)
    eps = np.array([0.0, 0.02, 0.2, 0.75, 1.0])
    values = np.concatenate([eps[:, None], rng.uniform(0, 2 * np.pi, (5, len(rc.symbols)))], axis=1).astype(np.float32)
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    index = {q: i for i, q in enumerate(rc.qubits)}
    want = []
    for row in values:
        resolver = cirq.ParamResolver(dict(zip(names, map(float, row))))
        rho = sim.simulate(circuit, resolver, qubit_order=rc.qubits).final_density_matrix
        want.append([np.real(o.expectation_from_density_matrix(rho, index)) for o in observables])
    np.testing.assert_allclose(engine(values).numpy(), want, atol=1e-5)


@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
@pytest.mark.parametrize("evaluation", ["auto", "direct"])
def test_noise_sweep_equals_per_eps_models(readout, evaluation):
    model = build_model(ModelSpec(layers=2, readout=readout), 2, 2, seed=6)
    model.router.evaluation = evaluation
    x = np.random.default_rng(6).uniform(0, np.pi, (40, 2)).astype(np.float32)
    grid = [0.0, 0.01, 0.1, 0.3]
    for placement in ("authors", "every_gate"):
        sweep = exact_noise_sweep(model, x, grid, placement)
        assert sweep.shape == (len(grid), 40, model.router.n_experts if readout == "probabilities" else 2)
        for i, eps in enumerate(grid):
            noisy = with_noise(model, eps, placement)
            noisy.router.evaluation = "direct"
            np.testing.assert_allclose(sweep[i], noisy.router.circuit_outputs(tf.constant(x)).numpy(), atol=1e-5)


def per_eps_records(model, x, y, grid, placement):
    """The deploy protocol as it ran before the batched sweep: one noisy model per eps."""
    out = []
    for eps in grid:
        pred = np.argmax(with_noise(model, eps, placement)(tf.constant(x)).numpy(), axis=1)
        out.append(float(np.mean(pred == y)))
    return out


def test_evaluate_under_noise_keeps_records_and_per_eps_accuracies():
    model = build_model(ModelSpec(layers=2), 2, 2, seed=7)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (60, 2)).astype(np.float32)
    y = (x[:, 0] > x[:, 1]).astype(np.int64)
    grid = [0.0, 0.05, 0.2]
    records = evaluate_under_noise(model, x, y, grid, ["authors", "every_gate"], ["exact"], 100, split="test")
    assert [(r["placement"], r["noise"], r["engine"]) for r in records] == [
        (p, e, "exact") for p in ("authors", "every_gate") for e in grid
    ]
    for r in records:
        assert set(r) == {"placement", "noise", "engine", "split", "accuracy", "seconds", "build_seconds"}
        assert r["split"] == "test" and 0 <= r["build_seconds"] <= r["seconds"]
    for placement in ("authors", "every_gate"):
        got = [r["accuracy"] for r in records if r["placement"] == placement]
        assert got == per_eps_records(model, x, y, grid, placement)


def test_sweep_chunks_large_batches(monkeypatch):
    import qmoe_tfq.models.noise_eval as noise_eval

    model = build_model(ModelSpec(layers=1), 2, 2, seed=1)
    model.router.evaluation = "direct"
    x = np.random.default_rng(1).uniform(0, np.pi, (10, 2)).astype(np.float32)
    whole = exact_noise_sweep(model, x, [0.0, 0.1], "authors")
    monkeypatch.setattr(noise_eval, "MAX_SWEEP_COEFFICIENTS", 3 * 16)  # 3 rows of 4^2 per call
    np.testing.assert_allclose(exact_noise_sweep(model, x, [0.0, 0.1], "authors"), whole, atol=1e-7)


def test_with_noise_copy_keeps_the_simulator_choice():
    model = build_model(ModelSpec(simulator="tfq"), 2, 2, seed=0)
    copy = with_noise(model, 0.0)
    assert copy.spec == dataclasses.replace(model.spec, noise=0.0)
    assert isinstance(copy.router.expectation, ExactExpectation)

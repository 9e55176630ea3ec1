"""Noise machinery: placements, the exact density-matrix engine against cirq, gradients, bad input.

The TFQ trajectory engine, noisy training and ``with_noise`` are in ``test_noise_training.py``.
"""

import itertools

import cirq
import numpy as np
import pytest
import sympy
import tensorflow as tf

from qmoe_tfq import ConfigError
from qmoe_tfq.circuits.noise import noisy_circuit
from qmoe_tfq.circuits.router import readout_observables, router_circuit
from qmoe_tfq.models.routers.quantum import QuantumRouter
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation
from qmoe_tfq.sim.tfq import ExactExpectation
from qmoe_tfq.specs.config import ModelSpec, param_counts


def symbol_values(rc, batch: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(0, np.pi, (batch, len(rc.input_symbols)))
    w = rng.uniform(0, 2 * np.pi, (batch, len(rc.weight_symbols)))
    return np.concatenate([x, w], axis=1).astype(np.float32)


def cirq_density_expectations(circuit, rc, values, observables) -> np.ndarray:
    """<O> from cirq.DensityMatrixSimulator in complex128, one input row at a time."""
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    index = {q: i for i, q in enumerate(rc.qubits)}
    out = []
    for row in values:
        resolver = cirq.ParamResolver({s.name: float(v) for s, v in zip(rc.symbols, row)})
        rho = sim.simulate(circuit, resolver, qubit_order=rc.qubits).final_density_matrix
        out.append([np.real(o.expectation_from_density_matrix(rho, index)) for o in observables])
    return np.array(out)


def engine_for(rc, circuit, readout, **kwargs) -> DensityMatrixExpectation:
    observables = readout_observables(rc.qubits, readout)
    return DensityMatrixExpectation(circuit, [s.name for s in rc.symbols], observables, rc.qubits, **kwargs)


# ------------------------------------------------------------------------------------------ placements


def count_channels(circuit: cirq.Circuit) -> int:
    return sum(isinstance(op.gate, cirq.DepolarizingChannel) for op in circuit.all_operations())


@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_placements_put_channels_where_documented(ansatz):
    rc = router_circuit(2, 3, 2, ansatz)
    gates = list(rc.circuit.all_operations())
    authors = noisy_circuit(rc, 0.1, "authors")
    assert count_channels(authors) == 2 * 3
    ops = list(authors.all_operations())
    first = [i for i, op in enumerate(ops) if isinstance(op.gate, cirq.DepolarizingChannel)][:3]
    assert all(isinstance(op.gate, cirq.Rx) for op in ops[: first[0]])
    assert all(isinstance(op.gate, cirq.DepolarizingChannel) for op in ops[-3:])
    every = noisy_circuit(rc, 0.1, "every_gate")
    assert count_channels(every) == sum(len(op.qubits) for op in gates)
    assert all(op.gate.p == 0.1 for op in every.all_operations() if isinstance(op.gate, cirq.DepolarizingChannel))
    stripped = cirq.Circuit(op for op in every.all_operations() if not isinstance(op.gate, cirq.DepolarizingChannel))
    assert cirq.approx_eq(
        cirq.unitary(cirq.resolve_parameters(stripped, {s: 0.3 for s in map(str, rc.symbols)})),
        cirq.unitary(cirq.resolve_parameters(rc.circuit, {s: 0.3 for s in map(str, rc.symbols)})),
    )


# ------------------------------------------------------------------------------ exact engine vs cirq

GRID = list(
    itertools.product(
        ["authors", "every_gate"], [2, 3], [1, 3], ["expectation", "probabilities"], ["strongly_entangling", "ry_cz"]
    )
)


@pytest.mark.parametrize("placement,n,layers,readout,ansatz", GRID)
def test_density_engine_matches_cirq_density_matrix_simulator(placement, n, layers, readout, ansatz):
    case = GRID.index((placement, n, layers, readout, ansatz))
    rng = np.random.default_rng(case)
    rc = router_circuit(n, n, layers, ansatz)
    values = symbol_values(rc, 3, rng)
    observables = readout_observables(rc.qubits, readout)
    for eps in (0.01, [0.05, 0.2, 0.75, 1.0][case % 4]):
        circuit = noisy_circuit(rc, eps, placement)
        got = engine_for(rc, circuit, readout)(values).numpy()
        assert got.dtype == np.float32 and got.shape == (3, len(observables))
        np.testing.assert_allclose(got, cirq_density_expectations(circuit, rc, values, observables), atol=1e-5)


def test_density_engine_handles_other_constant_operations():
    """Constant-angle rotations, H, SWAP and amplitude damping (a non-unital channel) are exact too."""
    qubits = cirq.GridQubit.rect(1, 3)
    a, b = sympy.symbols("a b")
    circuit = cirq.Circuit(
        cirq.H(qubits[0]),
        cirq.rx(0.3).on(qubits[1]),
        cirq.ry(2 * a + 0.5).on(qubits[2]),
        cirq.SWAP(qubits[0], qubits[2]),
        cirq.amplitude_damp(0.2).on(qubits[1]),
        cirq.CNOT(qubits[1], qubits[0]),
        cirq.rz(b).on(qubits[0]),
        cirq.rx(b).on(qubits[0]),
        cirq.depolarize(0.1).on(qubits[2]),
    )
    observables = [
        cirq.Z(qubits[0]),
        cirq.X(qubits[0]) * cirq.Y(qubits[2]),
        0.5 * cirq.Z(qubits[1]) - cirq.X(qubits[2]),
    ]
    values = np.array([[0.1, 0.7], [1.3, -2.0]], np.float32)
    got = DensityMatrixExpectation(circuit, ["a", "b"], observables)(values).numpy()
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    index = {q: i for i, q in enumerate(qubits)}
    for row, g in zip(values, got):
        rho = sim.simulate(circuit, {"a": float(row[0]), "b": float(row[1])}, qubit_order=qubits).final_density_matrix
        want = [np.real(o.expectation_from_density_matrix(rho, index)) for o in observables]
        np.testing.assert_allclose(g, want, atol=1e-5)


def test_depolarizing_channels_that_meet_are_merged_and_stay_exact():
    """Channels meeting in a run of single-qubit unitaries on one qubit compile to one factor per kind (the
    constant ones multiplied, each symbolic probability raised to its count); a non-unital channel or a
    two-qubit gate ends a run, and a lone channel keeps its place. Values match cirq, and the gradients
    (inputs, weights and the noise symbols) match the same circuit with every channel fenced off by an
    identity channel (nothing merged)."""
    from qmoe_tfq.circuits.noise import SymbolicDepolarize
    from qmoe_tfq.sim.density_matrix import _compile

    q = cirq.GridQubit.rect(1, 2)
    a, b, e, f = sympy.symbols("a b e f")
    d = lambda p, qubit: SymbolicDepolarize(p).on(qubit)  # noqa: E731
    ops = [
        cirq.rx(a).on(q[0]), d(e, q[0]), cirq.rz(b).on(q[0]), d(e, q[0]), cirq.H(q[0]), d(2 * f, q[0]),
        cirq.depolarize(0.05).on(q[0]), cirq.ry(a).on(q[0]), cirq.depolarize(0.1).on(q[0]), d(e, q[0]),
        cirq.rx(b).on(q[1]), d(f, q[1]), cirq.amplitude_damp(0.2).on(q[1]), d(f, q[1]), cirq.ry(a).on(q[1]),
        cirq.CNOT(q[0], q[1]), d(e, q[0]), d(e, q[1]), cirq.rz(b).on(q[0]), d(e, q[0]),
    ]  # fmt: skip
    circuit = cirq.Circuit(ops)
    names = ["a", "b", "e", "f"]
    program = _compile(circuit, q, names)
    # rotations a, b, a, b, a, b; q0's first run: e^3 and (2f)^1; after the CNOT e^2 on q0; e, f, f alone
    assert sorted(program.powers) == [1] * 6 + [1, 1, 1, 1, 2, 3]
    fence = lambda op: [op, cirq.amplitude_damp(0.0).on(*op.qubits)]  # noqa: E731
    fenced = cirq.Circuit(
        fence(op) if isinstance(op.gate, (SymbolicDepolarize, cirq.DepolarizingChannel)) else op for op in ops
    )
    assert _compile(fenced, q, names).powers == [1] * 15
    observables = [cirq.Z(q[0]), cirq.X(q[0]) * cirq.Z(q[1]), cirq.Y(q[1])]
    values = np.array([[0.3, -1.1, 0.04, 0.1], [2.0, 0.7, 0.2, 0.03]], np.float32)
    merged = DensityMatrixExpectation(circuit, names, observables, q, dtype=tf.float64)
    plain = DensityMatrixExpectation(fenced, names, observables, q, dtype=tf.float64)
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    index = {qubit: i for i, qubit in enumerate(q)}
    want = []
    for row in values:
        rho = sim.simulate(circuit, dict(zip(names, map(float, row))), qubit_order=q).final_density_matrix
        want.append([np.real(o.expectation_from_density_matrix(rho, index)) for o in observables])
    np.testing.assert_allclose(merged(values).numpy(), want, atol=1e-5)
    grads = []
    for engine in (merged, plain):
        v = tf.constant(values)
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = tf.reduce_sum(engine(v) * tf.constant([1.0, -0.5, 2.0]))
        grads.append(tape.gradient(y, v).numpy())
    assert np.all(np.abs(grads[1][:, 2:]) > 1e-3)  # the noise symbols do matter
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-5)


def test_density_engine_rejects_unsupported_operations():
    q = cirq.GridQubit.rect(1, 2)
    s = sympy.Symbol("s")
    with pytest.raises(ValueError, match="parameterised"):
        DensityMatrixExpectation(cirq.Circuit(cirq.CZ(*q) ** s), ["s"], [cirq.Z(q[0])])
    with pytest.raises(ValueError, match="signed-permutation"):
        DensityMatrixExpectation(cirq.Circuit(cirq.CZ(*q) ** 0.5), [], [cirq.Z(q[0])])


# ------------------------------------------------------------------------------------- noiseless limit


@pytest.mark.parametrize("placement", ["authors", "every_gate"])
@pytest.mark.parametrize(
    "n,layers,readout,ansatz", [(2, 3, "expectation", "strongly_entangling"), (3, 2, "probabilities", "ry_cz")]
)
def test_zero_noise_equals_noiseless_tfq(placement, n, layers, readout, ansatz):
    rc = router_circuit(n, n, layers, ansatz)
    values = symbol_values(rc, 6, np.random.default_rng(n + layers))
    names = [s.name for s in rc.symbols]
    observables = readout_observables(rc.qubits, readout)
    tfq_values = ExactExpectation(rc.circuit, names, observables)(tf.constant(values)).numpy()
    density = engine_for(rc, noisy_circuit(rc, 0.0, placement), readout)(values).numpy()
    np.testing.assert_allclose(density, tfq_values, atol=1e-5)


def test_noisy_router_matches_cirq_and_keeps_gates_a_distribution():
    rng = np.random.default_rng(5)
    spec = ModelSpec(layers=2, readout="probabilities", noise=0.08, noise_placement="every_gate")
    router = QuantumRouter(spec, n_features=2, seed=1)
    x = rng.uniform(0, np.pi, (5, 2)).astype(np.float32)
    gates = router(tf.constant(x)).numpy()
    assert np.all(gates >= -1e-6)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, atol=1e-5)
    rc = router.rc
    values = np.concatenate([x, np.tile(router.theta.numpy()[None], (5, 1))], axis=1)
    sim = cirq.DensityMatrixSimulator(dtype=np.complex128)
    circuit = noisy_circuit(rc, 0.08, "every_gate")
    want = [
        np.real(np.diag(sim.simulate(circuit, rc.resolver(v[:2], v[2:]), qubit_order=rc.qubits).final_density_matrix))
        for v in values
    ]
    np.testing.assert_allclose(gates, want, atol=1e-5)


def test_noise_does_not_change_parameter_counts():
    for spec in (ModelSpec(noise=0.05), ModelSpec(noise=0.05, readout="probabilities", noise_placement="every_gate")):
        router = QuantumRouter(spec, n_features=2, seed=0)
        count = int(sum(np.prod(v.shape) for v in router.trainable_variables))
        clean = param_counts(ModelSpec(readout=spec.readout), 2, 2)
        assert count == param_counts(spec, 2, 2).router == clean.router


# ---------------------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("placement,ansatz", [("authors", "strongly_entangling"), ("every_gate", "ry_cz")])
def test_density_engine_gradients(placement, ansatz):
    """Autodiff gradient of sum_k c_k <O_k> w.r.t. every symbol value (inputs and weights) equals
    the exact parameter-shift rule (each symbol enters one rotation; channels do not depend on it)
    and central finite differences."""
    rc = router_circuit(2, 2, 2, ansatz)
    values = symbol_values(rc, 2, np.random.default_rng(11))
    engine = engine_for(rc, noisy_circuit(rc, 0.1, placement), "probabilities", dtype=tf.float64)
    c = tf.constant(
        np.random.default_rng(12).normal(size=(len(readout_observables(rc.qubits, "probabilities")),)), tf.float32
    )
    f = lambda v: tf.reduce_sum(engine(v) * c, axis=1).numpy()  # noqa: E731
    v = tf.constant(values)
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = tf.reduce_sum(engine(v) * c)
    grad = tape.gradient(y, v).numpy()
    shift, fd = np.zeros_like(values), np.zeros_like(values)
    for j in range(values.shape[1]):
        e = np.zeros_like(values)
        e[:, j] = np.pi / 2
        shift[:, j] = (f(values + e) - f(values - e)) / 2
        e[:, j] = 1e-2
        fd[:, j] = (f(values + e) - f(values - e)) / 2e-2
    np.testing.assert_allclose(grad, shift, atol=1e-5)
    np.testing.assert_allclose(grad, fd, atol=2e-3)


# ----------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make,fragments",
    [
        (lambda: ModelSpec(noise=-0.1), ["noise", "-0.1", "[0, 1]"]),
        (lambda: ModelSpec(noise=1.5), ["noise", "1.5", "[0, 1]"]),
        (lambda: ModelSpec(noise="lots"), ["noise", "'lots'", "[0, 1]"]),
        (lambda: ModelSpec(noise=float("nan")), ["noise", "nan", "[0, 1]"]),
        (lambda: ModelSpec(noise_placement="everywhere"), ["'everywhere'", "authors, every_gate"]),
        (lambda: ModelSpec(engine="qiskit"), ["'qiskit'", "exact, tfq_sampled"]),
        (lambda: ModelSpec(repetitions=0), ["repetitions", "0", ">= 1"]),
        (lambda: ModelSpec(repetitions=2.5), ["repetitions", "2.5", ">= 1"]),
        (lambda: noisy_circuit(router_circuit(2, 2, 1), 2.0, "authors"), ["noise", "2.0", "[0, 1]"]),
        (lambda: noisy_circuit(router_circuit(2, 2, 1), 0.1, "gates"), ["'gates'", "authors, every_gate"]),
    ],
)
def test_noise_config_errors_name_the_value(make, fragments):
    with pytest.raises(ConfigError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)


def test_label_mentions_noise():
    assert ModelSpec().label() == "quantum(L=3, expectation)"
    assert "noise=0.02 authors" in ModelSpec(noise=0.02).label()
    assert "noise=0.1 every_gate" in ModelSpec(noise=0.1, noise_placement="every_gate").label()
    assert "tfq_sampled R=500" in ModelSpec(noise=0.1, engine="tfq_sampled", repetitions=500).label()
    assert ModelSpec(noise=1).noise == 1.0 and isinstance(ModelSpec(noise=1).noise, float)

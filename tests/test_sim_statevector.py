"""The TensorFlow state-vector engine against cirq.Simulator (complex128) and TFQ: values and
gradients in the symbol values, on every router circuit shape and on other supported circuits."""

import cirq
import numpy as np
import pytest
import sympy
import tensorflow as tf

from qmoe_tfq.circuits.router import readout_observables, router_circuit
from qmoe_tfq.sim.statevector import StateVectorExpectation
from qmoe_tfq.sim.tfq import ExactExpectation


def symbol_values(rc, rows: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(-np.pi, 2 * np.pi, (rows, len(rc.input_symbols)))
    w = rng.uniform(0, 2 * np.pi, (rows, len(rc.weight_symbols)))
    return np.concatenate([x, w], axis=1).astype(np.float32)


def cirq_expectations(circuit, symbols, qubits, values, observables) -> np.ndarray:
    """<O> from cirq.Simulator in complex128, one row at a time."""
    sim = cirq.Simulator(dtype=np.complex128)
    index = {q: i for i, q in enumerate(qubits)}
    out = []
    for row in values:
        resolver = cirq.ParamResolver({s.name: float(v) for s, v in zip(symbols, row)})
        psi = sim.simulate(circuit, resolver, qubit_order=qubits).final_state_vector
        out.append([np.real(cirq.PauliSum.wrap(o).expectation_from_state_vector(psi, index)) for o in observables])
    return np.array(out)


def engine_for(rc, readout):
    observables = readout_observables(rc.qubits, readout)
    return StateVectorExpectation(rc.circuit, [s.name for s in rc.symbols], observables, rc.qubits), observables


SHAPES = [
    (n_features, n_qubits, layers, readout, ansatz)
    for n_features, n_qubits, layers in [(1, 1, 2), (2, 2, 3), (3, 3, 1), (2, 4, 2), (5, 5, 2), (8, 8, 2)]
    for readout in ("expectation", "probabilities")
    for ansatz in ("strongly_entangling", "ry_cz")
]


@pytest.mark.parametrize("n_features,n_qubits,layers,readout,ansatz", SHAPES)
def test_router_circuits_match_cirq_and_tfq(n_features, n_qubits, layers, readout, ansatz):
    rng = np.random.default_rng(SHAPES.index((n_features, n_qubits, layers, readout, ansatz)))
    rc = router_circuit(n_features, n_qubits, layers, ansatz)
    engine, observables = engine_for(rc, readout)
    values = symbol_values(rc, 4, rng)
    got = engine(values).numpy()
    assert got.dtype == np.float32 and got.shape == (4, len(observables))
    want = cirq_expectations(rc.circuit, rc.symbols, rc.qubits, values, observables)
    np.testing.assert_allclose(got, want, atol=1e-5)
    names = [s.name for s in rc.symbols]
    tfq_values = ExactExpectation(rc.circuit, names, observables)(tf.constant(values)).numpy()
    np.testing.assert_allclose(got, tfq_values, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_package_qubit_limit_matches_cirq(ansatz):
    rc = router_circuit(4, 12, 1, ansatz)
    engine, observables = engine_for(rc, "expectation")
    values = symbol_values(rc, 2, np.random.default_rng(12))
    want = cirq_expectations(rc.circuit, rc.symbols, rc.qubits, values, observables)
    np.testing.assert_allclose(engine(values).numpy(), want, atol=1e-5)


def parameter_shift_gradient(rc, values, observables, c) -> np.ndarray:
    """d/dv of sum_k c_k <O_k> per row and symbol value, exactly in float64 cirq: every symbol
    enters one rotation exp(-i v P / 2), so the derivative is (f(v + pi/2) - f(v - pi/2)) / 2."""
    f = lambda v: cirq_expectations(rc.circuit, rc.symbols, rc.qubits, v, observables) @ c  # noqa: E731
    base = values.astype(np.float64)
    grad = np.zeros_like(base)
    for j in range(base.shape[1]):
        shift = np.zeros_like(base)
        shift[:, j] = np.pi / 2
        grad[:, j] = (f(base + shift) - f(base - shift)) / 2
    return grad


@pytest.mark.parametrize(
    "n_features,n_qubits,readout,ansatz",
    [
        (2, 2, "expectation", "strongly_entangling"),
        (2, 3, "probabilities", "ry_cz"),
        (3, 3, "probabilities", "strongly_entangling"),
    ],
)
def test_gradients_match_parameter_shift_in_cirq_and_tfq_adjoint(n_features, n_qubits, readout, ansatz):
    rc = router_circuit(n_features, n_qubits, 2, ansatz)
    engine, observables = engine_for(rc, readout)
    rng = np.random.default_rng(n_qubits)
    values = symbol_values(rc, 3, rng)
    c = rng.normal(size=len(observables))
    tfq_engine = ExactExpectation(rc.circuit, [s.name for s in rc.symbols], observables)
    grads = {}
    for name, e in (("statevector", engine), ("tfq", tfq_engine)):
        v = tf.constant(values)
        with tf.GradientTape() as tape:
            tape.watch(v)
            total = tf.reduce_sum(e(v) * tf.constant(c, tf.float32))
        grads[name] = tape.gradient(total, v).numpy()
    exact = parameter_shift_gradient(rc, values, observables, c)
    assert np.abs(exact).max() > 0.1, "degenerate test: gradients vanish"
    np.testing.assert_allclose(grads["statevector"], exact, atol=1e-5)
    # TFQ's float32 adjoint gradient is itself up to ~5e-5 off the exact one here: the two engines
    # agree within TFQ's own error (plus 1e-5).
    tfq_error = np.abs(grads["tfq"] - exact)
    assert np.all(np.abs(grads["statevector"] - grads["tfq"]) <= tfq_error + 1e-5)


def test_other_supported_operations_match_cirq():
    """Constant gates (H, S, T, constant rotations), SWAP, Toffoli, CZ, affine angles, a qubit only
    an observable touches, and Z-string sums with coefficients."""
    q = cirq.GridQubit.rect(1, 4)
    a, b = sympy.symbols("a b")
    circuit = cirq.Circuit(
        cirq.H(q[0]),
        cirq.rx(0.3).on(q[1]),
        cirq.ry(2 * a + 0.5).on(q[2]),
        cirq.T(q[1]),
        cirq.SWAP(q[0], q[2]),
        cirq.S(q[0]),
        cirq.CCX(q[0], q[2], q[1]),
        cirq.rz(b).on(q[0]),
        cirq.rx(-b / 3).on(q[0]),
        cirq.CZ(q[1], q[2]),
        cirq.XPowGate(exponent=a / np.pi).on(q[1]),
    )
    observables = [cirq.Z(q[0]), cirq.Z(q[0]) * cirq.Z(q[3]), 0.5 * cirq.Z(q[1]) - 2.0 * cirq.Z(q[2]) * cirq.Z(q[1])]
    values = np.array([[0.1, 0.7], [1.3, -2.0], [3.0, 5.5]], np.float32)
    engine = StateVectorExpectation(circuit, ["a", "b"], observables, qubits=q)
    want = cirq_expectations(circuit, sympy.symbols("a b"), q, values, observables)
    np.testing.assert_allclose(engine(values).numpy(), want, atol=1e-5)
    empty = StateVectorExpectation(cirq.Circuit(), [], [cirq.Z(q[0])], qubits=q[:1])
    np.testing.assert_allclose(empty(np.zeros((2, 0), np.float32)).numpy(), [[1.0], [1.0]])


@pytest.mark.parametrize("chain", [2, 7])
def test_chains_of_factors_and_final_states_match_cirq(chain):
    """Chains of ``chain`` single-qubit factors between the CNOTs (constants among the rotations;
    7 is longer than ``MAX_CHAIN``, multiplied from a table of factors) and the final state vector
    (``states``, after the last permutation) as well as the expectations (read before it)."""
    from qmoe_tfq.sim.statevector import MAX_CHAIN

    assert (chain > MAX_CHAIN) == (chain == 7)
    q = cirq.GridQubit.rect(1, 3)
    symbols = sympy.symbols(f"s0:{3 * 2 * chain}")
    ops, k = [], 0
    for layer in range(2):
        for i in range(3):
            for j in range(chain):
                gate = (cirq.rx, cirq.ry, cirq.rz)[(i + j) % 3]
                ops.append(gate(symbols[k] * (j + 1) - 0.2).on(q[i]))
                k += 1
                if j == 0 and i != layer:
                    ops.append(cirq.H(q[i]))
        ops += [cirq.CNOT(q[0], q[1]), cirq.CNOT(q[1], q[2]), cirq.CNOT(q[2], q[0])]
    circuit = cirq.Circuit(ops)
    observables = [cirq.Z(q[0]), cirq.Z(q[1]) * cirq.Z(q[2])]
    names = [s.name for s in symbols]
    engine = StateVectorExpectation(circuit, names, observables, qubits=q)
    values = np.random.default_rng(chain).uniform(-np.pi, np.pi, (4, len(symbols))).astype(np.float32)
    want = cirq_expectations(circuit, symbols, q, values, observables)
    np.testing.assert_allclose(engine(values).numpy(), want, atol=1e-5)
    sim = cirq.Simulator(dtype=np.complex128)
    for row, psi in zip(values, engine.states(tf.constant(values)).numpy()):
        resolver = cirq.ParamResolver({n: float(v) for n, v in zip(names, row)})
        np.testing.assert_allclose(psi, sim.simulate(circuit, resolver, qubit_order=q).final_state_vector, atol=1e-5)


def test_complex128_state_is_available():
    rc = router_circuit(2, 2, 3)
    observables = readout_observables(rc.qubits, "probabilities")
    engine = StateVectorExpectation(rc.circuit, [s.name for s in rc.symbols], observables, rc.qubits, tf.complex128)
    values = symbol_values(rc, 3, np.random.default_rng(0))
    want = cirq_expectations(rc.circuit, rc.symbols, rc.qubits, values, observables)
    np.testing.assert_allclose(engine(values).numpy(), want, atol=1e-6)


@pytest.mark.parametrize(
    "make,fragment",
    [
        (lambda q, s: (cirq.Circuit(cirq.depolarize(0.1).on(q[0])), [], [cirq.Z(q[0])]), "no unitary"),
        (lambda q, s: (cirq.Circuit(cirq.CZ(*q) ** s), ["s"], [cirq.Z(q[0])]), "parameterised"),
        (lambda q, s: (cirq.Circuit(cirq.ISWAP(*q) ** 0.5), [], [cirq.Z(q[0])]), "permute basis states"),
        (lambda q, s: (cirq.Circuit(cirq.rx(s).on(q[0])), ["s"], [cirq.X(q[0])]), "Z strings"),
        (lambda q, s: (cirq.Circuit(cirq.rx(s * s).on(q[0])), ["s"], [cirq.Z(q[0])]), "linear"),
        (lambda q, s: (cirq.Circuit(cirq.rx(s).on(q[0])), ["t"], [cirq.Z(q[0])]), "one of the given symbols"),
    ],
)
def test_unsupported_circuits_are_rejected(make, fragment):
    q = cirq.GridQubit.rect(1, 2)
    circuit, names, observables = make(q, sympy.Symbol("s"))
    with pytest.raises(ValueError, match=fragment):
        StateVectorExpectation(circuit, names, observables, qubits=q)

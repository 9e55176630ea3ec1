"""The authors' Phase 1 models: amplitude embedding and quantum experts against cirq and PennyLane,
whole-model formulas, parameter counts, initialisation, and a short training run."""

import cirq
import numpy as np
import pytest
import sympy
import tensorflow as tf
import tf_keras as keras

from qmoe_tfq import ConfigError
from qmoe_tfq.circuits.router import (
    amplitude_embedding,
    amplitude_expert_circuit,
    uniformly_controlled_ry,
    uniformly_controlled_ry_matrix,
)
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.models.phase1 import AmplitudeQuantumExperts, amplitude_angles, build_phase1_model
from qmoe_tfq.specs.phase1 import PHASE1_MODELS, PHASE1_SIMULATORS, Phase1Params, Phase1Spec

qml = pytest.importorskip("pennylane")


def awkward_inputs(dim: int, seed: int = 0) -> np.ndarray:
    """Rows with negative entries, zeros (single and whole blocks), one-hots, all negative, tiny scale."""
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=dim), -np.abs(rng.normal(size=dim)), rng.uniform(0, 1, dim) * 1e-3]
    if dim > 1:
        zero_half = rng.normal(size=dim)
        zero_half[: dim // 2] = 0.0
        rows.append(zero_half)
        sparse = rng.normal(size=dim)
        sparse[::3] = 0.0
        rows.append(sparse)
    for i in {0, dim - 1, dim // 2}:
        rows.append(np.eye(dim)[i] * (-1.0 if i % 2 else 2.0))
    return np.array(rows)


def simulate_state(circuit: cirq.Circuit, qubits, symbols, values) -> np.ndarray:
    resolver = cirq.ParamResolver({s.name: float(v) for s, v in zip(symbols, values)})
    return cirq.Simulator(dtype=np.complex128).simulate(circuit, resolver, qubit_order=qubits).final_state_vector


def pennylane_expert(x: np.ndarray, weights: np.ndarray, n_qubits: int) -> np.ndarray:
    """The authors' circuit: AmplitudeEmbedding(pad_with=0., normalize=True), StronglyEntanglingLayers, <Z_i>."""
    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev)
    def circuit(inputs):
        qml.AmplitudeEmbedding(features=inputs, wires=range(n_qubits), pad_with=0.0, normalize=True)
        qml.StronglyEntanglingLayers(weights, wires=range(n_qubits))
        return [qml.expval(qml.PauliZ(i)) for i in range(n_qubits)]

    return np.array([np.array(circuit(row), dtype=float) for row in x])


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_uniformly_controlled_ry_is_block_diagonal(k):
    rng = np.random.default_rng(k)
    qubits = cirq.LineQubit.range(k + 1)
    alpha = rng.uniform(-2 * np.pi, 2 * np.pi, 2**k)
    theta = uniformly_controlled_ry_matrix(k).T @ alpha / 2**k
    symbols = tuple(sympy.Symbol(f"t{i}") for i in range(2**k))
    circuit = cirq.Circuit(uniformly_controlled_ry(tuple(qubits[:k]), qubits[k], symbols))
    got = cirq.unitary(cirq.resolve_parameters(circuit, {s.name: t for s, t in zip(symbols, theta)}))
    want = np.zeros((2 ** (k + 1),) * 2)
    for c, a in enumerate(alpha):
        want[2 * c : 2 * c + 2, 2 * c : 2 * c + 2] = cirq.unitary(cirq.ry(a)).real
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("n_qubits", [1, 2, 3, 4])
def test_amplitude_embedding_prepares_x_over_its_norm(n_qubits):
    qubits = tuple(cirq.GridQubit.rect(1, n_qubits))
    circuit, symbols = amplitude_embedding(qubits)
    assert len(symbols) == 2**n_qubits - 1
    x = awkward_inputs(2**n_qubits, seed=n_qubits)
    angles = amplitude_angles(tf.constant(x), n_qubits).numpy()
    assert angles.shape == (len(x), 2**n_qubits - 1) and angles.dtype == np.float32
    for row, values in zip(x, angles):
        state = simulate_state(circuit, qubits, symbols, values)
        np.testing.assert_allclose(state, row / np.linalg.norm(row), atol=1e-5)


def test_amplitude_embedding_pads_and_handles_the_zero_vector():
    qubits = tuple(cirq.GridQubit.rect(1, 3))
    circuit, symbols = amplitude_embedding(qubits)
    x = np.array([[0.5, -1.0, 0.0, 2.0, -0.25], [0.0] * 5])
    angles = amplitude_angles(tf.constant(x), 3).numpy()
    padded = np.concatenate([x[0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(
        simulate_state(circuit, qubits, symbols, angles[0]), padded / np.linalg.norm(padded), atol=1e-5
    )
    assert np.array_equal(angles[1], np.zeros(7))  # all-zero input: |000> (PennyLane cannot normalise it)
    np.testing.assert_allclose(simulate_state(circuit, qubits, symbols, angles[1]), np.eye(8)[0], atol=1e-7)


@pytest.mark.parametrize("simulator", PHASE1_SIMULATORS)
@pytest.mark.parametrize("n_qubits,n_layers", [(4, 2), (3, 1), (2, 3)])
def test_quantum_experts_match_cirq_and_pennylane(n_qubits, n_layers, simulator):
    layer = AmplitudeQuantumExperts(n_experts=3, n_qubits=n_qubits, n_layers=n_layers, seed=5, simulator=simulator)
    x = awkward_inputs(2**n_qubits, seed=7)
    got = layer(tf.constant(x, tf.float32)).numpy()
    assert got.shape == (len(x), 3, n_qubits)
    weights = layer.theta.numpy()
    assert weights.shape == (3, n_layers, n_qubits, 3)
    rc = amplitude_expert_circuit(n_qubits, n_layers)
    angles = amplitude_angles(tf.constant(x), n_qubits).numpy()
    observables = [cirq.Z(q) for q in rc.qubits]
    for e in range(3):
        states = [
            simulate_state(rc.circuit, rc.qubits, rc.symbols, np.concatenate([a, weights[e].ravel()])) for a in angles
        ]
        with_cirq = np.array(
            [
                [o.expectation_from_state_vector(s, {q: i for i, q in enumerate(rc.qubits)}).real for o in observables]
                for s in states
            ]
        )
        np.testing.assert_allclose(got[:, e], with_cirq, atol=1e-5)
        np.testing.assert_allclose(got[:, e], pennylane_expert(x, weights[e].astype(np.float64), n_qubits), atol=1e-5)


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def test_qmoe_and_qnn_are_the_authors_forward_pass():
    """logits = head(sum_e softmax(router(x))_e * expert_e(x)), experts from PennyLane, the rest in NumPy."""
    x = np.random.default_rng(3).normal(size=(6, 16))
    qmoe = build_phase1_model("qmoe", seed=11)
    w = qmoe.experts.theta.numpy().astype(np.float64)
    experts = np.stack([pennylane_expert(x, w[e], 4) for e in range(3)], axis=1)
    gates = softmax(x @ qmoe.router.kernel.numpy() + qmoe.router.bias.numpy())
    mixed = np.einsum("be,bew->bw", gates, experts)
    want = mixed @ qmoe.head.kernel.numpy() + qmoe.head.bias.numpy()
    np.testing.assert_allclose(qmoe(tf.constant(x, tf.float32)).numpy(), want, atol=1e-5)
    np.testing.assert_allclose(qmoe.gates(tf.constant(x, tf.float32)).numpy(), gates, atol=1e-6)
    qnn = build_phase1_model("qnn", seed=11)
    expert = pennylane_expert(x, qnn.experts.theta.numpy()[0].astype(np.float64), 4)
    want = expert @ qnn.head.kernel.numpy() + qnn.head.bias.numpy()
    np.testing.assert_allclose(qnn(tf.constant(x, tf.float32)).numpy(), want, atol=1e-5)


def test_classical_moe_is_the_authors_forward_pass():
    x = np.random.default_rng(4).normal(size=(6, 16))
    model = build_phase1_model("classical_moe", seed=2)
    ex = model.experts
    gates = softmax(x @ model.router.kernel.numpy() + model.router.bias.numpy())
    outs = []
    for e in range(3):
        h = np.maximum(x @ ex.kernel1.numpy()[e] + ex.bias1.numpy()[e], 0.0)
        outs.append(h @ ex.kernel2.numpy()[e] + ex.bias2.numpy()[e])
    mixed = np.einsum("be,bew->bw", gates, np.stack(outs, axis=1))
    want = mixed @ model.head.kernel.numpy() + model.head.bias.numpy()
    np.testing.assert_allclose(model(tf.constant(x, tf.float32)).numpy(), want, atol=1e-5)


@pytest.mark.parametrize(
    "spec,counts",
    [
        (Phase1Spec("qmoe"), (51, 72, 10)),
        (Phase1Spec("qnn"), (0, 24, 10)),
        (Phase1Spec("classical_moe"), (51, 516, 10)),
        (Phase1Spec("qmoe", n_features=8, n_qubits=3, n_layers=1, n_experts=2, n_classes=3), (18, 18, 12)),
        (Phase1Spec("qnn", n_features=5, n_qubits=3, n_layers=4), (0, 36, 8)),
        (Phase1Spec("classical_moe", n_features=8, n_qubits=3, n_experts=2, hidden=5), (18, 2 * (40 + 5 + 15 + 3), 8)),
    ],
)
def test_parameter_counts(spec, counts):
    analytic = spec.param_counts()
    assert analytic == Phase1Params(*counts)
    built = build_phase1_model(spec.kind, seed=0, **{k: v for k, v in vars(spec).items() if k != "kind"})
    assert built.param_counts() == analytic
    assert int(sum(np.prod(v.shape) for v in built.trainable_variables)) == analytic.total
    assert {Phase1Spec(k).param_counts().total for k in PHASE1_MODELS} == {133, 34, 577}


def test_initialisation_is_the_authors_and_seeded():
    a, b, c = (build_phase1_model("qmoe", seed=s) for s in (0, 0, 1))
    for va, vb, vc in zip(a.trainable_variables, b.trainable_variables, c.trainable_variables):
        assert np.array_equal(va.numpy(), vb.numpy()) and not np.array_equal(va.numpy(), vc.numpy())
    theta = build_phase1_model("qmoe", seed=0, n_experts=40).experts.theta.numpy().ravel()  # 960 N(0, 1) draws
    assert theta.min() < -2 and theta.max() > 2 and abs(theta.mean()) < 0.15 and 0.9 < theta.std() < 1.1
    model = build_phase1_model("classical_moe", seed=0)
    bounds = {"router": 1 / 4, "head": 1 / 2}  # 1/sqrt(fan_in): fan-ins 16 and 4
    for name, bound in bounds.items():
        for v in getattr(model, name).trainable_variables:
            assert np.abs(v.numpy()).max() <= bound
    assert np.abs(model.experts.kernel2.numpy()).max() <= 1 / np.sqrt(8)


@pytest.mark.parametrize("simulator", PHASE1_SIMULATORS)
def test_gradient_equals_the_parameter_shift_rule(simulator):
    """d<Z_i>/d theta of the experts (TFQ's adjoint; the state vector's autodiff) against the exact shift
    rule on cirq (each weight enters once)."""
    layer = AmplitudeQuantumExperts(n_experts=2, n_qubits=3, n_layers=2, seed=1, simulator=simulator)
    x = awkward_inputs(8, seed=2)[:3]
    with tf.GradientTape() as tape:
        out = layer(tf.constant(x, tf.float32))
        loss = tf.reduce_sum(out * tf.constant(np.arange(1, 4, dtype=np.float32)))  # sum_i (i + 1) <Z_i>
    grad = tape.gradient(loss, layer.theta).numpy()
    rc = amplitude_expert_circuit(3, 2)
    angles = amplitude_angles(tf.constant(x), 3).numpy()
    order = {q: i for i, q in enumerate(rc.qubits)}

    def weighted(weights):
        total = 0.0
        for a in angles:
            state = simulate_state(rc.circuit, rc.qubits, rc.symbols, np.concatenate([a, weights.ravel()]))
            total += sum(
                (i + 1) * cirq.Z(q).expectation_from_state_vector(state, order).real for i, q in enumerate(rc.qubits)
            )
        return total

    w = layer.theta.numpy().astype(np.float64)
    for e, index in [(0, (0, 0, 0)), (0, (1, 2, 1)), (1, (0, 1, 2)), (1, (1, 0, 1))]:
        plus, minus = w[e].copy(), w[e].copy()
        plus[index] += np.pi / 2
        minus[index] -= np.pi / 2
        assert grad[e][index] == pytest.approx((weighted(plus) - weighted(minus)) / 2, abs=1e-4)


def test_bad_specs_name_the_value():
    with pytest.raises(ConfigError, match="phase 1 model 'vqc'"):
        Phase1Spec("vqc")
    with pytest.raises(ConfigError, match=r"17 features do not fit .* 4 qubits .* 16"):
        Phase1Spec("qnn", n_features=17)
    assert Phase1Spec("classical_moe", n_features=17).param_counts().router == 17 * 3 + 3
    with pytest.raises(ConfigError, match="n_layers must be a positive integer"):
        Phase1Spec("qmoe", n_layers=0)
    with pytest.raises(ConfigError, match="unknown simulator 'qsim'; allowed: statevector, tfq"):
        Phase1Spec("qnn", simulator="qsim")


def test_both_engines_train_alike():
    """Two epochs of the QMoE on either engine: the same losses to float32 rounding."""
    from qmoe_tfq.training.train import fit_model

    data = load_dataset(DataSpec(name="synthetic16", n_samples=80, test_size=0.2, scaling="unit_norm", draw_seed=42), 0)
    losses = [
        fit_model(
            build_phase1_model("qmoe", seed=0, simulator=sim),
            data.x_train,
            data.y_train,
            lr=0.05,
            batch_size=32,
            max_epochs=2,
            seed=0,
        ).losses
        for sim in PHASE1_SIMULATORS
    ]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", PHASE1_MODELS)
def test_training_lowers_the_loss(kind):
    """A few epochs of the authors' recipe (Adam, mean cross-entropy, batch 32) on 64 synthetic16 examples."""
    data = load_dataset(DataSpec(name="synthetic16", n_samples=80, test_size=0.2, scaling="unit_norm", draw_seed=42), 0)
    tf.keras.utils.set_random_seed(0)
    model = build_phase1_model(kind, seed=0)
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(data.x_train, data.y_train, batch_size=32, epochs=5, shuffle=True, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.02, losses
    assert all(not np.allclose(b, v.numpy()) for b, v in zip(before, model.trainable_variables))  # all parts learn

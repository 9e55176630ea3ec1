"""The authors' Phase 1 models as a stack (``qmoe_tfq.training.stack._phase1``): the weights the Keras model
starts from, each run's bits independent of the runs beside it, and the Keras loop's numbers."""

import numpy as np
import pytest
import tensorflow as tf
from lanes import assert_same_bits_in_lane_0_and_15

from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.estimators import Phase1Classifier, fit_many
from qmoe_tfq.models.phase1 import Phase1Model
from qmoe_tfq.specs.phase1 import Phase1Spec
from qmoe_tfq.training.stack import LANES, fit_stack, new_stack, reusable_stack, supports
from qmoe_tfq.training.stack._phase1 import StackedPhase1, named_initial_weights
from qmoe_tfq.training.train import fit_model

SPECS = [
    Phase1Spec("qmoe", n_features=4, n_qubits=2, n_layers=1, n_experts=2),
    Phase1Spec("qnn", n_features=4, n_qubits=2, n_layers=2),
    Phase1Spec("classical_moe", n_features=4, n_qubits=2, hidden=3, n_experts=2),
]


@pytest.fixture(scope="module")
def data():
    ds = [load_dataset(DataSpec("synthetic16", n_samples=60, scaling="unit_norm", draw_seed=s), s) for s in range(18)]
    return np.stack([d.x_train[:, :4] for d in ds]), np.stack([d.y_train for d in ds])


@pytest.mark.parametrize("kind", ["qmoe", "qnn", "classical_moe"])
def test_initial_weights_are_the_keras_models(kind):
    spec = Phase1Spec(kind)
    for seed in (0, 7):
        ours = [w for _, w in named_initial_weights(spec, seed)]
        keras = Phase1Model(spec, seed).get_weights()
        assert len(ours) == len(keras) and all(np.array_equal(a, b) for a, b in zip(ours, keras))


def _train(spec, x, y, members, epochs=3, reuse=False):
    """A new stack, or (``reuse``) this thread's traced stack of the same shapes, as the runner reuses it."""
    st, trainer = reusable_stack(spec, 4, 2, members, 8) if reuse else (StackedPhase1(spec, 4, 2, members), None)
    lr = np.array([0.01 + 0.02 * (s % 3) for s in members])
    h = fit_stack(
        st,
        x[members],
        y[members],
        lr=lr,
        seeds=members,
        batch_size=8,
        max_epochs=epochs,
        validation=(x[members][:, :10], y[members][:, :10]),
        trainer=trainer,
    )
    return st, h


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_a_run_gives_the_same_bits_alone_or_in_any_stack(spec, data):
    x, y = data
    alone = {}
    for s, reuse in ((2, False), (9, True)):  # a new stack, then the traced one reused (as the runner does)
        st1, h1 = _train(spec, x, y, [s], reuse=reuse)
        alone[s] = (st1.member_weights(0), h1, st1.member_output(0, x[0]))
    for members in ([2, 9], list(range(18))[::-1]):
        st, h = _train(spec, x, y, members, reuse=True)
        assert st.lanes % LANES == 0 and st.lanes >= len(members)
        for s in (2, 9):
            i = members.index(s)
            w1, h1, out1 = alone[s]
            assert all(np.array_equal(a, b) for a, b in zip(st.member_weights(i), w1))
            assert h.losses[i] == h1.losses[0] and h.validation_scores[i] == h1.validation_scores[0]
            np.testing.assert_array_equal(st.member_output(i, x[0]), out1)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_stack_matches_the_keras_training_loop(spec, data):
    x, y = data
    members = [4, 11]
    st, h = _train(spec, x, y, members)
    for i, s in enumerate(members):
        tf.random.set_seed(s)
        model = Phase1Model(spec, s)
        ref = fit_model(
            model,
            x[s],
            y[s],
            lr=0.01 + 0.02 * (s % 3),
            batch_size=8,
            max_epochs=3,
            seed=s,
            validation=(x[s][:10], y[s][:10]),
        )
        np.testing.assert_allclose(h.losses[i], ref.losses, rtol=2e-5)
        assert h.best_epoch[i] == ref.best_epoch
        np.testing.assert_allclose(st.member_output(i, x[0]), model(tf.constant(x[0])).numpy(), atol=1e-4)
        np.testing.assert_allclose(
            st.member_output(i, x[0], "gates"), model.gates(tf.constant(x[0])).numpy(), atol=1e-5
        )


def test_runs_of_one_model_share_a_stack_and_tfq_trains_alone(data):
    x, y = data
    ests = [
        Phase1Classifier("qmoe", n_layers=1, n_experts=2, lr=lr, max_epochs=2, random_state=s)
        for lr, s in ((0.01, 1), (0.05, 2))
    ]
    fit_many(ests, [(x[1], y[1]), (x[2], y[2])])
    assert ests[0]._stack is ests[1]._stack and isinstance(ests[0]._stack, StackedPhase1)
    assert supports(Phase1Spec("classical_moe", simulator="tfq")) and not supports(Phase1Spec(simulator="tfq"))
    tfq = Phase1Classifier("qmoe", n_layers=1, n_experts=2, max_epochs=1, simulator="tfq", random_state=0)
    tfq.fit(x[0], y[0])
    assert tfq.__dict__.get("_stack") is None and tfq._predictor() == (None, 0)


def test_bad_stacks_are_refused():
    with pytest.raises(ValueError, match="statevector"):
        StackedPhase1(Phase1Spec(simulator="tfq"), 16, 2, [0])
    with pytest.raises(ValueError, match="noiseless"):
        new_stack(Phase1Spec(), 16, 2, [0], noise=[0.1])
    with pytest.raises(ValueError, match="at least one member"):
        new_stack(Phase1Spec(), 16, 2, [])


@pytest.mark.parametrize(
    "spec",
    [
        Phase1Spec("qmoe", n_features=5, n_qubits=3, n_layers=1, n_experts=3, n_classes=10),
        Phase1Spec("qnn", n_features=5, n_qubits=3, n_layers=2, n_classes=10),
        Phase1Spec("classical_moe", n_features=5, n_qubits=3, hidden=3, n_experts=3, n_classes=10),
        # the fully quantum mixture (issue #23): a quantum router over the quantum experts, with and without noise
        Phase1Spec("qmoe", n_features=5, n_qubits=3, n_layers=1, n_experts=3, n_classes=10, router="amplitude"),
        Phase1Spec(
            "qmoe", n_features=5, n_qubits=3, n_layers=1, n_experts=3, n_classes=10, router="amplitude", noise=0.03
        ),
    ],
    ids=lambda s: f"{s.kind},router={s.router},noise={s.noise}",
)
def test_a_run_gives_the_same_bits_in_any_lane_with_ten_classes(spec):
    """Lane 0 and lane 15 of one 32-lane stack (24 members), 10 classes and 5 features: trailing sizes that are
    not multiples of the packet width, where a broadcast gradient could round a member's sums by its lane
    (``models.ops.broadcast_rows``; the MoE stack's version of this test is in test_stacked.py)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (30, 96, 5)).astype(np.float32)
    y = rng.integers(0, 10, (30, 96)).astype(np.int32)

    def train(members):
        st = StackedPhase1(spec, 5, 10, members)
        h = fit_stack(
            st, x[members], y[members], lr=np.full(len(members), 0.05), seeds=members, batch_size=32, max_epochs=2,
            validation=(x[members][:, :40], y[members][:, :40]),
        )  # fmt: skip
        return st, h

    assert_same_bits_in_lane_0_and_15(train)

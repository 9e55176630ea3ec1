"""The fully quantum mixture (#23, open question 4): a quantum router gating the Phase 1 quantum
experts; parameter counts, the stack against the Keras model, stacked bits, noise on every circuit."""

import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq import ConfigError
from qmoe_tfq.estimators import Phase1Classifier
from qmoe_tfq.models.fully_quantum import fully_quantum_counts
from qmoe_tfq.models.phase1 import Phase1Model
from qmoe_tfq.specs.phase1 import Phase1Spec
from qmoe_tfq.training.stack import StackedPhase1, fit_stack
from qmoe_tfq.training.stack._phase1 import named_initial_weights


def test_fully_quantum_parameter_counts():
    counts = fully_quantum_counts(16)
    # amplitude router on 4 qubits, 3 layers: 36 angles + adapter Dense(4 -> 3) 15 = 51, the authors'
    # linear router's 51; experts 3 x 2 x 4 x 3 = 72; head 10
    assert counts["fully_quantum"].router == 36 + 15 == 51
    assert counts["phase1_qmoe"].router == 16 * 3 + 3 == 51
    assert counts["fully_quantum"].experts == counts["phase1_qmoe"].experts == 72
    assert counts["fully_quantum"].total == counts["phase1_qmoe"].total == 133
    assert counts["classical_moe"].total == 577
    moons = Phase1Spec(kind="qmoe", n_features=2, n_qubits=2, router="quantum", router_layers=3, n_experts=2)
    assert moons.param_counts().router == 18 + 6  # the authors' Model B router
    for spec in (
        Phase1Spec(kind="qmoe", router="amplitude"),
        moons,
        Phase1Spec(kind="qmoe", router="amplitude", noise=0.02),
    ):
        assert Phase1Model(spec, seed=0).param_counts() == spec.param_counts()


def test_bad_fully_quantum_options_are_refused():
    with pytest.raises(ConfigError, match="phase 1 router"):
        Phase1Spec(router="mlp")
    with pytest.raises(ConfigError, match="no router"):
        Phase1Spec(kind="qnn", router="amplitude")
    with pytest.raises(ConfigError, match="simulator='statevector'"):
        Phase1Spec(router="amplitude", simulator="tfq")
    with pytest.raises(ConfigError, match="noise"):
        Phase1Spec(noise=1.5)


SPECS = [
    Phase1Spec(kind="qmoe", n_features=6, n_qubits=3, router="amplitude"),
    Phase1Spec(kind="qmoe", n_features=6, n_qubits=3, router="amplitude", noise=0.03),
    Phase1Spec(kind="qmoe", n_features=2, n_qubits=2, router="quantum", n_experts=2, noise=0.02),
    Phase1Spec(kind="qmoe", n_features=6, n_qubits=3, noise=0.03),  # the authors' Phase 1, noisy experts
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.router}-{s.noise}-{s.n_features}")
def test_a_fully_quantum_run_is_the_same_alone_in_a_stack_and_in_keras(spec):
    rng = np.random.default_rng(0)
    d = spec.n_features
    x = rng.uniform(0, 1, (18, 50, d)).astype(np.float32)
    y = (x[..., 0] > x[..., 1]).astype(np.int32)
    for seed in (0, 4):
        ours = [w for _, w in named_initial_weights(spec, seed)]
        keras = Phase1Model(spec, seed).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(ours, keras, strict=True))

    def train(members):
        st = StackedPhase1(spec, d, 2, members)
        h = fit_stack(st, x[members], y[members], lr=np.full(len(members), 0.05), seeds=members, batch_size=16,
                      max_epochs=2)  # fmt: skip
        return st, h

    st1, h1 = train([5])
    members = list(range(18))[::-1]
    st, h = train(members)
    i = members.index(5)
    assert all(np.array_equal(a, b) for a, b in zip(st.member_weights(i), st1.member_weights(0)))
    assert h.losses[i] == h1.losses[0]
    model = Phase1Model(spec, 5)
    model.set_weights(st1.member_weights(0))
    np.testing.assert_allclose(st1.member_output(0, x[0]), model(tf.constant(x[0])).numpy(), atol=1e-4)
    # and the whole-batch path (more rows than 2^n: the experts' unitaries) agrees with short batches
    full = st1.member_output(0, x[0])
    np.testing.assert_allclose(np.concatenate([st1.member_output(0, x[0][i : i + 3]) for i in range(0, 50, 3)]),
                               full, atol=1e-5)  # fmt: skip


def test_noise_on_every_circuit_changes_the_experts_and_the_router():
    x = np.random.default_rng(1).uniform(0, 1, (30, 16)).astype(np.float32)
    clean = Phase1Model(Phase1Spec(kind="qmoe", router="amplitude"), seed=3)
    noisy = Phase1Model(Phase1Spec(kind="qmoe", router="amplitude", noise=0.05), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(clean.get_weights(), noisy.get_weights()))
    zc, zn = clean.experts(x).numpy(), noisy.experts(x).numpy()
    # the channel after the layers multiplies every <Z_i> by 1 - 4p/3, so |<Z_i>| <= 1 - 4p/3
    assert np.all(np.abs(zn) <= 1 - 4 * 0.05 / 3 + 1e-6) and not np.allclose(zn, zc, atol=1e-3)
    assert not np.allclose(clean.gates(x).numpy(), noisy.gates(x).numpy())


def test_the_estimator_fits_a_fully_quantum_mixture():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16))
    y = (X[:, 0] > 0).astype(int)
    clf = Phase1Classifier("qmoe", router="amplitude", noise=0.01, max_epochs=2, lr=0.05, random_state=0).fit(X, y)
    assert clf.n_params_ == {"router": 51, "experts": 72, "head": 10, "total": 133}
    assert clf.predict(X).shape == (60,)

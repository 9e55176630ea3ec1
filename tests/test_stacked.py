"""Stacked training: many runs as one TensorFlow program, each giving exactly what it gives alone."""

import platform

import numpy as np
import pytest
from lanes import assert_same_bits_in_lane_0_and_15

from qmoe_tfq.core.errors import TrainingDiverged
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.estimators import QMoEClassifier, fit_many
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.training.stack import LANES, StackedMoE, fit_stack, initial_weights, reusable_stack, supports
from qmoe_tfq.training.stack._moe import named_initial_weights

SPECS = [
    ModelSpec(layers=2),
    ModelSpec(layers=1, readout="probabilities", ansatz="ry_cz"),
    ModelSpec(router="linear"),
    ModelSpec(router="mlp", hidden=5),
    ModelSpec(router="fourier"),
    ModelSpec(router="fourier_rank"),
    ModelSpec(layers=2, frozen_circuit=True),
    ModelSpec(router="constant"),
]


@pytest.fixture(scope="module")
def data():
    ds = [load_dataset(DataSpec(n_samples=120), s) for s in range(20)]
    return np.stack([d.x_train for d in ds]), np.stack([d.y_train for d in ds])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label())
def test_initial_weights_are_build_models(spec):
    for seed in (0, 7):
        ours = initial_weights(spec, 2, 2, seed)
        keras = build_model(spec, 2, 2, seed).get_weights()
        assert len(ours) == len(keras)
        assert all(np.array_equal(a, b) for a, b in zip(ours, keras))


def _train(spec, x, y, members, reuse=False):
    """Train ``members`` as one stack: a new one, or (``reuse``) the one this thread traced before for
    the same shapes, as the runner does (valid only until the next reuse: copy out what you keep)."""
    seeds = list(members)
    st, trainer = reusable_stack(spec, 2, 2, seeds, 16) if reuse else (StackedMoE(spec, 2, 2, seeds), None)
    lr = np.array([0.02 + 0.01 * (s % 5) for s in seeds])
    h = fit_stack(
        st,
        x[seeds],
        y[seeds],
        lr=lr,
        seeds=seeds,
        batch_size=16,
        max_epochs=3,
        validation=(x[seeds][:, :20], y[seeds][:, :20]),
        trainer=trainer,
    )
    return st, h


@pytest.mark.parametrize("spec", SPECS[:7], ids=lambda s: s.label())
def test_a_run_gives_the_same_bits_alone_or_in_any_stack(spec, data):
    """Seed 3 alone in a new stack; seed 11 alone and every larger stack in the traced stack of its
    shape, reused as the runner reuses it (so reuse is held to the same bits too)."""
    x, y = data
    alone = {}
    for s, reuse in ((3, False), (11, True)):
        st1, h1 = _train(spec, x, y, [s], reuse=reuse)
        alone[s] = (st1.member_weights(0), h1)
    for members in ([3, 11], [11, 0, 1, 2, 3], list(range(20))[::-1]):
        st, h = _train(spec, x, y, members, reuse=True)
        assert st.lanes % LANES == 0 and st.lanes >= len(members)
        for s in (3, 11):
            i = members.index(s)
            w1, h1 = alone[s]
            assert all(np.array_equal(a, b) for a, b in zip(st.member_weights(i), w1))
            assert h.losses[i] == h1.losses[0] and h.validation_scores[i] == h1.validation_scores[0]
            assert h.best_epoch[i] == h1.best_epoch[0]


def test_stack_matches_the_keras_training_loop(data):
    from qmoe_tfq.training.train import fit_model

    x, y = data
    for spec in SPECS[:7]:
        st, h = _train(spec, x, y, [4, 9])
        for i, s in enumerate([4, 9]):
            import tensorflow as tf

            tf.random.set_seed(s)
            model = build_model(spec, 2, 2, s)
            ref = fit_model(
                model,
                x[s],
                y[s],
                lr=0.02 + 0.01 * (s % 5),
                batch_size=16,
                max_epochs=3,
                seed=s,
                validation=(x[s][:20], y[s][:20]),
            )
            np.testing.assert_allclose(h.losses[i], ref.losses, rtol=2e-5, err_msg=spec.label())
            assert h.best_epoch[i] == ref.best_epoch
            # Outputs, not weights: the last layer's RZ angles commute with the <Z> readout, so their
            # gradient is zero up to rounding, which Adam's normalisation turns into arbitrary steps.
            np.testing.assert_allclose(st.member_output(i, x[0]), model(x[0]).numpy(), atol=1e-4, err_msg=spec.label())


def test_fit_many_groups_runs_and_equals_fitting_each_alone():
    d = load_dataset(DataSpec(n_samples=120), 0)
    make = lambda lr, seed, scaling: QMoEClassifier(  # noqa: E731
        "mlp",
        hidden=4,
        lr=lr,
        max_epochs=3,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=None,
        input_scaling=scaling,
        random_state=seed,
    )
    configs = [(0.01, 1, "none"), (0.03, 2, "standard"), (0.1, 3, "none")]
    together = fit_many([make(*c) for c in configs], [(d.x_train, d.y_train)] * 3)
    for est, c in zip(together, configs):
        alone = make(*c).fit(d.x_train, d.y_train)
        assert est.loss_curve_ == alone.loss_curve_ and est.best_epoch_ == alone.best_epoch_
        assert np.array_equal(est.predict_proba(d.x_test), alone.predict_proba(d.x_test))
    assert together[0]._stack is together[1]._stack


def test_a_diverging_member_is_flagged_and_the_others_finish():
    d = load_dataset(DataSpec(n_samples=120), 0)
    ests = [QMoEClassifier("linear", lr=lr, max_epochs=4, random_state=0) for lr in (0.05, 3e38)]
    fit_many(ests, [(d.x_train, d.y_train)] * 2)
    assert not ests[0].diverged_ and ests[1].diverged_
    assert np.isfinite(ests[0].loss_curve_).all() and ests[0].n_epochs_ == 4
    with pytest.raises(TrainingDiverged, match="training diverged"):
        QMoEClassifier("linear", lr=3e38, max_epochs=4, random_state=0).fit(d.x_train, d.y_train)


def test_sampled_engines_are_not_stacked():
    assert not supports(ModelSpec(noise=0.01, engine="tfq_sampled"))
    assert supports(ModelSpec(noise=0.01)) and supports(ModelSpec(router="mlp"))


NOISY = ModelSpec(layers=2, noise=0.05, noise_placement="every_gate")


def test_noisy_runs_at_several_noise_levels_share_a_stack(data):
    """Members under different depolarizing probabilities train in one stack (the probability is an
    input of the density-matrix engine), each with the bits it gets alone, and as the Keras loop with
    a constant-probability engine does, to float rounding."""
    import dataclasses

    from qmoe_tfq.training.train import fit_model

    x, y = data
    seeds, noise = [2, 5, 8], [0.01, 0.05, 0.2]
    lr = np.array([0.03, 0.05, 0.1])

    def train(members, eps, rates, reuse=False):
        if reuse:  # the traced stack of these shapes, reused as the runner reuses it
            st, trainer = reusable_stack(NOISY, 2, 2, members, 16, noise=eps)
        else:
            st, trainer = StackedMoE(NOISY, 2, 2, members, noise=eps), None
        h = fit_stack(st, x[members], y[members], lr=rates, seeds=members, batch_size=16, max_epochs=2, trainer=trainer)
        return st, h

    st, h = train(seeds, noise, lr)
    for i, (s, eps) in enumerate(zip(seeds, noise)):
        alone, h1 = train([s], [eps], lr[i : i + 1], reuse=i > 0)
        assert all(np.array_equal(a, b) for a, b in zip(st.member_weights(i), alone.member_weights(0)))
        assert h.losses[i] == h1.losses[0]
        spec = dataclasses.replace(NOISY, noise=eps)
        model = build_model(spec, 2, 2, s)
        ref = fit_model(model, x[s], y[s], lr=float(lr[i]), batch_size=16, max_epochs=2, seed=s)
        np.testing.assert_allclose(h.losses[i], ref.losses, rtol=1e-4)
        np.testing.assert_allclose(st.member_output(i, x[0]), model(x[0]).numpy(), atol=1e-4)


def test_a_frozen_circuit_keeps_its_angles(data):
    x, y = data
    spec = ModelSpec(layers=2, frozen_circuit=True)
    st, _ = _train(spec, x, y, [0, 1])
    for i, seed in enumerate([0, 1]):
        start = initial_weights(spec, 2, 2, seed)
        trained = st.member_weights(i)
        assert np.array_equal(trained[2], start[2])  # the angles (after the adapter, as Keras orders them)
        assert not np.array_equal(trained[0], start[0])


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(layers=2, init="glorot"),
        ModelSpec(router="mlp", hidden=5, init="glorot"),
        ModelSpec(router="fourier_rank", init="glorot"),
    ],
    ids=lambda s: s.label(),
)
def test_glorot_initial_weights_are_build_models_and_differ_from_pytorch(spec):
    """Issue #21's init run choice: Glorot weights (zero biases) from the same seeds, in the stack and in
    the unstacked model alike; the default stays PyTorch's."""
    from dataclasses import replace

    from qmoe_tfq.models.initializers import INITS

    assert INITS == ("pytorch", "glorot") and ModelSpec().init == "pytorch"
    ours = initial_weights(spec, 2, 2, 3)
    assert all(np.array_equal(a, b) for a, b in zip(ours, build_model(spec, 2, 2, 3).get_weights()))
    torch = initial_weights(replace(spec, init="pytorch"), 2, 2, 3)
    assert any(not np.array_equal(a, b) for a, b in zip(ours, torch))
    named = dict(named_initial_weights(spec, 2, 2, 3))
    assert not named["experts_bias"].any() and np.abs(named["experts_kernel"]).max() <= np.sqrt(6 / 4)


def test_init_enters_the_cache_key_only_when_given():
    from qmoe_tfq.experiments.registry import qmoe

    assert "init" not in qmoe(router="linear").config()["params"]
    assert qmoe(router="linear", init="glorot").config()["params"]["init"] == "glorot"


@pytest.mark.parametrize("router, n_features", [("quantum", 3), ("quantum", 4), ("linear", 4)])
def test_a_members_outputs_do_not_depend_on_row_order(router, n_features):
    """Predictions go through in a canonical order (``Stack.member_output``): any permutation of the rows,
    across several chunks and with duplicated rows, gives bit-identical outputs, duplicates alike. (On an
    AVX2 machine, float32 cos and softmax rounded a row at another batch position differently.)"""
    from qmoe_tfq.training.stack._base import PREDICT_ROWS

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2 * PREDICT_ROWS + 7, n_features)).astype(np.float32)
    x = np.concatenate([x, x[:5]])
    y = rng.integers(0, 2, len(x))
    est = QMoEClassifier(router=router, layers=1, max_epochs=1).fit(x[:40], y[:40])
    base = est.predict_proba(x)
    assert np.array_equal(base[-5:], base[:5])
    for seed in range(3):
        idx = np.random.default_rng(seed).permutation(len(x))
        assert np.array_equal(est.predict_proba(x[idx]), base[idx])


@pytest.mark.parametrize(
    "params",
    [
        {"router": "quantum", "layers": 2},
        {"router": "quantum", "layers": 1, "noise": 0.05},
        {"router": "quantum", "layers": 1, "readout": "probabilities"},
        {"router": "mlp", "hidden": 4},
        {"router": "fourier"},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()),
)
def test_compiled_member_predictions_give_the_op_by_op_bits(params, monkeypatch):
    """``Stack.member_output`` runs a compiled function (a run's predictions had cost most of its time op by
    op); its logits and gates are bit-identical to the op-by-op path's, so cached results stay valid."""
    from qmoe_tfq.training.stack import _base

    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 3)).astype(np.float32)
    y = rng.integers(0, 3, len(x))
    est = QMoEClassifier(max_epochs=2, **params).fit(x, y)
    stack, lane = est._predictor()
    assert stack is not None
    compiled = [stack.member_output(lane, x, what) for what in ("logits", "gates")]
    monkeypatch.setattr(_base, "EAGER_PREDICTION", True)
    eager = [stack.member_output(lane, x, what) for what in ("logits", "gates")]
    for a, b in zip(compiled, eager):
        assert a.dtype == b.dtype and np.array_equal(a, b)


LANE_SPECS = [
    SPECS[0],
    *SPECS[2:6],
    ModelSpec(router="mlp", hidden=8),
    # the high-dimensional routers (issue #23): amplitude (noiseless and noisy), re-uploading, quadratic twins
    ModelSpec(router="amplitude", layers=2),
    ModelSpec(router="amplitude", layers=1, noise=0.03),
    ModelSpec(router="reupload", layers=2),
    ModelSpec(router="quadratic"),
    ModelSpec(router="quadratic_rank", hidden=2),
]


@pytest.mark.parametrize("spec", LANE_SPECS, ids=lambda s: s.label())
def test_a_run_gives_the_same_bits_in_any_lane_with_ten_classes(spec):
    """Lane 0 and lane 15 of one 24-lane stack (24 members): with 10 classes and 5 features the
    trailing sizes are not multiples of the packet width, where TensorFlow's own broadcast gradients
    (``x + bias[:, None]``, ``tf.tile``) rounded a member's sums by its lane (``models.ops.broadcast_rows``)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 120, 5)).astype(np.float32)
    y = rng.integers(0, 10, (30, 120)).astype(np.int32)

    def train(members):
        st = StackedMoE(spec, 5, 10, members)
        h = fit_stack(
            st,
            x[members],
            y[members],
            lr=np.full(len(members), 0.1),
            seeds=members,
            batch_size=32,
            max_epochs=2,
            validation=(x[members][:, :50], y[members][:, :50]),
        )
        return st, h

    assert_same_bits_in_lane_0_and_15(train)


@pytest.fixture(scope="module")
def moons32():
    ds = [load_dataset(DataSpec(n_samples=120), s) for s in range(32)]
    return np.stack([d.x_train for d in ds]), np.stack([d.y_train for d in ds])


def _seed_5_in_last_lane(spec, x, y, n_members):
    """Seed 5's first-epoch loss and weights, last of ``n_members`` (alone when 1)."""
    members = [m for m in range(32) if m != 5][: n_members - 1] + [5]
    st = StackedMoE(spec, 2, 2, members)
    h = fit_stack(st, x[members], y[members], lr=np.full(len(members), 0.1), seeds=members, batch_size=32, max_epochs=1)
    return st.lanes, h.losses[-1], [w.copy() for w in st.member_weights(len(members) - 1)]


def _same(a, b) -> bool:
    return a[1] == b[1] and all(np.array_equal(p, q) for p, q in zip(a[2], b[2], strict=True))


@pytest.mark.parametrize("spec", [ModelSpec(layers=2), ModelSpec(layers=6)], ids=lambda s: s.label())
def test_a_quantum_router_in_the_last_lane_gives_its_bits_alone(spec, moons32):
    """The last lane of a full 16-lane and 32-lane stack: the same bits as alone."""
    alone = _seed_5_in_last_lane(spec, *moons32, 1)
    for n, lanes in ((16, 16), (32, 32)):
        last = _seed_5_in_last_lane(spec, *moons32, n)
        assert last[0] == lanes and _same(last, alone), f"last of {n}"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="TensorFlow's AVX kernels (x86-64) round this way")
def test_why_lanes_are_16_not_8(moons32, monkeypatch):
    """The check above can fail: with 8-lane blocks (one AVX packet) the quantum router's last lane of an
    8-lane stack trains to other bits than alone, so ``training.lanes.LANES`` stays 16."""
    from qmoe_tfq.training import lanes

    monkeypatch.setattr(lanes, "LANES", 8)
    alone = _seed_5_in_last_lane(ModelSpec(layers=2), *moons32, 1)
    last = _seed_5_in_last_lane(ModelSpec(layers=2), *moons32, 8)
    assert last[0] == alone[0] == 8 and not _same(last, alone)

"""The device study's machinery (issue #22): compiled = abstract circuit, the exact engine against cirq on
every channel the calibrated noise model uses, seeded shots, readout mitigation, offline calibrations,
and the Q1 verdict rule on constructed data."""

from __future__ import annotations

import socket

import cirq
import numpy as np
import pytest

from qmoe_tfq.circuits import device as dev
from qmoe_tfq.circuits.router import router_circuit
from qmoe_tfq.models import device_eval as de
from qmoe_tfq.sim import heisenberg as H


def _weights(rc, seed=0):
    return np.random.default_rng(seed).uniform(0, 2 * np.pi, len(rc.weight_symbols))


@pytest.mark.parametrize("name", dev.PROCESSORS)
@pytest.mark.parametrize("n", [2, 4])
def test_compiled_circuit_equals_the_abstract_one(name, n):
    rc = router_circuit(n, n, 3)
    w = _weights(rc)
    c = dev.compile_router(rc, w, name)
    assert set(c.placed) == set(c.physical) == set(c.readout)
    graph = dev.processor(name).graph
    for op in c.circuit.all_operations():
        assert len(op.qubits) == 1 or graph.has_edge(*op.qubits), f"{op} is not on a coupler"
        assert len(op.qubits) == 1 or isinstance(op.gate, cirq.ISwapPowGate) and abs(op.gate.exponent) == 0.5
    xs = np.random.default_rng(1).uniform(0, np.pi, (3, n))
    assert dev.equivalence_error(rc, w, c, xs) < 1e-6


@pytest.mark.parametrize("name", dev.PROCESSORS)
def test_exact_engine_matches_cirq_on_the_calibrated_noisy_circuit(name):
    rc = router_circuit(3, 3, 2)
    c = dev.compile_router(rc, _weights(rc, 2), name)
    noisy = dev.noisy_circuit(c)
    kinds = {type(op.untagged.gate).__name__ for op in noisy.all_operations()}
    # every channel the calibrated model uses is exercised here
    assert {"DepolarizingChannel", "KrausChannel", "PhasedFSimGate", "ISwapPowGate", "PhasedXZGate"} <= kinds
    qs = sorted(c.placed)
    coef = H.fourier_coefficients(noisy, qs, [qs.index(q) for q in c.readout], dev.EMBEDDING_TAG)
    for x in np.random.default_rng(3).uniform(0, np.pi, (2, 3)):
        xq = np.zeros(len(qs))
        for i, p in enumerate(c.physical):
            xq[qs.index(p)] = x[i]
        assert np.abs(H.evaluate(coef, xq[None])[0] - de.dm_readouts(noisy, c, x)).max() < 1e-5


def test_ptm_of_each_channel_matches_cirq_on_random_states():
    rng = np.random.default_rng(0)
    a, b = cirq.LineQubit.range(2)
    ops = [
        cirq.depolarize(0.03).on(a),
        cirq.depolarize(0.02, n_qubits=2).on(a, b),
        cirq.amplitude_damp(0.1).on(a),
        cirq.phase_damp(0.07).on(b),
        cirq.generalized_amplitude_damp(0.7, 0.05).on(a),
        cirq.PhasedFSimGate(theta=0.01, phi=0.1).on(a, b),
        (cirq.ISWAP**0.5).on(a, b),
    ]
    basis = H.pauli_basis(2)
    for op in ops:
        psi = rng.normal(size=4) + 1j * rng.normal(size=4)
        psi /= np.linalg.norm(psi)
        rho = np.outer(psi, psi.conj())
        out = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
            cirq.Circuit(op), initial_state=rho, qubit_order=[a, b]
        )
        r_in = np.real(np.einsum("aij,ji->a", basis, rho))
        r_out = np.real(np.einsum("aij,ji->a", basis, out.final_density_matrix))
        t = H.ptm(op) if len(op.qubits) == 2 else np.kron(H.ptm(op), np.eye(4)) if op.qubits[0] == a else None
        if t is None:
            t = np.kron(np.eye(4), H.ptm(op))
        assert np.abs(t @ r_in - r_out).max() < 1e-6, op


def test_readout_affine_is_the_noise_models_measurement_channel():
    """cirq_google models readout error as a channel before the measurement; on <Z> it is our affine map."""
    name = "rainbow"
    q = dev.placement(name, 2)[0]
    circuit = cirq.Circuit(cirq.measure(q))
    noisy = cirq.Circuit(dev.processor(name).noise_model.noisy_moments(circuit.moments, [q]))
    channels = [op for op in noisy.all_operations() if not cirq.is_measurement(op)]
    t = np.eye(4)
    for op in channels:
        t = H.ptm(op) @ t
    slope, offset = dev.readout_affine(name, (q,))
    readout = [op for op in channels if isinstance(op.untagged.gate, cirq.GeneralizedAmplitudeDampingChannel)]
    assert readout, "no readout channel found"
    r = H.ptm(readout[0])
    assert abs(r[3, 3] - slope[0]) < 1e-9 and abs(r[3, 0] - offset[0]) < 1e-9


def test_shots_are_seeded_and_converge_to_the_exact_value():
    z = np.array([[0.3, -0.8, 0.95]])
    a = de.sample_z(z, 100, np.random.default_rng(5))
    b = de.sample_z(z, 100, np.random.default_rng(5))
    assert np.array_equal(a, b)
    for shots in (100, 10_000, 1_000_000):
        est = de.sample_z(np.repeat(z, 200, axis=0), shots, np.random.default_rng(7)).mean(axis=0)
        assert np.abs(est - z[0]).max() < 5 / np.sqrt(200 * shots)
    with pytest.raises(Exception, match="shots"):
        de.sample_z(z, 0, np.random.default_rng(0))


def test_readout_mitigation_recovers_a_known_confusion_matrix():
    errors = [(0.02, 0.06), (0.01, 0.04), (0.03, 0.08)]
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(8))
    m = np.ones((1, 1))
    for e0, e1 in errors:
        m = np.kron(m, de.confusion_matrix(e0, e1))
    assert np.allclose(de.mitigate_distribution(m @ p, errors), p, atol=1e-12)
    z = rng.uniform(-1, 1, (5, 3))
    slope = np.array([1 - e0 - e1 for e0, e1 in errors])
    offset = np.array([e1 - e0 for e0, e1 in errors])
    # the marginal <Z> of the confused distribution is the affine map, and mitigation inverts it
    assert np.allclose(de.mitigate(slope * z + offset, slope, offset), z)
    with pytest.raises(Exception, match="invertible"):
        de.mitigate(z, np.array([0.0, 1.0, 1.0]), offset)


def test_calibrations_load_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    dev.processor.cache_clear()
    try:
        for name in dev.PROCESSORS:
            proc = dev.processor(name)
            assert len(proc.properties.readout_errors) >= 23
            assert proc.graph.number_of_edges() > 0
    finally:
        dev.processor.cache_clear()
    with pytest.raises(Exception, match="processor"):
        dev.processor("sycamore-x")


def test_q1_rule_on_constructed_data():
    from qmoe_tfq.studies.device_noise_claims import device_advantage

    n = 150
    ref = np.full(12, 120.0) + np.arange(12) % 3
    up = ref + 10 + np.arange(12) % 4
    assert device_advantage(up, {"a": up - 1, "b": up - 2}, ref, n).state == "shown"
    assert device_advantage(ref - 1, {"a": up}, ref, n).state == "inconclusive"  # no noiseless advantage
    assert device_advantage(up, {"a": up, "b": ref - 8 - np.arange(12) % 3}, ref, n).state == "reversed"
    lost = ref + np.array([1.0, -1.0] * 6)  # no advantage left, ~11 points (> 1 pp of 150) below noiseless
    assert device_advantage(up, {"a": lost}, ref, n).state == "shown otherwise"
    small = ref + 2  # a small but consistent noiseless advantage
    unclear = ref + np.array([3.0, -1.0] * 6)  # neither above Model A nor beyond the margin below noiseless
    assert device_advantage(small, {"a": unclear}, ref, n).state == "inconclusive"


def test_q1_multiverse_recomputes_the_rule_over_margin_test_and_seeds():
    from qmoe_tfq.studies.device_noise_claims import q1_multiverse

    n = 150
    ref = np.full(20, 120.0) + np.arange(20) % 3
    up = ref + 10 + np.arange(20) % 4
    kept = q1_multiverse((up, {"a": up - 1, "b": up - 2}, ref, n), "reproduced")
    assert kept.share > 0.9 and kept.n_specs == 8 and not kept.fragile
    assert {(s["margin_pp"], s["test"], s["seeds"]) for s in kept.specs} == {
        (m, t, k) for m in (1, 2) for t in ("signed-rank", "paired t") for k in ("all", "first 10")
    }
    lost = ref + np.array([1.0, -1.0] * 10)  # no advantage left, ~7 pp below noiseless: lost at either margin
    m = q1_multiverse((up, {"a": lost}, ref, n), "not reproduced")
    assert m.headline == "not reproduced" and set(m.verdicts) == {"not reproduced"}
    assert [s.split(" [")[0] for s in m.not_run] == ["restarts"]


def test_tfq_reduction_is_exact_except_the_dropped_channels():
    """Each kept operation is translated exactly (unitaries up to phase, thermal Kraus -> GAD + PD by
    PTM); only the two-qubit depolarizing channels are dropped."""
    rc = router_circuit(2, 2, 2)
    c = dev.compile_router(rc, _weights(rc, 4), "weber")
    noisy = dev.noisy_circuit(c)
    reduced, translated, dropped = dev.tfq_reduction(noisy)
    assert set(dropped) == {"DepolarizingChannel (2 qubits)"}
    n2 = sum(
        1 for op in noisy.all_operations() if isinstance(op.gate, cirq.DepolarizingChannel) and len(op.qubits) == 2
    )
    assert dropped["DepolarizingChannel (2 qubits)"] == n2 > 0
    assert len(list(reduced.all_operations())) == len(list(noisy.all_operations())) - n2
    for op in translated.all_operations():
        if dev.EMBEDDING_TAG in op.tags:
            continue
        gate = op.gate
        assert cirq.has_unitary(op) or (isinstance(gate, dev.TFQ_CHANNELS) and len(op.qubits) == 1), op
        assert not isinstance(gate, (cirq.PhasedXZGate, cirq.PhasedFSimGate, cirq.KrausChannel)), op
    qs = sorted(c.placed)
    obs = [qs.index(q) for q in c.readout]
    a = H.fourier_coefficients(reduced, qs, obs, dev.EMBEDDING_TAG)
    b = H.fourier_coefficients(translated, qs, obs, dev.EMBEDDING_TAG)
    assert np.abs(a - b).max() < 1e-9
    full = H.fourier_coefficients(noisy, qs, obs, dev.EMBEDDING_TAG)
    assert np.abs(full - a).max() > 1e-6  # the dropped channels do act


def test_damping_channels_reject_a_channel_that_is_not_damping():
    q = cirq.LineQubit(0)
    assert dev.damping_channels(cirq.bit_flip(0.1).on(q)) is None
    kraus = cirq.KrausChannel(list(cirq.kraus(cirq.amplitude_damp(0.2)))).on(q)
    (gad, pd) = dev.damping_channels(kraus)
    assert abs(gad.gate.gamma - 0.2) < 1e-9 and abs(gad.gate.p - 1.0) < 1e-9 and abs(pd.gate.gamma) < 1e-9


@pytest.mark.parametrize("name", dev.PROCESSORS)
def test_tfq_trajectories_agree_with_the_exact_engine(name):
    rc = router_circuit(2, 2, 3)
    c = dev.compile_router(rc, _weights(rc, 5), name)
    x = np.random.default_rng(6).uniform(-np.pi, np.pi, (3, 2))
    rec = de.tfq_check(c, x, 2000)
    assert rec["within_tolerance"] and rec["max_deviation"] <= rec["tolerance"] == 5 / np.sqrt(2000)
    assert rec["dropped"] == "DepolarizingChannel (2 qubits)" and rec["kept_channels"] > 0
    assert rec["dropped_ops"] == c.two_qubit_gates() > 0  # one two-qubit depolarizing channel per sqrt-iSWAP


def test_tfq_check_fails_when_the_circuits_differ(monkeypatch):
    """The check can fail: with a wrong translation (every sqrt-iSWAP removed on the TFQ side) it does."""
    rc = router_circuit(2, 2, 3)
    c = dev.compile_router(rc, _weights(rc, 5), "rainbow")
    real = dev.tfq_reduction

    def broken(noisy):
        reduced, translated, dropped = real(noisy)
        keep = [op for op in translated.all_operations() if not isinstance(op.gate, cirq.ISwapPowGate)]
        return reduced, cirq.Circuit(keep), dropped

    monkeypatch.setattr(dev, "tfq_reduction", broken)
    x = np.random.default_rng(6).uniform(-np.pi, np.pi, (3, 2))
    assert not de.tfq_check(c, x, 2000)["within_tolerance"]


def test_trainable_engine_matches_the_exact_engine_and_cirq_and_has_gradients():
    import tensorflow as tf

    rc = router_circuit(2, 2, 3)
    c = dev.compile_router(rc, _weights(rc, 7), "rainbow")
    noisy = dev.noisy_circuit(c)
    qs = sorted(c.placed)
    obs = [qs.index(q) for q in c.readout]
    engine = H.TrainableCoefficients(noisy, qs, obs, dev.EMBEDDING_TAG, dev.is_native_slot)
    assert len(engine.initial) == sum(1 for op in c.circuit.all_operations() if dev.is_native_slot(op))
    ref = H.fourier_coefficients(noisy, qs, obs, dev.EMBEDDING_TAG)
    assert np.abs(engine.coefficients(engine.initial).numpy() - ref).max() < 1e-12
    moved = engine.initial + np.random.default_rng(8).normal(0, 0.2, engine.initial.shape)
    circuit = engine.with_exponents(noisy, moved, dev.is_native_slot)
    assert np.abs(engine.coefficients(moved).numpy() - ref).max() > 1e-3  # the angles matter
    x = np.random.default_rng(9).uniform(-np.pi, np.pi, (2, 2))
    z = H.evaluate(engine.coefficients(moved).numpy(), de.placed_inputs(c, x))
    for i in range(2):
        assert de.dm_check(circuit, c, x[i], z[i]) < 1e-5
    assert np.abs(H.features_tf(tf.constant(x)).numpy() - H.features(x)).max() < 1e-12
    e = tf.Variable(moved)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(engine.coefficients(e)[:, 1:])
    g = tape.gradient(out, e).numpy()
    step = np.zeros_like(moved)
    step[0, 0] = 1e-6
    numeric = (
        np.sum(engine.coefficients(moved + step).numpy()[:, 1:])
        - np.sum(engine.coefficients(moved - step).numpy()[:, 1:])
    ) / 2e-6
    assert abs(g[0, 0] - numeric) < 1e-5 and np.abs(g).max() > 1e-3


def test_fine_tuning_on_the_device_lowers_the_training_loss_and_restores_the_model():
    """On a small noiselessly trained mixture, device-aware fine-tuning lowers the loss it trains on and
    keeps the deployed model when no epoch beats it on validation; the model's weights are untouched."""
    import tensorflow as tf

    from qmoe_tfq.models.device_train import fine_tune_on_device
    from qmoe_tfq.models.mixture import build_model
    from qmoe_tfq.specs.config import ModelSpec

    spec = ModelSpec(router="quantum", n_qubits=2, layers=2, n_experts=2, readout="expectation")
    model = build_model(spec, 2, 2, seed=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, (120, 2)).astype(np.float32)
    y = (np.sin(x[:, 0]) * np.cos(x[:, 1]) > 0).astype(np.int32)
    model(tf.constant(x[:2]))
    before = [w.copy() for w in model.get_weights()]
    train, val = (x[:80], y[:80]), (x[80:100], y[80:100])
    rec = fine_tune_on_device(model, "rainbow", train, val, (x[100:], y[100:]), epochs=4, learning_rate=0.05)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    curve = rec["validation_loss_curve"]
    assert len(curve) == 5 and rec["best_epoch"] == int(np.argmin(curve))
    assert rec["tuned_validation_loss"] == pytest.approx(min(curve), abs=1e-9)
    assert rec["engine_check_deviation"] < 1e-12 and rec["dm_check_deviation"] < 1e-5
    # on the training split itself, fine-tuning from the deployed model lowers the loss
    on_train = fine_tune_on_device(model, "rainbow", train, train, train, epochs=4, learning_rate=0.05)
    assert on_train["tuned_validation_loss"] < on_train["deploy_validation_loss"] - 1e-3
    assert on_train["best_epoch"] > 0 and on_train["angle_change_max"] > 0


@pytest.mark.parametrize("name", dev.PROCESSORS)
def test_noise_model_acts_moment_by_moment(name):
    """``noisy_circuit`` builds the noisy circuit moment by moment; the calibrated noise model applied
    to the whole compiled circuit gives the same operations."""
    rc = router_circuit(4, 4, 2)
    c = dev.compile_router(rc, _weights(rc, 11), name)
    whole = cirq.Circuit(dev.processor(name).noise_model.noisy_moments(c.circuit.moments, sorted(c.placed)))
    ours = dev.noisy_circuit(c)

    def plain(moment):  # embedding gates carry a placeholder angle in ours (module docstring)
        return sorted(repr(("embedding", op.qubits) if dev.EMBEDDING_TAG in op.tags else op.untagged) for op in moment)

    assert len(whole) == len(ours) > len(c.circuit)
    assert [plain(m) for m in whole] == [plain(m) for m in ours]


def test_device_probes_validate_their_settings():
    from qmoe_tfq.experiments.device_probe import DeviceFineTune, DeviceSweep

    with pytest.raises(Exception, match="processor"):
        DeviceFineTune("sycamore-x")
    with pytest.raises(Exception, match="learning_rate"):
        DeviceFineTune(learning_rate=0.0)
    with pytest.raises(Exception, match="epochs"):
        DeviceFineTune(epochs=0)
    with pytest.raises(Exception, match="tfq_points"):
        DeviceSweep(tfq_points=-1)
    with pytest.raises(Exception, match="tfq_repetitions"):
        DeviceSweep(tfq_repetitions=0)


def test_fine_tune_table_on_constructed_records():
    import pandas as pd

    from qmoe_tfq.studies import device_noise as dn

    records = []
    for seed in range(8):
        rec = {"processor": "rainbow"}
        for split in ("validation", "test"):
            rec |= {
                f"noiseless_{split}_loss": 0.10 + 0.01 * seed,
                f"deploy_{split}_loss": 0.30 + 0.01 * seed,
                f"tuned_{split}_loss": 0.15 + 0.01 * seed,  # recovers 3/4 of the device's loss on every seed
                f"noiseless_{split}_accuracy": 0.99,
                f"deploy_{split}_accuracy": 0.95,
                f"tuned_{split}_accuracy": 0.95 - 0.01 * (seed % 2),  # never better, sometimes worse
            }
        records.append([rec])
    rows = pd.DataFrame({"experiment": "device/two_moons/quantum", "seed": range(8), "device_fine_tune": records})
    res = dn.Results(rows, {}, {}, [], quick=True)
    t = dn.fine_tune_table(res).set_index(["split", "metric"])
    loss = t.loc[("test", "loss")]
    assert loss["gap_recovered"] == pytest.approx(0.75) and loss["tuned_minus_deploy"] == pytest.approx(-0.15)
    assert loss["p_tuned_better"] < 0.01 < 0.99 < loss["p_tuned_worse"]
    acc = t.loc[("test", "accuracy")]
    assert acc["tuned_minus_deploy"] < 0 and acc["p_tuned_better"] > 0.5
    assert dn.tfq_table(res).empty


def test_q1_primary_follows_c1_onto_its_replication_seeds():
    """Q1's gate is C1's primary comparison: with C1's replication count in ``chosen`` the tuned quantum router
    is deployed on the replication seeds (the same model as C1's replication run) against the replication's
    Model A, and the Q1 rule is applied there."""
    import dataclasses

    import pandas as pd

    from qmoe_tfq.studies import device_noise as dn
    from qmoe_tfq.studies import two_moons as tm
    from qmoe_tfq.studies.device_noise_claims import _replication_outcome

    params = {"lr": 0.1, "input_scaling": "standard"}
    chosen = {tm.tuned_name("quantum"): params, tm.tuned_name("linear"): params}
    assert dn.replication_experiments(False, chosen) == []  # no replication count: nothing planned
    planned = dn.replication_experiments(False, {**chosen, tm.REPLICATION_PREFIX: {"seeds": 30}})
    device, linear = planned
    c1 = tm.replication_choices(30).evaluation("quantum", params)
    assert device.seeds == tm.replication_seeds(30) == linear.seeds
    assert (device.model, device.data) == (c1.model, c1.data) and device.name == "device/two_moons_replication/quantum"
    assert linear == tm.replication_choices(30).evaluation("linear", params)  # C1's own run, from the cache
    assert [type(p).__name__ for p in device.probes] == ["DeviceSweep"] and device.probes[0].shots == ()
    # the rule on constructed replication rows: a clear noiseless advantage kept on both processors
    seeds, n = tm.replication_seeds(12), 150
    ref = pd.Series(0.8 + 0.01 * (np.arange(12) % 3), index=list(seeds))
    rows = pd.DataFrame(
        {
            "experiment": "device/two_moons_replication/quantum",
            "seed": list(seeds),
            "n_test": n,
            "device_eval": [
                [{"processor": "noiseless", "setting": "exact", "noise": None, "shots": 0, "accuracy": a + 0.1}]
                + [
                    {"processor": p, "setting": "readout", "noise": None, "shots": 0, "accuracy": a + 0.09}
                    for p in dev.PROCESSORS
                ]  # fmt: skip
                for a in ref
            ],
        }
    )
    res = dn.Results(pd.DataFrame(), {}, {}, [], False, rows, ref)
    assert _replication_outcome(res).state == "shown"
    lost = dataclasses.replace(res, replication_reference=ref + 0.1)  # Model A as good: no advantage to keep
    assert _replication_outcome(lost).state == "inconclusive"

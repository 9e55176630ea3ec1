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


def _dm_z(noisy, compiled, x):
    ops = [
        cirq.rx(float(x[compiled.physical.index(op.qubits[0])])).on(op.qubits[0])
        if dev.EMBEDDING_TAG in op.tags
        else op
        for op in noisy.all_operations()
    ]
    qs = sorted(compiled.placed)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(cirq.Circuit(ops), qubit_order=qs)
    rho = rho.final_density_matrix
    return np.array([np.real(np.trace(rho @ cirq.PauliString({q: cirq.Z}).matrix(qs))) for q in compiled.readout])


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
        assert np.abs(H.evaluate(coef, xq[None])[0] - _dm_z(noisy, c, x)).max() < 1e-5


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

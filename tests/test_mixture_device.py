"""A mixture's circuits on a real processor's calibrated noise (#23, ``models.mixture_device``): the quadratic
forms against cirq's density-matrix simulator, the compiled circuits against the models' own readouts, the
deployed logits against the model, the probe and the study's plan of runs."""

import cirq
import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.circuits import device as dev
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.experiments.device_probe import MixtureDeviceSweep
from qmoe_tfq.models import mixture_device as md
from qmoe_tfq.models.phase1 import Phase1Model
from qmoe_tfq.models.routers.amplitude import amplitude_readouts
from qmoe_tfq.sim import heisenberg
from qmoe_tfq.specs.phase1 import Phase1Spec
from qmoe_tfq.studies import high_dim as hd


def test_quadratic_forms_match_cirq_on_a_random_noisy_circuit():
    qs = cirq.LineQubit.range(3)
    rng = np.random.default_rng(4)
    ops = []
    for _ in range(3):
        ops += [cirq.PhasedXZGate(x_exponent=a, z_exponent=b, axis_phase_exponent=c).on(q)
                for q, (a, b, c) in zip(qs, rng.uniform(-1, 1, (3, 3)))]  # fmt: skip
        ops += [cirq.CZ(qs[0], qs[1]), cirq.depolarize(0.03).on(qs[2]), cirq.amplitude_damp(0.05).on(qs[0])]
        ops += [cirq.ISWAP(qs[1], qs[2]) ** 0.5, cirq.phase_damp(0.1).on(qs[1])]
    circuit = cirq.Circuit(ops)
    m = heisenberg.quadratic_forms(circuit, qs, [0, 1, 2])
    assert m.shape == (3, 8, 8) and np.allclose(m, np.swapaxes(m, 1, 2))
    for _ in range(3):
        psi = rng.normal(size=8)
        psi /= np.linalg.norm(psi)
        rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
            circuit, qubit_order=qs, initial_state=np.outer(psi, psi).astype(np.complex128)
        )
        rho = rho.final_density_matrix
        ref = [np.real(np.trace(rho @ cirq.PauliString({q: cirq.Z}).matrix(qs))) for q in qs]
        assert np.einsum("k,jkl,l->j", psi, m, psi) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("name", dev.PROCESSORS)
@pytest.mark.parametrize("n", [2, 4])
def test_a_compiled_ansatz_reads_the_amplitude_circuits_noiseless_and_cirq_under_noise(name, n):
    rng = np.random.default_rng(n)
    theta = rng.normal(size=(2, n, 3))
    x = rng.normal(size=(4, 2**n))
    psi = md.amplitude_states(x, n)
    model = amplitude_readouts(tf.constant(x[None], tf.float32), tf.constant(theta[None, None], tf.float32), n, None)
    z, slope, offset, rec = md.ansatz_readouts(theta, x, name, model[0, :, 0].numpy(), "expert 0")
    assert rec["equivalence"] < 1e-5 and rec["processor"] == name and rec["two_qubit_gates"] > 0
    compiled = dev.compile_ansatz(theta, name)
    noisy = dev.noisy_circuit(compiled, embedding=False)
    assert z[0] == pytest.approx(md.dm_readouts(noisy, compiled, psi[0]), abs=1e-10)
    _, _, _, checked = md.ansatz_readouts(theta, x, name, model[0, :, 0].numpy(), "router", dm_check=True)
    assert checked["dm_check_deviation"] < 1e-10 and rec["dm_check_deviation"] is None
    assert np.abs(z - model[0, :, 0].numpy()).max() > 1e-3  # the noise moves the readouts
    assert slope.shape == offset.shape == (n,) and np.all(slope < 1)


def test_amplitude_states_pad_normalise_and_keep_zero_rows_at_the_ground_state():
    psi = md.amplitude_states([[3.0, 4.0], [0.0, 0.0]], 2)
    assert psi == pytest.approx(np.array([[0.6, 0.8, 0, 0], [1, 0, 0, 0]]))
    with pytest.raises(ConfigError, match="5 features do not fit the 4 amplitudes"):
        md.amplitude_states(np.ones((1, 5)), 2)


@pytest.mark.parametrize(
    "spec",
    [
        dict(router="amplitude", n_qubits=4, n_features=16),  # the fully quantum mixture, Phase 1 tasks
        dict(router="quantum", n_qubits=2, n_features=2),  # the fully quantum mixture, Two Moons
        dict(n_qubits=2, n_features=2),  # the authors' Phase 1 QMoE: classical router, quantum experts
    ],
)
def test_deployed_logits_with_the_models_own_readouts_are_the_models(spec):
    model = Phase1Model(Phase1Spec(kind="qmoe", n_experts=3, **spec), seed=1)
    x = np.random.default_rng(0).uniform(0, np.pi, (20, spec["n_features"]))
    xt = tf.constant(x, tf.float32)
    router, experts = md._parts(model)
    z_router = None if router is None else router.circuit_outputs(xt).numpy()
    z_experts = experts(xt).numpy()
    assert md._logits(model, x, z_router, z_experts) == pytest.approx(model(xt).numpy(), abs=1e-5)
    y = np.argmax(model(xt).numpy(), axis=1)
    out = md.evaluate_mixture_on_devices(model, x, y, ("rainbow",))
    evals = {(r["processor"], r["setting"]): r["accuracy"] for r in out["mixture_device_eval"]}
    assert evals[("noiseless", "exact")] == 1.0 and set(evals) == {
        ("noiseless", "exact"), ("rainbow", "readout"), ("rainbow", "mitigated")
    }  # fmt: skip
    circuits = [r["circuit"] for r in out["mixture_device_compiled"]]
    assert circuits == (["router"] if router is not None else []) + ["expert 0", "expert 1", "expert 2"]
    assert all(r["equivalence"] < 1e-5 for r in out["mixture_device_compiled"])
    checked = [r["circuit"] for r in out["mixture_device_compiled"] if r["dm_check_deviation"] is not None]
    assert checked == (["router"] if router is not None else []) + ["expert 0"]
    assert all(r["dm_check_deviation"] < 1e-5 for r in out["mixture_device_compiled"] if r["circuit"] in checked)


def test_a_mixture_without_circuits_is_refused():
    model = Phase1Model(Phase1Spec(kind="classical_moe", n_experts=3, n_qubits=2, n_features=2), seed=0)
    with pytest.raises(ConfigError, match="quantum router or quantum experts"):
        md.evaluate_mixture_on_devices(model, np.zeros((2, 2)), np.zeros(2), ("rainbow",))
    with pytest.raises(ConfigError, match="processor"):
        MixtureDeviceSweep(("sycamore",))
    with pytest.raises(ConfigError, match="dm_check must be True or False"):
        MixtureDeviceSweep(dm_check="yes")


def test_the_deployed_runs_are_the_noiseless_fully_quantum_and_hybrid_runs_with_the_probe():
    planned = hd.fq_device_experiments(quick=False)
    by_name = {e.name: e for e in hd.fq_experiments(quick=False)}
    assert len(planned) == len(hd.FULL.fq_datasets) * 2
    for e in planned:
        dataset, model = e.name.split("/")[-2:]
        twin = by_name[hd.fq_name(dataset, model, 0.0)]
        assert model in hd.FQ_DEVICE_MODELS and (e.model, e.data, e.seeds) == (twin.model, twin.data, twin.seeds)
        assert e.probes == (MixtureDeviceSweep(hd.FULL.fq_processors),)
    assert {e.name for e in planned} <= {e.name for e in hd.experiments(False)}


def _q4_results(device_gap: float, n_test: int = 80) -> hd.Results:
    """Constructed Q4 runs at full size: the fully quantum mixture 5 points better than the hybrid noiseless on
    every seed of every task, and ``device_gap`` (accuracy) better on every processor."""
    import pandas as pd

    from qmoe_tfq.experiments.tuning import TunedResults

    s, rows, dev_rows = hd.FULL, [], []
    for d in s.fq_datasets:
        for model in s.fq_models:
            for p in s.noise if model in hd.FQ_DEVICE_MODELS else (0.0,):
                for seed in range(s.seeds):
                    k = 60 + seed % 3 + (5 if model == "fully_quantum" else 0)
                    rows.append({"experiment": hd.fq_name(d, model, p), "seed": seed, "n_correct": k, "n_test": n_test,
                                 "test_accuracy": k / n_test, "router_params": 6, "total_params": 30})  # fmt: skip
        for model in hd.FQ_DEVICE_MODELS:
            for seed in range(s.seeds):
                base = (60 + seed % 3 + (5 if model == "fully_quantum" else 0)) / n_test
                shift = device_gap if model == "fully_quantum" else 0.0
                evals = [{"processor": "noiseless", "setting": "exact", "accuracy": base}] + [
                    {"processor": proc, "setting": st, "accuracy": 0.6 + shift + 0.01 * (seed % 3)}
                    for proc in s.fq_processors
                    for st in md.SETTINGS
                ]
                dev_rows.append({"experiment": hd.fq_device_name(d, model), "seed": seed, "n_test": n_test,
                                 "mixture_device_eval": evals, "mixture_device_compiled": []})  # fmt: skip
    empty = TunedResults(pd.DataFrame(), {}, pd.DataFrame())
    return hd.Results(empty, pd.DataFrame(rows), False, pd.DataFrame(dev_rows))


def test_q4_reports_the_processors_as_secondary_parts_that_do_not_decide():
    from qmoe_tfq.studies import high_dim_claims as hc

    for gap, state in ((0.05, "holds"), (-0.05, "opposite"), (0.0, "fails")):
        e = hc.q4_entry(_q4_results(gap))
        assert e.verdict == "reproduced"  # the noiseless primary decides
        device = [p for p in e.parts if "on rainbow" in p.description or "on weber" in p.description]
        assert len(device) == 2 and all(p.state == state for p in device), gap
        assert "Deployed with every circuit on a processor" in e.note and "lower bound" in e.note
        assert "tables/high_dim_fully_quantum_device.csv" in e.evidence
    table = hd.fq_device_table(_q4_results(0.05))
    fq = table[(table.model == "fully_quantum") & (table.processor == "rainbow") & (table.setting == "readout")]
    assert fq["diff_vs_hybrid"].iloc[0] == pytest.approx(0.05) and fq["p_fq_better"].iloc[0] < 0.01

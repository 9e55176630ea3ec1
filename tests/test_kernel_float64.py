"""The quantum-kernel SVM's kernel is float64 end to end and equals cirq's complex128 state overlaps to
1e-12, so its support vectors (and ``total_params``) are the same on every machine; the kind's version
in the cache key means runs of the old float32 kernel are not reused, and no other kind's key moves."""

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.svm import SVC

from qmoe_tfq.experiments.experiment import Experiment, config_key
from qmoe_tfq.experiments.registry import KINDS, EstimatorSpec
from qmoe_tfq.models.kernels import (
    KERNEL_VERSION,
    QuantumKernel,
    cirq_states,
    closed_form_kernel,
    fidelity,
)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_the_svm_kernel_is_float64_and_equals_cirq_overlaps_to_1e_12(d):
    rng = np.random.default_rng(10 + d)
    x, y = rng.uniform(0, np.pi, (20, d)), rng.uniform(-2, 5, (13, d))
    k = QuantumKernel()(x, y)
    assert k.dtype == np.float64 and k.shape == (20, 13)
    cirq_k = fidelity(cirq_states(x), cirq_states(y))  # cirq.Simulator, complex128
    assert np.abs(k - cirq_k).max() < 1e-12
    # float32 inputs are promoted, not computed in float32
    k32 = QuantumKernel()(x.astype(np.float32), y.astype(np.float32))
    assert k32.dtype == np.float64
    np.testing.assert_array_equal(k32, closed_form_kernel(x.astype(np.float32), y.astype(np.float32)))


def _moons(seed):
    x, y = make_moons(120, noise=0.1, random_state=seed)
    return (x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi, y


@pytest.mark.parametrize("seed", range(4))
def test_the_fitted_svm_sees_a_float64_gram_matrix(seed, monkeypatch):
    x, y = _moons(seed)
    grams = []
    original = QuantumKernel.__call__

    def recording(self, a, b):
        k = original(self, a, b)
        grams.append(k)
        return k

    monkeypatch.setattr(QuantumKernel, "__call__", recording)
    spec = EstimatorSpec.of("quantum_kernel_svm", C=100.0)
    est = spec.build(seed).fit(x[:90], y[:90])
    assert grams and all(g.dtype == np.float64 for g in grams)
    ref = SVC(kernel="precomputed", C=100.0).fit(closed_form_kernel(x[:90], x[:90]), y[:90])
    np.testing.assert_array_equal(est.support_, ref.support_)
    assert spec.count(est).total == est.support_vectors_.size + ref.dual_coef_.size + 1  # total_params


def test_support_vectors_are_stable_under_perturbations_far_below_float32_resolution():
    """A 1e-13 change in the inputs (float64 noise, e.g. another BLAS) leaves the support set alone;
    the float64 kernel moves by ~1e-13, far from the ~1e-7 of complex64 states."""
    x, y = _moons(0)
    base = SVC(kernel=QuantumKernel(), C=100.0).fit(x, y)
    jitter = np.random.default_rng(1).uniform(-1e-13, 1e-13, x.shape)
    moved = SVC(kernel=QuantumKernel(), C=100.0).fit(x + jitter, y)
    np.testing.assert_array_equal(base.support_, moved.support_)
    assert np.abs(QuantumKernel()(x, x) - QuantumKernel()(x + jitter, x + jitter)).max() < 1e-12


def test_only_the_kernel_svm_carries_a_version_in_its_cache_key():
    assert KINDS["quantum_kernel_svm"].version == KERNEL_VERSION >= 1
    assert EstimatorSpec.of("quantum_kernel_svm", C=1.0).config()["version"] == KERNEL_VERSION
    for kind in KINDS:
        if kind != "quantum_kernel_svm":
            assert KINDS[kind].version == 0
            assert "version" not in EstimatorSpec(kind).config()


def test_the_version_changes_the_kernel_svm_cache_key(monkeypatch):
    from qmoe_tfq.studies import mechanism as mech

    exp = next(e for e in mech.experiments(True) if e.model.kind == "quantum_kernel_svm")
    assert isinstance(exp, Experiment)
    now = config_key(exp, exp.seeds[0])
    monkeypatch.setitem(
        KINDS,
        "quantum_kernel_svm",
        KINDS["quantum_kernel_svm"].__class__(**{**KINDS["quantum_kernel_svm"].__dict__, "version": 0}),
    )
    assert config_key(exp, exp.seeds[0]) != now

"""Ablations of the authors' circuit and the restart option: the no-CNOT ansatz keeps the parameter
count and loses the entanglement, a frozen circuit trains only the adapter, restarts change the
initialisation but not the validation split."""

import cirq
import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.circuits.router import router_circuit
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.estimators import QMoEClassifier, restart_seed
from qmoe_tfq.experiments.registry import qmoe
from qmoe_tfq.models.fourier_features import readout_fit
from qmoe_tfq.specs.config import ModelSpec, param_counts


def test_no_cnot_ansatz_is_the_authors_circuit_without_its_two_qubit_gates():
    full = router_circuit(3, 3, 3, "strongly_entangling")
    ablated = router_circuit(3, 3, 3, "strongly_entangling_no_cnot")
    assert ablated.weight_symbols == full.weight_symbols
    assert ablated.weight_shape == full.weight_shape
    two_qubit = lambda c: [op for op in c.all_operations() if len(op.qubits) == 2]  # noqa: E731
    assert len(two_qubit(full.circuit)) == 9 and not two_qubit(ablated.circuit)
    per_qubit = lambda c: {q: [str(op) for op in c.all_operations() if op.qubits == (q,)] for q in c.all_qubits()}  # noqa: E731
    assert per_qubit(ablated.circuit) == per_qubit(full.circuit)
    # and the state stays a product state: each <Z_i> depends on x_i alone
    assert readout_fit(3, 3, "expectation", "strongly_entangling_no_cnot").residual_additive < 1e-10
    assert param_counts(ModelSpec(ansatz="strongly_entangling_no_cnot"), 2, 2) == param_counts(ModelSpec(), 2, 2)


def _moons(n=120, seed=0):
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.1, random_state=seed)
    return ((x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi).astype(np.float32), y


def test_frozen_circuit_trains_only_the_adapter():
    x, y = _moons()
    est = QMoEClassifier("quantum", frozen_circuit=True, lr=0.05, max_epochs=3, random_state=0)
    initial = QMoEClassifier("quantum", frozen_circuit=True, max_epochs=1, random_state=0)._build(
        est.model_spec(), 2, 2, 0
    )
    est.fit(x, y)
    router, start = est.model_.router, initial.router
    np.testing.assert_array_equal(router.theta.numpy(), start.theta.numpy())
    assert not np.allclose(router.adapter.kernel.numpy(), start.adapter.kernel.numpy())
    assert est.n_params_ == {"router": 6, "experts": 12, "total": 18}
    assert len(router.trainable_variables) == 2  # adapter kernel and bias


def test_restarts_change_initialisation_not_the_validation_rows():
    x, y = _moons(150, 1)
    kw = dict(
        router="linear",
        max_epochs=2,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=None,
        input_scaling="standard",
        random_state=4,
    )
    plain = QMoEClassifier(**kw).fit(x, y)
    again = QMoEClassifier(**kw, restart=0).fit(x, y)
    other = QMoEClassifier(**kw, restart=1).fit(x, y)
    assert plain.loss_curve_ == again.loss_curve_
    assert other.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(other.scaler_.mean_, plain.scaler_.mean_)  # fit on the same rows
    assert other.n_validation_ == plain.n_validation_
    assert restart_seed(4, 0) == 4 and restart_seed(4, 1) != restart_seed(4, 2)
    assert qmoe(router="quantum", restart=2).build(0).restart == 2


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_restart_is_a_config_error(bad):
    x, y = _moons(40)
    with pytest.raises(ConfigError, match="restart must be an integer"):
        QMoEClassifier("linear", max_epochs=1, restart=bad).fit(x, y)


def test_frozen_and_no_cnot_routers_match_cirq():
    """The ablated routers' readouts against an independent simulator (cirq), 1e-5."""
    from qmoe_tfq.models.routers import build_router

    x = np.random.default_rng(0).uniform(0, np.pi, (5, 2)).astype(np.float32)
    for spec in (ModelSpec(ansatz="strongly_entangling_no_cnot"), ModelSpec(frozen_circuit=True)):
        router = build_router(spec, 2, seed=3)
        router.evaluation = "direct"
        z = router.circuit_outputs(tf.constant(x)).numpy()
        rc = router.rc
        sim = cirq.Simulator()
        for row, out in zip(x, z):
            state = sim.simulate(rc.circuit, rc.resolver(row, router.theta.numpy()), qubit_order=rc.qubits)
            expected = [
                cirq.Z(q)
                .expectation_from_state_vector(state.final_state_vector, {q: i for i, q in enumerate(rc.qubits)})
                .real
                for q in rc.qubits
            ]
            np.testing.assert_allclose(out, expected, atol=1e-5)

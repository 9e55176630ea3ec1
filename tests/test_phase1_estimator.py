"""Phase1Classifier is a scikit-learn estimator sharing QMoEClassifier's training (one ``fit``, the
seeded loop ``fit_model``): the library's own checks on a small configuration, the same numbers as
the Phase 1 model trained by hand, parameter counts through the registry, the tuned protocol's
settings, the runner's tuning path, and bad parameters."""

import pickle
import re

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.estimators import Phase1Classifier, QMoEClassifier, TrainedClassifier, fit_many, validation_split
from qmoe_tfq.experiments.experiment import Experiment, run_one
from qmoe_tfq.experiments.probes import GateSummary
from qmoe_tfq.experiments.registry import KINDS, EstimatorSpec, ParamCount, phase1
from qmoe_tfq.experiments.tuning import Budget
from qmoe_tfq.models.phase1 import build_phase1_model
from qmoe_tfq.specs.phase1 import Phase1Params, Phase1Spec, phase1_qubits
from qmoe_tfq.training.train import fit_model

# One quantum configuration, small enough for CI: 2 amplitude-embedded experts of one layer on
# ceil(log2 d) qubits (1 or 2 for the checks' 2-4 features), 20 epochs at lr 0.05 (check_classifiers_train
# needs 0.83 training accuracy on three blobs; 10 epochs or lr 0.1 for 12 do not reach it).
CHECKED = [Phase1Classifier("qmoe", n_layers=1, n_experts=2, max_epochs=20, lr=0.05)]


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# Checks skipped or expected to fail: none by us. scikit-learn itself skips check_array_api_input
# (it runs only with SCIPY_ARRAY_API=1 and array-API namespaces installed; Phase1Classifier does not
# claim array-API support).


@pytest.fixture(scope="module")
def synthetic():
    """The authors' synthetic data, 100 rows (unit-norm rows of make_classification, 16 features)."""
    return load_dataset(DataSpec("synthetic16", n_samples=100, test_size=0.2, scaling="unit_norm", draw_seed=42), 0)


def test_both_estimators_share_one_training_class():
    assert issubclass(Phase1Classifier, TrainedClassifier) and issubclass(QMoEClassifier, TrainedClassifier)
    for name in ("fit", "predict", "predict_proba", "logits", "gates", "__getstate__", "__setstate__"):
        assert name not in Phase1Classifier.__dict__ and name not in QMoEClassifier.__dict__


@pytest.mark.parametrize(
    "model,simulator", [("qmoe", "statevector"), ("classical_moe", "statevector"), ("qmoe", "tfq")]
)
def test_reused_trainer_gives_the_numbers_of_a_fresh_one(synthetic, model, simulator):
    """The runner's path (``fit_many(reuse=True)``) traces a model's epoch once per process (a stack,
    or the Keras loop on TFQ) and reuses it for the next runs of that shape: every run must train bit
    for bit as on its own trainer."""
    x, y = synthetic.x_train, synthetic.y_train
    settings = [
        dict(lr=0.01, random_state=3),
        dict(lr=0.05, random_state=4, early_stopping=True),
        dict(lr=0.01, random_state=3),
    ]
    reused = [Phase1Classifier(model, max_epochs=3, simulator=simulator, **kw) for kw in settings]
    predicted = []
    for est in reused:
        fit_many([est], [(x, y)], reuse=True)
        predicted.append(est.predict_proba(x))  # a reused stack predicts only until its next run
    for est, proba, kw in zip(reused, predicted, settings):
        fresh = Phase1Classifier(model, max_epochs=3, simulator=simulator, **kw).fit(x, y)
        assert est.loss_curve_ == fresh.loss_curve_
        assert all(np.array_equal(a, b) for a, b in zip(est.weights_, fresh.weights_))
        np.testing.assert_array_equal(proba, fresh.predict_proba(x))


@pytest.mark.parametrize(
    "model,simulator",
    [("qmoe", "statevector"), ("qnn", "statevector"), ("classical_moe", "statevector"), ("qmoe", "tfq")],
)
def test_same_numbers_as_the_model_trained_by_hand(synthetic, model, simulator):
    """The Keras loop on the Keras model: the same bits on TFQ (which trains in that loop), the same
    numbers to float32 rounding in a stack (``qmoe_tfq.training.stack._phase1``)."""
    est = Phase1Classifier(model, lr=0.01, max_epochs=2, simulator=simulator, random_state=3)
    est.fit(synthetic.x_train, synthetic.y_train)
    tf.random.set_seed(3)
    by_hand = build_phase1_model(model, seed=3, simulator=simulator)
    history = fit_model(by_hand, synthetic.x_train, synthetic.y_train, lr=0.01, batch_size=32, max_epochs=2, seed=3)
    expected = by_hand(tf.constant(synthetic.x_test)).numpy()
    if simulator == "tfq":
        assert est.loss_curve_ == history.losses
        np.testing.assert_allclose(est.logits(synthetic.x_test), expected, atol=1e-6)
    else:
        np.testing.assert_allclose(est.loss_curve_, history.losses, rtol=1e-5)
        np.testing.assert_allclose(est.logits(synthetic.x_test), expected, atol=1e-4)


@pytest.mark.parametrize(
    "model,counts", [("qmoe", (51, 72, 10)), ("qnn", (0, 24, 10)), ("classical_moe", (51, 516, 10))]
)
def test_parameter_counts_through_the_registry(synthetic, model, counts):
    spec = phase1(model, max_epochs=1)
    est = spec.build(0).fit(synthetic.x_train, synthetic.y_train)
    router, experts, head = counts
    assert est.n_params_ == {"router": router, "experts": experts, "head": head, "total": router + experts + head}
    assert spec.count(est) == ParamCount(total=router + experts + head, router=router, experts=experts)
    assert Phase1Spec(model).param_counts() == Phase1Params(*counts)


def test_qubits_default_to_the_fewest_that_hold_the_features():
    assert [phase1_qubits(d) for d in (1, 2, 3, 4, 5, 16, 17)] == [1, 1, 2, 2, 3, 4, 5]
    est = Phase1Classifier("qnn")
    assert est.phase1_spec(16).n_qubits == 4 and est.phase1_spec(5, 3) == Phase1Spec(
        "qnn", n_features=5, n_qubits=3, n_classes=3
    )
    assert Phase1Classifier("classical_moe", n_qubits=6).phase1_spec(16).n_qubits == 6


def test_registered_kind_trains_in_epochs():
    assert KINDS["phase1"].epochs and KINDS["qmoe"].epochs and not KINDS["logreg"].epochs
    budget = Budget("x/", DataSpec("synthetic16", test_size=0.2), max_epochs=30, batch_size=32)
    tuned = budget.training(phase1("qnn", lr=0.03))
    assert tuned.param_dict == {
        "model": "qnn",
        "lr": 0.03,
        "max_epochs": 30,
        "batch_size": 32,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "n_iter_no_change": None,
    }
    assert budget.training(EstimatorSpec("logreg", (("C", 1.0),))) == EstimatorSpec("logreg", (("C", 1.0),))


def test_tuning_run_scores_the_estimators_own_validation_split(synthetic):
    """Under the tuning protocol the runner lets a TrainedClassifier carve its validation rows
    itself (best epoch restored) and never reads the test split."""
    data = DataSpec("synthetic16", n_samples=100, test_size=0.2, scaling="unit_norm", draw_seed=42)
    spec = phase1(
        "classical_moe", lr=0.05, max_epochs=3, early_stopping=True, validation_fraction=0.25, n_iter_no_change=None
    )
    out = run_one(Experiment("t", spec, data, "tuning", (0,)), 0)
    _, x_val, _, y_val = validation_split(synthetic.x_train, synthetic.y_train, 0.25, 0)
    assert out["n_validation"] == len(y_val) == 20 and np.isnan(out["test_accuracy"])
    est = spec.build(0).fit(synthetic.x_train, synthetic.y_train)
    assert out["n_validation_correct"] == int(np.sum(est.predict(x_val) == y_val))
    assert out["n_epochs"] == 3 and len(out["validation_curve"]) == 3 and out["best_epoch"] == est.best_epoch_


def test_gate_summary_for_routed_models_only(synthetic):
    fitted = {
        m: Phase1Classifier(m, max_epochs=1, random_state=0).fit(synthetic.x_train, synthetic.y_train)
        for m in ("classical_moe", "qnn")
    }
    routed = GateSummary()(fitted["classical_moe"], synthetic)
    assert {"collapsed", "expert_load", "gate_entropy"} <= set(routed) and len(routed["expert_load"]) == 3
    assert GateSummary()(fitted["qnn"], synthetic) == {}  # one expert: nothing is routed


def test_clone_and_pickle_keep_the_model(synthetic):
    est = Phase1Classifier("qmoe", n_layers=1, max_epochs=1, input_scaling="standard", random_state=0)
    assert clone(est).get_params() == est.get_params()
    est.fit(synthetic.x_train, synthetic.y_train)
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(copy.predict_proba(synthetic.x_test), est.predict_proba(synthetic.x_test), atol=1e-6)
    assert copy.gates(synthetic.x_test).shape == (len(synthetic.x_test), 3)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"model": "vqc"}, "unknown phase 1 model 'vqc'"),
        ({"n_qubits": 0}, "n_qubits must be a positive integer"),
        ({"n_qubits": 3}, "16 features do not fit the amplitudes of 3 qubits"),
        ({"n_layers": 0}, "n_layers must be a positive integer"),
        ({"lr": 0.0}, "lr must be a finite number > 0"),
        ({"input_scaling": "minmax"}, "unknown input_scaling 'minmax'"),
    ],
)
def test_bad_parameters_name_the_value(synthetic, params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Phase1Classifier(**{"max_epochs": 1, **params}).fit(synthetic.x_train, synthetic.y_train)


def test_bad_spec_fails_when_planned():
    with pytest.raises(ConfigError, match="unknown phase 1 model 'vqc'"):
        phase1("vqc")
    with pytest.raises(ConfigError, match="bad parameter for a phase1 model"):
        EstimatorSpec.of("phase1", layers=3)

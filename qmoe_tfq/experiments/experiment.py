"""Stage: experiments. Experiments as plain config objects, and what running one seed of one produces.

An ``Experiment`` names a model (an ``EstimatorSpec``: a scikit-learn estimator and its parameters,
mixture of experts or reference alike), the data, the protocol, the seeds and the probes to run on
the fitted model. ``run_one`` runs a single seed through one code path for every kind and returns a
flat, JSON-serialisable result dict; the runner caches those by a hash of the config
(``config_key``), so the notebooks only ever call the runner.

Protocols:

* ``authors``: trained on the whole set, accuracy measured on the training set (``test_size == 0``),
  as the authors did.
* ``fair``: trained on the training split, held-out test accuracy (``n_correct`` of ``n_test``).
* ``tuning``: scored on a validation split carved from the training split
  (``estimators.validation_split``, ``validation_fraction`` of it): a mixture of experts with early
  stopping carves it itself and reports its best epoch's score; any other model is fitted on the
  rest of the split and scored on the same rows. The test split is never read. Besides the correct
  validation points, a tuning run records ``validation_log_loss``, the mean cross-entropy (nats per
  row) of the weights it keeps over its validation rows, the tuned protocol's selection score: a
  mixture's loss at its best epoch (``validation_losses_[best_epoch_ - 1]``, the same mean
  categorical cross-entropy it is trained on, from its logits); a reference's
  ``sklearn.metrics.log_loss`` of ``predict_proba`` on the carved rows. An SVM has no probabilities
  of its own: they are Platt-scaled decision values (``CalibratedClassifierCV(method="sigmoid",
  cv=5, ensemble=False)`` on the same fit rows, scikit-learn's replacement for the deprecated
  ``SVC(probability=True)``), used for the score only; its accuracy is the SVC's own prediction.

A mixture of experts also records ``validation_loss_curve`` (its validation loss per epoch, under any
protocol with early stopping), for convergence checks; None for every other model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass

import numpy as np

import qmoe_tfq
from qmoe_tfq.core.errors import ConfigError, TrainingDiverged, check_choice
from qmoe_tfq.data import DataSpec, DataUnavailable, load_dataset
from qmoe_tfq.estimators import TrainedClassifier, final_estimator, validation_split
from qmoe_tfq.experiments.probes import probe_config
from qmoe_tfq.experiments.registry import EstimatorSpec

PROTOCOLS = ("authors", "fair", "tuning")
# Bump when a change alters the numbers a cached config produces (training loop, data, model).
# 6: tuning runs record validation_log_loss, mixtures validation_loss_curve; 7: a stacked member predicts in
# chunks of exactly PREDICT_ROWS rows (a row's bits no longer depend on how many rows it is predicted with);
# 8: gates by models.ops.softmax (an exact division, not the processor's approximate reciprocal); 9: a stacked
# member's biases and angles broadcast by models.ops.broadcast_rows (its numbers no longer depend on its lane).
RESULTS_SCHEMA = 9
DEFAULT_VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Experiment:
    """One model on one dataset under one protocol, over ``seeds``, with ``probes`` after each fit.

    ``name`` and ``tags`` (display labels and table columns, as sorted pairs) are not part of the
    cache key. ``validation_fraction`` is used by the ``tuning`` protocol for models that do not
    carve their own validation split.
    """

    name: str
    model: EstimatorSpec
    data: DataSpec = DataSpec()
    protocol: str = "fair"
    seeds: tuple[int, ...] = tuple(range(10))
    probes: tuple = ()
    tags: tuple[tuple[str, object], ...] = ()
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        if not isinstance(self.model, EstimatorSpec):
            raise ConfigError(
                f"experiment {self.name!r}: model must be an EstimatorSpec, got {type(self.model).__name__}"
            )
        if not self.seeds:
            raise ConfigError(f"experiment {self.name!r} has no seeds; give at least one")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "probes", tuple(self.probes))
        tags = self.tags.items() if isinstance(self.tags, dict) else self.tags
        object.__setattr__(self, "tags", tuple(tags))
        if self.protocol == "authors" and self.data.test_size != 0:
            raise ConfigError(
                f"experiment {self.name!r}: the authors' protocol measures on the training set, "
                f"so data.test_size must be 0 (got {self.data.test_size})"
            )
        if self.protocol in ("fair", "tuning") and self.data.test_size == 0:
            raise ConfigError(
                f"experiment {self.name!r}: the {self.protocol} protocol needs a held-out split (test_size > 0)"
            )
        if self.protocol == "tuning" and self.probes:
            raise ConfigError(f"experiment {self.name!r}: tuning runs take no probes (they never see the test split)")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    @property
    def tag_dict(self) -> dict:
        return dict(self.tags)

    def config(self) -> dict:
        """Everything that determines the numbers of a run, as plain JSON types."""
        data = dataclasses.asdict(self.data)
        if data["pool"] == "all":  # the default, as before pools existed: keep those runs' cache keys
            del data["pool"]
        config = {
            "model": self.model.config(),
            "data": data,
            "protocol": self.protocol,
            "probes": [probe_config(p) for p in self.probes],
        }
        if self.protocol == "tuning":
            config["validation_fraction"] = self.validation_fraction
        return config


def config_key(experiment: Experiment, seed: int) -> str:
    """Cache key of one (config, seed): sha256 of the config, the seed and the code version."""
    payload = {
        "config": experiment.config(),
        "seed": int(seed),
        "version": qmoe_tfq.__version__,
        "schema": RESULTS_SCHEMA,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def _accuracy(estimator, x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(correct, total) predictions of ``estimator`` on ``x, y``."""
    if len(x) == 0:
        return 0, 0
    return int(np.sum(estimator.predict(x) == y)), int(len(y))


@dataclass
class _Run:
    """One (experiment, seed) between planning and measuring: its data, estimator and fit rows."""

    experiment: Experiment
    seed: int
    data: object
    estimator: object
    x: np.ndarray
    y: np.ndarray
    carved: tuple[np.ndarray, np.ndarray] | None = None  # validation rows scored here (references)

    @property
    def qmoe(self) -> TrainedClassifier | None:
        """The mixture of experts (``QMoEClassifier`` or ``Phase1Classifier``) inside the estimator, or None."""
        est = final_estimator(self.estimator)
        return est if isinstance(est, TrainedClassifier) else None


def _plan(experiment: Experiment, seed: int) -> _Run:
    """Load the data and build the estimator; under ``tuning``, a mixture with early stopping carves
    its own validation rows, any other model is fitted on the rest of the rows carved here."""
    data = load_dataset(experiment.data, seed)
    est = experiment.model.build(seed)
    run = _Run(experiment, seed, data, est, data.x_train, data.y_train)
    if experiment.protocol == "tuning" and not (run.qmoe is not None and run.qmoe.early_stopping):
        run.x, x_val, run.y, y_val = validation_split(data.x_train, data.y_train, experiment.validation_fraction, seed)
        run.carved = (x_val, y_val)
    return run


def _carved_log_loss(run: _Run) -> float:
    """Mean cross-entropy (nats per row) of a model fitted on ``run.x, run.y`` over the carved
    validation rows; an SVM's probabilities are Platt-scaled decision values fitted on the same rows
    (5-fold cross-validated, then refitted on all of them), so its own predictions are unchanged."""
    from sklearn.base import clone
    from sklearn.metrics import log_loss
    from sklearn.svm import SVC

    x_val, y_val = run.carved
    if len(y_val) == 0:
        return math.nan
    est = run.estimator
    if isinstance(final_estimator(est), SVC):
        from sklearn.calibration import CalibratedClassifierCV

        est = CalibratedClassifierCV(clone(est), method="sigmoid", cv=5, ensemble=False).fit(run.x, run.y)
    return float(log_loss(y_val, est.predict_proba(x_val), labels=run.estimator.classes_))


def _kept_validation(q: TrainedClassifier) -> tuple[int, int, float]:
    """(correct, rows, mean cross-entropy) of a mixture's kept (best-epoch) weights on its own
    validation rows; (0, rows, inf) when no epoch was scored (its loss turned non-finite in the first)."""
    if q.best_epoch_ is None or q.best_validation_score_ is None:
        return 0, q.n_validation_, math.inf
    correct = int(round(q.best_validation_score_ * q.n_validation_))
    return correct, q.n_validation_, float(q.validation_losses_[q.best_epoch_ - 1])


def _measure(run: _Run, seconds: float) -> dict:
    """The result dict of a fitted run: accuracies, sizes, training record, then the probes."""
    experiment, est, data = run.experiment, run.estimator, run.data
    counts = experiment.model.count(est)
    train_correct, n_train = _accuracy(est, data.x_train, data.y_train)
    validation, log_loss = (None, None), None
    if experiment.protocol == "tuning":
        if run.carved is not None:
            validation, log_loss = _accuracy(est, *run.carved), _carved_log_loss(run)
        else:
            *validation, log_loss = _kept_validation(run.qmoe)
    out = {
        "train_accuracy": train_correct / n_train,
        "test_accuracy": math.nan,
        "n_correct": None,
        "n_test": 0,
        "validation_accuracy": None if not validation[1] else validation[0] / validation[1],
        "n_validation_correct": validation[0],
        "n_validation": validation[1],
        "validation_log_loss": log_loss,
        "router_params": counts.router,
        "expert_params": counts.experts,
        "total_params": counts.total,
        "train_seconds": seconds,
        "seconds_per_epoch": None,
        "n_epochs": None,
        "best_epoch": None,
        "epoch_losses": [],
        "validation_curve": None,
        "validation_loss_curve": None,
    }
    q = run.qmoe
    if q is not None:
        out.update(
            {
                "seconds_per_epoch": seconds / q.n_epochs_,
                "n_epochs": q.n_epochs_,
                "best_epoch": q.best_epoch_,
                "diverged": q.diverged_,
                "epoch_losses": [float(v) for v in q.loss_curve_],
                "validation_curve": None if q.validation_scores_ is None else [float(v) for v in q.validation_scores_],
                "validation_loss_curve": (
                    None if q.validation_losses_ is None else [float(v) for v in q.validation_losses_]
                ),
            }
        )
    if experiment.protocol == "fair":
        out["n_correct"], out["n_test"] = _accuracy(est, data.x_test, data.y_test)
        out["test_accuracy"] = out["n_correct"] / out["n_test"]
    for probe in experiment.probes:
        out.update(probe(est, data))
    return out


def run_one(experiment: Experiment, seed: int) -> dict:
    """Run one seed of ``experiment``; returns the flat result dict the runner caches, or
    ``{"skipped": reason}`` when its data is absent or unreadable."""
    try:
        run = _plan(experiment, seed)
    except DataUnavailable as err:
        return {"skipped": str(err)}
    start = time.perf_counter()
    try:
        run.estimator.fit(run.x, run.y)
    except TrainingDiverged:
        # A mixture trained alone raises on a non-finite loss, after keeping its best (or last finite)
        # weights; measure it as a stack of several does (``diverged`` set), so one diverging run of
        # a study (a large learning rate) is recorded rather than ending the whole run. A model
        # without fitted weights (the Keras loop raises mid-training) still raises.
        if run.qmoe is None or "weights_" not in run.qmoe.__dict__:
            raise
    return _measure(run, time.perf_counter() - start)


def stack_key(experiment: Experiment) -> tuple | None:
    """Runs whose keys are equal may train as one stack (``qmoe_tfq.training.stack._base``): mixtures of experts
    (the paper's, or the authors' Phase 1 models) that differ only in learning rate, input scaling,
    restart, depolarizing probability (noisy runs share a stack with noisy ones), seed and data draw.
    None: train alone."""
    if experiment.model.kind not in ("qmoe", "phase1"):
        return None
    fixed = tuple(
        (k, v) if k != "noise" else ("noisy", v > 0)
        for k, v in experiment.model.params
        if k not in ("lr", "input_scaling", "restart")
    )
    data = dataclasses.replace(experiment.data, seed=None)
    return fixed, data, experiment.protocol, experiment.validation_fraction


def run_group(tasks: list[tuple[Experiment, int]]) -> list[dict]:
    """Run several (experiment, seed) tasks that share a ``stack_key``: one stacked fit for all of
    them (each run's numbers are those it gives alone), then each run measured. A run's
    ``train_seconds`` is its share of the stack's training time (stack seconds / runs)."""
    from qmoe_tfq.estimators import fit_many

    planned: list[_Run | dict] = []
    for e, s in tasks:
        try:
            planned.append(_plan(e, s))
        except DataUnavailable as err:
            planned.append({"skipped": str(err)})
    runs = [r for r in planned if isinstance(r, _Run)]
    if not runs:
        return planned
    start = time.perf_counter()
    fit_many([final_estimator(r.estimator) for r in runs], [(r.x, r.y) for r in runs], reuse=True)
    share = (time.perf_counter() - start) / len(runs)
    return [_measure(r, share) if isinstance(r, _Run) else r for r in planned]


__all__ = [
    "DEFAULT_VALIDATION_FRACTION",
    "Experiment",
    "PROTOCOLS",
    "RESULTS_SCHEMA",
    "config_key",
    "run_group",
    "run_one",
    "stack_key",
]

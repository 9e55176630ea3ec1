"""Stage: experiments. Every model the suite compares, as a scikit-learn estimator named by a kind and its parameters.

An ``EstimatorSpec(kind, params)`` is plain, hashable data (it goes into the run cache's key);
``build(seed)`` turns it into a fresh estimator. A kind is one ``Kind`` entry in ``KINDS``: how to
build it, its display label, how to count the parameters of a fitted one, and whether it trains in
epochs (then the tuned protocol sets its epoch budget and early stopping). The runner fits every
kind through the same path, so a new model family is one entry here.

``input_scaling="standard"`` is a parameter of every kind: the mixture of experts z-scores its
inputs itself (fit on the rows it trains on); a scikit-learn reference is wrapped in a pipeline
``StandardScaler -> model``. The references on the quantum router's function class put the
trigonometric features phi(x) (``qmoe_tfq.models.fourier_features.FourierFeatures``) after the scaling:
``fourier_logreg``, ``fourier_rbf_svm``; ``quantum_kernel_svm`` is an SVC on the embedding's
quantum kernel |<psi(x)|psi(x')>|^2 (``qmoe_tfq.models.kernels.QuantumKernel``: its closed form in float64, equal to
the simulated state overlaps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sklearn.base import BaseEstimator

from qmoe_tfq.core.errors import ConfigError, check_choice
from qmoe_tfq.estimators import INPUT_SCALINGS, Phase1Classifier, QMoEClassifier, TrainedClassifier, final_estimator
from qmoe_tfq.models.kernels import KERNEL_VERSION


@dataclass(frozen=True)
class ParamCount:
    """Trainable parameters of a fitted model: router and experts for a mixture, else only the total."""

    total: int
    router: int | None = None
    experts: int | None = None


def _qmoe(params: dict, seed: int) -> BaseEstimator:
    return QMoEClassifier(**params, random_state=seed)


def _qmoe_params(est: BaseEstimator) -> ParamCount:
    """Router, experts and total of a fitted mixture (a Phase 1 model's total also counts its head)."""
    n = final_estimator(est).n_params_
    return ParamCount(total=n["total"], router=n["router"], experts=n["experts"])


def _phase1(params: dict, seed: int) -> BaseEstimator:
    return Phase1Classifier(**params, random_state=seed)


def _scaled(model: BaseEstimator, params: dict, features: BaseEstimator | None = None) -> BaseEstimator:
    """``model`` behind an optional ``StandardScaler`` (``input_scaling``) and feature map ``features``."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scaling = params.get("input_scaling", "none")
    check_choice("input_scaling", scaling, INPUT_SCALINGS)
    steps = ([StandardScaler()] if scaling == "standard" else []) + ([features] if features is not None else [])
    return make_pipeline(*steps, model) if steps else model


def _without_scaling(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "input_scaling"}


def _logreg(params: dict, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return _scaled(LogisticRegression(max_iter=5000, random_state=seed, **_without_scaling(params)), params)


def _logreg_params(est: BaseEstimator) -> ParamCount:
    m = final_estimator(est)
    return ParamCount(total=int(m.coef_.size + m.intercept_.size))


def _rbf_svm(params: dict, seed: int) -> BaseEstimator:
    from sklearn.svm import SVC

    return _scaled(SVC(kernel="rbf", random_state=seed, **_without_scaling(params)), params)


def _fourier_logreg(params: dict, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    from qmoe_tfq.models.fourier_features import FourierFeatures

    model = LogisticRegression(max_iter=5000, random_state=seed, **_without_scaling(params))
    return _scaled(model, params, FourierFeatures())


def _fourier_rbf_svm(params: dict, seed: int) -> BaseEstimator:
    from sklearn.svm import SVC

    from qmoe_tfq.models.fourier_features import FourierFeatures

    return _scaled(SVC(kernel="rbf", random_state=seed, **_without_scaling(params)), params, FourierFeatures())


def _quantum_kernel_svm(params: dict, seed: int) -> BaseEstimator:
    """SVC on the quantum kernel; with ``bandwidth`` b the inputs (after any scaling) are multiplied by
    2 sqrt(b) first (``kernels.bandwidth_scale``: b on the RBF's gamma scale). Without it the paper's kernel
    (and the cache keys of the runs made before the parameter existed)."""
    from sklearn.svm import SVC

    from qmoe_tfq.models.kernels import QuantumKernel, bandwidth_scale

    rest = _without_scaling(params)
    bandwidth = rest.pop("bandwidth", None)
    kernel = QuantumKernel() if bandwidth is None else QuantumKernel(scale=bandwidth_scale(bandwidth))
    return _scaled(SVC(kernel=kernel, random_state=seed, **rest), params)


def _svm_params(est: BaseEstimator) -> ParamCount:
    m = final_estimator(est)
    return ParamCount(total=int(m.support_vectors_.size + m.dual_coef_.size + m.intercept_.size))


@dataclass(frozen=True)
class Kind:
    """One kind of estimator: ``build(params, seed)``, a display ``label``, ``count(fitted)``, and
    ``epochs``: whether it is a ``TrainedClassifier`` (constructor arguments ``max_epochs``,
    ``batch_size``, ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``). ``version``: bumped
    when the kind computes different numbers from the same parameters; a non-zero version goes into the
    spec's ``config()`` (the cache key), so only that kind's cached runs are recomputed."""

    name: str
    label: str
    build: Callable[[dict, int], BaseEstimator]
    count: Callable[[BaseEstimator], ParamCount]
    epochs: bool = False
    version: int = 0  # bumped when a kind's numbers change; in the cache key when non-zero


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("qmoe", "mixture of experts", _qmoe, _qmoe_params, epochs=True),
        Kind(
            "phase1",
            "authors' Phase 1 model (classical router, quantum experts; QNN; classical MoE)",
            _phase1,
            _qmoe_params,
            epochs=True,
        ),
        Kind("logreg", "logistic regression (no MoE)", _logreg, _logreg_params),
        Kind("rbf_svm", "RBF-kernel SVM (no MoE)", _rbf_svm, _svm_params),
        Kind("fourier_logreg", "logistic regression on phi(x) (no MoE)", _fourier_logreg, _logreg_params),
        Kind("fourier_rbf_svm", "RBF-kernel SVM on phi(x) (no MoE)", _fourier_rbf_svm, _svm_params),
        Kind(
            "quantum_kernel_svm",
            "SVM on the quantum kernel |<psi(x)|psi(x')>|^2 (no MoE)",
            _quantum_kernel_svm,
            _svm_params,
            version=KERNEL_VERSION,
        ),
    )
}


def _freeze(value):
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class EstimatorSpec:
    """A model as data: ``kind`` (a key of ``KINDS``) and constructor ``params`` (sorted pairs).

    ``EstimatorSpec.of("qmoe", router="mlp", hidden=4, lr=0.01)``; ``spec.replace(lr=0.03)``.
    Building validates the parameters, so a bad value fails when the spec is made.
    """

    kind: str
    params: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        check_choice("model kind", self.kind, tuple(KINDS))
        params = dict(self.params) if not isinstance(self.params, Mapping) else dict(self.params)
        object.__setattr__(self, "params", tuple(sorted((k, _freeze(v)) for k, v in params.items())))
        self._validate()

    def _validate(self) -> None:
        try:
            est = self.build(0)
        except TypeError as err:
            raise ConfigError(f"bad parameter for a {self.kind} model: {err}") from None
        model = final_estimator(est)
        if isinstance(model, TrainedClassifier):
            model._check_model_params()
            model._check_training_params()

    @classmethod
    def of(cls, kind: str, **params) -> EstimatorSpec:
        return cls(kind, tuple(params.items()))

    @property
    def param_dict(self) -> dict:
        return dict(self.params)

    def get(self, name: str, default=None):
        """A parameter's value as given (``default`` when it is not set)."""
        return self.param_dict.get(name, default)

    def replace(self, **params) -> EstimatorSpec:
        """A copy with ``params`` set (or overridden)."""
        return EstimatorSpec(self.kind, tuple({**self.param_dict, **params}.items()))

    def build(self, seed: int) -> BaseEstimator:
        """A fresh, unfitted estimator seeded by ``seed``."""
        return KINDS[self.kind].build(self.param_dict, int(seed))

    def count(self, fitted: BaseEstimator) -> ParamCount:
        return KINDS[self.kind].count(fitted)

    def config(self) -> dict:
        """The spec as plain JSON types (for cache keys); a kind's non-zero ``version`` is included."""
        config = {"kind": self.kind, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}}
        if KINDS[self.kind].version:
            config["version"] = KINDS[self.kind].version
        return config


def qmoe(**params) -> EstimatorSpec:
    """A mixture-of-experts spec, e.g. ``qmoe(router="quantum", layers=3, lr=0.1)``."""
    return EstimatorSpec.of("qmoe", **params)


def phase1(model: str, **params) -> EstimatorSpec:
    """A Phase 1 model spec, e.g. ``phase1("qmoe", lr=0.01, max_epochs=8)``."""
    return EstimatorSpec.of("phase1", model=model, **params)


__all__ = ["EstimatorSpec", "KINDS", "Kind", "ParamCount", "phase1", "qmoe"]

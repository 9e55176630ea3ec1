"""The mixtures of experts as scikit-learn classifiers, so quantum and classical models share one
contract (``fit / predict / predict_proba / score``, ``clone``, ``GridSearchCV``, pipelines).

``QMoEClassifier`` (the paper's model: a router gating linear experts) and ``Phase1Classifier`` (the
authors' Phase 1 models: a classical router gating quantum experts, the standalone QNN, the classical
MoE) take every model and training choice as a constructor argument and learn their state into
attributes with a trailing underscore. Both are a ``TrainedClassifier``: one ``fit`` (the seeded
training loop ``qmoe_tfq.train.fit_model``), prediction and pickling, around a Keras model each
subclass builds. Early stopping works as in scikit-learn's
``MLPClassifier``: a stratified validation split carved from the training data (``validation_split``,
the same function the runner uses to score scikit-learn references on the same rows), the model
scored after every epoch, and the best epoch's weights restored. Unlike ``MLPClassifier``,
``n_iter_no_change=None`` trains every one of ``max_epochs`` epochs: a router can sit on the
experts-only plateau for many epochs before leaving it, so patience must not end such a run.

TensorFlow is imported only when a model is fitted or rebuilt.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from qmoe_tfq.config import ModelSpec
from qmoe_tfq.errors import ConfigError, check_choice, check_learning_rate, check_positive_int
from qmoe_tfq.phase1 import Phase1Spec, phase1_qubits

INPUT_SCALINGS = ("none", "standard")
# Stream of the estimator's seed that draws the validation split (init and batch order use the seed itself).
_VALIDATION_STREAM = 1


def seed_of(random_state) -> int:
    """An int seed from a scikit-learn ``random_state`` (an int is used as it is)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ConfigError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """``x_fit, x_val, y_fit, y_val``: a seeded validation split of ``fraction`` of the rows,
    stratified by ``y`` (unstratified when a class has a single row)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_fraction must be in (0, 1), got {fraction!r}")
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    split_seed = int(np.random.SeedSequence([seed, _VALIDATION_STREAM]).generate_state(1)[0])
    try:
        return tuple(train_test_split(x, y, test_size=fraction, stratify=stratify, random_state=split_seed))
    except ValueError as err:
        raise ConfigError(f"cannot carve a validation split of {fraction} from {len(y)} rows: {err}") from None


class TrainedClassifier(ClassifierMixin, BaseEstimator):
    """A Keras classifier trained with Adam on cross-entropy by ``qmoe_tfq.train.fit_model``.

    Subclasses hold the model's constructor arguments and the shared training ones (``input_scaling``,
    ``lr``, ``max_epochs``, ``batch_size``, ``early_stopping``, ``validation_fraction``,
    ``n_iter_no_change``, ``random_state``, ``verbose``) and implement ``_check_model_params`` (raise
    ConfigError on a bad model argument) and ``_new_model(n_features, n_classes, seed)`` (the Keras
    model, with ``gates(x)`` and ``param_counts()``). Training: ``input_scaling="standard"``
    z-scores the inputs (fit on the rows trained on) before the model sees them, ``"none"`` uses them
    as given. ``early_stopping`` carves ``validation_fraction`` of the rows for validation and
    restores the best epoch's weights; ``n_iter_no_change`` epochs without improvement stop training
    (``None``: never). ``random_state`` seeds initialisation, batch order and the validation split.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``model_`` (the Keras model),
    ``scaler_`` (or None), ``loss_curve_`` (mean training loss per epoch), ``validation_scores_``
    (validation accuracy per epoch, or None), ``best_validation_score_``, ``best_epoch_``,
    ``n_validation_`` (validation rows), ``n_epochs_``, ``n_params_`` (trainable parameters by part,
    with ``"total"``), ``train_seconds_``.
    """

    def _check_model_params(self) -> None:
        raise NotImplementedError

    def _new_model(self, n_features: int, n_classes: int, seed: int):
        raise NotImplementedError

    def _check_training_params(self) -> None:
        check_choice("input_scaling", self.input_scaling, INPUT_SCALINGS)
        check_learning_rate(self.lr)
        check_positive_int("max_epochs", self.max_epochs)
        check_positive_int("batch_size", self.batch_size)
        if self.n_iter_no_change is not None:
            check_positive_int("n_iter_no_change", self.n_iter_no_change)
        if self.early_stopping and not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    # ------------------------------------------------------------------------------------ fit
    def fit(self, X, y) -> TrainedClassifier:
        """Build the model from ``random_state`` and train it on ``X, y``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._check_model_params()
        self._check_training_params()
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; "
                             f"got 1 class ({self.classes_[0]!r})")
        seed = seed_of(self.random_state)
        x_fit, y_fit, validation = X, y_idx, None
        if self.early_stopping:
            x_fit, x_val, y_fit, y_val = validation_split(X, y_idx, self.validation_fraction, seed)
        self.scaler_ = StandardScaler().fit(x_fit) if self.input_scaling == "standard" else None
        if self.early_stopping:
            validation = (self.scale_inputs(x_val), y_val.astype(np.int32))
        self._seed = seed
        self.model_ = self._build(X.shape[1], len(self.classes_), seed)

        from qmoe_tfq.train import fit_model

        progress = None
        if self.verbose:
            progress = lambda e, loss: print(f"epoch {e + 1:>4}/{self.max_epochs}  loss {loss:.4f}", file=sys.stderr)  # noqa: E731
        history = fit_model(
            self.model_, self.scale_inputs(x_fit), y_fit.astype(np.int32), lr=float(self.lr),
            batch_size=int(self.batch_size), max_epochs=int(self.max_epochs), seed=seed, validation=validation,
            n_iter_no_change=self.n_iter_no_change if self.early_stopping else None, progress=progress,
        )
        self.loss_curve_ = history.losses
        self.validation_scores_ = history.validation_scores
        self.validation_losses_ = history.validation_losses
        self.best_epoch_ = history.best_epoch
        self.n_validation_ = 0 if validation is None else len(validation[1])
        self.best_validation_score_ = (
            None if history.validation_scores is None else history.validation_scores[history.best_epoch - 1]
        )
        self.n_epochs_ = history.n_epochs
        self.train_seconds_ = history.seconds
        counts = self.model_.param_counts()
        self.n_params_ = {**dataclasses.asdict(counts), "total": counts.total}
        return self

    def _build(self, n_features: int, n_classes: int, seed: int):
        import tensorflow as tf

        tf.random.set_seed(seed)
        return self._new_model(n_features, n_classes, seed)

    def scale_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the model sees it: z-scored with ``scaler_`` when ``input_scaling="standard"``, float32."""
        x = self.scaler_.transform(X) if self.scaler_ is not None else X
        return np.asarray(x, dtype=np.float32)

    # ------------------------------------------------------------------------------------ predict
    def _inputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.scale_inputs(validate_data(self, X, dtype=np.float64, reset=False))

    def logits(self, X) -> np.ndarray:
        """Class logits (n_samples, n_classes)."""
        import tensorflow as tf

        x = self._inputs(X)
        return self.model_(tf.constant(x)).numpy()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: the softmax of ``logits``, columns in the order of ``classes_``."""
        z = self.logits(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of highest logit."""
        z = self.logits(X)
        return self.classes_[np.argmax(z, axis=1)]

    def gates(self, X) -> np.ndarray:
        """The router's expert weights (n_samples, n_experts), each row summing to one."""
        import tensorflow as tf

        x = self._inputs(X)
        return self.model_.gates(tf.constant(x)).numpy()

    # ------------------------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        model = state.pop("model_", None)
        if model is not None:
            state["_model_weights"] = model.get_weights()
        return state

    def __setstate__(self, state: dict) -> None:
        weights = state.pop("_model_weights", None)
        self.__dict__.update(state)
        if weights is not None:
            self.model_ = self._build(self.n_features_in_, len(self.classes_), self._seed)
            self.model_.set_weights(weights)


class QMoEClassifier(TrainedClassifier):
    """A router gating ``n_experts`` linear experts, trained with Adam on cross-entropy.

    Model: ``router`` is ``quantum`` (RX embedding + ``ansatz`` of ``layers`` layers on ``n_qubits``
    qubits, read out as <Z_i> + a Dense adapter, or as basis probabilities), ``linear`` (Model A),
    ``mlp`` (Dense(``hidden``, relu) -> Dense(E)) or ``constant`` (uniform gates); see
    ``qmoe_tfq.config.ModelSpec`` for each option, including depolarizing ``noise``. Training and
    fitted attributes: ``TrainedClassifier`` (the package's datasets are angles in [0, pi], so
    ``input_scaling="none"`` feeds them as the authors did); ``n_params_`` is
    ``{"router", "experts", "total"}``.
    """

    def __init__(
        self,
        router: str = "quantum",
        *,
        layers: int = 3,
        hidden: int = 8,
        readout: str = "expectation",
        ansatz: str = "strongly_entangling",
        n_experts: int | None = None,
        n_qubits: int | None = None,
        differentiator: str = "adjoint",
        noise: float = 0.0,
        noise_placement: str = "authors",
        engine: str = "exact",
        repetitions: int = 1000,
        input_scaling: str = "none",
        lr: float = 0.1,
        max_epochs: int = 50,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int | None = 10,
        random_state=None,
        verbose: bool = False,
    ) -> None:
        self.router = router
        self.layers = layers
        self.hidden = hidden
        self.readout = readout
        self.ansatz = ansatz
        self.n_experts = n_experts
        self.n_qubits = n_qubits
        self.differentiator = differentiator
        self.noise = noise
        self.noise_placement = noise_placement
        self.engine = engine
        self.repetitions = repetitions
        self.input_scaling = input_scaling
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose

    def model_spec(self) -> ModelSpec:
        """The ``ModelSpec`` of the current parameters (validated: a bad value raises ConfigError)."""
        return ModelSpec(
            router=self.router, n_experts=self.n_experts, layers=self.layers, hidden=self.hidden,
            readout=self.readout, ansatz=self.ansatz, n_qubits=self.n_qubits,
            differentiator=self.differentiator, noise=self.noise, noise_placement=self.noise_placement,
            engine=self.engine, repetitions=self.repetitions,
        )

    def _check_model_params(self) -> None:
        self.model_spec()

    def _new_model(self, n_features: int, n_classes: int, seed: int):
        from qmoe_tfq.model import build_model

        return build_model(self.model_spec(), n_features, n_classes, seed)


class Phase1Classifier(TrainedClassifier):
    """One of the authors' Phase 1 models (``qmoe_tfq.phase1``), trained like every other mixture.

    ``model``: ``qmoe`` (a classical router Linear(d -> E) + softmax gating ``n_experts`` quantum
    experts: amplitude embedding of the d features on ``n_qubits`` qubits, StronglyEntanglingLayers
    of ``n_layers`` layers, <Z_i> readout), ``qnn`` (one such circuit, no router) or ``classical_moe``
    (the same router gating MLP experts Linear(d -> ``hidden``) -> ReLU -> Linear(hidden -> n_qubits));
    every model ends in a linear head Linear(n_qubits -> classes). ``n_qubits=None`` takes the fewest
    qubits whose amplitudes hold the features (ceil(log2 d): 4 for the authors' 16). The defaults are
    the authors' sizes and training (Adam lr 0.01, 8 epochs, batch 32); their inputs were unit-norm
    rows (``DataSpec(scaling="unit_norm")``) or pixel intensities, fed as given
    (``input_scaling="none"``). Training and fitted attributes: ``TrainedClassifier``; ``n_params_``
    is ``{"router", "experts", "head", "total"}``.
    """

    def __init__(
        self,
        model: str = "qmoe",
        *,
        n_qubits: int | None = None,
        n_layers: int = 2,
        n_experts: int = 3,
        hidden: int = 8,
        input_scaling: str = "none",
        lr: float = 0.01,
        max_epochs: int = 8,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int | None = 10,
        random_state=None,
        verbose: bool = False,
    ) -> None:
        self.model = model
        self.n_qubits = n_qubits
        self.n_layers = n_layers
        self.n_experts = n_experts
        self.hidden = hidden
        self.input_scaling = input_scaling
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose

    def phase1_spec(self, n_features: int, n_classes: int = 2) -> Phase1Spec:
        """The ``Phase1Spec`` of the current parameters for ``n_features`` inputs (validated)."""
        if self.n_qubits is not None:
            check_positive_int("n_qubits", self.n_qubits)
        n_qubits = phase1_qubits(n_features) if self.n_qubits is None else self.n_qubits
        return Phase1Spec(kind=self.model, n_features=n_features, n_qubits=n_qubits, n_layers=self.n_layers,
                          n_experts=self.n_experts, hidden=self.hidden, n_classes=n_classes)

    def _check_model_params(self) -> None:
        self.phase1_spec(1)

    def _new_model(self, n_features: int, n_classes: int, seed: int):
        from qmoe_tfq.phase1_model import Phase1Model

        return Phase1Model(self.phase1_spec(n_features, n_classes), seed)

def final_estimator(estimator) -> BaseEstimator:
    """The last step of a pipeline (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


__all__ = ["INPUT_SCALINGS", "Phase1Classifier", "QMoEClassifier", "TrainedClassifier", "final_estimator", "seed_of",
           "validation_split"]

"""The mixture of experts as a scikit-learn classifier, so quantum and classical models share one
contract (``fit / predict / predict_proba / score``, ``clone``, ``GridSearchCV``, pipelines).

``QMoEClassifier`` takes every model and training choice as a constructor argument and learns its
state into attributes with a trailing underscore. Early stopping works as in scikit-learn's
``MLPClassifier``: a stratified validation split carved from the training data (``validation_split``,
the same function the runner uses to score scikit-learn references on the same rows), the model
scored after every epoch, and the best epoch's weights restored. Unlike ``MLPClassifier``,
``n_iter_no_change=None`` trains every one of ``max_epochs`` epochs: a router can sit on the
experts-only plateau for many epochs before leaving it, so patience must not end such a run.

TensorFlow is imported only when a model is fitted or rebuilt.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from qmoe_tfq.config import ModelSpec
from qmoe_tfq.errors import ConfigError, check_choice, check_learning_rate, check_positive_int

INPUT_SCALINGS = ("none", "standard")
# Streams of the estimator's seed: the validation split, and the initialisation of restarts r >= 1
# (restart 0 initialises and orders batches from the seed itself).
_VALIDATION_STREAM = 1
_RESTART_STREAM = 2


def seed_of(random_state) -> int:
    """An int seed from a scikit-learn ``random_state`` (an int is used as it is)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ConfigError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def restart_seed(seed: int, restart: int) -> int:
    """The seed of initialisation and batch order for random restart ``restart`` of ``seed`` (0: ``seed``)."""
    if restart == 0:
        return int(seed)
    return int(np.random.SeedSequence([seed, _RESTART_STREAM, restart]).generate_state(1)[0])


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


class QMoEClassifier(ClassifierMixin, BaseEstimator):
    """A router gating ``n_experts`` linear experts, trained with Adam on cross-entropy.

    Model: ``router`` is ``quantum`` (RX embedding + ``ansatz`` of ``layers`` layers on ``n_qubits``
    qubits, read out as <Z_i> + a Dense adapter, or as basis probabilities; ``frozen_circuit=True``
    trains the adapter only), ``linear`` (Model A), ``mlp`` (Dense(``hidden``, relu) -> Dense(E)),
    ``constant`` (uniform gates) or ``fourier`` / ``fourier_rank`` (a router on the trigonometric
    features of the quantum router's function class); see ``qmoe_tfq.config.ModelSpec`` and
    ``qmoe_tfq.router_families`` for each option, including depolarizing ``noise``. Training:
    ``lr``, ``max_epochs``, ``batch_size``; ``input_scaling="standard"`` z-scores the inputs (fit on
    the rows trained on) before router and experts see them, ``"none"`` uses them as given (the
    package's datasets are angles in [0, pi]). ``early_stopping`` carves ``validation_fraction`` of
    the rows for validation and restores the best epoch's weights; ``n_iter_no_change`` epochs
    without improvement stop training (``None``: never). ``random_state`` seeds initialisation,
    batch order and the validation split. ``restart=r`` (r >= 1) draws initialisation and batch order
    from another stream of the same seed while keeping its validation split, so the restarts of one
    seed can be compared on the same validation rows (``restart=0`` is the plain run).

    Fitted attributes: ``classes_``, ``n_features_in_``, ``model_`` (the Keras model),
    ``scaler_`` (or None), ``loss_curve_`` (mean training loss per epoch), ``validation_scores_``
    (validation accuracy per epoch, or None), ``best_validation_score_``, ``best_epoch_``,
    ``n_validation_`` (validation rows), ``n_epochs_``, ``n_params_`` (``{"router", "experts", "total"}``), ``train_seconds_``.
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
        frozen_circuit: bool = False,
        input_scaling: str = "none",
        lr: float = 0.1,
        max_epochs: int = 50,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int | None = 10,
        restart: int = 0,
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
        self.frozen_circuit = frozen_circuit
        self.input_scaling = input_scaling
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.restart = restart
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------------ spec
    def model_spec(self) -> ModelSpec:
        """The ``ModelSpec`` of the current parameters (validated: a bad value raises ConfigError)."""
        return ModelSpec(
            router=self.router, n_experts=self.n_experts, layers=self.layers, hidden=self.hidden,
            readout=self.readout, ansatz=self.ansatz, n_qubits=self.n_qubits,
            differentiator=self.differentiator, noise=self.noise, noise_placement=self.noise_placement,
            engine=self.engine, repetitions=self.repetitions, frozen_circuit=self.frozen_circuit,
        )

    def _check_training_params(self) -> None:
        check_choice("input_scaling", self.input_scaling, INPUT_SCALINGS)
        check_learning_rate(self.lr)
        check_positive_int("max_epochs", self.max_epochs)
        check_positive_int("batch_size", self.batch_size)
        if self.n_iter_no_change is not None:
            check_positive_int("n_iter_no_change", self.n_iter_no_change)
        if isinstance(self.restart, bool) or not isinstance(self.restart, (int, np.integer)) or self.restart < 0:
            raise ConfigError(f"restart must be an integer >= 0 (0: the plain run), got {self.restart!r}")
        if self.early_stopping and not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    # ------------------------------------------------------------------------------------ fit
    def fit(self, X, y) -> QMoEClassifier:
        """Build the model from ``random_state`` and train it on ``X, y``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        spec = self.model_spec()
        self._check_training_params()
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"QMoEClassifier needs samples of at least 2 classes; got 1 class ({self.classes_[0]!r})")
        seed = seed_of(self.random_state)
        x_fit, y_fit, validation = X, y_idx, None
        if self.early_stopping:
            x_fit, x_val, y_fit, y_val = validation_split(X, y_idx, self.validation_fraction, seed)
        self.scaler_ = StandardScaler().fit(x_fit) if self.input_scaling == "standard" else None
        if self.early_stopping:
            validation = (self.scale_inputs(x_val), y_val.astype(np.int32))
        self._seed = restart_seed(seed, int(self.restart))
        self.model_ = self._build(spec, X.shape[1], len(self.classes_), self._seed)

        from qmoe_tfq.train import fit_model

        progress = None
        if self.verbose:
            progress = lambda e, loss: print(f"epoch {e + 1:>4}/{self.max_epochs}  loss {loss:.4f}", file=sys.stderr)  # noqa: E731
        history = fit_model(
            self.model_, self.scale_inputs(x_fit), y_fit.astype(np.int32), lr=float(self.lr),
            batch_size=int(self.batch_size), max_epochs=int(self.max_epochs), seed=self._seed, validation=validation,
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
        self.n_params_ = {"router": counts.router, "experts": counts.experts, "total": counts.total}
        return self

    @staticmethod
    def _build(spec: ModelSpec, n_features: int, n_classes: int, seed: int):
        import tensorflow as tf

        from qmoe_tfq.model import build_model

        tf.random.set_seed(seed)
        return build_model(spec, n_features, n_classes, seed)

    def scale_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the model sees it: z-scored with ``scaler_`` when ``input_scaling="standard"``, float32."""
        x = self.scaler_.transform(X) if self.scaler_ is not None else X
        return np.asarray(x, dtype=np.float32)

    # ------------------------------------------------------------------------------------ predict
    def _inputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.scale_inputs(validate_data(self, X, dtype=np.float64, reset=False))

    def logits(self, X) -> np.ndarray:
        """Class logits (n_samples, n_classes): sum_e gate_e(x) * expert_e(x)."""
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
            self.model_ = self._build(self.model_spec(), self.n_features_in_, len(self.classes_), self._seed)
            self.model_.set_weights(weights)


def final_estimator(estimator) -> BaseEstimator:
    """The last step of a pipeline (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


__all__ = ["INPUT_SCALINGS", "QMoEClassifier", "final_estimator", "restart_seed", "seed_of", "validation_split"]

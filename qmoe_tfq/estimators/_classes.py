"""Stage: estimators. The mixtures of experts as scikit-learn classifiers, so quantum and classical models share one
contract (``fit / predict / predict_proba / score``, ``clone``, ``GridSearchCV``, pipelines).

``QMoEClassifier`` (the paper's model: a router gating linear experts) and ``Phase1Classifier`` (the
authors' Phase 1 models: a classical router gating quantum experts, the standalone QNN, the classical
MoE) take every model and training choice as a constructor argument and learn their state into
attributes with a trailing underscore; both are a ``TrainedClassifier``, which holds the one ``fit``
(``fit_many``), prediction and pickling. Early stopping works as in scikit-learn's
``MLPClassifier``: a stratified validation split carved from the training data (``validation_split``,
the same function the runner uses to score scikit-learn references on the same rows), the model
scored after every epoch, and the best epoch's weights restored. Unlike ``MLPClassifier``,
``n_iter_no_change=None`` trains every one of ``max_epochs`` epochs: a router can sit on the
experts-only plateau for many epochs before leaving it, so patience must not end such a run.

TensorFlow is imported only when a model is fitted or rebuilt.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from qmoe_tfq.core.cache import ThreadCache
from qmoe_tfq.core.errors import ConfigError, TrainingDiverged, check_choice, check_learning_rate, check_positive_int
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.phase1 import Phase1Spec, phase1_qubits

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


class TrainedClassifier(ClassifierMixin, BaseEstimator):
    """A Keras classifier trained with Adam on cross-entropy: the ``fit`` / predict / pickling that
    ``QMoEClassifier`` and ``Phase1Classifier`` share, around a model each subclass describes.

    A subclass holds its model's constructor arguments and the shared training ones
    (``input_scaling``, ``lr``, ``max_epochs``, ``batch_size``, ``early_stopping``,
    ``validation_fraction``, ``n_iter_no_change``, ``random_state``, ``verbose``) and implements
    ``_spec()`` (the validated model spec, hashable), ``_build(spec, n_features, n_classes, seed)``
    (the Keras model, with ``gates(x)``), ``_param_counts()`` (trainable parameters by part, with
    ``"total"``). ``fit`` goes through ``fit_many``: a stack (``qmoe_tfq.training.stack._base``; ``_stackable``
    asks ``stacked.supports``), or the Keras loop ``qmoe_tfq.training.train.fit_model`` for a model a stack
    cannot hold; a stacked model also predicts through a stack (``_predictor``).

    Training: ``input_scaling="standard"`` z-scores the inputs (fit on the rows trained on) before
    the model sees them, ``"none"`` uses them as given. ``early_stopping`` carves
    ``validation_fraction`` of the rows for validation and restores the best epoch's weights;
    ``n_iter_no_change`` epochs without improvement stop training (``None``: never).
    ``random_state`` seeds initialisation, batch order and the validation split.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``weights_`` (the model's ``get_weights()``
    order), ``model_`` (the Keras model, built from ``weights_`` when first used), ``scaler_`` (or
    None), ``diverged_`` (the loss turned non-finite; only in stacks of several), ``loss_curve_``
    (mean training loss per epoch), ``validation_scores_`` (validation accuracy per epoch, or None),
    ``validation_losses_`` (validation cross-entropy per epoch, or None), ``best_validation_score_``, ``best_epoch_``, ``n_validation_`` (validation rows), ``n_epochs_``,
    ``n_params_``, ``train_seconds_``.
    """

    def _spec(self):
        raise NotImplementedError

    def _build(self, spec, n_features: int, n_classes: int, seed: int):
        raise NotImplementedError

    def _param_counts(self) -> dict:
        raise NotImplementedError

    def _stackable(self, spec) -> bool:
        """Whether runs of ``spec`` can train as one stack (``qmoe_tfq.training.stack._base``)."""
        from qmoe_tfq.training import stack as stacked

        return stacked.supports(spec)

    def _training_seed(self, seed: int) -> int:
        """The seed of initialisation and batch order, from the estimator's seed."""
        return int(seed)

    def _check_model_params(self) -> None:
        """Raise ConfigError on a bad model argument (before any data is seen)."""
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
        """Build the model from ``random_state`` and train it on ``X, y``.

        Training reuses a compiled training program this thread built before for the same model and
        shapes (``fit_many(reuse=True)``: the same numbers, tested, without tracing the graph again);
        the fitted weights are then copied out, so the estimator depends on nothing shared."""
        fit_many([self], [(X, y)], reuse=True)
        for shared in ("_stack", "_lane"):
            self.__dict__.pop(shared, None)
        return self

    def _prepare(self, X, y) -> _Prepared:
        """Validate the parameters and data; the rows to train and validate on, as the model sees them."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._check_model_params()
        self._check_training_params()
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class ({self.classes_[0]!r})"
            )
        spec = self._spec()
        seed = seed_of(self.random_state)
        x_fit, y_fit, validation = X, y_idx, None
        if self.early_stopping:
            x_fit, x_val, y_fit, y_val = validation_split(X, y_idx, self.validation_fraction, seed)
        self.scaler_ = StandardScaler().fit(x_fit) if self.input_scaling == "standard" else None
        if self.early_stopping:
            validation = (self.scale_inputs(x_val), y_val.astype(np.int32))
        self._seed = self._training_seed(seed)
        for stale in ("_stack", "_lane", "_model"):
            self.__dict__.pop(stale, None)
        return _Prepared(self, spec, self._seed, self.scale_inputs(x_fit), y_fit.astype(np.int32), validation)

    def _finish(self, history, weights: list[np.ndarray], stack=None, lane: int = 0) -> None:
        """Record what training produced (``history``: one member's record) and the final weights."""
        self.weights_ = weights
        if stack is not None:
            self._stack, self._lane = stack, lane
        self.loss_curve_ = history["losses"]
        self.validation_scores_ = history["validation_scores"]
        self.validation_losses_ = history["validation_losses"]
        self.best_epoch_ = history["best_epoch"]
        self.n_validation_ = history["n_validation"]
        self.best_validation_score_ = (  # None also when no epoch was scored (diverged in the first)
            None
            if self.validation_scores_ is None or self.best_epoch_ is None
            else self.validation_scores_[self.best_epoch_ - 1]
        )
        self.n_epochs_ = len(self.loss_curve_)
        self.diverged_ = history["diverged"]
        self.train_seconds_ = history["seconds"]
        self.n_params_ = self._param_counts()

    @property
    def model_(self):
        """The fitted Keras model (built from ``weights_`` when first asked for)."""
        if "weights_" not in self.__dict__:
            raise AttributeError("model_ exists once the estimator is fitted")
        if self.__dict__.get("_model") is None:
            self._model = self._build(self._spec(), self.n_features_in_, len(self.classes_), self._seed)
            self._model.set_weights(self.weights_)
        return self._model

    def scale_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the model sees it: z-scored with ``scaler_`` when ``input_scaling="standard"``, float32."""
        x = self.scaler_.transform(X) if self.scaler_ is not None else X
        return np.asarray(x, dtype=np.float32)

    # ------------------------------------------------------------------------------------ predict
    def _inputs(self, X) -> np.ndarray:
        check_is_fitted(self, "weights_")
        return self.scale_inputs(validate_data(self, X, dtype=np.float64, reset=False))

    def _predictor(self):
        """(stack, lane) that evaluates this model: the stack it was trained in, or a stack of one;
        (None, 0) for a model no stack holds (then the Keras model ``model_``)."""
        if self.__dict__.get("_stack") is not None:
            return self._stack, self._lane
        spec = self._spec()
        if not self._stackable(spec):
            return None, 0
        stack = _predictor_stack(spec, self.n_features_in_, len(self.classes_), self._seed)
        stack.set_member_weights(0, self.weights_)
        return stack, 0

    def logits(self, X) -> np.ndarray:
        """Class logits (n_samples, n_classes)."""
        x = self._inputs(X)
        stack, lane = self._predictor()
        if stack is None:
            import tensorflow as tf

            return self.model_(tf.constant(x)).numpy()
        return stack.member_output(lane, x, "logits")

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
        x = self._inputs(X)
        stack, lane = self._predictor()
        if stack is None:
            import tensorflow as tf

            return self.model_.gates(tf.constant(x)).numpy()
        return stack.member_output(lane, x, "gates")

    # ------------------------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for private in ("_stack", "_lane", "_model"):
            state.pop(private, None)
        return state


class QMoEClassifier(TrainedClassifier):
    """A router gating ``n_experts`` linear experts, trained with Adam on cross-entropy.

    The paper's model as a scikit-learn classifier: a router (quantum, or one of the classical
    baselines) whose softmax gates weight ``n_experts`` linear experts, output
    ``sum_e gate_e * expert_e(x)``. Every model and training choice is a constructor argument, so
    ``clone``, ``get_params`` / ``set_params``, pipelines and ``GridSearchCV`` work on it. Training
    runs as a stack of one (``qmoe_tfq.training.stack._base``; ``fit_many`` fits several estimators in one
    stack), so a run gives the same numbers alone or beside others.

    Parameters
    ----------
    router : str, default "quantum"
        The router family: ``quantum`` (RX embedding + ``ansatz`` of ``layers`` layers on
        ``n_qubits`` qubits, read out as <Z_i> + a Dense adapter, or as basis probabilities),
        ``linear`` (Model A: Dense(E) + softmax), ``mlp`` (Model C: Dense(``hidden``, relu) ->
        Dense(E) + softmax), ``constant`` (uniform gates, no parameters: the floor every router
        must beat), ``fourier`` or ``fourier_rank`` (a classical router on the trigonometric
        features of the quantum router's function class). See ``qmoe_tfq.specs.config.ModelSpec``.
    layers : int, default 3
        Variational layers of the quantum router's ansatz.
    hidden : int, default 8
        Hidden units of the ``mlp`` router.
    readout : {"expectation", "probabilities"}, default "expectation"
        Quantum router only: <Z_i> per qubit then a trainable Dense adapter + softmax (the
        authors' notebooks), or the 2^n basis-state probabilities as the gates (the paper's text;
        2^n experts, no adapter).
    ansatz : {"strongly_entangling", "ry_cz", "strongly_entangling_no_cnot"}, default "strongly_entangling"
        Quantum router only: PennyLane's ``StronglyEntanglingLayers`` as the authors used it, the
        paper text's RY + CZ ring, or the authors' layers without CNOTs (the entanglement
        ablation).
    n_experts : int or None, default None
        Number of linear experts E; None means 2 (2^n with ``readout="probabilities"``).
    n_qubits : int or None, default None
        Qubits of the quantum router (at most 12; also the rank of ``fourier_rank``); None means
        one qubit per feature.
    differentiator : {"adjoint", "parameter_shift"}, default "adjoint"
        Gradient method of TFQ's analytic op (``parameter_shift`` also makes the engine TFQ).
    noise : float, default 0.0
        Single-qubit depolarizing probability in [0, 1] on the router circuit (quantum router only).
    noise_placement : {"authors", "every_gate"}, default "authors"
        Where the depolarizing channels go: once after the embedding and once after the ansatz (the
        authors' notebook), or after every gate (the paper's text).
    engine : {"exact", "tfq_sampled"}, default "exact"
        Noisy routers: the exact density-matrix simulation, or TFQ's Monte-Carlo trajectories.
    repetitions : int, default 1000
        Trajectories per expectation value with ``engine="tfq_sampled"``.
    frozen_circuit : bool, default False
        Keep the circuit's random initial angles fixed and train only the adapter (an ablation;
        an error with a classical router).
    init : {"pytorch", "glorot"}, default "pytorch"
        Initialisation of the classical layers (router, adapter, experts): PyTorch's ``nn.Linear``
        default, as the authors ran, or Keras' Glorot default (``qmoe_tfq.models.initializers``).
    input_scaling : {"none", "standard"}, default "none"
        ``standard`` z-scores the inputs (fit on the rows trained on); ``none`` feeds them as given,
        as the authors did with angles in [0, pi].
    lr : float, default 0.1
        Adam learning rate.
    max_epochs : int, default 50
        Training epochs (at most, with early stopping).
    batch_size : int, default 32
        Minibatch size.
    early_stopping : bool, default False
        Carve a stratified ``validation_fraction`` of the training rows for validation, score the
        model after every epoch and restore the best epoch's weights, as scikit-learn's
        ``MLPClassifier`` does.
    validation_fraction : float, default 0.1
        Fraction of the training rows held out for validation when ``early_stopping``.
    n_iter_no_change : int or None, default 10
        Stop after this many epochs without a better validation score; None trains every epoch
        (a router can sit on the experts-only plateau for many epochs before leaving it).
    restart : int, default 0
        Random restart r >= 1 draws initialisation and batch order from another stream of the same
        seed, with the same validation split, so restarts of one seed are compared on the same
        validation rows; 0 is the plain run.
    random_state : int, RandomState instance or None, default None
        Seeds initialisation, batch order and the validation split.
    verbose : bool, default False
        Print the training loss after every epoch to stderr.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    weights_ : list of ndarray
        The trained weights, in ``MixtureOfExperts.get_weights()`` order.
    model_ : tf_keras.Model
        The Keras model, built from ``weights_`` when first asked for.
    scaler_ : StandardScaler or None
        The input scaler with ``input_scaling="standard"``, else None.
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_scores_ : list of float or None
        Validation accuracy per epoch (None without ``early_stopping``).
    validation_losses_ : list of float or None
        Validation cross-entropy per epoch (None without ``early_stopping``).
    best_validation_score_ : float or None
        The best validation accuracy (None without ``early_stopping``).
    best_epoch_ : int or None
        The best-validation epoch (1-based), whose weights were restored (None without
        ``early_stopping``: the last epoch's weights are kept).
    n_validation_ : int
        Validation rows (0 without ``early_stopping``).
    n_epochs_ : int
        Epochs trained.
    n_params_ : dict
        Trainable parameters, ``{"router", "experts", "total"}``.
    diverged_ : bool
        The loss turned non-finite (only in stacks of several; fitted alone, such a run raises
        ``TrainingDiverged``).
    train_seconds_ : float
        Wall time of training (a stacked run: its share of the stack's).

    See Also
    --------
    Phase1Classifier : the authors' Phase 1 models (classical router, quantum experts).
    fit_many : fit several estimators as one stack.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from qmoe_tfq.estimators import QMoEClassifier
    >>> X, y = make_moons(40, noise=0.1, random_state=0)
    >>> clf = QMoEClassifier("quantum", layers=1, max_epochs=2, random_state=0)
    >>> clf.get_params()["router"], clf.get_params()["lr"]
    ('quantum', 0.1)
    >>> clf = clf.fit(X, y)
    >>> clf.n_params_
    {'router': 12, 'experts': 12, 'total': 24}
    >>> clf.n_epochs_, clf.predict(X[:3]).shape, clf.gates(X[:3]).shape
    (2, (3,), (3, 2))
    >>> 0.0 <= clf.score(X, y) <= 1.0
    True

    With early stopping on a validation split, the per-epoch validation curves are recorded:

    >>> clf = QMoEClassifier("linear", max_epochs=2, early_stopping=True, validation_fraction=0.25,
    ...                      n_iter_no_change=None, random_state=0).fit(X, y)
    >>> clf.n_validation_, len(clf.validation_scores_), len(clf.validation_losses_)
    (10, 2, 2)
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
        init: str = "pytorch",
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
        self.init = init
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
            router=self.router,
            n_experts=self.n_experts,
            layers=self.layers,
            hidden=self.hidden,
            readout=self.readout,
            ansatz=self.ansatz,
            n_qubits=self.n_qubits,
            differentiator=self.differentiator,
            noise=self.noise,
            noise_placement=self.noise_placement,
            engine=self.engine,
            repetitions=self.repetitions,
            frozen_circuit=self.frozen_circuit,
            init=self.init,
        )

    def _spec(self) -> ModelSpec:
        return self.model_spec()

    def _check_model_params(self) -> None:
        self.model_spec()

    def _check_training_params(self) -> None:
        super()._check_training_params()
        if isinstance(self.restart, bool) or not isinstance(self.restart, (int, np.integer)) or self.restart < 0:
            raise ConfigError(f"restart must be an integer >= 0 (0: the plain run), got {self.restart!r}")

    def _training_seed(self, seed: int) -> int:
        return restart_seed(seed, int(self.restart))

    def _param_counts(self) -> dict:
        from qmoe_tfq.specs.config import param_counts

        counts = param_counts(self.model_spec(), self.n_features_in_, len(self.classes_))
        return {"router": counts.router, "experts": counts.experts, "total": counts.total}

    @staticmethod
    def _build(spec: ModelSpec, n_features: int, n_classes: int, seed: int):
        import tensorflow as tf

        from qmoe_tfq.models.mixture import build_model

        tf.random.set_seed(seed)
        return build_model(spec, n_features, n_classes, seed)


class Phase1Classifier(TrainedClassifier):
    """One of the authors' Phase 1 models (``qmoe_tfq.specs.phase1``), trained like every other mixture.

    Every model ends in a linear head Linear(n_qubits -> classes). The defaults are the authors'
    sizes and training (Adam lr 0.01, 8 epochs, batch 32); their inputs were unit-norm rows
    (``DataSpec(scaling="unit_norm")``) or pixel intensities, fed as given
    (``input_scaling="none"``). Training runs as a stack (``qmoe_tfq.training.stack._phase1``) on the
    state-vector engine, in the Keras loop on TFQ's.

    Parameters
    ----------
    model : {"qmoe", "qnn", "classical_moe"}, default "qmoe"
        ``qmoe``: a classical router Linear(d -> E) + softmax gating ``n_experts`` quantum experts
        (amplitude embedding of the d features on ``n_qubits`` qubits, StronglyEntanglingLayers of
        ``n_layers`` layers, <Z_i> readout); ``qnn``: one such circuit, no router;
        ``classical_moe``: the same router gating MLP experts Linear(d -> ``hidden``) -> ReLU ->
        Linear(hidden -> n_qubits).
    n_qubits : int or None, default None
        Qubits of each quantum expert; None takes the fewest whose amplitudes hold the features
        (ceil(log2 d): 4 for the authors' 16).
    n_layers : int, default 2
        StronglyEntanglingLayers per quantum expert.
    n_experts : int, default 3
        Experts gated by the router (``qmoe``, ``classical_moe``).
    hidden : int, default 8
        Hidden units of the ``classical_moe`` experts.
    simulator : {"statevector", "tfq"}, default "statevector"
        The quantum experts' engine (``tfq`` is the reference).
    router : {"linear", "amplitude", "quantum"}, default "linear"
        The router: the authors' Linear(d -> E) + softmax, or a quantum router family (the fully
        quantum mixture, ``qmoe_tfq.models.fully_quantum``; state-vector engine only).
    router_layers : int, default 3
        Strongly entangling layers of a quantum router.
    noise : float, default 0.0
        Single-qubit depolarizing probability on every circuit of the model (router and experts;
        the authors' placement: after the embedding and after the layers).
    input_scaling, lr, max_epochs, batch_size, early_stopping, validation_fraction, n_iter_no_change, random_state, verbose
        Training, as in ``QMoEClassifier`` (defaults: ``"none"``, 0.01, 8, 32, False, 0.1, 10,
        None, False).

    Attributes
    ----------
    n_params_ : dict
        Trainable parameters, ``{"router", "experts", "head", "total"}``.
    classes_, n_features_in_, weights_, model_, scaler_, loss_curve_, validation_scores_, validation_losses_, best_validation_score_, best_epoch_, n_validation_, n_epochs_, diverged_, train_seconds_
        As in ``QMoEClassifier``.

    See Also
    --------
    QMoEClassifier : the paper's model (a router gating linear experts).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from qmoe_tfq.estimators import Phase1Classifier
    >>> X, y = make_moons(40, noise=0.1, random_state=0)
    >>> clf = Phase1Classifier("qmoe", max_epochs=1, random_state=0).fit(X, y)
    >>> clf.n_params_
    {'router': 9, 'experts': 18, 'head': 4, 'total': 31}
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    def __init__(
        self,
        model: str = "qmoe",
        *,
        n_qubits: int | None = None,
        n_layers: int = 2,
        n_experts: int = 3,
        hidden: int = 8,
        simulator: str = "statevector",
        router: str = "linear",
        router_layers: int = 3,
        noise: float = 0.0,
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
        self.simulator = simulator
        self.router = router
        self.router_layers = router_layers
        self.noise = noise
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
        return Phase1Spec(
            kind=self.model,
            n_features=n_features,
            n_qubits=n_qubits,
            n_layers=self.n_layers,
            n_experts=self.n_experts,
            hidden=self.hidden,
            n_classes=n_classes,
            simulator=self.simulator,
            router=self.router,
            router_layers=self.router_layers,
            noise=self.noise,
        )

    def _check_model_params(self) -> None:
        self.phase1_spec(1)

    def _spec(self) -> Phase1Spec:
        return self.phase1_spec(self.n_features_in_, len(self.classes_))

    def _build(self, spec: Phase1Spec, n_features: int, n_classes: int, seed: int):
        import tensorflow as tf

        from qmoe_tfq.models.phase1 import Phase1Model

        tf.random.set_seed(seed)
        return Phase1Model(spec, seed)

    def _param_counts(self) -> dict:
        counts = self._spec().param_counts()
        return {"router": counts.router, "experts": counts.experts, "head": counts.head, "total": counts.total}


@dataclass
class _Prepared:
    """One estimator's validated training rows (as the model sees them) and validation rows."""

    estimator: TrainedClassifier
    spec: ModelSpec | Phase1Spec
    seed: int
    x: np.ndarray
    y: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None

    def stack_key(self) -> tuple:
        """Runs with equal keys can share a stack: same model, shapes and training schedule."""
        e = self.estimator
        n_val = None if self.validation is None else len(self.validation[1])
        from qmoe_tfq.training.stack import stack_spec

        spec = stack_spec(self.spec) if e._stackable(self.spec) else self.spec
        return (
            spec,
            self.x.shape,
            len(e.classes_),
            n_val,
            int(e.batch_size),
            int(e.max_epochs),
            e.n_iter_no_change if e.early_stopping else None,
        )


_PREDICTORS = ThreadCache(size=16)


def _predictor_stack(spec, n_features: int, n_classes: int, seed: int):
    """A stack of one member for evaluating a fitted estimator, kept per thread and shape (at most
    ``_PREDICTORS.size``): the caller loads its weights before each use, so predicting neither
    rebuilds a stack per call nor stores one on the estimator (``predict`` leaves it unchanged)."""
    from qmoe_tfq.training import stack as stacked

    return _PREDICTORS.get_or_make(
        (spec, n_features, n_classes, seed), lambda: stacked.new_stack(spec, n_features, n_classes, [seed])
    )


def fit_many(
    estimators: list[TrainedClassifier], data: list[tuple], progress: bool = False, reuse: bool = False
) -> list[TrainedClassifier]:
    """Fit every estimator on its own ``(X, y)``, as few stacks as possible.

    Runs of the same model, shapes and schedule train together as one stack
    (``qmoe_tfq.training.stack._base``), each exactly as it would alone. A run whose loss turns non-finite
    raises ``TrainingDiverged`` when it is fitted alone; in a stack of several it is marked
    ``diverged_`` and keeps its best (or last finite) weights, so the others still finish.

    Parameters
    ----------
    estimators : list of TrainedClassifier
        Unfitted (or refitted) estimators, fitted in place.
    data : list of tuple
        One ``(X, y)`` per estimator.
    progress : bool, default False
        Print per-epoch losses to stderr.
    reuse : bool, default False
        Train in stacks this process keeps and reuses (``stacked.reusable_stack``): faster, but
        an estimator fitted so predicts through its stack only until the next call (the runner's
        use).

    Returns
    -------
    list of TrainedClassifier
        ``estimators``, fitted.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from qmoe_tfq.estimators import QMoEClassifier, fit_many
    >>> X, y = make_moons(40, noise=0.1, random_state=0)
    >>> models = [QMoEClassifier("linear", max_epochs=2, lr=lr, random_state=0) for lr in (0.01, 0.1)]
    >>> [m.n_params_["total"] for m in fit_many(models, [(X, y), (X, y)])]
    [18, 18]
    """
    from qmoe_tfq.training import stack as stacked

    prepared = [e._prepare(X, y) for e, (X, y) in zip(estimators, data)]
    groups: dict[tuple, list[_Prepared]] = {}
    for p in prepared:
        groups.setdefault(p.stack_key(), []).append(p)
    for group in groups.values():
        first = group[0].estimator
        if first._stackable(group[0].spec):
            _fit_stack(group, stacked, progress or first.verbose, reuse)
        else:
            for p in group:
                _fit_alone(p, reuse)
    if len(prepared) == 1 and prepared[0].estimator.diverged_:
        e = prepared[0].estimator
        raise TrainingDiverged(
            f"training diverged: the loss of epoch {e.n_epochs_} is {e.loss_curve_[-1]} (lr {e.lr}); "
            "try a smaller learning rate"
        )
    return estimators


def _history(losses, scores, val_losses, best_epoch, n_validation, diverged, seconds) -> dict:
    return {
        "losses": losses,
        "validation_scores": scores,
        "validation_losses": val_losses,
        "best_epoch": best_epoch,
        "n_validation": n_validation,
        "diverged": bool(diverged),
        "seconds": seconds,
    }


def _fit_stack(group: list[_Prepared], stacked, verbose: bool, reuse: bool) -> None:
    first = group[0]
    e0 = first.estimator
    shape = (first.spec, first.x.shape[1], len(e0.classes_), [p.seed for p in group])
    noise = [p.spec.noise for p in group] if isinstance(first.spec, ModelSpec) else None
    trainer = None
    if reuse:
        stack, trainer = stacked.reusable_stack(*shape, batch_size=int(e0.batch_size), noise=noise)
    else:
        stack = stacked.new_stack(*shape, noise=noise)
    validation = None
    if first.validation is not None:
        validation = (np.stack([p.validation[0] for p in group]), np.stack([p.validation[1] for p in group]))
    progress = None
    if verbose:
        progress = (
            lambda e, losses: print(  # noqa: E731
                f"epoch {e + 1:>4}/{e0.max_epochs}  loss " + " ".join(f"{v:.4f}" for v in losses[:8]), file=sys.stderr
            )
        )
    h = stacked.fit_stack(
        stack,
        np.stack([p.x for p in group]),
        np.stack([p.y for p in group]),
        lr=np.array([float(p.estimator.lr) for p in group]),
        seeds=[p.seed for p in group],
        batch_size=int(e0.batch_size),
        max_epochs=int(e0.max_epochs),
        validation=validation,
        n_iter_no_change=e0.n_iter_no_change if e0.early_stopping else None,
        progress=progress,
        trainer=trainer,
    )
    n_val = 0 if validation is None else validation[1].shape[1]
    for i, p in enumerate(group):
        hist = _history(
            h.losses[i],
            None if h.validation_scores is None else h.validation_scores[i],
            None if h.validation_losses is None else h.validation_losses[i],
            h.best_epoch[i],
            n_val,
            h.diverged[i],
            h.seconds,
        )
        p.estimator._finish(hist, stack.member_weights(i), stack, i)


def _fit_alone(p: _Prepared, reuse: bool = False) -> None:
    """The Keras training loop, for models a stack cannot hold (sampled engines, TFQ's Phase 1 experts).
    ``reuse=True`` trains on a trainer this process traced before for the same architecture and
    shapes (``train.reusable_trainer``): the same numbers without the tracing."""
    from qmoe_tfq.training.train import fit_model, reusable_trainer

    e = p.estimator
    n_features = p.x.shape[1]
    architecture = (p.spec, n_features, len(e.classes_))
    model = e._build(*architecture, p.seed)
    trainer = None
    if reuse:
        trainer = reusable_trainer(
            (type(e).__name__, *architecture),
            lambda: e._build(*architecture, p.seed),
            model,
            n_features,
            float(e.lr),
            int(e.batch_size),
        )
    trained = model if trainer is None else trainer.model
    h = fit_model(
        trained,
        p.x,
        p.y,
        lr=float(e.lr),
        batch_size=int(e.batch_size),
        max_epochs=int(e.max_epochs),
        seed=p.seed,
        validation=p.validation,
        n_iter_no_change=e.n_iter_no_change if e.early_stopping else None,
        trainer=trainer,
    )
    weights = trained.get_weights()
    e._finish(
        _history(
            h.losses,
            h.validation_scores,
            h.validation_losses,
            h.best_epoch,
            0 if p.validation is None else len(p.validation[1]),
            False,
            h.seconds,
        ),
        weights,
    )
    if trainer is not None:
        model.set_weights(weights)
    e._model = model


def final_estimator(estimator) -> BaseEstimator:
    """The last step of a pipeline (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


__all__ = [
    "INPUT_SCALINGS",
    "Phase1Classifier",
    "QMoEClassifier",
    "TrainedClassifier",
    "final_estimator",
    "fit_many",
    "restart_seed",
    "seed_of",
    "validation_split",
]

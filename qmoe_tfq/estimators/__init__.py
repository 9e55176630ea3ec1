"""Stage: estimators. The scikit-learn estimators: ``QMoEClassifier`` (the mixture of experts),
``Phase1Classifier`` (the authors' Phase 1 models), and ``fit_many`` (many runs in stacks).

A thin public package over the private ``_classes`` module, as ``sklearn.svm`` is over ``_classes``.
"""

from qmoe_tfq.estimators._classes import (
    INPUT_SCALINGS,
    Phase1Classifier,
    QMoEClassifier,
    TrainedClassifier,
    final_estimator,
    fit_many,
    restart_seed,
    seed_of,
    validation_split,
)

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

"""Stage: experiments. The tuned protocol's search spaces, as data: one grid of constructor parameters per model family.

Every family gets the same number of configurations (``SPACE_SIZE``; ``QUICK_SPACE_SIZE`` at smoke
size), so no family is favoured by a wider search. The choices, and why each is in its space:

* ``moe`` (every mixture of experts: the quantum routers, their variants and ablations, Model A,
  the MLP routers of every width, the Fourier-feature routers, constant gates): Adam learning rate
  {0.003, 0.01, 0.03, 0.1} x input scaling {none: the datasets' angles in [0, pi], as the authors
  fed them; standard: z-scored, what a practitioner does for a ReLU network, whose units die on
  all-positive inputs}. The authors' lr 0.1 is in the space; lr 0.003 is the smallest that reaches
  the top accuracy within the epoch budget in a pilot (MLP h=32: 0.99 after 100 epochs).
* ``logreg``: inverse regularisation C {0.01, 0.1, 1, 10} x input scaling {none, standard}.
* ``rbf_svm``: C {1, 10} x gamma {0.1, 0.3, 1, 3} on z-scored inputs (the usual practice for an RBF
  kernel; gamma 1/n_features, scikit-learn's "scale" on z-scored data, lies inside this range for
  2 to 8 features). Also the space of ``fourier_rbf_svm`` (the same SVM on phi(x)); ``logreg``'s is
  also that of ``fourier_logreg``.
* ``quantum_kernel_svm``: C {0.1, 1, 10, 100} x input scaling {none, standard}. The kernel is the
  paper's, prod_i cos^2((x_i - x'_i)/2), with no bandwidth of its own to tune; C is its one
  hyperparameter, so its grid is twice as wide as the RBF-SVM's, and input scaling is the same choice
  the quantum router's space offers (z-scores enter the RX embedding as angles).

``configurations(name, quick)`` lists a space's configurations in a fixed order (the product of the
values in the order written here), which is also the tie order of the selection rule.
"""

from __future__ import annotations

import itertools

from qmoe_tfq.core.errors import check_choice

SPACE_SIZE = 8
QUICK_SPACE_SIZE = 2

SPACES: dict[str, dict[str, tuple]] = {
    "moe": {"lr": (0.003, 0.01, 0.03, 0.1), "input_scaling": ("none", "standard")},
    "logreg": {"C": (0.01, 0.1, 1.0, 10.0), "input_scaling": ("none", "standard")},
    "rbf_svm": {"C": (1.0, 10.0), "gamma": (0.1, 0.3, 1.0, 3.0), "input_scaling": ("standard",)},
    "quantum_kernel_svm": {"C": (0.1, 1.0, 10.0, 100.0), "input_scaling": ("none", "standard")},
}
# Smoke size: two configurations per family, enough to exercise selection.
QUICK_SPACES: dict[str, dict[str, tuple]] = {
    "moe": {"lr": (0.03, 0.1), "input_scaling": ("none",)},
    "logreg": {"C": (0.1, 1.0), "input_scaling": ("none",)},
    "rbf_svm": {"C": (1.0, 10.0), "gamma": (1.0,), "input_scaling": ("standard",)},
    "quantum_kernel_svm": {"C": (1.0, 10.0), "input_scaling": ("none",)},
}


def space(name: str, quick: bool = False) -> dict[str, tuple]:
    """The grid of space ``name`` (parameter -> values)."""
    spaces = QUICK_SPACES if quick else SPACES
    check_choice("search space", name, tuple(spaces))
    return spaces[name]


def configurations(name: str, quick: bool = False) -> list[dict]:
    """Every configuration of space ``name``, in the fixed order of the product of its values."""
    grid = space(name, quick)
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def describe(name: str, quick: bool = False) -> str:
    """The space in words, e.g. ``lr in {0.003, 0.01, 0.03, 0.1} x input_scaling in {none, standard}``."""
    return " x ".join(f"{k} in {{{', '.join(map(str, v))}}}" for k, v in space(name, quick).items())


__all__ = ["QUICK_SPACES", "QUICK_SPACE_SIZE", "SPACES", "SPACE_SIZE", "configurations", "describe", "space"]

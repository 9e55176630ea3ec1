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
* ``quantum_kernel_bandwidth`` (issue #21, C8's deciding prediction): the same kernel given a bandwidth,
  inputs scaled by 2 sqrt(b) (``qmoe_tfq.models.kernels.bandwidth_scale``: b on the RBF's gamma scale),
  with exactly the RBF-SVM's budget: C {1, 10} x bandwidth {0.1, 0.3, 1, 3} (the values of gamma) on
  z-scored inputs, the same selection rule and the same edge rule (bandwidth is ordered, step x3 like
  gamma). Built from ``rbf_svm``'s space, so the two cannot drift apart.

``configurations(name, quick)`` lists a space's configurations in a fixed order (the product of the
values in the order written here), which is also the tie order of the selection rule.

**Edges.** ``lr``, ``C`` and ``gamma`` are ordered (``ORDERED``, with their extension step: lr x3,
C x10, gamma x3; ``input_scaling`` is not ordered). A choice at the lowest or highest value of an
ordered parameter's grid says the best value may lie past it, so the tuned protocol
(``qmoe_tfq.experiments.tuning``) extends that grid one step past the edge: a full new row, the new
value x every value of the other parameters, run on the tuning seeds and selected among all. At
most ``EDGE_EXTENSIONS`` (2) steps per parameter and side (``QUICK_EDGE_EXTENSIONS`` (1) at QUICK
size); a choice still at the edge after that is reported as such. A parameter with a single value in its grid (``gamma`` at QUICK size) is fixed,
not searched, and never extended. ``extended_space(name, quick, extensions)`` gives the grid and
the configurations after a sequence of ``Extension`` steps: the base configurations first (indices
unchanged), then each step's new row in the order the steps were taken, so indices are stable and
the same steps always give the same configurations.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

from qmoe_tfq.core.errors import ConfigError, check_choice

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


def _bandwidth_space(rbf: dict[str, tuple]) -> dict[str, tuple]:
    """The RBF-SVM's space with gamma renamed bandwidth (same values, same order)."""
    return {("bandwidth" if k == "gamma" else k): v for k, v in rbf.items()}


SPACES["quantum_kernel_bandwidth"] = _bandwidth_space(SPACES["rbf_svm"])
QUICK_SPACES["quantum_kernel_bandwidth"] = _bandwidth_space(QUICK_SPACES["rbf_svm"])

# Ordered parameters and their extension step (new value = edge value / step or x step).
ORDERED: dict[str, float] = {"lr": 3.0, "C": 10.0, "gamma": 3.0, "bandwidth": 3.0}
# Extension steps per parameter and side, at most: the grid grows by at most 2 rows past each edge.
EDGE_EXTENSIONS = 2
# At QUICK size every 2-value grid puts every choice on an edge: one step exercises the rule (the
# extension runs, the limit mark) at half the runner rounds.
QUICK_EDGE_EXTENSIONS = 1
SIDES = ("low", "high")
SIDE_WORDS = {"low": "bottom", "high": "top"}


def edge_limit(quick: bool = False) -> int:
    """Extension steps allowed per parameter and side: ``EDGE_EXTENSIONS``, or
    ``QUICK_EDGE_EXTENSIONS`` at QUICK size."""
    return QUICK_EDGE_EXTENSIONS if quick else EDGE_EXTENSIONS


def space(name: str, quick: bool = False) -> dict[str, tuple]:
    """The grid of space ``name`` (parameter -> values)."""
    spaces = QUICK_SPACES if quick else SPACES
    check_choice("search space", name, tuple(spaces))
    return spaces[name]


def configurations(name: str, quick: bool = False) -> list[dict]:
    """Every configuration of space ``name``, in the fixed order of the product of its values."""
    return _product(space(name, quick))


def _product(grid: dict[str, tuple]) -> list[dict]:
    """Every configuration of ``grid`` (parameter -> values), in the order of the product of its values."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def extended_value(param: str, value: float, side: str) -> float:
    """The value one extension step past ``value`` on ``side`` ("low": divided by the parameter's
    step, "high": multiplied), rounded to 3 significant digits (0.1 x 3 is 0.3, not 0.30000000000000004).
    Always finite and > 0 (a learning rate, C or gamma must be positive)."""
    check_choice("ordered parameter", param, tuple(ORDERED))
    check_choice("grid side", side, SIDES)
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"cannot extend {param}={value!r}: an ordered parameter's value must be a finite number > 0")
    new = float(f"{value / ORDERED[param] if side == 'low' else value * ORDERED[param]:.3g}")
    if not (math.isfinite(new) and new > 0) or new == value:
        raise ConfigError(f"extending {param}={value!r} to the {side} side gives {new!r}; need a new finite value > 0")
    return new


class Extension(NamedTuple):
    """One step past an edge of a grid: ``param`` (a key of ``ORDERED``), ``side`` ("low" or "high")
    and the tuning ``round`` (1, 2, ...) that ran it."""

    param: str
    side: str
    round: int = 1


@dataclass(frozen=True)
class ExtendedSpace:
    """A search space after extension steps: ``grid`` (parameter -> values; an extended ordered
    parameter's values ascending), ``configurations`` (base ones first, then each step's new row),
    ``rounds`` (per configuration: 0 for the base grid, else the round of the step that added it),
    ``steps`` (``(param, side)`` -> steps taken), ``searched`` (the ordered parameters with more than
    one value in the base grid: the ones the edge rule applies to)."""

    grid: dict[str, tuple]
    configurations: list[dict]
    rounds: list[int]
    steps: dict[tuple[str, str], int]
    searched: tuple[str, ...]

    def edges(self, params: dict) -> list[tuple[str, str]]:
        """``(param, side)`` of every searched parameter whose value in ``params`` is the lowest
        ("low") or highest ("high") of its grid, in grid order."""
        out = []
        for p in self.searched:
            values = self.grid[p]
            if params[p] == min(values):
                out.append((p, "low"))
            if params[p] == max(values):
                out.append((p, "high"))
        return out


def extended_space(name: str, quick: bool = False, extensions: tuple[Extension, ...] = ()) -> ExtendedSpace:
    """Space ``name`` after the ``extensions`` steps, in order (see the module docstring).

    Raises ConfigError for a step on a parameter that is not ordered and searched, or past
    ``edge_limit(quick)`` steps on one side."""
    grid = {k: tuple(v) for k, v in space(name, quick).items()}
    searched = tuple(p for p, v in grid.items() if p in ORDERED and len(v) > 1)
    configs = configurations(name, quick)
    rounds = [0] * len(configs)
    steps = {(p, side): 0 for p in searched for side in SIDES}
    for ext in extensions:
        ext = Extension(*ext)
        if ext.param not in searched:
            raise ConfigError(
                f"space {name!r}: cannot extend {ext.param!r}; extendable (ordered, searched): {', '.join(searched)}"
            )
        check_choice("grid side", ext.side, SIDES)
        if steps[(ext.param, ext.side)] >= edge_limit(quick):
            raise ConfigError(
                f"space {name!r}: {ext.param} already extended {edge_limit(quick)} steps on the {ext.side} side "
                f"(the limit, {'QUICK_EDGE_EXTENSIONS' if quick else 'EDGE_EXTENSIONS'})"
            )
        values = grid[ext.param]
        edge = min(values) if ext.side == "low" else max(values)
        new = extended_value(ext.param, edge, ext.side)
        steps[(ext.param, ext.side)] += 1
        grid[ext.param] = tuple(sorted((*values, new)))
        added = _product({k: ((new,) if k == ext.param else v) for k, v in grid.items()})
        configs += added
        rounds += [ext.round] * len(added)
    return ExtendedSpace(grid, configs, rounds, steps, searched)


def describe(name: str, quick: bool = False) -> str:
    """The space in words, e.g. ``lr in {0.003, 0.01, 0.03, 0.1} x input_scaling in {none, standard}``."""
    return " x ".join(f"{k} in {{{', '.join(map(str, v))}}}" for k, v in space(name, quick).items())


__all__ = [
    "EDGE_EXTENSIONS",
    "QUICK_EDGE_EXTENSIONS",
    "edge_limit",
    "ORDERED",
    "QUICK_SPACES",
    "QUICK_SPACE_SIZE",
    "SPACES",
    "SPACE_SIZE",
    "ExtendedSpace",
    "Extension",
    "configurations",
    "describe",
    "extended_space",
    "extended_value",
    "space",
]

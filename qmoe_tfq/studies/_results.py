"""Stage: studies. Row access and summary columns every study shares: per-seed values of one experiment, paired
comparisons on the seeds two experiments share, accuracy with its interval, collapse and floor counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval, paired_wilcoxon, t_interval
from qmoe_tfq.core.errors import check_choice
from qmoe_tfq.experiments.runner import concat_rows

# A run "ends at the floor" when its test accuracy is within this of the constant-gate (experts-only)
# model's on the same seed and split.
FLOOR_MARGIN = 0.01


def runs(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of experiment ``name``, by seed; KeyError when there are none."""
    g = rows[rows["experiment"] == name]
    if g.empty:
        raise KeyError(f"no runs of {name!r} in the rows given")
    return g.sort_values("seed")


def seed_values(rows: pd.DataFrame, name: str, column: str = "test_accuracy") -> pd.Series:
    """``column`` of experiment ``name`` indexed by seed."""
    return runs(rows, name).set_index("seed")[column].astype(float)


def paired(rows: pd.DataFrame, a: str, b: str, column: str = "test_accuracy") -> tuple[np.ndarray, np.ndarray]:
    """Values of ``column`` for experiments ``a`` and ``b`` on the seeds both have, aligned by seed."""
    left, right = seed_values(rows, a, column), seed_values(rows, b, column)
    seeds = left.index.intersection(right.index)
    return left.loc[seeds].to_numpy(float), right.loc[seeds].to_numpy(float)


def accuracy_columns(values, prefix: str = "test_acc", interval: str = "bca") -> dict:
    """Mean and 95% CI of per-seed accuracies, and the seed count: the BCa bootstrap, which stays inside
    [0, 1] by construction (``"bca"``, the default: one interval method for accuracy means throughout,
    issue #21), or Student t clipped to [0, 1] (``interval="t"``)."""
    check_choice("interval", interval, ("t", "bca"))
    ci = (
        bootstrap_interval(values, bounds=ACCURACY_BOUNDS)
        if interval == "bca"
        else t_interval(values, bounds=ACCURACY_BOUNDS)
    )
    return {f"{prefix}_mean": ci.mean, f"{prefix}_ci_low": ci.low, f"{prefix}_ci_high": ci.high, "n_seeds": ci.n}


def comparison_columns(rows: pd.DataFrame, reference: str, name: str, label: str = "quantum") -> dict:
    """Mean paired difference ``reference - name`` and one-sided paired Wilcoxon p-values both ways."""
    if reference == name:
        return {f"delta_vs_{label}": math.nan, f"p_{label}_better": math.nan, f"p_{label}_worse": math.nan}
    a, b = paired(rows, reference, name)
    return {
        f"delta_vs_{label}": float(np.mean(a - b)),
        f"p_{label}_better": paired_wilcoxon(a, b, "greater"),
        f"p_{label}_worse": paired_wilcoxon(a, b, "less"),
    }


def collapse_count(rows: pd.DataFrame, name: str) -> int | None:
    """Seeds whose router collapsed (``GateSummary``); None for models without a router."""
    g = runs(rows, name)
    flags = [v for v in g["collapsed"] if v is not None and not pd.isna(v)] if "collapsed" in g else []
    return int(sum(bool(v) for v in flags)) if flags else None


def floor_count(rows: pd.DataFrame, name: str, floor: str) -> int:
    """Seeds on which ``name`` ends at the experts-only floor: test accuracy at most ``FLOOR_MARGIN``
    above the constant-gate experiment ``floor`` on the same seed."""
    a, b = paired(rows, name, floor)
    return int(np.sum(a <= b + FLOOR_MARGIN + 1e-12))


concat = concat_rows


def count(value) -> int | None:
    """A parameter count from a result column: None where not applicable."""
    return None if value is None or pd.isna(value) else int(value)


__all__ = [
    "FLOOR_MARGIN",
    "accuracy_columns",
    "collapse_count",
    "comparison_columns",
    "concat",
    "count",
    "floor_count",
    "paired",
    "runs",
    "seed_values",
]

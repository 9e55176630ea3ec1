"""Stage: analysis. Did a run's epoch budget suffice? A stated check on per-epoch validation curves (issue #20).

A run *converged* when its validation score had stopped improving well before the epoch limit: the
epoch of its best validation score (the first epoch reaching it, 1-based) is at most
``CONVERGED_FRACTION`` of the epochs it ran, or, on the loss curve, the last fifth of the epochs
improved the best loss by less than ``LOSS_TOLERANCE`` (0.01 nats: on separable data the
cross-entropy keeps creeping down as the logits grow, long after the predictions stopped changing, so
"the best epoch is the last" alone would flag every budget); otherwise it was *still improving* when
the budget ran out.
The score is the validation cross-entropy (``validation_loss_curve``, lowest is best) when a run
recorded it, else the validation accuracy (``validation_curve``, highest is best), which rises in
steps of one validation point and plateaus earlier, so it is the more lenient of the two: each result
says which curve it used. A model's budget suffices when its runs converged on most seeds
(more than half); fewer are flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

CONVERGED_FRACTION = 0.8  # converged: best validation epoch <= 80 % of the epochs run
LOSS_TOLERANCE = 0.01  # ... or the epochs after that improved the best validation loss by < 0.01 nats
LOSS_CURVE = "validation_loss_curve"
ACCURACY_CURVE = "validation_curve"
CURVE_LABELS = {LOSS_CURVE: "validation loss", ACCURACY_CURVE: "validation accuracy"}


@dataclass(frozen=True)
class RunConvergence:
    """One run: which curve was read, the epoch of its best value, the epochs run, and the verdict."""

    curve: str
    best_epoch: int
    n_epochs: int
    converged: bool


def _curve(value) -> np.ndarray | None:
    """A per-epoch curve as a float array, or None when absent (None, NaN, empty)."""
    if value is None or np.ndim(value) == 0:  # None, NaN or NA: a row of a frame without this curve
        return None
    arr = np.asarray(value, dtype=float).ravel()
    return arr if arr.size and np.isfinite(arr).any() else None


def _worst_filled(curve, lower_is_better: bool) -> np.ndarray:
    """``curve`` as floats with its non-finite values replaced by the worst value (never the best)."""
    arr = np.asarray(curve, dtype=float)
    return np.where(np.isfinite(arr), arr, np.inf if lower_is_better else -np.inf)


def best_epoch(curve, lower_is_better: bool) -> int:
    """1-based epoch of the best finite value of ``curve`` (the first such epoch: after it, no improvement)."""
    filled = _worst_filled(curve, lower_is_better)
    return int(np.argmin(filled) if lower_is_better else np.argmax(filled)) + 1


def run_convergence(row: Mapping, fraction: float = CONVERGED_FRACTION) -> RunConvergence | None:
    """The check on one run's result row: its validation loss curve when present, else its validation
    accuracy curve; None for a model not trained in epochs (no curve)."""
    for column, lower in ((LOSS_CURVE, True), (ACCURACY_CURVE, False)):
        curve = _curve(row.get(column))
        if curve is not None:
            epoch = best_epoch(curve, lower)
            converged = epoch <= fraction * len(curve)
            if lower and not converged:
                filled = _worst_filled(curve, True)
                early = filled[: max(1, int(fraction * len(curve)))]
                converged = bool(early.min() - filled.min() < LOSS_TOLERANCE)
            return RunConvergence(column, epoch, len(curve), converged)
    return None


@dataclass(frozen=True)
class ModelConvergence:
    """A model's runs (one per tuning seed): how many converged, which curve(s) were read, the best
    epochs, the epochs run, and whether the budget is flagged (converged on no more than half)."""

    n_converged: int
    n_runs: int
    curve: str
    best_epochs: tuple[int, ...]
    n_epochs: int

    @property
    def flagged(self) -> bool:
        return 2 * self.n_converged <= self.n_runs

    @property
    def verdict(self) -> str:
        return "still improving" if self.flagged else "converged"


def model_convergence(rows: Iterable[Mapping], fraction: float = CONVERGED_FRACTION) -> ModelConvergence | None:
    """``run_convergence`` over a model's runs (e.g. its chosen configuration on each tuning seed);
    None when none of them has a curve."""
    runs = [r for r in (run_convergence(row, fraction) for row in rows) if r is not None]
    if not runs:
        return None
    curves = sorted({r.curve for r in runs}, key=list(CURVE_LABELS).index)
    return ModelConvergence(
        n_converged=sum(r.converged for r in runs),
        n_runs=len(runs),
        curve=" + ".join(CURVE_LABELS[c] for c in curves),
        best_epochs=tuple(r.best_epoch for r in runs),
        n_epochs=max(r.n_epochs for r in runs),
    )


def sentence(table) -> str:
    """The check in a caption's words, from a per-model table (columns ``experiment``, ``curve``,
    ``flagged``: ``studies._results.convergence_table``), the flagged models named."""
    flagged = [str(e) for e, f in zip(table["experiment"], table["flagged"]) if f]
    curves = " / ".join(sorted(set(table["curve"])))
    return (
        f"A chosen configuration converged on a tuning seed when the epoch of its best {curves} was at most "
        f"{CONVERGED_FRACTION:.0%} of the epochs run (or, on the loss, the epochs after that lowered the best "
        f"loss by less than {LOSS_TOLERANCE:g} nats), else it was still improving; {len(table) - len(flagged)} "
        f"of {len(table)} models converged on most (> half) of their tuning seeds"
        + (f"; flagged (still improving on most): {', '.join(flagged)}" if flagged else "")
        + "."
    )


__all__ = [
    "ACCURACY_CURVE",
    "CONVERGED_FRACTION",
    "CURVE_LABELS",
    "LOSS_CURVE",
    "LOSS_TOLERANCE",
    "ModelConvergence",
    "RunConvergence",
    "best_epoch",
    "model_convergence",
    "run_convergence",
    "sentence",
]

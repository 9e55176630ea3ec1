"""Stage: studies. Row access and summary columns every study shares: per-seed values of one experiment, paired
comparisons on the seeds two experiments share, accuracy with its interval, collapse and floor counts, the
median seed a figure shows, whether the chosen configurations' epoch budget sufficed, and random restarts
(another initialisation and batch order of an evaluation run; the best of k per seed chosen on a continuous
validation score, ``restart_score``, used by the mechanism study's trainability table and by the multiverse
of the claims that compare restarted mixtures)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.convergence import CONVERGED_FRACTION, model_convergence
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval, paired_wilcoxon, t_interval
from qmoe_tfq.core.errors import check_choice
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.runner import concat_rows
from qmoe_tfq.experiments.tuning import Budget, Candidate, TunedResults, describe_params, eval_name, tuning_name

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


def median_seed(rows: pd.DataFrame, name: str) -> int:
    """The evaluation seed a figure of experiment ``name`` shows: the seeds sorted by (correct test
    points, seed), the lower median taken (index (n - 1) // 2). Deterministic, and a seed that ran; a
    typical run rather than whichever seed comes first."""
    g = runs(rows, name)
    ordered = sorted(zip(g["n_correct"].astype(int), g["seed"].astype(int)))
    return ordered[(len(ordered) - 1) // 2][1]


def seed_note(rows: pd.DataFrame, name: str, seed: int) -> str:
    """``"seed 7, median of 20"``: which seed a panel shows, for titles and captions."""
    return f"seed {seed}, median of {len(runs(rows, name))}"


def convergence_table(tuned: TunedResults, groups: list[tuple[list[Candidate], Budget]]) -> pd.DataFrame:
    """Did the epoch budget suffice? Per model trained in epochs, its chosen configuration's runs on the
    tuning seeds (``qmoe_tfq.analysis.convergence``): seeds converged (best validation epoch <=
    ``CONVERGED_FRACTION`` of the epochs run, or a loss no longer improving by ``LOSS_TOLERANCE``)
    out of the tuning seeds, the curve read (validation loss
    when recorded, else validation accuracy), the best and the kept epochs per seed, and the flag
    (converged on no more than half the seeds: the budget may be too short)."""
    out = []
    for cs, b in groups:
        for c in cs:
            name = eval_name(b, c)
            sel = tuned.by_name[name]
            g = runs(tuned.tuning, tuning_name(b, c, sel.index))
            check = model_convergence(g.to_dict("records"))
            if check is None:
                continue  # not trained in epochs
            kept = g["best_epoch"] if "best_epoch" in g else pd.Series(dtype=float)
            out.append(
                {
                    "experiment": name,
                    "model_id": c.id,
                    "chosen": describe_params(sel.params),
                    "max_epochs": b.max_epochs,
                    "n_converged": check.n_converged,
                    "n_tuning_seeds": check.n_runs,
                    "converged": f"{check.n_converged}/{check.n_runs}",
                    "verdict": check.verdict,
                    "flagged": check.flagged,
                    "curve": check.curve,
                    "best_epochs": ", ".join(map(str, check.best_epochs)),
                    "kept_epochs": ", ".join(str(int(e)) for e in kept.dropna()),
                    "rule_fraction": CONVERGED_FRACTION,
                }
            )
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------- restarts


def restarted(evaluation: Experiment, name: str, restart: int) -> Experiment:
    """Random restart ``restart`` (>= 1) of an evaluation experiment, named ``name``: same data, split and
    validation rows, another initialisation and batch order (restart 0 is the evaluation run itself)."""
    return dataclasses.replace(evaluation, name=name, model=evaluation.model.replace(restart=restart))


def best_validation(curve) -> float:
    """The validation accuracy of the weights a run kept (its best epoch's)."""
    return float(np.max(curve))


def kept_validation_loss(row) -> float:
    """The validation cross-entropy at the epoch whose weights a run kept (``validation_loss_curve[best_epoch
    - 1]``); NaN when the run did not record its loss curve (rows cached before the field existed)."""
    curve, epoch = row.get("validation_loss_curve"), row.get("best_epoch")
    if np.ndim(curve) == 0 or epoch is None or pd.isna(epoch) or not 1 <= int(epoch) <= len(curve):
        return float("nan")
    return float(curve[int(epoch) - 1])


def restart_frame(
    evaluation: pd.DataFrame, restarts: pd.DataFrame, name: str, restart_names: Sequence[str]
) -> pd.DataFrame:
    """Every run of one model by seed and restart: the evaluation run ``name`` (restart 0) and the
    restarts ``restart_names`` (restart 1, 2, ...), with ``best_validation`` (the kept weights' validation
    accuracy) and ``validation_loss`` (at the kept epoch, NaN where not recorded) added."""
    frames = [runs(evaluation, name).assign(restart=0)]
    frames += [runs(restarts, n).assign(restart=r) for r, n in enumerate(restart_names, start=1)]
    df = pd.concat(frames, ignore_index=True)
    df["best_validation"] = [best_validation(c) for c in df["validation_curve"]]
    df["validation_loss"] = [kept_validation_loss(row) for row in df.to_dict("records")]
    return df


def restart_score(runs: pd.DataFrame) -> tuple[pd.Series, str]:
    """What a seed's restarts are ranked on (lower is better) and its name: the validation cross-entropy at
    the kept epoch when every restart recorded it (continuous, so ties are rare), else minus the best
    validation accuracy (steps of one validation point)."""
    loss = runs["validation_loss"] if "validation_loss" in runs else pd.Series(np.nan, index=runs.index)
    if loss.notna().all():
        return loss.astype(float), "validation loss"
    return -runs["best_validation"].astype(float), "validation accuracy"


def best_of_restarts(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per seed, the restart among the first ``k`` with the best ``restart_score`` (ties: the earliest
    restart), the score it was chosen on (``selected_on``), and the seconds of all ``k`` (the budget
    they cost)."""
    first = frame[frame["restart"] < k].sort_values(["seed", "restart"])
    picks, basis = [], {}
    for seed, g in first.groupby("seed", sort=True):
        score, basis[seed] = restart_score(g)
        picks.append(g.assign(_score=score).sort_values(["_score", "restart"], kind="stable").index[0])
    chosen = first.loc[picks].set_index("seed")
    chosen["selected_on"] = pd.Series(basis)
    chosen["seconds_k"] = first.groupby("seed")["train_seconds"].sum()
    return chosen.sort_index()


concat = concat_rows


def count(value) -> int | None:
    """A parameter count from a result column: None where not applicable."""
    return None if value is None or pd.isna(value) else int(value)


__all__ = [
    "FLOOR_MARGIN",
    "accuracy_columns",
    "best_of_restarts",
    "best_validation",
    "collapse_count",
    "comparison_columns",
    "concat",
    "convergence_table",
    "count",
    "floor_count",
    "kept_validation_loss",
    "median_seed",
    "paired",
    "restart_frame",
    "restart_score",
    "restarted",
    "runs",
    "seed_note",
    "seed_values",
]

"""Stage: studies. The authors' Phase 1 (their notebook ``QMoE.ipynb``; ledger entry N4): a classical router gating
quantum experts (QMoE), a standalone QNN and a classical MoE, on their two datasets.

* **Authors' protocol**: their training (Adam lr 0.01, batch 32, 8 epochs, no early stopping, inputs
  as they fed them) and their data: ``make_classification(500, 16 features, 10 informative,
  random_state=42)`` with each row divided by its norm, and MNIST 0 vs 1 resized to 4x4 by PIL's
  bilinear filter, intensities in [0, 1] (the shipped 5,000-image subset: 1,000 images of 0 and 1,
  not their 14,780; under the tuned protocol the tuning seeds draw from a fixed stratified 20 % of
  them and the evaluation seeds from the other 800, issue #20). 80/20 split, a fresh stratified split and initialisation per seed, held-out
  accuracy after epoch 7 (their printed "Epoch 6", counting from 0, where their numbers come from)
  and after epoch 8 (each its own run: the first 7 epochs of an 8-epoch run are the 7-epoch run).
  A parameter-matched classical MoE (MLP experts of width ``MATCHED_HIDDEN``, total parameters
  closest to the QMoE's) runs beside them.
* **Tuned protocol** (``qmoe_tfq.experiments.tuning``): every model, the references too (the matched classical
  MoE, logistic regression), searched over the same number of configurations (the ``moe`` space for
  the Phase 1 models: learning rate x input scaling; ``logreg``: C x input scaling), chosen on tuning
  seeds, evaluated on fresh seeds with early stopping on a validation split. The data are the same
  fixed points (the authors' draw), so tuning and evaluation seeds are different splits of them.
* **Training time**: median seconds of the 8-epoch runs, against the authors' stated 0.6 s
  (classical) vs 172 s (QMoE) on the synthetic data and 23 s vs 5,258 s on MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.stats import paired_signed_rank
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.probes import GateSummary
from qmoe_tfq.experiments.registry import EstimatorSpec, phase1
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    TunedResults,
    eval_name,
    evaluation_experiments,
    run_tuned_groups,
    tuned_columns,
    tuning_plan,
)
from qmoe_tfq.specs.phase1 import AUTHORS_TRAINING, Phase1Spec
from qmoe_tfq.studies import _results as R

PREFIX = "phase1/"
AUTHORS_PREFIX = f"{PREFIX}authors/"
TUNED_PREFIX = f"{PREFIX}tuned/"
DRAW_SEED = 42
TEST_SIZE = 0.2
PROBES = (GateSummary(),)
AUTHORS_MODELS = ("classical_moe", "qnn", "qmoe")
#: The authors' notebook: held-out accuracy at their "Epoch 6" (the 7th epoch), and training seconds.
STATED = {
    "synthetic": {"classical_moe": 0.88, "qnn": 0.65, "qmoe": 0.78},
    "mnist": {"classical_moe": 0.99, "qnn": 0.99, "qmoe": 0.99},
}
STATED_SECONDS = {"synthetic": {"classical_moe": 0.6, "qmoe": 172.0}, "mnist": {"classical_moe": 23.0, "qmoe": 5258.0}}
#: Training examples behind the stated seconds: 400 synthetic rows; MNIST's full 0/1 training files.
STATED_TRAIN_ROWS = {"synthetic": 400, "mnist": 12665}
DATASET_LABELS = {
    "synthetic": "synthetic (make_classification, 16 features, unit-norm rows)",
    "mnist": "MNIST 0 vs 1, 4x4 bilinear, intensities (shipped 1,000-image subset)",
}
DATASETS = tuple(DATASET_LABELS)


def matched_hidden(reference: str = "qmoe") -> int:
    """Width of the classical MoE's MLP experts whose total parameter count is closest to the
    ``reference`` model's (authors' sizes, 16 features); ties go to the narrower."""
    target = Phase1Spec(reference).param_counts().total
    return min(
        range(1, 65), key=lambda h: (abs(Phase1Spec("classical_moe", hidden=h).param_counts().total - target), h)
    )


MATCHED_HIDDEN = matched_hidden()


def candidates() -> list[Candidate]:
    """Every model of the study, in table order; ``role`` says whose model it is."""
    authors = (("role", "authors' model"),)
    return [
        Candidate("qmoe", "QMoE: classical router, 3 quantum experts", "quantum", phase1("qmoe"), "moe", authors),
        Candidate("qnn", "standalone QNN", "quantum", phase1("qnn"), "moe", authors),
        Candidate("classical_moe", "classical MoE (MLP experts, h=8)", "mlp", phase1("classical_moe"), "moe", authors),
        Candidate(
            "classical_moe_matched",
            f"classical MoE, h={MATCHED_HIDDEN} (parameter-matched to the QMoE)",
            "mlp",
            phase1("classical_moe", hidden=MATCHED_HIDDEN),
            "moe",
            (("role", "reference"),),
        ),
        Candidate(
            "logreg",
            "logistic regression (no MoE)",
            "logreg",
            EstimatorSpec("logreg"),
            "logreg",
            (("role", "reference"),),
        ),
    ]


def candidate(model_id: str) -> Candidate:
    return {c.id: c for c in candidates()}[model_id]


@dataclass(frozen=True)
class Size:
    """Seeds, epochs and data sizes of a run of the study: full, or QUICK (smoke test).

    ``authors_epochs``: (the epoch of the stated numbers, the last epoch) of the authors' protocol;
    ``synthetic_samples`` / ``mnist_samples``: examples drawn (500 / all 1,000 are the authors' data).
    """

    seeds: int
    tuning_seeds: int
    max_epochs: int
    authors_epochs: tuple[int, int]
    synthetic_samples: int
    mnist_samples: int | None
    tuned_datasets: tuple[str, ...] = DATASETS


FULL = Size(
    seeds=10,
    tuning_seeds=3,
    max_epochs=30,
    authors_epochs=(7, AUTHORS_TRAINING["epochs"]),
    synthetic_samples=500,
    mnist_samples=None,
)
QUICK = Size(
    seeds=2,
    tuning_seeds=1,
    max_epochs=2,
    authors_epochs=(1, 2),
    synthetic_samples=100,
    mnist_samples=100,
    tuned_datasets=("synthetic",),
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def data_spec(dataset: str, s: Size) -> DataSpec:
    """The authors' inputs (``dataset`` in ``DATASETS``), a fresh stratified 80/20 split per seed."""
    if dataset == "synthetic":
        return DataSpec(
            "synthetic16", n_samples=s.synthetic_samples, test_size=TEST_SIZE, scaling="unit_norm", draw_seed=DRAW_SEED
        )
    if dataset == "mnist":
        return DataSpec(
            "mnist5k-0v1",
            n_samples=s.mnist_samples,
            test_size=TEST_SIZE,
            resize=4,
            resize_method="bilinear",
            scaling="none",
        )
    raise KeyError(f"unknown Phase 1 dataset {dataset!r}; allowed: {', '.join(DATASETS)}")


def authors_name(dataset: str, model_id: str, epochs: int) -> str:
    return f"{AUTHORS_PREFIX}{dataset}/{model_id}/e{epochs}"


def authors_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' training (lr 0.01, batch 32, no early stopping) for each epoch count of
    ``authors_epochs``, every Phase 1 model, both datasets, held-out accuracy."""
    s = size(quick)
    training = {"lr": AUTHORS_TRAINING["lr"], "batch_size": AUTHORS_TRAINING["batch_size"]}
    return [
        Experiment(
            authors_name(d, c.id, e),
            c.base.replace(**training, max_epochs=e),
            data_spec(d, s),
            "fair",
            tuple(range(s.seeds)),
            probes=PROBES,
            tags=(("model_id", c.id), ("dataset", d), ("epochs", e)),
        )
        for d in DATASETS
        for c in candidates()
        if c.base.kind == "phase1"
        for e in s.authors_epochs
    ]


def budget(dataset: str, quick: bool = False) -> Budget:
    """The tuned protocol's settings on ``dataset``."""
    s = size(quick)
    return Budget(
        f"{TUNED_PREFIX}{dataset}/",
        data_spec(dataset, s),
        n_tuning_seeds=s.tuning_seeds,
        eval_seeds=tuple(range(s.seeds)),
        max_epochs=s.max_epochs,
        batch_size=AUTHORS_TRAINING["batch_size"],
        quick=quick,
    )


def tuned_name(dataset: str, model_id: str, quick: bool = False) -> str:
    return eval_name(budget(dataset, quick), candidate(model_id))


def groups(quick: bool = False) -> list[tuple[list[Candidate], Budget]]:
    return [(candidates(), budget(d, quick)) for d in size(quick).tuned_datasets]


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The Phase 1 (N4) study's planned runs, as ``Experiment`` configs.

    The planned runs: every tuning run, the authors' protocol, and the tuned evaluation runs the
    ``chosen`` parameters (by evaluation name, ``Results.chosen``) imply.

    Parameters
    ----------
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    chosen : dict or None, default None
        The tuned parameters by evaluation name (``Results.chosen`` of a previous ``results``
        call); None plans only what does not depend on tuning.

    Returns
    -------
    list of Experiment
        The planned experiments, in the order the runner runs them.

    Examples
    --------
    >>> from qmoe_tfq.studies import phase1
    >>> sorted({e.protocol for e in phase1.experiments(quick=True)})
    ['fair', 'tuning']
    """
    g = groups(quick)
    return tuning_plan(g, chosen) + authors_experiments(quick) + evaluation_experiments(g, chosen or {}, PROBES)


@dataclass
class Results:
    """The tuned protocol's runs and the authors' protocol's rows."""

    tuned: TunedResults
    authors: pd.DataFrame
    quick: bool

    @property
    def size(self) -> Size:
        return size(self.quick)

    @property
    def rows(self) -> pd.DataFrame:
        return R.concat([self.tuned.evaluation, self.authors])

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the study's outputs rest on, tuning runs included."""
        return R.concat([self.tuned.sources, self.authors])

    @property
    def chosen(self) -> dict[str, dict]:
        return self.tuned.chosen


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the Phase 1 (N4) study.

    Run (or read from the cache) every run of the study. ``run(experiments, desc)`` is the runner.

    Parameters
    ----------
    run : callable
        The runner, ``run(experiments, desc) -> pandas.DataFrame`` (``qmoe_tfq.experiments.runner.runner``);
        cached runs are read, not rerun.
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.

    Returns
    -------
    Results
        The study's rows (``pandas.DataFrame``) and what its tables, figures and ledger entries
        are computed from; ``Results.chosen`` holds the tuned parameters by evaluation name.
    """
    tuned = run_tuned_groups(groups(quick), run, PROBES, desc="phase 1 tuned")
    authors = run(authors_experiments(quick), "phase 1: authors' protocol")
    return Results(tuned, authors, quick)


# ------------------------------------------------------------------------------------------ tables


def tuning_convergence_table(res: Results) -> pd.DataFrame:
    """Did the epoch budget suffice for each model's chosen configuration per dataset
    (``_results.convergence_table`` over the tuning seeds)?"""
    return R.convergence_table(res.tuned, groups(res.quick))


def protocols(res: Results) -> list[tuple[str, str, str]]:
    """(protocol label, dataset, experiment-name prefix of its models) of every block of the table."""
    s = res.size
    out = [(f"authors, epoch {e}", d, f"{AUTHORS_PREFIX}{d}/") for e in s.authors_epochs for d in DATASETS]
    return out + [("tuned", d, f"{TUNED_PREFIX}{d}/") for d in s.tuned_datasets]


def experiment_name(res: Results, protocol: str, dataset: str, model_id: str) -> str:
    """The experiment behind a (protocol label, dataset, model) cell of the table."""
    if protocol == "tuned":
        return tuned_name(dataset, model_id, res.quick)
    return authors_name(dataset, model_id, int(protocol.rsplit(" ", 1)[1]))


def counts(rows: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """Correct test points of experiments ``a`` and ``b`` on their common seeds (integer counts)."""
    x, y = R.paired(rows, a, b, "n_correct")
    return x.astype(int), y.astype(int)


def accuracy_table(res: Results) -> pd.DataFrame:
    """One row per (protocol, dataset, model): parameters, the configuration chosen (tuned),
    held-out test accuracy (mean, 95% CI, range over seeds), the authors' stated value, collapsed
    routers, and the paired difference from the QMoE with exact signed-rank p-values on counts."""
    rows = res.rows
    selections = res.tuned.selections
    stated_epoch = res.size.authors_epochs[0]
    out = []
    for protocol, dataset, _ in protocols(res):
        for c in candidates():
            if protocol != "tuned" and c.base.kind != "phase1":
                continue
            name = experiment_name(res, protocol, dataset, c.id)
            g = R.runs(rows, name)
            acc = g["test_accuracy"].to_numpy(float)
            row = {
                "protocol": protocol,
                "dataset": dataset,
                "model_id": c.id,
                "model": c.label,
                "role": dict(c.tags)["role"],
                "router_params": R.count(g["router_params"].iloc[0]),
                "expert_params": R.count(g["expert_params"].iloc[0]),
                "total_params": int(g["total_params"].iloc[0]),
            }
            sel = selections.get(name)
            row.update(tuned_columns(sel))
            row.update(R.accuracy_columns(acc))
            row.update(
                {
                    "test_acc_min": float(acc.min()),
                    "test_acc_max": float(acc.max()),
                    "stated": STATED[dataset].get(c.id) if protocol == f"authors, epoch {stated_epoch}" else None,
                    "n_collapsed": R.collapse_count(rows, name),
                }
            )
            reference = experiment_name(res, protocol, dataset, "qmoe")
            if c.id == "qmoe":
                row.update({"delta_vs_qmoe": None, "p_model_better": None, "p_qmoe_better": None})
            else:
                a, b = counts(rows, name, reference)
                row.update(
                    {
                        "delta_vs_qmoe": float(
                            np.mean(g["test_accuracy"]) - np.mean(R.runs(rows, reference)["test_accuracy"])
                        ),
                        "p_model_better": paired_signed_rank(a, b, "greater"),
                        "p_qmoe_better": paired_signed_rank(a, b, "less"),
                    }
                )
            row["train_seconds_median"] = float(g["train_seconds"].median())
            out.append(row)
    table = pd.DataFrame(out)
    return table.astype({"router_params": "Int64", "expert_params": "Int64", "n_collapsed": "Int64"})


def timing_table(res: Results) -> pd.DataFrame:
    """Training seconds of the authors' protocol (the runs of the last epoch count: their whole
    training), median over seeds per dataset and model, seconds per epoch per 1,000 training rows,
    and the ratio to the classical MoE, beside the authors' stated seconds and ratio. A few epochs
    of a small classical model are mostly fixed costs (graph tracing), so the median seconds per
    epoch of the tuned protocol's longer runs, and their ratio, are given too (tuned datasets)."""
    rows, last = res.rows, res.size.authors_epochs[1]
    out = []
    for d in DATASETS:
        n_train = len(load_dataset(data_spec(d, res.size), 0).y_train)
        medians, tuned = {}, {}
        for c in candidates():
            if c.base.kind != "phase1":
                continue
            g = R.runs(rows, authors_name(d, c.id, last))
            medians[c.id] = float(g["train_seconds"].median())
            stated = STATED_SECONDS[d].get(c.id)
            out.append(
                {
                    "dataset": d,
                    "model_id": c.id,
                    "epochs": last,
                    "n_train": n_train,
                    "train_seconds_median": medians[c.id],
                    "train_seconds_min": float(g["train_seconds"].min()),
                    "train_seconds_max": float(g["train_seconds"].max()),
                    "seconds_per_epoch_per_1000_rows": medians[c.id] / last / n_train * 1000,
                    "stated_seconds": stated,
                    "stated_n_train": STATED_TRAIN_ROWS[d] if stated is not None else None,
                    "stated_seconds_per_epoch_per_1000_rows": (
                        None if stated is None else stated / AUTHORS_TRAINING["epochs"] / STATED_TRAIN_ROWS[d] * 1000
                    ),
                    "n_seeds": len(g),
                }
            )
            if d in res.size.tuned_datasets:
                t = R.runs(rows, tuned_name(d, c.id, res.quick))
                tuned[c.id] = float((t["train_seconds"] / t["n_epochs"]).median())
        for row in out[-len(medians) :]:
            row["ratio_to_classical_moe"] = row["train_seconds_median"] / medians["classical_moe"]
            s = STATED_SECONDS[d]
            row["stated_ratio_to_classical_moe"] = (
                s[row["model_id"]] / s["classical_moe"] if row["model_id"] in s else None
            )
            row["tuned_seconds_per_epoch_median"] = tuned.get(row["model_id"])
            row["tuned_ratio_to_classical_moe"] = tuned[row["model_id"]] / tuned["classical_moe"] if tuned else None
    return pd.DataFrame(out)


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows without the bulky columns."""
    drop = [c for c in ("epoch_losses", "grid_predictions", "key", "validation_curve") if c in rows.columns]
    return rows.drop(columns=drop)


# ------------------------------------------------------------------------------------------ figure


def accuracy_figure(table: pd.DataFrame):
    """Held-out test accuracy per model (mean and 95% CI), one panel per dataset: the authors'
    protocol at the stated epoch (filled), the tuned protocol (open), the authors' stated value (x),
    and every seed's value (small dots)."""
    from qmoe_tfq.reporting.plots import COLORS, plt
    from qmoe_tfq.reporting.style import NEUTRAL

    stated_protocol = next(p for p in dict.fromkeys(table["protocol"]) if p.startswith("authors"))
    ids = [c.id for c in candidates()]
    fams = {c.id: c.family for c in candidates()}
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(4.2 * len(DATASETS), 3.4), squeeze=False)
    for ax, d in zip(axes[0], DATASETS):
        for offset, protocol, filled in ((-0.15, stated_protocol, True), (0.15, "tuned", False)):
            g = table[(table["dataset"] == d) & (table["protocol"] == protocol)].set_index("model_id")
            for i, mid in enumerate(ids):
                if mid not in g.index:
                    continue
                r = g.loc[mid]
                color = COLORS[fams[mid]]
                ax.errorbar(
                    [i + offset],
                    [r["test_acc_mean"]],
                    yerr=[[r["test_acc_mean"] - r["test_acc_ci_low"]], [r["test_acc_ci_high"] - r["test_acc_mean"]]],
                    fmt="o",
                    color=color,
                    markerfacecolor=color if filled else "white",
                    markersize=5,
                    capsize=2,
                    linewidth=1,
                    label=(f"{protocol} (filled)" if filled else "tuned protocol (open)") if i == 0 else None,
                )
                if not pd.isna(r["stated"]):
                    ax.plot(
                        [i + offset],
                        [r["stated"]],
                        "x",
                        color=NEUTRAL,
                        markersize=7,
                        label="authors' stated value" if mid == "qmoe" else None,
                    )
        ax.set_xticks(
            range(len(ids)),
            [c.label.split(" (")[0].split(":")[0] for c in candidates()],
            rotation=25,
            ha="right",
            fontsize=7,
        )
        ax.set_title(DATASET_LABELS[d], fontsize=7)
        ax.set_ylabel("held-out test accuracy")
        ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.04))
    n = int(table["n_seeds"].max())
    fig.suptitle(f"Phase 1: mean and 95% CI over {n} seeds (x: the authors' single run)", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


__all__ = [
    "AUTHORS_MODELS",
    "DATASETS",
    "FULL",
    "MATCHED_HIDDEN",
    "QUICK",
    "Results",
    "STATED",
    "STATED_SECONDS",
    "Size",
    "accuracy_figure",
    "accuracy_table",
    "authors_experiments",
    "authors_name",
    "budget",
    "candidates",
    "counts",
    "data_spec",
    "experiment_name",
    "experiments",
    "groups",
    "matched_hidden",
    "protocols",
    "results",
    "runs_table",
    "size",
    "timing_table",
    "tuned_name",
    "tuning_convergence_table",
]

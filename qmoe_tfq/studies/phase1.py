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
* **N4's replication** (issue #21's power rule, added after the committed runs and before its own): the
  authors' protocol's seeds are N4's pilot; at 10 seeds they could show equivalence only within 6 pp
  against the 2 pp margin (underpowered), so N4's primary is decided on fresh seeds
  (``REPLICATION_SEED_BASE`` on) of the three authors' models at the stated epoch, their number fixed by
  the pilot before they run (``replication_size``: ``rules.equivalence_sample_size`` for the plan's margin,
  the most any of the six stated values needs, at most ``Size.replication_max``), under
  ``REPLICATION_PREFIX``. The data are the authors' fixed draw and the shipped 0/1 images, so fresh seeds
  are fresh splits and initialisations of the same points, as the pilot's are.
* **Training time**: median seconds of the 8-epoch runs, against the authors' stated 0.6 s
  (classical) vs 172 s (QMoE) on the synthetic data and 23 s vs 5,258 s on MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.plan import PLAN
from qmoe_tfq.analysis.rules import equivalence_sample_size, tost_mean
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
    ``synthetic_samples`` / ``mnist_samples``: examples drawn (500 / all 1,000 are the authors' data);
    ``replication_max``: most seeds N4's replication may take (``replication_size``; 0: none).
    """

    seeds: int
    tuning_seeds: int
    max_epochs: int
    authors_epochs: tuple[int, int]
    synthetic_samples: int
    mnist_samples: int | None
    tuned_datasets: tuple[str, ...] = DATASETS
    replication_max: int = 0


FULL = Size(
    seeds=10,
    tuning_seeds=3,
    max_epochs=30,
    authors_epochs=(7, AUTHORS_TRAINING["epochs"]),
    synthetic_samples=500,
    mnist_samples=None,
    replication_max=120,
)
QUICK = Size(
    seeds=2,
    tuning_seeds=1,
    max_epochs=2,
    authors_epochs=(1, 2),
    synthetic_samples=100,
    mnist_samples=100,
    tuned_datasets=("synthetic",),
    replication_max=3,
)

#: N4's replication (module docstring): its prefix and its seeds (disjoint from the pilot's 0-9 and from the
#: tuning seeds, ``tuning.TUNING_SEED_BASE`` on).
REPLICATION_PREFIX = f"{PREFIX}rep/"
REPLICATION_SEED_BASE = 3_000


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


def _authors_run(name: str, dataset: str, c: Candidate, epochs: int, seeds: tuple[int, ...], s: Size) -> Experiment:
    """``c`` under the authors' training (lr 0.01, batch 32, ``epochs`` epochs, no early stopping) on ``dataset``."""
    training = {"lr": AUTHORS_TRAINING["lr"], "batch_size": AUTHORS_TRAINING["batch_size"]}
    return Experiment(
        name,
        c.base.replace(**training, max_epochs=epochs),
        data_spec(dataset, s),
        "fair",
        seeds,
        probes=PROBES,
        tags=(("model_id", c.id), ("dataset", dataset), ("epochs", epochs)),
    )


def authors_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' training (lr 0.01, batch 32, no early stopping) for each epoch count of
    ``authors_epochs``, every Phase 1 model, both datasets, held-out accuracy."""
    s = size(quick)
    return [
        _authors_run(authors_name(d, c.id, e), d, c, e, tuple(range(s.seeds)), s)
        for d in DATASETS
        for c in candidates()
        if c.base.kind == "phase1"
        for e in s.authors_epochs
    ]


# ------------------------------------------------------------------------------- N4's replication


def replication_name(dataset: str, model_id: str, quick: bool = False) -> str:
    """Name of the replication runs of an authors' model (``AUTHORS_MODELS``) at the stated epoch."""
    return f"{REPLICATION_PREFIX}{dataset}/{model_id}/e{size(quick).authors_epochs[0]}"


def replication_seeds(n: int) -> tuple[int, ...]:
    return tuple(range(REPLICATION_SEED_BASE, REPLICATION_SEED_BASE + n))


def pilot_accuracies(authors: pd.DataFrame, quick: bool = False) -> dict[str, np.ndarray]:
    """The pilot: per ``dataset/model_id`` of the authors' models, held-out accuracy at the stated epoch by seed
    (the authors' protocol's rows)."""
    e = size(quick).authors_epochs[0]
    return {
        f"{d}/{m}": R.runs(authors, authors_name(d, m, e)).sort_values("seed")["test_accuracy"].to_numpy(float)
        for d in DATASETS
        for m in AUTHORS_MODELS
    }


def replication_need(pilot: dict[str, np.ndarray], quick: bool = False) -> dict[str, int | None]:
    """Per stated value, the fewest seeds that show equivalence within the plan's N4 margin with 80% power at
    the ``pilot``'s SD (``rules.equivalence_sample_size``); None where more than ``Size.replication_max`` would
    be needed."""
    cap = size(quick).replication_max
    out: dict[str, int | None] = {}
    for k, v in pilot.items():
        try:
            out[k] = equivalence_sample_size(v, PLAN["N4"].margin, n_max=cap)
        except ValueError:
            out[k] = None
    return out


def replication_size(authors: pd.DataFrame, quick: bool = False) -> int:
    """N4's replication seed count, fixed by its pilot (the authors' protocol's rows): the most that any stated
    value needs (``replication_need``), at most ``Size.replication_max`` (a pilot too noisy for the cap: the cap,
    and the ledger says so); 0 without a replication."""
    cap = size(quick).replication_max
    if not cap:
        return 0
    need = replication_need(pilot_accuracies(authors, quick), quick).values()
    return cap if None in need else max(need)


def replication_experiments(n: int, quick: bool = False) -> list[Experiment]:
    """N4's replication: the authors' models under the authors' training, at the stated epoch, on ``n`` fresh
    seeds (``replication_seeds``), named by ``replication_name``; none for ``n`` 0."""
    s = size(quick)
    e = s.authors_epochs[0]
    return [
        _authors_run(replication_name(d, m, quick), d, candidate(m), e, replication_seeds(n), s)
        for d in DATASETS
        for m in AUTHORS_MODELS
        if n
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
    n = int((chosen or {}).get(REPLICATION_PREFIX, {}).get("seeds") or 0)
    return (
        tuning_plan(g, chosen)
        + authors_experiments(quick)
        + evaluation_experiments(g, chosen or {}, PROBES)
        + replication_experiments(n, quick)
    )


@dataclass
class Results:
    """The tuned protocol's runs, the authors' protocol's rows and N4's replication (``replication_n`` seeds)."""

    tuned: TunedResults
    authors: pd.DataFrame
    quick: bool
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)
    replication_n: int = 0

    @property
    def size(self) -> Size:
        return size(self.quick)

    @property
    def rows(self) -> pd.DataFrame:
        """The evaluation rows: tuned, authors' protocol, and N4's replication."""
        return R.concat([self.tuned.evaluation, self.authors, self.replication])

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the study's outputs rest on, tuning runs included."""
        return R.concat([self.tuned.sources, self.authors, self.replication])

    @property
    def chosen(self) -> dict[str, dict]:
        """The tuned parameters by evaluation name and the replication's seed count (``REPLICATION_PREFIX``)."""
        return {
            **self.tuned.chosen,
            **({REPLICATION_PREFIX: {"seeds": self.replication_n}} if self.replication_n else {}),
        }


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
    n = replication_size(authors, quick)
    replication = run(replication_experiments(n, quick), f"phase 1: N4 replication ({n} fresh seeds)") if n else None
    return Results(tuned, authors, quick, pd.DataFrame() if replication is None else replication, n)


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


def replication_table(res: Results) -> pd.DataFrame:
    """N4's replication, one row per stated value (dataset, authors' model): the seeds the pilot said it needs,
    the seeds run, our mean and the plan's TOST (its 90% interval against the stated value +- the N4 margin),
    beside the pilot's mean; empty when the replication did not run."""
    if not res.replication_n or res.replication.empty:
        return pd.DataFrame()
    pilot = pilot_accuracies(res.authors, res.quick)
    need = replication_need(pilot, res.quick)
    margin = PLAN["N4"].margin
    out = []
    for d in DATASETS:
        for m in AUTHORS_MODELS:
            g = R.runs(res.replication, replication_name(d, m, res.quick))
            acc = g.sort_values("seed")["test_accuracy"].to_numpy(float)
            o = tost_mean(acc, STATED[d][m], margin)
            out.append(
                {
                    "dataset": d,
                    "model_id": m,
                    "stated": STATED[d][m],
                    "margin": margin,
                    "pilot_n": len(pilot[f"{d}/{m}"]),
                    "pilot_mean": float(pilot[f"{d}/{m}"].mean()),
                    "pilot_sd": float(pilot[f"{d}/{m}"].std(ddof=1)),
                    "seeds_needed": need[f"{d}/{m}"],
                    "n_seeds": len(acc),
                    "first_seed": int(g["seed"].min()),
                    "last_seed": int(g["seed"].max()),
                    "test_acc_mean": float(acc.mean()),
                    "tost_low": o.low,
                    "tost_high": o.high,
                    "tost": o.state,
                }
            )
    return pd.DataFrame(out).astype({"seeds_needed": "Int64"})


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows without the bulky columns."""
    drop = [c for c in ("epoch_losses", "grid_predictions", "key", "validation_curve") if c in rows.columns]
    return rows.drop(columns=drop)


# ------------------------------------------------------------------------------------------ figure


def accuracy_figure(table: pd.DataFrame, replication: pd.DataFrame | None = None):
    """Held-out test accuracy per model (mean and 95% CI), one panel per dataset: the authors'
    protocol at the stated epoch (filled), the tuned protocol (open), the authors' stated value (x),
    and, given N4's ``replication_table``, the replication's mean and 90% interval (diamonds, what decides N4)
    against the stated value +- the plan's margin (shaded)."""
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
        rep = (
            replication[replication["dataset"] == d] if replication is not None and len(replication) else table.iloc[:0]
        )
        for _, r in rep.iterrows():
            i = ids.index(r["model_id"])
            ax.fill_between(
                [i - 0.3, i + 0.3],
                r["stated"] - r["margin"],
                r["stated"] + r["margin"],
                color=NEUTRAL,
                alpha=0.15,
                linewidth=0,
                label=f"stated +- {r['margin'] * 100:g} pp" if r["model_id"] == "qmoe" else None,
            )
            ax.errorbar(
                [i],
                [r["test_acc_mean"]],
                yerr=[[r["test_acc_mean"] - r["tost_low"]], [r["tost_high"] - r["test_acc_mean"]]],
                fmt="D",
                color=COLORS[fams[r["model_id"]]],
                markersize=4,
                capsize=2,
                linewidth=1,
                label=f"replication, {int(r['n_seeds'])} fresh seeds (90% interval; decides N4)"
                if r["model_id"] == "qmoe"
                else None,
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
    rows = -(-len(labels) // 3)
    fig.legend(
        handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.04 * rows)
    )
    n = int(table["n_seeds"].max())
    fig.suptitle(f"Phase 1: mean and 95% CI over {n} seeds (x: the authors' single run)", fontsize=9)
    fig.tight_layout(rect=(0, 0.06 * rows, 1, 1))
    return fig


__all__ = [
    "AUTHORS_MODELS",
    "DATASETS",
    "FULL",
    "MATCHED_HIDDEN",
    "QUICK",
    "REPLICATION_PREFIX",
    "REPLICATION_SEED_BASE",
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
    "pilot_accuracies",
    "protocols",
    "replication_experiments",
    "replication_name",
    "replication_need",
    "replication_seeds",
    "replication_size",
    "replication_table",
    "results",
    "runs_table",
    "size",
    "timing_table",
    "tuned_name",
    "tuning_convergence_table",
]

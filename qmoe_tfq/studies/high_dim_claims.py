"""Stage: studies. Ledger entries Q2 and Q4 (the paper's open questions 2 and 4) from the high-dimensional study.

The rules are the pre-registered plan's (``qmoe_tfq.analysis.plan.PLAN["Q2"]``, ``["Q4"]``), written
before the runs:

* **Q2** primary: on MNIST 3 vs 8 at d = 256, the amplitude router is non-inferior to Model A within
  1 percentage point (exact one-sided signed-rank test on per-seed counts of correct test points,
  shifted by the margin). Secondary (reported, not deciding): against the quadratic twin, its
  low-rank version (``quadratic_rank``, about the amplitude router's parameters), the matched MLP,
  the angle router on PCA-8 and the re-uploading router; the primary's comparison on MNIST 0 vs 1
  and 10-class at each d; eta against d.
* **Q4** primary: the fully quantum mixture beats the hybrid (same router, linear experts) on every
  task, noiseless, each test at alpha / 3 (Bonferroni over the three tasks). Secondary: the same at
  p = 0.05 on every circuit; against the authors' Phase 1 QMoE and the classical mixtures; the same
  with every circuit of both (noiseless-trained) mixtures on each processor's calibrated noise.

``q2_primary`` and ``q4_primary`` are the rules on plain arrays, so the tests check them on
constructed data; ``primary_alphas`` gives the alpha each primary test is run at, so the tests check
that the seeds used can attain it.

The plan was amended before the regenerated run (``analysis.plan.DEVIATIONS``): 8 seeds instead of 5,
because 5 could not attain Q4's per-task alpha. Amended again before their runs: the tasks 0 vs 1
and 10-class and the low-rank twin, as reported secondary parts of Q2 (its primary unchanged). Amended a
third time after the committed runs and before the runs it adds (issue #21's power rule): Q2's primary,
underpowered on its 8 seeds, is decided on a replication sized by them (``high_dim.replication_size``);
the 8 seeds are the pilot, reported as a secondary part (``REPLICATION_AMENDMENT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qmoe_tfq.analysis import ledger
from qmoe_tfq.analysis import multiverse as mv
from qmoe_tfq.analysis.ledger import Entry, planned
from qmoe_tfq.analysis.plan import ALPHA, PLAN
from qmoe_tfq.analysis.rules import (
    Outcome,
    combined,
    paired_noninferiority,
    paired_power,
    paired_superiority,
    power_sentence,
    run_rule,
)
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval, min_attainable_p
from qmoe_tfq.experiments.tuning import eval_name
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import high_dim as hd

NI_MARGIN = 0.01
Q4_NOISE = 0.05


#: Seeds first planned for Q2 and Q4, before the amendment.
PLANNED_SEEDS = 5
AMENDMENT = (
    f"Plan amended before this run: {hd.FULL.seeds} seeds instead of {PLANNED_SEEDS}, because with "
    f"{PLANNED_SEEDS} the exact one-sided signed-rank test cannot go below p = {min_attainable_p(PLANNED_SEEDS):.3g}, "
    f"above Q4's per-task alpha {ALPHA:g}/3 (its 'reproduced' was unreachable); the amendment is about "
    "attainability, not about observed results"
)


#: The second amendment (before the runs it adds): more tasks and the low-rank twin, reported only.
TASK_AMENDMENT = (
    "Plan amended before their runs: MNIST 0 vs 1 and 10-class (the issue's other tasks) and the low-rank twin "
    "(quadratic_rank, rank chosen for about the amplitude router's parameters) were added as reported "
    "secondary parts; the primary endpoint (3 vs 8, d = 256, vs Model A) is unchanged"
)


#: The third amendment: Q2 decided on a replication sized by its pilot (after the committed runs, before its own).
REPLICATION_AMENDMENT = (
    "Plan amended after the committed runs and before the runs it adds (issue #21's power rule): the 8 seeds "
    "detected 2 pp with 80% power against the 1 pp margin (underpowered); adding seeds to that analysis would be "
    "optional stopping, so the 8 seeds are reported as the pilot and the primary is decided on fresh seeds "
    f"({hd.REPLICATION_SEED_BASE} on) whose number the pilot's SD fixed before they ran (80% power for a "
    f"{hd.REPLICATION_EFFECT:g} effect, at most {hd.FULL.replication_max}); fresh seeds are fresh samples and "
    "splits of the same evaluation pool (the shipped subset has no other 3-vs-8 images), so the replication is "
    "over training and splitting, conditional on those images"
)


def primary_alphas(s: hd.Size) -> dict[str, float]:
    """The alpha each primary test is run at, at size ``s``: Q2's one test at ALPHA, Q4's per task at
    ALPHA / number of tasks (Bonferroni).

    Parameters
    ----------
    s : Size
        The study's size (``high_dim.FULL`` or ``QUICK``).

    Returns
    -------
    dict
        ``{"Q2": alpha, "Q4": alpha}``.

    Examples
    --------
    >>> from qmoe_tfq.studies import high_dim as hd
    >>> {k: round(v, 4) for k, v in primary_alphas(hd.FULL).items()}
    {'Q2': 0.05, 'Q4': 0.0167}
    """
    return {"Q2": ALPHA, "Q4": ALPHA / max(1, len(s.fq_datasets))}


def attainability(n_seeds: int, alpha: float) -> str:
    """One sentence: can the exact one-sided signed-rank test reach ``alpha`` with ``n_seeds`` seeds?"""
    p = min_attainable_p(n_seeds)
    verb = "can" if p < alpha else "cannot"
    return f"with {n_seeds} seeds the exact signed-rank test {verb} reach alpha {alpha:.3g} (smallest p {p:.3g})"


def q2_primary(amplitude_correct, linear_correct, n_test: int) -> Outcome:
    """Amplitude router non-inferior to Model A within ``NI_MARGIN`` (counts of correct test points per seed)."""
    margin = NI_MARGIN * n_test
    return paired_noninferiority(
        np.asarray(amplitude_correct, float), np.asarray(linear_correct, float), margin, scale=1.0 / n_test,
        description="amplitude router vs Model A at d = 256",
    )  # fmt: skip


def q4_primary(
    pairs: Sequence[tuple[np.ndarray, np.ndarray, int]], labels: Sequence[str], test: str = "signed-rank"
) -> Outcome:
    """Fully quantum > hybrid on every task: ``pairs`` of (fully quantum counts, hybrid counts, n_test),
    each tested at alpha / len(pairs); the combined state (``all_of``)."""
    alpha = ALPHA / max(1, len(pairs))
    outs = [
        paired_superiority(a, b, alpha=alpha, test=test, scale=1.0 / n, description=f"{label} (alpha {alpha:.3g})")
        for (a, b, n), label in zip(pairs, labels)
    ]
    return combined(outs, "fully quantum > hybrid on every task")


def _resamples() -> int:
    return min(ledger.STABILITY_RESAMPLES, mv.MULTIVERSE_RESAMPLES)


def q2_multiverse(counts: tuple[np.ndarray, np.ndarray, int], headline: str) -> mv.MultiverseResult:
    """Q2's verdict over the multiverse of its primary (the deciding seeds' counts): margin 1 / 2 pp x paired
    test x seed set, crossed with seed resamples."""
    ca, cb, n = (np.asarray(counts[0], float), np.asarray(counts[1], float), counts[2])

    def verdict_of(spec: dict, pos: np.ndarray) -> tuple[str, float]:
        o = paired_noninferiority(ca[pos], cb[pos], spec["margin_pp"] / 100 * n, test=spec["test"], scale=1.0 / n)
        return PLAN["Q2"].verdict(o.state), o.effect

    only = ("margin_pp", "test", "seeds")
    return mv.run_multiverse(verdict_of, len(ca), claim="Q2", only=only, n_resamples=_resamples(), headline=headline)


def q4_multiverse(
    pairs: Sequence[tuple[np.ndarray, np.ndarray, int]], labels: Sequence[str], headline: str
) -> mv.MultiverseResult:
    """Q4's verdict over the multiverse of its primary: paired test x seed set, the tasks' seeds resampled
    together (the same seed ids on every task), crossed with seed resamples."""
    n_seeds = len(pairs[0][0])
    if any(len(a) != n_seeds or len(b) != n_seeds for a, b, _ in pairs):
        raise ValueError("Q4's tasks must have the same seeds")

    def verdict_of(spec: dict, pos: np.ndarray) -> tuple[str, float]:
        o = q4_primary([(a[pos], b[pos], n) for a, b, n in pairs], labels, test=spec["test"])
        return PLAN["Q4"].verdict(o.state), float(np.mean([np.mean((a[pos] - b[pos]) / n) for a, b, n in pairs]))

    only = ("test", "seeds")
    return mv.run_multiverse(verdict_of, n_seeds, claim="Q4", only=only, n_resamples=_resamples(), headline=headline)


def _counts(rows, a: str, b: str) -> tuple[np.ndarray, np.ndarray, int]:
    ca, cb = R.paired(rows, a, b, "n_correct")
    n = int(R.runs(rows, a)["n_test"].iloc[0])
    return ca, cb, n


def _names(res: hd.Results) -> dict[tuple, str]:
    out = {}
    for cands, b in hd.groups(res.quick):
        where = "pca8" if b.data.pca else b.data.resize
        for c in cands:
            out[(b.data.name, where, c.id)] = eval_name(b, c)
    return out


def _replication_counts(res: hd.Results) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Q2's replication counts (amplitude router, Model A, n_test), or None when it did not run."""
    if not res.replication_n or res.replication.empty:
        return None
    return _counts(res.replication, *(hd.replication_name(m, res.quick) for m in hd.REPLICATION_IDS))


def _replication_sizing(res: hd.Results) -> str:
    """How the replication was sized (``high_dim.replication_size``'s own numbers): the pilot's differences, the
    seeds needed and the cap."""
    d = hd.pilot_differences(res.tuned.evaluation, res.quick)
    cap = hd.size(res.quick).replication_max
    need = hd.replication_need(d, res.quick)
    needed = f"more than {cap}" if need is None else str(need)
    seeds = hd.replication_seeds(res.replication_n)
    return (
        f"pilot mean difference {d.mean():+.4f}, SD {d.std(ddof=1):.4f} over {len(d)} seeds; {needed} seeds needed"
        + (f", capped at {cap}" if needed != str(res.replication_n) else "")
        + f"; seeds {seeds[0]}-{seeds[-1]}"
    )


def q2_entry(res: hd.Results) -> Entry:
    names, rows = _names(res), res.tuned.evaluation
    s = hd.size(res.quick)
    task = f"mnist5k-{hd.PRIMARY_TASK}"
    side = hd.DIMENSIONS[max(s.dimensions)]
    amp = names[(task, side, "amplitude")]
    secondaries = []
    replication, pilot_counts = _replication_counts(res), None
    if (task, side, "linear") in names:
        pilot_counts = _counts(rows, amp, names[(task, side, "linear")])
        primary = run_rule(q2_primary, *pilot_counts)
        if replication is not None:  # the pilot is reported; the replication decides
            pilot = replace(primary, text=f"the pilot ({len(pilot_counts[0])} seeds): {primary.text}")
            secondaries.append((pilot, False))
            primary = run_rule(q2_primary, *replication)
    else:  # QUICK size runs no Model A
        primary = Outcome("inconclusive", float("nan"), "Model A not run at this size", can_fail=False)
    for d in s.dimensions:
        sd = hd.DIMENSIONS[d]
        a = names[(task, sd, "amplitude")]
        others = (
            ("quadratic", "superiority"), ("quadratic_rank", "superiority"), ("matched", "noninferiority"),
            ("reupload", "superiority"),
        )  # fmt: skip
        for other, rule in others:
            if (task, sd, other) not in names:
                continue
            ca, cb, n = _counts(rows, a, names[(task, sd, other)])
            if rule == "superiority":
                o = paired_superiority(ca, cb, scale=1 / n, description=f"amplitude > {other} at d = {d}")
            else:
                o = paired_noninferiority(
                    ca, cb, NI_MARGIN * n, scale=1 / n, description=f"amplitude vs {other} at d = {d}"
                )
            secondaries.append((o, False))
    if (task, "pca8", "angle_pca8") in names:
        ca, cb, n = _counts(rows, amp, names[(task, "pca8", "angle_pca8")])
        secondaries.append(
            (paired_superiority(ca, cb, scale=1 / n, description="amplitude (d = 256) > angle on PCA-8"), False)
        )
    for other_task in s.tasks:  # the primary's comparison on the other tasks, reported
        t = f"mnist5k-{other_task}"
        if t == task:
            continue
        for d in s.dimensions:
            a, lin = (t, hd.DIMENSIONS[d], "amplitude"), (t, hd.DIMENSIONS[d], "linear")
            if a in names and lin in names:
                ca, cb, n = _counts(rows, names[a], names[lin])
                o = paired_noninferiority(
                    ca, cb, NI_MARGIN * n, scale=1 / n, description=f"amplitude vs Model A, {t}, d = {d}"
                )
                secondaries.append((o, False))
    table = hd.accuracy_table(res)
    amp_row = table[(table["task"] == task) & (table["router"] == "amplitude") & (table["d"] == max(s.dimensions))]
    amp_row = amp_row.iloc[0]
    etas = "; ".join(
        f"{r.task} d={r.d} {r.router}: acc {r.test_acc_mean:.3f}, P={r.router_params}, eta {r.eta:.3f}"
        for r in table.itertuples()
    )
    deciding = replication or pilot_counts
    design = attainability(len(replication[0]) if replication else s.seeds, primary_alphas(s)["Q2"])
    power = ""
    if deciding is not None and PLAN["Q2"].verdict(primary.state) != "reproduced":
        ca, cb, n = deciding
        pw = paired_power((ca - cb) / n, effect_of_interest=NI_MARGIN)
        power = power_sentence(pw, " (accuracy)")
        design += (
            f"; underpowered for the 1 pp margin (detectable effect {pw['mde']:.3g} > {NI_MARGIN:g})"
            if pw["underpowered"]
            else f"; powered for the 1 pp margin (detectable effect {pw['mde']:.3g} <= {NI_MARGIN:g})"
        )
    summary = f"amplitude router at d = {max(s.dimensions)}: {amp_row.test_acc_mean:.3f} with {amp_row.router_params} parameters"
    evidence, replicated = ["tables/high_dim.csv"], ""
    ci = {"low": float(amp_row.test_acc_ci_low), "high": float(amp_row.test_acc_ci_high)}
    if replication is not None:
        ca, cb, n = replication
        rep_ci = bootstrap_interval(ca / n, bounds=ACCURACY_BOUNDS)  # the deciding seeds' amplitude accuracy
        ci = {"low": float(rep_ci.low), "high": float(rep_ci.high)}
        summary = (
            f"amplitude router ({amp_row.router_params} parameters) vs Model A at d = {max(s.dimensions)}, {len(ca)} "
            f"fresh replication seeds: {np.mean(ca) / n:.3f} vs {np.mean(cb) / n:.3f}; pilot ({len(pilot_counts[0])} "
            f"seeds): {summary}"
        )
        evidence.append("tables/high_dim_q2_replication.csv")
        replicated = f" {REPLICATION_AMENDMENT}: {_replication_sizing(res)}."
    entry = planned(
        "Q2",
        primary,
        secondaries,
        summary,
        ci,
        "tuned protocol, " + hd.__name__,
        evidence,
        note=f"{AMENDMENT}. {TASK_AMENDMENT}.{replicated} Primary: {design}. Per task, router and d: {etas}.",
        rule="non-inferiority",
        secondary_rules=["primary endpoint"] * len(secondaries),
        power=power,
    )
    return entry if deciding is None else ledger.with_multiverse(entry, q2_multiverse(deciding, entry.verdict))


def q4_entry(res: hd.Results) -> Entry:
    s, rows = hd.size(res.quick), res.fq
    pairs, labels = [], []
    noiseless = 0.0 if 0.0 in s.noise else s.noise[0]
    for dataset in s.fq_datasets:
        pairs.append(
            _counts(rows, hd.fq_name(dataset, "fully_quantum", noiseless), hd.fq_name(dataset, "hybrid", noiseless))
        )
        labels.append(dataset)
    primary = q4_primary(pairs, labels)
    secondaries = []
    if Q4_NOISE in s.noise:
        noisy = [
            _counts(rows, hd.fq_name(d, "fully_quantum", Q4_NOISE), hd.fq_name(d, "hybrid", Q4_NOISE))
            for d in s.fq_datasets
        ]
        secondaries.append((q4_primary(noisy, [f"{d}, p = {Q4_NOISE}" for d in s.fq_datasets]), False))
    device_note = ""
    if not res.fq_device.empty:
        dev_rows = hd.fq_device_rows(res)
        readout = dev_rows[dev_rows.setting.isin(("readout", "exact"))]
        for proc in s.fq_processors:
            pairs_dev = []
            for d in s.fq_datasets:
                at = readout[(readout.dataset == d) & (readout.processor == proc)]
                a, b = (at[at.model == m].sort_values("seed") for m in ("fully_quantum", "hybrid"))
                pairs_dev.append((a["n_correct"].to_numpy(), b["n_correct"].to_numpy(), int(a["n_test"].iloc[0])))
            labels_dev = [f"{d}, on {proc} (calibrated noise, readout error)" for d in s.fq_datasets]
            secondaries.append((q4_primary(pairs_dev, labels_dev), False))
        means = readout.groupby(["dataset", "model", "processor"], sort=False)["accuracy"].mean()
        device_note = (
            " Deployed with every circuit on a processor (noiseless-trained models, exact, readout error; "
            "amplitude state preparation ideal, so the device's effect on those circuits is a lower bound), "
            "held-out accuracy noiseless -> "
            + " / ".join(s.fq_processors)
            + ": "
            + "; ".join(
                f"{d} {m} {means[(d, m, 'noiseless')]:.3f} -> "
                + " / ".join(f"{means[(d, m, p)]:.3f}" for p in s.fq_processors)
                for d in s.fq_datasets
                for m in hd.FQ_DEVICE_MODELS
            )
            + "."
        )
    for other in ("phase1_qmoe", "classical_moe", "linear"):
        if other not in s.fq_models:
            continue
        for dataset in s.fq_datasets:
            ca, cb, n = _counts(rows, hd.fq_name(dataset, "fully_quantum", noiseless), hd.fq_name(dataset, other, 0.0))
            secondaries.append(
                (paired_superiority(ca, cb, scale=1 / n, description=f"fully quantum > {other} ({dataset})"), False)
            )
    table = hd.fq_table(res)
    summary = "; ".join(f"{r.dataset} {r.model} p={r.noise:g}: {r.test_acc_mean:.3f}" for r in table.itertuples())
    n_seeds, alpha = s.seeds, primary_alphas(s)["Q4"]
    design = attainability(n_seeds, alpha)
    if min_attainable_p(n_seeds) >= alpha:
        design += ": no task can be shown or reversed at that level (the primary can only be inconclusive)"
    entry = planned(
        "Q4",
        primary,
        secondaries,
        summary.split("; ")[0],
        {},
        f"fixed budget (Adam lr {hd.FQ_LR}, best-validation weights), {hd.__name__}",
        ["tables/high_dim_fully_quantum.csv"] + (["tables/high_dim_fully_quantum_device.csv"] if device_note else []),
        note=f"{AMENDMENT}. Primary: {design} per task. Held-out accuracy: {summary}.{device_note}",
        rule="primary endpoint",
        secondary_rules=["primary endpoint"] * len(secondaries),
    )
    return ledger.with_multiverse(entry, q4_multiverse(pairs, labels, entry.verdict))


def claims(res: hd.Results) -> list[Entry]:
    """The ledger entries Q2 and Q4."""
    return [q2_entry(res), q4_entry(res)]


__all__ = [
    "AMENDMENT",
    "TASK_AMENDMENT",
    "PLANNED_SEEDS",
    "NI_MARGIN",
    "attainability",
    "claims",
    "primary_alphas",
    "q2_entry",
    "q2_primary",
    "q4_entry",
    "q4_primary",
]

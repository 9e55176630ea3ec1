"""Stage: studies. The paper's open question 1 in simulation: real processors' calibrated noise, finite shots, hardware cost.

The tuned, noiselessly trained quantum routers of the Two Moons study (2 qubits, its seeds) and of the
scaling probe (one MNIST task at k = 4 and k = 8 qubits, its first seeds) are deployed on the median
calibrations of Google's "rainbow" and "weber" processors that cirq_google ships (the ``DeviceSweep``
probe, ``qmoe_tfq.models.device_eval``): compiled to sqrt-iSWAP on the best-calibrated connected
qubits (routed where the CNOTs are not nearest-neighbour; checked equal to the abstract circuit),
evaluated exactly under the processor's noise model with its readout error, with that readout error
mitigated, and from S shots per input; with the abstract depolarizing model the same shots give
C4's comparison at finite S. Each quantum setting is paired seed by seed with the tuned noiseless
Model A, the parameter-matched MLP router and (Two Moons) the Fourier-feature router, the same runs
as those studies' (shared cache). The trained models are the studies' own: the same spec, data and
seed retrain to the same weights (training is deterministic), here with the device probes attached.

**Q1 follows C1 onto its replication** (issue #21): Q1's gate is C1's primary comparison (the noiseless
quantum router against Model A), which is decided on fresh seeds (``two_moons.replication_seeds``), so the
tuned Two Moons quantum router is also deployed on those seeds (``REPLICATION``, exact calibrated-noise
evaluation only: no shots, no fine-tuning), against the replication's Model A on the same seeds; the 20-seed
deployment is Q1's pilot.

Two Moons also carries two further checks: on a few test inputs per seed, the noisy compiled
circuit through TFQ's trajectories against the exact engine with the same (TFQ-supported) channels
(``tfq_table``), and training aware of the device: each router fine-tuned under
``FINE_TUNE_PROCESSOR``'s noise (``DeviceFineTune``, ``models.device_train``), compared seed by
seed with the deployed model (``fine_tune_table``). At QUICK size one processor is used.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.stats import noise_curve
from qmoe_tfq.experiments.device_probe import PROCESSORS, DeviceFineTune, DeviceSweep
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.tuning import (
    TunedResults,
    eval_name,
    evaluation_experiments,
    run_tuned,
    run_tuned_groups,
    tuning_plan,
)
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import mechanism
from qmoe_tfq.studies import scaling as sc
from qmoe_tfq.studies import two_moons as tm

PREFIX = "device/"
REPLICATION = "two_moons_replication"
SHOTS = (10, 100, 1000, 10000)
EPS = (0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05)
WITHIN = 0.01  # "within 1 pp of exact evaluation"
SETTINGS = ("readout", "mitigated")
FINE_TUNE_PROCESSOR = "rainbow"  # device-aware training on one processor (the first; fixed before the runs)
TWO_MOONS = "two_moons"
TM_REFERENCES = {"linear": "linear", "matched": tm.MATCHED, "fourier": "fourier"}
SCALING_REFERENCES = {"linear": "linear", "matched": "matched"}
REFERENCE_LABELS = {
    "linear": "Model A (linear router)",
    "matched": "parameter-matched MLP router",
    "fourier": "Fourier-feature router",
}


@dataclass(frozen=True)
class Size:
    """Seeds, scaling task and sizes, shots and eps grid of a run: full, or QUICK (smoke test)."""

    tm_seeds: int
    scaling_task: str
    scaling: tuple[tuple[int, int], ...]  # (k, seeds)
    shots: tuple[int, ...]
    draws: int
    eps: tuple[float, ...]
    placements: tuple[str, ...]
    processors: tuple[str, ...]
    tfq_points: int  # Two Moons: test inputs per seed and processor through TFQ's trajectories
    tfq_repetitions: int
    fine_tune_epochs: int  # Two Moons: epochs of device-aware fine-tuning on FINE_TUNE_PROCESSOR


FULL = Size(
    tm_seeds=20,
    scaling_task="mnist5k-3v8",
    scaling=((4, 10), (8, 5)),
    shots=SHOTS,
    draws=5,
    eps=EPS,
    placements=("every_gate", "authors"),
    processors=PROCESSORS,
    tfq_points=2,
    tfq_repetitions=2000,
    fine_tune_epochs=10,
)
QUICK = Size(
    tm_seeds=3,
    scaling_task="mnist5k-0v1",
    scaling=((2, 1),),  # 2 qubits: the k = 8 path costs ~7 s per seed (full size only)
    shots=(10, 100, 1000),
    draws=2,
    eps=(0.0, 0.02),
    placements=("every_gate",),
    processors=(FINE_TUNE_PROCESSOR,),  # one processor at QUICK size
    tfq_points=1,
    tfq_repetitions=500,
    fine_tune_epochs=3,
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def dataset_label(task: str, k: int) -> str:
    return TWO_MOONS if task == TWO_MOONS else f"{task}/k{k}"


def _scaling_task(quick: bool) -> sc.Task:
    return {t.id: t for t in sc.TASKS}[size(quick).scaling_task]


def _scaling_groups(quick: bool) -> list:
    s, task = size(quick), _scaling_task(quick)
    ss = sc.size(quick)
    return [(sc.candidates(k), sc.budget(task, k, ss, quick)) for k, _ in s.scaling if k in sc.task_ks(task, ss)]


def _probe(quick: bool, two_moons: bool) -> DeviceSweep:
    s = size(quick)
    return DeviceSweep(
        s.processors,
        s.shots,
        s.draws,
        s.eps if two_moons else (),
        s.placements,
        check_points=2,
        tfq_points=s.tfq_points if two_moons else 0,
        tfq_repetitions=s.tfq_repetitions,
    )


def _fine_tune_probe(quick: bool) -> DeviceFineTune:
    return DeviceFineTune(FINE_TUNE_PROCESSOR, size(quick).fine_tune_epochs)


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The device study's planned runs: the tuned models it builds on (the tuning and evaluation runs
    of the Two Moons quantum router, Model A and matched MLP, the mechanism study's Fourier router and
    the scaling task's routers: runs shared with those studies through the cache) and, given their
    ``chosen`` parameters, each tuned quantum router retrained on its seeds with the ``DeviceSweep``
    probe.

    Parameters
    ----------
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    chosen : dict or None, default None
        The tuned parameters by evaluation name (Two Moons and scaling); None plans nothing (every
        run depends on the tuning).

    Returns
    -------
    list of Experiment

    Examples
    --------
    >>> from qmoe_tfq.studies import device_noise
    >>> sorted({e.protocol for e in device_noise.experiments(quick=True)})
    ['tuning']
    """
    chosen = chosen or {}
    tuned = [
        e
        for groups, probes in _tuned_sources(quick)
        for e in tuning_plan(groups, chosen) + evaluation_experiments(groups, chosen, probes)
    ]
    return tuned + device_experiments(quick, chosen)


def _replication_probe(quick: bool) -> DeviceSweep:
    return DeviceSweep(size(quick).processors, (), 1, (), check_points=2)


def replication_experiments(quick: bool, chosen: dict[str, dict]) -> list[Experiment]:
    """Q1 on C1's replication: the tuned Two Moons quantum router on the replication seeds (their count from
    ``chosen[two_moons.REPLICATION_PREFIX]``) with the exact device probe, and the replication's Model A (the
    two_moons study's run, shared through the cache); none without the count or the choices."""
    n = chosen.get(tm.REPLICATION_PREFIX, {}).get("seeds")
    names = {m: tm.tuned_name(m, quick) for m in ("quantum", "linear")}
    if not n or not all(name in chosen for name in names.values()):
        return []
    rc = tm.replication_choices(int(n), quick)
    quantum = rc.evaluation("quantum", chosen[names["quantum"]])
    linear = rc.evaluation("linear", chosen[names["linear"]])
    device = dataclasses.replace(quantum, name=f"{PREFIX}{REPLICATION}/quantum", probes=(_replication_probe(quick),))
    return [device, linear]


def device_experiments(quick: bool, chosen: dict[str, dict]) -> list[Experiment]:
    """The device runs proper: each tuned quantum router of ``chosen`` retrained with the probes (and, with
    C1's replication count in ``chosen``, ``replication_experiments``)."""
    s = size(quick)
    out = replication_experiments(quick, chosen)
    b = dataclasses.replace(tm.budget(quick), eval_seeds=tuple(range(s.tm_seeds)))
    q = tm.candidate("quantum")
    if eval_name(b, q) in chosen:
        (e,) = evaluation_experiments([([q], b)], chosen)
        out.append(
            dataclasses.replace(
                e, name=f"{PREFIX}{TWO_MOONS}/quantum", probes=(_probe(quick, True), _fine_tune_probe(quick))
            )
        )
    seeds = dict(s.scaling)
    for cands, budget in _scaling_groups(quick):
        quantum = [c for c in cands if c.id == "quantum"]
        if eval_name(budget, quantum[0]) not in chosen:
            continue
        k = int(budget.data.pca)
        budget = dataclasses.replace(budget, eval_seeds=tuple(range(seeds[k])))
        (e,) = evaluation_experiments([(quantum, budget)], chosen)
        name = f"{PREFIX}{dataset_label(s.scaling_task, k)}/quantum"
        out.append(dataclasses.replace(e, name=name, probes=(_probe(quick, False),)))
    return out


@dataclass
class Results:
    rows: pd.DataFrame
    references: dict[str, pd.DataFrame]  # dataset label -> (seed x reference id) accuracies
    n_test: dict[str, int]
    tuned: list[TunedResults]
    quick: bool
    #: Q1 on C1's replication (``replication_experiments``): the deployed quantum router's rows, and Model A's
    #: accuracy by replication seed (empty without a replication).
    replication: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    replication_reference: pd.Series = dataclasses.field(default_factory=lambda: pd.Series(dtype=float))

    @property
    def sources(self) -> pd.DataFrame:
        return R.concat([self.rows, self.replication] + [t.sources for t in self.tuned])

    @functools.cached_property
    def evaluations(self) -> pd.DataFrame:
        """``evaluations(rows)``, built once: the ledger and tables read it many times."""
        return evaluations(self.rows)

    @functools.cached_property
    def replication_evaluations(self) -> pd.DataFrame:
        """``evaluations(replication)``, built once."""
        return evaluations(self.replication)

    @property
    def chosen(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for t in self.tuned:
            out.update(t.chosen)
        return out


def _reference_frame(evaluation: pd.DataFrame, names: dict[str, str], seeds: int) -> pd.DataFrame:
    cols = {}
    for rid, name in names.items():
        g = evaluation[evaluation["experiment"] == name]
        cols[rid] = g.set_index("seed")["test_accuracy"].astype(float)
    return pd.DataFrame(cols).loc[lambda d: d.index < seeds].sort_index()


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the device study; the tuned models it builds on
    (Two Moons quantum router, Model A, matched MLP; the mechanism study's Fourier router; the
    scaling task's routers) come from those studies' cached runs.

    Parameters
    ----------
    run : callable
        The runner, ``run(experiments, desc) -> pandas.DataFrame``; cached runs are read, not rerun.
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.

    Returns
    -------
    Results
    """
    s = size(quick)
    (tm_groups, _), (fourier_groups, _), (groups, _) = _tuned_sources(quick)
    tm_tuned = run_tuned(*tm_groups[0], run, tm.PROBES, desc="device: two moons")
    fourier = run_tuned(*fourier_groups[0], run, tm.PROBES, desc="device: fourier")
    scaling = run_tuned_groups(groups, run, sc.PROBES, desc="device: scaling")
    n_rep = tm.replication_size(tm_tuned.evaluation, quick)
    chosen = {**tm_tuned.chosen, **fourier.chosen, **scaling.chosen, tm.REPLICATION_PREFIX: {"seeds": n_rep}}
    every = run(device_experiments(quick, chosen), "device noise")
    replicated = every["experiment"].isin([e.name for e in replication_experiments(quick, chosen)])
    rows, replication = every[~replicated], every[replicated]
    linear = tm.replication_choices(n_rep, quick).tuned_name("linear")
    reference = R.runs(replication, linear).set_index("seed")["test_accuracy"].astype(float).sort_index()
    replication = replication[replication["experiment"] != linear]
    tm_names = {
        rid: eval_name(mechanism.budget(quick) if rid == "fourier" else tm.budget(quick), _cand(rid, cid))
        for rid, cid in TM_REFERENCES.items()
    }
    evaluation = R.concat([tm_tuned.evaluation, fourier.evaluation])
    refs = {TWO_MOONS: _reference_frame(evaluation, tm_names, s.tm_seeds)}
    n_test = {TWO_MOONS: int(tm_tuned.evaluation["n_test"].iloc[0])}
    seeds = dict(s.scaling)
    for cands, budget in groups:
        k = int(budget.data.pca)
        label = dataset_label(s.scaling_task, k)
        names = {
            rid: eval_name(budget, next(c for c in cands if c.id == cid)) for rid, cid in SCALING_REFERENCES.items()
        }
        refs[label] = _reference_frame(scaling.evaluation, names, seeds[k])
        n_test[label] = int(scaling.evaluation["n_test"].iloc[0])
    return Results(rows, refs, n_test, [tm_tuned, fourier, scaling], quick, replication, reference)


def _tuned_sources(quick: bool) -> list[tuple[list, tuple]]:
    """(tuned groups, evaluation probes) of the models the study builds on: Two Moons, the Fourier
    router, the scaling task."""
    tm_ids = ("quantum", "linear", tm.MATCHED)
    return [
        ([([tm.candidate(i) for i in tm_ids], tm.budget(quick))], tm.PROBES),
        ([([mechanism.candidate("fourier")], mechanism.budget(quick))], tm.PROBES),
        (_scaling_groups(quick), sc.PROBES),
    ]


def _cand(rid: str, cid: str):
    return mechanism.candidate(cid) if rid == "fourier" else tm.candidate(cid)


# ------------------------------------------------------------------------------------ long frames


def replication_table(res: Results) -> pd.DataFrame:
    """Q1 on C1's replication seeds: per processor and setting (and noiseless), the deployed quantum router's
    held-out accuracy (mean, BCa 95% CI) and its paired difference to Model A on the same seeds."""
    if res.replication.empty:
        return pd.DataFrame()
    ev = res.replication_evaluations
    ev = ev[ev["shots"] == 0]
    refs = res.replication_reference.to_frame("linear")
    n_test = int(res.replication["n_test"].iloc[0])
    out = []
    for proc, setting in device_settings(ev):
        q = per_seed(ev, REPLICATION, proc, setting)
        out.append({"processor": proc, "setting": setting, **R.accuracy_columns(q.to_numpy(float)),
                    **_paired_columns(q, refs, n_test)})  # fmt: skip
    return pd.DataFrame(out)


def _dataset_of(name: str) -> str:
    return name.removeprefix(PREFIX).removesuffix("/quantum")


def evaluations(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, seed, processor, setting, noise, shots) with the accuracy (shots = 0: exact)."""
    out = []
    for r in rows.itertuples():
        for rec in r.device_eval:
            out.append({"dataset": _dataset_of(r.experiment), "seed": int(r.seed), **rec})
    frame = pd.DataFrame(out)
    frame["noise"] = frame["noise"].astype(float)
    return frame


def compiled(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, seed, processor): the compiled circuit's counts, checks and seconds."""
    out = []
    for r in rows.itertuples():
        for rec in r.device_compiled:
            out.append({"dataset": _dataset_of(r.experiment), "seed": int(r.seed), **rec})
    return pd.DataFrame(out)


def per_seed(ev: pd.DataFrame, dataset: str, processor: str, setting: str, shots: int = 0, noise=None) -> pd.Series:
    """Accuracy by seed of one setting."""
    g = ev[(ev["dataset"] == dataset) & (ev["processor"] == processor) & (ev["setting"] == setting)]
    g = g[g["shots"] == shots]
    g = g[g["noise"].isna()] if noise is None else g[np.isclose(g["noise"], noise)]
    return g.set_index("seed")["accuracy"].astype(float).sort_index()


def device_settings(ev: pd.DataFrame) -> list[tuple[str, str]]:
    """(processor, setting) pairs of the calibrated devices, then the noiseless model."""
    return [("noiseless", "exact")] + [(p, s) for p in PROCESSORS for s in SETTINGS if (ev["processor"] == p).any()]


# ------------------------------------------------------------------------------------------ tables


def _paired_columns(q: pd.Series, refs: pd.DataFrame, n_test: int) -> dict:
    from qmoe_tfq.analysis.rules import paired_superiority

    out = {}
    for rid in refs.columns:
        seeds = q.index.intersection(refs[rid].dropna().index)
        a = np.round(q.loc[seeds].to_numpy() * n_test)
        b = np.round(refs.loc[seeds, rid].to_numpy() * n_test)
        o = paired_superiority(a, b, scale=1.0 / n_test)
        out[f"minus_{rid}"] = o.effect
        out[f"p_above_{rid}"] = o.p
        out[f"p_below_{rid}"] = o.p_reverse
    return out


def accuracy_table(res: Results) -> pd.DataFrame:
    """One row per dataset x (processor, setting), exact evaluation: accuracy (mean, BCa 95% CI), the
    mean change against the noiseless model, and the paired comparisons with each classical router."""
    ev = res.evaluations
    out = []
    for dataset in sorted(ev["dataset"].unique(), key=_order):
        base = per_seed(ev, dataset, "noiseless", "exact")
        for processor, setting in device_settings(ev):
            q = per_seed(ev, dataset, processor, setting)
            row = {"dataset": dataset, "processor": processor, "setting": setting}
            row.update(R.accuracy_columns(q, interval="bca"))
            row["minus_noiseless"] = float((q - base.loc[q.index]).mean())
            row.update(_paired_columns(q, res.references[dataset], res.n_test[dataset]))
            out.append(row)
    return pd.DataFrame(out)


def reference_table(res: Results) -> pd.DataFrame:
    """The noiseless classical references on the same seeds: accuracy mean and BCa 95% CI."""
    out = []
    for dataset, refs in res.references.items():
        for rid in refs.columns:
            out.append(
                {"dataset": dataset, "reference": rid, "label": REFERENCE_LABELS[rid], **R.accuracy_columns(refs[rid])}
            )
    return pd.DataFrame(out)


def _order(dataset: str) -> tuple:
    return (dataset != TWO_MOONS, dataset)


def shots_table(res: Results) -> pd.DataFrame:
    """One row per dataset x processor x setting x S: accuracy mean over seeds (each seed's mean over
    its draws), its difference from exact evaluation of the same setting, and the sd over draws."""
    ev = res.evaluations
    ev = ev[ev["noise"].isna()]
    out = []
    for (dataset, processor, setting), g in ev.groupby(["dataset", "processor", "setting"], sort=False):
        exact_setting = "exact" if processor == "noiseless" else setting
        exact = per_seed(ev, dataset, processor, exact_setting)
        for shots, h in g[g["shots"] > 0].groupby("shots"):
            acc = h.set_index("seed")["accuracy"].sort_index()
            out.append(
                {
                    "dataset": dataset,
                    "processor": processor,
                    "setting": setting,
                    "shots": int(shots),
                    "accuracy_mean": float(acc.mean()),
                    "exact_mean": float(exact.mean()),
                    "minus_exact": float((acc - exact.loc[acc.index]).mean()),
                    "draw_sd_mean": float(h["accuracy_sd"].mean()),
                    "n_seeds": int(len(acc)),
                }
            )
    return pd.DataFrame(out)


def shots_needed(shots: pd.DataFrame, within: float = WITHIN) -> pd.DataFrame:
    """Per dataset x processor x setting: the smallest S of the grid from which on the mean accuracy
    stays within ``within`` of exact evaluation (NaN: none of the grid)."""
    out = []
    for (dataset, processor, setting), g in shots.groupby(["dataset", "processor", "setting"], sort=False):
        g = g.sort_values("shots")
        ok = (g["minus_exact"].abs() <= within).to_numpy()
        needed = math.nan
        for i in range(len(g)):
            if ok[i:].all():
                needed = int(g["shots"].iloc[i])
                break
        out.append({"dataset": dataset, "processor": processor, "setting": setting, "shots_needed": needed})
    return pd.DataFrame(out)


def _router_macs(dataset: str, rid: str) -> int:
    """Multiply-adds of one classical router's forward pass (gate logits) for one prediction."""
    k = 2 if dataset == TWO_MOONS else int(dataset.rsplit("/k", 1)[1])
    e = 2
    if rid == "linear":
        return k * e
    if rid == "fourier":
        return 3**k * e + 2 * k  # features (cos, sin per input) counted as 2 ops each
    hidden = tm.MATCHED_HIDDEN if dataset == TWO_MOONS else sc.router_specs(k)["matched"].hidden
    return k * hidden + hidden * e


def cost_table(res: Results) -> pd.DataFrame:
    """Per dataset x processor: native two-qubit gates, depth, SWAPs, calibration-based fidelity
    (medians over seeds), shots per prediction for the accuracy of exact evaluation (within 1 pp,
    raw readout), circuit executions for the test set, and each classical router's multiply-adds for
    the same predictions."""
    comp = compiled(res.rows)
    needed = shots_needed(shots_table(res))
    out = []
    for (dataset, processor), g in comp.groupby(["dataset", "processor"], sort=False):
        n_test = res.n_test[dataset]
        s = needed[
            (needed["dataset"] == dataset) & (needed["processor"] == processor) & (needed["setting"] == "readout")
        ]
        shots = float(s["shots_needed"].iloc[0]) if len(s) else math.nan
        row = {
            "dataset": dataset,
            "processor": processor,
            "n_qubits": int(g["n_qubits"].iloc[0]),
            "placement": g["placement"].iloc[0],
            "two_qubit_gates": float(g["two_qubit_gates"].median()),
            "depth": float(g["depth"].median()),
            "swaps": int(g["swaps"].iloc[0]),
            "fidelity_gates": float(g["fidelity_gates"].median()),
            "fidelity_total": float(g["fidelity_total"].median()),
            "shots_per_prediction": shots,
            "n_test": n_test,
            "circuit_executions_test_set": shots * n_test,
        }
        for rid in res.references[dataset].columns:
            row[f"macs_{rid}_test_set"] = _router_macs(dataset, rid) * n_test
        out.append(row)
    return pd.DataFrame(out)


def checks_table(res: Results) -> pd.DataFrame:
    """Per dataset x processor: the largest compiled-vs-abstract state error (noiseless, 1 - |overlap|)
    and exact-engine vs cirq.DensityMatrixSimulator deviation (up to 4 qubits), and seconds."""
    comp = compiled(res.rows)
    return (
        comp.groupby(["dataset", "processor"], sort=False)
        .agg(
            n_qubits=("n_qubits", "first"),
            equivalence_error_max=("equivalence_error", "max"),
            dm_check_deviation_max=("dm_check_deviation", lambda v: np.nan if v.isna().all() else float(v.max())),
            compile_seconds_mean=("compile_seconds", "mean"),
            seconds_mean=("seconds", "mean"),
            n_seeds=("seed", "nunique"),
        )
        .reset_index()
    )


def depolarizing_table(res: Results, reference: str = "linear") -> pd.DataFrame:
    """Two Moons, abstract depolarizing model: per placement x S (0 = exact) the advantage curve over
    ``reference`` (mean Delta per eps) and its threshold eps* (zero crossing of the mean curve, as the
    noise study's deploy curves), so C4's threshold can be read at finite S."""
    ev = res.evaluations
    ev = ev[(ev["dataset"] == TWO_MOONS) & ev["processor"].str.startswith("depolarizing/")]
    ref = res.references[TWO_MOONS][reference]
    out = []
    for (processor, shots), g in ev.groupby(["processor", "shots"], sort=True):
        table = g.pivot_table(index="seed", columns="noise", values="accuracy", aggfunc="first").sort_index()
        seeds = table.index.intersection(ref.index)
        grid = [float(e) for e in table.columns]
        delta = table.loc[seeds].to_numpy(float) - ref.loc[seeds].to_numpy(float)[:, None]
        curve = noise_curve(grid, delta, monotone=False, n_resamples=200)
        for i, eps in enumerate(grid):
            out.append(
                {
                    "placement": processor.split("/", 1)[1],
                    "shots": int(shots),
                    "noise": eps,
                    "accuracy_mean": float(table.loc[seeds, eps].mean()),
                    "delta_mean": float(curve.mean[i]),
                    "state": curve.state_at(eps),
                    "eps_star": curve.threshold,
                    "eps_star_label": curve.label(),
                    "n_seeds": len(seeds),
                }
            )
    return pd.DataFrame(out)


def _records(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per record of the list-valued result ``column`` (runs without it skipped)."""
    out = []
    if column not in rows.columns:
        return pd.DataFrame(out)
    for r in rows.itertuples():
        records = getattr(r, column)
        if isinstance(records, list):
            out += [{"dataset": _dataset_of(r.experiment), "seed": int(r.seed), **rec} for rec in records]
    return pd.DataFrame(out)


def tfq_table(res: Results) -> pd.DataFrame:
    """Two Moons, per processor: the noisy compiled circuit through TFQ's trajectories against the exact
    engine with the same (TFQ-supported) channels (``device_eval.tfq_check``): inputs checked (each
    with every <Z_i>), the largest |difference| of <Z_i> and the tolerance 5/sqrt(R), the channels dropped from both sides
    and how much they move the exact values."""
    t = _records(res.rows, "device_tfq")
    if t.empty:
        return t
    return (
        t.groupby(["dataset", "processor"], sort=False)
        .agg(
            n_seeds=("seed", "nunique"),
            inputs_checked=("points", "sum"),
            repetitions=("repetitions", "first"),
            max_deviation=("max_deviation", "max"),
            tolerance=("tolerance", "first"),
            all_within=("within_tolerance", "all"),
            kept_channels=("kept_channels", "median"),
            dropped=("dropped", lambda v: "; ".join(sorted(set(v)))),
            dropped_ops_median=("dropped_ops", "median"),
            dropped_effect_max=("dropped_effect_max", "max"),
            seconds_mean=("seconds", "mean"),
        )
        .reset_index()
    )


def fine_tune_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per seed of the device-aware fine-tuning (``models.device_train``)."""
    return _records(rows, "device_fine_tune")


def fine_tune_table(res: Results) -> pd.DataFrame:
    """Two Moons on ``FINE_TUNE_PROCESSOR``, per split x metric: the noiseless model, the noiselessly
    trained model deployed on the device (deploy) and the same model fine-tuned on the device's noise
    (tuned), means over seeds; tuned - deploy (mean paired difference) with exact one-sided
    signed-rank p-values (tuned better, tuned worse), and the share of the device's loss (deploy -
    noiseless) that fine-tuning recovers (ratio of the means)."""
    from qmoe_tfq.analysis.rules import paired_superiority

    f = fine_tune_frame(res.rows)
    if f.empty:
        return f
    out = []
    for split in ("validation", "test"):
        for metric, better in (("loss", "lower"), ("accuracy", "higher")):
            cols = {k: f[f"{k}_{split}_{metric}"].to_numpy(float) for k in ("noiseless", "deploy", "tuned")}
            o = paired_superiority(cols["tuned"], cols["deploy"], better=better)
            gap = cols["deploy"].mean() - cols["noiseless"].mean()
            out.append(
                {
                    "processor": f["processor"].iloc[0],
                    "split": split,
                    "metric": metric,
                    "noiseless_mean": float(cols["noiseless"].mean()),
                    "deploy_mean": float(cols["deploy"].mean()),
                    "tuned_mean": float(cols["tuned"].mean()),
                    "tuned_minus_deploy": float((cols["tuned"] - cols["deploy"]).mean()),
                    "p_tuned_better": o.p,
                    "p_tuned_worse": o.p_reverse,
                    "gap_recovered": float((cols["deploy"].mean() - cols["tuned"].mean()) / gap) if gap else math.nan,
                    "n_seeds": int(len(f)),
                }
            )
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------ figures


def shots_figure(res: Results):
    """Held-out accuracy vs S per dataset (panels), one line per processor and setting, exact values
    as dotted levels, the classical references as grey levels."""
    from qmoe_tfq.reporting.plots import plt

    table = shots_table(res)
    datasets = sorted(table["dataset"].unique(), key=_order)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        g = table[table["dataset"] == dataset]
        for (processor, setting), h in g.groupby(["processor", "setting"], sort=False):
            h = h.sort_values("shots")
            (line,) = ax.plot(h["shots"], h["accuracy_mean"], marker="o", label=f"{processor} {setting}")
            ax.axhline(h["exact_mean"].iloc[0], color=line.get_color(), ls=":", lw=1)
        for rid in res.references[dataset].columns:
            ax.axhline(res.references[dataset][rid].mean(), color="0.6", lw=0.8)
            ax.annotate(rid, (table["shots"].min(), res.references[dataset][rid].mean()), fontsize=7, color="0.4")
        ax.set_xscale("log")
        ax.set_xlabel("shots per input S")
        ax.set_title(dataset)
    axes[0][0].set_ylabel("held-out accuracy (mean over seeds)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


__all__ = [
    "EPS",
    "FINE_TUNE_PROCESSOR",
    "FULL",
    "PREFIX",
    "QUICK",
    "SHOTS",
    "Results",
    "accuracy_table",
    "checks_table",
    "compiled",
    "cost_table",
    "depolarizing_table",
    "evaluations",
    "experiments",
    "fine_tune_frame",
    "fine_tune_table",
    "per_seed",
    "reference_table",
    "results",
    "shots_figure",
    "shots_needed",
    "shots_table",
    "size",
    "tfq_table",
]

"""Depolarizing-noise study (claim C4, the authors' Phase 3B table N3).

Two protocols on the Two Moons data and the tuned protocol's models (``two_moons.results``: the
configuration chosen for each model on tuning seeds, make_moons(500, noise 0.1), a fresh sample and
stratified 70/30 split per seed, held-out test accuracy):

* ``deploy``: the tuned noiseless quantum router of the Two Moons table (same spec, data, seeds, so
  the same trained model) is evaluated with its router under noise (the ``NoiseSweep`` probe), by
  the exact engine on every seed and by TFQ trajectories on a subset of seeds.
* ``train``: a fresh model trained at each eps at the quantum router's tuned configuration, with
  gradients through the exact density-matrix engine. At eps = 0 both protocols are the noiseless
  model (one run, shared by both placements).

References are the tuned noiseless classical models on the same seeds and splits (noise does not act
on classical routers): Model A (linear router), the parameter-matched MLP router and the
constant-gate model. The threshold eps* (``breakdown``) is the smallest eps at which the quantum
router is no longer significantly above a reference (paired one-sided Wilcoxon over seeds, p < 0.05).

N3 repeats the authors' Phase 3B under their protocol: authors' placement, train under noise,
make_moons(1000, random_state=42), 20 epochs, lr 0.05, TRAINING-SET accuracy, many model seeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.config import NOISE_PLACEMENTS
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments import Experiment
from qmoe_tfq.probes import NoiseSweep
from qmoe_tfq.registry import qmoe
from qmoe_tfq.stats import ACCURACY_BOUNDS, ALPHA, paired_wilcoxon, t_interval
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import two_moons as tm
from qmoe_tfq.tuning import evaluation_experiment

NOISE_GRID = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05, 0.1, 0.15, 0.2)
PLACEMENTS = NOISE_PLACEMENTS
NOISE_PROTOCOLS = ("deploy", "train")
PROTOCOL_LABELS = {"deploy": "deploy (trained noiseless, evaluated under noise)",
                   "train": "train under noise (fresh model per eps)"}
REFERENCE_ROLES = {"linear": "linear", tm.MATCHED: "matched", "constant": "constant"}
REFERENCES = {
    "linear": "Model A: linear router",
    tm.MATCHED: f"MLP router h={tm.MATCHED_HIDDEN} (parameter-matched)",
    "constant": "constant gates (experts only)",
}
N3_NOISE = (0.0, 0.02, 0.05, 0.10, 0.15, 0.20)
N3_DATA = DataSpec(name="moons", n_samples=1000, noise=0.1, test_size=0.0, seed=tm.AUTHORS_DATA_SEED)
N3_LR = 0.05
PREFIX = "noise/"


@dataclass(frozen=True)
class Size:
    """Seeds, eps grid, TFQ-trajectory subset and N3 budget of a run: full, or QUICK (smoke test)."""

    seeds: int
    grid: tuple[float, ...]
    sampled_seeds: int
    repetitions: int
    n3_seeds: int
    n3_noise: tuple[float, ...]
    n3_epochs: int


FULL = Size(seeds=20, grid=NOISE_GRID, sampled_seeds=3, repetitions=1000, n3_seeds=10, n3_noise=N3_NOISE,
            n3_epochs=20)
QUICK = Size(seeds=2, grid=(0.0, 0.02, 0.2), sampled_seeds=1, repetitions=100, n3_seeds=2, n3_noise=(0.2,),
             n3_epochs=2)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def _tuned(models: tm.Results) -> dict[str, Experiment]:
    """The Two Moons tuned evaluation experiments by model id (the noise study's seeds)."""
    quick = models.quick
    seeds = tuple(range(size(quick).seeds))
    b = dataclasses.replace(tm.budget(quick), eval_seeds=seeds)
    return {cid: evaluation_experiment(sel, b, tm.PROBES) for cid, sel in models.tuned.selections.items()}


def deploy_experiments(models: tm.Results) -> list[Experiment]:
    """The tuned noiseless quantum router, evaluated under noise: exact on every seed; exact and TFQ
    trajectories on the first ``sampled_seeds`` (same trained models)."""
    s, q = size(models.quick), _tuned(models)["quantum"]
    return [
        dataclasses.replace(q, name=f"{PREFIX}deploy", probes=(NoiseSweep(s.grid, PLACEMENTS, ("exact",)),)),
        dataclasses.replace(q, name=f"{PREFIX}deploy_sampled", seeds=tuple(range(s.sampled_seeds)),
                            probes=(NoiseSweep(s.grid, PLACEMENTS, ("exact", "tfq_sampled"), s.repetitions),)),
    ]


def train_name(placement: str, eps: float) -> str:
    """Experiment name of the train-under-noise run at ``eps`` (eps = 0 is shared by placements)."""
    return f"{PREFIX}train/0" if eps == 0 else f"{PREFIX}train/{placement}/{eps:g}"


def train_experiments(models: tm.Results) -> list[Experiment]:
    """A fresh quantum model per (placement, eps) at the tuned configuration, exact engine; eps = 0 is
    the Two Moons tuned run itself."""
    s, q = size(models.quick), _tuned(models)["quantum"]
    exps = [dataclasses.replace(q, name=train_name(PLACEMENTS[0], 0.0))] if 0.0 in s.grid else []
    for placement in PLACEMENTS:
        for eps in s.grid:
            if eps > 0:
                spec = q.model.replace(noise=eps, noise_placement=placement, engine="exact")
                exps.append(dataclasses.replace(q, name=train_name(placement, eps), model=spec, probes=()))
    return exps


def reference_experiments(models: tm.Results) -> list[Experiment]:
    """The tuned noiseless references, identical to the Two Moons tuned runs (shared cache)."""
    tuned = _tuned(models)
    return [dataclasses.replace(tuned[rid], name=f"{PREFIX}ref/{rid}") for rid in REFERENCES]


def n3_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' Phase 3B protocol (training-set accuracy), plus the constant-gate floor on it."""
    s = size(quick)
    budget = {"lr": N3_LR, "max_epochs": s.n3_epochs, "batch_size": 32}
    seeds = tuple(range(s.n3_seeds))
    exps = [Experiment(f"n3/{p:g}", tm.QUANTUM.replace(noise=p, noise_placement="authors", **budget), N3_DATA,
                       "authors", seeds) for p in s.n3_noise]
    return exps + [Experiment("n3/constant", qmoe(router="constant", **budget), N3_DATA, "authors", seeds)]


def experiments(quick: bool = False) -> list[Experiment]:
    """The statically planned runs (N3; the rest follows from the Two Moons tuned selection)."""
    return n3_experiments(quick)


@dataclass
class Results:
    models: tm.Results
    rows: pd.DataFrame
    quick: bool


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) the study; the Two Moons tuned results come from the cache."""
    models = tm.results(run, quick)
    exps = (deploy_experiments(models) + train_experiments(models) + reference_experiments(models)
            + n3_experiments(quick))
    return Results(models, run(exps, "noise"), quick)


# ------------------------------------------------------------------------------------ per-seed data


def _runs(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    g = rows[rows["experiment"] == name]
    if g.empty:
        raise KeyError(f"no runs of {name} in the rows given")
    return g.sort_values("seed")


def noise_evaluations(rows: pd.DataFrame, name: str = f"{PREFIX}deploy") -> pd.DataFrame:
    """The deploy records of experiment ``name`` as a long frame, one row per (seed, placement, eps, engine)."""
    return pd.DataFrame([{"seed": int(r.seed), **rec} for r in _runs(rows, name).itertuples()
                         for rec in r.noise_eval])


def quantum_accuracies(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Held-out test accuracy of the quantum router, one row per (protocol, placement, eps, seed);
    deploy from the exact engine, train from each fresh model."""
    deploy = noise_evaluations(rows)
    deploy = deploy[deploy["engine"] == "exact"]
    parts = [pd.DataFrame({"protocol": "deploy", "placement": deploy["placement"], "noise": deploy["noise"],
                           "seed": deploy["seed"], "accuracy": deploy["accuracy"]})]
    for placement in PLACEMENTS:
        for eps in grid:
            g = _runs(rows, train_name(placement, eps))
            parts.append(pd.DataFrame({"protocol": "train", "placement": placement, "noise": float(eps),
                                       "seed": g["seed"].to_numpy(), "accuracy": g["test_accuracy"].to_numpy(float)}))
    return pd.concat(parts, ignore_index=True)


def reference_accuracies(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Held-out test accuracy per seed of each noiseless classical reference."""
    return {rid: _runs(rows, f"{PREFIX}ref/{rid}").set_index("seed")["test_accuracy"].astype(float)
            for rid in REFERENCES}


def _paired_p(quantum: pd.Series, reference: pd.Series, alternative: str = "greater") -> float:
    seeds = quantum.index.intersection(reference.index)
    return paired_wilcoxon(quantum.loc[seeds].to_numpy(), reference.loc[seeds].to_numpy(), alternative)


# ------------------------------------------------------------------------------------------ threshold


@dataclass(frozen=True)
class Threshold:
    """eps* and how to print it: ``eps_star`` is NaN when no crossing occurs inside the grid."""

    eps_star: float
    label: str
    last_significant: float


def breakdown(noise: Sequence[float], p_values: Sequence[float], alpha: float = ALPHA) -> Threshold:
    """eps* = the smallest eps of the grid whose one-sided p-value (quantum above the reference) is
    not below ``alpha``. Not significant at the smallest eps (0) -> eps* = 0, "no advantage at eps=0";
    significant everywhere -> no crossing inside the grid, "> max(grid)"."""
    if len(noise) != len(p_values) or not len(noise):
        raise ValueError(f"need one p-value per eps, got {len(noise)} eps and {len(p_values)} p-values")
    order = np.argsort(noise)
    grid, p = np.asarray(noise, float)[order], np.asarray(p_values, float)[order]
    last = math.nan
    for eps, pv in zip(grid, p):
        if not pv < alpha:
            if eps == grid[0]:
                return Threshold(float(eps), f"{eps:g} (no advantage at eps={eps:g})", last)
            return Threshold(float(eps), f"{eps:g}", last)
        last = float(eps)
    return Threshold(math.nan, f"> {grid[-1]:g}", last)


def sustained_breakdown(noise: Sequence[float], p_values: Sequence[float],
                        alpha: float = ALPHA) -> Threshold:
    """The smallest eps from which on the quantum router is never again significantly above the
    reference (p >= ``alpha`` at it and at every larger eps of the grid): ``breakdown`` read as a
    lasting loss, robust to a single non-significant eps amid significant ones (seeds whose training
    got stuck). Significant at the largest eps -> "> max(grid)"; never significant -> the smallest eps."""
    if len(noise) != len(p_values) or not len(noise):
        raise ValueError(f"need one p-value per eps, got {len(noise)} eps and {len(p_values)} p-values")
    order = np.argsort(noise)
    grid, p = np.asarray(noise, float)[order], np.asarray(p_values, float)[order]
    significant = np.flatnonzero(p < alpha)
    if not len(significant):
        return Threshold(float(grid[0]), f"{grid[0]:g} (no advantage at any eps)", math.nan)
    last = int(significant[-1])
    if last == len(grid) - 1:
        return Threshold(math.nan, f"> {grid[-1]:g}", float(grid[-1]))
    return Threshold(float(grid[last + 1]), f"{grid[last + 1]:g}", float(grid[last]))


def threshold(quantum: pd.DataFrame, reference: pd.Series,
              alpha: float = ALPHA) -> tuple[Threshold, dict[float, float]]:
    """eps* of quantum accuracies (columns noise, seed, accuracy) against one reference (accuracy by
    seed), paired over the seeds both have; also the p-value at every eps."""
    p = {float(eps): _paired_p(g.set_index("seed")["accuracy"], reference)
         for eps, g in quantum.groupby("noise", sort=True)}
    return breakdown(list(p), list(p.values()), alpha), p


# ------------------------------------------------------------------------------------------- tables


def noise_table(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """One row per placement x protocol x eps: test accuracy (mean, 95% CI, n), and one-sided paired
    p-values of the quantum router above (``p_above_*``) and below (``p_below_*``) each reference."""
    acc, refs = quantum_accuracies(rows, grid), reference_accuracies(rows)
    out = []
    for placement in PLACEMENTS:
        for protocol in NOISE_PROTOCOLS:
            sub = acc[(acc["placement"] == placement) & (acc["protocol"] == protocol)]
            for eps, g in sub.groupby("noise", sort=True):
                ci = t_interval(g["accuracy"], bounds=ACCURACY_BOUNDS)
                q = g.set_index("seed")["accuracy"]
                row = {"placement": placement, "protocol": protocol, "noise": float(eps), "test_acc_mean": ci.mean,
                       "test_acc_ci_low": ci.low, "test_acc_ci_high": ci.high, "n_seeds": ci.n}
                for rid, ref in refs.items():
                    row[f"p_above_{rid}"] = _paired_p(q, ref, "greater")
                    row[f"p_below_{rid}"] = _paired_p(q, ref, "less")
                out.append(row)
    return pd.DataFrame(out)


def reference_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The noiseless references: test accuracy mean and 95% CI over the study's seeds."""
    out = []
    for rid, acc in reference_accuracies(rows).items():
        ci = t_interval(acc, bounds=ACCURACY_BOUNDS)
        out.append({"reference": rid, "label": REFERENCES[rid], "role": REFERENCE_ROLES[rid], "test_acc_mean": ci.mean,
                    "test_acc_ci_low": ci.low, "test_acc_ci_high": ci.high, "n_seeds": ci.n})
    return pd.DataFrame(out)


def threshold_table(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """eps* per placement x protocol x reference, with the p-value at eps = 0 and at eps*, and the
    lasting breakdown (``sustained_breakdown``) beside it."""
    acc, refs = quantum_accuracies(rows, grid), reference_accuracies(rows)
    ref_means = {rid: float(a.mean()) for rid, a in refs.items()}
    out = []
    for placement in PLACEMENTS:
        for protocol in NOISE_PROTOCOLS:
            sub = acc[(acc["placement"] == placement) & (acc["protocol"] == protocol)]
            for rid, ref in refs.items():
                th, p = threshold(sub, ref)
                lasting = sustained_breakdown(list(p), list(p.values()))
                out.append({
                    "placement": placement, "protocol": protocol, "reference": rid,
                    "reference_acc_mean": ref_means[rid],
                    "quantum_acc_at_0": float(sub[sub["noise"] == min(grid)]["accuracy"].mean()),
                    "eps_star": th.eps_star, "eps_star_label": th.label,
                    "last_significant_eps": th.last_significant,
                    "eps_sustained": lasting.eps_star, "eps_sustained_label": lasting.label,
                    "p_at_eps0": p[min(p)], "p_at_eps_star": p.get(th.eps_star, math.nan),
                    "n_seeds": int(sub["seed"].nunique()),
                })
    return pd.DataFrame(out)


def engine_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Exact vs TFQ-trajectory deploy evaluation of the same trained models, per placement x eps:
    mean accuracies and their difference, the checks of ``qmoe_tfq.noise_eval``, and wall times."""
    ev = noise_evaluations(rows, f"{PREFIX}deploy_sampled")
    exact = ev[ev["engine"] == "exact"].set_index(["placement", "noise", "seed"])
    samp = ev[ev["engine"] == "tfq_sampled"].set_index(["placement", "noise", "seed"])
    out = []
    for (placement, eps), g in samp.groupby(level=["placement", "noise"], sort=False):
        e = exact.loc[g.index]
        diff = g["accuracy"].to_numpy() - e["accuracy"].to_numpy()
        ci = t_interval(diff)
        within = bool(np.all(g["max_output_deviation"] <= g["tolerance"])
                      and np.all(g["disagreement"] <= g["fragile"]))
        out.append({
            "placement": placement, "noise": float(eps), "repetitions": int(g["repetitions"].iloc[0]),
            "exact_acc_mean": float(e["accuracy"].mean()), "sampled_acc_mean": float(g["accuracy"].mean()),
            "diff_mean": ci.mean, "diff_ci_low": ci.low, "diff_ci_high": ci.high,
            "max_output_deviation": float(g["max_output_deviation"].max()), "tolerance": float(g["tolerance"].iloc[0]),
            "max_disagreement": float(g["disagreement"].max()), "max_fragile": float(g["fragile"].max()),
            "within_tolerance": within,
            "exact_seconds_mean": float(e["seconds"].mean()), "sampled_seconds_mean": float(g["seconds"].mean()),
            "n_seeds": ci.n,
        })
    return pd.DataFrame(out)


def timing_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Wall time of each engine over the same deploy sweep (all placements and eps, same models):
    in total, and per setting split into building the noisy router (compiling the engine) and
    evaluating the split once."""
    ev = noise_evaluations(rows, f"{PREFIX}deploy_sampled")
    out = []
    for engine, g in ev.groupby("engine", sort=True):
        per_seed = g.groupby("seed")["seconds"].sum()
        out.append({
            "engine": engine,
            "repetitions": int(g["repetitions"].iloc[0]) if engine == "tfq_sampled" else None,
            "settings_per_seed": int(len(g) // g["seed"].nunique()),
            "seconds_per_seed_mean": float(per_seed.mean()),
            "build_seconds_per_setting_mean": float(g["build_seconds"].mean()),
            "evaluate_seconds_per_setting_mean": float((g["seconds"] - g["build_seconds"]).mean()),
            "seconds_total": float(g["seconds"].sum()),
            "n_seeds": int(g["seed"].nunique()),
        })
    return pd.DataFrame(out).astype({"repetitions": "Int64"})


def train_cost_table(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Mean training wall time of one train-under-noise model per placement (eps > 0: density-matrix
    engine) against the noiseless model (eps = 0: TFQ analytic op)."""
    out = [{"placement": "none (eps = 0)", "engine": "TFQ analytic (noiseless)",
            "train_seconds_mean": float(_runs(rows, train_name(PLACEMENTS[0], 0.0))["train_seconds"].mean())}]
    for placement in PLACEMENTS:
        secs = [s for eps in grid if eps > 0 for s in _runs(rows, train_name(placement, eps))["train_seconds"]]
        out.append({"placement": placement, "engine": "exact density matrix",
                    "train_seconds_mean": float(np.mean(secs)) if secs else math.nan})
    return pd.DataFrame(out)


def n3_table(rows: pd.DataFrame, stated: dict[float, float]) -> pd.DataFrame:
    """The authors' Phase 3B protocol: TRAINING-SET accuracy per p (mean, 95% CI over model seeds)
    next to the stated value, and the constant-gate floor on the same data and budget."""
    floor = t_interval(_runs(rows, "n3/constant")["train_accuracy"], bounds=ACCURACY_BOUNDS)
    out = []
    for name in sorted({n for n in rows["experiment"] if n.startswith("n3/") and n != "n3/constant"},
                       key=lambda n: float(n.split("/")[1])):
        p = float(name.split("/")[1])
        ci = t_interval(_runs(rows, name)["train_accuracy"], bounds=ACCURACY_BOUNDS)
        st = stated.get(p, math.nan)
        out.append({"p": p, "stated_train_acc": st, "train_acc_mean": ci.mean, "train_acc_ci_low": ci.low,
                    "train_acc_ci_high": ci.high, "stated_inside_ci": bool(ci.low <= st <= ci.high),
                    "constant_gate_train_acc_mean": floor.mean, "n_seeds": ci.n})
    return pd.DataFrame(out)

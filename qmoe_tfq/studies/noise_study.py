"""Stage: studies. Depolarizing-noise study (claim C4, the authors' Phase 3B table N3).

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
constant-gate model. Against each, per seed, Delta(eps) = quantum(eps) - reference; ``curves`` turns
those into ``NoiseCurve``s (``qmoe_tfq.analysis.stats.noise_curve``: mean Delta with a paired-bootstrap band,
exact signed-rank p-values per eps, the threshold eps* where the mean Delta crosses zero, made
non-increasing in eps for train under noise), and the threshold table, the advantage figure and the
C4 verdict all read those same curves.

C4's multiverse (issue #21) varies the Two Moons run choices through the models they change: the eps = 0
models are the Two Moons tuned runs, so its multiverse runs give the gate under each choice; under Glorot
initialisation the primary curve (every_gate, train under noise) is also retrained at every eps
(``glorot_train_experiments``), so that choice is judged by the whole rule (on the committed runs the gate
holds only under it; under the others a gate that holds reads "not determined").

N3 repeats the authors' Phase 3B under their protocol: authors' placement, train under noise,
make_moons(1000, random_state=42), 20 epochs, lr 0.05, TRAINING-SET accuracy, many model seeds; and again
with Glorot initialisation (``n3_glorot_experiments``), its multiverse's initialisation choice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.ledger import PerSeed
from qmoe_tfq.analysis.stats import (
    ACCURACY_BOUNDS,
    NoiseCurve,
    bootstrap_interval,
    noise_curve,
    prediction_interval,
    t_interval,
)
from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.probes import NoiseSweep
from qmoe_tfq.experiments.registry import qmoe
from qmoe_tfq.specs.config import NOISE_PLACEMENTS
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import _variants as V
from qmoe_tfq.studies import two_moons as tm

NOISE_GRID = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05, 0.1, 0.15, 0.2)
PLACEMENTS = NOISE_PLACEMENTS
NOISE_PROTOCOLS = ("deploy", "train")
PROTOCOL_LABELS = {
    "deploy": "deploy (trained noiseless, evaluated under noise)",
    "train": "train under noise (fresh model per eps)",
}
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
    """Seeds, eps grid, TFQ-trajectory subset and N3 budget of a run: full, or QUICK (smoke test).

    The TFQ-trajectory cross-check shows that TFQ's Monte-Carlo engine agrees with the exact engine
    within 5/sqrt(R) in both placements; that is a property of the engine, not of a seed, so
    ``sampled_seeds`` x ``sampled_grid`` (eps = 0 has no channels and tests nothing) suffice."""

    seeds: int
    grid: tuple[float, ...]
    sampled_seeds: int
    sampled_grid: tuple[float, ...]
    repetitions: int
    n3_seeds: int
    n3_noise: tuple[float, ...]
    n3_epochs: int


FULL = Size(
    seeds=20,
    grid=NOISE_GRID,
    sampled_seeds=2,
    sampled_grid=(0.02, 0.1, 0.2),
    repetitions=1000,
    n3_seeds=10,
    n3_noise=N3_NOISE,
    n3_epochs=20,
)
QUICK = Size(
    seeds=2,
    grid=(0.0, 0.02, 0.2),
    sampled_seeds=1,
    sampled_grid=(0.2,),
    repetitions=100,
    n3_seeds=2,
    n3_noise=(0.2,),
    n3_epochs=2,
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def _tuned(chosen: dict[str, dict], quick: bool) -> dict[str, Experiment]:
    """The Two Moons tuned evaluation experiments by model id, on the noise study's seeds, from the
    Two Moons ``chosen`` parameters (by evaluation name)."""
    from qmoe_tfq.experiments.tuning import eval_name, evaluation_experiments

    b = dataclasses.replace(tm.budget(quick), eval_seeds=tuple(range(size(quick).seeds)))
    cands = [c for c in tm.candidates() if eval_name(b, c) in chosen]
    return {c.id: e for c, e in zip(cands, evaluation_experiments([(cands, b)], chosen, tm.PROBES))}


def deploy_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """The tuned noiseless quantum router, evaluated under noise: exact on every seed; exact and TFQ
    trajectories on the first ``sampled_seeds`` (same trained models)."""
    s, q = size(quick), _tuned(chosen, quick)["quantum"]
    return [
        dataclasses.replace(q, name=f"{PREFIX}deploy", probes=(NoiseSweep(s.grid, PLACEMENTS, ("exact",)),)),
        dataclasses.replace(
            q,
            name=f"{PREFIX}deploy_sampled",
            seeds=tuple(range(s.sampled_seeds)),
            probes=(NoiseSweep(s.sampled_grid, PLACEMENTS, ("exact", "tfq_sampled"), s.repetitions),),
        ),
    ]


def train_name(placement: str, eps: float) -> str:
    """Experiment name of the train-under-noise run at ``eps`` (eps = 0 is shared by placements)."""
    return f"{PREFIX}train/0" if eps == 0 else f"{PREFIX}train/{placement}/{eps:g}"


def train_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """A fresh quantum model per (placement, eps) at the tuned configuration, exact engine; eps = 0 is
    the Two Moons tuned run itself."""
    s, q = size(quick), _tuned(chosen, quick)["quantum"]
    exps = [dataclasses.replace(q, name=train_name(PLACEMENTS[0], 0.0))] if 0.0 in s.grid else []
    for placement in PLACEMENTS:
        for eps in s.grid:
            if eps > 0:
                spec = q.model.replace(noise=eps, noise_placement=placement, engine="exact")
                exps.append(dataclasses.replace(q, name=train_name(placement, eps), model=spec, probes=()))
    return exps


#: C4's multiverse under Glorot initialisation (issue #21): its primary curve (every_gate, train under noise)
#: retrained with Keras' Glorot initialisation of the classical layers, the configuration as tuned (not
#: retuned); eps = 0 and the Model A reference are the Two Moons study's Glorot runs.
GLOROT_PLACEMENT = "every_gate"


def glorot_train_name(eps: float) -> str:
    return f"{PREFIX}train_glorot/{GLOROT_PLACEMENT}/{eps:g}"


def glorot_train_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """The train-under-noise runs of C4's primary curve with Glorot initialisation, every eps > 0."""
    s, q = size(quick), _tuned(chosen, quick)["quantum"]
    spec = q.model.replace(noise_placement=GLOROT_PLACEMENT, engine="exact", init="glorot")
    return [
        dataclasses.replace(q, name=glorot_train_name(eps), model=spec.replace(noise=eps), probes=())
        for eps in s.grid
        if eps > 0
    ]


def glorot_accuracies(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Per seed (index) and eps > 0 (columns): held-out accuracy of the Glorot-initialised quantum router trained
    under noise (``glorot_train_experiments``); empty when those runs are not in ``rows``."""
    names = {float(e): glorot_train_name(e) for e in grid if e > 0}
    if not set(names.values()) <= set(rows.get("experiment", pd.Series(dtype=str))):
        return pd.DataFrame()
    cols = {e: _runs(rows, n).set_index("seed")["test_accuracy"].astype(float) for e, n in names.items()}
    return pd.DataFrame(cols)


def reference_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """The tuned noiseless references, identical to the Two Moons tuned runs (shared cache)."""
    tuned = _tuned(chosen, quick)
    return [dataclasses.replace(tuned[rid], name=f"{PREFIX}ref/{rid}") for rid in REFERENCES]


def n3_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' Phase 3B protocol (training-set accuracy), plus the constant-gate floor on it."""
    s = size(quick)
    budget = {"lr": N3_LR, "max_epochs": s.n3_epochs, "batch_size": 32}
    seeds = tuple(range(s.n3_seeds))
    exps = [
        Experiment(
            f"n3/{p:g}", tm.QUANTUM.replace(noise=p, noise_placement="authors", **budget), N3_DATA, "authors", seeds
        )
        for p in s.n3_noise
    ]
    return exps + [Experiment("n3/constant", qmoe(router="constant", **budget), N3_DATA, "authors", seeds)]


#: N3's runs with Keras' Glorot initialisation of the classical layers (the multiverse's initialisation choice,
#: issue #21), named under this prefix.
N3_GLOROT_PREFIX = "glorot/"


def n3_glorot_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' Phase 3B runs N3 reads (not the constant-gate floor) with ``init="glorot"``."""
    return V.glorot_copies([e for e in n3_experiments(quick) if e.name != "n3/constant"], N3_GLOROT_PREFIX)


def n3_glorot_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """N3's Glorot runs renamed to the plan's names (``n3/<p>``); empty without them."""
    return V.unprefixed(rows, N3_GLOROT_PREFIX)


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The noise (C4, N3) study's planned runs, as ``Experiment`` configs.

    The planned runs: N3, and, given the Two Moons ``chosen`` parameters (by evaluation name), the
    deploy, train-under-noise and reference runs built on them.

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
    >>> from qmoe_tfq.studies import noise_study
    >>> sorted({e.protocol for e in noise_study.experiments(quick=True)})
    ['authors']
    """
    exps = n3_experiments(quick) + n3_glorot_experiments(quick)
    if chosen and tm.tuned_name("quantum", quick) in chosen:
        exps = (
            deploy_experiments(chosen, quick)
            + train_experiments(chosen, quick)
            + reference_experiments(chosen, quick)
            + glorot_train_experiments(chosen, quick)
            + exps
        )
    return exps


@dataclass
class Results:
    models: tm.Results
    rows: pd.DataFrame
    quick: bool

    @property
    def sources(self) -> pd.DataFrame:
        return self.rows

    @property
    def chosen(self) -> dict[str, dict]:
        return self.models.chosen


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the noise (C4, N3) study.

    Run (or read from the cache) the study; the Two Moons tuned results come from the cache.

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
    models = tm.results(run, quick)
    return Results(models, run(experiments(quick, models.chosen), "noise"), quick)


# ------------------------------------------------------------------------------------ per-seed data


def _runs(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    g = rows[rows["experiment"] == name]
    if g.empty:
        raise KeyError(f"no runs of {name} in the rows given")
    return g.sort_values("seed")


def noise_evaluations(rows: pd.DataFrame, name: str = f"{PREFIX}deploy") -> pd.DataFrame:
    """The deploy records of experiment ``name`` as a long frame, one row per (seed, placement, eps, engine)."""
    return pd.DataFrame([{"seed": int(r.seed), **rec} for r in _runs(rows, name).itertuples() for rec in r.noise_eval])


def quantum_accuracies(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Held-out test accuracy of the quantum router, one row per (protocol, placement, eps, seed);
    deploy from the exact engine, train from each fresh model."""
    deploy = noise_evaluations(rows)
    deploy = deploy[deploy["engine"] == "exact"]
    parts = [
        pd.DataFrame(
            {
                "protocol": "deploy",
                "placement": deploy["placement"],
                "noise": deploy["noise"],
                "seed": deploy["seed"],
                "accuracy": deploy["accuracy"],
            }
        )
    ]
    for placement in PLACEMENTS:
        for eps in grid:
            g = _runs(rows, train_name(placement, eps))
            parts.append(
                pd.DataFrame(
                    {
                        "protocol": "train",
                        "placement": placement,
                        "noise": float(eps),
                        "seed": g["seed"].to_numpy(),
                        "accuracy": g["test_accuracy"].to_numpy(float),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def reference_accuracies(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Held-out test accuracy per seed of each noiseless classical reference."""
    return {
        rid: _runs(rows, f"{PREFIX}ref/{rid}").set_index("seed")["test_accuracy"].astype(float) for rid in REFERENCES
    }


# ------------------------------------------------------------------------------ advantage curves


def curve_key(placement: str, protocol: str, reference: str) -> str:
    return f"{placement}/{protocol}/{reference}"


def delta_values(rows: pd.DataFrame, grid: Sequence[float], references: Sequence[str] = tuple(REFERENCES)) -> PerSeed:
    """Per seed, for every placement x protocol x reference: the row of Delta(eps) = quantum(eps) -
    reference over ``grid`` (keyed by ``curve_key``), aligned by seed (paired: every seed needs every eps)."""
    acc, refs = quantum_accuracies(rows, grid), reference_accuracies(rows)
    seeds = sorted(set(acc["seed"]))
    values = {}
    for (placement, protocol), g in acc.groupby(["placement", "protocol"], sort=False):
        table = g.pivot_table(index="seed", columns="noise", values="accuracy", aggfunc="first")
        table = table.reindex(index=seeds, columns=[float(e) for e in grid])
        if table.isna().any().any():
            raise ConfigError(f"{placement}/{protocol}: some seed misses some eps; paired curves need every one")
        for rid in references:
            ref = refs[rid].reindex(seeds)
            if ref.isna().any():
                raise ConfigError(f"reference {rid} misses seeds {list(ref[ref.isna()].index)}")
            values[curve_key(placement, protocol, rid)] = table.to_numpy(float) - ref.to_numpy(float)[:, None]
    return PerSeed(np.asarray(seeds), values)


def curve_of(grid: Sequence[float], delta: np.ndarray, protocol: str) -> NoiseCurve:
    """The advantage curve of per-seed Delta rows: made non-increasing in eps for train under noise
    (each eps a fresh training run: one seed's bad minimum must not make an early crossing), as
    measured for deploy (the same trained models at every eps)."""
    return noise_curve(grid, delta, monotone=protocol == "train")


def curves(rows: pd.DataFrame, grid: Sequence[float]) -> dict[tuple[str, str, str], NoiseCurve]:
    """Every advantage curve, keyed by (placement, protocol, reference)."""
    data = delta_values(rows, grid)
    return {
        (p, pr, rid): curve_of(grid, data.values[curve_key(p, pr, rid)], pr)
        for p in PLACEMENTS
        for pr in NOISE_PROTOCOLS
        for rid in REFERENCES
    }


# ------------------------------------------------------------------------------------------- tables


def noise_table(rows: pd.DataFrame, grid: Sequence[float], advantage: dict | None = None) -> pd.DataFrame:
    """One row per placement x protocol x eps: test accuracy (mean, BCa 95% CI, n), and the exact
    one-sided signed-rank p-values of the quantum router above (``p_above_*``) and below
    (``p_below_*``) each reference, the numbers the advantage curves (``curves``) read."""
    advantage = curves(rows, grid) if advantage is None else advantage
    acc = quantum_accuracies(rows, grid)
    out = []
    for placement in PLACEMENTS:
        for protocol in NOISE_PROTOCOLS:
            sub = acc[(acc["placement"] == placement) & (acc["protocol"] == protocol)]
            for eps, g in sub.groupby("noise", sort=True):
                row = {
                    "placement": placement,
                    "protocol": protocol,
                    "noise": float(eps),
                    **R.accuracy_columns(g["accuracy"], interval="bca"),
                }
                for rid in REFERENCES:
                    c = advantage[(placement, protocol, rid)]
                    i = c.index(float(eps))
                    row[f"p_above_{rid}"] = float(c.p_kept[i])
                    row[f"p_below_{rid}"] = float(c.p_lost[i])
                out.append(row)
    return pd.DataFrame(out)


def reference_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The noiseless references: test accuracy mean and BCa 95% CI over the study's seeds."""
    out = []
    for rid, acc in reference_accuracies(rows).items():
        out.append(
            {
                "reference": rid,
                "label": REFERENCES[rid],
                "role": REFERENCE_ROLES[rid],
                **R.accuracy_columns(acc, interval="bca"),
            }
        )
    return pd.DataFrame(out)


def advantage_table(advantage: dict[tuple[str, str, str], NoiseCurve]) -> pd.DataFrame:
    """One row per curve and eps: mean Delta with its 95% paired-bootstrap interval, the fitted curve
    the threshold is read from, the exact one-sided p-values and the state (kept / lost / inconclusive)."""
    out = []
    for (placement, protocol, rid), c in advantage.items():
        for i, eps in enumerate(c.eps):
            out.append(
                {
                    "placement": placement,
                    "protocol": protocol,
                    "reference": rid,
                    "noise": float(eps),
                    "delta_mean": c.mean[i],
                    "delta_low": c.low[i],
                    "delta_high": c.high[i],
                    "fitted": c.fitted[i],
                    "p_kept": c.p_kept[i],
                    "p_lost": c.p_lost[i],
                    "state": c.state_at(float(eps)),
                    "n_seeds": c.n_seeds,
                }
            )
    return pd.DataFrame(out)


def threshold_table(advantage: dict[tuple[str, str, str], NoiseCurve], at: float = 0.02) -> pd.DataFrame:
    """eps* per placement x protocol x reference, read from the same curves as the verdict: where the
    (fitted) mean Delta crosses zero, with its 95% paired-bootstrap CI, the state of the advantage at
    ``at`` and the grid eps where it is kept and lost."""
    out = []
    for (placement, protocol, rid), c in advantage.items():
        states = [c.state_at(float(e)) for e in c.eps]
        out.append(
            {
                "placement": placement,
                "protocol": protocol,
                "reference": rid,
                "fit": "isotonic (non-increasing)" if c.monotone else "mean",
                "delta_at_0": float(c.mean[0]),
                "p_kept_at_0": float(c.p_kept[0]),
                "eps_star": c.threshold,
                "eps_star_label": c.label(),
                "eps_star_ci_low": c.threshold_low,
                "eps_star_ci_high": c.threshold_high,
                "eps_star_ci": f"[{c.label(c.threshold_low)}, {c.label(c.threshold_high)}]",
                f"state_at_{at:g}": c.state_at(at) if np.isclose(c.eps, at).any() else None,
                "kept_at": ", ".join(f"{e:g}" for e, s in zip(c.eps, states) if s == "kept"),
                "lost_at": ", ".join(f"{e:g}" for e, s in zip(c.eps, states) if s == "lost"),
                "n_seeds": c.n_seeds,
            }
        )
    return pd.DataFrame(out)


def advantage_figure(
    advantage: dict[tuple[str, str, str], NoiseCurve],
    reference: str = "linear",
    band: tuple[float, float] | None = None,
):
    """Delta(eps) against ``reference``, one panel per placement: train under noise (isotonic fit,
    what C4 reads) and deploy (mean), each with its 95% band and eps* with its CI on Delta = 0."""
    from qmoe_tfq.reporting.plots import advantage_curves, plt

    fig, axes = plt.subplots(1, len(PLACEMENTS), figsize=(5.0 * len(PLACEMENTS), 3.8), sharey=True, squeeze=False)
    for ax, placement in zip(axes[0], PLACEMENTS):
        advantage_curves(
            [
                (PROTOCOL_LABELS["train"], advantage[(placement, "train", reference)], "quantum_train"),
                (PROTOCOL_LABELS["deploy"], advantage[(placement, "deploy", reference)], "quantum_deploy"),
            ],
            f"placement: {placement}",
            band=band,
            ax=ax,
        )
    axes[0][0].set_ylabel(f"Delta test accuracy, quantum - {REFERENCES[reference]}")
    axes[0][-1].set_ylabel("")
    fig.suptitle(
        f"Advantage of the quantum router over {REFERENCES[reference]} under depolarizing noise "
        "(the curves the C4 verdict reads)",
        y=1.02,
    )
    fig.tight_layout()
    return fig


def engine_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Exact vs TFQ-trajectory deploy evaluation of the same trained models, per placement x eps:
    mean accuracies and their difference, the checks of ``qmoe_tfq.models.noise_eval``, and wall times."""
    ev = noise_evaluations(rows, f"{PREFIX}deploy_sampled")
    exact = ev[ev["engine"] == "exact"].set_index(["placement", "noise", "seed"])
    samp = ev[ev["engine"] == "tfq_sampled"].set_index(["placement", "noise", "seed"])
    out = []
    for (placement, eps), g in samp.groupby(level=["placement", "noise"], sort=False):
        e = exact.loc[g.index]
        diff = g["accuracy"].to_numpy() - e["accuracy"].to_numpy()
        ci = t_interval(diff)
        within = bool(np.all(g["max_output_deviation"] <= g["tolerance"]) and np.all(g["disagreement"] <= g["fragile"]))
        out.append(
            {
                "placement": placement,
                "noise": float(eps),
                "repetitions": int(g["repetitions"].iloc[0]),
                "exact_acc_mean": float(e["accuracy"].mean()),
                "sampled_acc_mean": float(g["accuracy"].mean()),
                "diff_mean": ci.mean,
                "diff_ci_low": ci.low,
                "diff_ci_high": ci.high,
                "max_output_deviation": float(g["max_output_deviation"].max()),
                "tolerance": float(g["tolerance"].iloc[0]),
                "max_disagreement": float(g["disagreement"].max()),
                "max_fragile": float(g["fragile"].max()),
                "within_tolerance": within,
                "exact_seconds_mean": float(e["seconds"].mean()),
                "sampled_seconds_mean": float(g["seconds"].mean()),
                "n_seeds": ci.n,
            }
        )
    return pd.DataFrame(out)


def timing_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Wall time of each engine over the same deploy sweep (all placements and eps, same models):
    in total, and per setting split into building the noisy router (compiling the engine) and
    evaluating the split once."""
    ev = noise_evaluations(rows, f"{PREFIX}deploy_sampled")
    out = []
    for engine, g in ev.groupby("engine", sort=True):
        per_seed = g.groupby("seed")["seconds"].sum()
        out.append(
            {
                "engine": engine,
                "repetitions": int(g["repetitions"].iloc[0]) if engine == "tfq_sampled" else None,
                "settings_per_seed": int(len(g) // g["seed"].nunique()),
                "seconds_per_seed_mean": float(per_seed.mean()),
                "build_seconds_per_setting_mean": float(g["build_seconds"].mean()),
                "evaluate_seconds_per_setting_mean": float((g["seconds"] - g["build_seconds"]).mean()),
                "seconds_total": float(g["seconds"].sum()),
                "n_seeds": int(g["seed"].nunique()),
            }
        )
    return pd.DataFrame(out).astype({"repetitions": "Int64"})


def train_cost_table(rows: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Mean training wall time of one train-under-noise model per placement (eps > 0: density-matrix
    engine) against the noiseless model (eps = 0: TFQ analytic op)."""
    out = [
        {
            "placement": "none (eps = 0)",
            "engine": "TFQ analytic (noiseless)",
            "train_seconds_mean": float(_runs(rows, train_name(PLACEMENTS[0], 0.0))["train_seconds"].mean()),
        }
    ]
    for placement in PLACEMENTS:
        secs = [s for eps in grid if eps > 0 for s in _runs(rows, train_name(placement, eps))["train_seconds"]]
        out.append(
            {
                "placement": placement,
                "engine": "exact density matrix",
                "train_seconds_mean": float(np.mean(secs)) if secs else math.nan,
            }
        )
    return pd.DataFrame(out)


def n3_table(rows: pd.DataFrame, stated: dict[float, float]) -> pd.DataFrame:
    """The authors' Phase 3B protocol: TRAINING-SET accuracy per p (mean, BCa 95% CI over model seeds;
    min and max) next to the stated single-run value and our two-sided 95% single-run prediction
    interval (what N3 reads), and the constant-gate floor on the same data and budget."""
    floor = bootstrap_interval(_runs(rows, "n3/constant")["train_accuracy"], bounds=ACCURACY_BOUNDS)
    out = []
    for name in sorted(
        {n for n in rows["experiment"] if n.startswith("n3/") and n != "n3/constant"},
        key=lambda n: float(n.split("/")[1]),
    ):
        p = float(name.split("/")[1])
        acc = _runs(rows, name)["train_accuracy"].to_numpy(float)
        ci = bootstrap_interval(acc, bounds=ACCURACY_BOUNDS)
        pi = prediction_interval(acc, bounds=ACCURACY_BOUNDS)
        st = stated.get(p, math.nan)
        out.append(
            {
                "p": p,
                "stated_train_acc": st,
                "train_acc_mean": ci.mean,
                "train_acc_ci_low": ci.low,
                "train_acc_ci_high": ci.high,
                "train_acc_min": float(acc.min()),
                "train_acc_max": float(acc.max()),
                "single_run_pi_low": pi.low,
                "single_run_pi_high": pi.high,
                "stated_within_single_run_pi": None if math.isnan(st) else bool(pi.low <= st <= pi.high),
                "constant_gate_train_acc_mean": floor.mean,
                "n_seeds": ci.n,
            }
        )
    return pd.DataFrame(out)

"""Parameter-efficiency curve on Two Moons (claim C5): quantum routers of depth L against MLP
routers of width h, same experts and training budget, held-out test accuracy against router
parameters.

The protocol is the Two Moons fair protocol (``two_moons.fair_experiments``): ``make_moons(500,
noise 0.1)``, a fresh sample and a stratified 70/30 split per seed, Adam lr 0.1, 50 epochs, batch
32, and the same ``grid`` lattice, so every (config, seed) that both studies run (L=3, and h in
``two_moons.FAIR_HIDDEN``, on seeds 0-9) has the same cache key and is computed once.

One learning rate for every router can favour one family: a second, smaller sweep (the
``sensitivity`` arm: lr 0.03 for 100 epochs) checks whether the answer depends on it. C5's verdict
comes from the main sweep, as the issue specifies; the sensitivity result goes into its note.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.config import ModelSpec, TrainSpec, param_counts
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments import Experiment
from qmoe_tfq.stats import ACCURACY_BOUNDS, efficiency, paired_wilcoxon, t_interval
from qmoe_tfq.studies import two_moons as tm

QUANTUM_LAYERS = (1, 2, 3, 4, 6)
HIDDEN = (1, 2, 3, 4, 5, 8, 16, 32, 64)
DATA = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.3, seed=None)
BATCH = 32
GRID = tm.GRID
FAMILIES = ("quantum", "classical")


@dataclass(frozen=True)
class Arm:
    """One sweep: the experiment-name prefix, the budget (Adam ``lr``, ``epochs``), the depths and
    widths swept, and the seeds."""

    prefix: str
    lr: float
    epochs: int
    layers: tuple[int, ...]
    hidden: tuple[int, ...]
    seeds: int

    @property
    def train(self) -> TrainSpec:
        return TrainSpec(epochs=self.epochs, lr=self.lr, batch_size=BATCH)


@dataclass(frozen=True)
class Size:
    """The two sweeps of a run: ``main`` (the Two Moons fair budget, lr 0.1 for 50 epochs; C5's
    verdict) and ``sensitivity`` (a smaller learning rate for longer, lr 0.03 for 100 epochs, on a
    sub-grid: does the verdict depend on the one shared learning rate?)."""

    main: Arm
    sensitivity: Arm


FULL = Size(main=Arm("eff/", 0.1, 50, QUANTUM_LAYERS, HIDDEN, seeds=10),
            sensitivity=Arm("eff_lr/", 0.03, 100, (1, 3), (2, 4, 8, 16, 32, 64), seeds=10))
# QUICK's main arm shares its L=3, h=4 and h=16 runs with the Two Moons QUICK fair runs (3 epochs).
QUICK = Size(main=Arm("eff/", 0.1, 3, (1, 3), (1, 4, 16), seeds=2),
             sensitivity=Arm("eff_lr/", 0.03, 3, (3,), (16,), seeds=2))


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


@dataclass(frozen=True)
class Point:
    """One point of the curve: id (``quantum_L3``, ``mlp_h8``), family, depth or width, spec."""

    id: str
    family: str
    depth: int
    spec: ModelSpec

    @property
    def router_params(self) -> int:
        return param_counts(self.spec, 2, 2).router


def quantum_point(layers: int) -> Point:
    """The authors' quantum router (SEL ansatz, <Z> readout + adapter) with ``layers`` layers."""
    return Point(f"quantum_L{layers}", "quantum", layers, ModelSpec(router="quantum", layers=layers, readout="expectation"))


def mlp_point(hidden: int) -> Point:
    """The MLP (deep classical, Model C) router Dense(h, relu) -> Dense(2) + softmax."""
    return Point(f"mlp_h{hidden}", "classical", hidden, ModelSpec(router="mlp", hidden=hidden))


def points(arm: Arm) -> list[Point]:
    """Every point of a sweep, quantum first, each family by increasing size."""
    return [quantum_point(L) for L in arm.layers] + [mlp_point(h) for h in arm.hidden]


def arm_experiments(arm: Arm) -> list[Experiment]:
    """The runs of one sweep (fair protocol, seeds 0 .. seeds-1)."""
    return [
        Experiment(f"{arm.prefix}{p.id}", p.spec, DATA, arm.train, "fair", tuple(range(arm.seeds)), grid=GRID)
        for p in points(arm)
    ]


def experiments(quick: bool = False) -> list[Experiment]:
    """The runs of the study: the main sweep, then the learning-rate sensitivity sweep."""
    s = size(quick)
    return arm_experiments(s.main) + arm_experiments(s.sensitivity)


def has_runs(rows: pd.DataFrame, arm: Arm) -> bool:
    """Whether ``rows`` hold runs of ``arm``."""
    return bool(rows["experiment"].str.startswith(arm.prefix).any())


def _seed_values(rows: pd.DataFrame, name: str, column: str = "test_accuracy") -> pd.Series:
    g = rows[rows["experiment"] == name]
    if g.empty:
        raise KeyError(f"no runs of {name} in the rows given")
    return g.set_index("seed")[column].astype(float).sort_index()


def best_quantum(table: pd.DataFrame) -> pd.Series:
    """The quantum point with the highest mean test accuracy (ties: fewer router parameters)."""
    q = table[table["family"] == "quantum"]
    if q.empty:
        raise ValueError("the table has no quantum router points")
    return q.sort_values(["test_acc_mean", "router_params"], ascending=[False, True], kind="stable").iloc[0]


def efficiency_table(rows: pd.DataFrame, arm: Arm) -> pd.DataFrame:
    """One row per point of ``arm``: router parameters, test accuracy (mean, 95% CI), eta with its CI,
    and for the classical routers paired tests against the best quantum router."""
    out = []
    for p in points(arm):
        name = f"{arm.prefix}{p.id}"
        acc = _seed_values(rows, name)
        ci = t_interval(acc, bounds=ACCURACY_BOUNDS)
        rp = int(_seed_values(rows, name, "router_params").iloc[0])
        log = math.log1p(rp)
        out.append({
            "family": p.family,
            "model": p.id,
            "layers": p.depth if p.family == "quantum" else None,
            "hidden": p.depth if p.family == "classical" else None,
            "router_params": rp,
            "test_acc_mean": ci.mean,
            "test_acc_ci_low": ci.low,
            "test_acc_ci_high": ci.high,
            "train_acc_mean": float(_seed_values(rows, name, "train_accuracy").mean()),
            "eta": efficiency(ci.mean, rp),
            "eta_ci_low": ci.low / log,
            "eta_ci_high": ci.high / log,
            "seconds_per_epoch_mean": float(_seed_values(rows, name, "seconds_per_epoch").mean()),
            "n_seeds": ci.n,
        })
    table = pd.DataFrame(out).astype({"layers": "Int64", "hidden": "Int64"})
    best = best_quantum(table)
    q = _seed_values(rows, f"{arm.prefix}{best['model']}")
    deltas, better, worse = [], [], []
    for _, r in table.iterrows():
        if r["family"] == "quantum":
            deltas.append(math.nan)
            better.append(math.nan)
            worse.append(math.nan)
            continue
        c = _seed_values(rows, f"{arm.prefix}{r['model']}")
        seeds = q.index.intersection(c.index)
        a, b = q.loc[seeds].to_numpy(), c.loc[seeds].to_numpy()
        deltas.append(float(np.mean(a - b)))
        better.append(paired_wilcoxon(a, b, "greater"))
        worse.append(paired_wilcoxon(a, b, "less"))
    table["best_quantum_minus_model"] = deltas
    table["p_best_quantum_better"] = better
    table["p_best_quantum_worse"] = worse
    table["reaches_best_quantum_ci"] = [
        None if r["family"] == "quantum" else bool(r["test_acc_mean"] >= best["test_acc_ci_low"])
        for _, r in table.iterrows()
    ]
    return table


@dataclass(frozen=True)
class Match:
    """The C5 computation: the best quantum router and the smallest classical router that matches it.

    Match rule: a classical router matches when its mean test accuracy reaches the lower end of the
    best quantum router's 95% CI. ``classical`` is None when none does; ``ratio`` is then NaN and
    ``ratio_lower_bound`` (largest classical router / quantum) is what can be said.
    """

    quantum: str
    quantum_params: int
    quantum_mean: float
    quantum_ci: tuple[float, float]
    classical: str | None
    classical_params: int | None
    classical_mean: float
    largest_classical_params: int

    @property
    def ratio(self) -> float:
        return math.nan if self.classical_params is None else self.classical_params / self.quantum_params

    @property
    def ratio_lower_bound(self) -> float:
        return self.largest_classical_params / self.quantum_params


def smallest_match(table: pd.DataFrame) -> Match:
    """Apply the match rule (see ``Match``) to an ``efficiency_table``."""
    best = best_quantum(table)
    classical = table[table["family"] == "classical"].sort_values("router_params", kind="stable")
    if classical.empty:
        raise ValueError("the table has no classical router points")
    hit = classical[classical["test_acc_mean"] >= best["test_acc_ci_low"]]
    first = hit.iloc[0] if len(hit) else None
    return Match(
        quantum=str(best["model"]),
        quantum_params=int(best["router_params"]),
        quantum_mean=float(best["test_acc_mean"]),
        quantum_ci=(float(best["test_acc_ci_low"]), float(best["test_acc_ci_high"])),
        classical=None if first is None else str(first["model"]),
        classical_params=None if first is None else int(first["router_params"]),
        classical_mean=math.nan if first is None else float(first["test_acc_mean"]),
        largest_classical_params=int(classical["router_params"].max()),
    )


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
        spec = tm.QUANTUM if m[2] is None else ModelSpec(router="mlp", hidden=int(m[2]))
        family = "quantum" if m[2] is None else "classical"
        out.append({"family": family, "model": key, "router_params": param_counts(spec, 2, 2).router,
                    "train_accuracy": float(acc)})
    return pd.DataFrame(out)


def figure(table: pd.DataFrame, authors: pd.DataFrame, match: Match | None = None,
           sensitivity: pd.DataFrame | None = None, sensitivity_label: str = ""):
    """Test accuracy (mean, 95% CI) against router parameters (log axis) for both families, with the
    authors' Phase 3A training-set points overlaid and the best quantum router's CI as a band;
    ``sensitivity`` (another sweep's table) is drawn dashed and labelled ``sensitivity_label``."""
    from qmoe_tfq.plots import COLORS, plt

    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    styles = {"quantum": (COLORS["quantum"], "o", "quantum router, L layers"),
              "classical": (COLORS["deep"], "s", "MLP router, width h")}
    if match is not None:
        ax.axhspan(*match.quantum_ci, color=COLORS["quantum"], alpha=0.12, linewidth=0,
                   label=f"95% CI of the best quantum router ({match.quantum})")
    for family in FAMILIES:
        color, marker, label = styles[family]
        t = table[table["family"] == family].sort_values("router_params")
        mean = t["test_acc_mean"].to_numpy()
        err = np.vstack([mean - t["test_acc_ci_low"].to_numpy(), t["test_acc_ci_high"].to_numpy() - mean])
        n = int(t["n_seeds"].min())
        ax.errorbar(t["router_params"], mean, yerr=err, color=color, marker=marker, markersize=4, capsize=2,
                    linewidth=1, label=f"{label}: held-out test accuracy, mean and 95% CI ({n} seeds)")
        for _, r in t.iterrows():
            text = f"L={r['layers']}" if family == "quantum" else f"h={r['hidden']}"
            ax.annotate(text, (r["router_params"], r["test_acc_mean"]), textcoords="offset points",
                        xytext=(3, -9 if family == "quantum" else 4), fontsize=6, color=color)
        if sensitivity is not None:
            t = sensitivity[sensitivity["family"] == family].sort_values("router_params")
            mean = t["test_acc_mean"].to_numpy()
            err = np.vstack([mean - t["test_acc_ci_low"].to_numpy(), t["test_acc_ci_high"].to_numpy() - mean])
            ax.errorbar(t["router_params"] * 1.04, mean, yerr=err, color=color, marker=marker, markersize=3,
                        capsize=1.5, linewidth=0.8, linestyle="--", alpha=0.55, mfc="white",
                        label=f"{label}, {sensitivity_label}")
    for family in FAMILIES:
        a = authors[authors["family"] == family]
        if len(a):
            color, marker, _ = styles[family]
            ax.scatter(a["router_params"], a["train_accuracy"], marker=marker, s=36, facecolors="none",
                       edgecolors=color, linewidths=1.0,
                       label=f"authors' Phase 3A, {family}: TRAINING-SET accuracy, 1 seed (not comparable)")
    if match is not None and match.classical is not None:
        ax.axvline(match.classical_params, color=COLORS["deep"], linestyle=":", linewidth=0.8)
        ax.axvline(match.quantum_params, color=COLORS["quantum"], linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("router parameters (log scale; experts excluded)")
    ax.set_ylabel("accuracy")
    title = "Two Moons parameter efficiency (fair protocol, held-out test accuracy)"
    if match is not None:
        title += (f"\nsmallest matching MLP: {match.classical} ({match.classical_params} params, "
                  f"{match.ratio:.2f}x {match.quantum})" if match.classical else
                  f"\nno MLP up to {match.largest_classical_params} params reaches {match.quantum}'s CI")
    ax.set_title(title)
    ax.legend(fontsize=6, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.tight_layout()
    return fig


__all__ = ["QUANTUM_LAYERS", "HIDDEN", "Arm", "Size", "FULL", "QUICK", "size", "Point", "points", "experiments",
           "arm_experiments", "has_runs",
           "efficiency_table", "best_quantum", "Match", "smallest_match", "phase3a_points", "figure"]

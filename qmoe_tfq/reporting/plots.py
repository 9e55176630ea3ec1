"""Stage: reporting. Figures for ``paper/``: cheap functions of cached results. Colours come from ``qmoe_tfq.reporting.style``
(one per model family, a line style and marker per model); accuracies are points with interval
whiskers, never bars on a truncated axis."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, NoiseCurve, bootstrap_interval, t_interval  # noqa: E402
from qmoe_tfq.experiments.probes import decode_grid, grid_axis  # noqa: E402
from qmoe_tfq.reporting.style import FAMILY_COLORS, NEUTRAL, Style, color_for, style_for  # noqa: E402

# Family colours under the keys the studies use (kept for their figures): every MLP router, matched
# or deep, is the ``mlp`` family; every quantum variant the ``quantum`` family.
COLORS = {
    **FAMILY_COLORS,
    "quantum_prob": FAMILY_COLORS["quantum"],
    "quantum_rycz_prob": FAMILY_COLORS["quantum"],
    "matched": FAMILY_COLORS["mlp"],
    "deep": FAMILY_COLORS["mlp"],
    "reference": NEUTRAL,
}
REGION_CMAP = ListedColormap(["#fde0ef", "#e6f5d0"])
POINT_COLORS = np.array(["#c51b7d", "#4d9221"])

plt.rcParams.update({"figure.dpi": 100, "font.size": 9, "axes.titlesize": 9, "svg.hashsalt": "qmoe"})

__all__ = [
    "COLORS",
    "color_for",
    "style_for",
    "decision_regions",
    "curve_bands",
    "loss_curves",
    "validation_curves",
    "accuracy_points",
    "accuracy_bars",
    "noise_sweep",
    "advantage_curves",
    "plt",
]


def _distinct_styles(model_ids) -> dict[str, Style]:
    """Styles of the models drawn together; two models that would look identical are an error."""
    styles = {m: style_for(m) for m in model_ids}
    seen: dict[tuple, str] = {}
    for m, s in styles.items():
        key = (s.color, s.linestyle, s.marker)
        if key in seen:
            raise ValueError(f"models {seen[key]!r} and {m!r} would be drawn alike; give one another id")
        seen[key] = m
    return styles


def decision_regions(
    rows: pd.DataFrame,
    panels: list[tuple[str, str]],
    points: Callable[[int], tuple[np.ndarray, np.ndarray]],
    seeds: Mapping[str, int],
    prefix: str = "fair/",
    notes: Mapping[str, str] | None = None,
):
    """Argmax regions of each model (one panel per ``(model_id, title)``) on its own seed ``seeds[model_id]``,
    with that seed's points ``points(seed) -> (x, y)`` drawn on top, all on the same [0, pi]^2 grid. Each
    panel's title names its seed (``notes[model_id]``, e.g. "seed 7, median of 20"; default "seed 7")."""
    notes = dict(notes or {})
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.3), sharex=True, sharey=True)
    for ax, (model_id, title) in zip(np.atleast_1d(axes), panels):
        seed = int(seeds[model_id])
        row = rows[(rows["experiment"] == f"{prefix}{model_id}") & (rows["seed"] == seed)].iloc[0]
        pred = row["grid_predictions"]
        grid = int(round(len(pred) ** 0.5))
        axis = grid_axis(grid)
        x, y = points(seed)
        ax.pcolormesh(axis, axis, decode_grid(pred, grid), cmap=REGION_CMAP, shading="auto", rasterized=True)
        ax.scatter(x[:, 0], x[:, 1], c=POINT_COLORS[y], s=7, edgecolors="none")
        note = notes.get(model_id, f"seed {seed}")
        ax.set_title(f"{title}\n{note}: test acc {row['test_accuracy']:.3f}", color=color_for(model_id))
        ax.set_xlim(0, np.pi)
        ax.set_ylim(0, np.pi)
        ax.set_xlabel("$x_1$ (angle)")
    np.atleast_1d(axes)[0].set_ylabel("$x_2$ (angle)")
    fig.suptitle("Two Moons decision regions; held-out test points of each panel's seed", y=1.02)
    fig.tight_layout()
    return fig


def _ragged(values) -> np.ndarray:
    """Per-seed curves of unequal length (early stopping) as one array, the last value carried forward."""
    curves = [np.asarray(v, dtype=float) for v in values]
    n = max(len(c) for c in curves)
    return np.array([np.concatenate([c, np.full(n - len(c), c[-1])]) for c in curves])


def curve_bands(
    rows: pd.DataFrame,
    models: list[tuple[str, str]],
    column: str,
    prefix: str = "fair/",
    bounded: bool = False,
    ax=None,
):
    """Per-epoch mean of the per-seed curves in ``column`` with a 95% band over seeds, one line per
    ``(model_id, label)``, each in its family colour with its own line style and marker. Bands are
    BCa bootstrap intervals when ``bounded`` (accuracies, inside [0, 1]), Student-t otherwise."""
    if ax is None:
        ax = plt.subplots(figsize=(5.2, 3.4))[1]
    styles = _distinct_styles([m for m, _ in models])
    for model_id, label in models:
        curves = _ragged(rows[rows["experiment"] == f"{prefix}{model_id}"][column].tolist())
        if bounded:
            cis = [
                bootstrap_interval(curves[:, e], n_resamples=1999, bounds=ACCURACY_BOUNDS)
                for e in range(curves.shape[1])
            ]
        else:
            cis = [t_interval(curves[:, e]) for e in range(curves.shape[1])]
        epochs = np.arange(1, curves.shape[1] + 1)
        st = styles[model_id]
        ax.plot(
            epochs,
            [c.mean for c in cis],
            **st.kwargs(),
            markevery=max(1, len(epochs) // 10),
            markersize=3.5,
            linewidth=1.2,
            label=f"{label} (n={curves.shape[0]})",
        )
        ax.fill_between(epochs, [c.low for c in cis], [c.high for c in cis], color=st.color, alpha=0.15, linewidth=0)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def loss_curves(
    rows: pd.DataFrame, models: list[tuple[str, str]], prefix: str = "fair/", threshold: float | None = None
):
    """Mean training loss per epoch with a 95% CI band (Student-t; losses are unbounded above) over
    seeds, one line per ``(model_id, label)``: distinct colour (by family) and line style and marker
    (by model); ``threshold`` draws a horizontal reference line."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    curve_bands(rows, models, "epoch_losses", prefix, ax=ax)
    if threshold is not None:
        ax.axhline(threshold, color="k", linestyle=":", linewidth=0.8, label=f"convergence threshold {threshold}")
    ax.set_ylabel("training loss (mean cross-entropy)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Training loss on Two Moons: mean and Student-t 95% CI over seeds")
    fig.tight_layout()
    return fig


def validation_curves(
    rows: pd.DataFrame,
    models: list[tuple[str, str]],
    floor: float | None = None,
    margin: float | None = None,
    prefix: str = "fair/",
    column: str = "validation_curve",
    floor_label: str = "experts-only floor",
):
    """Validation accuracy per epoch (mean, BCa 95% band over seeds; runs stopped early carry their
    last value), one line per model, with the experts-only ``floor`` and ``floor + margin`` (the C7
    convergence criterion) as horizontal lines; ``floor_label`` says what the floor is (e.g. the mean
    of per-seed floors)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    curve_bands(rows, models, column, prefix, bounded=True, ax=ax)
    if floor is not None:
        ax.axhline(floor, color=COLORS["constant"], linestyle=":", linewidth=0.9, label=f"{floor_label} {floor:.3f}")
        if margin:
            ax.axhline(
                floor + margin,
                color="k",
                linestyle=":",
                linewidth=0.8,
                label=f"floor + {margin * 100:g} pp (convergence criterion)",
            )
    ax.set_ylabel("validation accuracy (mean, BCa 95% band)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Validation accuracy per epoch: mean and BCa 95% band over seeds")
    fig.tight_layout()
    return fig


def accuracy_points(
    table: pd.DataFrame,
    title: str,
    label_column: str = "model",
    id_column: str | None = None,
    interval: str = "95% CI",
    prefix: str = "",
    ax=None,
):
    """Mean accuracy as a point with interval whiskers, one row per table row (``test_acc_mean``,
    ``test_acc_ci_low``, ``test_acc_ci_high`` columns). Points, not bars, so a truncated axis does not
    exaggerate differences. Coloured by family with a per-model marker when ``id_column`` names model
    ids; ``interval`` names the interval method in the axis label (captions should repeat it)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 0.32 * len(table) + 1.0))
    else:
        fig = ax.figure
    ypos = np.arange(len(table))[::-1]
    mean = table[f"{prefix}test_acc_mean"].to_numpy(float)
    low = table[f"{prefix}test_acc_ci_low"].to_numpy(float)
    high = table[f"{prefix}test_acc_ci_high"].to_numpy(float)
    ids = table[id_column].tolist() if id_column else [None] * len(table)
    for y, m, lo, hi, mid in zip(ypos, mean, low, high, ids):
        st = style_for(mid) if mid else None
        ax.errorbar(
            [m],
            [y],
            xerr=[[m - lo], [hi - m]],
            fmt=st.marker if st else "o",
            color=st.color if st else "k",
            markersize=4,
            capsize=2,
            linewidth=1,
        )
    ax.set_yticks(ypos, table[label_column], fontsize=7)
    ax.set_xlim(max(0.0, float(np.nanmin(low)) - 0.05), 1.01)
    ax.grid(axis="x", linewidth=0.3, alpha=0.5)
    ax.set_xlabel(f"held-out test accuracy (mean and {interval})")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def accuracy_bars(table: pd.DataFrame, title: str, **kwargs):
    """Kept for the notebooks: now draws ``accuracy_points`` (points with whiskers, no bars)."""
    return accuracy_points(table, title, **kwargs)


NOISE_PROTOCOL_STYLE = {  # protocol -> (colour, line style, marker, label): one family, two models
    "deploy": (
        COLORS["quantum"],
        style_for("quantum_deploy").linestyle,
        style_for("quantum_deploy").marker,
        "quantum, deploy (trained noiseless)",
    ),
    "train": (
        COLORS["quantum"],
        style_for("quantum_train").linestyle,
        style_for("quantum_train").marker,
        "quantum, trained under noise",
    ),
}


def noise_sweep(
    table: pd.DataFrame,
    references: pd.DataFrame,
    sampled: pd.DataFrame | None = None,
    linthresh: float = 1e-3,
    thresholds: pd.DataFrame | None = None,
):
    """Test accuracy against depolarizing eps (symlog x, so eps = 0 is shown), one panel per placement:
    mean and 95% CI band per protocol (the table's interval: BCa bootstrap in ``noise_study.noise_table``),
    references as horizontal bands (mean line, CI band), and the
    deploy means of both engines on the TFQ-trajectory seeds (circles: exact, crosses: trajectories) when
    ``sampled`` (``noise_study.engine_table``) is given.
    A reference's colour follows its ``role`` column when present (``linear``, ``matched``, ``constant``).
    ``thresholds`` (rows of ``noise_study.threshold_table`` against one reference) marks each protocol's
    eps* as a vertical line, so this figure shows the threshold the ledger reads."""
    placements = list(dict.fromkeys(table["placement"]))
    fig, axes = plt.subplots(1, len(placements), figsize=(4.4 * len(placements), 3.6), sharey=True, squeeze=False)
    top = float(table["noise"].max())
    for ax, placement in zip(axes[0], placements):
        for ref in references.itertuples():
            color = color_for(getattr(ref, "role", ref.reference))
            ax.axhspan(ref.test_acc_ci_low, ref.test_acc_ci_high, color=color, alpha=0.15, linewidth=0)
            ax.axhline(ref.test_acc_mean, color=color, linestyle=":", linewidth=1.0, label=f"{ref.label}, noiseless")
        for protocol, (color, style, marker, label) in NOISE_PROTOCOL_STYLE.items():
            g = table[(table["placement"] == placement) & (table["protocol"] == protocol)].sort_values("noise")
            if g.empty:
                continue
            ax.plot(
                g["noise"],
                g["test_acc_mean"],
                color=color,
                linestyle=style,
                marker=marker,
                markersize=3,
                label=f"{label} (n={int(g['n_seeds'].max())})",
            )
            ax.fill_between(
                g["noise"], g["test_acc_ci_low"], g["test_acc_ci_high"], color=color, alpha=0.2, linewidth=0
            )
        title = f"placement: {placement}"
        if thresholds is not None:
            marks = thresholds[thresholds["placement"] == placement]
            for r in marks.itertuples():
                color, style, _, _ = NOISE_PROTOCOL_STYLE[r.protocol]
                if np.isfinite(r.eps_star):
                    ax.axvline(r.eps_star, color=color, linestyle=style, linewidth=0.8, alpha=0.7)
            title += "\n" + "; ".join(
                f"eps* vs {r.reference} ({r.protocol}): {r.eps_star_label}" for r in marks.itertuples()
            )
        if sampled is not None and not sampled.empty:
            s = sampled[sampled["placement"] == placement]
            n = int(s["n_seeds"].max())
            ax.plot(
                s["noise"],
                s["exact_acc_mean"],
                linestyle="none",
                marker="o",
                markerfacecolor="none",
                color="k",
                markersize=5,
                label=f"deploy, first {n} seeds: exact engine",
            )
            ax.plot(
                s["noise"],
                s["sampled_acc_mean"],
                linestyle="none",
                marker="x",
                color="k",
                markersize=4,
                label=f"deploy, same {n} seeds: TFQ trajectories (R={int(s['repetitions'].iloc[0])})",
            )
        ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
        ax.set_xlim(0.0, top * 1.15)
        ticks = [t for t in (0.0, 0.001, 0.01, 0.1, top) if t <= top]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=7)
        ax.set_xlabel("depolarizing probability eps (symlog axis)")
        ax.set_title(title)
    axes[0][0].set_ylabel("held-out test accuracy (mean, BCa 95% CI)")
    fig.suptitle("Two Moons under single-qubit depolarizing noise on the router circuit", y=1.01)
    fig.tight_layout()
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, frameon=False, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0))
    return fig


def advantage_curves(
    curves: list[tuple[str, NoiseCurve, str]],
    title: str,
    linthresh: float = 1e-3,
    band: tuple[float, float] | None = None,
    ax=None,
):
    """The advantage Delta(eps) = quantum - reference that the noise-threshold rule reads: per
    ``(label, curve, model_id)`` the raw mean Delta (markers), the fitted curve (line) with its 95%
    paired-bootstrap band, and eps* with its 95% CI as a horizontal bar on Delta = 0; ``band`` shades
    the stated breakdown range. The same numbers decide the verdict, so figure and ledger agree.
    Draws on ``ax`` when given (one panel of a larger figure)."""
    own = ax is None
    fig, ax = plt.subplots(figsize=(5.6, 3.6)) if own else (ax.figure, ax)
    styles = _distinct_styles([m for _, _, m in curves])
    ax.axhline(0.0, color="k", linewidth=0.8)
    if band is not None:
        ax.axvspan(*band, color=NEUTRAL, alpha=0.12, linewidth=0, label=f"stated breakdown {band[0]:g}-{band[1]:g}")
    for label, c, model_id in curves:
        st = styles[model_id]
        ax.plot(c.eps, c.mean, linestyle="none", marker=st.marker, color=st.color, markersize=3.5, alpha=0.6)
        ax.plot(
            c.eps,
            c.fitted,
            color=st.color,
            linestyle=st.linestyle,
            linewidth=1.2,
            label=f"{label} ({'isotonic fit' if c.monotone else 'mean'}, n={c.n_seeds})",
        )
        ax.fill_between(c.eps, c.fitted_low, c.fitted_high, color=st.color, alpha=0.15, linewidth=0)
        if np.isfinite(c.threshold):
            hi = c.threshold_high if np.isfinite(c.threshold_high) else c.eps[-1]
            ax.errorbar(
                [c.threshold],
                [0.0],
                xerr=[[c.threshold - c.threshold_low], [hi - c.threshold]],
                fmt="|",
                color=st.color,
                capsize=3,
                markersize=10,
                linewidth=1.5,
                zorder=5,
            )
    top = float(max(c.eps[-1] for _, c, _ in curves))
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.set_xlim(0.0, top * 1.15)
    ax.set_xlabel("depolarizing probability eps (symlog axis)")
    ax.set_ylabel("Delta test accuracy, quantum - reference")
    ax.set_title(title + "\nbars on 0: eps* and its 95% paired-bootstrap CI")
    ax.legend(fontsize=7, frameon=False)
    if own:
        fig.tight_layout()
    return fig


def km_curves(
    epochs: dict[str, np.ndarray],
    max_epochs: int,
    labels: dict[str, str] | None = None,
    criterion: str = "the convergence criterion",
):
    """Kaplan-Meier curves of epochs to ``criterion`` (issue #21): per model the share of runs that have
    not reached it yet, never-reached runs (coded ``max_epochs + 1``) right-censored at ``max_epochs``
    and marked; step functions from ``scipy.stats.ecdf`` on ``CensoredData``, with the KM median."""
    from qmoe_tfq.analysis import rules as ar

    labels = labels or {}
    styles = _distinct_styles(list(epochs))
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for m, e in epochs.items():
        t, reached = ar.from_max_plus_one(np.asarray(e, float), max_epochs)
        km = ar.km_median(ar.censored(t, reached, max_epochs))
        x = np.concatenate([[0.0], km.times, [float(max_epochs)]])
        y = np.concatenate([[1.0], km.survival, [km.survival[-1] if len(km.survival) else 1.0]])
        med = "never" if np.isinf(km.median) else f"{km.median:g}"
        st = styles[m]
        ax.step(
            x,
            y,
            where="post",
            color=st.color,
            linestyle=st.linestyle,
            label=f"{labels.get(m, m)} (median {med}; censored {km.n_censored}/{km.n})",
        )
        if km.n_censored:
            ax.plot([max_epochs], [y[-1]], marker="|", markersize=10, color=st.color)
    ax.axhline(0.5, color="k", linestyle=":", linewidth=0.7)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"share of runs not yet past {criterion}")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Epochs to the convergence criterion: Kaplan-Meier, never-reached runs censored")
    fig.tight_layout()
    return fig


def _departures(spec: dict, plan: dict) -> str:
    """A specification as its departures from the plan's (the first specification), e.g. ``seeds=first 10,
    restarts=k``; ``plan`` for the plan's own."""
    out = [f"{k}={v}" for k, v in spec.items() if k not in ("effect", "verdict") and plan.get(k) != v]
    return ", ".join(out) or "plan"


def specification_curves(results: dict, effect_label: str = "primary effect"):
    """Specification curves (issue #21): one panel per claim (a ``MultiverseResult`` or the ledger's
    ``multiverse`` payload), the primary effect of every analysis specification (all seeds), sorted,
    marked by whether it gives the headline verdict; each specification is labelled by how it departs from
    the plan's (the run choices, restarts, selection score and initialisation, among them). Returns the figure."""
    from qmoe_tfq.analysis.multiverse import MultiverseResult, from_json

    results = {cid: (r if isinstance(r, MultiverseResult) else from_json(r)) for cid, r in results.items()}
    n = max(len(results), 1)
    most = max((len(r.effects) for r in results.values()), default=1)
    fig, axes = plt.subplots(n, 1, figsize=(max(7, 0.5 * most), 2.6 * n), squeeze=False)
    for ax, (cid, r) in zip(axes[:, 0], results.items()):
        order = np.argsort(r.effects, kind="stable")
        eff = np.asarray(r.effects, dtype=float)[order]
        same = np.asarray([r.verdicts[i] == r.headline for i in order])
        x = np.arange(len(eff))
        finite = np.isfinite(eff)
        ax.scatter(x[same & finite], eff[same & finite], s=16, color="tab:blue", label=f"'{r.headline}'")
        ax.scatter(x[~same & finite], eff[~same & finite], s=16, color="tab:red", label="another verdict")
        ax.set_title(f"{cid}: share {r.share:.2f}" + (" (fragile)" if r.fragile else ""), fontsize=9)
        ax.set_ylabel(effect_label, fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels([_departures(r.specs[i], r.specs[0]) for i in order], fontsize=6, rotation=30, ha="right")
        if finite.any():
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "no finite effect (nothing non-inferior)", transform=ax.transAxes, ha="center")
            ax.set_yticks([])
    fig.tight_layout()
    return fig

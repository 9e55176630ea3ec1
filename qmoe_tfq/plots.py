"""Figures for ``paper/``: cheap functions of cached results, one fixed colour per model family."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from qmoe_tfq.experiments import decode_grid, grid_axis  # noqa: E402
from qmoe_tfq.stats import t_interval  # noqa: E402

COLORS = {
    "quantum": "#7b3294",
    "quantum_prob": "#c2a5cf",
    "quantum_rycz_prob": "#a6611a",
    "linear": "#1b7837",
    "matched": "#2166ac",
    "deep": "#d6604d",
    "constant": "#878787",
    "reference": "#4d4d4d",
}
REGION_CMAP = ListedColormap(["#fde0ef", "#e6f5d0"])
POINT_COLORS = np.array(["#c51b7d", "#4d9221"])

plt.rcParams.update({"figure.dpi": 100, "font.size": 9, "axes.titlesize": 9, "svg.hashsalt": "qmoe"})


def color_for(model_id: str) -> str:
    """Colour of a model id (``quantum``, ``linear``, ``mlp_h4``...) by family."""
    if model_id in COLORS:
        return COLORS[model_id]
    if model_id.startswith("mlp_h"):
        return COLORS["deep"]
    return COLORS["reference"]


def decision_regions(rows: pd.DataFrame, panels: list[tuple[str, str]], points: tuple[np.ndarray, np.ndarray],
                     seed: int = 0, prefix: str = "fair/"):
    """Argmax regions of each model (one panel per ``(model_id, title)``) for ``seed``, with ``points``
    (x, y) drawn on top, all on the same [0, pi]^2 grid."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.1), sharex=True, sharey=True)
    x, y = points
    for ax, (model_id, title) in zip(np.atleast_1d(axes), panels):
        row = rows[(rows["experiment"] == f"{prefix}{model_id}") & (rows["seed"] == seed)].iloc[0]
        pred = row["grid_predictions"]
        grid = int(round(len(pred) ** 0.5))
        axis = grid_axis(grid)
        ax.pcolormesh(axis, axis, decode_grid(pred, grid), cmap=REGION_CMAP, shading="auto", rasterized=True)
        ax.scatter(x[:, 0], x[:, 1], c=POINT_COLORS[y], s=7, edgecolors="none")
        ax.set_title(f"{title}\ntest acc {row['test_accuracy']:.3f}", color=color_for(model_id))
        ax.set_xlim(0, np.pi)
        ax.set_ylim(0, np.pi)
        ax.set_xlabel("$x_1$ (angle)")
    np.atleast_1d(axes)[0].set_ylabel("$x_2$ (angle)")
    fig.suptitle(f"Two Moons decision regions, seed {seed}; held-out test points", y=1.02)
    fig.tight_layout()
    return fig


def loss_curves(rows: pd.DataFrame, models: list[tuple[str, str]], prefix: str = "fair/", threshold: float | None = None):
    """Mean training loss per epoch with a 95% CI band over seeds, one line per ``(model_id, label)``."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for model_id, label in models:
        losses = np.array(rows[rows["experiment"] == f"{prefix}{model_id}"]["epoch_losses"].tolist())
        cis = [t_interval(losses[:, e]) for e in range(losses.shape[1])]
        epochs = np.arange(1, losses.shape[1] + 1)
        color = color_for(model_id)
        ax.plot(epochs, [c.mean for c in cis], color=color, label=f"{label} (n={losses.shape[0]})")
        ax.fill_between(epochs, [c.low for c in cis], [c.high for c in cis], color=color, alpha=0.2, linewidth=0)
    if threshold is not None:
        ax.axhline(threshold, color="k", linestyle=":", linewidth=0.8, label=f"convergence threshold {threshold}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean cross-entropy)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Convergence on Two Moons (fair protocol): mean and 95% CI over seeds")
    fig.tight_layout()
    return fig


def accuracy_bars(table: pd.DataFrame, title: str):
    """Horizontal bars of mean test accuracy with 95% CI whiskers, one per table row."""
    fig, ax = plt.subplots(figsize=(6.0, 0.32 * len(table) + 1.0))
    ypos = np.arange(len(table))[::-1]
    mean = table["test_acc_mean"].to_numpy()
    err = np.vstack([mean - table["test_acc_ci_low"].to_numpy(), table["test_acc_ci_high"].to_numpy() - mean])
    ax.barh(ypos, mean, xerr=err, color="#bababa", edgecolor="k", linewidth=0.5, capsize=2)
    ax.set_yticks(ypos, table["model"], fontsize=7)
    lo = max(0.0, float(np.nanmin(table["test_acc_ci_low"])) - 0.05)
    ax.set_xlim(lo, 1.0)
    ax.set_xlabel("held-out test accuracy (mean, 95% CI)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


NOISE_PROTOCOL_STYLE = {  # protocol -> (colour, line style, marker, label)
    "deploy": (COLORS["quantum"], "-", "o", "quantum, deploy (trained noiseless)"),
    "train": ("#e08214", "--", "s", "quantum, trained under noise"),
}


def noise_sweep(table: pd.DataFrame, references: pd.DataFrame, sampled: pd.DataFrame | None = None,
                linthresh: float = 1e-3):
    """Test accuracy against depolarizing eps (symlog x, so eps = 0 is shown), one panel per placement:
    mean and 95% CI band per protocol, references as horizontal bands (mean line, CI band), and the
    deploy means of both engines on the TFQ-trajectory seeds (circles: exact, crosses: trajectories) when
    ``sampled`` (``noise_study.engine_table``) is given.
    A reference's colour follows its ``role`` column when present (``linear``, ``matched``, ``constant``)."""
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
            ax.plot(g["noise"], g["test_acc_mean"], color=color, linestyle=style, marker=marker, markersize=3,
                    label=f"{label} (n={int(g['n_seeds'].max())})")
            ax.fill_between(g["noise"], g["test_acc_ci_low"], g["test_acc_ci_high"], color=color, alpha=0.2,
                            linewidth=0)
        if sampled is not None and not sampled.empty:
            s = sampled[sampled["placement"] == placement]
            n = int(s["n_seeds"].max())
            ax.plot(s["noise"], s["exact_acc_mean"], linestyle="none", marker="o", markerfacecolor="none",
                    color="k", markersize=5, label=f"deploy, first {n} seeds: exact engine")
            ax.plot(s["noise"], s["sampled_acc_mean"], linestyle="none", marker="x", color="k", markersize=4,
                    label=f"deploy, same {n} seeds: TFQ trajectories (R={int(s['repetitions'].iloc[0])})")
        ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
        ax.set_xlim(0.0, top * 1.15)
        ticks = [t for t in (0.0, 0.001, 0.01, 0.1, top) if t <= top]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=7)
        ax.set_xlabel("depolarizing probability eps (symlog axis)")
        ax.set_title(f"placement: {placement}")
    axes[0][0].set_ylabel("held-out test accuracy (mean, 95% CI)")
    fig.suptitle("Two Moons under single-qubit depolarizing noise on the router circuit", y=1.01)
    fig.tight_layout()
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, frameon=False, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0))
    return fig

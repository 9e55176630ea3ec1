"""Stage: studies. Figures of the mechanism study: gate maps per router, kernel-target alignment, trainability."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from qmoe_tfq.experiments.probes import decode_grid, grid_axis
from qmoe_tfq.reporting.plots import POINT_COLORS, plt
from qmoe_tfq.reporting.style import FAMILY_COLORS, color_for, style_for
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import mechanism as mech
from qmoe_tfq.studies import two_moons as tm

# Expert colours, apart from the class colours of the points (magenta, green).
EXPERT_COLORS = np.array([[0.27, 0.46, 0.71], [0.96, 0.43, 0.26], [0.50, 0.50, 0.50], [0.85, 0.70, 0.0]])
PANEL_TITLES = {
    "quantum": "quantum router (authors)",
    "quantum_noent": "quantum, CNOTs removed",
    "quantum_frozen": "quantum, frozen circuit",
    "quantum_prob": "quantum, probabilities (4 experts)",
    "fourier": "Fourier: Dense(E) on phi(x)",
    "fourier_rank": "Fourier, rank 2 (24 params)",
    "linear": "Model A: linear",
    tm.MATCHED: f"MLP h={tm.MATCHED_HIDDEN} (parameter-matched)",
}


def _plane_image(gates: np.ndarray) -> np.ndarray:
    """RGB image: the winning expert's colour, faded to white as the gate approaches uniform."""
    e = gates.shape[-1]
    win = gates.argmax(-1)
    confidence = np.clip((gates.max(-1) - 1.0 / e) / (1.0 - 1.0 / e), 0.0, 1.0)[..., None]
    return 1.0 - confidence * (1.0 - EXPERT_COLORS[win % len(EXPERT_COLORS)])


def gate_maps(res: mech.Results, points: Callable[[int], tuple[np.ndarray, np.ndarray]], ncols: int = 4):
    """One panel per router, on that router's median-accuracy evaluation seed (named in the panel title:
    "seed 7, median of 20"): the expert with the largest gate over the input plane (colour; white where
    the gates are uniform), solid lines where the winning expert changes (expert boundaries), the
    dashed decision boundary, and the seed's held-out test points (``points(seed) -> (x, y)``)."""
    ids = mech.size(res.quick).gate_map_ids
    nrows = int(np.ceil(len(ids) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 3.0 * nrows), sharex=True, sharey=True, squeeze=False)
    routing = mech.routing_table(res).set_index("model_id")
    for ax, model_id in zip(axes.ravel(), ids):
        gates = mech.gate_map(res, model_id)
        row = R.runs(res.gates, mech.gate_map_name(model_id)).iloc[0]
        x, y = points(int(row["seed"]))
        size = gates.shape[0]
        axis = grid_axis(size)
        ax.imshow(
            _plane_image(gates), origin="lower", extent=(0, np.pi, 0, np.pi), interpolation="bilinear", aspect="auto"
        )
        for e in range(gates.shape[-1]):
            others = np.delete(gates, e, axis=-1).max(-1)
            margin = gates[..., e] - others
            if margin.min() < 0 < margin.max():
                ax.contour(axis, axis, margin, levels=[0.0], colors="k", linewidths=1.0)
        pred = decode_grid(row["grid_predictions"], size).astype(float)
        if 0 < pred.mean() < 1:
            ax.contour(axis, axis, pred, levels=[0.5], colors="0.35", linewidths=0.9, linestyles="--")
        ax.scatter(x[:, 0], x[:, 1], c=POINT_COLORS[y], s=4, edgecolors="none", alpha=0.8)
        r = routing.loc[model_id]
        ax.set_title(
            f"{PANEL_TITLES.get(model_id, model_id)}\n{mech.gate_map_seed_note(res, model_id)}: test acc "
            f"{row['test_accuracy']:.3f}\nmean entropy {r.gate_entropy_mean:.2f}/{r.max_entropy:.2f}",
            color=color_for(model_id),
            fontsize=7,
        )
        ax.set_xlim(0, np.pi)
        ax.set_ylim(0, np.pi)
    for ax in axes.ravel()[len(ids) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("$x_1$ (angle)")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$ (angle)")
    fig.suptitle(
        "How each router splits Two Moons (tuned; each router on its median-accuracy seed): colour = expert with the largest gate "
        "(white: uniform gates), solid = expert boundary, dashed = decision boundary",
        y=1.0,
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def kernel_alignment(table: pd.DataFrame):
    """Kernel-target alignment (plain and centred) of RBF kernels against gamma and of the quantum kernel
    against its bandwidth b over the same grid, the quantum kernel as is as a horizontal band, and the RBF
    gamma nearest to it."""
    rbf = table[table["kernel_kind"] == "rbf"].sort_values("gamma")
    qbw = table[table["kernel_kind"] == "quantum_bandwidth"].sort_values("gamma")
    q = table[table["kernel_kind"] == "quantum"].iloc[0]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.3))
    for ax, (col, low, high, title) in zip(
        axes,
        [
            ("alignment_mean", "alignment_ci_low", "alignment_ci_high", "kernel-target alignment"),
            ("centered_alignment_mean", "centered_ci_low", "centered_ci_high", "centred alignment (Cortes et al.)"),
        ],
    ):
        ax.plot(rbf["gamma"], rbf[col], color=FAMILY_COLORS["rbf_svm"], marker="o", markersize=3, label="RBF kernel")
        ax.fill_between(rbf["gamma"], rbf[low], rbf[high], color=FAMILY_COLORS["rbf_svm"], alpha=0.2, linewidth=0)
        color = FAMILY_COLORS["quantum_kernel_svm"]
        ax.plot(qbw["gamma"], qbw[col], color=color, marker="s", markersize=3, label="quantum kernel, bandwidth b")
        ax.fill_between(qbw["gamma"], qbw[low], qbw[high], color=color, alpha=0.15, linewidth=0)
        ax.axhspan(q[low], q[high], color=color, alpha=0.2, linewidth=0)
        ax.axhline(q[col], color=color, linestyle="--", label="quantum kernel prod cos^2((x - x')/2)")
        ax.axvline(
            q["nearest_rbf_gamma_mean"],
            color=color,
            linestyle=":",
            linewidth=0.9,
            label=f"RBF gamma nearest the quantum kernel ({q['nearest_rbf_gamma_mean']:.2f})",
        )
        ax.set_xscale("log")
        ax.set_xlabel("RBF gamma = quantum bandwidth b (inputs: angles in [0, pi])")
        ax.set_ylabel(f"{title} (mean, 95% CI)")
        ax.set_title(title)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Two Moons training splits, {int(q['n_seeds'])} seeds", y=1.0, fontsize=8)
    fig.tight_layout()
    return fig


def trainability(res: mech.Results, table: pd.DataFrame):
    """Left: per-seed validation accuracy of the kept weights (one run per seed, the primary protocol), per
    router. Right: held-out accuracy of the best of k restarts (chosen on ``mechanism.restart_score``; the
    same k for every router; k > 1 is secondary) against k."""
    ids = list(dict.fromkeys(table["model_id"]))
    styles = {m: style_for(m) for m in ids}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 3.6))
    rng = np.random.default_rng(0)
    for i, m in enumerate(ids):
        v = mech.restart_frame(res, m).query("restart == 0")["best_validation"].to_numpy()
        left.scatter(
            i + rng.uniform(-0.15, 0.15, len(v)),
            v,
            s=10,
            color=styles[m].color,
            marker=styles[m].marker,
            alpha=0.7,
            edgecolors="none",
        )
        left.hlines(np.median(v), i - 0.3, i + 0.3, color="k", linewidth=1)
        g = table[table["model_id"] == m]
        right.errorbar(
            g["restarts_k"] + 0.04 * (i - len(ids) / 2),
            g["test_acc_mean"],
            yerr=[g["test_acc_mean"] - g["test_acc_ci_low"], g["test_acc_ci_high"] - g["test_acc_mean"]],
            capsize=2,
            markersize=4,
            linewidth=1,
            label=mech.candidate(m).label,
            **styles[m].kwargs(),
        )
    left.set_xticks(range(len(ids)), ids, fontsize=7, rotation=30)
    left.set_ylabel("validation accuracy of the kept weights")
    left.set_title("one run per seed (bar: median)")
    k_max = int(table["restarts_k"].max())
    right.set_xticks(range(1, k_max + 1))
    right.axhline(mech.GOOD_ACCURACY, color="0.5", linestyle=":", linewidth=0.8, label=f"'good' {mech.GOOD_ACCURACY}")
    basis = " / ".join(sorted(set(table["selected_on"]))) if "selected_on" in table else "validation accuracy"
    right.set_xlabel(f"k random restarts, best on {basis} (k x the epoch budget)")
    right.set_ylabel("held-out test accuracy (mean, 95% CI)")
    right.set_title("best of k restarts (k = 1: primary)")
    right.legend(fontsize=6.5, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: many routers
    fig.tight_layout()
    return fig


__all__ = ["gate_maps", "kernel_alignment", "trainability"]

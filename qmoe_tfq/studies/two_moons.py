"""Two Moons ablation: the authors' protocol (training-set accuracy, their data and budgets) and a
fair protocol (held-out test accuracy, the same budget for every model, paired over seeds)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.config import ModelSpec, TrainSpec, param_counts
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments import Experiment, SklearnSpec
from qmoe_tfq.stats import ACCURACY_BOUNDS, efficiency, paired_wilcoxon, t_interval

AUTHORS_DATA_SEED = 42
QUANTUM = ModelSpec(router="quantum", layers=3, readout="expectation")
PHASE3A_HIDDEN = (2, 4, 8, 16, 32, 64)
FAIR_HIDDEN = (2, 4, 8, 16, 32, 64)
MATCH_TOLERANCE = 0.20
CONVERGENCE_LOSS = 0.25
GRID = 64


@dataclass(frozen=True)
class Size:
    """Seeds and epochs of a run of the study: full, or QUICK (smoke test)."""

    fair_seeds: int
    authors_seeds: int
    phase2_epochs: int
    phase3a_epochs: int
    fair_epochs: int


FULL = Size(fair_seeds=20, authors_seeds=10, phase2_epochs=50, phase3a_epochs=30, fair_epochs=50)
QUICK = Size(fair_seeds=3, authors_seeds=2, phase2_epochs=2, phase3a_epochs=2, fair_epochs=3)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def matched_hidden(target: int, n_features: int = 2, tolerance: float = MATCH_TOLERANCE) -> int:
    """Hidden width of the MLP router whose parameter count is closest to ``target`` (within ±tolerance)."""
    count = lambda h: param_counts(ModelSpec(router="mlp", hidden=h), n_features, 2).router  # noqa: E731
    best = min(range(1, 256), key=lambda h: abs(count(h) - target))
    if abs(count(best) - target) > tolerance * target:
        raise ValueError(f"no MLP router within ±{tolerance:.0%} of {target} parameters (closest: {count(best)})")
    return best


QUANTUM_ROUTER_PARAMS = param_counts(QUANTUM, 2, 2).router
MATCHED_HIDDEN = matched_hidden(QUANTUM_ROUTER_PARAMS)


@dataclass(frozen=True)
class Model:
    """A model of the fair protocol: stable id, display label, role in the comparison, spec."""

    id: str
    label: str
    role: str
    spec: ModelSpec | SklearnSpec


def fair_models() -> list[Model]:
    """Every model compared under the fair protocol, in table order."""
    matched = MATCHED_HIDDEN
    models = [
        Model("quantum", "quantum router (authors: SEL L=3, <Z> + adapter)", "quantum", QUANTUM),
        Model("quantum_prob", "quantum router (probabilities readout, 4 experts)", "quantum variant",
              ModelSpec(router="quantum", layers=3, readout="probabilities")),
        Model("quantum_rycz_prob", "quantum router (paper text: RY+CZ, probabilities)", "quantum variant",
              ModelSpec(router="quantum", layers=3, readout="probabilities", ansatz="ry_cz")),
        Model("linear", "Model A: linear router", "classical (paper's baseline)", ModelSpec(router="linear")),
        Model(f"mlp_h{matched}", f"MLP router h={matched} (parameter-matched)", "classical (parameter-matched)",
              ModelSpec(router="mlp", hidden=matched)),
    ]
    models += [
        Model(f"mlp_h{h}", f"Model C: MLP router h={h}", "classical (deep router)", ModelSpec(router="mlp", hidden=h))
        for h in FAIR_HIDDEN if h != matched
    ]
    models += [
        Model("constant", "constant gates (experts only)", "floor", ModelSpec(router="constant")),
        Model("logreg", "logistic regression (no MoE)", "reference", SklearnSpec("logreg")),
        Model("rbf_svm", "RBF-kernel SVM (no MoE)", "reference", SklearnSpec("rbf_svm")),
    ]
    return models


def fair_experiments(quick: bool = False) -> list[Experiment]:
    """Fair protocol: 30% stratified held-out split, a fresh sample and split per seed, one budget."""
    s = size(quick)
    data = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.3, seed=None)
    train = TrainSpec(epochs=s.fair_epochs, lr=0.1, batch_size=32)
    return [
        Experiment(f"fair/{m.id}", m.spec, data, train, "fair", tuple(range(s.fair_seeds)), grid=GRID)
        for m in fair_models()
    ]


def authors_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' protocol: their data (random_state=42), no split, their budgets, many model seeds."""
    s = size(quick)
    seeds = tuple(range(s.authors_seeds))
    phase2_data = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.0, seed=AUTHORS_DATA_SEED)
    phase2 = TrainSpec(epochs=s.phase2_epochs, lr=0.1, batch_size=32)
    phase3_data = DataSpec(name="moons", n_samples=1000, noise=0.1, test_size=0.0, seed=AUTHORS_DATA_SEED)
    phase3 = TrainSpec(epochs=s.phase3a_epochs, lr=0.05, batch_size=32)
    exps = [
        Experiment("phase2/linear", ModelSpec(router="linear"), phase2_data, phase2, "authors", seeds),
        Experiment("phase2/quantum", QUANTUM, phase2_data, phase2, "authors", seeds),
        Experiment("phase3a/quantum", QUANTUM, phase3_data, phase3, "authors", seeds),
    ]
    exps += [
        Experiment(f"phase3a/mlp_h{h}", ModelSpec(router="mlp", hidden=h), phase3_data, phase3, "authors", seeds)
        for h in PHASE3A_HIDDEN
    ]
    return exps


def experiments(quick: bool = False) -> list[Experiment]:
    """Every run of the study."""
    return authors_experiments(quick) + fair_experiments(quick)


def epochs_to_loss(losses: list[float], threshold: float = CONVERGENCE_LOSS) -> int:
    """First epoch (1-based) whose mean training loss is <= threshold; len(losses) + 1 if never."""
    for i, value in enumerate(losses):
        if value <= threshold:
            return i + 1
    return len(losses) + 1


def _by_model(rows: pd.DataFrame, prefix: str) -> dict[str, pd.DataFrame]:
    sub = rows[rows["experiment"].str.startswith(prefix)]
    return {name[len(prefix):]: g.sort_values("seed") for name, g in sub.groupby("experiment", sort=False)}


def paired(rows: pd.DataFrame, a: str, b: str, column: str = "test_accuracy", prefix: str = "fair/") -> tuple[np.ndarray, np.ndarray]:
    """Values of ``column`` for models ``a`` and ``b`` on the seeds both have, aligned by seed."""
    groups = _by_model(rows, prefix)
    left, right = groups[a].set_index("seed")[column], groups[b].set_index("seed")[column]
    seeds = sorted(set(left.index) & set(right.index))
    return left.loc[seeds].to_numpy(float), right.loc[seeds].to_numpy(float)


def _count(value) -> int | None:
    """A parameter count from a result column: None where not applicable (non-MoE references)."""
    return None if value is None or pd.isna(value) else int(value)


def fair_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model of the fair protocol: sizes, test accuracy with 95% CI, eta, paired tests."""
    groups = _by_model(rows, "fair/")
    out = []
    for m in fair_models():
        g = groups[m.id]
        ci = t_interval(g["test_accuracy"], bounds=ACCURACY_BOUNDS)
        rp = _count(g["router_params"].iloc[0])
        row = {
            "model": m.label,
            "role": m.role,
            "router_params": rp,
            "expert_params": _count(g["expert_params"].iloc[0]),
            "total_params": int(g["total_params"].iloc[0]),
            "test_acc_mean": ci.mean,
            "test_acc_ci_low": ci.low,
            "test_acc_ci_high": ci.high,
            "train_acc_mean": float(g["train_accuracy"].mean()),
            "train_seconds_mean": float(g["train_seconds"].mean()),
            "eta": efficiency(ci.mean, rp),
            "n_seeds": ci.n,
        }
        if m.id == "quantum":
            row.update({"delta_vs_quantum": math.nan, "p_quantum_better": math.nan, "p_quantum_worse": math.nan})
        else:
            a, b = paired(rows, "quantum", m.id)
            row.update({
                "delta_vs_quantum": float(np.mean(a - b)),
                "p_quantum_better": paired_wilcoxon(a, b, "greater"),
                "p_quantum_worse": paired_wilcoxon(a, b, "less"),
            })
        out.append(row)
    return pd.DataFrame(out).astype({"router_params": "Int64", "expert_params": "Int64"})


def authors_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The authors' protocol: training-set accuracy (mean, 95% CI over model seeds) per model."""
    out = []
    for phase in ("phase2/", "phase3a/"):
        for model_id, g in _by_model(rows, phase).items():
            ci = t_interval(g["train_accuracy"], bounds=ACCURACY_BOUNDS)
            losses = np.array(g["epoch_losses"].tolist())
            out.append({
                "phase": phase.rstrip("/"),
                "model": model_id,
                "router_params": int(g["router_params"].iloc[0]),
                "train_acc_mean": ci.mean,
                "train_acc_ci_low": ci.low,
                "train_acc_ci_high": ci.high,
                "final_loss_mean": float(losses[:, -1].mean()),
                "n_seeds": ci.n,
            })
    return pd.DataFrame(out)


def convergence_table(rows: pd.DataFrame, ids=("quantum", "linear", f"mlp_h{MATCHED_HIDDEN}", "mlp_h64")) -> pd.DataFrame:
    """Epochs to reach the training-loss threshold, per model, and paired tests against the quantum router."""
    groups = _by_model(rows, "fair/")
    q = np.array([epochs_to_loss(v) for v in groups["quantum"]["epoch_losses"]])
    out = []
    for model_id in ids:
        e = np.array([epochs_to_loss(v) for v in groups[model_id]["epoch_losses"]])
        ci = t_interval(e)
        reached = float(np.mean(e <= len(groups[model_id]["epoch_losses"].iloc[0])))
        row = {"model": model_id, "epochs_to_threshold_mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
               "fraction_of_seeds_reaching": reached, "n_seeds": ci.n}
        if model_id != "quantum":
            row["p_quantum_faster"] = paired_wilcoxon(e, q, "greater")
            row["p_quantum_slower"] = paired_wilcoxon(e, q, "less")
        out.append(row)
    return pd.DataFrame(out)


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows without the bulky columns (losses, grid predictions)."""
    drop = [c for c in ("epoch_losses", "grid_predictions", "key") if c in rows.columns]
    return rows.drop(columns=drop)

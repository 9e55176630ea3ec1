"""Runner-shaped rows and study results built by hand (no training), for tests of the claims modules
and study tables whose right answer is known from the construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qmoe_tfq.experiments.search_spaces import configurations
from qmoe_tfq.experiments.tuning import Selection, TunedResults
from qmoe_tfq.studies import two_moons as tm

N_TEST = 150


def selections(candidates, quick: bool = False) -> dict[str, Selection]:
    """Every candidate 'chose' the first configuration of its space."""
    return {c.id: Selection(c, configurations(c.space, quick)[0], 0, 0.9, pd.DataFrame()) for c in candidates}


def model_rows(
    name: str, counts, router_params: int | None = 6, n_test: int = N_TEST, curves=None, collapsed=None, seeds=None
) -> list[dict]:
    """One evaluation row per seed of experiment ``name`` with ``counts`` correct test points."""
    counts = np.asarray(counts, dtype=int)
    seeds = range(len(counts)) if seeds is None else seeds
    out = []
    for i, seed in enumerate(seeds):
        out.append(
            {
                "experiment": name,
                "seed": seed,
                "n_correct": int(counts[i]),
                "n_test": n_test,
                "test_accuracy": counts[i] / n_test,
                "train_accuracy": counts[i] / n_test,
                "router_params": router_params,
                "expert_params": 6,
                "total_params": (router_params or 0) + 6,
                "collapsed": None if collapsed is None else bool(collapsed[i]),
                "validation_curve": None if curves is None else list(curves[i]),
                "epoch_losses": [0.5, 0.4, 0.3],
                "train_seconds": 1.0,
                "seconds_per_epoch": 0.1,
            }
        )
    return out


def curve(first_above: int, floor: float, epochs: int = 20, above: float = 0.05, rng=None) -> np.ndarray:
    """A validation curve at the floor until epoch ``first_above`` (1-based), ``above`` over it after;
    ``first_above > epochs``: never leaves the floor."""
    c = np.full(epochs, floor)
    if first_above <= epochs:
        c[first_above - 1 :] = floor + above
    if rng is not None:
        c = c + rng.uniform(-0.004, 0.004, epochs)
    return c


def two_moons_results(
    quantum_counts,
    linear_counts,
    other_counts=None,
    epochs=None,
    phase3a=None,
    phase2=None,
    collapsed=None,
    quick: bool = False,
    replication=None,
) -> tm.Results:
    """A Two Moons ``Results`` from per-seed counts. ``epochs``: model id -> first epoch above the
    floor + margin per seed (validation curves built from it; the constant-gate floor is 0.86);
    ``phase3a``/``phase2``: model id -> per-seed training accuracies / loss curves; ``collapsed``:
    model id -> per-seed collapse flags; ``replication``: (quantum counts, linear counts) of C1's
    replication on as many fresh seeds (no multiverse runs)."""
    n = len(quantum_counts)
    rng = np.random.default_rng(0)
    max_epochs = tm.budget(quick).max_epochs
    epochs = epochs or {}
    collapsed = collapsed or {}
    counts = {"quantum": quantum_counts, "linear": linear_counts, **(other_counts or {})}
    params = {"quantum": 24, "linear": 6, "constant": None, "logreg": None, "rbf_svm": None}
    rows = []
    for prefix in (tm.TUNED_PREFIX, tm.BUDGET_PREFIX):
        for c in tm.candidates():
            k = counts.get(c.id, np.full(n, 128))
            floor = 0.86
            if c.id == "constant":
                curves = [np.full(max_epochs, floor) for _ in range(n)]
            else:
                first = epochs.get(c.id, np.full(n, max_epochs + 1))
                curves = [curve(int(e), floor, max_epochs, rng=rng) for e in first]
            flags = collapsed.get(c.id, np.zeros(n, bool)) if c.family not in ("logreg", "rbf_svm") else None
            rp = params.get(c.id, 5 * int(c.id[5:]) + 2 if c.id.startswith("mlp_h") else 24)
            rows += model_rows(f"{prefix}{c.id}", k, rp, curves=curves, collapsed=flags)
    tuned = pd.DataFrame([r for r in rows if r["experiment"].startswith(tm.TUNED_PREFIX)])
    fixed = [r for r in rows if r["experiment"].startswith(tm.BUDGET_PREFIX)]
    for mid, acc in (phase3a or {}).items():
        fixed += [
            {"experiment": f"phase3a/{mid}", "seed": s, "train_accuracy": a, "router_params": 24, "epoch_losses": [0.3]}
            for s, a in enumerate(acc)
        ]
    for mid, losses in (phase2 or {}).items():
        fixed += [
            {
                "experiment": f"phase2/{mid}",
                "seed": s,
                "train_accuracy": 0.9,
                "router_params": 6,
                "epoch_losses": list(c),
            }
            for s, c in enumerate(losses)
        ]
    rep, n_rep = pd.DataFrame(), 0
    if replication is not None:
        n_rep = len(replication[0])
        seeds = tm.replication_seeds(n_rep)
        rep = pd.DataFrame(
            model_rows(f"{tm.REPLICATION_PREFIX}quantum", replication[0], 24, seeds=seeds)
            + model_rows(f"{tm.REPLICATION_PREFIX}linear", replication[1], 6, seeds=seeds)
        )
    return tm.Results(
        TunedResults(pd.DataFrame(), selections(tm.candidates(), quick), tuned),
        pd.DataFrame(fixed),
        quick,
        replication=rep,
        replication_n=n_rep,
    )

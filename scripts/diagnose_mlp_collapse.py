"""Why MLP routers collapse in the parameter-efficiency study (C5): the diagnostic runs behind
``efficiency_claims.COLLAPSE_DIAGNOSIS``. Not part of ``make paper``; about 2 minutes on 2 cores.

1. Collapsed runs (``GateSummary``) over learning rate x initialisation, z-scored inputs, the tuned protocol
   (100 epochs, best-validation weights) on the 10 evaluation seeds: MLP h = 4, 8, 32 and the quantum
   router L = 3 (runs through the cached runner, into ``--cache``, default a scratch folder).
2. The router's softmax after ONE epoch (z-scored inputs, evaluation seeds): median over seeds of the median
   |logit difference| between the two gates on the test points, and the runs with more than 99% of the test
   points saturated (largest gate > 0.99), MLP h = 8 against the quantum router L = 3.
3. Dead hidden units (zero on every test point) of the MLP h = 8 runs at lr 0.3.

    TF_USE_LEGACY_KERAS=1 .venv/bin/python scripts/diagnose_mlp_collapse.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile

import numpy as np
import pandas as pd

from qmoe_tfq.estimators import final_estimator
from qmoe_tfq.experiments.experiment import _plan
from qmoe_tfq.experiments.runner import runner
from qmoe_tfq.experiments.tuning import Selection, evaluation_experiment
from qmoe_tfq.studies import efficiency as ef
from qmoe_tfq.studies import two_moons as tm

LRS = (0.01, 0.03, 0.1, 0.3)
SEEDS = tuple(range(10))


def evaluation(point: str, **params):
    """The tuned evaluation experiment of ``point`` at ``params`` (z-scored inputs unless given)."""
    c = {p.id: p for p in ef.points()}[point]
    sel = Selection(c, {"input_scaling": "standard", **params}, -1, math.nan, pd.DataFrame())
    return evaluation_experiment(sel, ef.budget(), tm.PROBES)


def fit(point: str, seed: int, lr: float, **training):
    """``point`` at ``lr`` (z-scored inputs) fitted on ``seed``; ``training`` overrides the protocol's
    training settings (``max_epochs=1``: one epoch)."""
    e = evaluation(point, lr=lr)
    run = _plan(dataclasses.replace(e, model=e.model.replace(**training)), seed)
    run.estimator.fit(run.x, run.y)
    return final_estimator(run.estimator), run.data


def collapse_grid(cache: str) -> pd.DataFrame:
    exps = [
        dataclasses.replace(
            evaluation(p, lr=lr), name=f"{p}|{lr}|{init}", model=evaluation(p, lr=lr).model.replace(init=init)
        )
        for p in ("mlp_h4", "mlp_h8", "mlp_h32", ef.REFERENCE)
        for lr in LRS
        for init in ("pytorch", "glorot")
    ]
    rows = runner(jobs=2, cache_dir=cache, progress=False)(exps)
    rows[["point", "lr", "init"]] = rows["experiment"].str.split("|", expand=True)
    rows["collapsed"] = rows["collapsed"].astype(float)
    return rows.pivot_table(index=["point", "init"], columns="lr", values="collapsed", aggfunc="sum")


def first_epoch(point: str, lr: float) -> tuple[float, int]:
    medians, saturated = [], 0
    for s in SEEDS:
        est, data = fit(point, s, lr, max_epochs=1)
        g = np.clip(est.gates(data.x_test).astype(float), 1e-30, 1.0)
        medians.append(float(np.median(np.abs(np.log(g[:, 0]) - np.log(g[:, 1])))))
        saturated += int((g.max(axis=1) > 0.99).mean() > 0.99)
    return float(np.median(medians)), saturated


def dead_units(lr: float = 0.3) -> list[tuple[int, bool, int]]:
    out = []
    for s in SEEDS:
        est, data = fit("mlp_h8", s, lr)
        kernel, bias = est.weights_[:2]
        h = np.maximum(est.scale_inputs(data.x_test) @ kernel + bias, 0.0)
        g = est.gates(data.x_test)
        out.append((s, bool(g.min(axis=0).max() > 0.99), int((h.max(axis=0) == 0).sum())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="runner cache folder (default: a scratch folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print("collapsed runs of 10 (z-scored inputs):\n", collapse_grid(args.cache or scratch).to_string())
    for point in ("mlp_h8", ef.REFERENCE):
        for lr in (0.03, 0.1, 0.3):
            med, sat = first_epoch(point, lr)
            print(f"{point} lr {lr}: after one epoch median |logit diff| {med:.1f}, saturated runs {sat}/10")
    for seed, collapsed, dead in dead_units():
        print(f"mlp_h8 lr 0.3 seed {seed}: collapsed {collapsed}, dead hidden units {dead}/8")


if __name__ == "__main__":
    main()

"""Why the scaling probe's convergence check flags digits-10 at k = 2 with the linear router, and why its
budget is left at 150 epochs: the runs behind ``scaling.BUDGET_FINDINGS``. Not part of ``make paper``;
about 5 minutes on 2 cores.

1. The chosen configuration's validation loss on its tuning seeds, at the study's budget and trained
   3x longer (the first epochs of a longer run are the same run: the batch order is drawn per epoch from
   the seed): the best loss so far at chosen epochs, the best epoch, how much the epochs after 80 % of the
   budget lowered the best loss (the check's tolerance is ``LOSS_TOLERANCE``), and the epoch-to-epoch
   noise of the curve (standard deviation of its differences over the budget's last 50 epochs).
2. The whole k = 2 comparison (three routers, the tuned protocol with its grid-edge steps and the
   evaluation seeds) at longer budgets, the same for every router: the chosen configurations, their
   selection margins and the check.

    TF_USE_LEGACY_KERAS=1 .venv/bin/python scripts/diagnose_scaling_budget.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile

import numpy as np

from qmoe_tfq.analysis.convergence import CONVERGED_FRACTION, run_convergence
from qmoe_tfq.experiments.runner import runner
from qmoe_tfq.experiments.tuning import run_tuned_groups, tuned_columns, tuning_experiments
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import scaling as sc

TASK = "digits-10"
K = 2
ROUTER = "linear"
LONGER = 3  # part 1: the chosen configuration trained this many times the budget
MARKS = (60, 100, 120, 150, 200, 300, 450)
BUDGETS = (150, 180, 200, 240, 300)  # part 2


def group(epochs: int):
    """The (candidates, budget) of ``TASK`` at ``K`` with every router's budget ``epochs``."""
    task = {t.id: t for t in sc.TASKS}[TASK]
    return sc.candidates(K), dataclasses.replace(sc.budget(task, K, sc.FULL, False), max_epochs=epochs)


def comparison(run, epochs: int):
    """The tuned k = 2 comparison at ``epochs``: its ``TunedResults`` and convergence table."""
    g = [group(epochs)]
    tuned = run_tuned_groups(g, run, sc.PROBES, desc=f"{TASK} k{K} at {epochs}")
    return tuned, R.convergence_table(tuned, g)


def chosen_curves(run, chosen: dict, epochs: int):
    """Rows of the chosen configuration ``chosen`` of ``ROUTER`` on the tuning seeds at ``epochs``."""
    candidates, budget = group(epochs)
    c = {c.id: c for c in candidates}[ROUTER]
    exps = [e for e in tuning_experiments(c, budget) if all(dict(e.model.params)[k] == v for k, v in chosen.items())]
    return run(exps, desc=f"{ROUTER} at {epochs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="runner cache folder (default: a scratch folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = runner(jobs=2, cache_dir=args.cache or scratch, progress=False)
        task = {t.id: t for t in sc.TASKS}[TASK]
        base = sc.FULL.epochs(task)
        tuned, _ = comparison(run, base)
        name = sc.experiment_name(task, K, ROUTER)
        chosen = dict(tuned.selections[name].params)
        print(f"{name}: chosen {chosen} at {base} epochs")
        for _, r in chosen_curves(run, chosen, LONGER * base).sort_values("seed").iterrows():
            v = np.asarray(r["validation_loss_curve"], float)
            best = np.minimum.accumulate(v)
            at = int(CONVERGED_FRACTION * base)
            check = run_convergence({"validation_loss_curve": v[:base]})
            print(
                f"  seed {r['seed']}: best loss so far "
                + ", ".join(f"{e}: {best[e - 1]:.4f}" for e in MARKS if e <= len(v))
                + f"; best epoch {check.best_epoch} of {base} ({'converged' if check.converged else 'still improving'}),"
                f" {int(np.argmin(v)) + 1} of {len(v)}; epochs {at + 1}-{base} lowered the best by"
                f" {best[at - 1] - best[base - 1]:.4f}, epochs {base + 1}-{len(v)} by {best[base - 1] - best[-1]:.4f};"
                f" epoch-to-epoch noise {np.std(np.diff(v[base - 50 : base])):.4f}"
            )
        for epochs in BUDGETS:
            tuned, table = comparison(run, epochs)
            print(f"all routers at {epochs} epochs:")
            for row in table.itertuples():
                sel = tuned_columns(tuned.selections[row.experiment])
                print(
                    f"  {row.model_id}: {row.chosen} (margin {sel['selection_margin']:.4f} to {sel['runner_up']},"
                    f" {sel['configs_run']} configurations), best epochs {row.best_epochs}: {row.converged} {row.verdict}"
                )


if __name__ == "__main__":
    main()

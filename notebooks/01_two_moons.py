# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Two Moons ablation
#
# Tests claims C1 (accuracy), C2 (parameter counts), C3 (efficiency ratio) and C7 (faster
# convergence), and the authors' notebook tables N1 (Phase 3A) and N2 (Phase 2 losses), under two
# protocols (C5, a deep classical router needing ~10x the parameters, is tested by
# `02_param_efficiency`, which reuses these fair-protocol runs):
#
# * **Authors' protocol** — their data (`make_moons(..., random_state=42)`, min-max scaled to
#   [0, pi]), their budgets (Phase 2: n=500, Adam lr 0.1, 50 epochs; Phase 3A: n=1000, lr 0.05,
#   30 epochs), accuracy **on the training set** as they measured it — but over many model seeds.
# * **Fair protocol** — a fresh sample and a stratified 70/30 split per seed, the same budget for
#   every model (Adam lr 0.1, 50 epochs, batch 32), **held-out test accuracy**, mean with a Student-t
#   95% confidence interval, and paired one-sided Wilcoxon signed-rank tests against the quantum
#   router on the same seeds and splits.
#
# All numbers come from `qmoe_tfq.runner.run_experiments`, which caches each (config, seed) run.

# %%
import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS)
from IPython.display import display

from qmoe_tfq import plots
from qmoe_tfq.data import load_dataset
from qmoe_tfq.report import paper_settings, save_figure, write_table
from qmoe_tfq.runner import run_experiments
from qmoe_tfq.studies import two_moons as tm

S = paper_settings()
rows = run_experiments(tm.experiments(S.quick), jobs=S.jobs, cache_dir=S.cache_dir, desc="two moons")
print(f"{'QUICK (smoke-test size)' if S.quick else 'full size'}: {len(rows)} runs, "
      f"{rows['seed'].nunique()} seeds max; writing to {S.out_dir}")

# %% [markdown]
# ## Fair protocol: held-out test accuracy
#
# `eta` is the paper's efficiency ratio, eta = accuracy / ln(1 + router parameters), natural log,
# computed from held-out test accuracy; `p_quantum_better` / `p_quantum_worse` are one-sided paired
# Wilcoxon p-values of the quantum router against each model.

# %%
fair = tm.fair_table(rows)
write_table(
    fair, S.tables, "two_moons_fair", sources=rows, study="two_moons",
    caption=("Two Moons, fair protocol: held-out test accuracy (mean and Student-t 95% CI over seeds), "
             "training-set accuracy, parameters, and efficiency eta = accuracy / ln(1 + router params) "
             "(natural log). p-values: one-sided paired Wilcoxon signed-rank tests of the quantum router "
             "against each model, same seeds and splits."),
)
write_table(tm.runs_table(rows), S.tables, "two_moons_runs", sources=rows, study="two_moons", caption="Per-seed results of the Two Moons study.",
            formats=("csv",))
display(fair)

# %%
fig = plots.accuracy_bars(fair, "Two Moons, fair protocol")
save_figure(fig, S.figures, "two_moons_accuracy", caption="Two Moons, fair protocol: held-out test accuracy per model, mean and Student-t 95% CI over seeds.", sources=rows, study="two_moons")

# %% [markdown]
# ## Authors' protocol: training-set accuracy
#
# These are **training-set** accuracies, as the authors measured; the authors ran one seed, these
# are means and 95% CIs over model seeds on their fixed data.

# %%
authors = tm.authors_table(rows)
write_table(authors, S.tables, "two_moons_authors", sources=rows, study="two_moons",
            caption=("Two Moons, authors' protocol (make_moons random_state=42, no split): TRAINING-SET "
                     "accuracy, mean and 95% CI over model seeds; final mean training loss."))
display(authors)

# %% [markdown]
# ## Decision regions
#
# Argmax regions of the linear router (Model A), the quantum router, the parameter-matched MLP router
# and the deepest MLP router, for seed 0 of the fair protocol, with that seed's held-out test points.

# %%
data0 = load_dataset(tm.fair_experiments(S.quick)[0].data, 0)
panels = [
    ("linear", "Model A: linear router (6)"),
    ("quantum", "quantum router, L=3 (24)"),
    (f"mlp_h{tm.MATCHED_HIDDEN}", f"MLP h={tm.MATCHED_HIDDEN}, matched (22)"),
    ("mlp_h64", "MLP h=64, deep (322)"),
]
fig = plots.decision_regions(rows, panels, (data0.x_test, data0.y_test), seed=0)
save_figure(fig, S.figures, "two_moons_decision_regions", caption="Two Moons decision regions (argmax of the mixture) of the linear, quantum, parameter-matched and deep MLP routers, seed 0 of the fair protocol, with its held-out test points.", sources=rows, study="two_moons")

# %% [markdown]
# ## Convergence (C7)
#
# Training loss per epoch, mean and 95% CI band over seeds; convergence speed is the first epoch at
# which the mean training loss is at or below the threshold.

# %%
fig = plots.loss_curves(
    rows,
    [("quantum", "quantum router"), ("linear", "Model A: linear"),
     (f"mlp_h{tm.MATCHED_HIDDEN}", f"MLP h={tm.MATCHED_HIDDEN} (matched)"), ("mlp_h64", "MLP h=64 (deep)")],
    threshold=tm.CONVERGENCE_LOSS,
)
save_figure(fig, S.figures, "two_moons_loss_curves", caption="Two Moons, fair protocol: training loss per epoch, mean and 95% CI band over seeds; dotted line: the convergence threshold.", sources=rows, study="two_moons")
conv = tm.convergence_table(rows)
write_table(conv, S.tables, "two_moons_convergence", sources=rows, study="two_moons",
            caption=(f"Epochs until the training loss first reaches {tm.CONVERGENCE_LOSS} (fair protocol; "
                     "epochs + 1 if never), mean and 95% CI; one-sided paired Wilcoxon p-values against the "
                     "quantum router."))
display(conv)

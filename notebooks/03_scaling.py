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
# # Scaling probe beyond two features (C6)
#
# Tests claim C6 ("the advantage carries to reduced MNIST with 8 PCA dimensions and to Fashion-MNIST
# subsets") and the paper's open question on scaling. Each task is standardised, reduced by PCA to
# k in {2, 4, 8} features (fit on the training split only) and scaled to angles in [0, pi]; the
# quantum router (authors' ansatz, L=3) gets one qubit per feature. It is compared with the linear
# router (Model A) and an MLP router whose parameter count is within ±20% of the quantum router's
# at that k. Every model has **2 linear experts** (Dense(n_classes) each, also for the 10-class
# task) and the same budget (Adam lr 0.05, 30 epochs, batch 32); stratified 70/30 split per seed,
# held-out test accuracy, mean and 95% CI over 5 seeds.
#
# Tasks: scikit-learn's shipped 8x8 **digits** (0 vs 1, 3 vs 8, all 10 classes), a **stand-in**
# for the paper's datasets that is always present; **MNIST 0 vs 1** and **Fashion-MNIST 0 vs 1**
# (1,000 examples drawn per seed, 30% from the file's test split); and the authors' **Phase 1
# variant** (MNIST 0 vs 1 resized to 4x4, then PCA 8, since its 16 pixels would need 16 qubits,
# beyond the router's 12-qubit limit). MNIST and Fashion-MNIST are read from local `.npz` files
# (README, "Datasets"); when a file is absent its rows say "data not present".

# %%
import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS)
from IPython.display import display

from qmoe_tfq.report import paper_settings, save_figure, write_table
from qmoe_tfq.runner import run_experiments
from qmoe_tfq.studies import scaling as sc

S = paper_settings()
size = sc.size(S.quick)
status = sc.task_status(size)
for task_id, reason in status.items():
    print(f"{task_id}: {'present' if reason is None else sc.NOT_PRESENT + ' -- ' + reason}")
rows = run_experiments(sc.build_experiments(size, status=status), jobs=S.jobs, cache_dir=S.cache_dir,
                       desc="scaling")
print(f"{'QUICK (smoke-test size)' if S.quick else 'full size'}: {len(rows)} runs, {size.seeds} seeds, "
      f"{size.epochs} epochs; training time recorded in the runs: {rows['train_seconds'].sum():.0f} s")

# %% [markdown]
# ## Accuracy, parameters and cost per task, k and router
#
# `p_quantum_better` / `p_quantum_worse`: one-sided paired Wilcoxon signed-rank tests of the quantum
# router against each router on the same seeds and splits. `seconds_per_epoch` is training wall time
# divided by epochs (the first epoch includes graph tracing), measured with the runs in parallel.

# %%
table = sc.scaling_table(rows, size, status=status)
write_table(
    table, S.tables, "scaling", sources=rows, study="scaling",
    caption=("Scaling probe: held-out test accuracy (mean and Student-t 95% CI over seeds) of the quantum router "
             "(L=3, k qubits), the linear router and a parameter-matched MLP router (within ±20% of the quantum "
             "router's parameters) on PCA-k features; 2 linear experts; router and expert parameters; seconds per "
             "training epoch (mean and 95% CI); one-sided paired Wilcoxon p-values of the quantum router against "
             "each router. digits rows are a stand-in for the paper's MNIST / Fashion-MNIST; rows whose data file "
             "is absent say 'data not present'."),
)
write_table(sc.runs_table(rows), S.tables, "scaling_runs", sources=rows, study="scaling", caption="Per-seed results of the scaling probe.",
            formats=("csv",))
display(table)

# %%
fig = sc.accuracy_figure(table)
save_figure(fig, S.figures, "scaling_accuracy", caption="Scaling probe: held-out test accuracy against PCA components k (= qubits of the quantum router), one panel per task.", sources=rows, study="scaling")

# %% [markdown]
# ## Cost: seconds per epoch against qubits
#
# `growth_vs_previous_k` is the ratio of seconds per epoch to the previous k of the same task and
# router; `growth_per_added_feature` spreads it over the added features (qubits, for the quantum
# router).

# %%
cost = sc.cost_table(table)
write_table(cost, S.tables, "scaling_cost", sources=rows, study="scaling",
            caption=("Scaling probe, training cost: seconds per epoch (mean over seeds) per task, router and k, and "
                     "its growth from the previous k (in total and per added feature / qubit)."))
display(cost[cost["router"] == "quantum"])
fig = sc.cost_figure(table)
save_figure(fig, S.figures, "scaling_cost", caption="Scaling probe: seconds per training epoch and router parameters against k (= qubits).", sources=rows, study="scaling")

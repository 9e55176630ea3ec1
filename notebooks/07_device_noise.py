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
# # Open question 1 in simulation: real processors' calibrated noise, finite shots, hardware cost
#
# The paper asks whether the quantum router keeps its advantage on real hardware (its open question
# 1). We cannot run a processor; we can run the trained routers through the **median calibrations of
# two real processors** that cirq_google ships (`rainbow`, 23 qubits; `weber`, 53): per-qubit T1/Tphi
# idling, per-gate Pauli errors, coherent entangler errors and readout errors
# (`cirq_google.NoiseModelFromGoogleNoiseProperties`).
#
# **Hardware form of the router.** Each trained circuit (Two Moons: 2 qubits; the scaling probe's
# MNIST task at k = 4 and 8) is placed on the best-calibrated connected qubits of the device graph
# (greedy growth from every qubit, lowest summed single-qubit, readout and coupler error), routed
# with `cirq.RouteCQC` where the ansatz's CNOTs are not nearest-neighbour, and compiled to
# sqrt-iSWAP + PhasedXZ (`cirq.SqrtIswapTargetGateset`). The RX embedding stays a first layer of
# native single-qubit gates. Every compiled circuit is checked equal to the abstract one without noise
# (state vectors on test inputs, `device_checks`).
#
# **Evaluation (deploy protocol).** The tuned, noiselessly trained models (same specs, data and seeds
# as the Two Moons study and the scaling probe) are evaluated *exactly* under each processor's noise
# model: every <Z_i> is a trigonometric polynomial of the inputs found once per model by propagating
# the observable backwards through the noisy circuit (`qmoe_tfq.sim.heisenberg`; checked against
# `cirq.DensityMatrixSimulator` up to 4 qubits). Settings: `readout` (calibrated readout error on
# <Z>), `mitigated` (that error inverted by the calibrated confusion matrix), and each from S shots per
# input (binomial counts per qubit from a seeded generator, mean of several draws).
#
# **Pairing.** Every quantum setting is compared seed by seed with the tuned *noiseless* classical
# routers: Model A (linear), the parameter-matched MLP and (Two Moons) the Fourier-feature router.

# %%
from functools import partial

from IPython.display import display

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS)
from qmoe_tfq.experiments.runner import runner
from qmoe_tfq.reporting import report
from qmoe_tfq.reporting.report import paper_settings
from qmoe_tfq.studies import device_noise as dn

S = paper_settings()
size = dn.size(S.quick)
res = dn.results(runner(S.jobs, S.cache_dir), S.quick)
write_table = partial(report.write_table, sources=res.sources, study="device_noise")
save_figure = partial(report.save_figure, sources=res.sources, study="device_noise")
print(
    f"{'QUICK (smoke-test size)' if S.quick else 'full size'}: {len(res.rows)} device runs; Two Moons "
    f"{size.tm_seeds} seeds, {size.scaling_task} at (k, seeds) {list(size.scaling)}; shots {list(size.shots)} "
    f"({size.draws} draws each); writing to {S.out_dir}"
)

# %% [markdown]
# ## Accuracy on each processor (exact evaluation)

# %%
acc = dn.accuracy_table(res)
write_table(
    acc,
    S.tables,
    "device_accuracy",
    caption=(
        "Held-out accuracy of the tuned quantum router deployed on each processor's calibrated noise (exact "
        "evaluation), mean and BCa 95% CI over seeds; readout = with the calibrated readout error, mitigated = "
        "readout error inverted; minus_noiseless = mean change against the noiseless router; minus_* / p_above_* / "
        "p_below_*: mean paired difference and exact one-sided signed-rank p-values against each noiseless "
        "classical router on the same seeds."
    ),
)
display(acc)
display(dn.reference_table(res))

# %% [markdown]
# ## Finite shots

# %%
shots = dn.shots_table(res)
write_table(
    shots,
    S.tables,
    "device_shots",
    caption=(
        "Held-out accuracy from S shots per input (each <Z_i> from binomial counts of a seeded generator; mean "
        "over draws, then over seeds), and its difference from exact evaluation of the same setting."
    ),
)
needed = dn.shots_needed(shots)
write_table(
    needed,
    S.tables,
    "device_shots_needed",
    caption="The smallest S of the grid from which on the mean accuracy stays within 1 pp of exact evaluation.",
)
display(needed)
display(
    save_figure(
        dn.shots_figure(res),
        S.figures,
        "device_shots",
        caption=(
            "Held-out accuracy against shots per input, per processor and setting (dotted: exact evaluation of "
            "the same setting; grey: the noiseless classical routers)."
        ),
    )
)

# %% [markdown]
# ## C4 at finite S: the abstract depolarizing model with shots (Two Moons)

# %%
dep = dn.depolarizing_table(res)
write_table(
    dep,
    S.tables,
    "device_depolarizing_shots",
    caption=(
        "Two Moons, deploy protocol under the abstract depolarizing model: accuracy and mean advantage over Model "
        "A per placement x S (0 = exact) x eps, the state of the advantage (exact signed-rank tests) and eps* "
        "(zero crossing of the mean curve) at each S."
    ),
)
display(dep)

# %% [markdown]
# ## Hardware cost and checks

# %%
cost = dn.cost_table(res)
write_table(
    cost,
    S.tables,
    "device_cost",
    caption=(
        "Per dataset x processor: native two-qubit gates (sqrt-iSWAP), depth and SWAPs of the compiled router, "
        "calibration-based fidelity of one execution (product of 1 - Pauli error over native gates; total also "
        "readout), shots per prediction to come within 1 pp of exact evaluation (raw readout), circuit "
        "executions for the test set, beside each classical router's multiply-adds for the same predictions."
    ),
)
display(cost)
checks = dn.checks_table(res)
write_table(
    checks,
    S.tables,
    "device_checks",
    caption=(
        "Compiled circuit vs abstract circuit without noise (largest 1 - |overlap| of the state vectors over the "
        "checked test inputs) and the exact engine vs cirq.DensityMatrixSimulator on the noisy compiled circuit "
        "(up to 4 qubits), per dataset x processor; mean seconds per model."
    ),
)
display(checks)
assert (checks["equivalence_error_max"] < 1e-6).all(), "a compiled circuit differs from the abstract one"
assert (checks["dm_check_deviation_max"].dropna() < 1e-5).all(), "the exact engine differs from cirq"

"""Stage: studies. Ledger entry C8 (the kernel / interference view) from the mechanism study.

Rules, written before the runs (each part by a rule of ``qmoe_tfq.analysis.ledger``; the four parts
Holm-corrected together). The kernel identity — K(x, x') = |<psi(x)|psi(x')>|^2 computed from
simulated states equals prod_i cos^2((x_i - x'_i)/2), tolerance 1e-6 — is checked on the study's data
and reported in the note, but is not a part: it is a mathematical fact that any correct simulator
satisfies, so as a part it would hold whatever the experiments show and keep C8 from ever reading
"not reproduced". What the claim asserts is that this kernel *explains the separation*: parts 2-5.

2. **Interference beyond the feature map** (ordering): the quantum router beats the Fourier-feature
   router (Dense(E) + softmax on phi(x)), a classical router whose function class contains the quantum
   router's. If it does not, the advantage is the trigonometric feature map, not interference.
3. **Entanglement** (ordering): the authors' router beats the same circuit with its CNOTs removed
   (same 24 parameters).
4. **The kernel separates the moons** (non-inferiority, margin 1 pp): the SVM on the quantum kernel is
   no worse than the tuned RBF-SVM.
5. **Trainability** (ordering on 0/1 per seed): the quantum router reaches a good solution (held-out
   accuracy >= ``mechanism.GOOD_ACCURACY``) on more seeds than the Fourier-feature router.

Orderings use the exact paired signed-rank test on counts of correct test points (part 5: on the
0/1 indicators, where it is the exact sign test). The verdict's stability resamples the seeds.

**Since issue #21** the verdict is decided by one primary endpoint (``plan_parts``, ``deciding``): the SVM on
the quantum kernel *given a bandwidth* — inputs multiplied by 2 sqrt(b), b tuned over the RBF's gamma
values with the RBF-SVM's budget, selection score and edge rule (search space
``quantum_kernel_bandwidth``) — non-inferior to the tuned RBF-SVM within 1 pp (exact signed-rank test on
counts); the parts above are reported in the note, the function class (cannot fail), the entanglement
ablation and the centred and uncentred kernel-target alignment (both kernels over the same bandwidth
grid) as secondary parts. Its multiverse: margin 1/2 pp x paired test x seed set, and the run choice that
applies to two SVMs, the selection score (both SVMs' configurations selected by validation accuracy instead of
cross-entropy: ``mechanism.svm_choices``, ``variant_values``); restarts and initialisation do not apply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qmoe_tfq.analysis import ledger
from qmoe_tfq.analysis import multiverse as mv
from qmoe_tfq.analysis import rules as ar
from qmoe_tfq.analysis.ledger import (
    Entry,
    Part,
    identity_part,
    noninferiority_part,
    paired_part,
)
from qmoe_tfq.analysis.plan import PLAN
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval
from qmoe_tfq.studies import mechanism as mech

IDENTITY_TOLERANCE = 1e-6
COMPARED = (
    "quantum",
    "fourier",
    "fourier_rank",
    "quantum_noent",
    "quantum_frozen",
    "quantum_prob",
    "linear",
    "quantum_kernel_svm",
    "quantum_kernel_bandwidth",
    "rbf_svm",
    "fourier_logreg",
)
C8_MARGIN = 0.01  # the plan's non-inferiority margin of the deciding prediction (accuracy)
EVIDENCE = [
    "paper/tables/mechanism.csv",
    "paper/tables/mechanism_trainability.csv",
    "paper/tables/mechanism_kernel_alignment.csv",
    "paper/tables/mechanism_function_class.csv",
    "paper/tables/mechanism_routing.csv",
    "paper/figures/gate_maps.pdf",
    "paper/figures/kernel_alignment.pdf",
    "paper/figures/mechanism_trainability.pdf",
    "tests/test_mechanism_function_class.py",
    "tests/test_mechanism_kernels.py",
    "tests/test_kernel_float64.py",
]


def per_seed_values(res: mech.Results, rows: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Correct test points per seed of each compared model, and ``n_test``, aligned on the shared seeds
    (of ``res.rows``, or of ``rows`` under the same names: a multiverse variant's)."""
    from qmoe_tfq.analysis.ledger import per_seed

    rows = res.rows if rows is None else rows
    ps = per_seed(rows, "n_correct", [mech.name(m, res.quick) for m in COMPARED])
    values = {m: ps.values[mech.name(m, res.quick)].astype(float) for m in COMPARED}
    n_test = per_seed(rows, "n_test", [mech.name("quantum", res.quick)])
    values["n_test"] = n_test.values[mech.name("quantum", res.quick)].astype(float)
    return values


def variant_values(res: mech.Results) -> dict[tuple[str, object], dict[str, np.ndarray]]:
    """``per_seed_values`` of every multiverse variant ``res`` holds (``mechanism.svm_choices``), by
    ``(run choice, option)``: the SVMs' tuned runs replaced by the variant's, on the same seeds."""
    rc = mech.svm_choices(res.quick)
    plan_n_test = per_seed_values(res)["n_test"]
    out = {}
    for opt in rc.options(res.variants):
        v = per_seed_values(res, rc.rows(res.rows, res.variants, *opt))
        if not np.array_equal(v["n_test"], plan_n_test):
            raise ValueError(f"multiverse runs {opt} do not cover the plan's seeds")
        out[opt] = v
    return out


def _good(counts: np.ndarray, n_test: np.ndarray) -> np.ndarray:
    return mech.good(counts / n_test).astype(float)


def tested_parts(v: dict[str, np.ndarray]) -> list[Part]:
    """Parts 2-5 from per-seed counts (``per_seed_values``; any subset of seeds, repeats allowed)."""
    n_test = v["n_test"]
    return [
        paired_part(
            "interference beyond the feature map: the quantum router beats the Fourier-feature router "
            "(Dense(E) + softmax on phi(x), which contains the quantum router's function class)",
            v["quantum"],
            v["fourier"],
        ),
        paired_part(
            "entanglement contributes: the authors' router beats the same circuit without CNOTs (24 parameters each)",
            v["quantum"],
            v["quantum_noent"],
        ),
        noninferiority_part(
            "the quantum kernel separates the moons: SVM on K(x, x') no worse than the tuned RBF-SVM",
            v["quantum_kernel_svm"],
            v["rbf_svm"],
            n_test,
        ),
        paired_part(
            f"trainability: the quantum router reaches a good solution (held-out accuracy >= "
            f"{mech.GOOD_ACCURACY}) on more seeds than the Fourier-feature router (0/1 per seed)",
            _good(v["quantum"], n_test),
            _good(v["fourier"], n_test),
        ),
    ]


def identity(res: mech.Results) -> Part:
    k = res.identity
    return identity_part(
        f"K(x, x') = |<psi(x)|psi(x')>|^2 equals prod_i cos^2((x_i - x'_i)/2): TFQ states on "
        f"{k.n_seeds} seeds x {k.n_points} training points, cirq (complex128) on {k.n_cirq} points, "
        "and with the ansatz applied (it cancels in the overlap)",
        k.deviation,
        IDENTITY_TOLERANCE,
    )


def parts(res: mech.Results, v: dict[str, np.ndarray] | None = None) -> list[Part]:
    """The parts of C8 (rules 2-5); the identity is checked apart (``identity``)."""
    return tested_parts(per_seed_values(res) if v is None else v)


def _acc(v: dict[str, np.ndarray], model: str):
    """Mean held-out accuracy with its BCa bootstrap 95% CI."""
    return bootstrap_interval(v[model] / v["n_test"], bounds=ACCURACY_BOUNDS)


def _states(entry_parts: list[Part]) -> dict[str, str]:
    keys = ("feature_map", "entanglement", "kernel", "trainability")
    return dict(zip(keys, (p.state for p in entry_parts)))


def note(res: mech.Results, entry_parts: list[Part], v: dict[str, np.ndarray]) -> str:
    """What the results mean, said plainly, from the parts' states and the measured numbers."""
    fc = res.function_class
    st = _states(entry_parts)
    acc = {m: _acc(v, m) for m in COMPARED}
    n = len(v["quantum"])
    good = {m: int(_good(v[m], v["n_test"]).sum()) for m in ("quantum", "fourier", "fourier_rank")}
    align = mech.alignment_table(res)
    q_align = align[align["kernel_kind"] == "quantum"].iloc[0]
    rbf = align[align["kernel_kind"] == "rbf"]
    best_rbf = rbf.loc[rbf["alignment_mean"].idxmax()]
    train = mech.trainability_table(res)
    k_max = int(train["restarts_k"].max())
    basis = " / ".join(sorted(set(train.loc[train["restarts_k"] == k_max, "selected_on"])))
    gap = {
        k: float(train[(train["model_id"] == "fourier") & (train["restarts_k"] == k)]["delta_vs_quantum"].iloc[0])
        for k in (1, k_max)
    }
    out = [
        f"What the quantum router computes: for any circuit angles, each readout (<Z_i>, basis probabilities, hence "
        f"the adapter's gate logits) is a fixed linear combination of the 3^d trigonometric features phi(x) = "
        f"(x)_i (1, cos x_i, sin x_i) (nine for Two Moons): least squares on phi reproduces random circuits' readouts "
        f"to {fc['residual_phi'].max():.1e} (n = {', '.join(map(str, sorted(set(fc['n_qubits']))))} qubits, L = 1 and 3, "
        f"both readouts, cirq complex128), while the features without cross products leave residuals up to "
        f"{fc['residual_additive'].max():.2f} once the circuit entangles. The circuit only chooses the coefficients; "
        "a classical softmax layer on the nine features can represent every gate function the quantum router can.",
        f"The kernel is the classical closed form prod_i cos^2((x_i - x'_i)/2) (largest deviation from simulated "
        f"states {res.identity.deviation:.1e}); the trained ansatz cancels out of the overlap, so the kernel does not "
        f"depend on training at all. It equals 2^-d <phi(x), phi(x')>: an SVM on it is a linear SVM on the same nine "
        f"features (rank at most 9). It is a smooth stationary kernel, nearest to an RBF kernel with gamma "
        f"{q_align['nearest_rbf_gamma_mean']:.2f} on the angles; its alignment with the labels is "
        f"{q_align['alignment_mean']:.3f} (centred {q_align['centered_alignment_mean']:.3f}) against the best RBF's "
        f"{best_rbf['alignment_mean']:.3f} at gamma {best_rbf['gamma']:.3g}. SVM on it: {acc['quantum_kernel_svm']}, "
        f"RBF-SVM: {acc['rbf_svm']} (held-out accuracy, {n} seeds).",
        f"Held-out accuracy (tuned, {n} seeds): quantum router {acc['quantum']}, Fourier-feature router "
        f"{acc['fourier']}, rank-2 Fourier router (24 parameters, like the quantum router) {acc['fourier_rank']}, "
        f"no-CNOT circuit {acc['quantum_noent']}, frozen random circuit (adapter only) {acc['quantum_frozen']}, "
        f"probabilities readout {acc['quantum_prob']}, Model A {acc['linear']}.",
    ]
    if st["feature_map"] == "holds":
        out.append(
            "The quantum router beats a classical router of the same function class. Since both can represent "
            "the same gate functions, the difference is not expressivity but which solution training finds."
        )
    else:
        verb = "significantly better" if st["feature_map"] == "opposite" else "not significantly worse"
        out.append(
            f"The Fourier-feature router is {verb} than the quantum router: whatever the quantum router gains "
            "over Model A is explained by its feature map (the cos/sin features of the RX embedding), which a "
            "classical router computes directly; interference is not needed to reproduce it."
        )
    out.append(
        "Removing the CNOTs "
        + (
            "costs accuracy significantly: the cross-feature products that only entangling "
            "gates put into <Z_i> matter here."
            if st["entanglement"] == "holds"
            else "does not cost accuracy significantly: entanglement is not what makes the router work on Two Moons."
        )
    )
    mixtures_better = min(acc["fourier"].mean, acc["quantum"].mean) > acc["quantum_kernel_svm"].mean
    kernel = {
        "holds": "The quantum kernel separates the moons as well as a tuned RBF kernel (within 1 pp).",
        "opposite": "The kernel does not explain the separation: an SVM on it, i.e. a linear classifier on the "
        f"nine features (logistic regression on phi(x): {acc['fourier_logreg']}), is worse than the "
        "RBF-SVM by more than 1 pp, while the mixtures whose gates are linear in the same features "
        f"reach {acc['fourier']} (Fourier-feature router) and {acc['quantum']} (quantum router)"
        + (
            "; the separation comes from multiplying those gates with linear experts, not from the kernel."
            if mixtures_better
            else "."
        ),
        "fails": "Whether the quantum kernel is as good as a tuned RBF kernel is not decided by these seeds.",
    }
    out.append(kernel[st["kernel"]])
    out.append(
        f"Trainability: a good solution (held-out accuracy >= {mech.GOOD_ACCURACY}) on {good['quantum']}/{n} "
        f"seeds for the quantum router, {good['fourier']}/{n} for the Fourier-feature router, "
        f"{good['fourier_rank']}/{n} for the rank-2 one; mean gap quantum - Fourier {gap[1]:+.3f} with one run "
        f"per seed (primary) and {gap[k_max]:+.3f} with the best of {k_max} restarts chosen on {basis} "
        f"(secondary; {k_max}x the epochs, the same k for every mixture family)."
    )
    if st["feature_map"] == "holds":
        verdict = (
            "the quantum router's edge over a classical router of identical function class is a property of "
            "training, not of what interference can express; the kernel itself is a classical closed form."
        )
    else:
        verdict = (
            "on Two Moons the routing function is a trigonometric feature map followed by a linear softmax, "
            "which a classical router reproduces at equal or better accuracy, and the quantum kernel is a "
            "classical closed-form kernel close to an RBF kernel; these results give no support to an advantage "
            "that comes from interference."
        )
    out.append("For the title's claim ('topological advantage via interference-based routing'): " + verdict)
    return " ".join(out)


def c8(res: mech.Results) -> Entry:
    from qmoe_tfq.experiments.tuning import protocol_sentence

    v = per_seed_values(res)
    entry_parts = parts(res, v)
    acc = {
        m: _acc(v, m)
        for m in ("quantum", "fourier", "quantum_noent", "quantum_kernel_svm", "quantum_kernel_bandwidth", "rbf_svm")
    }
    protocol = (
        "Two Moons study's data and budget: "
        + protocol_sentence(
            mech.budget(res.quick), ("moe", "logreg", "rbf_svm", "quantum_kernel_svm", "quantum_kernel_bandwidth")
        )
        + "; paired over seeds"
    )
    check = identity(res)
    if check.state != "holds":
        raise AssertionError(f"the simulated kernel does not equal its closed form: {check.description}")
    c8_parts = plan_parts(res, v)
    primary = c8_parts[0][0]
    held = [
        name
        for (o, _), name in zip(c8_parts[1:], ("function class", "entanglement ablation", "alignment"))
        if o.state == "shown" and o.can_fail
    ]
    outcome_words = {
        "shown": "non-inferior within 1 pp",
        "shown otherwise": "worse by more than 1 pp",
        "inconclusive": "not decided by these seeds",
    }
    wording = (
        f"deciding prediction, the bandwidth-tuned quantum-kernel SVM vs the tuned RBF-SVM: "
        f"{outcome_words.get(primary.state, primary.state)}; other predictions that held: "
        + (", ".join(held) if held else "none that could fail")
        + "; 'interference explains the separation' is an interpretation, not a prediction"
    )
    sel = {m: res.tuned.selections[m] for m in ("quantum_kernel_bandwidth", "rbf_svm")}
    chosen = "; ".join(
        f"{m} {s.params}" + (f" (at the edge: {s.at_edge})" if getattr(s, "at_edge", "") else "")
        for m, s in sel.items()
    )
    old = "; ".join(f"[{p.state}] {p.description}" for p in ledger.holm_parts(entry_parts))
    entry = ledger.planned(
        "C8",
        primary,
        [(o, False) for o, _ in c8_parts[1:]],
        "; ".join(f"{m} {i}" for m, i in acc.items()) + f" — {wording}",
        {m: [i.low, i.high] for m, i in acc.items()},
        protocol,
        EVIDENCE,
        f"Checked, not a part: {check.description}. "
        + note(res, entry_parts, v)
        + f" The deciding prediction gives the quantum kernel a bandwidth: inputs (z-scored, as the RBF-SVM's) "
        f"multiplied by 2 sqrt(b), so that near the diagonal the kernel is exp(-b ||x - x'||^2), b on the RBF's "
        f"gamma scale, tuned over the RBF's gamma values with the same C values, selection score, tuning seeds "
        f"and edge rule. Chosen: {chosen}."
        + f" Issue #21: the parts written earlier by the ledger (entanglement must help; the untuned "
        f"quantum-kernel SVM must match a tuned RBF-SVM) were: {old}. They are reported, not "
        "deciding: the quantum kernel had no bandwidth to tune while the RBF had its gammas.",
        rule="non-inferiority",
        secondary_rules=[r for _, r in c8_parts[1:]],
    )
    if entry.verdict != "partially reproduced":
        d = (v["quantum_kernel_bandwidth"] - v["rbf_svm"]) / v["n_test"]
        entry.power = ar.power_sentence(ar.paired_power(d, effect_of_interest=C8_MARGIN), state=primary.state)

    variants = variant_values(res)

    def verdict_of(spec: dict, pos: np.ndarray) -> tuple[str, float]:
        option = mv.run_option(spec)
        data = v if option is None else variants[option]
        o = deciding({k: x[pos] for k, x in data.items()}, spec["margin_pp"] / 100, spec["test"])
        return ar.decide(o, PLAN["C8"].mapping), o.effect

    multi = mv.run_multiverse(
        verdict_of,
        len(v["n_test"]),
        claim="C8",
        only=("margin_pp", "test", "seeds", *mv.run_choices_present(variants)),
        n_resamples=min(ledger.STABILITY_RESAMPLES, mv.MULTIVERSE_RESAMPLES),
    )
    return ledger.with_multiverse(entry, multi)


def plan_parts(res: mech.Results, v: dict[str, np.ndarray]) -> list[tuple[ar.Outcome, str]]:
    """C8 split by the plan (issue #21): the deciding prediction (the SVM on the quantum kernel, given a
    bandwidth tuned with the RBF's budget for gamma, non-inferior to the tuned RBF-SVM within the plan's
    margin, exact signed-rank test on per-seed correct counts), then the function class (cannot fail: a
    mathematical fact), the entanglement ablation (two-sided, reported) and the kernel-target alignment,
    centred and uncentred (descriptive)."""
    n_test = v["n_test"]
    primary = deciding(v)
    fc = res.function_class
    residual = float(fc["residual_phi"].abs().max())
    function_class = ar.Outcome(
        "shown" if residual <= IDENTITY_TOLERANCE else "shown otherwise",
        residual,
        f"function class: every readout is a linear combination of the 3^d features phi(x) "
        f"(largest least-squares residual {residual:.1e}); a mathematical fact of the circuit",
        can_fail=False,
    )
    ablation = ar.paired_superiority(
        v["quantum"],
        v["quantum_noent"],
        scale=1 / float(np.mean(n_test)),
        description="entanglement ablation: the authors' router vs the same circuit "
        "without CNOTs (reported; either direction)",
    )
    align = mech.alignment_table(res)
    q = align[align["kernel_kind"] == "quantum"].iloc[0]
    rbf = align[align["kernel_kind"] == "rbf"]
    qbw = align[align["kernel_kind"] == "quantum_bandwidth"]
    best_unc = rbf.loc[rbf["alignment_mean"].idxmax()]
    best_cen = rbf.loc[rbf["centered_alignment_mean"].idxmax()]
    bw_unc = qbw.loc[qbw["alignment_mean"].idxmax()]
    bw_cen = qbw.loc[qbw["centered_alignment_mean"].idxmax()]
    alignment = ar.Outcome(
        "inconclusive",
        float(bw_cen["centered_alignment_mean"] - best_cen["centered_alignment_mean"]),
        f"kernel-target alignment (descriptive; both kernels over the same grid of {len(rbf)} values of "
        f"b = gamma on the angles): uncentred, the quantum kernel as is {q['alignment_mean']:.3f}, at its best "
        f"bandwidth {bw_unc['alignment_mean']:.3f} (b {bw_unc['gamma']:.3g}) vs the best RBF "
        f"{best_unc['alignment_mean']:.3f} (gamma {best_unc['gamma']:.3g}); centred, as is "
        f"{q['centered_alignment_mean']:.3f}, at its best bandwidth {bw_cen['centered_alignment_mean']:.3f} "
        f"(b {bw_cen['gamma']:.3g}) vs the best RBF {best_cen['centered_alignment_mean']:.3f} "
        f"(gamma {best_cen['gamma']:.3g})",
    )
    return [
        (primary, "non-inferiority"),
        (function_class, "identity"),
        (ablation, "ordering"),
        (alignment, "primary endpoint"),
    ]


def deciding(v: dict[str, np.ndarray], margin: float = C8_MARGIN, test: str = "signed-rank") -> ar.Outcome:
    """C8's primary endpoint: the bandwidth-tuned quantum-kernel SVM non-inferior to the tuned RBF-SVM
    (``margin`` of held-out accuracy, per-seed correct counts)."""
    n_test = float(np.mean(v["n_test"]))
    return ar.paired_noninferiority(
        v["quantum_kernel_bandwidth"],
        v["rbf_svm"],
        margin * n_test,
        test=test,
        scale=1 / n_test,
        description="SVM on the quantum kernel with a tuned bandwidth (inputs x 2 sqrt(b), b tuned over the RBF's "
        "gamma values with its budget and rules) non-inferior to the tuned RBF-SVM",
    )


def claims(res: mech.Results) -> list[Entry]:
    """The ledger entries the mechanism study provides."""
    return [c8(res)]


__all__ = [
    "C8_MARGIN",
    "COMPARED",
    "IDENTITY_TOLERANCE",
    "c8",
    "claims",
    "deciding",
    "note",
    "parts",
    "per_seed_values",
    "tested_parts",
    "variant_values",
]

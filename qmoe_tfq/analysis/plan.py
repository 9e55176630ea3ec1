"""Stage: analysis. The pre-registered analysis plan (issue #21), as data: for every claim the one primary endpoint
that decides it, its test, margin (with units), alpha and the mapping from the rule's outcome
(``qmoe_tfq.analysis.rules.OUTCOMES``) to a verdict; secondary parts are listed and reported and do
not decide unless marked ``decides``. ``render_markdown()`` is the section at the top of claims.md.

Written before the judged runs of issue #20; changing an entry after seeing results is a deviation
and must be listed in ``DEVIATIONS`` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.05
POWER = 0.8
FRAGILE_BELOW = 0.8
INTERVAL_METHOD = "BCa bootstrap (9999 resamples, seeded; percentile where BCa is undefined)"

VERDICTS = (
    "reproduced",
    "partially reproduced",
    "inconclusive",
    "not reproduced",
    "contradicted",
    "not testable here",
    "not testable",
    "not yet tested",
)


@dataclass(frozen=True)
class Secondary:
    """A secondary part: reported with its outcome; ``decides`` only where the plan says so."""

    name: str
    test: str
    margin: str = ""
    decides: bool = False
    available: bool = True


@dataclass(frozen=True)
class ClaimPlan:
    """One claim's plan. ``outcomes`` maps each rule outcome to the verdict it gives."""

    id: str
    primary: str
    comparison: str
    test: str
    margin: float | None
    margin_units: str
    alpha: float
    outcomes: tuple[tuple[str, str], ...]
    secondaries: tuple[Secondary, ...] = ()
    note: str = ""

    def verdict(self, outcome: str) -> str:
        return dict(self.outcomes)[outcome]

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.outcomes)


def _map(shown: str, otherwise: str, reversed_: str, inconclusive: str = "inconclusive") -> tuple:
    return (("shown", shown), ("shown otherwise", otherwise), ("reversed", reversed_), ("inconclusive", inconclusive))


SIGNED_RANK = (
    "exact one-sided Wilcoxon signed-rank test on per-seed paired integer counts of correct "
    "held-out points (stats.paired_signed_rank)"
)
TOST = "two one-sided tests in CI-inclusion form: the 90% interval of our mean inside stated +- margin"

PLAN: dict[str, ClaimPlan] = {
    p.id: p
    for p in (
        ClaimPlan(
            "C1",
            "held-out test accuracy, quantum router (L = 3) vs Model A (linear router), paired by seed, on a "
            "replication: fresh seeds (from 1000), as many as the 20-seed pilot's SD needs to detect 2 pp with "
            "80% power (at most 120)",
            "quantum > Model A",
            SIGNED_RANK,
            None,
            "",
            ALPHA,
            _map("reproduced", "not reproduced", "contradicted", "not reproduced"),
            (
                Secondary("quantum mean accuracy equivalent to the stated 94%", TOST, "2 pp"),
                Secondary("Model A mean accuracy equivalent to the stated 65%", TOST, "2 pp"),
                Secondary("authors'-budget protocol: quantum > Model A", SIGNED_RANK),
                Secondary("the pilot (the study's 20 evaluation seeds): quantum > Model A", SIGNED_RANK),
            ),
            note=(
                "the paper states a 29 pp gap (94% vs 65%), so an inconclusive primary reads 'not reproduced' "
                "only when the seeds detect a gap of that size with 80% power (a gap as stated would have "
                "shown) and 'inconclusive' when they do not; power against the 2 pp effect of interest is "
                "reported with the entry. (The condition was written after the committed runs and changes "
                "none of their verdicts: their detectable gap is given in the entry's note.) The replication "
                "was added (issue #21's power rule) after the committed pilot (20 seeds, computed at 5af9187) had shown nothing at "
                "p = 0.18 with a smallest detectable gap of 2.9 pp against the 2 pp of interest; adding seeds "
                "to that analysis would be optional stopping, so the pilot is reported and the primary is "
                "decided on fresh seeds alone, their number fixed by the pilot's SD before they ran "
                "(rules.paired_sample_size), their multiverse on the same seeds."
            ),
        ),
        ClaimPlan(
            "C2",
            "router parameter counts of the built models",
            "24 (quantum) vs 12 (classical), 'fewer'",
            "exact count",
            None,
            "parameters",
            ALPHA,
            _map("reproduced", "contradicted", "contradicted", "contradicted"),
            note="a count has no sampling error; 24 > 12 contradicts 'fewer' on the paper's own numbers",
        ),
        ClaimPlan(
            "C3",
            "efficiency eta = accuracy / ln(1 + P) per model",
            "7.14 (quantum) vs 2.79 (classical)",
            TOST,
            0.10,
            "relative (10% of the stated value)",
            ALPHA,
            _map("reproduced", "contradicted", "contradicted"),
            (Secondary("stated values follow from C1 and C2 by the stated formula", "arithmetic"),),
        ),
        ClaimPlan(
            "C4",
            "advantage Delta(eps) = quantum - Model A under depolarizing noise (train under noise)",
            "gate: quantum > Model A at eps = 0; then the breakdown eps* and its CI inside ~0.02-0.025",
            "gate: " + SIGNED_RANK + "; eps*: zero crossing of the isotonic mean curve, paired bootstrap CI",
            None,
            "per-gate depolarizing probability",
            ALPHA,
            (
                ("shown", "reproduced"),
                ("shown otherwise", "not reproduced"),
                ("reversed", "contradicted"),
                ("inconclusive", "inconclusive"),
            ),
            (
                Secondary("deploy protocol, noise after every gate: eps* in 0.02-0.025", "same gate and threshold"),
                Secondary("authors' placement: eps* in 0.02-0.025", "same gate and threshold"),
            ),
            note="without an advantage at eps = 0 the verdict is 'not reproduced: no advantage at eps = 0' and "
            "thresholds are descriptive",
        ),
        ClaimPlan(
            "C5",
            "the parameter ratio at which an MLP router is non-inferior to the quantum router (L = 3)",
            "ratio ~10x (band 5-20x)",
            "closed testing over every width: non-inferiority by " + SIGNED_RANK + ", Holm over widths; "
            "ratio CI by bootstrap of the whole procedure",
            0.01,
            "percentage points of held-out accuracy (1 pp primary; 2 pp reported)",
            ALPHA,
            _map("reproduced", "contradicted", "contradicted", "inconclusive"),
            (Secondary("the same at a 2 pp margin", "closed testing", "2 pp"),),
        ),
        ClaimPlan(
            "C6",
            "held-out accuracy quantum vs Model A on reduced MNIST / Fashion-MNIST (8 PCA dims)",
            "quantum > Model A on each dataset",
            SIGNED_RANK + ", Holm over datasets",
            None,
            "",
            ALPHA,
            _map("reproduced", "not reproduced", "contradicted", "not reproduced"),
            note=(
                "at the largest k (8) on every MNIST task of the shipped subset and, when its file is present, "
                "every Fashion-MNIST task; quantum > the parameter-matched MLP router is secondary. With neither "
                "dataset present the verdict is 'not testable here' and the digits stand-in's is in the note. "
                "(Until this row was applied by the entry, the ledger judged C6 by its parts rule, the matched "
                "MLP included, Holm over all six; same verdict on the committed runs.)"
            ),
        ),
        ClaimPlan(
            "C7",
            "epochs until validation accuracy first exceeds the experts-only floor by 2 pp; never-"
            "reached runs right-censored at the epoch limit",
            "quantum faster than Model A",
            "log-rank test (scipy.stats.logrank), one-sided; Kaplan-Meier medians with CI",
            None,
            "epochs",
            ALPHA,
            _map("reproduced", "not reproduced", "contradicted", "inconclusive"),
            (Secondary("quantum faster than the parameter-matched MLP", "log-rank"),),
        ),
        ClaimPlan(
            "C8",
            "the measurable predictions of the interference/kernel view, each a part",
            "function class; kernel SVM with the bandwidth-tuned quantum kernel vs tuned RBF-SVM; centred "
            "and uncentred alignment; entanglement ablation",
            "per part as named",
            0.01,
            "percentage points",
            ALPHA,
            (
                ("shown", "partially reproduced"),
                ("shown otherwise", "not reproduced"),
                ("reversed", "contradicted"),
                ("inconclusive", "inconclusive"),
            ),
            (
                Secondary("function class: the router's gates are a low-order Fourier series", "identity"),
                Secondary(
                    "quantum-kernel SVM (inputs scaled by a tuned factor, same budget as gamma) non-inferior "
                    "to tuned RBF-SVM",
                    "non-inferiority",
                    "1 pp",
                    decides=True,
                ),
                Secondary("centred and uncentred kernel-target alignment, quantum vs RBF", "descriptive"),
                Secondary("entanglement ablation: quantum_noent vs quantum", "two-sided signed-rank"),
            ),
            note="'interference explains the separation' is an interpretation, not a prediction: the verdict "
            "names which predictions held",
        ),
        ClaimPlan(
            "N1",
            "training-set accuracy per router, Phase 3A sweep",
            "each stated value",
            TOST,
            0.02,
            "percentage points",
            ALPHA,
            _map("reproduced", "not reproduced", "not reproduced"),
            (Secondary("ordering of the sweep (accuracy rises with width)", "Spearman trend"),),
        ),
        ClaimPlan(
            "N2",
            "Phase 2 printed training losses at epoch 40",
            "classical ~4.09, quantum ~0.30",
            TOST,
            0.25,
            "relative (25% of the stated loss)",
            ALPHA,
            _map("reproduced", "not reproduced", "not reproduced"),
        ),
        ClaimPlan(
            "N3",
            "the sign of the trend of training accuracy with depolarizing noise (train under noise)",
            "falls with noise, as in the authors' table",
            "one-sided Spearman rank correlation over (eps, seed)",
            None,
            "",
            ALPHA,
            _map("reproduced", "not reproduced", "contradicted"),
            (Secondary("each stated value", TOST, "2 pp"),),
        ),
        ClaimPlan(
            "N4",
            "Phase 1 held-out accuracies (synthetic; MNIST 0/1)",
            "0.88 / 0.65 / 0.78; ~0.99",
            TOST,
            0.02,
            "percentage points",
            ALPHA,
            _map("reproduced", "not reproduced", "not reproduced"),
            (
                Secondary(
                    "the pilot: every stated value on the authors' protocol's 10 seeds (added with the "
                    "replication; reported, not deciding)",
                    TOST,
                    "2 pp",
                ),
            ),
            note="Amended after the committed runs and before the runs it adds (issue #21's power rule): the primary "
            "is decided on a replication on fresh seeds (3000 on) of the three authors' models under their protocol, "
            "its size fixed by the pilot's SDs (rules.equivalence_sample_size: the most any stated value needs to be "
            "shown equivalent within 2 pp with 80% power, at most 120); the authors' protocol's 10 seeds are the pilot",
        ),
    )
}

# Issue #22 (written before the device study's runs): the paper's open question 1 in simulation.
PLAN["Q1"] = ClaimPlan(
    "Q1",
    "Two Moons held-out accuracy, tuned quantum router deployed on each processor (rainbow, weber: calibrated "
    "noise model incl. readout error, exact expectations) minus the tuned noiseless Model A, paired by seed, on "
    "C1's replication seeds",
    "gate: noiseless quantum > Model A; then quantum(device) > Model A on every processor (Holm over processors)",
    SIGNED_RANK + ", Holm over processors; loss to the device: non-inferiority of quantum(device) vs noiseless "
    "quantum, same test",
    0.01,
    "percentage points of held-out accuracy (the device's loss against the noiseless router)",
    ALPHA,
    (
        ("shown", "reproduced"),
        ("shown otherwise", "not reproduced"),
        ("reversed", "contradicted"),
        ("inconclusive", "inconclusive"),
    ),
    (
        Secondary("the pilot: the same on the Two Moons study's 20 evaluation seeds", SIGNED_RANK),
        Secondary("readout error mitigated (confusion-matrix inversion)", SIGNED_RANK),
        Secondary("S = 1,000 shots per input", SIGNED_RANK),
        Secondary("vs the parameter-matched MLP and the Fourier-feature router", SIGNED_RANK),
        Secondary("scaling task (MNIST 3 vs 8) at k = 4 and 8 qubits vs Model A and the matched MLP", SIGNED_RANK),
    ),
    note="an open question, not a stated result: 'reproduced' = the advantage survives the simulated device; "
    "no noiseless advantage -> inconclusive. Amended after the committed runs and before the runs it adds "
    "(issue #21): Q1's gate is C1's primary comparison, and C1 is now decided on a replication on fresh seeds, "
    "so Q1's primary follows it onto the same seeds (the tuned quantum router deployed there, the replication's "
    "Model A); the 20-seed deployment is the pilot, with the other comparisons (shots, mitigation, other routers, "
    "the scaling task) reported on it",
)

DEVIATIONS: tuple[str, ...] = ()


def render_markdown() -> str:
    """The plan as the opening section of claims.md."""
    lines = [
        "## Pre-registered analysis plan",
        "",
        (
            f"Every verdict is decided by one primary endpoint; secondary parts are reported and do not decide "
            f"unless marked. alpha = {ALPHA} (one-sided where a direction is claimed). Intervals of accuracy "
            f"means: {INTERVAL_METHOD}. Verdicts are recomputed over a multiverse of analysis choices; a share "
            f"below {FRAGILE_BELOW} is *fragile*. 'Not reproduced' and 'inconclusive' state the smallest effect "
            f"detectable with {POWER:.0%} power."
        ),
        "",
        "| id | primary endpoint | comparison | test | margin | outcome -> verdict |",
        "|---|---|---|---|---|---|",
    ]
    for p in PLAN.values():
        margin = "—" if p.margin is None else f"{p.margin:g} ({p.margin_units})"
        mapping = "; ".join(f"{o} -> {v}" for o, v in p.outcomes)
        lines.append(f"| {p.id} | {p.primary} | {p.comparison} | {p.test} | {margin} | {mapping} |")
    lines += ["", "Secondary parts:", ""]
    for p in PLAN.values():
        for s in p.secondaries:
            flags = (" (deciding)" if s.decides else "") + ("" if s.available else " (not yet run)")
            lines.append(f"- {p.id}: {s.name} — {s.test}" + (f", margin {s.margin}" if s.margin else "") + flags)
        if p.note:
            lines.append(f"- {p.id} note: {p.note}")
    if DEVIATIONS:
        lines += ["", "Deviations from the plan:", ""] + [f"- {d}" for d in DEVIATIONS]
    return "\n".join(lines) + "\n"


# The paper's open questions 2 and 4 (issue #23; ``qmoe_tfq.studies.high_dim_claims``), written before
# their runs. Each is put as the hypothesis the paper's conclusion leaves open; "reproduced" means the
# hypothesis held here.
PLAN.update(
    {
        p.id: p
        for p in (
            ClaimPlan(
                "Q2",
                "held-out accuracy on MNIST 3 vs 8 at d = 256 inputs (16x16), amplitude router (90 parameters) "
                "vs Model A (linear router, 514), paired by seed",
                "amplitude router non-inferior to Model A at 1/5.7 of its router parameters",
                SIGNED_RANK + ", non-inferiority form",
                0.01,
                "accuracy (1 percentage point of the test points)",
                ALPHA,
                _map("reproduced", "not reproduced", "contradicted"),
                (
                    Secondary("amplitude router > its classical twin (quadratic) at each d", SIGNED_RANK),
                    Secondary(
                        "amplitude router > its low-rank twin (quadratic_rank, rank for about its parameters) at "
                        "each d (added before its runs)",
                        SIGNED_RANK,
                    ),
                    Secondary("amplitude router non-inferior to the matched MLP router at each d", SIGNED_RANK, "1 pp"),
                    Secondary(
                        "amplitude router at d = 256 > angle router on PCA-8 (the paper's encoding)", SIGNED_RANK
                    ),
                    Secondary(
                        "re-uploading router vs amplitude router at d = 16, 64, 256 (256 added later: DEVIATIONS)",
                        SIGNED_RANK,
                    ),
                    Secondary(
                        "the primary's comparison (amplitude router vs Model A) on MNIST 0 vs 1 and 10-class at "
                        "each d (added before their runs; reported, not deciding)",
                        SIGNED_RANK + ", non-inferiority form",
                        "1 pp",
                    ),
                    Secondary("eta = acc / ln(1 + P) of every router against d, per task", "descriptive"),
                    Secondary(
                        "the pilot: the primary's comparison on the study's 8 evaluation seeds (added with the "
                        "replication; reported, not deciding)",
                        SIGNED_RANK + ", non-inferiority form",
                        "1 pp",
                    ),
                ),
                note="open question, not a claim of the paper: 'reproduced' = the parameter efficiency survives 256 inputs. "
                "Amended before the regenerated run: 8 evaluation seeds instead of 5 (see Q4; at 5 the primary could "
                "reach alpha only if every seed fell on one side, smallest p 0.031). Amended again before their runs: "
                "MNIST 0 vs 1 and 10-class, and the low-rank twin, as reported secondary parts; the primary endpoint "
                "(3 vs 8 at d = 256 vs Model A) is unchanged. Amended after the committed runs and before the runs it "
                "adds (issue #21's power rule): the primary is decided on a replication on fresh seeds, its size fixed "
                "by the 8 seeds' SD for 80% power against a 1 pp effect (at most 60); the 8 seeds are the pilot",
            ),
            ClaimPlan(
                "Q4",
                "held-out accuracy, fully quantum mixture (quantum router + Phase 1 quantum experts) vs the hybrid "
                "(the same router, linear experts), noiseless, on the synthetic, MNIST 0/1 and Two Moons tasks, paired by seed",
                "fully quantum > hybrid on every task (each at alpha / 3)",
                SIGNED_RANK,
                None,
                "",
                ALPHA,
                _map("reproduced", "not reproduced", "contradicted"),
                (
                    Secondary("the same comparison under depolarizing p = 0.05 on every circuit", SIGNED_RANK),
                    Secondary("fully quantum > the authors' Phase 1 QMoE (classical router), noiseless", SIGNED_RANK),
                    Secondary("fully quantum vs the classical Phase 1 mixture and Model A", SIGNED_RANK),
                    Secondary(
                        "the primary's comparison with every circuit of both mixtures on each processor's "
                        "calibrated noise (rainbow, weber; exact, with readout error; the amplitude state "
                        "preparation taken as ideal), the noiseless-trained models deployed",
                        SIGNED_RANK,
                    ),
                ),
                note="open question: 'reproduced' = quantum experts add to the quantum router; the noisy secondary "
                "says whether noise over the circuits cancels it. Amended before the regenerated run: 8 seeds "
                "instead of 5, because with 5 the exact one-sided signed-rank test cannot go below p = 2^-5 = 0.031, "
                "above the per-task alpha 0.05/3 = 0.0167, so 'reproduced' was unreachable; at 8 the smallest p is "
                "2^-8 = 0.0039. The amendment is about attainability, not about the observed results. "
                "Amended after the committed runs, changing none of their verdicts: an inconclusive primary reads "
                "'inconclusive' (it read 'not reproduced'), issue #21's 'neither -> inconclusive'; an open question "
                "states no size whose detectability could make an undecided test a negative answer (as C1's can). "
                "The device secondary was added after the committed runs and before its own (issue #23's "
                "'once the device-noise study exists'); it is reported and decides nothing",
            ),
        )
    }
)

DEVIATIONS = DEVIATIONS + (
    "Q2 (issue #21's power rule): after the committed runs, whose 8 seeds could detect 2 pp with 80% power "
    "against the 1 pp margin, and before the runs it adds, the primary is decided on a replication on fresh "
    "seeds (2000 on) of the tuned amplitude router and Model A, its size fixed from the 8 seeds' SD "
    "(rules.paired_sample_size, 80% power for a 1 pp effect, at most 60), as C1's was; the 8 seeds are "
    "reported as the pilot. The rule, margin and alpha are unchanged. The shipped subset has no other "
    "3-vs-8 images: the replication's seeds are fresh samples and splits of the same evaluation pool",
    "N4 (issue #21's power rule): after the committed runs, whose 10 seeds could show equivalence only within "
    "6.3 pp (synthetic QNN; 3.3 to 6.3 pp for the synthetic values) against the 2 pp margin, and before the runs "
    "it adds, the primary is decided on a replication on fresh seeds (3000 on) of the three authors' models at "
    "the stated epoch, its size fixed from the 10 seeds' SDs (rules.equivalence_sample_size, 80% power for the "
    "2 pp margin, the most any of the six stated values needs, at most 120); the 10 seeds are reported as the "
    "pilot. The rule, margin and alpha are unchanged. The data are the authors' fixed draw and the shipped 0/1 "
    "images, so the fresh seeds are fresh splits and initialisations of the same points, as the pilot's were",
    "C8 (issue #21): the plan listed its parts with a margin of 1 pp, which only the kernel-SVM comparison has, "
    "but marked that part neither deciding nor run ('not yet run'). Its runs (the bandwidth-tuned quantum kernel, "
    "0d1471f, 2026-12-04) came with the rule that it decides the verdict, and every claims.md since has decided "
    "C8 by it while this list still read 'not yet run'. The marks were corrected at 2026-12-06 (the part, its test, "
    "margin and the outcome -> verdict mapping unchanged); no verdict moved",
    "Q2, Q4 (issue #23): the evaluation seeds were raised from 5 to 8 after a first run, before the "
    "regenerated one, because with 5 seeds Q4's primary (exact one-sided signed-rank test per task at "
    "alpha/3 = 0.0167) could not attain its alpha (smallest p 2^-5 = 0.031): its 'reproduced' outcome was "
    "unreachable whatever the data. The rules, margins and alphas are unchanged; the study's per-run budget "
    "was cut (samples, tuning seeds, epochs; the same for every model of a comparison) to pay for the seeds",
    "Q2 (issue #23, follow-up): MNIST 0 vs 1 and 10-class at d = 16, 64, 256 (the issue's other tasks) and "
    "the low-rank twin (quadratic_rank: r readouts (v.x)^2/||x||^2 + adapter, r = 2, 1, 1 for 38, 68, 260 "
    "parameters against the amplitude router's 46, 68, 90; at d = 256 no quadratic form of rank >= 1 has "
    "fewer than 256 parameters) were added before their runs, as reported secondary parts; the primary "
    "endpoint, its rule, margin and alpha are unchanged, and every router of a task runs the same tuned "
    "equal-budget protocol (10 epochs for the 10-class task too, as for the others). To stay within the "
    "study's time budget the re-uploading router and the angle router on PCA-8 run on 3 vs 8 only (the secondary "
    "parts that read them are on 3 vs 8), and the re-uploading router stops at d = 64 as before: at d = 256 "
    "(32 layers of 8 qubits, exact on the state-vector engine) a training step of 256 rows costs 133 ms of one "
    "core against 15 ms at d = 64, and its tuned runs took about 18% of the study's run time from an empty cache",
    "Q2 (issue #23, later): the re-uploading router at d = 256 on 3 vs 8, left out above for make paper's time, "
    "was added after the committed runs and before its own, as issue #20 asks (cheaper runs, not a smaller "
    "protocol); its secondary part (amplitude > re-uploading at d = 256) is reported and decides nothing; the "
    "primary, its rule, margin and alpha are unchanged",
)

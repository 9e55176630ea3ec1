"""Stage: analysis. The claims ledger: one entry per claim of the paper (C1-C8) and per table of the authors'
notebooks (N1-N4), each with a verdict computed by the rules below, never chosen by hand.

A claim is split into *parts*, each judged ``holds``, ``fails`` or ``opposite`` by one of the part
rules in ``PART_RULES`` (a stated single-run value against where one of our runs falls, a stated mean
against a CI of our mean, an ordering by an exact paired test on counts of correct test points, a
"matches" by a non-inferiority test, a noise threshold by a paired bootstrap, convergence by a
criterion a collapsed run cannot meet). Parts that carry p-values are Holm-corrected within their
claim. The verdict follows from the parts by ``verdict_from_parts``; its stability is the fraction
of bootstrap resamples of the seeds that give the same verdict (``stability``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qmoe_tfq.analysis.stats import (
    ACCURACY_BOUNDS,
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    NoiseCurve,
    bootstrap_interval,
    epochs_to_exceed,
    fixed_sequence,
    holm,
    min_attainable_p,
    paired_signed_rank,
    prediction_interval,
    resamples,
)
from qmoe_tfq.core.errors import ConfigError, check_choice
from qmoe_tfq.core.io import atomic_write_text

NONINFERIORITY_MARGIN = 0.01
CONVERGENCE_MARGIN = 0.02
STABILITY_RESAMPLES = 1000
FRAGILE_BELOW = 0.8
DIRECTIONS = ("two-sided", "at least", "at most")

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
RULES = {
    "reproduced": "every part holds (each by its part rule below; p-values Holm-corrected over the claim's parts).",
    "partially reproduced": "at least one part holds and at least one does not, and no part is reversed.",
    "inconclusive": "the claim's primary endpoint (pre-registered plan above) neither shows the claimed effect "
    "or equivalence nor shows it absent, reversed or different beyond the margin; the power statement says what "
    "the seeds could detect.",
    "not reproduced": "no part holds, and none is reversed (e.g. no significant difference either way).",
    "contradicted": f"at least one part is reversed: the opposite ordering holds with Holm-corrected p < {ALPHA}, "
    "a 'matches' is shown inferior by more than its margin, the advantage is shown lost where it was claimed "
    "kept, or the paper's own numbers state the reverse of the claim.",
    "not testable here": "the claim is about data this run did not have (MNIST, Fashion-MNIST); a stand-in "
    "dataset was judged by the same rules and its verdict is in the note, not in this column.",
    "not testable": "the claim concerns something the authors did not release and this suite does not "
    "build, or states a mechanism with no measurable prediction of its own.",
    "not yet tested": "the study that tests it is not in this suite yet.",
}
PART_STATES = ("holds", "fails", "opposite")

# name -> (rule, one-line rationale), printed in the "Verdict rules" section of claims.md.
PART_RULES: dict[str, tuple[str, str]] = {
    "single-run value": (
        "a number the authors got from one run holds when it lies inside the Student-t 95% prediction "
        "interval for one of our runs (one-sided 95% limit for 'reaches at least' / 'at most'), widened to "
        "the range of our seeds.",
        "the authors' number is one draw, so it is compared with where one draw falls, not with our mean; "
        "a value one of our seeds reached cannot fail.",
    ),
    "stated mean": (
        f"a stated mean holds when it lies inside the 95% BCa bootstrap CI of our mean over seeds "
        f"({BOOTSTRAP_RESAMPLES} resamples, seeded; one-sided for 'at least' / 'at most').",
        "a mean is compared with a mean; BCa intervals of accuracies stay inside [0, 1].",
    ),
    "exact value": (
        "a count (parameters) holds when ours is equal.",
        "counts of a built model are exact, so there is no interval.",
    ),
    "identity": (
        "a stated mathematical identity holds when the largest absolute difference between its two sides, "
        "computed on the study's data, is at most the stated tolerance (1e-6 where one side comes from a "
        "float32 simulator).",
        "an identity has no sampling error; the tolerance is the simulator's rounding, so a real discrepancy "
        "cannot hide below it.",
    ),
    "ordering": (
        "a stated ordering holds when the exact one-sided Wilcoxon signed-rank test on per-seed paired "
        "differences of integer counts of correct test points (mid-ranks for ties, zeros ranked then "
        f"unsigned, null distribution enumerated exactly) gives Holm-corrected p < {ALPHA}; it is reversed "
        "when the opposite one-sided test does.",
        "counts make equal accuracies exact ties; the exact null is valid at every seed count (the smallest "
        "attainable p with n seeds is 2^-n, 0.031 at 5, stated in each part); Holm keeps a false "
        "'holds' or 'contradicted' per claim below 5%.",
    ),
    "non-inferiority": (
        f"'matches' holds when the exact signed-rank test of (challenger - reference + margin) > 0 on per-seed "
        f"counts of correct test points gives Holm-corrected p < {ALPHA}, margin {NONINFERIORITY_MARGIN * 100:g} "
        "percentage point of test accuracy, against a reference fixed in advance (the paper's own quantum router, L = 3); "
        "reversed when the reference is shown better by more than the margin. 'Needs k x more parameters': "
        "widths are tested from the largest down, stopping at the first that is not non-inferior "
        "(fixed-sequence); k = the smallest width reached / the reference's parameters. A best-of-several "
        "reference is reported as post hoc only.",
        "'matches' is a claim of 'no worse than, within a stated margin'; a reference or depth picked after "
        "seeing the results favours it (winner's curse).",
    ),
    "noise threshold": (
        "per seed Delta(eps) = quantum(eps) - reference; the mean Delta over seeds (made non-increasing in eps "
        "by isotonic regression when each eps is a fresh training run) crosses zero at eps*, interpolated in "
        "log eps (linearly on [0, first eps]); its 95% CI is the percentile interval over 1,000 paired "
        "bootstrap resamples of the seeds. At an eps the advantage is 'kept' when the exact one-sided "
        f"signed-rank test of Delta > 0 there gives p < {ALPHA}, 'lost' when that of Delta < 0 does, else "
        "'inconclusive'. A stated breakdown holds when eps* lies in the stated band, the advantage is kept "
        "at some eps below it (Holm over those eps), and the upper limit of its CI lies inside the grid.",
        "a threshold is where the advantage goes, not where a test runs out of power; the monotone fit "
        "keeps one seed's bad minimum at one eps from making an early crossing, and in a rank test it is one "
        "rank, not a shifted mean.",
    ),
    "convergence": (
        f"speed is the number of epochs until the validation accuracy first exceeds the experts-only floor "
        f"(constant gates, same seed) by {CONVERGENCE_MARGIN * 100:g} percentage points (never: max epochs + 1), compared by the "
        "ordering rule (fewer is faster).",
        "a run collapsed on the floor cannot meet it, so the criterion measures learning speed, not escape "
        "from collapse.",
    ),
    "stand-in": (
        "a claim about MNIST / Fashion-MNIST judged only on other data is 'not testable here'; the stand-in's "
        "verdict by the same rules is in the note.",
        "a stand-in result is evidence about the stand-in, not about the paper's data.",
    ),
    "primary endpoint": (
        "claims judged by the pre-registered plan (qmoe_tfq.analysis.plan) take their verdict from one primary "
        "endpoint by the plan's outcome -> verdict mapping; secondary parts are reported and decide only where the "
        "plan says so, and a part that cannot fail never counts as holding.",
        "one endpoint fixed in advance cannot be outvoted by checks that could not have failed.",
    ),
    "equivalence": (
        "a stated value or mean is reproduced only when two one-sided tests show our mean within the plan's margin "
        "(the 90% interval of the mean inside stated +- margin); wholly outside -> different; otherwise "
        "inconclusive, flagged 'too wide to decide' when the interval is wider than the whole band.",
        "'not significantly different' is not 'the same'; a spread wide enough to cover anything decides nothing.",
    ),
    "time to event": (
        "epochs to the convergence criterion with never-reached runs right-censored at the epoch limit: Kaplan-Meier "
        "medians with a log-log 95% CI and the one-sided log-rank test (scipy.stats.logrank).",
        "coding 'never' as max + 1 and averaging lets a few never-converging runs decide the mean.",
    ),
    "closed testing": (
        "'needs k x more parameters': every width tested for non-inferiority, Holm over all widths (no stop at the "
        "first failure); k = the smallest non-inferior width / the reference, with a bootstrap CI of the whole "
        "procedure; margins 1 and 2 pp both reported.",
        "accuracy is not monotone in width, so a fixed sequence from the largest width can stop before a small "
        "width that matches.",
    ),
    "trend": (
        "a trend claim is judged by its sign: a one-sided Spearman rank correlation over (level, seed) points; the "
        "opposite sign shown is a reversal.",
        "point-by-point intervals can all pass while the trend runs the other way.",
    ),
    "stability": (
        f"each verdict is recomputed on {resamples(STABILITY_RESAMPLES):,} bootstrap resamples of the seeds; the fraction "
        f"giving the same verdict is shown, and below {FRAGILE_BELOW} the verdict is marked *fragile*.",
        "a verdict that flips when a few seeds change is not a finding.",
    ),
}

# id -> (claim, source, stated), from ../shared/PAPER.md.
CLAIMS: dict[str, tuple[str, str, str]] = {
    "C1": ("Two Moons: quantum router accuracy vs classical linear router", "paper (abstract, ablation)", "94% vs 65%"),
    "C2": (
        "Router parameter counts, presented as 'fewer parameters' for the quantum router",
        "paper (ablation)",
        "24 (quantum) vs 12 (classical)",
    ),
    "C3": (
        "Parameter-efficiency ratio eta = Accuracy / log(1 + P)",
        "paper (ablation)",
        "7.14 (quantum) vs 2.79 (classical)",
    ),
    "C4": (
        "Advantage maintained under depolarizing noise up to ~2%; breakdown near eps = 0.025 per gate",
        "paper (NISQ simulation)",
        "threshold ~0.02-0.025",
    ),
    "C5": (
        "A deep classical router needs ~10x more parameters to match the quantum router",
        "paper (ablation)",
        "~10x",
    ),
    "C6": (
        "The advantage carries to reduced MNIST (8 PCA dimensions) and Fashion-MNIST subsets",
        "paper (experiments)",
        "qualitative",
    ),
    "C7": ("The quantum router converges faster", "paper (training dynamics)", "qualitative"),
    "C8": (
        "Interference/kernel view K(x,x') = |<psi(x)|psi(x')>|^2 explains the separation",
        "paper (mechanism)",
        "mechanism",
    ),
    "N1": (
        "Phase 3A parameter-efficiency sweep, training-set accuracy per router",
        "authors' notebook (Phase 3A table)",
        "h=2: 0.875, h=4: 0.882, h=8: 0.877, h=16: 0.991, h=32: 0.995, h=64: 0.995, quantum L=3: 0.996",
    ),
    "N2": (
        "Phase 2 printed training losses (sum of 16 batch means) at epoch 40",
        "authors' notebook (Phase 2 log)",
        "classical ~4.09, quantum ~0.30",
    ),
    "N3": (
        "Phase 3B: accuracy under depolarizing noise (train under noise, training set)",
        "authors' notebook (Phase 3B table)",
        "p=0: 1.000, 0.02: 0.982, 0.05: 0.989, 0.10: 0.994, 0.15: 0.986, 0.20: 0.975",
    ),
    "N4": (
        "Phase 1 (classical router, quantum experts): synthetic test accuracy classical MoE 0.88, QNN 0.65, QMoE 0.78; MNIST 0/1 ~0.99",
        "authors' notebook (Phase 1)",
        "0.88 / 0.65 / 0.78; ~0.99",
    ),
}
# Issue #22: the paper's open question 1 (real hardware), answered in simulation (studies/device_noise.py).
CLAIMS["Q1"] = (
    "Open question 1: does the router keep its advantage under a real processor's noise (calibrated gate, idling "
    "and readout errors; finite shots)?",
    "paper (conclusion / limitations)",
    "open question; the paper's simulated threshold ~2% depolarizing",
)
# The paper's open questions 2 and 4 (issue #23), as the hypotheses its conclusion leaves open.
CLAIMS.update(
    {
        "Q2": (
            "Open question 2: the router's parameter efficiency survives high-dimensional inputs (amplitude "
            "embedding of 256 MNIST pixels on 8 qubits) rather than being limited by the encoding",
            "paper (conclusion, open question)",
            "open question",
        ),
        "Q4": (
            "Open question 4: a fully quantum mixture (quantum router and quantum experts) compounds the advantage, "
            "unless noise accumulated over its circuits cancels it",
            "paper (conclusion, open question)",
            "open question",
        ),
    }
)


# ------------------------------------------------------------------------------------------ parts


@dataclass(frozen=True)
class Part:
    """One checkable piece of a claim and how it fared.

    Parts judged by a test carry its raw one-sided p-values (``p`` for the stated direction,
    ``p_reverse`` for the opposite); ``holm_parts`` fills the Holm-adjusted ones and the state.
    """

    description: str
    state: str
    p: float | None = None
    p_reverse: float | None = None
    rule: str = ""
    p_adjusted: float | None = None
    p_reverse_adjusted: float | None = None
    family_size: int = 1

    def __post_init__(self) -> None:
        if self.state not in PART_STATES:
            raise ValueError(f"unknown part state {self.state!r}; allowed: {PART_STATES}")
        if self.rule:
            check_choice("part rule", self.rule, tuple(PART_RULES))

    @property
    def text(self) -> str:
        """The description, with the Holm-adjusted p-values when the claim tested more than one part."""
        if self.p_adjusted is None or self.family_size < 2:
            return self.description
        return (
            f"{self.description}; Holm over {self.family_size} tested parts: p = {self.p_adjusted:.3g} "
            f"(reverse: {self.p_reverse_adjusted:.3g})"
        )


def _state(p: float, p_reverse: float | None) -> str:
    if p < ALPHA:
        return "holds"
    if p_reverse is not None and p_reverse < ALPHA:
        return "opposite"
    return "fails"


def holm_parts(parts: Sequence[Part]) -> list[Part]:
    """The parts with p-values Holm-adjusted over the claim (stated and reverse directions each one
    family) and their states recomputed from the adjusted values; other parts unchanged."""
    tested_ix = [i for i, p in enumerate(parts) if p.p is not None]
    out = list(parts)
    if not tested_ix:
        return out
    adj = holm([parts[i].p for i in tested_ix])
    adj_rev = holm([1.0 if parts[i].p_reverse is None else parts[i].p_reverse for i in tested_ix])
    for i, a, r in zip(tested_ix, adj, adj_rev):
        out[i] = replace(
            parts[i],
            p_adjusted=float(a),
            p_reverse_adjusted=float(r),
            family_size=len(tested_ix),
            state=_state(float(a), float(r)),
        )
    return out


def value_part(description: str, stated: float, low: float, high: float) -> Part:
    """A stated value judged against an interval computed by the caller (kept for the current studies)."""
    return Part(
        f"{description}: stated {stated:g} vs our 95% CI [{low:.3f}, {high:.3f}]",
        "holds" if low <= stated <= high else "fails",
    )


def _side(direction: str) -> str:
    check_choice("direction", direction, DIRECTIONS)
    return {"two-sided": "two-sided", "at least": "upper", "at most": "lower"}[direction]


def _inside(stated: float, low: float, high: float, direction: str) -> bool:
    if direction == "at least":
        return stated <= high
    if direction == "at most":
        return stated >= low
    return low <= stated <= high


def single_run_part(
    description: str,
    stated: float,
    ours,
    direction: str = "two-sided",
    bounds: tuple[float, float] | None = ACCURACY_BOUNDS,
) -> Part:
    """A value the authors got from ONE run against where one of our runs falls (``prediction_interval``).

    ``direction="at least"``: the claim is that a run reaches the stated value, so it fails only when
    the stated value is above our one-sided upper 95% limit; ``"at most"`` the mirror.
    """
    pi = prediction_interval(ours, side=_side(direction), bounds=bounds)
    x = np.asarray(ours, dtype=float)
    x = x[~np.isnan(x)]
    if direction == "at most":
        reach, limit = f"{int(np.sum(x <= stated))} of {pi.n} seeds at or below it", f"lower limit {pi.low:.3f}"
    else:
        reach = f"{int(np.sum(x >= stated))} of {pi.n} seeds at or above it"
        limit = f"upper limit {pi.high:.3f}" if direction == "at least" else f"interval [{pi.low:.3f}, {pi.high:.3f}]"
    tail = "two-sided" if direction == "two-sided" else "one-sided"
    return Part(
        f"{description}: stated {stated:g} (one run) vs our single-run {tail} 95% prediction {limit} "
        f"(mean {pi.mean:.3f}; {reach})",
        "holds" if _inside(stated, pi.low, pi.high, direction) else "fails",
        rule="single-run value",
    )


def mean_part(
    description: str,
    stated: float,
    ours,
    direction: str = "two-sided",
    bounds: tuple[float, float] | None = ACCURACY_BOUNDS,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Part:
    """A stated MEAN against the BCa bootstrap CI of our mean (one-sided for 'at least' / 'at most')."""
    ci = bootstrap_interval(ours, side=_side(direction), bounds=bounds, n_resamples=n_resamples, seed=seed)
    return Part(
        f"{description}: stated mean {stated:g} vs our mean {ci.mean:.3f}, 95% CI "
        f"[{ci.low:.3f}, {ci.high:.3f}] ({ci.method}, {ci.n} seeds)",
        "holds" if _inside(stated, ci.low, ci.high, direction) else "fails",
        rule="stated mean",
    )


def identity_part(description: str, deviation: float, tolerance: float) -> Part:
    """A stated identity against the largest absolute difference of its two sides we computed."""
    return Part(
        f"{description}: largest |difference| {deviation:.2g} (tolerance {tolerance:g})",
        "holds" if deviation <= tolerance else "fails",
        rule="identity",
    )


def exact_part(description: str, stated: int, ours: int) -> Part:
    """A stated count against ours: holds when equal."""
    return Part(
        f"{description}: stated {stated}, ours {ours}", "holds" if stated == ours else "fails", rule="exact value"
    )


def ordering_part(description: str, p_claimed: float, p_opposite: float) -> Part:
    """A stated ordering from one-sided p-values the caller computed (both directions); Holm-adjusted
    with the claim's other tested parts when the entry is built."""
    return Part(
        f"{description}: p = {p_claimed:.3g} (reverse: p = {p_opposite:.3g})",
        _state(p_claimed, p_opposite),
        p=float(p_claimed),
        p_reverse=float(p_opposite),
        rule="ordering",
    )


def _check_counts(name: str, x: np.ndarray) -> None:
    if not np.allclose(x[~np.isnan(x)], np.rint(x[~np.isnan(x)])):
        raise ConfigError(
            f"{name} must be integer counts of correct test points (n_correct), got {x[:5]}...; "
            "convert k/n accuracies with qmoe_tfq.analysis.stats.correct_counts"
        )


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired per-seed arrays need the same 1-D shape, got {a.shape} and {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def _power_text(d: np.ndarray) -> str:
    n, m = len(d), int(np.sum(d != 0))
    ties = f", {n - m} tied" if m < n else ""
    return f"n = {n} seeds{ties}; smallest attainable p = {min_attainable_p(m):.2g}"


def paired_part(description: str, a, b, better: str = "higher", integers: bool = True) -> Part:
    """'``a`` is better than ``b``' by the exact one-sided signed-rank test on per-seed pairs, both
    directions (Holm-adjusted when the entry is built). ``better="lower"`` for epochs, losses.

    ``integers=True`` requires counts (correct test points, epochs) so equal accuracies tie exactly.
    """
    check_choice("better", better, ("higher", "lower"))
    a, b = _paired(a, b)
    if integers:
        _check_counts("a", a)
        _check_counts("b", b)
    claimed, reverse = ("greater", "less") if better == "higher" else ("less", "greater")
    p, p_rev = paired_signed_rank(a, b, claimed), paired_signed_rank(a, b, reverse)
    d = a - b
    return Part(
        f"{description}: mean {a.mean():.4g} vs {b.mean():.4g} (difference {d.mean():+.3g}); exact "
        f"one-sided signed-rank p = {p:.3g} (reverse: {p_rev:.3g}); {_power_text(d)}",
        _state(p, p_rev),
        p=p,
        p_reverse=p_rev,
        rule="ordering",
    )


def noninferiority_part(description: str, challenger, reference, n_test, margin: float = NONINFERIORITY_MARGIN) -> Part:
    """'``challenger`` matches ``reference``': the exact signed-rank test of challenger - reference +
    margin * n_test > 0 on per-seed counts of correct test points (``n_test`` a number or per seed);
    reversed when challenger - reference + margin * n_test < 0 is shown (worse by more than the margin)."""
    c, r = np.asarray(challenger, dtype=float), np.asarray(reference, dtype=float)
    n_test = np.broadcast_to(np.asarray(n_test, dtype=float), c.shape)
    keep = ~(np.isnan(c) | np.isnan(r))
    a, b = _paired(c, r)
    _check_counts("challenger", a)
    _check_counts("reference", b)
    n_test = n_test[keep]
    shift = margin * n_test
    p, p_rev = paired_signed_rank(a, b, "greater", shift), paired_signed_rank(a, b, "less", shift)
    diff = bootstrap_interval((a - b) / n_test, bounds=(-1.0, 1.0))
    return Part(
        f"{description}: accuracy difference {diff.mean:+.2%} (95% CI [{diff.low:+.2%}, {diff.high:+.2%}], "
        f"{diff.method}); non-inferiority margin {margin * 100:g} percentage point(s): exact signed-rank p = {p:.3g} "
        f"(worse by more than the margin: {p_rev:.3g}); {_power_text(a - b + shift)}",
        _state(p, p_rev),
        p=p,
        p_reverse=p_rev,
        rule="non-inferiority",
    )


@dataclass(frozen=True)
class Candidate:
    """One model of a parameter sweep: its id, parameter count and per-seed counts of correct test points."""

    model: str
    params: int
    counts: np.ndarray


@dataclass(frozen=True)
class RatioResult:
    """The fixed-sequence match: the smallest candidate reached (None when the largest is not
    non-inferior), its parameter ratio to the reference, and the next smaller one (not shown)."""

    matched: Candidate | None
    next_smaller: Candidate | None
    largest: Candidate
    reference_params: int
    p_values: dict[str, float]

    @property
    def ratio(self) -> float:
        return math.nan if self.matched is None else self.matched.params / self.reference_params


def parameter_ratio(
    candidates: Sequence[Candidate],
    reference,
    reference_params: int,
    n_test,
    margin: float = NONINFERIORITY_MARGIN,
    alpha: float = ALPHA,
) -> RatioResult:
    """'Needs k x more parameters to match': non-inferiority of each candidate against the fixed
    reference, tested in fixed sequence from the largest candidate down (family-wise error ``alpha``)."""
    if not candidates:
        raise ValueError("parameter_ratio needs at least one candidate")
    ordered = sorted(candidates, key=lambda c: c.params, reverse=True)
    shift = margin * np.asarray(n_test, dtype=float)
    ps = {c.model: paired_signed_rank(c.counts, reference, "greater", shift) for c in ordered}
    k = fixed_sequence([ps[c.model] for c in ordered], alpha)
    matched = ordered[k - 1] if k else None
    nxt = ordered[k] if k < len(ordered) else None
    return RatioResult(matched, nxt, ordered[0], reference_params, ps)


def ratio_part(description: str, result: RatioResult, stated: float, band: tuple[float, float]) -> Part:
    """The measured ratio against a stated ~k x: holds inside ``band``, reversed at <= 1x (a candidate no
    larger than the reference matches it), fails outside the band or when nothing matches."""
    ref = result.reference_params
    if result.matched is None:
        big = result.largest
        return Part(
            f"{description}: no candidate is non-inferior, not even the largest ({big.model}, "
            f"{big.params / ref:.2f}x, p = {result.p_values[big.model]:.3g}); ratio > {big.params / ref:.2f}x, "
            f"not measured; stated ~{stated:g}x",
            "fails",
            rule="non-inferiority",
        )
    m = result.matched
    below = (
        f"; the next smaller, {result.next_smaller.model} ({result.next_smaller.params / ref:.2f}x), is "
        f"not shown non-inferior (p = {result.p_values[result.next_smaller.model]:.3g})"
        if result.next_smaller is not None
        else "; every candidate is non-inferior"
    )
    ratio = result.ratio
    state = "opposite" if ratio <= 1 else "holds" if band[0] <= ratio <= band[1] else "fails"
    return Part(
        f"{description}: smallest non-inferior candidate {m.model} ({m.params} vs {ref} parameters) = "
        f"{ratio:.2f}x{below}; stated ~{stated:g}x (holds within {band[0]:g}-{band[1]:g}x, reversed "
        "at <= 1x)",
        state,
        rule="non-inferiority",
    )


def advantage_part(description: str, curve: NoiseCurve, eps: float) -> Part:
    """'The advantage is kept at ``eps``': holds when kept, reversed when lost, fails when inconclusive.
    Carries both one-sided p-values, so it is Holm-corrected with the claim's other tested parts."""
    state = curve.state_at(eps)
    i = curve.index(eps)
    return Part(
        f"{description}: at eps = {eps:g} mean Delta {curve.mean[i]:+.3f} (95% [{curve.low[i]:+.3f}, "
        f"{curve.high[i]:+.3f}]), exact signed-rank p(Delta > 0) = {curve.p_kept[i]:.3g}, p(Delta < 0) = "
        f"{curve.p_lost[i]:.3g}, {curve.n_seeds} seeds: advantage {state}",
        {"kept": "holds", "lost": "opposite", "inconclusive": "fails"}[state],
        p=float(curve.p_kept[i]),
        p_reverse=float(curve.p_lost[i]),
        rule="noise threshold",
    )


def threshold_part(description: str, curve: NoiseCurve, band: tuple[float, float]) -> Part:
    """'The advantage breaks down within ``band``': holds when eps* lies in the band and the crossing
    is located (the advantage is kept at some grid eps below eps*, Holm over those eps, and the upper
    limit of eps*'s CI is inside the grid); fails otherwise, saying on which side of the band."""
    t, lo, hi = curve.threshold, curve.threshold_low, curve.threshold_high
    below = curve.eps < t
    kept_below = bool(below.any()) and float(holm(curve.p_kept[below]).min()) < ALPHA
    located = kept_below and math.isfinite(hi)
    inside = band[0] <= t <= band[1]
    where = "inside" if inside else "below" if t < band[0] else "above"
    why_not = (
        ""
        if located
        else "; not located: "
        + ("the advantage is not kept at any eps below it" if not kept_below else "its CI reaches past the grid")
    )
    return Part(
        f"{description}: eps* = {curve.label()} (95% CI [{curve.label(lo)}, {curve.label(hi)}]), "
        f"{where} the stated [{band[0]:g}, {band[1]:g}]{why_not}",
        "holds" if inside and located else "fails",
        rule="noise threshold",
    )


def convergence_part(
    description: str, curves_a, curves_b, floor, margin: float = CONVERGENCE_MARGIN, max_epochs: int | None = None
) -> Part:
    """'a converges faster than b': epochs until validation accuracy first exceeds ``floor + margin``
    (``epochs_to_exceed``; per-seed floors allowed), compared by the exact paired test (fewer is faster)."""
    if max_epochs is None:
        max_epochs = max(len(c) for c in [*curves_a, *curves_b])
    ea = epochs_to_exceed(curves_a, floor, margin, max_epochs)
    eb = epochs_to_exceed(curves_b, floor, margin, max_epochs)
    never = f"never above the floor + {margin * 100:g} pp: {int(np.sum(ea > max_epochs))} vs {int(np.sum(eb > max_epochs))} of {len(ea)} runs"
    part = paired_part(
        f"{description} (epochs to exceed the floor by {margin * 100:g} pp; {never})", ea, eb, better="lower"
    )
    return replace(part, rule="convergence")


# ---------------------------------------------------------------------------------------- verdict


def verdict_from_parts(parts: Sequence[Part]) -> str:
    """The ledger rule, after Holm: any reversed part -> contradicted; all hold -> reproduced; some -> partially."""
    if not parts:
        raise ValueError("a tested claim needs at least one part")
    states = [p.state for p in holm_parts(parts)]
    if "opposite" in states:
        return "contradicted"
    if all(s == "holds" for s in states):
        return "reproduced"
    if "holds" in states:
        return "partially reproduced"
    return "not reproduced"


@dataclass
class Entry:
    """One row of the ledger, with the JSON fields the ledger promises."""

    id: str
    claim: str
    source: str
    stated: str
    reproduced: str
    ci95: dict
    protocol: str
    verdict: str
    evidence: list[str]
    note: str
    parts: list[Part] = field(default_factory=list)
    stability: float | None = None
    primary: str = ""
    power: str = ""
    multiverse: dict | None = None
    change: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["parts"] = [asdict(p) for p in self.parts]
        return d


def tested(
    claim_id: str, parts: list[Part], reproduced: str, ci95: dict, protocol: str, evidence: list[str], note: str = ""
) -> Entry:
    """An entry whose verdict follows from its (Holm-adjusted) parts."""
    claim, source, stated = CLAIMS[claim_id]
    parts = holm_parts(parts)
    return Entry(
        claim_id, claim, source, stated, reproduced, ci95, protocol, verdict_from_parts(parts), evidence, note, parts
    )


def stand_in(
    claim_id: str,
    parts: list[Part],
    reproduced: str,
    ci95: dict,
    protocol: str,
    evidence: list[str],
    note: str = "",
    data: str = "scikit-learn digits",
) -> Entry:
    """A claim judged only on a stand-in dataset: verdict ``not testable here``, the stand-in's own
    verdict by the same rules in the note."""
    entry = tested(claim_id, parts, reproduced, ci95, protocol, evidence, note)
    entry.note = (f"{note} Stand-in result ({data}, not the claim's data), by the same rules: {entry.verdict}.").strip()
    entry.verdict = "not testable here"
    return entry


def untested(claim_id: str, verdict: str, note: str) -> Entry:
    """An entry with no measurement: ``not yet tested`` or ``not testable``, with the reason."""
    if verdict not in ("not yet tested", "not testable"):
        raise ValueError(f"untested entries are 'not yet tested' or 'not testable', not {verdict!r}")
    claim, source, stated = CLAIMS[claim_id]
    return Entry(claim_id, claim, source, stated, "", {}, "", verdict, [], note)


# -------------------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class Stability:
    """How often bootstrap resamples of the seeds give the verdict of the full set of seeds."""

    verdict: str
    fraction: float
    n_resamples: int

    @property
    def fragile(self) -> bool:
        return self.fraction < FRAGILE_BELOW

    def __str__(self) -> str:
        return f"{self.fraction:.2f}" + (" *fragile*" if self.fragile else "")


def stability(
    verdict_of: Callable[[np.ndarray], str], seeds: Sequence, n_resamples: int = STABILITY_RESAMPLES, seed: int = 0
) -> Stability:
    """The fraction of ``n_resamples`` bootstrap resamples of ``seeds`` (drawn with replacement, seeded)
    for which ``verdict_of(resampled seeds)`` equals ``verdict_of(seeds)``.

    ``verdict_of`` takes an array of seed ids, possibly with repeats, and returns a verdict; build its
    data with ``select_seeds`` so repeated seeds stay distinct, paired observations.
    """
    seeds = np.asarray(seeds)
    if len(seeds) == 0:
        raise ValueError("stability needs at least one seed")
    full = verdict_of(seeds)
    check_choice("verdict", full, VERDICTS)
    rng = np.random.default_rng(seed)
    n_resamples = resamples(n_resamples)
    same = sum(verdict_of(rng.choice(seeds, size=len(seeds), replace=True)) == full for _ in range(n_resamples))
    return Stability(full, same / n_resamples, n_resamples)


def with_stability(
    entry: Entry,
    verdict_of: Callable[[np.ndarray], str],
    seeds: Sequence,
    n_resamples: int = STABILITY_RESAMPLES,
    seed: int = 0,
) -> Entry:
    """``entry`` with its stability filled in; ``verdict_of(seeds)`` must reproduce the entry's verdict."""
    s = stability(verdict_of, seeds, n_resamples, seed)
    if s.verdict != entry.verdict:
        raise ValueError(f"{entry.id}: verdict_of(all seeds) gives {s.verdict!r} but the entry says {entry.verdict!r}")
    return replace(entry, stability=s.fraction)


@dataclass(frozen=True)
class PerSeed:
    """Per-seed values of several models, aligned by seed (row i of every array is ``seeds[i]``): the
    fast input of a ``verdict_of``, which resamples positions, ``np.arange(len(seeds))``."""

    seeds: np.ndarray
    values: dict[str, np.ndarray]

    def take(self, positions) -> dict[str, np.ndarray]:
        """Every model's values at ``positions`` (repeats allowed: a bootstrap resample stays paired)."""
        positions = np.asarray(positions, dtype=int)
        return {m: v[positions] for m, v in self.values.items()}


def per_seed(
    rows, column: str, models: Sequence[str] | None = None, model_column: str = "experiment", seed_column: str = "seed"
) -> PerSeed:
    """``column`` of ``rows`` (one row per model and seed) as one array per model over the seeds all
    models share; a model missing a seed is an error (comparisons are paired)."""
    names = list(dict.fromkeys(rows[model_column])) if models is None else list(models)
    return per_seed_values(rows, {m: (m, column) for m in names}, model_column, seed_column)


def per_seed_values(
    rows, series: dict[str, tuple[str, str]], model_column: str = "experiment", seed_column: str = "seed"
) -> PerSeed:
    """Named per-seed series ``name -> (model, column)`` of ``rows`` as one ``PerSeed`` over the seeds
    of those models (several columns of one model, e.g. accuracy and correct counts, side by side); a
    model missing a seed is an error, as in ``per_seed``."""
    models = list(dict.fromkeys(m for m, _ in series.values()))
    sub = rows[rows[model_column].isin(models)]
    absent = [m for m in models if m not in set(sub[model_column])]
    if absent:
        raise ConfigError(f"models {absent} have no rows; available: {sorted(set(rows[model_column]))}")
    seeds = sorted(set(sub[seed_column]))
    values = {}
    for name, (m, column) in series.items():
        g = sub[sub[model_column] == m].set_index(seed_column)[column]
        missing = sorted(set(seeds) - set(g.index))
        if missing:
            raise ConfigError(f"model {m!r} has no {column!r} for seeds {missing}: paired comparisons need every seed")
        values[name] = g.loc[seeds].to_numpy()
    return PerSeed(np.asarray(seeds), values)


def with_parts_stability(
    entry: Entry,
    parts_of: Callable[[dict[str, np.ndarray]], list[Part]],
    data: PerSeed,
    n_resamples: int = STABILITY_RESAMPLES,
    seed: int = 0,
) -> Entry:
    """``entry`` with its stability, when its parts are ``parts_of(data.take(positions))``: every
    bootstrap resample of the seeds recomputes the parts, Holm and the verdict by the same code that
    made the entry (``parts_of`` of all seeds must give the entry's verdict)."""
    positions = np.arange(len(data.seeds))
    return with_stability(entry, lambda ix: verdict_from_parts(parts_of(data.take(ix))), positions, n_resamples, seed)


def select_seeds(rows, seeds: Sequence, column: str = "seed"):
    """The rows (a DataFrame with one row per model and seed) of ``seeds`` in that order, repeats kept
    as distinct seeds: ``column`` is relabelled 0..len(seeds)-1 per draw, the original kept in
    ``source_<column>``, so paired comparisons pair the copies of the same draw. Convenient for a
    ``verdict_of`` that reuses a claims module on rows; ``per_seed`` arrays are about 10x faster."""
    positions = rows.groupby(column, sort=False).indices
    missing = [s for s in dict.fromkeys(seeds) if s not in positions]
    if missing:
        raise ConfigError(f"seeds {missing} are not in the rows; available: {sorted(positions)}")
    take = [positions[s] for s in seeds]
    out = rows.iloc[np.concatenate(take)].reset_index(drop=True)
    out[f"source_{column}"] = out[column].to_numpy()
    out[column] = np.repeat(np.arange(len(take)), [len(t) for t in take])
    return out


# ---------------------------------------------------------------------------------------- writing


PENDING_NOTES = {
    "C7": "Tested by the Two Moons study, not run yet.",
}


def build_ledger(entries: list[Entry]) -> list[Entry]:
    """All claims in id order: the given entries, and 'not yet tested' for the rest."""
    by_id = {e.id: e for e in entries}
    unknown = set(by_id) - set(CLAIMS)
    if unknown:
        raise ValueError(f"entries for unknown claim ids: {sorted(unknown)}")
    return [
        by_id.get(cid) or untested(cid, "not yet tested", PENDING_NOTES.get(cid, "No study covers this claim yet."))
        for cid in CLAIMS
    ]


# ------------------------------------------------------------------- changes against a baseline

#: The committed ``paper/claims.json`` that later runs are compared with (a snapshot in
#: ``qmoe_tfq/analysis/baselines/``, so the comparison is the same on every machine and rerun): the
#: ledger before issue #20's selection protocol (cross-entropy score, grid-edge rule, disjoint image
#: pools, converged budgets).
BASELINE = ("061aaa0", "the paper/ committed at 061aaa0, before the #20 selection protocol")


def load_baseline(commit: str = BASELINE[0]) -> dict:
    """The claims of the baseline snapshot ``claims-<commit>.json``, by claim id."""
    path = Path(__file__).with_name("baselines") / f"claims-{commit}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no baseline ledger {path} (shipped snapshots: claims-<commit>.json there)")
    return {c["id"]: c for c in json.loads(path.read_text())["claims"]}


def _change_text(entry: Entry, old: dict | None) -> str:
    if old is None:
        return "new (not in the baseline)"
    changes = []
    if old.get("verdict") != entry.verdict:
        changes.append(f"verdict {old.get('verdict')} -> {entry.verdict}")
    old_s, new_s = old.get("stability"), entry.stability
    if (old_s is None) != (new_s is None) or (
        old_s is not None and new_s is not None and round(float(old_s), 2) != round(new_s, 2)
    ):
        fmt = lambda v: "—" if v is None else f"{float(v):.2f}" + (" fragile" if float(v) < FRAGILE_BELOW else "")  # noqa: E731
        changes.append(f"stability {fmt(old_s)} -> {fmt(new_s)}")
    if old.get("reproduced") != entry.reproduced:
        changes.append(f"was: {old.get('reproduced') or '—'}")
    if old.get("primary", "") != entry.primary and old.get("primary"):
        changes.append(f"primary was: {old['primary']}")
    return "; ".join(changes) if changes else "unchanged"


def with_changes(entries: list[Entry], baseline: dict, label: str) -> list[Entry]:
    """``entries`` with ``change`` saying, per claim, what differs from the ``baseline`` ledger (claims
    by id, ``load_baseline``): verdict, stability (2 decimals), the reproduced numbers and the primary
    endpoint, each quoted as it was; ``unchanged`` when none differs. ``label`` names the baseline."""
    return [replace(e, change=f"against {label}: {_change_text(e, baseline.get(e.id))}") for e in entries]


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _stability_cell(e: Entry) -> str:
    if e.stability is None:
        return "—"
    return f"{e.stability:.2f}" + (" *fragile*" if e.stability < FRAGILE_BELOW else "")


def rules_markdown() -> list[str]:
    """The "Verdict rules" section: verdicts, then each part rule with its one-line rationale."""
    lines = ["## Verdict rules", ""]
    lines += [f"- **{v}**: {RULES[v]}" for v in VERDICTS]
    lines += ["", "How parts are judged:", ""]
    lines += [f"- **{name}**: {rule} *Why:* {why}" for name, (rule, why) in PART_RULES.items()]
    return lines


def output_folder(out_dir: Path | str) -> str:
    """The name of the output folder ``out_dir`` becomes: its own name, or for the paper driver's
    staging folder ``.<name>.staging`` the ``<name>`` it is moved to (``paper``, ``paper-quick``, ...)."""
    name = Path(out_dir).resolve().name
    if name.startswith(".") and name.endswith(".staging"):
        name = name[1 : -len(".staging")]
    return name


# ``paper/`` where it starts a cited output path, not inside another folder's name (``mypaper/tables``):
# so a moved path is never moved again.
_CITED_PAPER_PATH = re.compile(r"(?<![\w.-])paper/(?=tables/|figures/|notebooks/|claims\.)")


def for_folder(entries: list[Entry], folder: str = "paper") -> list[Entry]:
    """``entries`` with the output paths they cite (``paper/tables/...``, ``paper/figures/...``) pointing
    into ``folder`` instead (``paper-quick/tables/...`` for a QUICK run); unchanged for ``paper``, and
    unchanged by a second call."""
    if folder == "paper":
        return list(entries)

    def move(text: str) -> str:
        return _CITED_PAPER_PATH.sub(f"{folder}/", text)

    return [
        replace(
            e,
            claim=move(e.claim),
            reproduced=move(e.reproduced),
            protocol=move(e.protocol),
            evidence=[move(x) for x in e.evidence],
            note=move(e.note),
            parts=[replace(p, description=move(p.description)) for p in e.parts],
        )
        for e in entries
    ]


def render_markdown(entries: list[Entry], header: str = "", folder: str = "paper") -> str:
    """``claims.md``: the verdict rules, a summary table, then each claim's parts and evidence (output
    paths pointing into ``folder``)."""
    from qmoe_tfq.analysis.plan import render_markdown as plan_markdown

    entries = for_folder(entries, folder)
    lines = ["# Claims ledger", "", header.strip(), "", plan_markdown(), ""] + rules_markdown()
    lines += [
        "",
        "## Summary",
        "",
        "| id | claim | stated | reproduced | verdict | stability |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {e.id} | {_md_cell(e.claim)} | {_md_cell(e.stated)} | {_md_cell(e.reproduced) or '—'} | "
        f"**{e.verdict}** | {_stability_cell(e)} |"
        for e in entries
    ]
    for e in entries:
        lines += ["", f"## {e.id} — {e.verdict}", "", f"*{e.claim}* ({e.source}). Stated: {e.stated}."]
        if e.protocol:
            lines += ["", f"Protocol: {e.protocol}"]
        if e.reproduced:
            lines += ["", f"Reproduced: {e.reproduced}"]
        if e.primary:
            lines += ["", f"Primary endpoint: {e.primary}"]
        if e.multiverse is not None:
            lines += ["", f"Multiverse: {e.multiverse.get('summary', '')}"]
        elif e.stability is not None:
            lines += [
                "",
                f"Stability: {_stability_cell(e)} of {resamples(STABILITY_RESAMPLES):,} bootstrap resamples of the "
                "seeds give this verdict.",
            ]
        if e.power:
            lines += ["", f"Power: {e.power}"]
        if e.parts:
            lines += ["", "Parts:"] + [
                f"- [{p.state}] {p.text}" + (f" *(rule: {p.rule})*" if p.rule else "") for p in e.parts
            ]
        if e.evidence:
            lines += ["", "Evidence: " + ", ".join(f"`{x}`" for x in e.evidence)]
        if e.note:
            lines += ["", f"Note: {e.note}"]
        if e.change:
            lines += ["", f"Change {e.change}"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def _json_safe(x):
    """Non-finite floats (a Kaplan-Meier limit 'never', an unmeasured ratio) as null: strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.floating):
        return _json_safe(float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_ledger(entries: list[Entry], out_dir: Path, header: str = "") -> None:
    """Write ``claims.json`` and ``claims.md`` under ``out_dir`` atomically; the output paths they cite
    name the folder ``out_dir`` becomes (``output_folder``)."""
    out_dir = Path(out_dir)
    folder = output_folder(out_dir)
    payload = {
        "header": header,
        "verdict_rules": RULES,
        "part_rules": {name: {"rule": rule, "why": why} for name, (rule, why) in PART_RULES.items()},
        "claims": [e.to_json() for e in for_folder(entries, folder)],
    }
    atomic_write_text(out_dir / "claims.json", json.dumps(_json_safe(payload), indent=2, sort_keys=False) + "\n")
    atomic_write_text(out_dir / "claims.md", render_markdown(entries, header, folder))  # moves them itself


# ------------------------------------------------------------------------- pre-registered plan (#21)

OUTCOME_STATES = {"shown": "holds", "shown otherwise": "fails", "reversed": "opposite", "inconclusive": "fails"}


def outcome_part(outcome, rule: str, label: str = "") -> Part:
    """A rule's ``Outcome`` (qmoe_tfq.analysis.rules) as a ledger part, for display; its state is
    the outcome's (shown -> holds, reversed -> opposite, otherwise fails) and the text names it."""
    prefix = f"{label}: " if label else ""
    flag = "" if outcome.can_fail else " (cannot fail here: not counted)"
    return Part(
        f"{prefix}[{outcome.state}] {outcome.text}{flag}",
        OUTCOME_STATES[outcome.state],
        p=outcome.p,
        p_reverse=outcome.p_reverse,
        rule=rule,
    )


def planned(
    claim_id: str,
    primary,
    secondaries: Sequence[tuple],
    reproduced: str,
    ci95: dict,
    protocol: str,
    evidence: list[str],
    note: str = "",
    rule: str = "primary endpoint",
    secondary_rules: Sequence[str] | None = None,
    power: str = "",
    mapping: dict[str, str] | None = None,
) -> Entry:
    """An entry decided by its pre-registered primary endpoint (``analysis.plan.PLAN[claim_id]``):
    verdict = the plan's mapping of ``primary.state`` (``mapping``: the plan's mapping as a claim's rule
    resolves a condition its plan note states); ``secondaries`` are ``(outcome, decides)`` pairs, shown
    as parts after the primary."""
    from qmoe_tfq.analysis.plan import PLAN
    from qmoe_tfq.analysis.rules import decide

    claim, source, stated = CLAIMS[claim_id]
    verdict = decide(primary, PLAN[claim_id].mapping if mapping is None else mapping, secondaries)
    rules_ = list(secondary_rules or ["equivalence"] * len(secondaries))
    parts = [outcome_part(primary, rule, "primary")] + [
        outcome_part(o, r, "secondary" + (", deciding" if d else "")) for (o, d), r in zip(secondaries, rules_)
    ]
    return Entry(
        claim_id,
        claim,
        source,
        stated,
        reproduced,
        ci95,
        protocol,
        verdict,
        evidence,
        note,
        parts,
        primary=primary.text,
        power=power,
    )


def with_multiverse(entry: Entry, result) -> Entry:
    """``entry`` with its multiverse share as ``stability`` (same field and *fragile* line as before)
    and the whole result under ``multiverse``; the multiverse headline must be the entry's verdict."""
    if result.headline != entry.verdict:
        raise ValueError(
            f"{entry.id}: the multiverse headline {result.headline!r} is not the entry's {entry.verdict!r}"
        )
    payload = result.to_json()
    payload["summary"] = result.summary()
    return replace(entry, stability=result.share, multiverse=payload)

"""Stage: analysis. Verdict rules on per-seed arrays (issue #21): pure functions, numpy/scipy only, every rule able to
say each of its outcomes.

Each rule returns an ``Outcome``: a ``state`` from ``OUTCOMES`` (``shown``: the claim's prediction is
shown; ``shown otherwise``: the quantity is shown to differ from the stated value beyond the margin /
to be inferior beyond the margin; ``reversed``: the opposite ordering or trend is shown;
``inconclusive``: none of these), the primary ``effect`` (for specification curves), the p-values
and a sentence. The plan (``qmoe_tfq.analysis.plan``) maps outcomes to verdicts.

Rules:

- ``tost_mean``: a stated value or mean against our mean over seeds, by two one-sided tests within a
  margin (CI-inclusion form: equivalence when the (1 - 2 alpha) interval of our mean lies inside
  stated +- margin; shown different when the (1 - 2 alpha) interval lies wholly outside it). An
  interval wider than the whole equivalence band can never show equivalence: the rule says so
  ("too wide to decide") and gives ``inconclusive`` unless the interval is wholly outside the band.
- ``paired_superiority`` / ``paired_noninferiority``: exact signed-rank on per-seed integer counts
  (``stats.paired_signed_rank``) or the paired t-test (the multiverse alternative).
- ``trend_sign``: the sign of a trend (accuracy vs noise) by Spearman's or Kendall's rank correlation
  over all (level, seed) points, one-sided in the claimed direction; the reverse sign is ``reversed``.
- ``km_median`` / ``time_to_event``: epochs to a criterion with never-reached runs right-censored at
  the epoch limit: Kaplan-Meier median and its CI (``scipy.stats.ecdf`` on ``CensoredData``, log-log
  pointwise band, median limits where the band crosses 0.5), log-rank test (``scipy.stats.logrank``).
- ``closed_testing_widths``: non-inferiority of every width against a reference, Holm over widths
  (no stop at the first failure); the smallest non-inferior width, its parameter ratio, and a
  percentile bootstrap CI of the ratio from rerunning the whole procedure on resampled seeds.
- ``gated_threshold``: C4's gate: an advantage at eps = 0 must be shown before a threshold is judged.
- ``paired_power``: the smallest paired effect detectable with 80% power at the seeds used (normal
  approximation with Student-t quantiles and the observed SD of the differences; for the signed-rank
  test the seed count is scaled by its asymptotic relative efficiency 3/pi), and ``underpowered``;
  ``paired_sample_size`` inverts it: the seeds a replication needs, fixed from a pilot's SD.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special
from scipy import stats as sps

from qmoe_tfq.analysis.stats import (
    bootstrap_ci,
    holm,
    min_attainable_p,
    noise_curve,
    resamples,
    signed_rank_tails,
    signed_rank_tails_rows,
    t_interval,
)

ALPHA = 0.05
POWER = 0.8
OUTCOMES = ("shown", "shown otherwise", "reversed", "inconclusive")
INTERVALS = ("BCa", "percentile", "t")
TESTS = ("signed-rank", "paired t")
TREND_METHODS = ("spearman", "kendall")
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Outcome:
    """What one rule found: ``state`` in ``OUTCOMES``, the primary ``effect``, p-values and a sentence."""

    state: str
    effect: float
    text: str
    p: float | None = None
    p_reverse: float | None = None
    low: float | None = None
    high: float | None = None
    can_fail: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.state not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.state!r}; allowed: {OUTCOMES}")


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[~np.isnan(x)]


def _check(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {tuple(allowed)}")


# ------------------------------------------------------------------------------------- intervals


def mean_interval(
    values, confidence: float, method: str = "BCa", n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, str]:
    """Two-sided ``confidence`` interval of the mean of ``values`` by ``method`` (BCa or percentile
    bootstrap, seeded, or Student-t); the name of the method actually used is returned (BCa falls back
    to percentile where it is undefined). No spread gives width 0."""
    _check("interval", method, INTERVALS)
    x = _finite(values)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, method
    m = float(x.mean())
    if n == 1 or np.all(x == x[0]):
        return m, m, method
    if method == "t":
        t = t_interval(x, confidence)
        return t.low, t.high, "Student-t"
    methods = (method,) if method == "percentile" else ("BCa", "percentile")
    low, high, used = bootstrap_ci(x, confidence, n_resamples, seed, methods=methods)
    if used is None:
        return m, m, "percentile bootstrap (degenerate)"
    return low, high, f"{used} bootstrap ({n_resamples} resamples)"


# ------------------------------------------------------------------------------------------ TOST


def equivalence_margin(stated: float, margin: float, kind: str = "absolute") -> float:
    """The half-width of the equivalence band: ``margin`` itself (percentage points as a fraction for
    accuracies) or ``margin * |stated|`` (relative, for losses)."""
    _check("margin kind", kind, ("absolute", "relative"))
    return float(margin) if kind == "absolute" else float(margin) * abs(float(stated))


def tost_mean(
    values,
    stated: float,
    margin: float,
    kind: str = "absolute",
    alpha: float = ALPHA,
    interval: str = "BCa",
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    description: str = "",
) -> Outcome:
    """Is our mean equivalent to ``stated`` within ``margin``? Two one-sided tests at ``alpha`` in
    CI-inclusion form: the (1 - 2 alpha) interval of our mean inside [stated - m, stated + m] ->
    ``shown`` (equivalent); wholly outside it -> ``shown otherwise`` (different beyond the margin);
    else ``inconclusive``, flagged ``too wide to decide`` when the interval is wider than the band
    (then nothing our seeds could show would be equivalence)."""
    x = _finite(values)
    if len(x) < 2:
        raise ValueError(f"TOST needs at least 2 seeds, got {len(x)}")
    m = equivalence_margin(stated, margin, kind)
    if not m > 0:
        raise ValueError(f"the equivalence margin must be positive, got {m}")
    low, high, method = mean_interval(x, 1 - 2 * alpha, interval, n_resamples, seed)
    mean = float(x.mean())
    lo_band, hi_band = stated - m, stated + m
    too_wide = (high - low) >= 2 * m
    if lo_band <= low and high <= hi_band:
        state = "shown"
    elif high < lo_band or low > hi_band:
        state = "shown otherwise"
    else:
        state = "inconclusive"
    unit = f"{m * 100:g} pp" if kind == "absolute" else f"{margin * 100:g}% of the stated value (+-{m:.3g})"
    why = {
        "shown": "equivalent",
        "shown otherwise": "different beyond the margin",
        "inconclusive": "neither equivalent nor shown different"
        + (" (interval wider than the whole band: too wide to decide)" if too_wide else ""),
    }[state]
    text = (
        f"{description + ': ' if description else ''}stated {stated:g} vs our mean {mean:.3f}, "
        f"{100 * (1 - 2 * alpha):g}% interval [{low:.3f}, {high:.3f}] ({method}, {len(x)} seeds), "
        f"equivalence band +-{unit}: {why}"
    )
    return Outcome(
        state,
        mean - stated,
        text,
        low=low,
        high=high,
        extra={"too_wide": bool(too_wide), "band": (lo_band, hi_band), "method": method, "n": len(x)},
    )


# ------------------------------------------------------------------------------------ paired tests


def _paired_p(d: np.ndarray, test: str) -> tuple[float, float]:
    """One-sided p-values (d > 0, d < 0) by the exact signed-rank test or the paired t-test."""
    _check("test", test, TESTS)
    if test == "signed-rank":
        return signed_rank_tails(d)
    if len(d) < 2 or np.allclose(d, d[0]):
        m = float(d.mean()) if len(d) else 0.0
        return (0.0 if m > 0 else 1.0), (0.0 if m < 0 else 1.0)
    p = t_greater(d)
    return p, 1.0 - p if not math.isnan(p) else 1.0


def _paired_p_rows(d: np.ndarray, test: str) -> np.ndarray:
    """``_paired_p(row, test)[0]`` for every row of ``d`` (R, n) at once, bit-identical (tested)."""
    _check("test", test, TESTS)
    d = np.asarray(d, dtype=float)
    if test == "signed-rank":
        return signed_rank_tails_rows(d)[0]
    rows, n = d.shape
    if n < 2 or np.isnan(d).any():
        return np.array([_paired_p(row, test)[0] for row in d])
    mean = np.mean(d, axis=1, keepdims=True)
    constant = np.all(np.abs(d - d[:, :1]) <= 1e-8 + 1e-5 * np.abs(d[:, :1]), axis=1)  # np.allclose(row, row[0])
    var = np.mean((d - mean) ** 2, axis=1) * (n / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = special.stdtr(n - 1, -(mean[:, 0] / np.sqrt(var / n)))
    return np.where(constant, np.where(mean[:, 0] > 0, 0.0, 1.0), p)


def t_greater(d: np.ndarray) -> float:
    """One-sided (mean > 0) p-value of the one-sample t-test: the arithmetic of
    ``scipy.stats.ttest_1samp(d, 0, alternative="greater")`` step for step (bit-identical; tested),
    without its per-call dispatch, which dominated the multiverse's thousands of resampled tests."""
    d = np.asarray(d, dtype=float)
    n = d.shape[0]
    mean = np.mean(d, keepdims=True)
    var = np.mean((d - mean) ** 2) * (n / (n - 1))
    t = mean[0] / np.sqrt(var / n)
    return float(special.stdtr(n - 1, -t))


def paired_superiority(
    a,
    b,
    alpha: float = ALPHA,
    test: str = "signed-rank",
    better: str = "higher",
    scale: float = 1.0,
    description: str = "",
) -> Outcome:
    """``a`` better than ``b`` on the same seeds (``better="higher"`` or ``"lower"``): one-sided test
    of the per-seed differences, ``shown`` at p < alpha, ``reversed`` when the opposite one-sided test
    is, else ``inconclusive``. Pass integer counts for the exact signed-rank test; ``scale`` converts
    the mean difference to the reported effect (1 / n_test for counts -> accuracy)."""
    _check("better", better, ("higher", "lower"))
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    d = (a - b)[keep] * (1 if better == "higher" else -1)
    p, p_rev = _paired_p(d, test)
    state = "shown" if p < alpha else "reversed" if p_rev < alpha else "inconclusive"
    effect = float(d.mean()) * scale if len(d) else math.nan
    text = (
        f"{description + ': ' if description else ''}mean paired difference {effect:+.4g} "
        f"({'higher' if better == 'higher' else 'lower'} is better), {test} p = {p:.3g} "
        f"(reverse {p_rev:.3g}), {len(d)} seeds"
    )
    return Outcome(state, effect, text, p=p, p_reverse=p_rev, extra={"n": len(d), "test": test})


def paired_noninferiority(
    challenger,
    reference,
    margin: float,
    alpha: float = ALPHA,
    test: str = "signed-rank",
    scale: float = 1.0,
    description: str = "",
) -> Outcome:
    """``challenger`` at most ``margin`` worse than ``reference`` (same units as the arrays, e.g. a
    count of test points): ``shown`` when the test of (c - r + margin) > 0 gives p < alpha; ``shown
    otherwise`` (inferior beyond the margin) when the test of (c - r + margin) < 0 does; else
    ``inconclusive``."""
    c, r = np.asarray(challenger, dtype=float), np.asarray(reference, dtype=float)
    keep = ~(np.isnan(c) | np.isnan(r))
    d = (c - r)[keep]
    p, p_rev = _paired_p(d + margin, test)
    state = "shown" if p < alpha else "shown otherwise" if p_rev < alpha else "inconclusive"
    effect = float(d.mean()) * scale if len(d) else math.nan
    text = (
        f"{description + ': ' if description else ''}mean difference {effect:+.4g}, margin "
        f"{margin * scale:g}, {test} non-inferiority p = {p:.3g} (inferior beyond margin: {p_rev:.3g})"
    )
    return Outcome(state, effect, text, p=p, p_reverse=p_rev, extra={"n": len(d), "test": test})


# ------------------------------------------------------------------------------------------ power


def paired_power(
    d, alpha: float = ALPHA, power: float = POWER, test: str = "signed-rank", effect_of_interest: float | None = None
) -> dict:
    """The smallest mean paired difference a one-sided test at ``alpha`` detects with ``power`` at the
    seeds used: (t_{1-alpha, n-1} + t_{power, n-1}) * sd(d) / sqrt(n_eff), a normal approximation with
    Student-t quantiles and the observed SD of the differences; for the signed-rank test n_eff =
    n * 3/pi (its asymptotic relative efficiency against the t-test under normality), and an infinite
    effect when 2^-n >= alpha (the exact test cannot reject at all). ``underpowered`` is True when that
    effect exceeds ``effect_of_interest`` (when given)."""
    _check("test", test, TESTS)
    x = _finite(d)
    n = len(x)
    method = "normal approximation with Student-t quantiles and the observed SD of the paired differences" + (
        "; signed-rank: n scaled by ARE 3/pi" if test == "signed-rank" else ""
    )
    mde = _detectable(n, float(x.std(ddof=1)) if n >= 2 else math.nan, alpha, power, test)
    under = bool(effect_of_interest is not None and not mde <= effect_of_interest)
    return {
        "mde": mde,
        "n": n,
        "alpha": alpha,
        "power": power,
        "test": test,
        "method": method,
        "effect_of_interest": effect_of_interest,
        "underpowered": under,
    }


def _detectable(n: int, sd: float, alpha: float, power: float, test: str) -> float:
    """``paired_power``'s smallest detectable mean difference at ``n`` seeds and SD ``sd``."""
    if n < 2 or (test == "signed-rank" and min_attainable_p(n) >= alpha):
        return math.inf
    n_eff = n * (3 / math.pi) if test == "signed-rank" else n
    return float((sps.t.ppf(1 - alpha, n - 1) + sps.t.ppf(power, n - 1)) * sd / math.sqrt(n_eff))


def paired_sample_size(
    pilot,
    effect: float,
    alpha: float = ALPHA,
    power: float = POWER,
    test: str = "signed-rank",
    n_max: int = 200,
) -> int:
    """The fewest seeds at which ``paired_power`` (with the SD of the ``pilot`` paired differences) detects
    ``effect`` with ``power``: the size of a replication fixed from a pilot before it runs.

    Parameters
    ----------
    pilot : array-like
        The pilot's per-seed paired differences (their sample SD is the planning SD; at least 2).
    effect : float
        The mean difference to detect (> 0).
    alpha, power : float
        One-sided level and power, as ``paired_power``.
    test : {"signed-rank", "paired t"}
        The replication's test (the signed-rank test's seed count is scaled by its ARE 3/pi).
    n_max : int
        A cap: a pilot so noisy that more seeds would be needed raises ``ValueError`` naming the count.

    Examples
    --------
    >>> import numpy as np
    >>> from qmoe_tfq.analysis.rules import paired_sample_size
    >>> pilot = np.array([0.0, 0.02, -0.01, 0.1, 0.0, 0.03, -0.02, 0.05])
    >>> paired_sample_size(pilot, 0.02)
    27
    """
    _check("test", test, TESTS)
    if not (effect > 0 and math.isfinite(effect)):
        raise ValueError(f"effect must be a positive finite difference, got {effect!r}")
    return _fewest_seeds(
        pilot,
        effect,
        lambda n, sd: _detectable(n, sd, alpha, power, test),
        n_max,
        f"detect {effect:g} with {power:.0%} power",
    )


def _fewest_seeds(pilot, target: float, reach: Callable[[int, float], float], n_max: int, what: str) -> int:
    """The fewest seeds ``n`` with ``reach(n, sd) <= target`` at the SD of the ``pilot`` values (at least 2);
    ``ValueError`` naming ``what`` when more than ``n_max`` would be needed."""
    x = _finite(pilot)
    if len(x) < 2:
        raise ValueError(f"a pilot needs at least 2 finite values to estimate their SD, got {len(x)}")
    sd = float(x.std(ddof=1))
    for n in range(2, n_max + 1):
        if reach(n, sd) <= target:
            return n
    raise ValueError(f"the pilot's SD {sd:.3g} needs more than n_max={n_max} seeds to {what}")


def equivalence_power(values, alpha: float = ALPHA, power: float = POWER, margin: float | None = None) -> dict:
    """``paired_power``'s counterpart for the equivalence rule (``tost_mean``): the smallest margin within which
    two one-sided tests show equivalence with ``power`` at the seeds used when our true mean equals the stated
    value, (t_{1-alpha, n-1} + t_{1-(1-power)/2, n-1}) * sd / sqrt(n) (normal approximation with Student-t
    quantiles and the observed SD); ``underpowered`` when it exceeds the plan's ``margin`` (absolute units).

    Examples
    --------
    >>> from qmoe_tfq.analysis.rules import equivalence_power
    >>> pw = equivalence_power([0.90, 0.92, 0.88, 0.91, 0.89, 0.90], margin=0.02)
    >>> round(pw["mde"], 4), pw["underpowered"]
    (0.0202, True)
    """
    x = _finite(values)
    n = len(x)
    mde = _showable_margin(n, float(x.std(ddof=1)) if n >= 2 else math.nan, alpha, power)
    return {
        "mde": mde,
        "n": n,
        "alpha": alpha,
        "power": power,
        "test": "TOST",
        "what": "equivalence margin showable",
        "method": "TOST at a true mean equal to the stated value, normal approximation with Student-t quantiles and "
        "the observed SD",
        "effect_of_interest": margin,
        "underpowered": bool(margin is not None and not mde <= margin),
    }


def _showable_margin(n: int, sd: float, alpha: float, power: float) -> float:
    """``equivalence_power``'s smallest margin showable at ``n`` seeds and SD ``sd``."""
    if n < 2:
        return math.inf
    return float((sps.t.ppf(1 - alpha, n - 1) + sps.t.ppf(1 - (1 - power) / 2, n - 1)) * sd / math.sqrt(n))


def equivalence_sample_size(
    pilot,
    margin: float,
    alpha: float = ALPHA,
    power: float = POWER,
    n_max: int = 200,
) -> int:
    """The fewest seeds at which ``equivalence_power`` (with the SD of the ``pilot`` values) shows equivalence
    within ``margin`` with ``power``: the size of a replication of an equivalence test (``tost_mean``), fixed
    from a pilot before it runs. It plans for a true mean equal to the stated value, as ``equivalence_power``
    does: a true mean off the stated value needs more seeds to be shown equivalent, and one outside the band
    tends to be shown different instead.

    Parameters
    ----------
    pilot : array-like
        The pilot's per-seed values (their sample SD is the planning SD; at least 2).
    margin : float
        The equivalence margin, in the values' units (> 0).
    alpha, power : float
        One-sided level of each of the two tests, and power, as ``equivalence_power``.
    n_max : int
        A cap: a pilot so noisy that more seeds would be needed raises ``ValueError`` naming the count.

    Examples
    --------
    >>> from qmoe_tfq.analysis.rules import equivalence_sample_size
    >>> equivalence_sample_size([0.90, 0.92, 0.88, 0.91, 0.89, 0.90], 0.02)
    7
    """
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive finite number, got {margin!r}")
    return _fewest_seeds(
        pilot,
        margin,
        lambda n, sd: _showable_margin(n, sd, alpha, power),
        n_max,
        f"show equivalence within {margin:g} with {power:.0%} power",
    )


def trend_power(n_points: int, alpha: float = ALPHA, power: float = POWER, effect: float | None = None) -> dict:
    """``paired_power``'s counterpart for the trend rule (``trend_sign``): the smallest |rank correlation| a
    one-sided test over ``n_points`` (level, value) points detects with ``power`` (Fisher z approximation,
    tanh((z_{1-alpha} + z_power) / sqrt(n - 3))); ``underpowered`` when it exceeds ``effect``.

    Examples
    --------
    >>> from qmoe_tfq.analysis.rules import trend_power
    >>> round(trend_power(60)["mde"], 3)
    0.318
    """
    mde = (
        math.inf
        if n_points < 4
        else math.tanh((sps.norm.ppf(1 - alpha) + sps.norm.ppf(power)) / math.sqrt(n_points - 3))
    )
    return {
        "mde": float(mde),
        "n": int(n_points),
        "alpha": alpha,
        "power": power,
        "test": "rank correlation",
        "what": "|rank correlation| detectable",
        "units": "(level, seed) points",
        "method": "Fisher z approximation",
        "effect_of_interest": effect,
        "underpowered": bool(effect is not None and not mde <= effect),
    }


#: Outcomes in which the primary test found something: power then qualifies nothing (it is for null results).
FOUND = ("shown", "shown otherwise", "reversed")


def power_sentence(pw: dict, unit: str = "", state: str | None = None) -> str:
    """One sentence for a 'not reproduced' / 'inconclusive' entry. ``state``: the primary outcome's state;
    when its test found an effect (``FOUND``), the sentence says so instead of calling it underpowered.

    Examples
    --------
    >>> from qmoe_tfq.analysis.rules import power_sentence
    >>> pw = {"mde": 0.014, "n": 20, "alpha": 0.05, "power": 0.8, "method": "m", "effect_of_interest": 0.01,
    ...       "underpowered": True}
    >>> power_sentence(pw).endswith("**underpowered**")
    True
    >>> power_sentence(pw, state="shown otherwise").endswith("power qualifies only a null result)")
    True
    """
    eff = "no effect (too few seeds for the exact test)" if math.isinf(pw["mde"]) else f"{pw['mde']:.3g}{unit}"
    s = (
        f"smallest {pw.get('what', 'effect detectable')} with {pw['power']:.0%} power at {pw['n']} "
        f"{pw.get('units', 'seeds')} (one-sided alpha {pw['alpha']:g}, {pw['method']}): {eff}"
    )
    if pw["effect_of_interest"] is not None:
        s += f"; effect of interest {pw['effect_of_interest']:.3g}{unit}"
        if state in FOUND:
            s += f" (the primary test found an effect, '{state}': power qualifies only a null result)"
        elif pw["underpowered"]:
            s += ": **underpowered**"
    return s


def family_power_sentence(pws: dict, state: str | None = None, unit: str = "") -> str:
    """One power sentence for several tests of one entry (stated values, widths, tasks): ``power_sentence`` of
    the hardest (the largest detectable effect relative to its effect of interest), then every member's.

    Examples
    --------
    >>> from qmoe_tfq.analysis.rules import equivalence_power, family_power_sentence
    >>> pws = {"a": equivalence_power([0.9, 0.91, 0.89], margin=0.02), "b": equivalence_power([0.5, 0.7, 0.6], margin=0.02)}
    >>> family_power_sentence(pws).startswith("b (the hardest of 2): smallest equivalence margin")
    True
    """
    if not pws:
        raise ValueError("family_power_sentence needs at least one member")

    def rank(pw: dict) -> float:
        ref = pw["effect_of_interest"]
        return pw["mde"] / ref if ref else pw["mde"]

    hardest = max(pws, key=lambda k: rank(pws[k]))
    every = ", ".join(f"{k} {v['mde']:.3g}{unit}" for k, v in pws.items())
    return (
        f"{hardest} (the hardest of {len(pws)}): {power_sentence(pws[hardest], unit, state)}; every member's: {every}"
    )


# ------------------------------------------------------------------------------------------ trend


def trend_sign(
    levels, values, claimed: str = "decreasing", alpha: float = ALPHA, method: str = "spearman", description: str = ""
) -> Outcome:
    """The sign of the trend of ``values`` (seeds x levels, or one value per level) over ``levels``,
    by a rank correlation over all (level, value) points, one-sided: ``shown`` when the claimed sign
    has p < alpha, ``reversed`` when the opposite sign does, else ``inconclusive``."""
    _check("claimed", claimed, ("decreasing", "increasing"))
    _check("trend method", method, TREND_METHODS)
    lv = np.asarray(levels, dtype=float)
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.shape[-1] != len(lv):
        raise ValueError(f"values need one column per level ({len(lv)}), got shape {v.shape}")
    x = np.broadcast_to(lv, v.shape).ravel()
    y = v.ravel()
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    fn = sps.spearmanr if method == "spearman" else sps.kendalltau
    alt = "less" if claimed == "decreasing" else "greater"
    rev = "greater" if alt == "less" else "less"
    constant = len(y) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0
    if constant:  # no rank correlation is defined (scipy would warn and give nan): no sign either way
        rho, p, p_rev = math.nan, 1.0, 1.0
    else:
        r = fn(x, y, alternative=alt)
        rho, p, p_rev = float(r.statistic), float(r.pvalue), float(fn(x, y, alternative=rev).pvalue)
    state = "shown" if p < alpha else "reversed" if p_rev < alpha else "inconclusive"
    measured = "constant values, no rank correlation" if constant else f"{method} rank correlation {rho:+.3f}"
    text = (
        f"{description + ': ' if description else ''}{measured} over "
        f"{len(y)} points, claimed {claimed}: p = {p:.3g} (reverse {p_rev:.3g})"
    )
    return Outcome(state, rho, text, p=p, p_reverse=p_rev)


# ---------------------------------------------------------------------------------- time to event


def censored(epochs, reached, limit: int | None = None) -> sps.CensoredData:
    """Epochs to a criterion as survival data: runs that reached it are events at their epoch; runs
    that never did are right-censored at ``limit`` (the epoch limit; default the largest epoch)."""
    e = np.asarray(epochs, dtype=float)
    r = np.asarray(reached, dtype=bool)
    if limit is None:
        limit = float(e.max()) if len(e) else 0.0
    return sps.CensoredData(uncensored=e[r], right=np.full(int((~r).sum()), float(limit)))


def from_max_plus_one(epochs, max_epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, reached) from the old coding where a run that never reached the criterion has
    ``max_epochs + 1``: those become right-censored at ``max_epochs``."""
    e = np.asarray(epochs, dtype=float)
    reached = e <= max_epochs
    return np.where(reached, e, float(max_epochs)), reached


@dataclass(frozen=True)
class KMMedian:
    median: float
    low: float
    high: float
    n: int
    n_censored: int
    times: np.ndarray
    survival: np.ndarray


def km_median(data: sps.CensoredData, confidence: float = 0.95) -> KMMedian:
    """Kaplan-Meier median time and its CI: the first time the KM survival (``scipy.stats.ecdf``) is
    <= 0.5; the CI limits are the first times the pointwise log-log band's lower / upper curve is
    <= 0.5 (Brookmeyer-Crowley by inversion); ``inf`` where a curve never gets there (more than half
    censored)."""
    res = sps.ecdf(data)
    sf = res.sf
    t = np.asarray(sf.quantiles, dtype=float)
    s = np.asarray(sf.probabilities, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = sf.confidence_interval(confidence, method="log-log")
    lo = np.nan_to_num(np.asarray(ci.low.probabilities, dtype=float), nan=0.0)
    hi = np.nan_to_num(np.asarray(ci.high.probabilities, dtype=float), nan=1.0)

    def first(curve: np.ndarray) -> float:
        hit = np.flatnonzero(curve <= 0.5 + 1e-12)
        return float(t[hit[0]]) if len(hit) else math.inf

    return KMMedian(first(s), first(lo), first(hi), len(data), int(data.num_censored()), t, s)


def time_to_event(a: sps.CensoredData, b: sps.CensoredData, alpha: float = ALPHA, description: str = "") -> Outcome:
    """``a`` reaches the criterion faster than ``b``: log-rank test (``scipy.stats.logrank``), one-sided
    in each direction; ``shown`` / ``reversed`` / ``inconclusive``. The effect is the difference of
    Kaplan-Meier medians (b - a, positive when a is faster)."""
    # scipy: alternative="greater" means the first sample's events happen earlier (checked in tests).
    with warnings.catch_warnings():  # no variance (identical event times, all censored): no evidence
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.logrank(a, b, alternative="greater").pvalue)
        p_rev = float(sps.logrank(a, b, alternative="less").pvalue)
    p = 1.0 if math.isnan(p) else p
    p_rev = 1.0 if math.isnan(p_rev) else p_rev
    ma, mb = km_median(a), km_median(b)
    state = "shown" if p < alpha else "reversed" if p_rev < alpha else "inconclusive"
    eff = mb.median - ma.median if math.isfinite(ma.median) and math.isfinite(mb.median) else math.nan
    text = (
        f"{description + ': ' if description else ''}KM median {_fmt(ma.median)} [{_fmt(ma.low)}, "
        f"{_fmt(ma.high)}] vs {_fmt(mb.median)} [{_fmt(mb.low)}, {_fmt(mb.high)}] epochs "
        f"(censored {ma.n_censored} and {mb.n_censored}), log-rank p(faster) = {p:.3g}, p(slower) = {p_rev:.3g}"
    )
    return Outcome(state, eff, text, p=p, p_reverse=p_rev, extra={"km": (ma, mb)})


def _fmt(v: float) -> str:
    return "never" if math.isinf(v) else f"{v:g}"


def _ratio(v: float) -> str:
    return "none" if math.isinf(v) else f"{v:g}x"


# ------------------------------------------------------------------------------- closed testing


@dataclass(frozen=True)
class ClosedTesting:
    widths: tuple
    params: tuple
    p_raw: tuple
    p_holm: tuple
    noninferior: tuple
    smallest: object
    ratio: float
    ratio_low: float
    ratio_high: float
    margin: float
    n_resamples: int
    reference_params: float

    def label(self) -> str:
        if self.smallest is None:
            return f"> {max(self.params) / self.reference_params:.3g}x (no width non-inferior)"
        return f"{self.ratio:.3g}x ({self.smallest})"


def _smallest_ni(
    counts: dict, reference: np.ndarray, params: dict, margin: float, alpha: float, test: str
) -> tuple[list, list, list, object]:
    names = list(counts)
    p = [_paired_p(np.asarray(counts[w], float) - reference + margin, test)[0] for w in names]
    ph = list(holm(p))
    ni = [w for w, q in zip(names, ph) if q < alpha]
    return p, ph, ni, _fewest_params(ni, params)


def _fewest_params(widths: list, params: dict):
    """The width with the fewest parameters, None when there is none."""
    return min(widths, key=lambda w: params[w]) if widths else None


def _smallest_ni_resampled(
    counts: dict, reference: np.ndarray, params: dict, margin: float, alpha: float, test: str, ix: np.ndarray
) -> list:
    """``_smallest_ni``'s width for every row of seed indices ``ix`` (R, n) at once: the tests of all
    resamples per width in one call, Holm per row."""
    names = list(counts)
    if not names or len(ix) == 0:
        return [None] * len(ix)
    p = np.stack([_paired_p_rows(np.asarray(counts[w], float)[ix] - reference[ix] + margin, test) for w in names], 1)
    return [_fewest_params([w for w, keep in zip(names, row) if keep], params) for row in holm(p) < alpha]


def closed_testing_widths(
    counts: dict,
    reference,
    params: dict,
    reference_params: float,
    margin: float,
    alpha: float = ALPHA,
    test: str = "signed-rank",
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ClosedTesting:
    """Non-inferiority of every width (``counts[width]``: per-seed correct counts, paired with
    ``reference``) at ``margin`` (in counts), Holm over all widths (the closed-testing shortcut for
    Bonferroni intersections, valid whatever the order of accuracy in width). The smallest
    non-inferior width by parameters gives the ratio params / reference_params (inf when none); its CI
    is the percentile interval of that ratio over bootstrap resamples of the seeds, each rerunning the
    whole procedure (all tests, Holm, the choice of width)."""
    ref = np.asarray(reference, dtype=float)
    names = list(counts)
    p, ph, ni, smallest = _smallest_ni(counts, ref, params, margin, alpha, test)
    ratio = params[smallest] / reference_params if smallest is not None else math.inf
    rng = np.random.default_rng(seed)
    n = len(ref)
    n_resamples = resamples(n_resamples)
    ix = np.array([rng.integers(0, n, n) for _ in range(n_resamples)], dtype=np.int64).reshape(n_resamples, n)
    smallest_each = _smallest_ni_resampled(counts, ref, params, margin, alpha, test, ix)
    ratios = np.array([params[s] / reference_params if s is not None else math.inf for s in smallest_each], float)
    tail = (1 - confidence) / 2
    if n_resamples:
        lo = float(np.quantile(ratios, tail, method="inverted_cdf"))
        hi = float(np.quantile(ratios, 1 - tail, method="inverted_cdf"))
    else:  # no CI asked for (descriptive use)
        lo = hi = ratio
    return ClosedTesting(
        tuple(names),
        tuple(params[w] for w in names),
        tuple(p),
        tuple(ph),
        tuple(ni),
        smallest,
        ratio,
        lo,
        hi,
        margin,
        n_resamples,
        float(reference_params),
    )


def ratio_outcome(ct: ClosedTesting, band: tuple[float, float]) -> Outcome:
    """'Needs about k x more parameters' (k in ``band``): ``shown`` when the smallest non-inferior
    ratio and its CI lie in the band; ``shown otherwise`` when the CI lies wholly below the band (a
    much smaller router matches) or wholly above it; else ``inconclusive``. Where no width is
    non-inferior the ratio is only known to exceed the largest width's ratio (inconclusive when that
    is inside the band)."""
    r, lo, hi = ct.ratio, ct.ratio_low, ct.ratio_high
    # no width non-inferior (inf) only says the ratio exceeds the largest width's
    top = max(ct.params) / ct.reference_params
    lo_known = top if math.isinf(lo) else lo
    if band[0] <= lo and hi <= band[1]:
        state = "shown"
    elif hi < band[0] or lo_known > band[1]:
        state = "shown otherwise"
    else:
        state = "inconclusive"
    rows = ", ".join(
        f"{w} ({pp:g} params) p = {a:.3g} / Holm {b:.3g}"
        for w, pp, a, b in zip(ct.widths, ct.params, ct.p_raw, ct.p_holm)
    )
    text = (
        f"closed testing over {len(ct.widths)} widths (Holm, margin {ct.margin:g} correct test points): {rows}; "
        f"smallest non-inferior: {ct.smallest or 'none'}, ratio {_ratio(r)} (95% bootstrap CI of the whole "
        f"procedure [{_ratio(lo)}, {_ratio(hi)}], {ct.n_resamples} resamples; none: no width non-inferior) vs the "
        f"stated {band[0]:g}-{band[1]:g}x"
    )
    return Outcome(state, r, text, low=lo, high=hi, extra={"closed_testing": ct})


# ------------------------------------------------------------------------------------ C4's gate


def gate_at_zero(delta0, alpha: float = ALPHA, test: str = "signed-rank") -> tuple[str, float, float]:
    """C4's gate alone: per-seed paired differences at eps = 0 (quantum - reference) give ``"kept"`` (one-sided
    p < alpha), ``"reversed"`` (the reverse p < alpha) or ``"none"``, with both p-values (``gated_threshold``'s
    first step)."""
    p0, p0_rev = _paired_p(np.asarray(delta0, dtype=float), test)
    state = "reversed" if p0_rev < alpha else ("kept" if p0 < alpha else "none")
    return state, p0, p0_rev


def gated_threshold(
    eps: Sequence[float],
    delta,
    band: tuple[float, float],
    alpha: float = ALPHA,
    monotone: bool = True,
    n_resamples: int = 1000,
    seed: int = 0,
    test: str = "signed-rank",
) -> Outcome:
    """'The advantage holds up to a breakdown in ``band``', judged only where there is an advantage:
    ``delta`` (seeds x eps, quantum - reference, paired) must first show quantum > reference at
    eps = 0 (one-sided paired test); without it the outcome is ``shown otherwise`` with the text "no
    advantage at eps = 0" and the threshold is reported descriptively. With it, the threshold eps*
    (``stats.noise_curve``) and its CI inside the band -> ``shown``; CI wholly outside -> ``shown
    otherwise``; else ``inconclusive``. A reversed advantage at eps = 0 is ``reversed``."""
    eps = np.asarray(eps, dtype=float)
    delta = np.asarray(delta, dtype=float)
    if eps[0] != 0:
        raise ValueError("the gate needs eps = 0 on the grid")
    kept, p0, p0_rev = gate_at_zero(delta[:, 0], alpha, test)
    curve = noise_curve(eps, delta, monotone=monotone, n_resamples=n_resamples, seed=seed)
    desc = f"eps* = {curve.label()} (95% CI [{curve.label(curve.threshold_low)}, {curve.label(curve.threshold_high)}])"
    gate = f"advantage at eps = 0: mean {delta[:, 0].mean():+.4g}, {test} p = {p0:.3g} (reverse {p0_rev:.3g})"
    if kept == "reversed":
        return Outcome(
            "reversed",
            curve.threshold,
            f"{gate}: reversed; threshold descriptive only: {desc}",
            p=p0,
            p_reverse=p0_rev,
            extra={"curve": curve, "gate": False},
        )
    if kept == "none":
        return Outcome(
            "shown otherwise",
            curve.threshold,
            f"{gate}: no advantage at eps = 0, so no threshold to locate (descriptive: {desc})",
            p=p0,
            p_reverse=p0_rev,
            extra={"curve": curve, "gate": False},
        )
    t, lo, hi = curve.threshold, curve.threshold_low, curve.threshold_high
    if band[0] <= lo and hi <= band[1]:
        state = "shown"
    elif hi < band[0] or lo > band[1]:
        state = "shown otherwise"
    else:
        state = "inconclusive"
    return Outcome(
        state,
        t,
        f"{gate}: kept; {desc} vs the stated band [{band[0]:g}, {band[1]:g}]",
        p=p0,
        p_reverse=p0_rev,
        low=lo,
        high=hi,
        extra={"curve": curve, "gate": True},
    )


# ----------------------------------------------------------------------------- combining parts


def decide(primary: Outcome, mapping: dict, secondaries: Sequence[tuple[Outcome, bool]] = ()) -> str:
    """The verdict: ``mapping[primary.state]``. Secondary parts are reported; one marked deciding
    (``(outcome, True)``) can only lower a 'reproduced' to 'partially reproduced' when it is not
    shown. A part that cannot fail (``can_fail=False``) never counts as holding."""
    verdict = mapping[primary.state]
    if verdict == "reproduced":
        for o, deciding in secondaries:
            if deciding and (o.state != "shown" or not o.can_fail):
                return "partially reproduced"
    return verdict


def one_sided_reach(values, stated: float, direction: str = "at least") -> Outcome:
    """The old-style check 'a run reaches at least ``stated``' (``values.max() >= stated``), kept to
    show why it cannot decide: when our mean is already on the passing side it cannot fail, and the
    outcome says so (``can_fail=False``)."""
    x = _finite(values)
    ok = x.max() >= stated if direction == "at least" else x.min() <= stated
    mean_side = x.mean() >= stated if direction == "at least" else x.mean() <= stated
    return Outcome(
        "shown" if ok else "shown otherwise",
        float(x.mean() - stated),
        f"{direction} {stated:g}: {'reached' if ok else 'not reached'}"
        + (" (cannot fail: our mean is already past it)" if mean_side else ""),
        can_fail=not mean_side,
    )


def run_rule(fn: Callable[..., Outcome], *args, **kwargs) -> Outcome:
    """Call a rule (for multiverse specifications built from keyword choices)."""
    return fn(*args, **kwargs)


def logrank_power(n_events: int, alpha: float = ALPHA, power: float = POWER) -> dict:
    """The smallest hazard ratio a one-sided log-rank test at ``alpha`` detects with ``power`` given
    ``n_events`` observed events over two equal groups (Schoenfeld's normal approximation:
    ln HR = (z_{1-alpha} + z_power) / sqrt(n_events / 4))."""
    if n_events <= 0:
        return {"hr": math.inf, "n_events": n_events, "alpha": alpha, "power": power}
    z = float(sps.norm.ppf(1 - alpha) + sps.norm.ppf(power))
    return {
        "hr": float(math.exp(z / math.sqrt(n_events / 4))),
        "n_events": int(n_events),
        "alpha": alpha,
        "power": power,
        "method": "Schoenfeld normal approximation, equal groups",
    }


def all_of(outcomes: Sequence[Outcome]) -> str:
    """The combined state of 'each stated value' claims: ``shown`` when every one is; ``reversed`` /
    ``shown otherwise`` when any one is; else ``inconclusive``."""
    states = [o.state for o in outcomes]
    if states and all(s == "shown" for s in states):
        return "shown"
    if "reversed" in states:
        return "reversed"
    if "shown otherwise" in states:
        return "shown otherwise"
    return "inconclusive"


def holm_family(outcomes: Sequence[Outcome], description: str, alpha: float = ALPHA) -> Outcome:
    """One outcome for 'on every member' over a family of one-sided comparisons (``paired_superiority``
    outcomes with ``p`` and ``p_reverse``), Holm-adjusted both ways: ``shown`` when every adjusted p is
    below ``alpha``, ``reversed`` when any adjusted reverse p is, else ``inconclusive``. Effect: the
    smallest member's; ``extra`` holds the members' adjusted p-values (``holm``, ``holm_reverse``)."""
    if not outcomes:
        raise ValueError("holm_family needs at least one outcome")
    up, down = holm([o.p for o in outcomes]), holm([o.p_reverse for o in outcomes])
    state = "shown" if (up < alpha).all() else "reversed" if (down < alpha).any() else "inconclusive"
    effect = float(min(o.effect for o in outcomes))
    text = (
        f"{description}: {state} ("
        + "; ".join(f"{o.text}, Holm p = {u:.3g} (reverse {d:.3g})" for o, u, d in zip(outcomes, up, down))
        + ")"
    )
    adjusted = {"holm": up.tolist(), "holm_reverse": down.tolist()}
    return Outcome(state, effect, text, p=float(up.max()), p_reverse=float(down.min()), extra=adjusted)


def combined(outcomes: Sequence[Outcome], description: str) -> Outcome:
    """One outcome standing for several (``all_of``), its text listing each."""
    state = all_of(outcomes)
    effect = float(np.mean([abs(o.effect) for o in outcomes])) if outcomes else math.nan
    return Outcome(
        state, effect, f"{description}: {state} (" + "; ".join(f"[{o.state}] {o.text}" for o in outcomes) + ")"
    )

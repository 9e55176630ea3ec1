"""Stage: analysis. Statistics over seeds, as pure functions of per-seed arrays (paired arrays share the seed order).

Intervals: Student-t and BCa-bootstrap confidence intervals of a mean, Student-t prediction intervals
for one more run. Tests: the exact Wilcoxon signed-rank test (any seed count, ties and zeros, null
distribution by dynamic programming), Holm correction, fixed-sequence testing. Curves: the noise
threshold of a per-seed advantage curve with a paired bootstrap, and convergence criteria on
per-epoch validation curves. Resampling is seeded, so every number is deterministic.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from qmoe_tfq.core.errors import ConfigError, check_choice

CONFIDENCE = 0.95
ALPHA = 0.05
ACCURACY_BOUNDS = (0.0, 1.0)
BOOTSTRAP_RESAMPLES = 9999
THRESHOLD_RESAMPLES = 1000
TIE_TOLERANCE = 1e-9
ALTERNATIVES = ("greater", "less", "two-sided")
SIDES = ("two-sided", "upper", "lower")
#: Environment variable scaling the seed-resampling loops (``resamples``); ``make paper QUICK=1`` sets it.
RESAMPLE_SCALE_ENV = "QMOE_RESAMPLE_SCALE"
QUICK_RESAMPLE_SCALE = 0.1
MIN_SCALED_RESAMPLES = 10


def resamples(n: int) -> int:
    """``n`` seed resamples, scaled by ``QMOE_RESAMPLE_SCALE`` (in (0, 1]; unset: 1) and never below
    ``MIN_SCALED_RESAMPLES`` unless ``n`` is. The stability, multiverse and closed-testing loops call it:
    ``make paper QUICK=1`` runs them at ``QUICK_RESAMPLE_SCALE``, because a smoke run has two or three
    seeds and its verdicts are not meaningful; full-size runs never set it.

    Examples
    --------
    >>> from qmoe_tfq.analysis.stats import resamples
    >>> resamples(1000)  # QMOE_RESAMPLE_SCALE unset
    1000
    """
    text = os.environ.get(RESAMPLE_SCALE_ENV, "").strip()
    if not text:
        return n
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not 0.0 < scale <= 1.0:
        raise ConfigError(f"{RESAMPLE_SCALE_ENV} must be a number in (0, 1], got {text!r}")
    return max(min(n, MIN_SCALED_RESAMPLES), math.ceil(n * scale))


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` seeds with an interval and the name of the method that made it (for captions)."""

    mean: float
    low: float
    high: float
    n: int
    method: str = "Student-t"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _clip(low: float, high: float, bounds: tuple[float, float] | None) -> tuple[float, float]:
    if bounds is None:
        return low, high
    return max(low, bounds[0]), min(high, bounds[1])


def t_interval(values, confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None) -> Interval:
    """Mean and Student-t interval of ``values`` (NaNs dropped); width 0 for one value or no spread.

    ``bounds`` clips the interval to the range the quantity can take (e.g. (0, 1) for accuracy).
    """
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1 or np.all(x == x[0]):
        return Interval(mean, mean, mean, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, *_clip(mean - half, mean + half, bounds), n)


def bootstrap_interval(
    values,
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    side: str = "two-sided",
    bounds: tuple[float, float] | None = None,
) -> Interval:
    """Mean and BCa bootstrap interval (``scipy.stats.bootstrap``, seeded) of ``values``, NaNs dropped.

    Bootstrap means never leave [min, max] of the data, so intervals of accuracies stay inside [0, 1].
    ``side="upper"`` gives a one-sided interval (-inf or ``bounds[0]``, upper limit], ``"lower"`` the
    mirror. Where BCa is undefined (a nearly constant sample) the percentile interval is used, and
    ``method`` says so; no spread gives width 0.
    """
    check_choice("side", side, SIDES)
    x = _finite(values)
    n = len(x)
    method = f"BCa bootstrap ({n_resamples} resamples)"
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, method)
    mean = float(x.mean())
    if n == 1 or np.all(x == x[0]):
        return Interval(mean, mean, mean, n, method)
    alternative = {"two-sided": "two-sided", "upper": "less", "lower": "greater"}[side]
    low, high, used = bootstrap_ci(x, confidence, n_resamples, seed, alternative=alternative)
    if used != "BCa":
        method = f"percentile bootstrap ({n_resamples} resamples; BCa undefined)"
    return Interval(mean, *_clip(low, high, bounds), n, method)


def bootstrap_ci(
    x: np.ndarray,
    confidence: float,
    n_resamples: int,
    seed: int,
    methods: Sequence[str] = ("BCa", "percentile"),
    alternative: str = "two-sided",
) -> tuple[float, float, str | None]:
    """The first finite seeded ``scipy.stats.bootstrap`` interval of the mean of ``x`` over ``methods``
    (BCa is undefined for a nearly constant sample) and the method that gave it; the last limits and
    None when every method gives NaN."""
    low = high = math.nan
    for name in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                (x,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=confidence,
                method=name,
                alternative=alternative,
                vectorized=True,
                rng=np.random.default_rng(seed),
            )
        low, high = (float(v) for v in res.confidence_interval)
        if not (math.isnan(low) or math.isnan(high)):
            return low, high, name
    return low, high, None


def prediction_interval(
    values, confidence: float = CONFIDENCE, side: str = "two-sided", bounds: tuple[float, float] | None = None
) -> Interval:
    """Where one more run's value is expected: the Student-t prediction interval for a single new
    value, mean +- t(n-1) * s * sqrt(1 + 1/n), widened to contain every observed value, then clipped
    to ``bounds``. ``side="upper"`` keeps only the upper limit (at one-sided ``confidence``; low is
    ``bounds[0]`` or -inf), ``"lower"`` only the lower.

    Why Student-t and not order statistics: a distribution-free two-sided 95% prediction interval
    needs at least 39 runs (one-sided: 19), more than the seeds used here. Why widened: a value one of
    our own runs reached is, by that run, attainable by a single run.
    """
    check_choice("side", side, SIDES)
    x = _finite(values)
    n = len(x)
    if n < 2:
        raise ValueError(f"a prediction interval needs at least 2 runs, got {n}")
    mean, s = float(x.mean()), float(x.std(ddof=1))
    q = confidence if side != "two-sided" else 0.5 + confidence / 2
    half = float(stats.t.ppf(q, n - 1)) * s * math.sqrt(1 + 1 / n)
    low, high = min(mean - half, float(x.min())), max(mean + half, float(x.max()))
    if side == "upper":
        low = -math.inf
    elif side == "lower":
        high = math.inf
    tail = "two-sided" if side == "two-sided" else f"one-sided {side}"
    return Interval(
        mean,
        *_clip(low, high, bounds),
        n,
        f"Student-t {tail} prediction interval for one run, widened to the observed range",
    )


# ------------------------------------------------------------------------------ exact paired tests


def correct_counts(accuracy, n_test) -> np.ndarray:
    """Integer counts of correct test points from k/n accuracies (``n_test`` a number or per seed)."""
    acc = np.asarray(accuracy, dtype=float)
    k = acc * np.asarray(n_test, dtype=float)
    counts = np.rint(k)
    bad = np.abs(k - counts) > 1e-6
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ConfigError(
            f"accuracy {acc.ravel()[i]!r} is not k/n for n_test = "
            f"{np.broadcast_to(n_test, acc.shape).ravel()[i]!r}; pass the run's n_correct"
        )
    return counts.astype(int)


def _tied_abs(d: np.ndarray) -> np.ndarray:
    """|d| with values closer than ``TIE_TOLERANCE`` made equal (k/n float differences tie exactly)."""
    a = np.abs(d)
    order = np.argsort(a, kind="stable")
    s = a[order]
    group = np.concatenate([[0], np.cumsum(np.diff(s) > TIE_TOLERANCE)])
    first = s[np.searchsorted(group, group)]
    out = np.empty_like(a)
    out[order] = np.where(first <= TIE_TOLERANCE, 0.0, first)
    return out


def _rank_key(ranks2: np.ndarray) -> tuple[int, ...]:
    """The memo key of the null distribution of T2 = sum_i ranks2_i * B_i (``_signed_rank_pmf_of``).

    It depends on the multiset of ranks only, so it is memoised on the sorted ranks (bootstrap and
    multiverse resamples repeat tie patterns thousands of times). Up to 50 ranks the counts are
    integers below 2^53, exact in float64, so summing in sorted order does not change a bit of the
    result; longer inputs keep their own order."""
    ranks = tuple(int(r) for r in ranks2)
    return tuple(sorted(ranks)) if len(ranks) <= 50 else ranks


@functools.lru_cache(maxsize=8192)
def _signed_rank_pmf_of(ranks2: tuple[int, ...]) -> np.ndarray:
    """Null distribution of T2 = sum_i ranks2_i * B_i, B_i independent fair coins (ranks2 integer,
    keyed by ``_rank_key``). Read-only: do not modify the returned array."""
    pmf = np.zeros(sum(ranks2) + 1)
    pmf[0] = 1.0
    for r in ranks2:
        pmf[r:] = pmf[r:] + pmf[:-r]
    pmf /= 2.0 ** len(ranks2)
    pmf.flags.writeable = False
    return pmf


def signed_rank_tails(d) -> tuple[float, float]:
    """Exact one-sided p-values (greater, less) of the signed-rank test on ``d``; see ``signed_rank_p``."""
    d = _finite(d)
    a = _tied_abs(d)
    nonzero = a > 0
    if not nonzero.any():
        return 1.0, 1.0
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    mid2 = 2 * np.cumsum(counts) - counts + 1  # twice the mid-rank of each distinct |d|
    ranks2 = mid2[inverse][nonzero]
    t = int(ranks2[d[nonzero] > 0].sum())
    return _signed_rank_tails_of(_rank_key(ranks2), t)


@functools.lru_cache(maxsize=65536)
def _signed_rank_tails_of(ranks2: tuple[int, ...], t: int) -> tuple[float, float]:
    """Upper and lower tail of the null distribution of ``ranks2`` (a ``_rank_key``) at the statistic ``t``."""
    pmf = _signed_rank_pmf_of(ranks2)
    return min(float(pmf[t:].sum()), 1.0), min(float(pmf[: t + 1].sum()), 1.0)


def signed_rank_tails_rows(d) -> tuple[np.ndarray, np.ndarray]:
    """``signed_rank_tails`` of every row of ``d`` (R, n) at once, bit-identical to calling it row by
    row (tested): the bootstrap of a whole testing procedure (C5's closed testing) runs the test on
    hundreds of thousands of resampled rows, where the per-call ranking dominated the ledger's time.
    Rows with a NaN or more than 50 entries take the per-row path."""
    d = np.asarray(d, dtype=float)
    if d.ndim != 2:
        raise ValueError(f"signed_rank_tails_rows needs a 2-D array (rows, seeds), got shape {d.shape}")
    rows, n = d.shape
    greater, less = np.ones(rows), np.ones(rows)
    if rows == 0 or n == 0:
        return greater, less
    if n > 50 or np.isnan(d).any():
        for i, row in enumerate(d):
            greater[i], less[i] = signed_rank_tails(row)
        return greater, less
    a = np.abs(d)
    order = np.argsort(a, axis=1, kind="stable")
    s = np.take_along_axis(a, order, 1)
    starts = np.concatenate([np.ones((rows, 1), bool), np.diff(s, axis=1) > TIE_TOLERANCE], axis=1)
    pos = np.arange(n)
    first_ix = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    ends = np.concatenate([starts[:, 1:], np.ones((rows, 1), bool)], axis=1)
    last_ix = np.minimum.accumulate(np.where(ends, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
    tied = np.take_along_axis(s, first_ix, 1)
    nonzero = tied > TIE_TOLERANCE
    mid2 = first_ix + last_ix + 2  # twice the mid-rank, zeros ranked with the rest (Pratt)
    positive = np.take_along_axis(d, order, 1) > 0
    t = (mid2 * (nonzero & positive)).sum(axis=1)
    for i in np.flatnonzero(nonzero.any(axis=1)):
        greater[i], less[i] = _signed_rank_tails_of(_rank_key(mid2[i][nonzero[i]]), int(t[i]))
    return greater, less


def signed_rank_p(d, alternative: str = "greater") -> float:
    """Exact p-value of the Wilcoxon signed-rank test that ``d`` (paired differences) is centred above
    0 (``"greater"``), below it (``"less"``) or either (``"two-sided"``), NaNs dropped.

    Ties get mid-ranks, zeros are ranked with the rest and then carry no sign (Pratt), and the null
    distribution of the statistic (sum of the ranks of positive differences) is enumerated exactly by
    dynamic programming over the 2^m sign flips of the m non-zero differences: the p-value is exact at
    any seed count, with or without ties. Differences closer than ``TIE_TOLERANCE`` are ties. All-zero
    differences give p = 1.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    greater, less = signed_rank_tails(d)
    return {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]


def paired_signed_rank(a, b, alternative: str = "greater", shift=0.0) -> float:
    """Exact signed-rank p-value on the per-seed differences ``a - b + shift`` (pairs with a NaN dropped).

    ``shift`` (a number or per seed) turns the test into a non-inferiority test: with shift = margin,
    ``"greater"`` tests that ``a`` is at most ``margin`` worse than ``b``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need the same shape, got {a.shape} and {b.shape}")
    return signed_rank_p(a - b + np.asarray(shift, dtype=float), alternative)


def paired_wilcoxon(a, b, alternative: str = "greater") -> float:
    """p-value of the exact Wilcoxon signed-rank test on paired samples a - b (same seeds, same splits).

    ``alternative="greater"`` tests a > b. All-zero differences give p = 1 (no evidence either way).
    Kept for the study tables; see ``signed_rank_p`` for the method.
    """
    return paired_signed_rank(a, b, alternative)


def min_attainable_p(n: int, alternative: str = "greater") -> float:
    """Smallest p-value the exact signed-rank test can give with ``n`` non-zero differences: 2^-n
    one-sided (0.031 at n = 5), twice that two-sided."""
    check_choice("alternative", alternative, ALTERNATIVES)
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) * 0.5**n)


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control, any dependence), input order kept;
    a 2-D input holds one family per row (a bootstrap's resamples of one procedure)."""
    p = np.asarray(p_values, dtype=float)
    m = p.shape[-1]
    if m == 0:
        return p
    order = np.argsort(p, axis=-1, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * np.take_along_axis(p, order, -1), axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, np.minimum(adjusted, 1.0), -1)
    return out


def fixed_sequence(p_values, alpha: float = ALPHA) -> int:
    """How many hypotheses, tested in the given order each at ``alpha``, are rejected before the first
    that is not (fixed-sequence testing: family-wise error ``alpha`` with no split of alpha)."""
    rejected = 0
    for p in p_values:
        if not p < alpha:
            break
        rejected += 1
    return rejected


# ------------------------------------------------------------------------------- noise threshold


def isotonic_decreasing(y) -> np.ndarray:
    """Least-squares non-increasing fit of each row of ``y`` (last axis; equal weights).

    Vectorised min-max formula: f_i = min_{j<=i} max_{k>=i} mean(y_j..y_k), the same fit as
    ``sklearn.isotonic.isotonic_regression(increasing=False)`` (checked in the tests), for many rows
    at once (bootstrap resamples).
    """
    z = -np.asarray(y, dtype=float)
    m = z.shape[-1]
    c = np.concatenate([np.zeros(z.shape[:-1] + (1,)), np.cumsum(z, axis=-1)], axis=-1)
    j, k = np.arange(m)[:, None], np.arange(m)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = (c[..., k + 1] - c[..., j]) / (k - j + 1)
    avg = np.where(k >= j, avg, np.inf)
    right_min = np.flip(np.minimum.accumulate(np.flip(avg, -1), axis=-1), -1)
    right_min = np.where(k >= j, right_min, -np.inf)
    return -right_min.max(axis=-2)


def zero_crossing(eps: np.ndarray, curve) -> np.ndarray:
    """First eps at which ``curve`` (last axis, over ascending ``eps``) is <= 0: interpolated linearly
    in log eps between positive grid points, linearly in eps on [0, first positive eps]; ``eps[0]``
    when the curve starts at or below 0; +inf when it never gets there."""
    f = np.asarray(curve, dtype=float)
    eps = np.asarray(eps, dtype=float)
    below = f <= 0
    i = np.argmax(below, axis=-1)
    prev = np.maximum(i - 1, 0)
    f0 = np.take_along_axis(f, prev[..., None], -1)[..., 0]
    f1 = np.take_along_axis(f, i[..., None], -1)[..., 0]
    e0, e1 = eps[prev], eps[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(f0 > f1, f0 / (f0 - f1), 1.0)
        log_interp = np.exp(np.log(e0) + frac * (np.log(e1) - np.log(e0)))
    out = np.where(e0 > 0, log_interp, frac * e1)
    out = np.where(i == 0, eps[0], out)
    return np.where(below.any(axis=-1), out, np.inf)


@dataclass(frozen=True)
class NoiseCurve:
    """The advantage Delta(eps) = quantum(eps) - reference over seeds, and where it is lost.

    ``mean``: mean Delta per eps, with ``low``/``high`` its percentile 95% interval over paired
    bootstrap resamples of the seeds; ``p_kept``/``p_lost``: per eps, the exact one-sided signed-rank
    p-values of Delta > 0 and Delta < 0 (they decide kept / lost / inconclusive: exact at any seed
    count, and one seed's bad minimum is one rank, not a shifted mean); ``fitted``: the curve the
    threshold is read from (``mean`` made non-increasing by isotonic regression when ``monotone``),
    with ``fitted_low``/``fitted_high`` its interval over the same resamples (figures only: an
    isotonic fit is biased upwards at the first eps); ``threshold``: the zero crossing of ``fitted``
    (``zero_crossing``) with its percentile interval over the resamples.
    """

    eps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_kept: np.ndarray
    p_lost: np.ndarray
    fitted: np.ndarray
    fitted_low: np.ndarray
    fitted_high: np.ndarray
    threshold: float
    threshold_low: float
    threshold_high: float
    n_seeds: int
    n_resamples: int
    monotone: bool

    @property
    def method(self) -> str:
        fit = "isotonic (non-increasing) fit of the mean" if self.monotone else "mean"
        return (
            f"{fit} over {self.n_seeds} seeds; percentile 95% intervals over {self.n_resamples} "
            "paired bootstrap resamples of the seeds"
        )

    def index(self, eps: float) -> int:
        hit = np.flatnonzero(np.isclose(self.eps, eps, rtol=1e-9, atol=1e-15))
        if not len(hit):
            raise ConfigError(f"eps {eps!r} is not on the grid; allowed: {', '.join(f'{e:g}' for e in self.eps)}")
        return int(hit[0])

    def state_at(self, eps: float, alpha: float = ALPHA) -> str:
        """``kept`` (Delta > 0 at ``eps`` with one-sided exact p < alpha), ``lost`` (Delta < 0 likewise)
        or ``inconclusive``."""
        i = self.index(eps)
        if self.p_kept[i] < alpha:
            return "kept"
        if self.p_lost[i] < alpha:
            return "lost"
        return "inconclusive"

    def label(self, value: float | None = None) -> str:
        """eps* as text: the value, ``> max`` (no crossing in the grid) or no advantage at the start."""
        value = self.threshold if value is None else value
        if math.isinf(value):
            return f"> {self.eps[-1]:g}"
        if value == self.eps[0] and self.fitted[0] <= 0:
            return "0 (no advantage at eps = 0)" if value == 0 else f"<= {value:g}"
        return f"{value:.3g}"


def noise_curve(
    eps: Sequence[float],
    delta,
    monotone: bool = True,
    n_resamples: int = THRESHOLD_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> NoiseCurve:
    """The advantage curve and its threshold from per-seed differences ``delta`` (seeds x eps, paired:
    quantum(eps) - reference on the same seed), with a paired bootstrap over seeds (rows resampled
    together, so each resample keeps every seed's whole curve).

    ``monotone=True`` (train under noise, where each eps is a fresh training run) fits the mean curve
    non-increasing in eps before reading the crossing, in the full sample and in every resample, so a
    seed's bad minimum at one eps pools with its neighbours instead of making an early crossing.
    """
    eps = np.asarray(eps, dtype=float)
    delta = np.asarray(delta, dtype=float)
    if delta.ndim != 2 or delta.shape[1] != len(eps):
        raise ValueError(f"delta must be seeds x eps ({len(eps)} columns), got shape {delta.shape}")
    if np.any(np.diff(eps) <= 0) or eps[0] < 0:
        raise ConfigError(f"eps must be non-negative and strictly increasing, got {list(eps)}")
    if np.isnan(delta).any():
        seed_row = int(np.argmax(np.isnan(delta).any(axis=1)))
        raise ConfigError(f"delta has a missing value on row {seed_row}: every seed needs every eps (paired)")
    n = delta.shape[0]

    def fit(means: np.ndarray) -> np.ndarray:
        return isotonic_decreasing(means) if monotone else means

    mean = delta.mean(axis=0)
    fitted = fit(mean)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    boot_mean = delta[idx].mean(axis=1)
    boot = fit(boot_mean)
    tail = (1 - confidence) / 2
    crossings = zero_crossing(eps, boot)
    tails = np.array([signed_rank_tails(delta[:, j]) for j in range(len(eps))])
    return NoiseCurve(
        eps=eps,
        mean=mean,
        low=np.quantile(boot_mean, tail, axis=0),
        high=np.quantile(boot_mean, 1 - tail, axis=0),
        p_kept=tails[:, 0],
        p_lost=tails[:, 1],
        fitted=fitted,
        fitted_low=np.quantile(boot, tail, axis=0),
        fitted_high=np.quantile(boot, 1 - tail, axis=0),
        threshold=float(zero_crossing(eps, fitted)),
        threshold_low=float(np.quantile(crossings, tail, method="inverted_cdf")),
        threshold_high=float(np.quantile(crossings, 1 - tail, method="inverted_cdf")),
        n_seeds=n,
        n_resamples=n_resamples,
        monotone=monotone,
    )


# ----------------------------------------------------------------------------------- convergence


def epochs_to_exceed(
    curves: Sequence[Sequence[float]], floor, margin: float, max_epochs: int | None = None
) -> np.ndarray:
    """Per run: the first epoch (1-based) whose validation accuracy exceeds ``floor + margin``;
    ``max_epochs + 1`` if it never does (a run collapsed on the experts-only floor never does).

    ``floor`` is one number or one per run (e.g. the constant-gate model on the same seed);
    ``max_epochs`` defaults to the longest curve (runs stopped early are censored there).
    """
    curves = [np.asarray(c, dtype=float) for c in curves]
    longest = max((len(c) for c in curves), default=0)
    max_epochs = longest if max_epochs is None else max_epochs
    if longest > max_epochs:
        raise ValueError(f"a curve has {longest} epochs, more than max_epochs = {max_epochs}")
    floors = np.broadcast_to(np.asarray(floor, dtype=float), (len(curves),))
    out = np.full(len(curves), max_epochs + 1, dtype=int)
    for i, (c, f) in enumerate(zip(curves, floors)):
        above = np.flatnonzero(c > f + margin)
        if len(above):
            out[i] = int(above[0]) + 1
    return out


def curve_area(curves: Sequence[Sequence[float]], floor=0.0, horizon: int | None = None) -> np.ndarray:
    """Per run: the mean over epochs 1..``horizon`` of max(validation accuracy - ``floor``, 0), the
    last value carried forward past a run's end; 0 for a run that never leaves the floor."""
    curves = [np.asarray(c, dtype=float) for c in curves]
    horizon = max(len(c) for c in curves) if horizon is None else horizon
    floors = np.broadcast_to(np.asarray(floor, dtype=float), (len(curves),))
    out = np.empty(len(curves))
    for i, (c, f) in enumerate(zip(curves, floors)):
        if len(c) == 0:
            raise ValueError(f"run {i} has an empty validation curve")
        padded = np.concatenate([c[:horizon], np.full(max(0, horizon - len(c)), c[-1])])
        out[i] = float(np.mean(np.maximum(padded - f, 0.0)))
    return out


def efficiency(accuracy: float, router_params: int | None) -> float:
    """The paper's efficiency ratio eta = accuracy / ln(1 + P), natural log; NaN when P is 0 or n/a."""
    if router_params is None or router_params <= 0 or math.isnan(accuracy):
        return math.nan
    return accuracy / math.log1p(router_params)

"""Statistics over seeds: t-based 95% confidence intervals and paired Wilcoxon tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
ACCURACY_BOUNDS = (0.0, 1.0)


@dataclass(frozen=True)
class Interval:
    """Mean with a two-sided Student-t confidence interval over ``n`` seeds."""

    mean: float
    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def t_interval(values, confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None) -> Interval:
    """Mean and Student-t interval of ``values`` (NaNs dropped); width 0 for one value or no spread.

    ``bounds`` clips the interval to the range the quantity can take (e.g. (0, 1) for accuracy).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1 or np.all(x == x[0]):
        return Interval(mean, mean, mean, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(mean, low, high, n)


def paired_wilcoxon(a, b, alternative: str = "greater") -> float:
    """p-value of the Wilcoxon signed-rank test on paired samples a - b (same seeds, same splits).

    ``alternative="greater"`` tests a > b. All-zero differences give p = 1 (no evidence either way).
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) == 0 or np.all(d == 0):
        return 1.0
    if len(d) <= EXACT_SIGN_FLIP_MAX_N and (np.any(d == 0) or len(np.unique(np.abs(d))) < len(d)):
        return _sign_flip_p(d, alternative)
    return float(stats.wilcoxon(d, alternative=alternative, zero_method="zsplit").pvalue)


# scipy's wilcoxon answers n <= 13 with ties or zeros by an exact sign-flip permutation test whose
# statistic it evaluates one flip at a time (~0.2-0.5 s a call); _sign_flip_p runs the same test
# (same statistic, same enumeration, same p-value) with the statistic vectorised over the flips.
EXACT_SIGN_FLIP_MAX_N = 13


def _sign_flip_p(d: np.ndarray, alternative: str) -> float:
    """p-value of scipy's permutation Wilcoxon test (zsplit) on ``d``; ranks of |d| do not change
    under sign flips, so R+ = sum(rank * (d > 0)) + half the ranks of the zeros."""
    ranks = stats.rankdata(np.abs(d))
    zero_half = ranks[d == 0].sum() / 2

    def r_plus(x: np.ndarray, axis: int) -> np.ndarray:
        return np.sum(ranks * (np.moveaxis(x, axis, -1) > 0), axis=-1) + zero_half

    return float(stats.permutation_test((d,), r_plus, permutation_type="samples", vectorized=True,
                                        alternative=alternative).pvalue)


def efficiency(accuracy: float, router_params: int | None) -> float:
    """The paper's efficiency ratio eta = accuracy / ln(1 + P), natural log; NaN when P is 0 or n/a."""
    if router_params is None or router_params <= 0 or math.isnan(accuracy):
        return math.nan
    return accuracy / math.log1p(router_params)

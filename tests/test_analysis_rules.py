"""Issue #21's rules on constructed per-seed data (numpy/scipy only, no TensorFlow): each rule can say
'reproduced', 'not reproduced' (or 'contradicted') and 'inconclusive'."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qmoe_tfq.analysis import multiverse as mv
from qmoe_tfq.analysis import plan as pl
from qmoe_tfq.analysis import rules as r

N_TEST = 150


def verdict(claim: str, outcome: r.Outcome) -> str:
    return pl.PLAN[claim].verdict(outcome.state)


# ------------------------------------------------------------------ the "Tests" list


def test_only_holding_part_cannot_fail_is_not_partially_reproduced():
    rng = np.random.default_rng(0)
    quantum = 0.98 + rng.normal(0, 0.01, 20)  # well above the stated 94%
    linear = quantum + rng.normal(0, 0.03, 20)  # no ordering either way
    reach = r.one_sided_reach(quantum, 0.94)  # the old "reaches at least 94%" part
    assert reach.state == "shown" and not reach.can_fail
    primary = r.paired_superiority(np.rint(quantum * N_TEST), np.rint(linear * N_TEST))
    assert primary.state == "inconclusive"
    v = r.decide(primary, pl.PLAN["C1"].mapping, [(reach, True)])
    assert v != "partially reproduced" and v == "not reproduced"
    # and a deciding part that cannot fail does not lift a reproduced primary either
    strong = r.paired_superiority(np.rint(quantum * N_TEST), np.rint((quantum - 0.1) * N_TEST))
    assert r.decide(strong, pl.PLAN["C1"].mapping, [(reach, True)]) == "partially reproduced"
    assert r.decide(strong, pl.PLAN["C1"].mapping, [(reach, False)]) == "reproduced"


def test_censored_runs_do_not_inflate_the_median():
    # 10 runs, 6 reach the criterion at 2, 4, 6, 8, 10, 12; 4 never do (limit 100). True KM median: 10
    # (S drops to 0.5 at the 5th event: 1 - 5/10). Old coding: never = 101 inflates the mean to 44.6.
    epochs = np.array([2, 4, 6, 8, 10, 12, 101, 101, 101, 101])
    e, reached = r.from_max_plus_one(epochs, 100)
    km = r.km_median(r.censored(e, reached, limit=100))
    assert km.median == 10
    assert km.n_censored == 4
    assert epochs.mean() == pytest.approx(44.6)
    assert km.low <= 10 <= km.high
    # more than half never reaching: the median is 'never', not a number
    late = r.km_median(r.censored([3, 5, 100, 100, 100], [1, 1, 0, 0, 0], limit=100))
    assert math.isinf(late.median)


def test_logrank_direction_and_time_to_event_outcomes():
    fast = r.censored([1, 2, 3, 4, 5, 6, 7, 8], np.ones(8, bool), 50)
    slow = r.censored([20, 25, 30, 35, 50, 50, 50, 50], [1, 1, 1, 1, 0, 0, 0, 0], 50)
    assert verdict("C7", r.time_to_event(fast, slow)) == "reproduced"
    assert verdict("C7", r.time_to_event(slow, fast)) == "contradicted"
    same = r.censored([3, 9, 5, 12, 7, 4], np.ones(6, bool), 50)
    same2 = r.censored([4, 8, 6, 11, 6, 5], np.ones(6, bool), 50)
    assert verdict("C7", r.time_to_event(same, same2)) == "inconclusive"


def test_closed_testing_finds_a_small_width_behind_a_failing_large_one():
    rng = np.random.default_rng(1)
    ref = rng.integers(135, 145, 12).astype(float)
    counts = {
        "mlp_h64": ref - 15 + rng.integers(-2, 3, 12),  # large width clearly inferior
        "mlp_h3": ref + rng.integers(0, 3, 12),
    }  # small width non-inferior
    params = {"mlp_h64": 322, "mlp_h3": 17}
    ct = r.closed_testing_widths(counts, ref, params, 24, margin=0.01 * N_TEST, n_resamples=200)
    assert ct.smallest == "mlp_h3"
    assert ct.ratio == pytest.approx(17 / 24)
    # a fixed sequence from the largest width stops at once
    try:
        from qmoe_tfq.analysis.stats import fixed_sequence
    except ImportError:
        from qmoe_tfq.analysis.stats import fixed_sequence
    assert fixed_sequence([ct.p_raw[0], ct.p_raw[1]]) == 0
    out = r.ratio_outcome(ct, (5, 20))
    assert out.state == "shown otherwise" and verdict("C5", out) == "contradicted"


def test_tost_wide_bimodal_is_inconclusive_and_tight_is_reproduced():
    bimodal = np.array([0.80, 1.00] * 5)  # mean 0.90 = stated, seeds at 0.80 or 1.00
    out = r.tost_mean(bimodal, 0.90, 0.02)
    assert out.state == "inconclusive" and out.extra["too_wide"]
    assert verdict("N1", out) == "inconclusive"
    tight = 0.90 + np.linspace(-0.004, 0.004, 10)
    assert verdict("N1", r.tost_mean(tight, 0.90, 0.02)) == "reproduced"
    far = 0.80 + np.linspace(-0.004, 0.004, 10)
    assert verdict("N1", r.tost_mean(far, 0.90, 0.02)) == "not reproduced"


def test_reversed_trend_is_not_reproduced():
    eps = np.array([0, 0.02, 0.05, 0.1, 0.15, 0.2])
    rng = np.random.default_rng(2)
    rising = 0.95 + 0.15 * eps + rng.normal(0, 0.003, (8, 6))
    out = r.trend_sign(eps, rising, claimed="decreasing")
    assert out.state == "reversed" and verdict("N3", out) in ("not reproduced", "contradicted")
    assert verdict("N3", out) != "reproduced"
    falling = 0.99 - 0.15 * eps + rng.normal(0, 0.003, (8, 6))
    assert verdict("N3", r.trend_sign(eps, falling, claimed="decreasing")) == "reproduced"
    flat = 0.97 + rng.normal(0, 0.01, (3, 6))
    assert verdict("N3", r.trend_sign(eps, flat, claimed="decreasing", method="kendall")) == "inconclusive"


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_a_constant_trend_is_inconclusive_and_says_why_without_a_warning(method):
    import warnings

    eps = np.array([0, 0.02, 0.05, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's ConstantInputWarning would reach the terminal of make paper
        out = r.trend_sign(eps, np.ones((3, 4)), claimed="decreasing", method=method)
    assert out.state == "inconclusive" and verdict("N3", out) == "inconclusive"
    assert (out.p, out.p_reverse) == (1.0, 1.0) and "constant values" in out.text


def _ni_verdict_of(challenger, reference):
    def verdict_of(spec, pos):
        margin = spec["margin_pp"] / 100 * N_TEST
        o = r.paired_noninferiority(challenger[pos], reference[pos], margin, test=spec["test"], scale=1 / N_TEST)
        return {
            "shown": "reproduced",
            "shown otherwise": "not reproduced",
            "inconclusive": "inconclusive",
            "reversed": "contradicted",
        }[o.state], o.effect

    return verdict_of


def test_multiverse_share_one_for_robust_and_fragile_when_margin_flips():
    rng = np.random.default_rng(3)
    ref = rng.integers(140, 146, 20).astype(float)
    robust = ref + 3 + rng.integers(0, 2, 20)  # better than the reference: NI at any margin
    res = mv.run_multiverse(_ni_verdict_of(robust, ref), 20, only=("margin_pp", "test", "seeds"), n_resamples=30)
    assert res.headline == "reproduced" and res.share == 1.0 and not res.fragile
    assert any("restarts" in s for s in res.not_run) and any("init" in s for s in res.not_run)
    # 1.5 points (1 pp of 150) worse, tightly: NI at 2 pp (3 points), inferior beyond 1 pp
    edge = ref - 2 + rng.integers(0, 2, 20) * 0.0
    res2 = mv.run_multiverse(_ni_verdict_of(edge, ref), 20, only=("margin_pp", "test", "seeds"), n_resamples=30)
    assert res2.share < mv.FRAGILE_BELOW and res2.fragile
    assert "margin_pp=2" in res2.flipping
    assert len(res2.effects) == res2.n_specs == 8


def test_a_run_choice_that_cannot_change_a_claim_is_declared_not_applicable_with_its_reason():
    def verdict_of(spec, pos):
        return "reproduced", 0.0

    c8 = mv.run_multiverse(verdict_of, 5, claim="C8", only=("seeds", "selection_score"), n_resamples=3)
    used = {k for spec in c8.specs for k in spec}
    assert used == {"seeds", "selection_score"} and not c8.not_run
    assert [s.split(" (")[0] for s in c8.not_applicable] == ["restarts", "init"]
    assert all("SVMs" in s for s in c8.not_applicable) and "not applicable to this claim: restarts" in c8.summary()
    assert mv.from_json(c8.to_json()).not_applicable == c8.not_applicable
    # C1 compares mixtures: restarts and init apply (here not run), nothing is declared not applicable
    c1 = mv.run_multiverse(verdict_of, 5, claim="C1", only=("seeds",), n_resamples=3)
    assert not c1.not_applicable and {s.split(" [")[0] for s in c1.not_run} == {"restarts", "selection_score", "init"}


# ------------------------------------------------------------------ each rule can say each verdict


def test_superiority_says_each_outcome():
    rng = np.random.default_rng(4)
    b = rng.integers(120, 130, 15).astype(float)
    assert verdict("C1", r.paired_superiority(b + 10, b)) == "reproduced"
    assert verdict("C1", r.paired_superiority(b - 10, b)) == "contradicted"
    noise = b + rng.choice([-1, 1], 15)
    assert verdict("C1", r.paired_superiority(noise, b)) == "not reproduced"
    assert verdict("C1", r.paired_superiority(b + 10, b, test="paired t")) == "reproduced"


def test_noninferiority_says_each_outcome():
    b = np.arange(130, 145, dtype=float)
    assert r.paired_noninferiority(b, b + 0.5, 1.5).state == "shown"
    assert r.paired_noninferiority(b - 5, b, 1.5).state == "shown otherwise"
    rng = np.random.default_rng(5)
    assert r.paired_noninferiority(b[:6] - 1.5 + rng.normal(0, 3, 6), b[:6], 1.5).state == "inconclusive"


def test_gated_threshold_says_each_outcome():
    eps = np.array([0, 0.01, 0.02, 0.03, 0.05, 0.1])
    rng = np.random.default_rng(6)
    base = np.array([0.1, 0.08, 0.01, -0.05, -0.08, -0.1])
    kept = base + rng.normal(0, 0.002, (15, 6))
    out = r.gated_threshold(eps, kept, (0.015, 0.03), n_resamples=200)
    assert out.extra["gate"] and verdict("C4", out) == "reproduced"
    no_adv = rng.normal(0, 0.02, (15, 6))
    out2 = r.gated_threshold(eps, no_adv, (0.02, 0.025), n_resamples=200)
    assert not out2.extra["gate"] and verdict("C4", out2) == "not reproduced"
    assert "no advantage at eps = 0" in out2.text
    wide = base + rng.normal(0, 0.06, (15, 6))
    wide[:, 0] = 0.1 + rng.normal(0, 0.01, 15)
    out3 = r.gated_threshold(eps, wide, (0.02, 0.025), n_resamples=200)
    assert verdict("C4", out3) == "inconclusive"


def test_ratio_outcome_says_each_outcome():
    ref = np.full(10, 140.0)
    rng = np.random.default_rng(7)
    good = {"h32": ref + rng.integers(0, 2, 10), "h8": ref - 20.0}
    ct = r.closed_testing_widths(good, ref, {"h32": 240, "h8": 60}, 24, 1.5, n_resamples=100)
    assert verdict("C5", r.ratio_outcome(ct, (5, 20))) == "reproduced"
    noisy = {"h32": ref + rng.normal(-1, 6, 10), "h8": ref - 20.0}
    ct2 = r.closed_testing_widths(noisy, ref, {"h32": 240, "h8": 60}, 24, 1.5, n_resamples=100)
    assert verdict("C5", r.ratio_outcome(ct2, (5, 20))) == "inconclusive"


def test_relative_margin_for_losses():
    loss = 0.30 + np.linspace(-0.01, 0.01, 10)
    assert verdict("N2", r.tost_mean(loss, 0.30, 0.25, kind="relative", interval="t")) == "reproduced"
    assert verdict("N2", r.tost_mean(loss + 1.6, 0.30, 0.25, kind="relative")) == "not reproduced"


def test_power_statement_and_underpowered():
    d = np.array([1, -2, 3, 0, 2, -1, 4, 1, 0, 2], dtype=float)
    pw = r.paired_power(d, effect_of_interest=0.5)
    assert pw["mde"] > 0.5 and pw["underpowered"]
    assert "underpowered" in r.power_sentence(pw) and "underpowered" in r.power_sentence(pw, state="inconclusive")
    # a primary test that found an effect is not called underpowered: power qualifies only a null result
    for state in ("shown", "shown otherwise", "reversed"):
        s = r.power_sentence(pw, state=state)
        assert "underpowered" not in s and f"found an effect, '{state}'" in s
    pw_t = r.paired_power(d, test="paired t")
    assert pw_t["mde"] < pw["mde"]  # ARE < 1: the rank test needs a larger effect
    assert math.isinf(r.paired_power(d[:4])["mde"])  # 2^-4 > 0.05: the exact test cannot reject
    big = r.paired_power(np.r_[d, d, d, d] * 0.1, effect_of_interest=0.5)
    assert not big["underpowered"]


def test_power_of_the_equivalence_and_trend_rules():
    rng = np.random.default_rng(6)
    tight, wide = rng.normal(0.9, 0.005, 20), rng.normal(0.9, 0.1, 20)
    # TOST at a true mean equal to the stated value: a tight spread can show a 2 pp band, a wide one cannot
    assert not r.equivalence_power(tight, margin=0.02)["underpowered"]
    assert r.equivalence_power(wide, margin=0.02)["underpowered"]
    assert r.equivalence_power(wide[:5])["mde"] > r.equivalence_power(wide)["mde"]  # fewer seeds, larger margin
    assert math.isinf(r.equivalence_power(tight[:1])["mde"])
    # constructed check of the TOST approximation: at the margin it gives, TOST shows equivalence ~80% of the time
    unit = np.random.default_rng(0).normal(0, 1, 30)
    margin = r.equivalence_power((unit - unit.mean()) / unit.std(ddof=1))["mde"]  # the SD of the draws below: 1
    hits = [
        r.tost_mean(np.random.default_rng(k).normal(0.5, 1, 30), 0.5, margin, interval="t").state == "shown"
        for k in range(400)
    ]
    assert 0.7 <= np.mean(hits) <= 0.9
    # trend: more points detect weaker correlations
    assert r.trend_power(120)["mde"] < r.trend_power(30)["mde"] and math.isinf(r.trend_power(3)["mde"])
    s = r.family_power_sentence(
        {"a": r.equivalence_power(tight, margin=0.02), "b": r.equivalence_power(wide, margin=0.02)}
    )
    assert s.startswith("b (the hardest of 2): smallest equivalence margin showable") and "**underpowered**" in s


def test_holm_family_needs_every_member_after_holm():
    up = np.arange(12) % 3 + 5
    tie = np.array([0, 1, -1, 0, 1, -1, 0, 0, 1, -1, 0, 0])
    win = r.paired_superiority(up, np.zeros(12), description="a")
    same = r.paired_superiority(tie, np.zeros(12), description="b")
    lose = r.paired_superiority(np.zeros(12), up, description="c")
    assert r.holm_family([win, win], "both").state == "shown"
    assert r.holm_family([win, same], "one tied").state == "inconclusive"
    assert r.holm_family([win, lose], "one reversed").state == "reversed"
    # Holm: p = 2^-12 on each of three members stays below 0.05 after x3; two at 0.04 each do not (x2)
    o = r.holm_family([win, win, win], "three")
    assert o.p == pytest.approx(3 * win.p) and "Holm p =" in o.text
    borderline = replace(win, p=0.04)
    assert r.paired_superiority(up, np.zeros(12)).state == "shown" and borderline.p < 0.05
    assert r.holm_family([borderline, borderline], "x").state == "inconclusive"
    with pytest.raises(ValueError, match="at least one"):
        r.holm_family([], "none")


def test_equivalence_sample_size_is_the_fewest_seeds_that_show_the_margin():
    rng = np.random.default_rng(4)
    pilot = rng.normal(0.8, 0.06, 10)
    sd = pilot.std(ddof=1)

    def showable(k: int) -> float:
        x = np.arange(k) - (k - 1) / 2
        return r.equivalence_power(0.8 + sd * x / x.std(ddof=1))["mde"]

    n = r.equivalence_sample_size(pilot, 0.02)
    assert showable(n) <= 0.02 < showable(n - 1)
    assert r.equivalence_sample_size(pilot, 0.04) < n < r.equivalence_sample_size(pilot, 0.015)
    assert r.equivalence_sample_size(np.full(4, 0.9), 0.02) == 2  # no spread: any two seeds show it
    with pytest.raises(ValueError, match="n_max=30 seeds to show equivalence within 0.02"):
        r.equivalence_sample_size(pilot, 0.02, n_max=30)
    for bad in (0.0, -0.01, math.inf):
        with pytest.raises(ValueError, match="margin must be"):
            r.equivalence_sample_size(pilot, bad)
    with pytest.raises(ValueError, match="at least 2"):
        r.equivalence_sample_size([0.9], 0.02)


def test_sample_size_is_the_fewest_seeds_whose_power_reaches_the_effect():
    rng = np.random.default_rng(3)
    pilot = rng.normal(0.02, 0.05, 20)
    sd = pilot.std(ddof=1)

    def detectable(k: int, test: str) -> float:
        """``paired_power``'s answer for k seeds whose SD is the pilot's."""
        x = np.arange(k) - (k - 1) / 2
        return r.paired_power(sd * x / x.std(ddof=1), test=test)["mde"]

    for test in ("signed-rank", "paired t"):
        n = r.paired_sample_size(pilot, 0.02, test=test)
        assert detectable(n, test) <= 0.02 < detectable(n - 1, test)  # the fewest: one seed fewer does not
    assert r.paired_sample_size(pilot, 0.02, test="paired t") < r.paired_sample_size(pilot, 0.02)
    assert r.paired_sample_size(pilot, 0.04) < r.paired_sample_size(pilot, 0.02)
    assert r.paired_sample_size(np.zeros(5), 0.02) == 5  # no spread: the exact test's own floor (2^-5 < 0.05)
    with pytest.raises(ValueError, match="n_max=30"):
        r.paired_sample_size(pilot, 0.02, n_max=30)
    with pytest.raises(ValueError, match="effect must be"):
        r.paired_sample_size(pilot, 0.0)
    with pytest.raises(ValueError, match="at least 2"):
        r.paired_sample_size(pilot[:1], 0.02)


def test_plan_covers_every_claim_and_renders():
    assert set(pl.PLAN) == {f"C{i}" for i in range(1, 9)} | {f"N{i}" for i in range(1, 5)} | {"Q1", "Q2", "Q4"}
    for p in pl.PLAN.values():
        assert set(dict(p.outcomes)) == set(r.OUTCOMES)
        assert set(dict(p.outcomes).values()) <= set(pl.VERDICTS)
    md = pl.render_markdown()
    assert md.startswith("## Pre-registered analysis plan") and "| C7 |" in md and "(deciding)" in md


def test_a_part_not_run_is_flagged_and_a_deciding_part_is_marked(monkeypatch):
    plan = pl.PLAN["C8"]
    parts = (
        pl.Secondary("a part", "t"),
        pl.Secondary("the decider", "t", decides=True),
        pl.Secondary("later", "t", available=False),
    )
    monkeypatch.setitem(pl.PLAN, "C8", replace(plan, secondaries=parts))
    md = pl.render_markdown()
    assert "- C8: a part — t\n" in md and "- C8: the decider — t (deciding)\n" in md
    assert "- C8: later — t (not yet run)\n" in md


def test_c8_is_decided_by_its_kernel_svm_part_and_the_plan_says_so():
    """The ledger decides C8 by the bandwidth-tuned quantum-kernel SVM against the RBF-SVM (mechanism_claims.c8);
    the plan must mark that part deciding and run, and no other C8 part deciding."""
    deciding = [s for s in pl.PLAN["C8"].secondaries if s.decides]
    assert [s.name.startswith("quantum-kernel SVM") for s in deciding] == [True]
    assert deciding[0].available and deciding[0].margin == "1 pp"
    assert any(d.startswith("C8 (issue #21)") for d in pl.DEVIATIONS)


def test_the_committed_ledger_opens_with_the_current_plan():
    """paper/claims.md carries the plan as the code states it: a plan edited without regenerating paper/ fails."""
    from pathlib import Path

    claims = Path(__file__).resolve().parents[1] / "paper" / "claims.md"
    if not claims.exists():
        pytest.skip("no committed claims.md")
    text = claims.read_text(encoding="utf-8")
    start, end = text.index("## Pre-registered analysis plan"), text.index("## Verdict rules")
    assert text[start:end].strip() == pl.render_markdown().strip()


def test_offline_verdicts_from_the_committed_tables():
    from pathlib import Path

    from qmoe_tfq.analysis import verdicts

    tables = Path(__file__).resolve().parents[1] / "paper" / "tables"
    if not (tables / "two_moons_runs.csv").exists():
        pytest.skip("no committed tables")
    judged = {j.id: j for j in verdicts.from_tables(tables, fast=True)}
    assert {"C1", "C4", "C5", "C6", "C7", "C8", "N1", "N3", "N4"} <= set(judged)
    for j in judged.values():
        row = j.row()
        assert row["verdict"]
        if j.multiverse is not None:
            assert 0.0 <= j.multiverse.share <= 1.0
            assert j.multiverse.not_run  # restarts at parity are declared, not dropped


def test_t_greater_is_bit_identical_to_scipy():
    from scipy import stats as sps

    from qmoe_tfq.analysis.rules import t_greater

    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 10, 20, 37):
        for d in (rng.normal(0.01, 0.05, n), rng.integers(-3, 4, n) / 150 + 0.02, rng.integers(-2, 3, n) + 1.5):
            if np.allclose(d, d[0]):
                continue
            assert t_greater(d) == float(sps.ttest_1samp(d, 0.0, alternative="greater").pvalue)


# ------------------------------------------------------------------ vectorised resampling (speed, same bits)


def _difference_rows(rng: np.random.Generator, kind: int, rows: int, n: int) -> np.ndarray:
    if kind == 0:  # count differences: many ties and zeros
        return rng.integers(-5, 6, (rows, n)).astype(float)
    if kind == 1:  # k/n accuracy differences, some within the tie tolerance of each other or of 0
        return rng.integers(-3, 4, (rows, n)) / 150 + rng.choice([0.0, 1e-12], (rows, n))
    if kind == 2:  # continuous, no ties
        return rng.normal(size=(rows, n))
    return rng.integers(-2, 3, (rows, n)) + 1.5  # shifted by a margin: no zeros


@pytest.mark.parametrize("kind", range(4))
@pytest.mark.parametrize("test", r.TESTS)
def test_row_wise_paired_tests_give_the_per_row_bits(kind, test):
    from qmoe_tfq.analysis.stats import signed_rank_tails, signed_rank_tails_rows

    rng = np.random.default_rng(kind)
    for n in (1, 2, 7, 20):
        d = _difference_rows(rng, kind, 40, n)
        d[0] = d[0, 0]  # a constant row
        assert r._paired_p_rows(d, test).tolist() == [r._paired_p(row, test)[0] for row in d]
        if test == "signed-rank":
            greater, less = signed_rank_tails_rows(d)
            assert list(zip(greater.tolist(), less.tolist())) == [signed_rank_tails(row) for row in d]


@pytest.mark.parametrize("test", r.TESTS)
def test_closed_testing_bootstrap_gives_the_per_resample_loops_widths(test):
    """The whole procedure's bootstrap, vectorised over resamples, against the loop it replaced."""
    rng = np.random.default_rng(7)
    ref = rng.integers(135, 145, 20).astype(float)
    counts = {f"mlp_h{w}": ref + rng.integers(-4 + (w > 8), 3, 20) for w in (2, 3, 5, 8, 16, 32)}
    params = {f"mlp_h{w}": 6 * w for w in (2, 3, 5, 8, 16, 32)}
    ct = r.closed_testing_widths(counts, ref, params, 24, margin=1.5, test=test, n_resamples=300, seed=3)
    loop = np.random.default_rng(3)
    ratios, chosen, rows = [], [], []
    for _ in range(300):
        ix = loop.integers(0, 20, 20)
        *_, s = r._smallest_ni({w: c[ix] for w, c in counts.items()}, ref[ix], params, 1.5, r.ALPHA, test)
        ratios.append(params[s] / 24 if s is not None else math.inf)
        chosen.append(s)
        rows.append(ix)
    assert len(set(chosen)) > 2, "the constructed widths should not all agree on every resample"
    assert r._smallest_ni_resampled(counts, ref, params, 1.5, r.ALPHA, test, np.array(rows)) == chosen
    assert (ct.ratio_low, ct.ratio_high) == (
        float(np.quantile(ratios, 0.025, method="inverted_cdf")),
        float(np.quantile(ratios, 0.975, method="inverted_cdf")),
    )


def test_committed_captions_name_the_one_interval_method_for_accuracy_means():
    """Issue #21: one interval method for accuracy means, correct in every caption: a committed table or figure
    whose caption gives accuracy means with a CI names the plan's (BCa bootstrap), never Student-t."""
    import json

    manifest = Path(__file__).resolve().parents[1] / "paper" / "manifest.json"
    if not manifest.exists():
        pytest.skip("no committed paper/")
    outputs = json.loads(manifest.read_text(encoding="utf-8"))["outputs"]
    wrong = []
    for name, output in outputs.items():
        for m in re.finditer(r"accuracy[^.;]{0,60}?\(mean and ([^)]*?)(?:95% )?CI", output.get("caption", "")):
            if "BCa" not in m.group(1):
                wrong.append(f"{name}: {m.group(0)}")
    assert len(outputs) > 20 and not wrong, wrong

"""Confidence intervals, paired tests, the efficiency ratio and the ledger's verdict rules and files
(the rules on constructed per-seed data are in ``test_rules.py``)."""

import json
import math
import re

import numpy as np
import pytest
from scipy import stats

from qmoe_tfq.analysis import ledger
from qmoe_tfq.analysis.ledger import Part, ordering_part, value_part, verdict_from_parts
from qmoe_tfq.analysis.stats import bootstrap_interval, efficiency, paired_wilcoxon, signed_rank_p, t_interval


def test_t_interval_matches_scipy():
    x = np.array([0.8, 0.85, 0.9, 0.95, 0.88])
    ci = t_interval(x)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert math.isclose(ci.low, low) and math.isclose(ci.high, high) and ci.n == 5 and ci.method == "Student-t"
    clipped = t_interval([0.99, 1.0, 1.0, 0.97], bounds=(0, 1))
    assert clipped.high == 1.0


def test_paired_wilcoxon_directions():
    a = np.linspace(0.9, 0.95, 10)
    b = a - 0.05
    assert paired_wilcoxon(a, b, "greater") < 0.01
    assert paired_wilcoxon(a, b, "less") > 0.9
    assert paired_wilcoxon(a, a) == 1.0


def test_paired_wilcoxon_is_exact_above_13_seeds_with_ties():
    """Above 13 seeds with ties scipy falls back to a normal approximation; ours stays exact: the
    p-value is a count of sign flips over 2^m."""
    d = np.random.default_rng(0).integers(-2, 5, 16)
    m = int(np.sum(d != 0))
    p = paired_wilcoxon(d, np.zeros(16), "greater")
    assert p == signed_rank_p(d, "greater")
    assert math.isclose(p * 2**m, round(p * 2**m), abs_tol=1e-6)
    approx = stats.wilcoxon(d, alternative="greater", zero_method="zsplit").pvalue
    assert p != pytest.approx(approx, abs=1e-9)


def test_bootstrap_interval_names_its_method_for_captions():
    ci = bootstrap_interval([0.8, 0.85, 0.9, 0.95, 0.88], n_resamples=999)
    assert ci.method == "BCa bootstrap (999 resamples)" and ci.low < ci.mean < ci.high


def test_efficiency_uses_natural_log_of_router_params():
    assert math.isclose(efficiency(0.94, 24), 0.94 / math.log(25))
    assert math.isnan(efficiency(0.9, 0)) and math.isnan(efficiency(0.9, None))


@pytest.mark.parametrize(
    "states,verdict",
    [
        (["holds", "holds"], "reproduced"),
        (["holds", "fails"], "partially reproduced"),
        (["fails", "fails"], "not reproduced"),
        (["holds", "opposite"], "contradicted"),
        (["opposite"], "contradicted"),
        (["holds"], "reproduced"),
    ],
)
def test_verdict_rules(states, verdict):
    assert verdict_from_parts([Part("x", s) for s in states]) == verdict


def test_parts_judge_values_and_orderings():
    assert value_part("v", 0.94, 0.9, 0.95).state == "holds"
    assert value_part("v", 0.65, 0.8, 0.9).state == "fails"
    assert ordering_part("o", 0.01, 0.99).state == "holds"
    assert ordering_part("o", 0.99, 0.01).state == "opposite"
    assert ordering_part("o", 0.3, 0.4).state == "fails"


def test_ledger_covers_every_claim_and_writes_json_fields(tmp_path):
    entries = ledger.build_ledger([ledger.untested("N4", "not testable", "different architecture")])
    assert [e.id for e in entries] == list(ledger.CLAIMS)
    assert all(e.verdict in ledger.VERDICTS for e in entries)
    ledger.write_ledger(entries, tmp_path, "header")
    data = json.loads((tmp_path / "claims.json").read_text())
    fields = {
        "id",
        "claim",
        "source",
        "stated",
        "reproduced",
        "ci95",
        "protocol",
        "verdict",
        "evidence",
        "note",
        "stability",
    }
    assert all(fields <= set(c) for c in data["claims"])
    assert set(data["part_rules"]) == set(ledger.PART_RULES) and "not testable here" in data["verdict_rules"]
    assert "## Verdict rules" in (tmp_path / "claims.md").read_text()
    with pytest.raises(ValueError):
        ledger.build_ledger([ledger.Entry("C99", "", "", "", "", {}, "", "reproduced", [], "")])


def test_tested_entries_store_holm_adjusted_parts_and_json_keeps_the_p_values(tmp_path):
    parts = [ordering_part("a", 0.02, 0.9), ordering_part("b", 0.03, 0.9)]
    entry = ledger.tested("C1", parts, "r", {}, "p", [])
    assert [p.p_adjusted for p in entry.parts] == [pytest.approx(0.04), pytest.approx(0.04)]
    assert entry.verdict == "reproduced"
    entry3 = ledger.tested("C1", parts + [ordering_part("c", 0.5, 0.5)], "r", {}, "p", [])
    assert entry3.verdict == "not reproduced"  # 0.02 x 3 = 0.06: no part holds after Holm
    ledger.write_ledger(ledger.build_ledger([entry]), tmp_path)
    part = json.loads((tmp_path / "claims.json").read_text())["claims"][0]["parts"][0]
    assert part["p"] == 0.02 and part["p_adjusted"] == pytest.approx(0.04) and part["rule"] == "ordering"


@pytest.mark.parametrize(
    "folder, expected",
    [
        ("paper", "paper"),
        (".paper-quick.staging", "paper-quick"),
        ("paper-quick", "paper-quick"),
        (".x.staging", "x"),
        ("mypaper", "mypaper"),  # a name ending in "paper": cited once, not as "mymypaper/"
        (".coldpaper.staging", "coldpaper"),
    ],
)
def test_the_ledger_cites_the_folder_it_is_written_to(tmp_path, folder, expected):
    parts = [ordering_part("see paper/tables/a.csv", 0.02, 0.9)]
    entry = ledger.tested(
        "C1",
        parts,
        "r",
        {},
        "p",
        ["paper/tables/a.csv", "paper/figures/b.pdf", "tests/x.py"],
        note="timing in paper/tables/t.csv",
    )
    out = tmp_path / folder
    ledger.write_ledger(ledger.build_ledger([entry]), out)
    assert ledger.output_folder(out) == expected
    md = (out / "claims.md").read_text()
    data = json.loads((out / "claims.json").read_text())["claims"][0]
    assert data["evidence"] == [f"{expected}/tables/a.csv", f"{expected}/figures/b.pdf", "tests/x.py"]
    assert f"`{expected}/tables/a.csv`" in md and f"timing in {expected}/tables/t.csv" in md
    assert f"see {expected}/tables/a.csv" in md
    if expected != "paper":
        for text in (md, json.dumps(data)):
            assert {m for m in re.findall(r"([\w.-]+)/(?:tables|figures)/", text)} == {expected}


def test_small_time_ratios_are_not_rounded_to_zero():
    from qmoe_tfq.studies.phase1_claims import _times

    assert [_times(r) for r in (287.4, 8.2, 1.0, 0.43, 0.004)] == ["287x", "8x", "1x", "0.43x", "0.004x"]


def test_quick_runs_scale_the_seed_resampling_loops_and_full_runs_do_not(monkeypatch):
    from qmoe_tfq.analysis import multiverse as mv
    from qmoe_tfq.analysis.stats import RESAMPLE_SCALE_ENV, resamples
    from qmoe_tfq.publish import paper
    from qmoe_tfq.reporting.report import PaperSettings

    monkeypatch.delenv(RESAMPLE_SCALE_ENV, raising=False)
    assert resamples(1000) == 1000 and resamples(0) == 0
    calls = []
    ledger.stability(lambda s: calls.append(len(s)) or "reproduced", [0, 1, 2], n_resamples=50)
    assert len(calls) == 51
    monkeypatch.setenv(RESAMPLE_SCALE_ENV, "0.1")
    assert (resamples(1000), resamples(200), resamples(20), resamples(5), resamples(0)) == (100, 20, 10, 5, 0)
    calls.clear()
    s = ledger.stability(lambda s: calls.append(len(s)) or "reproduced", [0, 1, 2], n_resamples=50)
    assert len(calls) == 11 and s.n_resamples == 10
    m = mv.run_multiverse(lambda spec, pos: ("reproduced", 0.0), 3, claim="C1", only=("seeds",), n_resamples=200)
    assert m.n_resamples == 20
    for bad in ("0", "1.5", "-1", "lots"):
        monkeypatch.setenv(RESAMPLE_SCALE_ENV, bad)
        with pytest.raises(Exception, match=f"{RESAMPLE_SCALE_ENV} must be a number in \\(0, 1\\], got '{bad}'"):
            resamples(100)

    settings = lambda quick: PaperSettings(out_dir=paper.ROOT / "paper-scratch", quick=quick, cache_dir=None, jobs=1)  # noqa: E731
    assert paper.kernel_env(settings(True))[RESAMPLE_SCALE_ENV] == "0.1"
    assert RESAMPLE_SCALE_ENV not in paper.kernel_env(settings(False))


def test_notebook_kernels_run_one_thread_each_whatever_the_shell_says(monkeypatch):
    """Kernels side by side with thread pools sized to every core oversubscribed the machine (issue #20's
    budget); one thread each also keeps a notebook's numbers independent of the core count."""
    from qmoe_tfq.publish import paper
    from qmoe_tfq.reporting.report import PaperSettings

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    for quick in (True, False):
        env = paper.kernel_env(PaperSettings(out_dir=paper.ROOT / "paper-scratch", quick=quick, cache_dir=None, jobs=2))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            assert env[var] == "1", var

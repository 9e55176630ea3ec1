"""Each claim says what changed against the shipped baseline ledger: verdict, stability, numbers."""

from dataclasses import replace

from qmoe_tfq.analysis import ledger


def baseline_entry(claim_id: str = "C1") -> ledger.Entry:
    old = ledger.load_baseline()[claim_id]
    fields = {k: old[k] for k in ("id", "claim", "source", "stated", "reproduced", "ci95", "protocol", "verdict")}
    return ledger.Entry(
        **fields, evidence=old["evidence"], note=old["note"], stability=old["stability"], primary=old["primary"]
    )


def test_the_shipped_baseline_holds_every_claim():
    assert set(ledger.load_baseline()) >= {f"C{i}" for i in range(1, 9)}


def test_an_identical_entry_is_unchanged():
    (e,) = ledger.with_changes([baseline_entry()], ledger.load_baseline(), "base")
    assert e.change == "against base: unchanged"


def test_a_changed_verdict_stability_and_number_are_each_reported():
    e = baseline_entry()
    new = replace(e, verdict="inconclusive", stability=0.9, reproduced="quantum 0.990")
    (out,) = ledger.with_changes([new], ledger.load_baseline(), "base")
    assert f"verdict {e.verdict} -> inconclusive" in out.change
    assert "stability 0.55 fragile -> 0.90" in out.change
    assert f"was: {e.reproduced}" in out.change
    assert "## C1" in ledger.render_markdown([out]) and "Change against base:" in ledger.render_markdown([out])


def test_a_claim_missing_from_the_baseline_is_new():
    (out,) = ledger.with_changes([baseline_entry()], {}, "base")
    assert out.change == "against base: new (not in the baseline)"

"""The claims ledger: one entry per claim of the paper (C1-C8) and per table of the authors'
notebooks (N1-N4), each with a verdict computed by the rules below, never chosen by hand.

A claim is split into *parts*: a stated value to fall inside our 95% CI (or to equal an exact
count), or a stated ordering to hold with a one-sided paired test. Each part is judged ``holds``,
``fails`` or ``opposite`` (the reverse of a stated ordering holds with p < 0.05, or the paper's own
numbers say the reverse); the verdict follows from the parts by ``verdict_from_parts``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qmoe_tfq.io import atomic_write_text
from qmoe_tfq.stats import ALPHA

VERDICTS = (
    "reproduced",
    "partially reproduced",
    "not reproduced",
    "contradicted",
    "not testable",
    "not yet tested",
)
RULES = {
    "reproduced": "every part holds: each stated value lies inside our 95% CI (exact counts: equal), "
    f"each stated ordering holds with a one-sided paired Wilcoxon signed-rank test, p < {ALPHA}.",
    "partially reproduced": "at least one part holds and at least one does not, and no part is contradicted.",
    "not reproduced": "no part holds, and none is contradicted (e.g. no significant difference either way).",
    "contradicted": f"at least one part is reversed: the opposite ordering holds with p < {ALPHA}, "
    "or the paper's own numbers state the reverse of the claim.",
    "not testable": "the claim concerns something the authors did not release and this suite does not "
    "build, or states a mechanism with no measurable prediction of its own.",
    "not yet tested": "the study that tests it is not in this suite yet.",
}
PART_STATES = ("holds", "fails", "opposite")

# id -> (claim, source, stated), from ../shared/PAPER.md.
CLAIMS: dict[str, tuple[str, str, str]] = {
    "C1": ("Two Moons: quantum router accuracy vs classical linear router", "paper (abstract, ablation)", "94% vs 65%"),
    "C2": ("Router parameter counts, presented as 'fewer parameters' for the quantum router", "paper (ablation)", "24 (quantum) vs 12 (classical)"),
    "C3": ("Parameter-efficiency ratio eta = Accuracy / log(1 + P)", "paper (ablation)", "7.14 (quantum) vs 2.79 (classical)"),
    "C4": ("Advantage maintained under depolarizing noise up to ~2%; breakdown near eps = 0.025 per gate", "paper (NISQ simulation)", "threshold ~0.02-0.025"),
    "C5": ("A deep classical router needs ~10x more parameters to match the quantum router", "paper (ablation)", "~10x"),
    "C6": ("The advantage carries to reduced MNIST (8 PCA dimensions) and Fashion-MNIST subsets", "paper (experiments)", "qualitative"),
    "C7": ("The quantum router converges faster", "paper (training dynamics)", "qualitative"),
    "C8": ("Interference/kernel view K(x,x') = |<psi(x)|psi(x')>|^2 explains the separation", "paper (mechanism)", "mechanism"),
    "N1": ("Phase 3A parameter-efficiency sweep, training-set accuracy per router", "authors' notebook (Phase 3A table)",
           "h=2: 0.875, h=4: 0.882, h=8: 0.877, h=16: 0.991, h=32: 0.995, h=64: 0.995, quantum L=3: 0.996"),
    "N2": ("Phase 2 printed training losses (sum of 16 batch means) at epoch 40", "authors' notebook (Phase 2 log)", "classical ~4.09, quantum ~0.30"),
    "N3": ("Phase 3B: accuracy under depolarizing noise (train under noise, training set)", "authors' notebook (Phase 3B table)",
           "p=0: 1.000, 0.02: 0.982, 0.05: 0.989, 0.10: 0.994, 0.15: 0.986, 0.20: 0.975"),
    "N4": ("Phase 1 (classical router, quantum experts): synthetic test accuracy classical MoE 0.88, QNN 0.65, QMoE 0.78; MNIST 0/1 ~0.99", "authors' notebook (Phase 1)", "0.88 / 0.65 / 0.78; ~0.99"),
}


@dataclass(frozen=True)
class Part:
    """One checkable piece of a claim and how it fared."""

    description: str
    state: str

    def __post_init__(self) -> None:
        if self.state not in PART_STATES:
            raise ValueError(f"unknown part state {self.state!r}; allowed: {PART_STATES}")


def value_part(description: str, stated: float, low: float, high: float) -> Part:
    """A stated value judged against our 95% CI."""
    return Part(f"{description}: stated {stated:g} vs our 95% CI [{low:.3f}, {high:.3f}]",
                "holds" if low <= stated <= high else "fails")


def ordering_part(description: str, p_claimed: float, p_opposite: float) -> Part:
    """A stated ordering judged by one-sided paired tests in both directions."""
    if p_claimed < ALPHA:
        state = "holds"
    elif p_opposite < ALPHA:
        state = "opposite"
    else:
        state = "fails"
    return Part(f"{description}: p = {p_claimed:.3g} (reverse: p = {p_opposite:.3g})", state)


def verdict_from_parts(parts: list[Part]) -> str:
    """The ledger rule: any reversed part -> contradicted; all hold -> reproduced; some -> partially."""
    if not parts:
        raise ValueError("a tested claim needs at least one part")
    states = [p.state for p in parts]
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

    def to_json(self) -> dict:
        d = asdict(self)
        d["parts"] = [asdict(p) for p in self.parts]
        return d


def tested(claim_id: str, parts: list[Part], reproduced: str, ci95: dict, protocol: str,
           evidence: list[str], note: str = "") -> Entry:
    """An entry whose verdict follows from its parts."""
    claim, source, stated = CLAIMS[claim_id]
    return Entry(claim_id, claim, source, stated, reproduced, ci95, protocol,
                 verdict_from_parts(parts), evidence, note, parts)


def untested(claim_id: str, verdict: str, note: str) -> Entry:
    """An entry with no measurement: ``not yet tested`` or ``not testable``, with the reason."""
    if verdict not in ("not yet tested", "not testable"):
        raise ValueError(f"untested entries are 'not yet tested' or 'not testable', not {verdict!r}")
    claim, source, stated = CLAIMS[claim_id]
    return Entry(claim_id, claim, source, stated, "", {}, "", verdict, [], note)


PENDING_NOTES = {
    "C7": "Tested by the Two Moons study, not run yet.",
    "C8": "Tested by the kernel / interference study, not in this suite yet.",
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


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(entries: list[Entry], header: str = "") -> str:
    """``claims.md``: the verdict rules, a summary table, then each claim's parts and evidence."""
    lines = ["# Claims ledger", "", header.strip(), "", "## Verdict rules", ""]
    lines += [f"- **{v}**: {RULES[v]}" for v in VERDICTS]
    lines += ["", "## Summary", "", "| id | claim | stated | reproduced | verdict |", "|---|---|---|---|---|"]
    lines += [
        f"| {e.id} | {_md_cell(e.claim)} | {_md_cell(e.stated)} | {_md_cell(e.reproduced) or '—'} | **{e.verdict}** |"
        for e in entries
    ]
    for e in entries:
        lines += ["", f"## {e.id} — {e.verdict}", "", f"*{e.claim}* ({e.source}). Stated: {e.stated}."]
        if e.protocol:
            lines += ["", f"Protocol: {e.protocol}"]
        if e.reproduced:
            lines += ["", f"Reproduced: {e.reproduced}"]
        if e.parts:
            lines += ["", "Parts:"] + [f"- [{p.state}] {p.description}" for p in e.parts]
        if e.evidence:
            lines += ["", "Evidence: " + ", ".join(f"`{x}`" for x in e.evidence)]
        if e.note:
            lines += ["", f"Note: {e.note}"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def write_ledger(entries: list[Entry], out_dir: Path, header: str = "") -> None:
    """Write ``claims.json`` and ``claims.md`` under ``out_dir`` atomically."""
    out_dir = Path(out_dir)
    payload = {"header": header, "verdict_rules": RULES, "claims": [e.to_json() for e in entries]}
    atomic_write_text(out_dir / "claims.json", json.dumps(payload, indent=2, sort_keys=False) + "\n")
    atomic_write_text(out_dir / "claims.md", render_markdown(entries, header))

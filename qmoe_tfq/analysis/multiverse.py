"""Stage: analysis. Multiverse robustness of verdicts (issue #21; Steegen et al. 2016, Simonsohn et al. 2020).

The reasonable analysis choices are declared as data (``CHOICES``). ``run_multiverse`` recomputes a
claim's verdict for every specification (the cartesian product of the available choices that apply
to the claim) crossed with bootstrap resamples of the seeds, and returns the share giving the
headline verdict, the choice(s) that flip it, and each specification's primary effect (the data of a
specification-curve figure, ``plot_specification_curves``). Choices that need runs not made yet are
declared ``available=False``: they are listed in the result (``not_run``), never silently dropped.

**Choices that need their own runs** (``Choice.runs``: restarts, selection score, initialisation) are
available to a claim only when its study ran them; a claim passes the ones it has in ``only`` and
picks its data per specification with ``run_option``. A run choice that applies to a claim but is not
in its ``only`` is listed in ``not_run`` ("not run for this claim"). Run choices are varied **one at a
time** (``specifications`` drops a specification in which two of them leave the plan's option): their
combinations (e.g. restarts of the accuracy-selected configuration) would each need runs of their own.
The analysis-only choices (margin, interval, seeds, test) are crossed with everything. A run choice that
cannot change a claim's deciding comparison (restarts and initialisation for C8, decided by two SVMs) is
declared in ``Choice.excludes`` with the reason, and listed in ``not_applicable``; so is the selection score for
the authors'-protocol claims N1-N3, which select nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qmoe_tfq.analysis.stats import resamples

FRAGILE_BELOW = 0.8
MULTIVERSE_RESAMPLES = 200
TWO_MOONS = ("C1", "C3", "C4", "C5", "C7", "C8", "N1", "N2", "N3")


@dataclass(frozen=True)
class Choice:
    """One analysis choice: its options (the first is the plan's), whether runs for every option exist,
    and the claims it applies to (``None``: every claim)."""

    name: str
    options: tuple
    available: bool = True
    applies_to: tuple[str, ...] | None = None
    note: str = ""
    runs: bool = False  # an option other than the first needs runs of its own (not only another analysis)
    #: (claim, why) pairs: claims whose deciding comparison the choice cannot change (no such runs exist).
    excludes: tuple[tuple[str, str], ...] = ()

    def applies(self, claim: str | None) -> bool:
        if claim is not None and claim in dict(self.excludes):
            return False
        return claim is None or self.applies_to is None or claim in self.applies_to

    def not_applicable(self, claim: str | None) -> str | None:
        """Why the choice does not apply to ``claim`` (None when it applies or is out of scope)."""
        return dict(self.excludes).get(claim) if claim is not None else None


_SVMS_ONLY = "C8 is decided by two SVMs, which have no random initialisation and fit alike on every restart"
_FIXED_BUDGETS = "the authors' protocol selects no configuration: its budgets are fixed"

CHOICES: tuple[Choice, ...] = (
    Choice("margin_pp", (1, 2), note="non-inferiority / equivalence margin for accuracies, percentage points"),
    Choice("interval", ("BCa", "percentile"), note="bootstrap interval of a mean"),
    Choice("seeds", ("all", "first 10"), note="seed set"),
    Choice("test", ("signed-rank", "paired t"), note="paired test"),
    Choice(
        "restarts",
        (1, "k"),
        runs=True,
        note=(
            "best of k = 3 restarts at parity (k = 2 at QUICK size), chosen per seed on validation loss, for every "
            "mixture of the comparison: not run for this claim"
        ),
        excludes=(("C8", _SVMS_ONLY),),
    ),
    Choice(
        "selection_score",
        ("cross-entropy", "accuracy"),
        runs=True,
        applies_to=TWO_MOONS,
        excludes=tuple((c, _FIXED_BUDGETS) for c in ("N1", "N2", "N3")),
        note=(
            "configuration selected by mean validation accuracy (ties to the earliest configuration, the rule "
            "before issue #20) instead of cross-entropy: not run for this claim"
        ),
    ),
    Choice(
        "init",
        ("pytorch", "glorot"),
        runs=True,
        applies_to=TWO_MOONS,
        note=(
            "initialisation of the classical layers: PyTorch's default (the authors') vs Keras' default (Glorot "
            "uniform weights, zero biases): not run for this claim"
        ),
        excludes=(("C8", _SVMS_ONLY),),
    ),
)
RUN_CHOICES = tuple(c.name for c in CHOICES if c.runs)


def choice(name: str, choices: Sequence[Choice] = CHOICES) -> Choice:
    for c in choices:
        if c.name == name:
            return c
    raise KeyError(f"no choice {name!r}; declared: {[c.name for c in choices]}")


@dataclass
class MultiverseResult:
    """The verdict over the multiverse: ``share`` of (specification, resample) pairs giving
    ``headline``; ``flipping``: choices whose change alone from the plan's specification (full
    seeds) changes the verdict ("seed resampling" when none does and the share is below the fragile line); ``effects``/``verdicts``: per specification, full seeds
    (the specification curve); ``not_run``: declared choices that need runs not made yet."""

    claim: str | None
    headline: str
    share: float
    n_specs: int
    n_resamples: int
    specs: list[dict]
    effects: list[float]
    verdicts: list[str]
    by_option: dict = field(default_factory=dict)
    flipping: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)

    @property
    def fragile(self) -> bool:
        return self.share < FRAGILE_BELOW

    def summary(self) -> str:
        s = f"{self.share:.2f} of {self.n_specs} specifications x {self.n_resamples} seed resamples give '{self.headline}'"
        if self.fragile:
            s += " *fragile*"
        if self.flipping:
            s += "; flipped by: " + ", ".join(self.flipping)
        if self.not_run:
            s += "; not in this claim's multiverse (no runs for it): " + ", ".join(self.not_run)
        if self.not_applicable:
            s += "; not applicable to this claim: " + ", ".join(self.not_applicable)
        return s

    def to_json(self) -> dict:
        return {
            "claim": self.claim,
            "headline": self.headline,
            "share": self.share,
            "fragile": self.fragile,
            "n_specs": self.n_specs,
            "n_resamples": self.n_resamples,
            "flipping": self.flipping,
            "not_run": self.not_run,
            "not_applicable": self.not_applicable,
            "by_option": {f"{k[0]}={k[1]}": v for k, v in self.by_option.items()},
            "specs": [{**s, "effect": e, "verdict": v} for s, e, v in zip(self.specs, self.effects, self.verdicts)],
        }


def specifications(
    choices: Sequence[Choice], claim: str | None = None, only: Sequence[str] | None = None
) -> list[dict]:
    """Every combination of the available choices that apply (restricted to ``only`` when given), with
    at most one run choice (``Choice.runs``) away from its first option (run choices one at a time)."""
    use = [c for c in choices if c.available and c.applies(claim) and (only is None or c.name in only)]
    runs = [c for c in use if c.runs]
    out = []
    for combo in itertools.product(*[c.options for c in use]):
        spec = dict(zip([c.name for c in use], combo))
        if sum(spec[c.name] != c.options[0] for c in runs) <= 1:
            out.append(spec)
    return out


def run_option(spec: dict, choices: Sequence[Choice] = CHOICES) -> tuple[str, object] | None:
    """The run choice of ``spec`` that leaves the plan's option, as ``(name, option)``, or None when the
    specification uses the plan's runs (a claim picks its data with it)."""
    for c in choices:
        if c.runs and c.name in spec and spec[c.name] != c.options[0]:
            return c.name, spec[c.name]
    return None


def run_choices_present(variants: dict) -> tuple[str, ...]:
    """The run choices a claim has data for: the names of ``variants``' ``(name, option)`` keys."""
    return tuple(dict.fromkeys(name for name, _ in variants))


def seed_positions(spec: dict, n_seeds: int) -> np.ndarray:
    """Seed positions a specification uses: all, or the first 10."""
    if spec.get("seeds") == "first 10":
        return np.arange(min(10, n_seeds))
    return np.arange(n_seeds)


def run_multiverse(
    verdict_of: Callable[[dict, np.ndarray], tuple[str, float]],
    n_seeds: int,
    choices: Sequence[Choice] = CHOICES,
    claim: str | None = None,
    only: Sequence[str] | None = None,
    n_resamples: int = MULTIVERSE_RESAMPLES,
    seed: int = 0,
    headline: str | None = None,
) -> MultiverseResult:
    """Recompute ``verdict_of(spec, seed_positions) -> (verdict, primary effect)`` over every
    specification crossed with ``n_resamples`` bootstrap resamples of its seeds (the first "resample"
    is the seeds themselves). The headline is the plan's specification (each choice's first option) on
    all seeds (or ``headline`` when the entry computed it with more resamples). ``only`` restricts to the choices the claim's rule uses (and the run choices it has runs for); an
    unavailable choice, or a run choice left out of ``only``, that applies to the claim appears in
    ``not_run``."""
    specs = specifications(choices, claim, only)
    plan_spec = {k: choice(k, choices).options[0] for k in specs[0]} if specs and specs[0] else {}
    if headline is None:
        headline, _ = verdict_of(plan_spec, np.arange(n_seeds))
    rng = np.random.default_rng(seed)
    n_resamples = resamples(n_resamples)
    same = np.zeros(len(specs))
    effects, verdicts = [], []
    for i, spec in enumerate(specs):
        pos = seed_positions(spec, n_seeds)
        v, e = verdict_of(spec, pos)
        effects.append(float(e))
        verdicts.append(v)
        hits = int(v == headline)
        for _ in range(n_resamples - 1):
            hits += int(verdict_of(spec, rng.choice(pos, size=len(pos), replace=True))[0] == headline)
        same[i] = hits / n_resamples
    by_option = {}
    flipping = []
    for c in choices:
        if not (c.available and c.applies(claim)) or (only is not None and c.name not in only):
            continue
        for o in c.options:
            ix = [i for i, s in enumerate(specs) if s[c.name] == o]
            by_option[(c.name, o)] = float(same[ix].mean())
        for o in c.options[1:]:
            j = specs.index({**plan_spec, c.name: o})
            if verdicts[j] != headline:
                flipping.append(f"{c.name}={o}")
    if float(same.mean()) < FRAGILE_BELOW and not flipping:
        flipping.append("seed resampling")
    not_run = [
        f"{c.name} {list(c.options)} ({c.note})"
        for c in choices
        if c.applies(claim) and (not c.available or (c.runs and only is not None and c.name not in only))
    ]
    not_applicable = [f"{c.name} ({c.not_applicable(claim)})" for c in choices if c.not_applicable(claim)]
    return MultiverseResult(
        claim,
        headline,
        float(same.mean()),
        len(specs),
        n_resamples,
        specs,
        effects,
        verdicts,
        by_option,
        flipping,
        not_run,
        not_applicable,
    )


def from_json(payload: dict) -> MultiverseResult:
    """A ``MultiverseResult`` back from its ``to_json`` (the ledger entry's ``multiverse`` field)."""
    specs = [{k: v for k, v in s.items() if k not in ("effect", "verdict")} for s in payload["specs"]]
    return MultiverseResult(
        payload.get("claim"),
        payload["headline"],
        payload["share"],
        payload["n_specs"],
        payload["n_resamples"],
        specs,
        [float("nan") if s["effect"] is None else float(s["effect"]) for s in payload["specs"]],  # JSON null: NaN
        [s["verdict"] for s in payload["specs"]],
        {},
        list(payload.get("flipping", [])),
        list(payload.get("not_run", [])),
        list(payload.get("not_applicable", [])),
    )

"""Stage: studies. Ledger entries computed from the noise study: C4 (threshold) and N3 (the authors' Phase 3B table).

C4's parts use the train-under-noise protocol (a fresh model per eps, as the authors' code did) in
both placements: ``every_gate`` is what the claim says ("per gate"), ``authors`` what their code
did. Per seed, Delta(eps) = quantum(eps) - Model A (the tuned linear router, same seed and split);
the advantage curve is made non-increasing in eps (``noise_study.curve_of``) and each placement gives
two parts: the advantage is kept at eps = 0.02 (``ledger.advantage_part``) and it breaks down within
[0.02, 0.03] (``ledger.threshold_part``). The deploy protocol and the other references are in the
note and in ``paper/tables/noise_threshold``, read from the same curves.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from qmoe_tfq.analysis import ledger
from qmoe_tfq.analysis import multiverse as mv
from qmoe_tfq.analysis import rules as ar
from qmoe_tfq.analysis.ledger import (
    Entry,
    Part,
    PerSeed,
    advantage_part,
    per_seed_values,
    single_run_part,
    threshold_part,
)
from qmoe_tfq.analysis.plan import PLAN
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import noise_study as ns
from qmoe_tfq.studies.two_moons_claims import c1_values

N3_STATED = {0.0: 1.000, 0.02: 0.982, 0.05: 0.989, 0.10: 0.994, 0.15: 0.986, 0.20: 0.975}
C4_MAINTAINED_AT = 0.02
C4_BREAKDOWN_BAND = (0.02, 0.03)
C4_REFERENCE = "linear"
C4_PROTOCOL = "train"
C4_PLACEMENTS = ("every_gate", "authors")
C4_STATED_BAND = (0.02, 0.025)  # the claim's own band (issue #21): "up to ~2%, breakdown near 0.025"
C4_GATE_RESAMPLES = 1000
N3_MARGIN = 0.02
STABILITY_RESAMPLES = ledger.STABILITY_RESAMPLES  # bootstrap resamples of the seeds per verdict (tests lower it)
EVIDENCE = [
    "paper/tables/noise.csv",
    "paper/tables/noise_threshold.csv",
    "paper/tables/noise_advantage.csv",
    "paper/figures/noise_advantage.pdf",
    "paper/figures/noise_sweep.pdf",
]
ADAPTER_ARTEFACT = (
    "Under heavy noise the router's <Z> shrinks towards 0 and the adapter's bias then fixes the gate, so the "
    "noisy quantum router degenerates into one fixed (not uniform) mixture of the experts; being significantly "
    "below the constant-gate model there is an artefact of the adapter, stated here and not counted in the verdict."
)


def c4_values(res: ns.Results) -> PerSeed:
    """Per seed, per C4 placement: Delta(eps) = quantum trained under noise - Model A, over the grid."""
    data = ns.delta_values(res.rows, ns.size(res.quick).grid, (C4_REFERENCE,))
    return PerSeed(data.seeds, {p: data.values[ns.curve_key(p, C4_PROTOCOL, C4_REFERENCE)] for p in C4_PLACEMENTS})


#: A multiverse specification whose gate at eps = 0 holds under a run choice whose noise sweep was not run.
NOT_DETERMINED = "not determined (gate kept at eps = 0 under this choice; its noise sweep not run)"


def _two_moons_accuracy(rows, seeds, model_id: str) -> np.ndarray:
    """Held-out accuracy per seed of ``seeds`` of a Two Moons tuned model (``rows`` under the tuned names)."""
    acc = R.runs(rows, f"{ns.tm.TUNED_PREFIX}{model_id}").set_index("seed")["test_accuracy"].astype(float)
    acc = acc.reindex(list(seeds))
    if acc.isna().any():
        raise ValueError(f"Two Moons runs of {model_id} miss seeds {list(acc[acc.isna()].index)} of the noise study")
    return acc.to_numpy(float)


def _gate_delta(rows, seeds) -> np.ndarray:
    """Delta at eps = 0 (quantum - Model A) per seed of ``seeds`` from Two Moons tuned rows."""
    return _two_moons_accuracy(rows, seeds, "quantum") - _two_moons_accuracy(rows, seeds, C4_REFERENCE)


def c4_glorot_curve(res: ns.Results, seeds, grid) -> np.ndarray | None:
    """C4's primary Delta matrix (seeds x eps) under Glorot initialisation: the Glorot quantum router trained under
    noise (``noise_study.glorot_train_experiments``; at eps = 0 the Two Moons Glorot run) minus the Glorot Model A;
    None without those runs."""
    tm = ns.tm
    sweep = ns.glorot_accuracies(res.rows, grid)
    if sweep.empty or ("init", "glorot") not in tm.variant_options(res.models):
        return None
    rows = tm.variant_rows(res.models, "init", "glorot")
    quantum0, reference = (_two_moons_accuracy(rows, seeds, m) for m in ("quantum", C4_REFERENCE))
    noisy = sweep.reindex(list(seeds)).to_numpy(float)
    if np.isnan(noisy).any():
        raise ValueError("the Glorot noise sweep misses some seed at some eps")
    return np.column_stack([quantum0, noisy]) - reference[:, None]


def c4_gate_variants(res: ns.Results, seeds, plan_d0: np.ndarray) -> dict[tuple[str, object], np.ndarray]:
    """Per ``(run choice, option)`` of the Two Moons multiverse runs (``two_moons.variant_options``): Delta at
    eps = 0 (quantum - Model A) on ``seeds``. Those runs are this study's eps = 0 models: the quantum model
    trained at eps = 0 and the Model A reference are the Two Moons tuned runs (``noise_study.train_experiments``,
    ``reference_experiments``), and the variants replace exactly them; checked here: the Two Moons tuned rows
    must give the study's own Delta at eps = 0 (``plan_d0``) bit for bit."""
    tm = ns.tm
    options = tm.variant_options(res.models)
    if not options:
        return {}
    if not np.array_equal(_gate_delta(res.models.rows, seeds), np.asarray(plan_d0, float)):
        raise ValueError("the noise study's eps = 0 models are not the Two Moons tuned runs")
    return {opt: _gate_delta(tm.variant_rows(res.models, *opt), seeds) for opt in options}


def c4_parts(v: dict[str, np.ndarray], grid) -> list[Part]:
    """C4: per placement, the advantage over Model A is kept at eps = 0.02 and breaks down in [0.02, 0.03]."""
    parts = []
    for placement in C4_PLACEMENTS:
        curve = ns.curve_of(grid, v[placement], C4_PROTOCOL)
        label = f"[{placement}, train under noise, vs Model A]"
        parts += [
            advantage_part(f"{label} advantage maintained at eps = {C4_MAINTAINED_AT:g}", curve, C4_MAINTAINED_AT),
            threshold_part(f"{label} breakdown", curve, C4_BREAKDOWN_BAND),
        ]
    return parts


def _curve_summary(key, c) -> str:
    placement, protocol, rid = key
    lost = [f"{e:g}" for e in c.eps if c.state_at(float(e)) == "lost"]
    return (
        f"{placement}/{protocol} vs {rid}: eps* {c.label()} (95% CI [{c.label(c.threshold_low)}, "
        f"{c.label(c.threshold_high)}]), Delta at 0 {c.mean[0]:+.3f}, lost at eps {', '.join(lost) or 'none'}"
    )


def c4(res: ns.Results) -> Entry:
    from qmoe_tfq.experiments.tuning import protocol_sentence

    rows, quick = res.rows, res.quick
    grid = ns.size(quick).grid
    data = c4_values(res)
    every = ns.delta_values(rows, grid, (C4_REFERENCE,)).values[ns.curve_key("every_gate", "train", C4_REFERENCE)]
    data = PerSeed(data.seeds, {**data.values, "every_gate_train": every})
    curves = ns.curves(rows, grid)
    primary = {p: curves[(p, C4_PROTOCOL, C4_REFERENCE)] for p in C4_PLACEMENTS}
    primary_curves = primary
    reproduced = "; ".join(
        f"eps* vs Model A (train under noise, {p}): {c.label()} (95% CI [{c.label(c.threshold_low)}, "
        f"{c.label(c.threshold_high)}])"
        for p, c in primary.items()
    )
    refs = ns.reference_table(rows).set_index("reference")
    chosen = res.models.tuned.selections["quantum"].params
    protocol = (
        f"noise study on the Two Moons tuned models (make_moons({ns.tm.DATA.n_samples}), fresh 70/30 split per "
        f"seed; {protocol_sentence(ns.tm.budget(quick))}; the quantum router's chosen configuration "
        f"{chosen} is used at every eps), held-out test accuracy over {len(data.seeds)} seeds; eps grid "
        f"{', '.join(f'{e:g}' for e in grid)}; C4 parts: train under noise, exact density-matrix engine, both "
        "placements, Delta against Model A on the same seed"
    )
    deploy = "; ".join(
        _curve_summary((p, "deploy", C4_REFERENCE), curves[(p, "deploy", C4_REFERENCE)]) for p in C4_PLACEMENTS
    )
    others = "; ".join(_curve_summary(k, c) for k, c in curves.items() if k[2] != C4_REFERENCE)
    constant_lost = [
        k for k, c in curves.items() if k[2] == "constant" and any(c.state_at(float(e)) == "lost" for e in c.eps)
    ]
    artefact = (
        f"Against the constant-gate model the advantage is lost on "
        f"{', '.join(f'{p}/{pr}' for p, pr, _ in constant_lost)} (eps above). {ADAPTER_ARTEFACT}"
        if constant_lost
        else "The constant-gate model is never significantly above the quantum router."
    )
    note = (
        "Rule: per seed Delta(eps) = quantum(eps) - reference; the mean over seeds, made non-increasing in eps "
        "for train under noise (each eps a fresh training run), crosses zero at eps*, interpolated in log eps; "
        "CIs from 1,000 paired bootstrap resamples of the seeds; 'kept' / 'lost' at one eps by the exact "
        "one-sided signed-rank test (Holm over the claim's parts). Deploy protocol (noiseless training, noisy "
        f"evaluation; the mean curve, not fitted), in the note only since the claim is about training under "
        f"noise as the authors simulated it: {deploy}. Other references: {others}. {artefact} References "
        "(noiseless; depolarizing noise does not act on classical routers): "
        + ", ".join(
            f"{rid} {r.test_acc_mean:.3f} [{r.test_acc_ci_low:.3f}, {r.test_acc_ci_high:.3f}]"
            for rid, r in refs.iterrows()
        )
        + " (BCa 95% CI). 'per gate' in the claim is the every_gate placement; the authors' code trained under "
        "noise with the authors' placement; both are parts."
    )
    gated = c4_outcomes(res, n_resamples=C4_GATE_RESAMPLES)
    primary, secondary = gated[0], gated[1:]
    note += (
        f" Issue #21: the primary endpoint first requires quantum > Model A at eps = 0 (every_gate, train under "
        f"noise); only then is eps* judged against the claim's band {C4_STATED_BAND[0]:g}-{C4_STATED_BAND[1]:g} "
        "(its 95% CI inside -> shown; wholly outside -> not; else inconclusive). The old parts (kept at 0.02, "
        f"breakdown in {C4_BREAKDOWN_BAND}) by the earlier rule: "
        + "; ".join(f"[{p.state}] {p.description}" for p in ledger.holm_parts(c4_parts(data.values, grid)))
        + "."
    )
    entry = ledger.planned(
        "C4",
        primary,
        [(o, False) for o in secondary],
        reproduced,
        {p: [c.threshold_low, c.threshold_high] for p, c in primary_curves.items()},
        protocol,
        EVIDENCE,
        note,
        rule="noise threshold",
        secondary_rules=["noise threshold"] * len(secondary),
    )
    if primary.state == "shown otherwise" and not primary.extra.get("gate", True):
        entry.verdict = "not reproduced"
        entry.reproduced = "no advantage over Model A at eps = 0 (thresholds descriptive): " + entry.reproduced
    if entry.verdict != "reproduced" and not primary.extra.get("gate", True):
        d0 = data.values["every_gate_train"][:, 0]
        pw = ar.paired_power(d0, effect_of_interest=0.02)
        entry.power = ar.power_sentence(pw, " (accuracy) at eps = 0")
        d_rep = _replication_differences(res)
        if pw["underpowered"] and d_rep is not None:
            entry.power += gate_replication_sentence(d_rep, res, d0, grid, primary_curves["every_gate"])
            if ar.gate_at_zero(d_rep)[0] == "kept":
                entry.reproduced = entry.reproduced.replace(
                    "no advantage over Model A at eps = 0",
                    f"no advantage over Model A at eps = 0 on these {len(d0)} seeds (underpowered; kept on C1's "
                    "replication seeds)",
                    1,
                )

    gates = c4_gate_variants(res, data.seeds, data.values["every_gate_train"][:, 0])
    glorot = c4_glorot_curve(res, data.seeds, grid)
    sweeps = {} if glorot is None else {("init", "glorot"): glorot}

    def verdict_of(spec: dict, pos: np.ndarray) -> tuple[str, float]:
        test, option = spec.get("test", "signed-rank"), mv.run_option(spec)
        if option in sweeps:  # the variant's own curve: the whole rule
            m = sweeps[option][pos]
            o = ar.gated_threshold(grid, m, C4_STATED_BAND, test=test, n_resamples=100)
            return PLAN["C4"].verdict(o.state), float(np.mean(m[:, 0]))
        if option is not None:  # the gate on the variant's eps = 0 models; their sweeps were not run
            d0 = gates[option][pos]
            state, _, _ = ar.gate_at_zero(d0, test=test)
            if state == "kept":
                return NOT_DETERMINED, float(np.mean(d0))
            return PLAN["C4"].verdict("reversed" if state == "reversed" else "shown otherwise"), float(np.mean(d0))
        o = ar.gated_threshold(grid, data.values["every_gate_train"][pos], C4_STATED_BAND, test=test, n_resamples=100)
        return PLAN["C4"].verdict(o.state), float(np.mean(data.values["every_gate_train"][pos][:, 0]))

    multi = mv.run_multiverse(
        verdict_of,
        len(data.seeds),
        claim="C4",
        only=("seeds", "test", *mv.run_choices_present(gates)),
        n_resamples=min(STABILITY_RESAMPLES, 20),
        headline=PLAN["C4"].verdict(primary.state),
    )
    if gates:
        entry.note += (
            " Run choices in the multiverse (issue #21): the eps = 0 models here are the Two Moons tuned runs, so the "
            "gate is recomputed on that study's multiverse runs (" + ", ".join(f"{c}={o}" for c, o in gates) + "; "
            "the same seeds); where the gate fails under a choice the verdict is the plan's 'no advantage at eps = 0', "
            f"where it holds the specification reads '{NOT_DETERMINED}' and counts against the headline"
            + (
                ", except under " + ", ".join(f"{c}={o}" for c, o in sweeps) + ", whose primary curve was retrained "
                "under noise (every_gate, every eps, Glorot initialisation, against the Glorot Model A) and is judged "
                "by the whole rule"
                if sweeps
                else ""
            )
            + "."
        )
    if glorot is not None:
        o = ar.gated_threshold(grid, glorot, C4_STATED_BAND)
        entry.note += (
            f" Under Glorot initialisation (plan's seeds and test): {o.text} -> {PLAN['C4'].verdict(o.state)}."
        )
    return ledger.with_multiverse(entry, multi)


def _replication_differences(res: ns.Results) -> np.ndarray | None:
    """Per C1 replication seed, quantum - Model A held-out accuracy at eps = 0 (C1's own values,
    ``two_moons_claims.c1_values``); None without the replication."""
    rep = res.models.replication_rows
    if rep.empty:
        return None
    v = c1_values(rep, ns.tm.REPLICATION_PREFIX).values
    return (v["quantum_acc"] - v["linear_acc"]).astype(float)


def gate_replication_sentence(d: np.ndarray, res: ns.Results, d0: np.ndarray, grid, curve) -> str:
    """Where the eps = 0 gate fails underpowered on the plan's seeds (``d0``): the same comparison on C1's
    replication seeds (``d``; the eps = 0 models are the Two Moons tuned runs, so C1's replication is this gate on
    fresh seeds), whether the primary curve's descriptive eps* would give the same verdict were the gate shown, and
    what retraining the primary curve on the replication seeds would cost (issue #21's "adds seeds where that is
    cheap", answered with numbers)."""
    state, p0, _ = ar.gate_at_zero(d)
    n, noisy = len(d), [e for e in grid if e > 0]
    runs = R.runs(res.rows, ns.train_name("every_gate", float(noisy[0])))
    seconds = float(runs["train_seconds"].median()) if not runs.empty else math.nan
    try:
        needed = f"{ar.paired_sample_size(d0, 0.02, n_max=10_000)}"
    except ValueError as err:
        needed = f"none computable ({err})"
    lo, hi = C4_STATED_BAND
    if curve.threshold_low > hi or curve.threshold_high < lo:
        side = "above" if curve.threshold_low > hi else "below"
        same = (
            f". Were the gate shown, the rule's next step would not change the verdict: this curve's eps* 95% CI "
            f"[{curve.label(curve.threshold_low)}, {curve.label(curve.threshold_high)}] lies wholly {side} the stated "
            f"band [{lo:g}, {hi:g}] (shown otherwise -> {PLAN['C4'].verdict('shown otherwise')})"
        )
    else:
        same = (
            f". Were the gate shown, this curve's eps* 95% CI [{curve.label(curve.threshold_low)}, "
            f"{curve.label(curve.threshold_high)}] meets the stated band [{lo:g}, {hi:g}]: the verdict rests on the gate"
        )
    return (
        f". The gate on C1's replication ({n} fresh seeds; the eps = 0 models are the Two Moons tuned runs, so this "
        f"is C1's primary comparison): mean {d.mean():+.4f}, signed-rank p = {p0:.3g}: "
        + {"kept": "kept", "reversed": "reversed", "none": "not shown"}[state]
        + f"{same}. Seeds for 80% power against 2 pp at the SD of the plan's {len(d0)} seeds: {needed}. Deciding C4 on "
        "the replication's seeds would retrain the "
        f"primary curve at each of the {len(noisy)} noisy eps on those {n} seeds: {len(noisy) * n} density-matrix "
        f"runs, about {len(noisy) * n * seconds:.0f} s of training at this study's median {seconds:.2f} s per run "
        "(tracing not counted); not run, for make paper's 12-minute budget (issue #20)"
    )


def c4_outcomes(res: ns.Results, n_resamples: int = C4_GATE_RESAMPLES) -> list[ar.Outcome]:
    """C4 by the plan: the gated threshold for every_gate / train under noise (primary), then the
    authors' placement (train) and the every-gate deploy protocol (parts)."""
    grid = ns.size(res.quick).grid
    data = ns.delta_values(res.rows, grid, (C4_REFERENCE,)).values
    out = []
    for placement, protocol_ in (("every_gate", "train"), ("authors", "train"), ("every_gate", "deploy")):
        o = ar.gated_threshold(
            grid,
            data[ns.curve_key(placement, protocol_, C4_REFERENCE)],
            C4_STATED_BAND,
            monotone=protocol_ == "train",
            n_resamples=n_resamples,
        )
        out.append(
            replace(
                o,
                text=f"[{placement}, {'train under noise' if protocol_ == 'train' else 'deploy'}, vs Model A] {o.text}",
            )
        )
    return out


def n3_values(rows) -> PerSeed:
    names = {float(n.split("/")[1]): n for n in set(rows["experiment"]) if n.startswith("n3/") and n != "n3/constant"}
    return per_seed_values(rows, {f"{p:g}": (names[p], "train_accuracy") for p in sorted(names) if p in N3_STATED})


def n3_parts(v: dict[str, np.ndarray]) -> list[Part]:
    """N3: the sign of the accuracy-vs-noise trend decides (plan); each stated Phase 3B value (one run) is a
    secondary equivalence check against our mean."""
    return [single_run_part(f"p={p} training-set accuracy", N3_STATED[float(p)], acc) for p, acc in v.items()]


def n3(res: ns.Results) -> Entry:
    rows, quick = res.rows, res.quick
    data = n3_values(rows)
    cis = {p: bootstrap_interval(v, bounds=ACCURACY_BOUNDS) for p, v in data.values.items()}
    s = ns.size(quick)
    floor = float(ns.n3_table(rows, N3_STATED)["constant_gate_train_acc_mean"].iloc[0])
    protocol = (
        f"authors' Phase 3B protocol: make_moons(1000, random_state=42), no split, authors' placement, "
        f"a fresh model trained under noise per p, Adam lr {ns.N3_LR}, {s.n3_epochs} epochs, TRAINING-SET "
        f"accuracy, {s.n3_seeds} model seeds"
    )
    note = (
        "The authors ran one seed; the plan decides N3 by the sign of the trend, and each stated number is a "
        "secondary equivalence check against our mean; ci95: BCa 95% CI of our mean. On the same data and budget the constant-gate model "
        f"(no router at all) reaches training-set accuracy {floor:.3f}: the floor of the authors' plot is this, "
        "not 0.5 (random guessing)."
    )
    missing = sorted(set(N3_STATED) - {float(p) for p in data.values})
    if missing:
        note += f" Not run at this size: p = {', '.join(f'{p:g}' for p in missing)}."
    levels = np.array([float(p) for p in data.values])
    matrix = np.column_stack([data.values[p] for p in data.values])
    primary = ar.trend_sign(
        levels,
        matrix,
        claimed="decreasing",
        description="training-set accuracy vs p, over (p, seed) points; the authors' table falls",
    )
    theirs = ar.trend_sign(
        levels,
        np.array([N3_STATED[float(p)] for p in data.values]),
        claimed="decreasing",
        description="the authors' table (one run)",
    )
    tosts = [
        ar.tost_mean(v, N3_STATED[float(p)], N3_MARGIN, description=f"p={p} training-set accuracy")
        for p, v in data.values.items()
    ]
    note += (
        f" Issue #21: a trend claim is judged by the sign of the trend (one-sided Spearman over (p, seed) points), "
        f"not point by point; {theirs.text}. Each stated value by TOST within {N3_MARGIN * 100:g} pp is a "
        "secondary part."
    )
    entry = ledger.planned(
        "N3",
        primary,
        [(o, False) for o in tosts],
        ", ".join(f"p={p}: {ci.mean:.3f}" for p, ci in cis.items()),
        {p: [ci.low, ci.high] for p, ci in cis.items()},
        protocol,
        ["paper/tables/noise_n3.csv"],
        note,
        rule="trend",
        secondary_rules=["equivalence"] * len(tosts),
    )
    if entry.verdict in ("not reproduced", "inconclusive"):
        entry.power = ar.power_sentence(ar.trend_power(matrix.size), state=primary.state)

    matrices = {None: matrix}
    glorot_rows = ns.n3_glorot_rows(rows)
    if not glorot_rows.empty:  # the same runs under Glorot initialisation, on the same p and seeds
        g = n3_values(glorot_rows)
        if list(g.seeds) != list(data.seeds) or list(g.values) != list(data.values):
            raise ValueError("N3's Glorot runs must cover the plan's noise levels and seeds")
        matrices[("init", "glorot")] = np.column_stack([g.values[p] for p in g.values])

    def verdict_of(spec: dict, pos: np.ndarray) -> tuple[str, float]:
        o = ar.trend_sign(levels, matrices[mv.run_option(spec)][pos], claimed="decreasing")
        return PLAN["N3"].verdict(o.state), o.effect

    multi = mv.run_multiverse(
        verdict_of,
        len(data.seeds),
        claim="N3",
        only=("seeds", *(k[0] for k in matrices if k is not None)),
        n_resamples=min(STABILITY_RESAMPLES, 200),
        headline=entry.verdict,
    )
    return ledger.with_multiverse(entry, multi)


def claims(res: ns.Results) -> list[Entry]:
    """Every ledger entry the noise study provides."""
    return [c4(res), n3(res)]


__all__ = [
    "C4_BREAKDOWN_BAND",
    "C4_MAINTAINED_AT",
    "C4_PLACEMENTS",
    "C4_REFERENCE",
    "N3_STATED",
    "c4",
    "c4_parts",
    "c4_values",
    "claims",
    "n3",
    "n3_parts",
]

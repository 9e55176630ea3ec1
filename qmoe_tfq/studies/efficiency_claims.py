"""Stage: studies. Ledger entry computed from the parameter-efficiency study: C5 (a deep classical router needs ~10x
the parameters to match the quantum router). This is the only place C5 is judged.

Rule (``ledger.PART_RULES["non-inferiority"]``): the reference is the paper's own quantum router,
L = 3, fixed before the runs; every MLP width is tested for non-inferiority against it (margin 1
percentage point of test accuracy, exact signed-rank test on per-seed correct test points), in fixed
sequence from the widest down; the ratio is the smallest width reached over the reference's router
parameters, judged against the stated ~10x by ``ledger.ratio_part``.
"""

from __future__ import annotations

import numpy as np

from qmoe_tfq.analysis.ledger import NONINFERIORITY_MARGIN, Entry, Part, ratio_part, tested, with_parts_stability
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval
from qmoe_tfq.analysis import ledger
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import efficiency as ef

RATIO_STATED = 10.0
RATIO_BAND = (RATIO_STATED / 2, RATIO_STATED * 2)
STABILITY_RESAMPLES = ledger.STABILITY_RESAMPLES  # bootstrap resamples of the seeds per verdict (tests lower it)
EVIDENCE = ["paper/tables/param_efficiency_tuned.csv", "paper/figures/param_efficiency.pdf"]
DESCRIPTION = (f"a deep classical (MLP) router needs ~{RATIO_STATED:g}x the router parameters of the quantum router "
               f"({ef.REFERENCE}, fixed in advance) to match it")


def protocol(res: ef.Results) -> str:
    """The tuned sweep's protocol as run."""
    from qmoe_tfq.experiments.tuning import protocol_sentence

    s = ef.size(res.quick)
    return (protocol_sentence(ef.budget(res.quick)) + f"; each point tuned on its own; quantum router L = "
            f"{', '.join(map(str, s.layers))}; MLP router h = {', '.join(map(str, s.hidden))}")


def c5_parts(values: dict[str, np.ndarray], params: dict[str, int], reference: str = ef.REFERENCE) -> list[Part]:
    """C5's one part: the non-inferiority ratio against ``reference`` judged against the stated ~10x."""
    return [ratio_part(DESCRIPTION if reference == ef.REFERENCE else DESCRIPTION.replace(ef.REFERENCE, reference),
                       ef.parameter_match(values, params, reference), RATIO_STATED, RATIO_BAND)]


def c5(res: ef.Results) -> Entry:
    """C5 from the tuned sweep against the fixed reference (L = 3); the best depth (post hoc) and the
    authors' budget sweep go into the note."""
    rows, quick = res.rows, res.quick
    params = ef.point_params(quick)
    data = ef.sweep_values(rows, ef.TUNED_PREFIX, quick)
    match = ef.parameter_match(data.values, params)
    tuned = ef.efficiency_table(rows, ef.TUNED_PREFIX, quick, res.tuned)
    best = str(ef.best_quantum(tuned)["model"])
    post_hoc = ef.parameter_match(data.values, params, best)
    budget = ef.sweep_values(rows, ef.BUDGET_PREFIX, quick)
    budget_match = ef.parameter_match(budget.values, params)
    budget_table = ef.efficiency_table(rows, ef.BUDGET_PREFIX, quick)
    mlp = budget_table["family"] == "classical"
    collapsed = int(budget_table.loc[mlp, "n_collapsed"].fillna(0).sum())
    runs = int(budget_table.loc[mlp, "n_seeds"].sum())
    tuned_collapsed = int(tuned.loc[tuned["family"] == "classical", "n_collapsed"].fillna(0).sum())
    ref = R.runs(rows, f"{ef.TUNED_PREFIX}{ef.REFERENCE}")["test_accuracy"].to_numpy(float)
    ci = bootstrap_interval(ref, bounds=ACCURACY_BOUNDS)
    note = (f"Non-inferiority margin {NONINFERIORITY_MARGIN * 100:g} percentage point; per-width p-values in "
            f"`param_efficiency_tuned` (p_noninferior). Reference {ef.REFERENCE}: test accuracy {ci} (BCa 95% CI, "
            f"{ci.n} seeds). Post hoc (best of {len(ef.size(quick).layers)} depths by mean test accuracy, labelled "
            f"as such: a winner's-curse comparison): against {best} the same rule gives {ef.describe(post_hoc, best)}. "
            f"Against the authors' budget (Adam lr 0.1, 50 epochs for every router) it gives "
            f"{ef.describe(budget_match)}; there {collapsed} of {runs} MLP-router runs collapsed (one expert "
            f"everywhere or constant gates), tuned {tuned_collapsed} of "
            f"{int(tuned.loc[tuned['family'] == 'classical', 'n_seeds'].sum())}. The tuned sweep is the comparison "
            "in which every model got the same budget.")
    entry = tested("C5", c5_parts(data.values, params), ef.describe(match),
                   {ef.REFERENCE: [ci.low, ci.high]}, protocol(res), EVIDENCE, note)
    return with_parts_stability(entry, lambda v: c5_parts(v, params), data, n_resamples=STABILITY_RESAMPLES)


def claims(res: ef.Results) -> list[Entry]:
    """Every ledger entry the parameter-efficiency study provides."""
    return [c5(res)]

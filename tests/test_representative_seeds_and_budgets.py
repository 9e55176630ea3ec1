"""Issue #20 on constructed rows: figures show each model's median-accuracy seed (the lower median of the seeds
sorted by (correct test points, seed)) and name it; the epoch-budget check reads the validation loss curve when
present and falls back to the validation accuracy curve, saying which it used."""

import numpy as np
import pandas as pd
import pytest

from qmoe_tfq.analysis import convergence as cv
from qmoe_tfq.experiments.tuning import Selection, TunedResults, eval_name, tuning_name
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import two_moons as tm


def _eval_rows(name: str, correct: dict[int, int], n_test: int = 150) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"experiment": name, "seed": s, "n_correct": k, "n_test": n_test, "test_accuracy": k / n_test}
            for s, k in correct.items()
        ]
    )


# ------------------------------------------------------------------------------------ median seed


def test_median_seed_odd_count_is_the_middle_run():
    rows = _eval_rows("m", {0: 140, 1: 120, 2: 150, 3: 130, 4: 145})
    assert R.median_seed(rows, "m") == 0  # sorted: 120 (1), 130 (3), 140 (0), 145 (4), 150 (2)


def test_median_seed_even_count_takes_the_lower_median():
    rows = _eval_rows("m", {0: 140, 1: 120, 2: 150, 3: 130})
    assert R.median_seed(rows, "m") == 3  # sorted: 120 (1), 130 (3) | 140 (0), 150 (2): the lower of the two


def test_median_seed_ties_are_broken_by_seed_and_the_seed_ran():
    rows = _eval_rows("m", {5: 140, 2: 140, 9: 140, 7: 100})
    assert R.median_seed(rows, "m") == 2  # (100, 7), (140, 2), (140, 5), (140, 9): index (4 - 1) // 2 = 1
    rows = _eval_rows("m", {s: 147 for s in (3, 11, 4)})
    assert R.median_seed(rows, "m") == 4  # all tied: the middle seed in seed order
    assert R.median_seed(_eval_rows("m", {17: 90}), "m") == 17
    rows = pd.concat([_eval_rows("m", {0: 140, 1: 120, 2: 150}), _eval_rows("other", {0: 1, 1: 2, 2: 3})])
    assert R.median_seed(rows, "m") == 0 and R.median_seed(rows, "other") == 1
    assert R.seed_note(rows, "m", 0) == "seed 0, median of 3"
    with pytest.raises(KeyError):
        R.median_seed(rows, "absent")


def test_decision_regions_title_each_panel_with_its_seed():
    from qmoe_tfq.reporting import plots

    grid = 8
    rows = []
    for model_id, correct in (("linear", {0: 120, 1: 130, 2: 140}), ("quantum", {0: 149, 1: 141, 2: 145})):
        for s, k in correct.items():
            rows.append(
                {
                    "experiment": f"tm/{model_id}",
                    "seed": s,
                    "n_correct": k,
                    "n_test": 150,
                    "test_accuracy": k / 150,
                    "grid_predictions": "01" * (grid * grid // 2),
                }
            )
    rows = pd.DataFrame(rows)
    seeds = {m: R.median_seed(rows, f"tm/{m}") for m in ("linear", "quantum")}
    assert seeds == {"linear": 1, "quantum": 2}
    notes = {m: R.seed_note(rows, f"tm/{m}", s) for m, s in seeds.items()}
    drawn = []

    def points(seed):
        drawn.append(seed)
        return np.array([[0.5, 0.5], [2.0, 2.0]]), np.array([0, 1])

    fig = plots.decision_regions(rows, [("linear", "Model A"), ("quantum", "quantum")], points, seeds, "tm/", notes)
    titles = [ax.get_title() for ax in fig.axes]
    assert "seed 1, median of 3: test acc 0.867" in titles[0] and "seed 2, median of 3: test acc 0.967" in titles[1]
    assert drawn == [1, 2]  # each panel's test points are its own seed's
    fig = plots.decision_regions(rows, [("linear", "Model A")], points, {"linear": 0}, "tm/")
    assert "seed 0: test acc 0.800" in fig.axes[0].get_title()


# ------------------------------------------------------------------------------- convergence rule


def _curve(n: int, best: int, lower: bool) -> list[float]:
    """A curve over ``n`` epochs whose best value is at epoch ``best`` (1-based), then slightly worse."""
    e = np.arange(1, n + 1, dtype=float)
    dist = np.abs(e - best) / n
    return list(0.2 + dist) if lower else list(0.95 - dist)


def test_run_converged_when_the_best_loss_epoch_is_within_the_fraction():
    r = cv.run_convergence({"validation_loss_curve": _curve(100, 40, True), "validation_curve": _curve(100, 99, False)})
    assert r == cv.RunConvergence(cv.LOSS_CURVE, 40, 100, True)  # the loss curve is read first
    edge = int(cv.CONVERGED_FRACTION * 100)
    assert cv.run_convergence({"validation_loss_curve": _curve(100, edge, True)}).converged
    assert not cv.run_convergence({"validation_loss_curve": _curve(100, edge + 1, True)}).converged


def test_run_still_improving_when_the_loss_falls_to_the_end():
    falling = list(np.linspace(1.0, 0.3, 30))
    r = cv.run_convergence({"validation_loss_curve": falling, "validation_curve": _curve(30, 5, False)})
    assert (r.curve, r.best_epoch, r.n_epochs, r.converged) == (cv.LOSS_CURVE, 30, 30, False)


def test_a_loss_creeping_down_by_less_than_the_tolerance_has_converged():
    creeping = list(np.linspace(0.100, 0.100 - 0.8 * cv.LOSS_TOLERANCE, 30))  # best at the last epoch
    r = cv.run_convergence({"validation_loss_curve": creeping})
    assert (r.best_epoch, r.converged) == (30, True)
    still = list(np.linspace(0.100, 0.100 - 8 * cv.LOSS_TOLERANCE, 30))
    assert not cv.run_convergence({"validation_loss_curve": still}).converged


def test_a_late_dip_on_a_plateau_counts_by_its_size_against_the_tolerance():
    """The shape of scaling/digits-10/k2/linear's flagged seeds (``scaling.BUDGET_FINDINGS``): flat after an
    early descent, its lowest loss one dip just past 80 % of the epochs. Flagged when the dip lowers the best
    loss by at least the tolerance, converged when by less: the rule is left as documented."""
    n = 150
    plateau = np.r_[np.linspace(1.6, 1.2, 40), np.full(n - 40, 1.2)]
    for depth, converged in ((1.05 * cv.LOSS_TOLERANCE, False), (0.95 * cv.LOSS_TOLERANCE, True)):
        curve = plateau.copy()
        curve[143] -= depth  # epoch 144 of 150
        r = cv.run_convergence({"validation_loss_curve": list(curve)})
        assert (r.best_epoch, r.converged) == (144, converged)


def test_missing_loss_field_falls_back_to_the_accuracy_curve():
    plateau = [0.5, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]  # first reaches its best at epoch 3
    for row in (
        {"validation_curve": plateau},  # rows cached before the field existed
        {"validation_curve": plateau, "validation_loss_curve": None},
        {"validation_curve": plateau, "validation_loss_curve": float("nan")},
        {"validation_curve": plateau, "validation_loss_curve": pd.NA},
    ):
        assert cv.run_convergence(row) == cv.RunConvergence(cv.ACCURACY_CURVE, 3, 10, True)
    late = cv.run_convergence({"validation_curve": [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7]})
    assert late.curve == cv.ACCURACY_CURVE and late.best_epoch == 10 and not late.converged
    assert cv.run_convergence({"validation_curve": None}) is None  # a reference, not trained in epochs


def test_model_flagged_unless_most_tuning_seeds_converged():
    ok, late = {"validation_loss_curve": _curve(50, 10, True)}, {"validation_loss_curve": _curve(50, 49, True)}
    two_of_three = cv.model_convergence([ok, ok, late])
    assert (two_of_three.n_converged, two_of_three.n_runs, two_of_three.flagged) == (2, 3, False)
    assert two_of_three.best_epochs == (10, 10, 49) and two_of_three.verdict == "converged"
    assert cv.model_convergence([ok, late, late]).flagged
    assert cv.model_convergence([ok, ok, late, late]).flagged  # half is not most
    mixed = cv.model_convergence([ok, {"validation_curve": _curve(50, 10, False)}])
    assert mixed.curve == "validation loss + validation accuracy"
    assert cv.model_convergence([{"validation_curve": None}]) is None


def test_convergence_table_reads_the_chosen_configurations_tuning_runs():
    b = tm.budget(True)
    quantum, logreg = tm.candidate("quantum"), tm.candidate("logreg")
    n = b.max_epochs
    late = _curve(n, n, False)
    rows = pd.DataFrame(
        [
            {
                "experiment": tuning_name(b, quantum, 1),
                "seed": s,
                "validation_curve": late,
                "best_epoch": n,
            }
            for s in b.tuning_seeds
        ]
        + [
            {"experiment": tuning_name(b, quantum, 0), "seed": s, "validation_curve": _curve(n, 1, False)}
            for s in b.tuning_seeds
        ]
        + [{"experiment": tuning_name(b, logreg, 0), "seed": s, "validation_curve": None} for s in b.tuning_seeds]
    )
    sel = {eval_name(b, c): Selection(c, {"lr": 0.01}, i, 0.9, pd.DataFrame()) for c, i in ((quantum, 1), (logreg, 0))}
    tuned = TunedResults(rows, dict(sel), pd.DataFrame(), dict(sel))
    table = R.convergence_table(tuned, [([quantum, logreg], b)])
    assert table["model_id"].tolist() == ["quantum"]  # logistic regression is not trained in epochs
    row = table.iloc[0]
    assert row["converged"] == f"0/{b.n_tuning_seeds}" and row["flagged"] and row["verdict"] == "still improving"
    assert row["curve"] == "validation accuracy" and row["kept_epochs"] == ", ".join([str(n)] * b.n_tuning_seeds)
    text = cv.sentence(table)
    assert f"{cv.CONVERGED_FRACTION:.0%}" in text and "validation accuracy" in text and "tm/quantum" in text

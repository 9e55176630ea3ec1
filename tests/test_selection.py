"""The tuned protocol's selection rule: validation cross-entropy decides where accuracy ties, a
non-finite score never wins, runner-up and margin are reported, and a choice at an edge of an
ordered parameter's grid extends the grid (at most ``EDGE_EXTENSIONS`` steps per side), on
constructed tuning rows (no training); plus one tiny real run that records ``validation_log_loss``."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.data import DataSpec, load_dataset
from qmoe_tfq.estimators import validation_split
from qmoe_tfq.experiments import experiment as experiments
from qmoe_tfq.experiments import search_spaces as ss
from qmoe_tfq.experiments.experiment import Experiment, config_key
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe
from qmoe_tfq.experiments.runner import run_experiments
from qmoe_tfq.experiments.tuning import (
    EDGE_EXTENSIONS,
    Budget,
    Candidate,
    Extension,
    TunedResults,
    accuracy_choice,
    accuracy_selection,
    evaluation_experiments,
    protocol_sentence,
    run_tuned,
    select,
    tuned_columns,
    tuning_plan,
)

DATA = DataSpec(name="moons", n_samples=120, noise=0.1, test_size=0.3)
LINEAR = Candidate("linear", "linear", "linear", qmoe(router="linear"), "moe")
LOGREG = Candidate("logreg", "logreg", "logreg", EstimatorSpec("logreg"), "logreg")
N_VAL = 20


def budget(quick: bool = False) -> Budget:
    return Budget("s/", DATA, n_tuning_seeds=3, eval_seeds=(0, 1), max_epochs=3, quick=quick)


class LossRunner:
    """``run(experiments, desc)`` without training: a tuning run's (correct of ``N_VAL``, loss) is
    ``score(model_id, params, seed)``; every call's description and experiments are recorded."""

    def __init__(self, score) -> None:
        self.score = score
        self.calls: list[tuple[str, list[Experiment]]] = []

    def __call__(self, exps, desc: str = "runs") -> pd.DataFrame:
        exps = list(exps)
        self.calls.append((desc, exps))
        rows = []
        for e in exps:
            for seed in e.seeds:
                row = {"experiment": e.name, "protocol": e.protocol, "seed": seed, **e.tag_dict}
                if e.protocol == "tuning":
                    correct, loss = self.score(e.tag_dict["model_id"], e.model.param_dict, seed)
                    row.update(n_validation_correct=correct, n_validation=N_VAL, validation_log_loss=loss)
                else:
                    row.update(test_accuracy=0.9)
                rows.append(row)
        return pd.DataFrame(rows)


def by_param(**losses):
    """A score: every point correct, the loss ``losses[model_id](params)``."""
    return lambda mid, params, seed: (N_VAL, losses[mid](params))


def interior(params) -> float:
    """Lowest at lr 0.01 / C 1 (inside every grid), standard scaling slightly better."""
    value = params.get("lr", params.get("C"))
    return (
        0.2
        + abs(math.log10(value) - math.log10(0.01 if "lr" in params else 1.0)) / 10
        - (0.01 * (params["input_scaling"] == "standard"))
    )


def rows_for(c: Candidate, b: Budget, table: dict[int, list[tuple[int, float]]], **extra) -> pd.DataFrame:
    """Tuning rows of candidate ``c``: configuration index -> (correct, loss) per tuning seed."""
    return pd.DataFrame(
        [
            {
                "experiment": f"{b.prefix}tune/{c.id}/{i}",
                "seed": s,
                "n_validation_correct": k,
                "n_validation": N_VAL,
                "validation_log_loss": loss,
                **{name: v[i] for name, v in extra.items() if i in v},
            }
            for i, runs in table.items()
            for s, (k, loss) in zip(b.tuning_seeds, runs)
        ]
    )


# ------------------------------------------------------------------------------------ the score


def test_cross_entropy_decides_between_configurations_with_perfect_accuracy():
    b = budget()
    table = {i: [(N_VAL, 0.30)] * 3 for i in range(8)}
    table[2] = [(N_VAL, 0.12), (N_VAL, 0.10), (N_VAL, 0.11)]
    table[5] = [(N_VAL, 0.05), (N_VAL, 0.06), (N_VAL, 0.04)]
    sel = select(LINEAR, b, rows_for(LINEAR, b, table))
    assert sel.index == 5 and sel.params == ss.configurations("moe")[5]
    assert sel.validation_accuracy == 1.0
    assert sel.score == pytest.approx(0.05)
    assert (sel.runner_up, sel.runner_up_params) == (2, ss.configurations("moe")[2])
    assert sel.runner_up_score == pytest.approx(0.11)
    assert sel.margin == pytest.approx(0.06)
    assert list(sel.scores["validation_accuracy"]) == [1.0] * 8  # accuracy kept beside the score
    assert {"validation_correct", "validation_total", "validation_log_loss", "round"} <= set(sel.scores)


def test_score_is_row_weighted_and_exact_ties_go_to_the_earlier_configuration():
    b = budget()
    table = {i: [(N_VAL, 0.5)] * 3 for i in range(8)}
    table[3] = table[6] = [(N_VAL, 0.2)] * 3
    rows = rows_for(LINEAR, b, table)
    sel = select(LINEAR, b, rows)
    assert (sel.index, sel.runner_up, sel.margin) == (3, 6, 0.0)
    # seeds with more validation rows weigh more: (0.1 * 10 + 0.4 * 30) / 40
    rows.loc[rows["experiment"].str.endswith("/1"), "n_validation"] = [10, 30, 30]
    rows.loc[rows["experiment"].str.endswith("/1"), "validation_log_loss"] = [0.1, 0.4, 0.4]
    assert select(LINEAR, b, rows).scores.loc[1, "validation_log_loss"] == pytest.approx((1 + 12 + 12) / 70)


def _old_rule(rows: pd.DataFrame, c: Candidate, b: Budget, n_configs: int) -> int:
    """The selection rule before issue #20, as it was written then: the most correct validation points
    over the tuning seeds, ``idxmax`` (the first maximum) for ties."""
    correct = [
        int(rows.loc[rows["experiment"] == f"{b.prefix}tune/{c.id}/{i}", "n_validation_correct"].sum())
        for i in range(n_configs)
    ]
    return int(pd.Series(correct).idxmax())


@pytest.mark.parametrize("case", ["tie", "unique", "all_equal", "tie_with_a_better_loss_later"])
def test_accuracy_selection_reproduces_the_old_tie_rule(case):
    """Issue #21's selection-score run choice: accuracy selection is the old rule (most correct validation
    points, ties to the earliest configuration), whatever the cross-entropy says."""
    b = budget()
    table = {i: [(15, 0.5), (16, 0.5), (14, 0.5)] for i in range(8)}
    if case == "tie":
        table[2] = table[6] = [(19, 0.4), (18, 0.4), (20, 0.4)]
        expected = 2
    elif case == "unique":
        table[4] = [(20, 0.9), (20, 0.9), (20, 0.9)]  # the worst loss, the most correct points
        expected = 4
    elif case == "all_equal":
        expected = 0
    else:
        table[1] = [(19, 0.45)] * 3
        table[5] = [(19, 0.05)] * 3  # same accuracy as 1, much lower loss: cross-entropy picks it, accuracy not
        expected = 1
    rows = rows_for(LINEAR, b, table)
    sel = select(LINEAR, b, rows)
    assert accuracy_choice(sel.scores) == expected == _old_rule(rows, LINEAR, b, 8)
    by_acc = accuracy_selection(sel, b)
    assert by_acc.index == expected and by_acc.params == ss.configurations("moe")[expected]
    assert by_acc.validation_accuracy == pytest.approx(sum(k for k, _ in table[expected]) / (3 * N_VAL))
    if case == "tie_with_a_better_loss_later":
        assert sel.index == 5  # the two scores disagree here, so the multiverse axis can flip a verdict


def test_a_non_finite_score_never_wins():
    b = budget()
    table = {i: [(10, 0.6)] * 3 for i in range(8)}
    table[0] = [(20, 0.01), (20, math.nan), (20, 0.01)]  # a missing loss
    table[1] = [(20, math.inf)] * 3
    table[3] = [(20, 0.01)] * 3  # lowest, but one seed diverged
    table[4] = [(12, 0.3)] * 3
    sel = select(LINEAR, b, rows_for(LINEAR, b, table, diverged={3: True}))
    assert sel.index == 4 and sel.score == pytest.approx(0.3)
    assert np.isinf(sel.scores.loc[[0, 1, 3], "validation_log_loss"]).all()
    bad = {i: [(20, math.inf)] * 3 for i in range(8)}
    with pytest.raises(ValueError, match="no configuration has a finite"):
        select(LINEAR, b, rows_for(LINEAR, b, bad))


def test_selection_errors_name_the_problem():
    b = budget()
    table = {i: [(N_VAL, 0.3)] * 3 for i in range(8)}
    with pytest.raises(ValueError, match="configuration 0 has 2 tuning runs, expected 3"):
        select(LINEAR, b, rows_for(LINEAR, b, table).iloc[1:])
    with pytest.raises(ValueError, match="no validation_log_loss"):
        select(LINEAR, b, rows_for(LINEAR, b, table).drop(columns="validation_log_loss"))


# ------------------------------------------------------------------------------------ the edge rule


def test_extended_values_and_grids():
    assert ss.extended_value("lr", 0.003, "low") == 0.001 and ss.extended_value("lr", 0.1, "high") == 0.3
    assert ss.extended_value("C", 10.0, "high") == 100.0 and ss.extended_value("gamma", 0.1, "low") == 0.0333
    with pytest.raises(ConfigError, match="ordered parameter"):
        ss.extended_value("input_scaling", "none", "high")
    with pytest.raises(ConfigError, match="finite number > 0"):
        ss.extended_value("lr", 0.0, "low")
    # two parameters extended in turn: a full new row each, the grid stays a full product
    sp = ss.extended_space("rbf_svm", False, (Extension("C", "high"), Extension("gamma", "low")))
    assert sp.grid["C"] == (1.0, 10.0, 100.0) and sp.grid["gamma"] == (0.0333, 0.1, 0.3, 1.0, 3.0)
    assert sp.configurations[:8] == ss.configurations("rbf_svm") and len(sp.configurations) == 8 + 4 + 3
    assert len({tuple(c.values()) for c in sp.configurations}) == 3 * 5
    assert sp.rounds == [0] * 8 + [1] * 7
    steps = tuple(Extension("lr", "high") for _ in range(EDGE_EXTENSIONS + 1))
    with pytest.raises(ConfigError, match="limit"):
        ss.extended_space("moe", False, steps)
    with pytest.raises(ConfigError, match="cannot extend 'gamma'"):  # one value at QUICK size: fixed
        ss.extended_space("rbf_svm", True, (Extension("gamma", "low"),))


def test_an_edge_choice_whose_extension_loses_runs_exactly_one_extension():
    logreg = lambda p: interior({**p, "C": p["C"] / 10})  # noqa: E731  lowest at C = 10, the top edge
    run = LossRunner(by_param(linear=interior, logreg=logreg))
    res = run_tuned([LINEAR, LOGREG], budget(), run)
    assert [d for d, _ in run.calls] == ["tuned: tuning", "tuned: tuning, edge extensions round 1", "tuned: evaluation"]
    ext = run.calls[1][1]
    assert [e.name for e in ext] == ["s/tune/logreg/8", "s/tune/logreg/9"]  # indices continue the base grid
    assert [e.tag_dict["config_index"] for e in ext] == [8, 9]
    assert [e.model.get("C") for e in ext] == [100.0, 100.0]
    assert {e.protocol for e in ext} == {"tuning"} and all(e.seeds == budget().tuning_seeds for e in ext)
    sel = res.selections["logreg"]
    assert sel.params == {"C": 10.0, "input_scaling": "standard"} and sel.at_edge == "" and not sel.pending
    assert sel.extensions == (Extension("C", "high", 1),)
    assert (sel.n_configs, sel.n_extended) == (10, 2)
    assert sel.runner_up_params == {"C": 10.0, "input_scaling": "none"}
    assert res.selections["linear"].extensions == () and res.selections["linear"].n_configs == 8
    table = res.selection_table().set_index("model_id")
    assert table.loc["logreg", "configs_run"] == 10 and table.loc["logreg", "configs_extended"] == 2
    assert table.loc["linear", "configs_run"] == 8 and table.loc["logreg", "at_edge"] == ""
    assert table.loc["logreg", "runner_up"] == "C=10.0, input_scaling=none"
    assert table.loc["logreg", "margin"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("slope", "last", "words"),
    [(-1, 0.9, "lr=0.9 (top, limit reached)"), (1, 0.000333, "lr=0.000333 (bottom, limit reached)")],
)
def test_a_choice_staying_at_the_edge_stops_at_the_limit_and_is_marked(slope, last, words):
    run = LossRunner(by_param(linear=lambda p: 1.0 + slope * math.log10(p["lr"]) / 10))
    res = run_tuned([LINEAR], budget(), run)
    assert len(run.calls) == 2 + EDGE_EXTENSIONS  # base grid, one round per step, evaluation
    sel = res.selections["linear"]
    assert sel.params["lr"] == last and sel.at_edge == words and not sel.pending
    assert (sel.n_configs, sel.n_extended) == (8 + 2 * EDGE_EXTENSIONS, 2 * EDGE_EXTENSIONS)
    assert [e.name for _, call in run.calls[1:-1] for e in call] == [f"s/tune/linear/{i}" for i in range(8, 12)]
    assert tuned_columns(sel)["at_edge"] == words and tuned_columns(sel)["configs_run"] == 12
    evaluated = run.calls[-1][1][0]
    assert evaluated.protocol == "fair" and evaluated.model.get("lr") == last


def test_quick_spaces_follow_the_same_rule():
    run = LossRunner(by_param(linear=lambda p: 1.0 - math.log10(p["lr"]) / 10))
    sel = run_tuned([LINEAR], budget(quick=True), run).selections["linear"]
    assert sel.params["lr"] == 0.3 and sel.n_configs == ss.QUICK_SPACE_SIZE + ss.QUICK_EDGE_EXTENSIONS
    assert sel.at_edge == "lr=0.3 (top, limit reached)"
    with pytest.raises(ConfigError, match="QUICK_EDGE_EXTENSIONS"):
        ss.extended_space("moe", True, (Extension("lr", "high"), Extension("lr", "high")))


def test_the_same_rows_give_the_same_choices_extensions_and_evaluation_plan():
    def score(mid, params, seed):  # noisy but deterministic in (model, params, seed)
        rng = np.random.default_rng([seed, int(1e6 * params.get("lr", params.get("C")))])
        return int(rng.integers(15, 21)), float(rng.uniform(0.05, 0.5))

    first, second = LossRunner(score), LossRunner(score)
    a, b_ = (run_tuned([LINEAR, LOGREG], budget(), r) for r in (first, second))
    for cid in ("linear", "logreg"):
        sa, sb = a.selections[cid], b_.selections[cid]
        for attr in ("params", "extensions", "runner_up", "margin", "at_edge"):
            assert getattr(sa, attr) == getattr(sb, attr), (cid, attr)
        pd.testing.assert_frame_equal(sa.scores, sb.scores)
    keys = [[config_key(e, s) for e in call for s in e.seeds] for _, call in first.calls]
    assert keys == [[config_key(e, s) for e in call for s in e.seeds] for _, call in second.calls]
    # the evaluation stage replanned from the chosen parameters alone (as from a manifest) is the one run
    planned = evaluation_experiments([([LINEAR, LOGREG], budget())], a.chosen)
    assert [config_key(e, 0) for e in planned] == [config_key(e, 0) for e in first.calls[-1][1]]
    # and so are the tuning runs, edge extensions included, replanned from what ``chosen`` records
    assert any(s.extensions for s in a.selections.values())
    replanned = tuning_plan([([LINEAR, LOGREG], budget())], a.chosen)
    assert [config_key(e, s) for e in replanned for s in e.seeds] == [k for call in keys[:-1] for k in call]
    assert tuning_plan([([LINEAR, LOGREG], budget())]) == first.calls[0][1]  # before tuning: the base grids


def test_selection_table_columns_and_the_protocol_sentence():
    res = run_tuned([LINEAR], budget(), LossRunner(by_param(linear=interior)))
    table = res.selection_table()
    assert list(table.columns) == [
        "model_id",
        "chosen",
        "config_index",
        "tuning_validation_accuracy",
        "tuning_validation_loss",
        "runner_up",
        "runner_up_validation_loss",
        "margin",
        "configs_run",
        "configs_extended",
        "at_edge",
    ]
    assert table.loc[0, "chosen"] == "lr=0.01, input_scaling=standard"
    assert table.loc[0, "runner_up"] == "lr=0.01, input_scaling=none"
    assert table.loc[0, "tuning_validation_loss"] == pytest.approx(0.19)
    assert set(tuned_columns(None).values()) == {None}
    empty = TunedResults(pd.DataFrame(), {}, pd.DataFrame())
    assert empty.selection_table().empty
    assert "chosen by validation cross-entropy" in protocol_sentence(budget())


# ------------------------------------------------------------------------------------ recorded losses


def test_a_mixture_without_a_scored_epoch_scores_inf():
    q = types.SimpleNamespace(best_epoch_=None, best_validation_score_=None, n_validation_=17)
    assert experiments._kept_validation(q) == (0, 17, math.inf)


@pytest.mark.slow
def test_tuning_runs_record_the_validation_cross_entropy(tmp_path):
    b = budget()
    models = {
        "moe": b.training(qmoe(router="linear", lr=0.1)),
        "logreg": EstimatorSpec.of("logreg", C=1.0),
        "rbf_svm": EstimatorSpec.of("rbf_svm", C=1.0, gamma=1.0, input_scaling="standard"),
        "qk_svm": EstimatorSpec.of("quantum_kernel_svm", C=1.0),
    }
    exps = [Experiment(f"t/{k}", m, DATA, "tuning", (0,)) for k, m in models.items()]
    exps.append(Experiment("t/svm_fair", models["rbf_svm"], DATA, "fair", (0,)))
    rows = run_experiments(exps, cache_dir=tmp_path, progress=False).set_index("experiment")
    for k in models:
        loss = rows.loc[f"t/{k}", "validation_log_loss"]
        assert np.isfinite(loss) and 0 < loss < 1.5, (k, loss)
    moe = rows.loc["t/moe"]
    assert moe["validation_log_loss"] == moe["validation_loss_curve"][int(moe["best_epoch"]) - 1]
    assert len(moe["validation_loss_curve"]) == len(moe["validation_curve"]) == moe["n_epochs"]
    assert rows.loc["t/logreg", "validation_loss_curve"] is None
    assert pd.isna(rows.loc["t/svm_fair", "validation_log_loss"])  # evaluation runs are unchanged
    # the references' loss is sklearn's log_loss on the carved rows; the SVM's accuracy is its own
    data = load_dataset(DATA, 0)
    x, x_val, y, y_val = validation_split(data.x_train, data.y_train, 0.2, 0)
    from sklearn.metrics import log_loss

    logreg = models["logreg"].build(0).fit(x, y)
    assert rows.loc["t/logreg", "validation_log_loss"] == pytest.approx(log_loss(y_val, logreg.predict_proba(x_val)))
    for k in ("rbf_svm", "qk_svm"):
        svm = models[k].build(0).fit(x, y)
        assert rows.loc[f"t/{k}", "n_validation_correct"] == int(np.sum(svm.predict(x_val) == y_val))

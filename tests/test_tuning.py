"""The tuned, equal-budget protocol: equal search spaces, deterministic selection on tuning seeds that
are never evaluation seeds, a test split that neither selection nor early stopping ever reads, and
the collapse diagnostic."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from qmoe_tfq.data import Dataset, DataSpec
from qmoe_tfq.experiments import experiment as experiments
from qmoe_tfq.experiments import search_spaces
from qmoe_tfq.experiments.probes import GateSummary
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe
from qmoe_tfq.experiments.runner import runner
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    Selection,
    TunedResults,
    run_tuned,
    select,
    tuning_experiments,
)
from qmoe_tfq.studies import efficiency, two_moons

DATA = DataSpec(name="moons", n_samples=120, noise=0.1, test_size=0.3)
CANDIDATES = [
    Candidate("linear", "linear", "linear", qmoe(router="linear"), "moe"),
    Candidate("logreg", "logreg", "logreg", EstimatorSpec("logreg"), "logreg"),
]


def budget(**kw) -> Budget:
    return Budget("t/", DATA, **{"n_tuning_seeds": 2, "eval_seeds": (0, 1), "max_epochs": 3, "quick": True, **kw})


@pytest.mark.parametrize("quick", [False, True])
def test_every_family_gets_the_same_number_of_configurations(quick):
    sizes = {name: len(search_spaces.configurations(name, quick)) for name in search_spaces.SPACES}
    expected = search_spaces.QUICK_SPACE_SIZE if quick else search_spaces.SPACE_SIZE
    assert set(sizes.values()) == {expected}, sizes
    for c in two_moons.candidates() + efficiency.points():
        assert len(tuning_experiments(c, two_moons.budget(quick))) == expected


def test_tuning_seeds_are_never_evaluation_seeds_and_test_split_is_untouched_by_design():
    b = two_moons.budget()
    assert len(b.tuning_seeds) >= 3 and len(b.eval_seeds) >= 20
    assert not set(b.tuning_seeds) & set(b.eval_seeds)
    for e in tuning_experiments(CANDIDATES[0], b):
        assert e.protocol == "tuning" and not e.probes
        assert e.model.get("early_stopping") is True and e.model.get("n_iter_no_change") is None


def fake_tuning_rows(counts: dict[int, list[int]], b: Budget, c: Candidate) -> pd.DataFrame:
    """Tuning rows whose validation cross-entropy falls as the correct points rise (1 - k / 20)."""
    return pd.DataFrame(
        [
            {
                "experiment": f"{b.prefix}tune/{c.id}/{i}",
                "seed": s,
                "n_validation_correct": k,
                "n_validation": 20,
                "validation_log_loss": 1 - k / 20,
            }
            for i, ks in counts.items()
            for s, k in zip(b.tuning_seeds, ks)
        ]
    )


def test_selection_takes_the_lowest_cross_entropy_and_ties_go_to_the_earlier_configuration():
    b, c = budget(quick=False), CANDIDATES[0]
    counts = {i: [10, 10] for i in range(8)}
    counts[5] = [19, 18]
    counts[2] = [18, 19]  # the same score: the earlier configuration wins
    sel = select(c, b, fake_tuning_rows(counts, b, c))
    assert sel.index == 2 and sel.params == search_spaces.configurations("moe")[2]
    assert sel.validation_accuracy == pytest.approx(37 / 40)
    assert sel.score == pytest.approx(3 / 40) and (sel.runner_up, sel.margin) == (5, 0.0)
    with pytest.raises(ValueError, match="expected 2"):
        select(c, b, fake_tuning_rows(counts, b, c).iloc[1:])


def _poisoned(monkeypatch):
    real = experiments.load_dataset

    def load(spec, seed):
        d = real(spec, seed)
        return dataclasses.replace(d, y_test=(1 - d.y_test).astype(np.int32), x_test=np.full_like(d.x_test, np.pi))

    monkeypatch.setattr(experiments, "load_dataset", load)


@pytest.mark.slow
def test_search_is_deterministic_and_never_reads_the_test_split(tmp_path, monkeypatch):
    clean = run_tuned(CANDIDATES, budget(), runner(cache_dir=tmp_path / "a", progress=False))
    again = run_tuned(CANDIDATES, budget(), runner(cache_dir=tmp_path / "b", progress=False))
    assert {k: s.params for k, s in clean.selections.items()} == {k: s.params for k, s in again.selections.items()}
    _poisoned(monkeypatch)
    poisoned = run_tuned(CANDIDATES, budget(), runner(cache_dir=tmp_path / "c", progress=False))
    for cid in clean.selections:
        pd.testing.assert_frame_equal(clean.selections[cid].scores, poisoned.selections[cid].scores)
    same = ["train_accuracy", "validation_curve", "epoch_losses", "best_epoch", "n_epochs"]
    pd.testing.assert_frame_equal(clean.evaluation[same], poisoned.evaluation[same])
    assert not clean.evaluation["test_accuracy"].equals(poisoned.evaluation["test_accuracy"])


def test_collapse_is_detected_on_constructed_routers(monkeypatch):
    x = np.random.default_rng(0).uniform(0, np.pi, (40, 2)).astype(np.float32)
    data = Dataset(x, np.zeros(40, np.int32), x, (x[:, 0] > 1.5).astype(np.int32), 2)

    class Fixed:
        """Stands in for a fitted QMoEClassifier whose router returns the given gates."""

        def __init__(self, gates):
            self._g = gates

        def gates(self, X):
            return self._g

    import qmoe_tfq.experiments.probes as probes

    monkeypatch.setattr(probes, "_qmoe", lambda estimator: estimator)
    cases = {
        "one expert everywhere": (np.tile([0.995, 0.005], (40, 1)), True),
        "constant gates": (np.tile([0.6, 0.4], (40, 1)), True),
        "routes by input": (np.stack([x[:, 0] / np.pi, 1 - x[:, 0] / np.pi], 1), False),
    }
    for name, (gates, collapsed) in cases.items():
        out = GateSummary()(Fixed(gates), data)
        assert out["collapsed"] is collapsed, name
        assert sum(out["expert_load"]) == pytest.approx(1.0)


def test_selection_table_lists_the_choice():
    c = CANDIDATES[0]
    sel = Selection(c, {"lr": 0.01, "input_scaling": "standard"}, 3, 0.95, pd.DataFrame())
    table = TunedResults(pd.DataFrame(), {"linear": sel}, pd.DataFrame()).selection_table()
    assert table.iloc[0]["chosen"] == "lr=0.01, input_scaling=standard"

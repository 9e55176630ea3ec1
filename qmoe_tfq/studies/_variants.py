"""Stage: studies. The runs of the multiverse's run choices (issue #21, ``qmoe_tfq.analysis.multiverse``) for
the tuned models of one comparison, and the rows each choice gives; shared by the studies whose claims
vary them (Two Moons: C1, C7; parameter efficiency: C5).

For each model of the comparison (``RunChoices.candidates``), on the evaluation seeds:

* **restarts**: random restarts 1 .. k-1 of its chosen configuration (restarts at parity; restart 0 is
  the evaluation run), the best of k per seed kept (lowest validation loss at the kept epoch, ties to the
  earliest: ``_results.best_of_restarts``);
* **selection score**: the evaluation of the configuration selected by validation accuracy instead of
  cross-entropy (``tuning.accuracy_selection``: most correct validation points over the tuning seeds,
  ties to the earliest configuration, among the configurations the tuning ran; where it is the
  cross-entropy choice it is the same run, from the cache);
* **initialisation**: the evaluation of its chosen configuration with Keras' Glorot initialisation of the
  classical layers (``init="glorot"``) instead of PyTorch's (the configuration as tuned under PyTorch's;
  not retuned).

Every model of the comparison gets the same treatment. ``RunChoices.rows(rows, variants, choice, option)``
gives the tuned rows with those models' runs replaced by the variant's, under the tuned evaluation names,
so a claim computes its values from them exactly as from the plan's rows. The runs are named
``<prefix>restart<r>/<id>``, ``<prefix>by_accuracy/<id>`` and ``<prefix>glorot/<id>``; names are not part
of a cache key, so a study sharing a configuration with another shares its runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from qmoe_tfq.analysis.multiverse import RUN_CHOICES
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    Selection,
    TunedResults,
    accuracy_selection,
    eval_name,
    evaluation_experiment,
)
from qmoe_tfq.studies import _results as R


def restart_name(prefix: str, model_id: str, restart: int) -> str:
    return f"{prefix}restart{restart}/{model_id}"


def accuracy_name(prefix: str, model_id: str) -> str:
    return f"{prefix}by_accuracy/{model_id}"


def glorot_name(prefix: str, model_id: str) -> str:
    return f"{prefix}glorot/{model_id}"


def run_choice_words(choice: str, option: object, restarts: int, whom: str = "both") -> str:
    """A run choice's option in words, for the notes (``whom``: the models it was applied to)."""
    return {
        ("restarts", "k"): f"best of k = {restarts} restarts per seed for {whom} (chosen on validation loss)",
        ("selection_score", "accuracy"): "configurations selected by validation accuracy (ties to the earliest)",
        ("init", "glorot"): "Keras' Glorot initialisation instead of PyTorch's",
    }.get((choice, option), f"{choice}={option}")


def with_glorot(experiment: Experiment, name: str) -> Experiment:
    """``experiment`` with Keras' Glorot initialisation of the classical layers, named ``name``."""
    return replace(experiment, name=name, model=experiment.model.replace(init="glorot"))


def glorot_copies(experiments: list[Experiment], prefix: str) -> list[Experiment]:
    """Each of ``experiments`` under Glorot initialisation, named ``prefix + name`` (a fixed-budget protocol's
    initialisation choice: no configuration to select, the runs as they are)."""
    return [with_glorot(e, f"{prefix}{e.name}") for e in experiments]


def unprefixed(rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The rows named ``prefix + name``, renamed ``name`` (``glorot_copies``' runs under the plan's names); empty
    without them."""
    if rows.empty or "experiment" not in rows:
        return rows.iloc[:0]
    g = rows[rows["experiment"].str.startswith(prefix)]
    return g.assign(experiment=g["experiment"].str[len(prefix) :])


@dataclass(frozen=True)
class RunChoices:
    """The run choices of one comparison: its tuned protocol (``budget``), the models every choice is
    applied to (``candidates``), k (``restarts``; 1: no restarts), the probes of the evaluation runs and
    which run choices apply (``choices``, a subset of the multiverse's ``RUN_CHOICES``; a comparison of models
    without random initialisation, SVMs, takes ``selection_score`` alone)."""

    budget: Budget
    candidates: tuple[Candidate, ...]
    restarts: int
    probes: tuple = ()
    choices: tuple[str, ...] = RUN_CHOICES

    def __post_init__(self) -> None:
        unknown = set(self.choices) - set(RUN_CHOICES)
        if unknown:
            raise ValueError(f"unknown run choices {sorted(unknown)}; allowed: {list(RUN_CHOICES)}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.candidates)

    def _candidate(self, model_id: str) -> Candidate:
        return {c.id: c for c in self.candidates}[model_id]

    def tuned_name(self, model_id: str) -> str:
        return eval_name(self.budget, self._candidate(model_id))

    def restart_name(self, model_id: str, restart: int) -> str:
        return restart_name(self.budget.prefix, model_id, restart)

    def accuracy_name(self, model_id: str) -> str:
        return accuracy_name(self.budget.prefix, model_id)

    def glorot_name(self, model_id: str) -> str:
        return glorot_name(self.budget.prefix, model_id)

    def evaluation(self, model_id: str, params: dict | None) -> Experiment | None:
        """The tuned evaluation experiment of ``model_id`` at ``params`` (None without them)."""
        if params is None:
            return None
        sel = Selection(self._candidate(model_id), dict(params), -1, math.nan, pd.DataFrame())
        return evaluation_experiment(sel, self.budget, self.probes)

    def accuracy_chosen(self, tuned: TunedResults) -> dict[str, dict]:
        """The accuracy-selected parameters of every model by ``accuracy_name`` (``tuning.accuracy_selection``)."""
        return {
            self.accuracy_name(m): dict(accuracy_selection(tuned.selections[m], self.budget).params) for m in self.ids
        }

    def experiments(self, chosen: dict[str, dict]) -> list[Experiment]:
        """The runs (module docstring) that the ``chosen`` parameters (by evaluation name; the
        accuracy-selected ones under ``accuracy_name``) imply; a model without a choice is left out."""
        out = []
        for model_id in self.ids:
            ev = self.evaluation(model_id, chosen.get(self.tuned_name(model_id)))
            if ev is not None and "restarts" in self.choices:
                out += [R.restarted(ev, self.restart_name(model_id, r), r) for r in range(1, self.restarts)]
            if ev is not None and "init" in self.choices:
                out.append(with_glorot(ev, self.glorot_name(model_id)))
            by_acc = self.evaluation(model_id, chosen.get(self.accuracy_name(model_id)))
            if by_acc is not None and "selection_score" in self.choices:
                out.append(replace(by_acc, name=self.accuracy_name(model_id)))
        return out

    def options(self, variants: pd.DataFrame) -> list[tuple[str, object]]:
        """The ``(run choice, option)`` pairs whose runs ``variants`` holds for every model."""
        have = set(variants["experiment"]) if "experiment" in variants else set()
        out = []
        if self.restarts > 1 and all(self.restart_name(m, 1) in have for m in self.ids):
            out.append(("restarts", "k"))
        if all(self.accuracy_name(m) in have for m in self.ids):
            out.append(("selection_score", "accuracy"))
        if all(self.glorot_name(m) in have for m in self.ids):
            out.append(("init", "glorot"))
        return out

    def restart_best(self, evaluation: pd.DataFrame, variants: pd.DataFrame, model_id: str) -> pd.DataFrame:
        """Per evaluation seed, the best of k runs of ``model_id`` (``_results.best_of_restarts``), one row
        per seed as the runner gave it."""
        names = [self.restart_name(model_id, r) for r in range(1, self.restarts)]
        frame = R.restart_frame(evaluation, variants, self.tuned_name(model_id), names)
        return R.best_of_restarts(frame, self.restarts).reset_index()

    def rows(self, rows: pd.DataFrame, variants: pd.DataFrame, choice: str, option: object) -> pd.DataFrame:
        """``rows`` with every model's tuned evaluation runs replaced by the variant ``(choice, option)``'s
        (from ``variants``), under the tuned evaluation names."""
        if (choice, option) not in self.options(variants):
            raise KeyError(f"no multiverse runs for {choice}={option!r} in these results")
        names = {self.tuned_name(m): m for m in self.ids}
        kept = rows[~rows["experiment"].isin(names)]
        if choice == "restarts":
            new = [self.restart_best(rows, variants, m).assign(experiment=n) for n, m in names.items()]
        else:
            variant = self.accuracy_name if choice == "selection_score" else self.glorot_name
            new = [R.runs(variants, variant(m)).assign(experiment=n) for n, m in names.items()]
        return R.concat([kept, *new])


__all__ = [
    "RunChoices",
    "accuracy_name",
    "glorot_copies",
    "glorot_name",
    "restart_name",
    "run_choice_words",
    "unprefixed",
    "with_glorot",
]

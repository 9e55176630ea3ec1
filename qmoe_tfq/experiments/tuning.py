"""Stage: experiments. The tuned, equal-budget protocol: every model searched over the same number of configurations on
tuning seeds, then its chosen configuration evaluated on fresh evaluation seeds.

1. **Tuning.** For each ``Candidate`` (a model: id, label, family, fixed parameters and the name of
   its search space in ``qmoe_tfq.experiments.search_spaces``), every configuration of its space runs on each
   tuning seed (a fresh sample and split per seed; the tuning seeds are never evaluation seeds; on an
   image source, drawn only from its fixed tuning pool, ``Budget.tuning_data``) under
   the ``tuning`` protocol: a mixture of experts trains for ``max_epochs`` with early stopping on a
   stratified validation split carved from the training split (``validation_fraction`` of it), never
   ending early (``n_iter_no_change=None``), and keeps its best-validation weights; a reference is
   fitted on the rest of the split and scored on the same rows. The test split is never read.
2. **Selection** (``select``): the configuration with the most correct validation points summed over
   the tuning seeds (integer counts: ties are exact); ties go to the earlier configuration in the
   space's fixed order. Deterministic: the same seeds give the same choice.
3. **Evaluation.** The chosen configuration, with the same epoch budget and early stopping, on the
   evaluation seeds under the ``fair`` protocol (held-out test accuracy), with the study's probes. On
   an image source the evaluation data come from the rest of the source (``Budget.evaluation_data``),
   disjoint from the tuning pool: a fixed set of images re-split per seed would otherwise give the
   tuning runs images that evaluation seeds test on. Generated data (moons, synthetic16) draw a fresh
   sample per seed and are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from qmoe_tfq.data import SOURCES, DataSpec
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.registry import KINDS, EstimatorSpec
from qmoe_tfq.experiments.runner import concat_rows
from qmoe_tfq.experiments.search_spaces import configurations, describe

TUNING_SEED_BASE = 10_000
PLATEAU_PATIENCE = None  # never end a run early: routers leave the experts-only plateau late


@dataclass(frozen=True)
class Candidate:
    """A model to tune: stable ``id``, display ``label``, ``family`` (colour in figures), the fixed
    part of its spec (``base``), the name of its search ``space``, and extra ``tags`` for tables."""

    id: str
    label: str
    family: str
    base: EstimatorSpec
    space: str
    tags: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Budget:
    """The protocol's shared settings: data, seeds, epoch budget, validation fraction, name prefix.

    ``data`` is the task; tuning and evaluation runs read it through ``tuning_data`` and
    ``evaluation_data``, which keep the images of an image source apart.
    """

    prefix: str
    data: DataSpec
    n_tuning_seeds: int = 3
    eval_seeds: tuple[int, ...] = tuple(range(20))
    max_epochs: int = 100
    batch_size: int = 32
    validation_fraction: float = 0.2
    quick: bool = False

    @property
    def tuning_seeds(self) -> tuple[int, ...]:
        """Seeds disjoint from every evaluation seed (which count up from 0)."""
        return tuple(TUNING_SEED_BASE + i for i in range(self.n_tuning_seeds))

    @property
    def tuning_data(self) -> DataSpec:
        """``data`` drawn from the fixed tuning pool (image sources; generated data unchanged)."""
        return self._pooled("tuning")

    @property
    def evaluation_data(self) -> DataSpec:
        """``data`` drawn from the rest of the source, disjoint from the tuning pool (image sources;
        generated data unchanged)."""
        return self._pooled("evaluation")

    def _pooled(self, pool: str) -> DataSpec:
        return replace(self.data, pool=pool) if SOURCES[self.data.source].kind == "image" else self.data

    def training(self, spec: EstimatorSpec) -> EstimatorSpec:
        """``spec`` with the protocol's training settings (models trained in epochs only)."""
        if not KINDS[spec.kind].epochs:
            return spec
        return spec.replace(
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            early_stopping=True,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=PLATEAU_PATIENCE,
        )

    def describe(self) -> str:
        return (
            f"{self.n_tuning_seeds} tuning seeds, {len(self.eval_seeds)} evaluation seeds, up to "
            f"{self.max_epochs} epochs (batch {self.batch_size}) keeping the best-validation weights on a "
            f"{self.validation_fraction:.0%} validation split of the training data"
        )


def tuning_name(budget: Budget, candidate: Candidate, index: int) -> str:
    return f"{budget.prefix}tune/{candidate.id}/{index}"


def eval_name(budget: Budget, candidate: Candidate) -> str:
    return f"{budget.prefix}{candidate.id}"


def tuning_experiments(candidate: Candidate, budget: Budget) -> list[Experiment]:
    """One ``tuning`` experiment per configuration of the candidate's space, over the tuning seeds."""
    return [
        Experiment(
            tuning_name(budget, candidate, i),
            budget.training(candidate.base.replace(**params)),
            budget.tuning_data,
            "tuning",
            budget.tuning_seeds,
            validation_fraction=budget.validation_fraction,
            tags=(("model_id", candidate.id), ("config_index", i)),
        )
        for i, params in enumerate(configurations(candidate.space, budget.quick))
    ]


@dataclass(frozen=True)
class Selection:
    """The chosen configuration of one candidate and the scores of every configuration."""

    candidate: Candidate
    params: dict
    index: int
    validation_accuracy: float
    scores: pd.DataFrame = field(repr=False)


def select(candidate: Candidate, budget: Budget, rows: pd.DataFrame) -> Selection:
    """The configuration with the most correct validation points over the tuning seeds (ties: the
    earliest in the space's order). ``rows`` must hold the candidate's tuning runs."""
    configs = configurations(candidate.space, budget.quick)
    out = []
    for i, params in enumerate(configs):
        g = rows[rows["experiment"] == tuning_name(budget, candidate, i)]
        if len(g) != budget.n_tuning_seeds:
            raise ValueError(
                f"{candidate.id}: configuration {i} has {len(g)} tuning runs, expected {budget.n_tuning_seeds}"
            )
        correct, total = int(g["n_validation_correct"].sum()), int(g["n_validation"].sum())
        out.append(
            {
                "config_index": i,
                **params,
                "validation_correct": correct,
                "validation_total": total,
                "validation_accuracy": correct / total,
            }
        )
    scores = pd.DataFrame(out)
    best = int(scores["validation_correct"].idxmax())  # idxmax returns the first maximum: the tie rule
    return Selection(candidate, configs[best], best, float(scores.loc[best, "validation_accuracy"]), scores)


def evaluation_experiment(selection: Selection, budget: Budget, probes: tuple = ()) -> Experiment:
    """The chosen configuration on the evaluation seeds (``fair`` protocol, held-out test accuracy)."""
    c = selection.candidate
    tags = (("model_id", c.id), *c.tags)
    return Experiment(
        eval_name(budget, c),
        budget.training(c.base.replace(**selection.params)),
        budget.evaluation_data,
        "fair",
        budget.eval_seeds,
        probes=probes,
        tags=tags,
    )


@dataclass
class TunedResults:
    """Tuning rows, the selection per candidate id (``run_tuned``) or evaluation name
    (``run_tuned_groups``), the evaluation rows, and the selections by evaluation name."""

    tuning: pd.DataFrame
    selections: dict[str, Selection]
    evaluation: pd.DataFrame
    by_name: dict[str, Selection] = field(default_factory=dict)

    @property
    def chosen(self) -> dict[str, dict]:
        """The chosen parameters by evaluation experiment name (what ``evaluation_experiments`` takes)."""
        return {name: s.params for name, s in self.by_name.items()}

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the results rest on (tuning and evaluation)."""
        return concat_rows([self.tuning, self.evaluation])

    def selection_table(self) -> pd.DataFrame:
        """Per candidate: the configuration chosen and its mean validation accuracy."""
        return pd.DataFrame(
            [
                {
                    "model_id": cid,
                    "chosen": ", ".join(f"{k}={v}" for k, v in s.params.items()),
                    "config_index": s.index,
                    "tuning_validation_accuracy": s.validation_accuracy,
                }
                for cid, s in self.selections.items()
            ]
        )


def run_tuned_groups(
    groups: list[tuple[list[Candidate], Budget]], run, probes: tuple = (), desc: str = "tuned"
) -> TunedResults:
    """``run_tuned`` over several (candidates, budget) groups (e.g. one per dataset) in two runner
    calls: every group's tuning runs, then every group's evaluation runs. Selections are keyed by
    ``eval_name`` (the budget's prefix + candidate id), so ids may repeat across groups."""
    tuning = run([e for cs, b in groups for c in cs for e in tuning_experiments(c, b)], f"{desc}: tuning")
    selections = {eval_name(b, c): select(c, b, tuning) for cs, b in groups for c in cs}
    evaluation = run(
        [evaluation_experiment(selections[eval_name(b, c)], b, probes) for cs, b in groups for c in cs],
        f"{desc}: evaluation",
    )
    return TunedResults(tuning, selections, evaluation, dict(selections))


def run_tuned(
    candidates: list[Candidate], budget: Budget, run, probes: tuple = (), desc: str = "tuned"
) -> TunedResults:
    """Tune every candidate, select, and evaluate the choices. ``run(experiments, desc)`` is the
    runner (``qmoe_tfq.experiments.runner.run_experiments`` with the caller's jobs and cache). Selections are
    keyed by candidate id."""
    res = run_tuned_groups([(candidates, budget)], run, probes, desc)
    res.selections = {c.id: res.selections[eval_name(budget, c)] for c in candidates}
    return res


def evaluation_experiments(
    groups: list[tuple[list[Candidate], Budget]], chosen: dict[str, dict], probes: tuple = ()
) -> list[Experiment]:
    """The evaluation experiments that the ``chosen`` parameters (by evaluation name, as
    ``TunedResults.chosen`` gives them, e.g. from a manifest) imply: the planned runs of the
    evaluation stage, without rerunning the tuning. Candidates without a choice are left out."""
    out = []
    for cs, b in groups:
        for c in cs:
            name = eval_name(b, c)
            if name in chosen:
                out.append(
                    evaluation_experiment(Selection(c, dict(chosen[name]), -1, float("nan"), pd.DataFrame()), b, probes)
                )
    return out


def protocol_sentence(budget: Budget, spaces: tuple[str, ...] = ("moe",)) -> str:
    """The tuned protocol as run, in one sentence for captions and the ledger."""
    return (
        f"tuned protocol: every model searched over the same number of configurations "
        f"({'; '.join(f'{s}: {describe(s, budget.quick)}' for s in spaces)}), {budget.describe()}, "
        "chosen by validation accuracy on the tuning seeds, held-out test accuracy on the evaluation seeds"
    )


__all__ = [
    "Budget",
    "Candidate",
    "Selection",
    "TunedResults",
    "evaluation_experiment",
    "protocol_sentence",
    "evaluation_experiments",
    "run_tuned",
    "run_tuned_groups",
    "select",
    "tuning_experiments",
]

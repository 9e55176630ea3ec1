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
2. **Selection** (``select``): the configuration with the lowest validation cross-entropy over the
   tuning seeds, row-weighted (the sum of every validation row's loss over the seeds / the number of
   those rows; each run records its mean as ``validation_log_loss``, see
   ``qmoe_tfq.experiments.experiment``). Cross-entropy, because accuracy saturates: on Two Moons many
   configurations reach 1.000 validation accuracy, and the tie rule, not the data, then decided
   (51 of 105 choices under the former most-correct-points rule). Cross-entropy is continuous, so it
   practically never ties, and it is the loss the models are trained on. An exact tie goes to the
   earlier configuration in the space's fixed order; a configuration with a non-finite score (a run
   whose training diverged, or whose loss is not finite) never wins. Deterministic: the same seeds
   give the same choice. The selection also records the runner-up (the next-lowest score) and the
   margin (runner-up score - chosen score: how clearly the data decided).
3. **Edges** (``run_tuned_groups``): a choice at the lowest or highest value of an ordered parameter
   (lr, C, gamma; ``search_spaces.ORDERED``) extends that grid one step past the edge (lr x3, C x10,
   gamma x3): a full new row, the new value x every value of the other parameters, run on the same
   tuning seeds; then the choice is made again among all configurations. At most
   ``EDGE_EXTENSIONS`` = 2 steps per parameter and side (1 at QUICK size); a choice still at the edge then is marked
   (``Selection.at_edge``, e.g. ``lr=0.9 (top, limit reached)``). The same rule for every family; the
   extra configurations count in the candidate's budget and are reported (``configs_run``). Rounds:
   every candidate's base grid in one runner call, then one runner call per round for every
   candidate that needs a step. Extension configurations continue the base grid's indices (names
   ``tuning_name``), and the same tuning runs give the same steps. ``TunedResults.chosen`` records
   the steps beside the chosen parameters, so ``tuning_plan`` and ``evaluation_experiments`` replan
   every run (e.g. from a manifest) without rerunning the tuning.
4. **Evaluation.** The chosen configuration, with the same epoch budget and early stopping, on the
   evaluation seeds under the ``fair`` protocol (held-out test accuracy), with the study's probes. On
   an image source the evaluation data come from the rest of the source (``Budget.evaluation_data``),
   disjoint from the tuning pool: a fixed set of images re-split per seed would otherwise give the
   tuning runs images that evaluation seeds test on. Generated data (moons, synthetic16) draw a fresh
   sample per seed and are used as they are.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from qmoe_tfq.data import SOURCES, DataSpec
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.registry import KINDS, EstimatorSpec
from qmoe_tfq.experiments.runner import concat_rows
from qmoe_tfq.experiments.search_spaces import (
    EDGE_EXTENSIONS,
    ORDERED,
    SIDE_WORDS,
    Extension,
    configurations,
    describe,
    edge_limit,
    extended_space,
)

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


def _tuning_prefix(prefix: str, candidate_id: str) -> str:
    """The name prefix of a candidate's tuning runs (budget ``prefix``): ``<prefix>tune/<id>``."""
    return f"{prefix}tune/{candidate_id}"


def tuning_name(budget: Budget, candidate: Candidate, index: int) -> str:
    return f"{_tuning_prefix(budget.prefix, candidate.id)}/{index}"


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


def extension_experiments(
    candidate: Candidate, budget: Budget, extensions: tuple[Extension, ...], start: int | None = None
) -> list[Experiment]:
    """The ``tuning`` experiments of the configurations that the edge steps ``extensions`` add to the
    candidate's space (``search_spaces.extended_space``), from configuration index ``start`` on (default:
    every added one). Each is the base grid's tuning experiment with other parameters: the same data,
    protocol, seeds and training settings; named ``tuning_name`` and tagged ``config_index`` after the
    base grid's indices."""
    configs = extended_space(candidate.space, budget.quick, tuple(extensions)).configurations
    template = tuning_experiments(candidate, budget)[0]
    start = len(configurations(candidate.space, budget.quick)) if start is None else start
    return [
        dataclasses.replace(
            template,
            name=tuning_name(budget, candidate, i),
            model=budget.training(candidate.base.replace(**params)),
            tags=tuple((k, i if k == "config_index" else v) for k, v in template.tags),
        )
        for i, params in enumerate(configs)
        if i >= start
    ]


def describe_params(params: dict | None) -> str | None:
    """``lr=0.01, input_scaling=standard`` (None for None)."""
    return None if params is None else ", ".join(f"{k}={v}" for k, v in params.items())


@dataclass(frozen=True)
class Selection:
    """The chosen configuration of one candidate and the scores of every configuration run.

    ``params``, ``index`` (its configuration index), ``validation_accuracy`` and ``score`` (its
    row-weighted validation cross-entropy over the tuning seeds); ``scores``: one row per
    configuration (``config_index``, its parameters, ``round``: 0 for the base grid, else the edge
    step's round, the correct / total validation points, ``validation_accuracy``,
    ``validation_log_loss``); the ``runner_up`` (index, ``runner_up_params``, ``runner_up_score``) and
    ``margin`` = runner-up score - chosen score; ``extensions``: the edge steps taken; ``pending``: the
    ``(param, side)`` edges of the choice still to be extended (empty once the edge rule is done);
    ``at_edge``: the choice's edges in words, e.g. ``lr=0.9 (top, limit reached)`` ("" inside the grid).
    """

    candidate: Candidate
    params: dict
    index: int
    validation_accuracy: float
    scores: pd.DataFrame = field(repr=False)
    score: float = math.nan
    runner_up: int | None = None
    runner_up_params: dict | None = None
    runner_up_score: float = math.nan
    margin: float = math.nan
    extensions: tuple[Extension, ...] = ()
    pending: tuple[tuple[str, str], ...] = ()
    at_edge: str = ""

    @property
    def n_configs(self) -> int | None:
        """Configurations run (base grid + edge extensions); None without scores."""
        return len(self.scores) if len(self.scores) else None

    @property
    def n_extended(self) -> int | None:
        """Configurations run past the base grid's edges; None without scores."""
        return int((self.scores["round"] > 0).sum()) if "round" in self.scores else None


def _run_score(g: pd.DataFrame, name: str) -> float:
    """A configuration's score from its tuning runs ``g``: the sum of every validation row's
    cross-entropy / the number of rows (each run's mean weighted by its rows); inf when a run
    diverged or any loss is not finite (such a configuration never wins)."""
    if "validation_log_loss" not in g:
        raise ValueError(
            f"{name}: the tuning rows carry no validation_log_loss (runs computed before RESULTS_SCHEMA 6?); rerun them"
        )
    loss = pd.to_numeric(g["validation_log_loss"], errors="coerce").to_numpy(float)
    rows = g["n_validation"].to_numpy(float)
    diverged = "diverged" in g and bool(g["diverged"].eq(True).any())
    if diverged or not np.all(np.isfinite(loss)) or rows.sum() <= 0:
        return math.inf
    return float(np.sum(loss * rows) / rows.sum())


def runs_by_experiment(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tuning rows split by experiment name, once for every ``select`` over the same rows."""
    return dict(tuple(rows.groupby("experiment", sort=False))) if len(rows) else {}


def select(
    candidate: Candidate,
    budget: Budget,
    rows: pd.DataFrame | dict[str, pd.DataFrame],
    extensions: tuple[Extension, ...] = (),
) -> Selection:
    """The configuration with the lowest row-weighted validation cross-entropy over the tuning seeds
    (exact ties: the earlier configuration; a non-finite score never wins), among the base grid and
    the configurations the edge steps ``extensions`` added. ``rows`` must hold the candidate's tuning
    runs of all of them (a frame, or ``runs_by_experiment`` of one).

    Raises
    ------
    ValueError
        A configuration has not one run per tuning seed, the rows carry no ``validation_log_loss``,
        or no configuration has a finite score.
    """
    extensions = tuple(Extension(*e) for e in extensions)
    space = extended_space(candidate.space, budget.quick, extensions)
    by_name = rows if isinstance(rows, dict) else runs_by_experiment(rows)
    out = []
    for i, params in enumerate(space.configurations):
        name = tuning_name(budget, candidate, i)
        g = by_name.get(name, pd.DataFrame())
        if len(g) != budget.n_tuning_seeds:
            raise ValueError(
                f"{candidate.id}: configuration {i} has {len(g)} tuning runs, expected {budget.n_tuning_seeds}"
            )
        correct, total = int(g["n_validation_correct"].sum()), int(g["n_validation"].sum())
        out.append(
            {
                "config_index": i,
                **params,
                "round": space.rounds[i],
                "validation_correct": correct,
                "validation_total": total,
                "validation_accuracy": correct / total if total else math.nan,
                "validation_log_loss": _run_score(g, name),
            }
        )
    scores = pd.DataFrame(out)
    loss = scores["validation_log_loss"].to_numpy(float)
    order = sorted(range(len(scores)), key=lambda i: (loss[i] if np.isfinite(loss[i]) else math.inf, i))
    best = order[0]
    if not np.isfinite(loss[best]):
        raise ValueError(
            f"{candidate.id}: no configuration has a finite validation cross-entropy (every one diverged?); "
            "nothing to choose"
        )
    second = order[1] if len(order) > 1 else None
    runner_score = math.inf if second is None or not np.isfinite(loss[second]) else float(loss[second])
    params = space.configurations[best]
    edges = space.edges(params)
    limit = {e: space.steps[e] >= edge_limit(budget.quick) for e in edges}
    at_edge = "; ".join(
        f"{p}={params[p]} ({SIDE_WORDS[side]}{', limit reached' if limit[(p, side)] else ''})" for p, side in edges
    )
    return Selection(
        candidate,
        params,
        best,
        float(scores.loc[best, "validation_accuracy"]),
        scores,
        score=float(loss[best]),
        runner_up=second,
        runner_up_params=None if second is None else space.configurations[second],
        runner_up_score=runner_score if second is not None else math.nan,
        margin=runner_score - float(loss[best]) if second is not None else math.nan,
        extensions=extensions,
        pending=tuple(e for e in edges if not limit[e]),
        at_edge=at_edge,
    )


def accuracy_choice(scores: pd.DataFrame) -> int:
    """The selection rule before issue #20, as a multiverse alternative (issue #21): the configuration with
    the most correct validation points over the tuning seeds (row-weighted validation accuracy), exact
    ties to the earliest configuration in ``scores``' order (the space's order, then each edge step's
    row). ``scores`` is a ``Selection.scores`` table; returns its ``config_index``."""
    if scores.empty:
        raise ValueError("no configurations to choose from")
    ordered = scores.sort_values("config_index", kind="stable")
    correct = ordered["validation_correct"].to_numpy(float)
    return int(ordered["config_index"].iloc[int(np.argmax(correct))])  # argmax: the first maximum


def accuracy_selection(selection: Selection, budget: Budget) -> Selection:
    """``selection`` with its choice made by ``accuracy_choice`` among the configurations its tuning ran
    (the base grid and the edge steps the cross-entropy choice took; none is added for this choice)."""
    space = extended_space(selection.candidate.space, budget.quick, selection.extensions)
    best = accuracy_choice(selection.scores)
    row = selection.scores.set_index("config_index").loc[best]
    return replace(
        selection,
        params=space.configurations[best],
        index=best,
        validation_accuracy=float(row["validation_accuracy"]),
        score=float(row["validation_log_loss"]) if "validation_log_loss" in row else math.nan,
        runner_up=None,
        runner_up_params=None,
        runner_up_score=math.nan,
        margin=math.nan,
        pending=(),
        at_edge="",
    )


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


SELECTION_COLUMNS = (
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
)


# ``tuned_columns``' short names (study tables) -> the names of ``TunedResults.selection_table``.
_SELECTION_NAMES = {
    "tuning_val_acc": "tuning_validation_accuracy",
    "tuning_val_loss": "tuning_validation_loss",
    "runner_up_val_loss": "runner_up_validation_loss",
    "selection_margin": "margin",
}


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
        """The chosen parameters by evaluation experiment name (what ``evaluation_experiments`` takes)
        and, for a candidate whose grid the edge rule extended, its steps under ``extension_key``
        (``{"extensions": [[param, side, round], ...]}``, what ``tuning_plan`` takes): JSON data that
        replans every run of the tuned protocol (e.g. from a manifest) without rerunning the tuning."""
        out: dict[str, dict] = {name: s.params for name, s in self.by_name.items()}
        for name, s in self.by_name.items():
            if s.extensions:  # ``name`` is eval_name: the budget's prefix, then the candidate id
                prefix = name.removesuffix(s.candidate.id)
                out[_tuning_prefix(prefix, s.candidate.id)] = {"extensions": [list(e) for e in s.extensions]}
        return out

    @property
    def extensions(self) -> dict[str, tuple[Extension, ...]]:
        """The edge steps taken by evaluation experiment name (what ``extension_experiments`` takes)."""
        return {name: s.extensions for name, s in self.by_name.items()}

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the results rest on (tuning and evaluation)."""
        return concat_rows([self.tuning, self.evaluation])

    def selection_table(self) -> pd.DataFrame:
        """Per candidate: the configuration chosen (``chosen``, ``config_index``), its validation
        accuracy and score (``tuning_validation_accuracy``, ``tuning_validation_loss``: row-weighted
        validation cross-entropy over the tuning seeds), the runner-up (``runner_up``,
        ``runner_up_validation_loss``), ``margin`` (runner-up - chosen score), configurations run
        (``configs_run``: base grid + ``configs_extended``, the edge rule's extra ones) and ``at_edge``."""
        return pd.DataFrame(
            [
                {
                    "model_id": cid,
                    "config_index": s.index,
                    "configs_extended": s.n_extended,
                    **{_SELECTION_NAMES.get(k, k): v for k, v in tuned_columns(s).items()},
                }
                for cid, s in self.selections.items()
            ],
            columns=SELECTION_COLUMNS,
        ).astype({"configs_run": "Int64", "configs_extended": "Int64"})


def tuned_columns(selection: Selection | None) -> dict:
    """The selection's columns of a study's tuned table (None each without a selection): ``chosen``,
    ``tuning_val_acc``, ``tuning_val_loss`` (the score: validation cross-entropy), ``runner_up`` and
    ``runner_up_val_loss``, ``selection_margin`` (runner-up - chosen score), ``configs_run`` (base
    grid + edge extensions) and ``at_edge`` ("" inside the grid)."""
    s = selection
    return {
        "chosen": describe_params(s.params) if s else None,
        "tuning_val_acc": s.validation_accuracy if s else None,
        "tuning_val_loss": s.score if s else None,
        "runner_up": describe_params(s.runner_up_params) if s else None,
        "runner_up_val_loss": s.runner_up_score if s else None,
        "selection_margin": s.margin if s else None,
        "configs_run": s.n_configs if s else None,
        "at_edge": s.at_edge if s else None,
    }


def run_tuned_groups(
    groups: list[tuple[list[Candidate], Budget]], run, probes: tuple = (), desc: str = "tuned"
) -> TunedResults:
    """``run_tuned`` over several (candidates, budget) groups (e.g. one per dataset). Runner calls:
    every group's base-grid tuning runs; then, per round of the edge rule, the extension runs of every
    candidate whose choice sits at an edge it may still extend (selected again after each round);
    then every group's evaluation runs. Selections are keyed by ``eval_name`` (the budget's prefix +
    candidate id), so ids may repeat across groups."""
    items = [(eval_name(b, c), c, b) for cs, b in groups for c in cs]
    tuning = run([e for _, c, b in items for e in tuning_experiments(c, b)], f"{desc}: tuning")
    frames = [tuning]
    by_name = runs_by_experiment(tuning)
    selections = {name: select(c, b, by_name) for name, c, b in items}
    for round_ in itertools.count(1):
        steps = {
            name: selections[name].extensions
            + tuple(Extension(p, side, round_) for p, side in selections[name].pending)
            for name, _, _ in items
            if selections[name].pending
        }
        if not steps:
            break
        frames.append(
            run(
                [
                    e
                    for name, c, b in items
                    if name in steps
                    for e in extension_experiments(c, b, steps[name], len(selections[name].scores))
                ],
                f"{desc}: tuning, edge extensions round {round_}",
            )
        )
        tuning = concat_rows(frames)
        by_name = runs_by_experiment(tuning)
        selections.update({name: select(c, b, by_name, steps[name]) for name, c, b in items if name in steps})
    evaluation = run(
        [evaluation_experiment(selections[name], b, probes) for name, _, b in items], f"{desc}: evaluation"
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


def extension_key(budget: Budget, candidate: Candidate) -> str:
    """The key of a candidate's edge steps in ``TunedResults.chosen``: its tuning runs' name prefix."""
    return _tuning_prefix(budget.prefix, candidate.id)


def tuning_plan(
    groups: list[tuple[list[Candidate], Budget]], chosen: dict[str, dict] | None = None
) -> list[Experiment]:
    """Every tuning experiment of the groups: each candidate's base grid, then the configurations its
    edge steps added as ``chosen`` records them (``TunedResults.chosen``, e.g. from a manifest; None or
    no record: the base grids only, what is planned before any tuning ran)."""
    chosen = chosen or {}
    base = [e for cs, b in groups for c in cs for e in tuning_experiments(c, b)]
    extra = [
        e
        for cs, b in groups
        for c in cs
        if chosen.get(extension_key(b, c), {}).get("extensions")
        for e in extension_experiments(
            c, b, tuple(Extension(*step) for step in chosen[extension_key(b, c)]["extensions"])
        )
    ]
    return base + extra


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
        "chosen by validation cross-entropy on the tuning seeds (a grid extended past a choice at its edge "
        f"for {', '.join(ORDERED)}, at most {EDGE_EXTENSIONS} steps per side), held-out test accuracy on "
        "the evaluation seeds"
    )


__all__ = [
    "EDGE_EXTENSIONS",
    "SELECTION_COLUMNS",
    "accuracy_choice",
    "accuracy_selection",
    "Budget",
    "Candidate",
    "Extension",
    "Selection",
    "TunedResults",
    "describe_params",
    "evaluation_experiment",
    "evaluation_experiments",
    "extension_experiments",
    "extension_key",
    "protocol_sentence",
    "run_tuned",
    "run_tuned_groups",
    "select",
    "tuned_columns",
    "tuning_experiments",
    "tuning_plan",
]

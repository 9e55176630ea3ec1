"""Stage: studies. Two Moons ablation under three protocols.

* **Tuned** (primary; every comparative claim): every model — the quantum routers, Model A, MLP
  routers of each width, constant gates, logistic regression, an RBF-SVM — searched over the same
  number of configurations on tuning seeds and evaluated at its chosen configuration on fresh seeds,
  held-out test accuracy, paired over seeds (``qmoe_tfq.experiments.tuning``).
* **Authors' budget** (secondary): every model at the authors' Phase 2 setting, Adam lr 0.1 for 50
  epochs, batch 32, on the same fresh samples and held-out splits; references at scikit-learn's
  defaults. One learning rate chosen for the quantum model: MLP routers collapse under it.
* **Authors' protocol**: their data (``make_moons(random_state=42)``), no split, their budgets, and
  accuracy on the training set, as they measured it — over many model seeds.

**Multiverse runs** (issue #21, ``Results.variants``): the runs the run choices of the claims' multiverse
(``qmoe_tfq.analysis.multiverse``) need, for the mixtures of C1's and C7's primary comparison
(``VARIANT_IDS``: the quantum router and Model A), on the evaluation seeds: random restarts 1 .. k-1 of
each chosen configuration (restarts at parity, k = ``Size.restarts``; restart 0 is the evaluation run;
the same runs as the mechanism study's, so they share its cache entries), and the evaluation of the
configuration selected by validation accuracy instead of cross-entropy (``tuning.accuracy_selection``:
most correct validation points over the tuning seeds, ties to the earliest configuration, among the
configurations the tuning ran; where it is the cross-entropy choice it is the same run, from the cache),
and the evaluation of the chosen configuration with Keras' Glorot initialisation of the classical layers
(``init="glorot"``) instead of PyTorch's (the configuration as tuned under PyTorch's; not retuned): the
run choices of ``_variants.RunChoices`` (``run_choices``), shared with the parameter-efficiency study. The
authors' protocol (N1, N2) is also rerun with Glorot initialisation (``authors_glorot_experiments``, under
``AUTHORS_GLOROT_PREFIX``), its multiverse's initialisation choice; it selects no configuration, so the
selection score does not apply to it. ``variant_rows(res, choice,
option)`` gives the tuned rows with those models' runs replaced by the variant's (the best of k
restarts per seed, chosen on validation loss), under the tuned names, so a claim computes its values
from them exactly as from the plan's rows.

**C1's replication** (issue #21, ``Results.replication``): the 20 evaluation seeds are C1's pilot; its
primary endpoint is decided on fresh seeds (``REPLICATION_SEED_BASE`` on: disjoint from the pilot's, which
count up from 0, and from the tuning seeds) whose number the pilot fixes before they run: the fewest that
detect C1's effect of interest (``REPLICATION_EFFECT``, 2 pp) with 80% power at the pilot's SD of the paired
differences (``analysis.rules.paired_sample_size``; at most ``Size.replication_max``). The quantum router
and Model A at their tuned configurations, with the multiverse runs of ``VARIANT_IDS`` on the same seeds
(named under ``REPLICATION_PREFIX``); the count travels in ``Results.chosen`` under ``REPLICATION_PREFIX``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.ledger import CONVERGENCE_MARGIN
from qmoe_tfq.analysis.rules import paired_sample_size
from qmoe_tfq.analysis.stats import ACCURACY_BOUNDS, bootstrap_interval, epochs_to_exceed, paired_signed_rank
from qmoe_tfq.data import DataSpec
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.probes import DecisionGrid, GateSummary
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    TunedResults,
    eval_name,
    run_tuned,
    tuned_columns,
)
from qmoe_tfq.specs.config import ModelSpec, param_counts
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import _variants as V

AUTHORS_DATA_SEED = 42
DATA = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.3, seed=None)
QUANTUM = qmoe(router="quantum", layers=3, readout="expectation")
PHASE3A_HIDDEN = (2, 4, 8, 16, 32, 64)
HIDDEN = (2, 4, 8, 16, 32, 64)
MATCH_TOLERANCE = 0.20
CI_METHOD = "BCa bootstrap 95% CI over seeds (9999 resamples; stays inside [0, 1])"
GRID = 64
PROBES = (DecisionGrid(GRID), GateSummary())
TUNED_PREFIX = "tm/"
BUDGET_PREFIX = "budget/"
AUTHORS_BUDGET = {"lr": 0.1, "max_epochs": 50, "batch_size": 32}


@dataclass(frozen=True)
class Size:
    """Seeds and epochs of a run of the study: full, or QUICK (smoke test)."""

    eval_seeds: int
    tuning_seeds: int
    max_epochs: int
    budget_seeds: int
    budget_epochs: int
    authors_seeds: int
    phase2_epochs: int
    phase3a_epochs: int
    restarts: int = 3
    replication_max: int = 120


FULL = Size(
    eval_seeds=20,
    tuning_seeds=3,
    max_epochs=100,
    budget_seeds=20,
    budget_epochs=50,
    authors_seeds=10,
    phase2_epochs=50,
    phase3a_epochs=30,
)
QUICK = Size(
    eval_seeds=3,
    tuning_seeds=2,
    max_epochs=3,
    budget_seeds=3,
    budget_epochs=3,
    authors_seeds=2,
    phase2_epochs=2,
    phase3a_epochs=2,
    restarts=2,
    replication_max=3,
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


def matched_hidden(target: int, n_features: int = 2, tolerance: float = MATCH_TOLERANCE) -> int:
    """Hidden width of the MLP router whose parameter count is closest to ``target`` (within ±tolerance)."""
    count = lambda h: param_counts(ModelSpec(router="mlp", hidden=h), n_features, 2).router  # noqa: E731
    best = min(range(1, 256), key=lambda h: abs(count(h) - target))
    if abs(count(best) - target) > tolerance * target:
        raise ValueError(f"no MLP router within ±{tolerance:.0%} of {target} parameters (closest: {count(best)})")
    return best


QUANTUM_ROUTER_PARAMS = param_counts(ModelSpec(router="quantum", layers=3), 2, 2).router
MATCHED_HIDDEN = matched_hidden(QUANTUM_ROUTER_PARAMS)
MATCHED = f"mlp_h{MATCHED_HIDDEN}"
CONVERGENCE_IDS = ("quantum", "linear", MATCHED, "mlp_h64")
# The mixtures of C1's and C7's primary comparison: the ones the multiverse's run choices rerun.
VARIANT_IDS = ("quantum", "linear")
REPLICATION_PREFIX = "c1rep/"
REPLICATION_SEED_BASE = 1_000
REPLICATION_EFFECT = 0.02
REPLICATION_PROBES = (GateSummary(),)


def candidates() -> list[Candidate]:
    """Every model of the comparison, in table order, with its role."""
    models = [
        Candidate(
            "quantum",
            "quantum router (authors: SEL L=3, <Z> + adapter)",
            "quantum",
            QUANTUM,
            "moe",
            (("role", "quantum"),),
        ),
        Candidate(
            "quantum_prob",
            "quantum router (probabilities readout, 4 experts)",
            "quantum",
            qmoe(router="quantum", layers=3, readout="probabilities"),
            "moe",
            (("role", "quantum variant"),),
        ),
        Candidate(
            "quantum_rycz_prob",
            "quantum router (paper text: RY+CZ, probabilities)",
            "quantum",
            qmoe(router="quantum", layers=3, readout="probabilities", ansatz="ry_cz"),
            "moe",
            (("role", "quantum variant"),),
        ),
        Candidate(
            "linear",
            "Model A: linear router",
            "linear",
            qmoe(router="linear"),
            "moe",
            (("role", "classical (paper's baseline)"),),
        ),
        Candidate(
            MATCHED,
            f"MLP router h={MATCHED_HIDDEN} (parameter-matched)",
            "mlp",
            qmoe(router="mlp", hidden=MATCHED_HIDDEN),
            "moe",
            (("role", "classical (parameter-matched)"),),
        ),
    ]
    models += [
        Candidate(
            f"mlp_h{h}",
            f"Model C: MLP router h={h}",
            "mlp",
            qmoe(router="mlp", hidden=h),
            "moe",
            (("role", "classical (deep router)"),),
        )
        for h in HIDDEN
        if h != MATCHED_HIDDEN
    ]
    models += [
        Candidate(
            "constant",
            "constant gates (experts only)",
            "constant",
            qmoe(router="constant"),
            "moe",
            (("role", "floor"),),
        ),
        Candidate(
            "logreg",
            "logistic regression (no MoE)",
            "logreg",
            EstimatorSpec("logreg"),
            "logreg",
            (("role", "reference"),),
        ),
        Candidate(
            "rbf_svm",
            "RBF-kernel SVM (no MoE)",
            "rbf_svm",
            EstimatorSpec("rbf_svm"),
            "rbf_svm",
            (("role", "reference"),),
        ),
    ]
    return models


def candidate(model_id: str) -> Candidate:
    return {c.id: c for c in candidates()}[model_id]


def budget(quick: bool = False) -> Budget:
    """The tuned protocol's settings for this study."""
    s = size(quick)
    return Budget(
        TUNED_PREFIX,
        DATA,
        n_tuning_seeds=s.tuning_seeds,
        eval_seeds=tuple(range(s.eval_seeds)),
        max_epochs=s.max_epochs,
        quick=quick,
    )


def tuned_name(model_id: str, quick: bool = False) -> str:
    return eval_name(budget(quick), candidate(model_id))


def authors_budget_spec(c: Candidate, epochs: int) -> EstimatorSpec:
    """A candidate at the authors' budget (mixtures) or at scikit-learn's defaults (references)."""
    if c.base.kind != "qmoe":
        return c.base
    return c.base.replace(**{**AUTHORS_BUDGET, "max_epochs": epochs})


def budget_experiments(quick: bool = False) -> list[Experiment]:
    """Every candidate at the authors' budget, on fresh samples and held-out splits (``fair``)."""
    s = size(quick)
    return [
        Experiment(
            f"{BUDGET_PREFIX}{c.id}",
            authors_budget_spec(c, s.budget_epochs),
            DATA,
            "fair",
            tuple(range(s.budget_seeds)),
            probes=PROBES,
            tags=(("model_id", c.id), *c.tags),
        )
        for c in candidates()
    ]


def authors_experiments(quick: bool = False) -> list[Experiment]:
    """The authors' protocol: their data (random_state=42), no split, their budgets, many model seeds."""
    s = size(quick)
    seeds = tuple(range(s.authors_seeds))
    phase2_data = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.0, seed=AUTHORS_DATA_SEED)
    phase3_data = DataSpec(name="moons", n_samples=1000, noise=0.1, test_size=0.0, seed=AUTHORS_DATA_SEED)
    phase2 = {"lr": 0.1, "max_epochs": s.phase2_epochs, "batch_size": 32}
    phase3 = {"lr": 0.05, "max_epochs": s.phase3a_epochs, "batch_size": 32}
    exps = [
        Experiment("phase2/linear", qmoe(router="linear", **phase2), phase2_data, "authors", seeds),
        Experiment("phase2/quantum", QUANTUM.replace(**phase2), phase2_data, "authors", seeds),
        Experiment("phase3a/quantum", QUANTUM.replace(**phase3), phase3_data, "authors", seeds),
    ]
    exps += [
        Experiment(f"phase3a/mlp_h{h}", qmoe(router="mlp", hidden=h, **phase3), phase3_data, "authors", seeds)
        for h in PHASE3A_HIDDEN
    ]
    return exps


#: The authors' protocol runs with Keras' Glorot initialisation of the classical layers (the multiverse's
#: initialisation choice for N1 and N2, issue #21), under this prefix in ``Results.variants``.
AUTHORS_GLOROT_PREFIX = "glorot/"


def authors_glorot_experiments(quick: bool = False) -> list[Experiment]:
    """``authors_experiments`` with ``init="glorot"``, named under ``AUTHORS_GLOROT_PREFIX``."""
    return V.glorot_copies(authors_experiments(quick), AUTHORS_GLOROT_PREFIX)


def authors_glorot_rows(res: Results) -> pd.DataFrame:
    """The authors' protocol rows under Glorot initialisation, renamed to the plan's names (``phase2/...``,
    ``phase3a/...``); empty without those runs."""
    return V.unprefixed(res.variants, AUTHORS_GLOROT_PREFIX)


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The Two Moons (C1, C2, C3, C7, N1, N2) study's planned runs, as ``Experiment`` configs.

    The study's planned runs: every tuning run, the authors' budget and protocol, and, given the
    ``chosen`` parameters by evaluation name (``Results.chosen``), the tuned evaluation runs they
    imply.

    Parameters
    ----------
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    chosen : dict or None, default None
        The tuned parameters by evaluation name (``Results.chosen`` of a previous ``results``
        call); None plans only what does not depend on tuning.

    Returns
    -------
    list of Experiment
        The planned experiments, in the order the runner runs them.

    Examples
    --------
    >>> from qmoe_tfq.studies import two_moons
    >>> sorted({e.protocol for e in two_moons.experiments(quick=True)})
    ['authors', 'fair', 'tuning']
    """
    from qmoe_tfq.experiments.tuning import evaluation_experiments, tuning_plan

    b = budget(quick)
    return (
        tuning_plan([(candidates(), b)], chosen)
        + budget_experiments(quick)
        + authors_experiments(quick)
        + evaluation_experiments([(candidates(), b)], chosen or {}, PROBES)
        + variant_experiments(chosen or {}, quick)
        + authors_glorot_experiments(quick)
        + replication_experiments(chosen or {}, quick)
    )


def run_choices(quick: bool = False) -> V.RunChoices:
    """The multiverse's run choices (``_variants.RunChoices``) for ``VARIANT_IDS`` under the tuned protocol."""
    return V.RunChoices(budget(quick), tuple(candidate(m) for m in VARIANT_IDS), size(quick).restarts, PROBES)


def restart_name(model_id: str, restart: int) -> str:
    return V.restart_name(TUNED_PREFIX, model_id, restart)


def accuracy_name(model_id: str) -> str:
    return V.accuracy_name(TUNED_PREFIX, model_id)


def glorot_name(model_id: str) -> str:
    return V.glorot_name(TUNED_PREFIX, model_id)


def variant_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """The multiverse runs (module docstring, ``_variants``) that the ``chosen`` parameters (by evaluation
    name, the accuracy-selected ones under ``accuracy_name``) imply for ``VARIANT_IDS``."""
    return run_choices(quick).experiments(chosen)


def accuracy_chosen(tuned: TunedResults, quick: bool = False) -> dict[str, dict]:
    """The accuracy-selected parameters of ``VARIANT_IDS`` by ``accuracy_name`` (``tuning.accuracy_selection``)."""
    return run_choices(quick).accuracy_chosen(tuned)


def replication_size(rows: pd.DataFrame, quick: bool = False) -> int:
    """C1's replication seed count, fixed by its pilot (the tuned evaluation ``rows`` of the quantum router and
    Model A): the fewest seeds that detect ``REPLICATION_EFFECT`` with 80% power at the pilot's SD of the
    per-seed accuracy differences (``rules.paired_sample_size``, signed-rank), at most ``Size.replication_max``."""
    acc = {m: R.runs(rows, f"{TUNED_PREFIX}{m}").set_index("seed")["test_accuracy"] for m in VARIANT_IDS}
    d = (acc["quantum"] - acc["linear"]).dropna().to_numpy(float)
    cap = size(quick).replication_max
    try:
        return paired_sample_size(d, REPLICATION_EFFECT, n_max=cap)
    except ValueError:  # a pilot too noisy (or too small) for the cap: the cap, and the ledger says so
        return cap


def replication_seeds(n: int) -> tuple[int, ...]:
    return tuple(range(REPLICATION_SEED_BASE, REPLICATION_SEED_BASE + n))


def replication_choices(n: int, quick: bool = False) -> V.RunChoices:
    """The tuned protocol of ``VARIANT_IDS`` on ``n`` replication seeds, named under ``REPLICATION_PREFIX``."""
    b = dataclasses.replace(budget(quick), prefix=REPLICATION_PREFIX, eval_seeds=replication_seeds(n))
    return V.RunChoices(b, tuple(candidate(m) for m in VARIANT_IDS), size(quick).restarts, REPLICATION_PROBES)


def replication_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """C1's replication runs that ``chosen`` implies: the tuned configurations of ``VARIANT_IDS`` (and their
    multiverse runs) on ``chosen[REPLICATION_PREFIX]["seeds"]`` fresh seeds; none without that count."""
    n = chosen.get(REPLICATION_PREFIX, {}).get("seeds")
    if not n:
        return []
    rc = replication_choices(int(n), quick)
    own = {
        **{rc.tuned_name(m): chosen[eval_name(budget(quick), candidate(m))] for m in VARIANT_IDS},
        **{rc.accuracy_name(m): chosen[accuracy_name(m)] for m in VARIANT_IDS if accuracy_name(m) in chosen},
    }
    tuned = [rc.evaluation(m, own.get(rc.tuned_name(m))) for m in VARIANT_IDS]
    return [e for e in tuned if e is not None] + rc.experiments(own)


@dataclass
class Results:
    """The study's runs: the tuned protocol's, the fixed-budget ones (authors' budget and protocol) and the
    multiverse runs (``variants``)."""

    tuned: TunedResults
    fixed: pd.DataFrame
    quick: bool
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)
    variant_chosen: dict[str, dict] = field(default_factory=dict)
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)
    replication_n: int = 0

    @property
    def rows(self) -> pd.DataFrame:
        """Every evaluation row (tuned ``tm/``, authors' budget ``budget/``, ``phase2/``, ``phase3a/``)."""
        return R.concat([self.tuned.evaluation, self.fixed])

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the study's outputs rest on, tuning, multiverse and replication runs included."""
        return R.concat([self.tuned.sources, self.fixed, self.variants, self.replication])

    @property
    def chosen(self) -> dict[str, dict]:
        """The tuned parameters by evaluation name, the accuracy-selected ones (multiverse runs) and C1's
        replication seed count (under ``REPLICATION_PREFIX``)."""
        out = {**self.tuned.chosen, **self.variant_chosen}
        if self.replication_n:
            out[REPLICATION_PREFIX] = {"seeds": self.replication_n}
        return out

    @property
    def replication_rows(self) -> pd.DataFrame:
        """C1's replication: the tuned evaluation runs of ``VARIANT_IDS`` on the replication seeds, under
        ``REPLICATION_PREFIX`` names (``c1rep/quantum``, ``c1rep/linear``)."""
        if self.replication.empty:
            return self.replication
        rc = replication_choices(self.replication_n, self.quick)
        return self.replication[self.replication["experiment"].isin([rc.tuned_name(m) for m in VARIANT_IDS])]

    @property
    def replication_variants(self) -> pd.DataFrame:
        """The multiverse runs of C1's replication (restarts, accuracy selection, Glorot initialisation)."""
        return self.replication[~self.replication.index.isin(self.replication_rows.index)]


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the Two Moons (C1, C2, C3, C7, N1, N2) study.

    Run (or read from the cache) every run of the study. ``run(experiments, desc)`` is the runner.

    Parameters
    ----------
    run : callable
        The runner, ``run(experiments, desc) -> pandas.DataFrame`` (``qmoe_tfq.experiments.runner.runner``);
        cached runs are read, not rerun.
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.

    Returns
    -------
    Results
        The study's rows (``pandas.DataFrame``) and what its tables, figures and ledger entries
        are computed from; ``Results.chosen`` holds the tuned parameters by evaluation name.
    """
    tuned = run_tuned(candidates(), budget(quick), run, PROBES, desc="two moons")
    fixed = run(budget_experiments(quick) + authors_experiments(quick), "two moons: fixed budgets")
    by_accuracy = accuracy_chosen(tuned, quick)
    variants = run(
        variant_experiments({**tuned.chosen, **by_accuracy}, quick) + authors_glorot_experiments(quick),
        "two moons: multiverse runs",
    )
    n = replication_size(tuned.evaluation, quick)
    chosen = {**tuned.chosen, **by_accuracy, REPLICATION_PREFIX: {"seeds": n}}
    replication = run(replication_experiments(chosen, quick), f"two moons: C1 replication ({n} fresh seeds)")
    return Results(tuned, fixed, quick, variants, by_accuracy, replication, n)


def variant_options(res: Results) -> list[tuple[str, object]]:
    """The ``(run choice, option)`` pairs whose runs ``res`` holds for every one of ``VARIANT_IDS``."""
    return run_choices(res.quick).options(res.variants)


def restart_best(res: Results, model_id: str) -> pd.DataFrame:
    """Per evaluation seed, the best of k = ``Size.restarts`` runs of ``model_id`` (``_results.best_of_restarts``:
    lowest validation loss at the kept epoch, ties to the earliest), one row per seed as the runner gave it."""
    return run_choices(res.quick).restart_best(res.tuned.evaluation, res.variants, model_id)


def replication_variant_rows(res: Results, choice: str, option: object) -> pd.DataFrame:
    """C1's replication rows with the runs replaced by the multiverse variant ``(choice, option)``'s."""
    rc = replication_choices(res.replication_n, res.quick)
    return rc.rows(res.replication_rows, res.replication_variants, choice, option)


def replication_variant_options(res: Results) -> list[tuple[str, object]]:
    """The ``(run choice, option)`` pairs whose runs C1's replication holds."""
    return replication_choices(res.replication_n, res.quick).options(res.replication_variants)


def variant_rows(res: Results, choice: str, option: object) -> pd.DataFrame:
    """``res.rows`` with the runs of ``VARIANT_IDS`` replaced by the variant ``(choice, option)``'s, under
    the tuned evaluation names (``variant_options`` lists what ``res`` holds)."""
    return run_choices(res.quick).rows(res.rows, res.variants, choice, option)


def comparison_table(rows: pd.DataFrame, prefix: str, tuned: TunedResults | None = None) -> pd.DataFrame:
    """One row per model: sizes, held-out test accuracy with its BCa 95% CI, eta, collapse and floor
    counts, paired tests against the quantum router; with ``tuned``, the configuration chosen and its
    score. ``model_id`` names the model for figures (colour by family)."""
    from qmoe_tfq.analysis.stats import efficiency

    out = []
    for c in candidates():
        name = f"{prefix}{c.id}"
        g = R.runs(rows, name)
        acc = R.accuracy_columns(g["test_accuracy"], interval="bca")
        rp = R.count(g["router_params"].iloc[0])
        row = {"model_id": c.id, "model": c.label, "role": c.tags[0][1], "family": c.family}
        if tuned is not None:
            row.update(tuned_columns(tuned.selections[c.id]))
        row.update(
            {
                "router_params": rp,
                "expert_params": R.count(g["expert_params"].iloc[0]),
                "total_params": int(g["total_params"].iloc[0]),
                **acc,
                "train_acc_mean": float(g["train_accuracy"].mean()),
                "eta": efficiency(acc["test_acc_mean"], rp),
                "n_collapsed": R.collapse_count(rows, name),
                "n_at_floor": R.floor_count(rows, name, f"{prefix}constant"),
                **R.comparison_columns(rows, f"{prefix}quantum", name),
                "train_seconds_mean": float(g["train_seconds"].mean()),
            }
        )
        out.append(row)
    return pd.DataFrame(out).astype({"router_params": "Int64", "expert_params": "Int64", "n_collapsed": "Int64"})


def tuned_table(res: Results) -> pd.DataFrame:
    """The tuned protocol's comparison (primary)."""
    return comparison_table(res.rows, TUNED_PREFIX, res.tuned)


def budget_table(res: Results) -> pd.DataFrame:
    """The authors' budget comparison (secondary): lr 0.1, 50 epochs for every mixture."""
    return comparison_table(res.rows, BUDGET_PREFIX)


def authors_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The authors' protocol: training-set accuracy (mean, BCa 95% CI over model seeds) per model."""
    out = []
    for phase in ("phase2/", "phase3a/"):
        sub = rows[rows["experiment"].str.startswith(phase)]
        for name, g in sub.groupby("experiment", sort=False):
            ci = bootstrap_interval(g["train_accuracy"], bounds=ACCURACY_BOUNDS)
            losses = np.array(g["epoch_losses"].tolist())
            out.append(
                {
                    "phase": phase.rstrip("/"),
                    "model_id": name[len(phase) :],
                    "router_params": int(g["router_params"].iloc[0]),
                    "train_acc_mean": ci.mean,
                    "train_acc_ci_low": ci.low,
                    "train_acc_ci_high": ci.high,
                    "train_acc_min": float(g["train_accuracy"].min()),
                    "train_acc_max": float(g["train_accuracy"].max()),
                    "final_loss_mean": float(losses[:, -1].mean()),
                    "n_seeds": ci.n,
                }
            )
    return pd.DataFrame(out)


def floors(rows: pd.DataFrame, prefix: str = TUNED_PREFIX) -> pd.Series:
    """The experts-only floor of the convergence criterion, per seed: the best validation accuracy of
    the constant-gate model on that seed (same validation rows as every model of the seed)."""
    return R.runs(rows, f"{prefix}constant").set_index("seed")["validation_curve"].map(lambda c: float(np.max(c)))


def convergence_epochs(
    rows: pd.DataFrame, model_id: str, max_epochs: int, prefix: str = TUNED_PREFIX, margin: float = CONVERGENCE_MARGIN
) -> pd.Series:
    """Per seed: the first epoch whose validation accuracy exceeds the seed's floor (``floors``) by
    ``margin``; ``max_epochs + 1`` when it never does (a run collapsed on the floor never does)."""
    g = R.runs(rows, f"{prefix}{model_id}").set_index("seed")
    floor = floors(rows, prefix).loc[g.index]
    return pd.Series(
        epochs_to_exceed(g["validation_curve"].tolist(), floor.to_numpy(), margin, max_epochs), index=g.index
    )


def convergence_table(
    rows: pd.DataFrame,
    max_epochs: int,
    prefix: str = TUNED_PREFIX,
    ids=CONVERGENCE_IDS,
    margin: float = CONVERGENCE_MARGIN,
) -> pd.DataFrame:
    """Per model: epochs until the validation accuracy first exceeds the experts-only floor of the same
    seed by ``margin`` (C7's criterion; never: ``max_epochs + 1``), mean with BCa 95% CI, runs that
    never do, and exact one-sided signed-rank p-values of the quantum router needing fewer / more epochs."""
    q = convergence_epochs(rows, "quantum", max_epochs, prefix, margin)
    floor = floors(rows, prefix)
    out = []
    for model_id in ids:
        e = convergence_epochs(rows, model_id, max_epochs, prefix, margin)
        ci = bootstrap_interval(e.to_numpy(float), bounds=(1.0, max_epochs + 1.0))
        row = {
            "model_id": model_id,
            "epochs_to_criterion_mean": ci.mean,
            "ci_low": ci.low,
            "ci_high": ci.high,
            "epochs_to_criterion_median": float(e.median()),
            "n_never": int(np.sum(e > max_epochs)),
            "n_seeds": ci.n,
            "floor_mean": float(floor.loc[e.index].mean()),
            "margin": margin,
            "max_epochs": max_epochs,
            "p_quantum_faster": math.nan,
            "p_quantum_slower": math.nan,
        }
        if model_id != "quantum":
            seeds = q.index.intersection(e.index)
            row["p_quantum_faster"] = paired_signed_rank(q.loc[seeds], e.loc[seeds], "less")
            row["p_quantum_slower"] = paired_signed_rank(q.loc[seeds], e.loc[seeds], "greater")
        row.update(_km_columns(q, e, max_epochs, model_id != "quantum"))
        out.append(row)
    return pd.DataFrame(out)


def _km_columns(q: pd.Series, e: pd.Series, max_epochs: int, compare: bool) -> dict:
    """Issue #21: never-reached runs right-censored at ``max_epochs``: Kaplan-Meier median with its
    log-log 95% CI and the one-sided log-rank p-values of the quantum router being faster / slower."""
    from qmoe_tfq.analysis import rules as ar

    def cens(x: pd.Series):
        t, reached = ar.from_max_plus_one(x.to_numpy(float), max_epochs)
        return ar.censored(t, reached, max_epochs)

    km = ar.km_median(cens(e))
    out = {
        "km_median": km.median,
        "km_low": km.low,
        "km_high": km.high,
        "p_logrank_faster": math.nan,
        "p_logrank_slower": math.nan,
    }
    if compare:
        o = ar.time_to_event(cens(q), cens(e))
        out["p_logrank_faster"], out["p_logrank_slower"] = o.p, o.p_reverse
    return out


def median_seeds(res: Results, ids, prefix: str = TUNED_PREFIX) -> dict[str, int]:
    """Per model, the evaluation seed a figure shows: its median-accuracy seed (``_results.median_seed``)."""
    return {m: R.median_seed(res.rows, f"{prefix}{m}") for m in ids}


def seed_notes(res: Results, seeds: dict[str, int], prefix: str = TUNED_PREFIX) -> dict[str, str]:
    """Per model, ``"seed 7, median of 20"`` for panel titles and captions."""
    return {m: R.seed_note(res.rows, f"{prefix}{m}", s) for m, s in seeds.items()}


def tuning_convergence_table(res: Results) -> pd.DataFrame:
    """Did the tuned budget suffice for each mixture's chosen configuration (``_results.convergence_table``
    over the tuning seeds)?"""
    return R.convergence_table(res.tuned, [(candidates(), budget(res.quick))])


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows without the bulky columns (losses, curves, grid predictions)."""
    drop = [
        c
        for c in ("epoch_losses", "grid_predictions", "key", "validation_curve", "validation_loss_curve", "noise_eval")
        if c in rows.columns
    ]
    return rows.drop(columns=drop)


__all__ = [
    "AUTHORS_DATA_SEED",
    "BUDGET_PREFIX",
    "CI_METHOD",
    "CONVERGENCE_IDS",
    "DATA",
    "MATCHED",
    "MATCHED_HIDDEN",
    "QUANTUM",
    "REPLICATION_EFFECT",
    "REPLICATION_PREFIX",
    "REPLICATION_SEED_BASE",
    "Results",
    "TUNED_PREFIX",
    "VARIANT_IDS",
    "AUTHORS_GLOROT_PREFIX",
    "accuracy_chosen",
    "accuracy_name",
    "authors_glorot_experiments",
    "authors_glorot_rows",
    "authors_table",
    "glorot_name",
    "budget",
    "budget_table",
    "candidates",
    "comparison_table",
    "convergence_epochs",
    "convergence_table",
    "experiments",
    "floors",
    "median_seeds",
    "restart_best",
    "replication_choices",
    "replication_experiments",
    "replication_seeds",
    "replication_size",
    "replication_variant_options",
    "replication_variant_rows",
    "restart_name",
    "run_choices",
    "results",
    "runs_table",
    "seed_notes",
    "tuned_table",
    "tuning_convergence_table",
    "variant_experiments",
    "variant_options",
    "variant_rows",
]

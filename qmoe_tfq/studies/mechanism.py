"""Stage: studies. Mechanism study (C8): what the quantum router computes, and whether interference is what helps.

The router's readouts are linear in the 3^d trigonometric product features
phi(x) = (x)_i (1, cos x_i, sin x_i) (``qmoe_tfq.models.fourier_features``), and the paper's kernel
|<psi(x)|psi(x')>|^2 is the closed form prod_i cos^2((x_i - x'_i)/2) (``qmoe_tfq.models.kernels``). On the
Two Moons study's data and tuned, equal-budget protocol (its tuning runs and evaluation seeds, so
shared models share the cache; ``two_moons.budget``), this study compares:

* the authors' quantum router with classical routers of **its own function class** (``fourier``:
  Dense(E) + softmax on phi; ``fourier_rank``: <Z>-like projection then adapter, same 24 parameters);
* **ablations** of the circuit: CNOTs removed (no entanglement, same parameters), a frozen random
  circuit (adapter only), the probabilities readout;
* **kernel machines**: an SVM on the quantum kernel, the same SVM given a bandwidth (inputs scaled by
  2 sqrt(b), b tuned over the RBF's gamma values with the RBF-SVM's budget and rules: C8's deciding
  prediction), the RBF-SVM, and logistic regression and the RBF-SVM on phi(x); plus the kernel-target
  alignment, plain and centred, of the quantum kernel (as is, and over the same bandwidth grid as the RBF's
  gamma) against RBF kernels;
* **trainability**: the share of seeds reaching a good solution, the spread of validation accuracies,
  and k random restarts per seed (k times the epochs);
* **routing**: gate maps over the input plane, expert load and gate entropy per router.

**Restarts at parity (issue #20).** Every primary comparison, here and in every claim (C1, C5, C7 and
C8's parts), uses k = 1: one training run per evaluation seed for every model, the paper's protocol and
the one the primary endpoints were pre-registered on; no family gets more. The best of k = ``restarts``
random restarts is SECONDARY and is given to every mixture family of the comparison alike — the
quantum router, both Fourier-feature routers, Model A (linear) and the MLP router of every width in
``two_moons.HIDDEN`` (``FULL.restart_ids``), the same k for each — so it shows how much restarts change
each family, never one family's restarted result against another's single run (``restart_table``:
k = 1 and k = ``restarts`` side by side). The restart kept per seed is chosen on a continuous
validation score: the lowest validation cross-entropy at its kept epoch
(``validation_loss_curve[best_epoch - 1]``) where the runs recorded it, else the highest validation
accuracy, ties to the earlier restart (``restart_score``, ``best_of_restarts``).

**C8's multiverse runs (issue #21).** C8 is decided by two SVMs (the bandwidth-tuned quantum kernel and
the RBF), which have no random initialisation and give the same fit on every restart, so of the multiverse's
run choices only the selection score applies: ``svm_choices`` evaluates, on the evaluation seeds, the
configuration of each SVM selected by validation accuracy instead of cross-entropy (``_variants``; the
same run, from the cache, where both scores choose alike). Restarts and initialisation are declared not
applicable to C8 (``analysis.multiverse``).

**Representative pictures.** The gate maps show, per router, the evaluation seed with the median held-out
accuracy of that router (``_results.median_seed``: seeds sorted by (correct test points, seed), the
lower median), not seed 0; the seed is picked from the evaluation rows, so the gate-map runs are planned
after the evaluation, and the picks are part of ``Results.chosen`` (by gate-map name) so that the
manifest can replan them.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmoe_tfq.analysis.stats import paired_wilcoxon, t_interval
from qmoe_tfq.data import load_dataset
from qmoe_tfq.experiments.experiment import Experiment
from qmoe_tfq.experiments.probes import DecisionGrid, GateMap
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe
from qmoe_tfq.experiments.tuning import (
    Budget,
    Candidate,
    Selection,
    TunedResults,
    eval_name,
    evaluation_experiment,
    evaluation_experiments,
    run_tuned,
    tuned_columns,
)
from qmoe_tfq.studies import _results as R
from qmoe_tfq.studies import _variants as V
from qmoe_tfq.studies import two_moons as tm
from qmoe_tfq.studies._results import best_of_restarts, kept_validation_loss, restart_score

PREFIX = "mech/"
# A run "reaches a good solution" at this held-out accuracy or above (fixed before the runs): the
# experts-only floor (constant gates) spans 0.83-0.92 over seeds, the RBF-SVM 0.98-1.0; 0.95 lies
# between the two modes of the bimodal per-seed accuracies of the routers.
GOOD_ACCURACY = 0.95


# The routers of the routing analysis (gate maps, load, entropy).
ROUTER_IDS = (
    "quantum",
    "quantum_noent",
    "quantum_frozen",
    "quantum_prob",
    "fourier",
    "fourier_rank",
    "linear",
    tm.MATCHED,
)


@dataclass(frozen=True)
class Size:
    """The study's own sizes (the tuned budget is the Two Moons study's): random restarts per seed
    (k = 1 .. restarts) and which routers get them, the gate-map lattice and the routers drawn, the
    RBF gamma grid of the alignment, and the circuits of the function-class table."""

    restarts: int
    restart_ids: tuple[str, ...]
    gate_grid: int
    gate_map_ids: tuple[str, ...]
    gammas: tuple[float, ...]
    function_class_qubits: tuple[int, ...]


# Every mixture family of the comparison gets the same k (restarts at parity): the quantum router, both
# Fourier-feature routers, Model A, and the MLP router of every width the Two Moons study tunes.
MLP_IDS = tuple(f"mlp_h{h}" for h in tm.HIDDEN)
FULL = Size(
    restarts=3,
    restart_ids=("quantum", "fourier", "fourier_rank", "linear", *MLP_IDS),
    gate_grid=48,
    gate_map_ids=ROUTER_IDS,
    gammas=tuple(float(g) for g in np.logspace(-2, 2, 17)),
    function_class_qubits=(2, 3, 4),
)
QUICK = Size(
    restarts=2,
    restart_ids=("quantum", "fourier", "linear", tm.MATCHED),
    gate_grid=12,
    gate_map_ids=("quantum", "quantum_prob", "fourier", "linear"),
    gammas=(0.1, 1.0, 10.0),
    function_class_qubits=(2,),
)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


#: The models of C8's deciding comparison: the SVM on the bandwidth-tuned quantum kernel and the RBF-SVM.
KERNEL_SVM_IDS = ("quantum_kernel_bandwidth", "rbf_svm")


def _shared(model_id: str, label: str, role: str) -> Candidate:
    """A Two Moons candidate (same spec and space, so the same cache entries) with this study's role."""
    c = tm.candidate(model_id)
    return Candidate(c.id, label, c.family, c.base, c.space, (("role", role),))


def candidates() -> list[Candidate]:
    """Every model of the study, in table order."""
    return [
        _shared("quantum", "quantum router (authors: SEL L=3, <Z> + adapter)", "quantum"),
        Candidate(
            "fourier",
            "Fourier-feature router: Dense(E) + softmax on phi(x)",
            "fourier",
            qmoe(router="fourier"),
            "moe",
            (("role", "same function class"),),
        ),
        Candidate(
            "fourier_rank",
            "Fourier-feature router, rank 2: Dense(2) -> Dense(E) on phi(x)",
            "fourier",
            qmoe(router="fourier_rank"),
            "moe",
            (("role", "same function class"),),
        ),
        Candidate(
            "quantum_noent",
            "quantum router without CNOTs (no entanglement)",
            "quantum",
            qmoe(router="quantum", layers=3, ansatz="strongly_entangling_no_cnot"),
            "moe",
            (("role", "ablation: entanglement"),),
        ),
        Candidate(
            "quantum_frozen",
            "quantum router, frozen random circuit (adapter trained)",
            "quantum",
            qmoe(router="quantum", layers=3, frozen_circuit=True),
            "moe",
            (("role", "ablation: training"),),
        ),
        _shared("quantum_prob", "quantum router, probabilities readout (4 experts)", "ablation: readout"),
        _shared("linear", "Model A: linear router", "classical router"),
        _shared(tm.MATCHED, f"MLP router h={tm.MATCHED_HIDDEN} (parameter-matched)", "classical router"),
        *[
            _shared(m, f"MLP router h={m.removeprefix('mlp_h')}", "classical router (restart parity)")
            for m in MLP_IDS
            if m != tm.MATCHED
        ],
        _shared("constant", "constant gates (experts only)", "floor"),
        Candidate(
            "quantum_kernel_svm",
            "SVM on the quantum kernel",
            "quantum_kernel_svm",
            EstimatorSpec("quantum_kernel_svm"),
            "quantum_kernel_svm",
            (("role", "kernel"),),
        ),
        Candidate(
            "quantum_kernel_bandwidth",
            "SVM on the quantum kernel, tuned bandwidth (inputs x 2 sqrt(b))",
            "quantum_kernel_svm",
            EstimatorSpec("quantum_kernel_svm"),
            "quantum_kernel_bandwidth",
            (("role", "kernel (bandwidth tuned like the RBF's gamma)"),),
        ),
        _shared("rbf_svm", "RBF-kernel SVM", "kernel"),
        Candidate(
            "fourier_rbf_svm",
            "RBF-kernel SVM on phi(x)",
            "fourier",
            EstimatorSpec("fourier_rbf_svm"),
            "rbf_svm",
            (("role", "phi(x) reference"),),
        ),
        Candidate(
            "fourier_logreg",
            "logistic regression on phi(x)",
            "fourier",
            EstimatorSpec("fourier_logreg"),
            "logreg",
            (("role", "phi(x) reference"),),
        ),
        _shared("logreg", "logistic regression on x", "reference"),
    ]


def candidate(model_id: str) -> Candidate:
    return {c.id: c for c in candidates()}[model_id]


def budget(quick: bool = False) -> Budget:
    """The Two Moons study's tuned budget under this study's name prefix (names are not in the cache key)."""
    return dataclasses.replace(tm.budget(quick), prefix=PREFIX)


def name(model_id: str, quick: bool = False) -> str:
    """Evaluation experiment name of ``model_id``."""
    return eval_name(budget(quick), candidate(model_id))


def experiments(quick: bool = False, chosen: dict[str, dict] | None = None) -> list[Experiment]:
    """The mechanism (C8) study's planned runs, as ``Experiment`` configs.

    The study's planned runs: every candidate's tuning runs and, given the ``chosen`` parameters by
    evaluation name (``Results.chosen``), the evaluation, restart and gate-map runs they imply (a
    gate-map run needs its seed too, picked from the evaluation rows: ``chosen[gate_map_name(id)]``).

    Parameters
    ----------
    quick : bool, default False
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    chosen : dict or None, default None
        The tuned parameters by evaluation name (``Results.chosen`` of a previous ``results``
        call, gate-map seeds included); None plans only what does not depend on tuning.

    Returns
    -------
    list of Experiment
        The planned experiments, in the order the runner runs them.

    Examples
    --------
    >>> from qmoe_tfq.studies import mechanism
    >>> sorted({e.protocol for e in mechanism.experiments(quick=True)})
    ['tuning']
    """
    from qmoe_tfq.experiments.tuning import tuning_plan

    b, chosen = budget(quick), dict(chosen or {})
    return (
        tuning_plan([(candidates(), b)], chosen)
        + evaluation_experiments([(candidates(), b)], chosen, tm.PROBES)
        + restart_experiments(chosen, quick)
        + gate_map_experiments(chosen, quick)
        + svm_choices(quick).experiments(chosen)
    )


def svm_choices(quick: bool = False) -> V.RunChoices:
    """C8's run choices (module docstring): the selection score alone, for ``KERNEL_SVM_IDS``."""
    return V.RunChoices(
        budget(quick), tuple(candidate(m) for m in KERNEL_SVM_IDS), 1, tm.PROBES, choices=("selection_score",)
    )


def _evaluation(model_id: str, chosen: dict[str, dict], quick: bool, probes: tuple = ()) -> Experiment | None:
    """The evaluation experiment of ``model_id`` at its chosen parameters (None without a choice)."""
    b = budget(quick)
    params = chosen.get(name(model_id, quick))
    if params is None:
        return None
    return evaluation_experiment(
        Selection(candidate(model_id), dict(params), -1, float("nan"), pd.DataFrame()), b, probes
    )


def restart_name(model_id: str, restart: int) -> str:
    return f"{PREFIX}restart{restart}/{model_id}"


def restart_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """Random restarts r = 1 .. k-1 of each chosen configuration (``chosen``: parameters by evaluation
    name) on every evaluation seed: same data, split and validation rows, another initialisation and
    batch order (restart 0 is the evaluation run)."""
    out = []
    for model_id in size(quick).restart_ids:
        ev = _evaluation(model_id, chosen, quick, tm.PROBES)
        if ev is not None:
            out += [R.restarted(ev, restart_name(model_id, r), r) for r in range(1, size(quick).restarts)]
    return out


def gate_map_name(model_id: str) -> str:
    return f"{PREFIX}gates/{model_id}"


def gate_map_seeds(evaluation: pd.DataFrame, quick: bool = False) -> dict[str, dict]:
    """The seed each gate-map run draws, by gate-map name: the router's median-accuracy evaluation seed
    (``_results.median_seed``), as ``{"seed": s}`` so that it travels in ``Results.chosen``."""
    return {
        gate_map_name(m): {"seed": R.median_seed(evaluation, name(m, quick))}
        for m in size(quick).gate_map_ids
        if (evaluation["experiment"] == name(m, quick)).any()
    }


def gate_map_experiments(chosen: dict[str, dict], quick: bool = False) -> list[Experiment]:
    """Each router drawn at its chosen configuration on its median-accuracy evaluation seed, with the gate
    map and decision grid. ``chosen`` holds the parameters by evaluation name and the seed by gate-map
    name (``gate_map_seeds``); a router without either is left out (it cannot be planned yet)."""
    grid = size(quick).gate_grid
    out = []
    for model_id in size(quick).gate_map_ids:
        ev = _evaluation(model_id, chosen, quick)
        pick = chosen.get(gate_map_name(model_id))
        if ev is not None and pick is not None:
            out.append(
                dataclasses.replace(
                    ev,
                    name=gate_map_name(model_id),
                    seeds=(int(pick["seed"]),),
                    probes=(GateMap(grid), DecisionGrid(grid)),
                )
            )
    return out


@dataclass(frozen=True)
class KernelIdentity:
    """Largest |K_simulated - K_closed_form| on the study's data: TFQ states on every evaluation seed's
    training points, cirq (complex128) states on ``n_cirq`` points of seed 0, and the same with the
    trained ansatz's shape at random angles (the ansatz cancels out of the overlap)."""

    tfq: float
    cirq: float
    cirq_with_ansatz: float
    n_seeds: int
    n_points: int
    n_cirq: int

    @property
    def deviation(self) -> float:
        return max(self.tfq, self.cirq, self.cirq_with_ansatz)


def kernel_identity(quick: bool = False, n_cirq: int = 40) -> KernelIdentity:
    """Check K(x, x') = prod_i cos^2((x_i - x'_i)/2) on the study's data with both simulators."""
    from qmoe_tfq.models.kernels import cirq_states, closed_form_kernel, fidelity, quantum_kernel

    seeds = budget(quick).eval_seeds
    tfq_dev, n_points = 0.0, 0
    for seed in seeds:
        x = load_dataset(tm.DATA, seed).x_train
        tfq_dev = max(tfq_dev, float(np.abs(quantum_kernel(x, method="statevector") - closed_form_kernel(x, x)).max()))
        n_points = len(x)
    x = load_dataset(tm.DATA, seeds[0]).x_train[:n_cirq]
    closed = closed_form_kernel(x, x)
    cirq_dev = float(np.abs(quantum_kernel(x, method="cirq") - closed).max())
    states = cirq_states(x, layers=3, seed=0)
    ansatz_dev = float(np.abs(fidelity(states, states) - closed).max())
    return KernelIdentity(tfq_dev, cirq_dev, ansatz_dev, len(seeds), n_points, len(x))


def alignment_rows(quick: bool = False) -> pd.DataFrame:
    """Kernel-target alignment (plain and centred) per evaluation seed on its training split (the angles
    in [0, pi] the router sees): the quantum kernel as is (``kernel`` "quantum", gamma NaN), the quantum
    kernel with bandwidth b (inputs x 2 sqrt(b), "quantum_bandwidth") and RBF kernels ("rbf") over the
    same grid of b = gamma, and the gamma of the RBF kernel nearest to the quantum kernel (Frobenius norm)."""
    from sklearn.metrics.pairwise import rbf_kernel

    from qmoe_tfq.models.kernels import bandwidth_scale, kernel_alignment, nearest_rbf_gamma, quantum_kernel

    out = []
    for seed in budget(quick).eval_seeds:
        d = load_dataset(tm.DATA, seed)
        kq = quantum_kernel(d.x_train, method="closed_form")  # float64, the same bits on every machine
        nearest = nearest_rbf_gamma(kq, d.x_train)
        kernels = [("quantum", np.nan, kq)] + [("rbf", g, rbf_kernel(d.x_train, gamma=g)) for g in size(quick).gammas]
        kernels += [
            ("quantum_bandwidth", g, quantum_kernel(bandwidth_scale(g) * d.x_train, method="closed_form"))
            for g in size(quick).gammas
        ]
        for kind, gamma, k in kernels:
            out.append(
                {
                    "seed": seed,
                    "kernel": kind,
                    "gamma": gamma,
                    "alignment": kernel_alignment(k, d.y_train),
                    "centered_alignment": kernel_alignment(k, d.y_train, centered=True),
                    "nearest_rbf_gamma": nearest if kind == "quantum" else np.nan,
                }
            )
    return pd.DataFrame(out)


def function_class_table(quick: bool = False) -> pd.DataFrame:
    """Least-squares fits of random circuits' readouts on phi(x) and on the additive features, per
    qubit count, depth, readout and ansatz (cirq, complex128)."""
    from qmoe_tfq.models.fourier_features import readout_fit

    rows = [
        dataclasses.asdict(readout_fit(n, layers, readout, ansatz, seed=0))
        for n in size(quick).function_class_qubits
        for layers in (1, 3)
        for readout in ("expectation", "probabilities")
        for ansatz in ("strongly_entangling", "strongly_entangling_no_cnot")
    ]
    df = pd.DataFrame(rows)
    df.insert(4, "n_features_phi", 3 ** df["n_qubits"])
    return df


@dataclass
class Results:
    """Everything the study ran or computed. The kernel and function-class checks (``alignment``,
    ``identity``, ``function_class``) are computed on first use, once: ``make paper`` reads every study
    for its runs alone before the notebooks start, and there they had kept one core busy for 16 s
    (the TFQ and cirq simulations) while the other waited."""

    tuned: TunedResults
    restarts: pd.DataFrame
    gates: pd.DataFrame
    quick: bool
    gate_seeds: dict[str, dict] = dataclasses.field(default_factory=dict)
    variants: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    variant_chosen: dict[str, dict] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def alignment(self) -> pd.DataFrame:
        """Kernel-target alignment per evaluation seed (``alignment_rows``)."""
        return alignment_rows(self.quick)

    @functools.cached_property
    def identity(self) -> KernelIdentity:
        """The kernel's closed form checked against TFQ and cirq states (``kernel_identity``)."""
        return kernel_identity(self.quick)

    @functools.cached_property
    def function_class(self) -> pd.DataFrame:
        """Random circuits' readouts fitted on phi(x) (``function_class_table``)."""
        return function_class_table(self.quick)

    @property
    def rows(self) -> pd.DataFrame:
        """The tuned evaluation rows (``mech/<id>``)."""
        return self.tuned.evaluation

    @property
    def sources(self) -> pd.DataFrame:
        """Every row the study's outputs rest on: tuning, evaluation, restart, gate-map and multiverse runs."""
        return R.concat([self.tuned.sources, self.restarts, self.gates, self.variants])

    @property
    def chosen(self) -> dict[str, dict]:
        """The tuned parameters by evaluation name, the gate-map seeds by gate-map name and the SVMs'
        accuracy-selected parameters (``svm_choices``): what ``experiments`` needs to replan every run (the
        manifest records it)."""
        return {**self.tuned.chosen, **self.gate_seeds, **self.variant_chosen}


def results(run, quick: bool = False) -> Results:
    """Run (or read from the cache) every run of the mechanism (C8) study.

    Run (or read from the cache) every run of the study; the kernel and function-class checks are
    computed when first read (``Results``). ``run(experiments, desc)`` is the runner.

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
    tuned = run_tuned(candidates(), budget(quick), run, tm.PROBES, desc="mechanism")
    seeds = gate_map_seeds(tuned.evaluation, quick)  # after the evaluation: the gate maps' seeds come from it
    by_accuracy = svm_choices(quick).accuracy_chosen(tuned)
    extra = run(
        restart_experiments(tuned.chosen, quick)
        + gate_map_experiments({**tuned.chosen, **seeds}, quick)
        + svm_choices(quick).experiments(by_accuracy),
        "mechanism: restarts, gate maps, C8's multiverse runs",
    )
    is_gate = extra["experiment"].str.startswith(f"{PREFIX}gates/")
    is_variant = extra["experiment"].isin([svm_choices(quick).accuracy_name(m) for m in KERNEL_SVM_IDS])
    restarts, gates, variants = (extra[m].reset_index(drop=True) for m in (~is_gate & ~is_variant, is_gate, is_variant))
    return Results(tuned, restarts, gates, quick, seeds, variants, by_accuracy)


# ------------------------------------------------------------------------------------------ tables


def good(values) -> np.ndarray:
    """1 where a run reached a good solution (held-out accuracy >= ``GOOD_ACCURACY``), else 0."""
    return (np.asarray(values, dtype=float) >= GOOD_ACCURACY - 1e-12).astype(int)


def comparison_table(res: Results) -> pd.DataFrame:
    """One row per model: role, chosen configuration, parameters, held-out test accuracy with its BCa 95% CI,
    seeds reaching a good solution, collapsed routers, runs at the experts-only floor, and paired tests
    against the quantum router."""
    rows = res.rows
    out = []
    for c in candidates():
        n = name(c.id, res.quick)
        g = R.runs(rows, n)
        out.append(
            {
                "model": c.label,
                "model_id": c.id,
                "role": c.tags[0][1],
                "family": c.family,
                **tuned_columns(res.tuned.selections[c.id]),
                "router_params": R.count(g["router_params"].iloc[0]),
                "total_params": int(g["total_params"].iloc[0]),
                **R.accuracy_columns(g["test_accuracy"], interval="bca"),
                "n_good": int(good(g["test_accuracy"]).sum()),
                "n_collapsed": R.collapse_count(rows, n),
                "n_at_floor": R.floor_count(rows, n, name("constant", res.quick)),
                **R.comparison_columns(rows, name("quantum", res.quick), n),
                "train_seconds_mean": float(g["train_seconds"].mean()),
            }
        )
    return pd.DataFrame(out).astype({"router_params": "Int64", "n_collapsed": "Int64"})


RESTART_COLUMNS = (
    "seed",
    "restart",
    "best_validation",
    "validation_loss",
    "test_accuracy",
    "n_correct",
    "n_test",
    "train_seconds",
)


def restart_frame(res: Results, model_id: str) -> pd.DataFrame:
    """Per seed and restart r: best validation accuracy, validation loss at the kept epoch (NaN where not
    recorded), test accuracy, correct test points, seconds."""
    names = [restart_name(model_id, r) for r in range(1, size(res.quick).restarts)]
    return R.restart_frame(res.rows, res.restarts, name(model_id, res.quick), names)[list(RESTART_COLUMNS)]


def _restart_choices(res: Results) -> dict[str, dict[int, pd.DataFrame]]:
    """``best_of_restarts`` of every router with restarts, for k = 1 .. ``restarts``."""
    s = size(res.quick)
    return {m: {k: best_of_restarts(restart_frame(res, m), k) for k in range(1, s.restarts + 1)} for m in s.restart_ids}


def trainability_table(res: Results) -> pd.DataFrame:
    """Per router with restarts and per k: held-out accuracy of the restart chosen on ``restart_score``,
    seeds reaching a good solution, validation-accuracy quantiles, the epoch budget per seed, and the
    paired difference to the quantum router at the same k. k = 1 is the primary protocol; k > 1 is
    secondary, every router at the same k (restarts at parity)."""
    s, b = size(res.quick), budget(res.quick)
    chosen = _restart_choices(res)
    out = []
    for m in s.restart_ids:
        for k in range(1, s.restarts + 1):
            c, q = chosen[m][k], chosen["quantum"][k]
            acc = c["test_accuracy"]
            v = c["best_validation"].to_numpy()
            row = {
                "model_id": m,
                "model": candidate(m).label,
                "restarts_k": k,
                "role": "primary (one run per seed)" if k == 1 else "secondary (best of k, every family)",
                "selected_on": " / ".join(sorted(set(c["selected_on"]))),
                "max_epochs_per_seed": k * b.max_epochs,
                **R.accuracy_columns(acc, interval="bca"),
                "n_good": int(good(acc).sum()),
                "val_acc_min": v.min(),
                "val_acc_q25": np.quantile(v, 0.25),
                "val_acc_median": np.median(v),
                "val_acc_q75": np.quantile(v, 0.75),
                "val_acc_max": v.max(),
                "train_seconds_per_seed": float(c["seconds_k"].mean()),
            }
            if m != "quantum":
                qa, ma = q["test_accuracy"].to_numpy(), acc.to_numpy()
                row.update(
                    {
                        "delta_vs_quantum": float(np.mean(qa - ma)),
                        "p_quantum_better": paired_wilcoxon(qa, ma, "greater"),
                        "p_quantum_worse": paired_wilcoxon(qa, ma, "less"),
                    }
                )
            out.append(row)
    return pd.DataFrame(out)


def restart_table(res: Results) -> pd.DataFrame:
    """Restarts at parity, one row per mixture family member with restarts: k = 1 (PRIMARY: one training
    run per seed, the paper's protocol) and k = ``restarts`` (SECONDARY: the best of k random restarts
    chosen on ``restart_score``, the same k for every router) side by side: held-out accuracy (mean,
    BCa 95% CI), seeds reaching a good solution, the gap to the quantum router at the same k, what the
    restarts change (mean paired gain over seeds, seeds whose kept restart is not the first run), and the
    epochs per seed it costs."""
    s, b = size(res.quick), budget(res.quick)
    chosen = _restart_choices(res)
    k = s.restarts
    out = []
    for m in s.restart_ids:
        one, best = chosen[m][1], chosen[m][k]
        row = {"model_id": m, "model": candidate(m).label, "family": candidate(m).family}
        for kk, c in ((1, one), (k, best)):
            row.update(R.accuracy_columns(c["test_accuracy"], prefix=f"k{kk}_test_acc", interval="bca"))
            row[f"k{kk}_n_good"] = int(good(c["test_accuracy"]).sum())
            q = chosen["quantum"][kk]["test_accuracy"].to_numpy()
            row[f"k{kk}_delta_vs_quantum"] = (
                float(np.mean(q - c["test_accuracy"].to_numpy())) if m != "quantum" else np.nan
            )
        gain = best["test_accuracy"] - one["test_accuracy"].loc[best.index]
        row.update(
            {
                f"gain_k{k}_minus_k1": float(gain.mean()),
                "n_seeds_restart_kept": int((best["restart"] > 0).sum()),
                "selected_on": " / ".join(sorted(set(best["selected_on"]))),
                f"k{k}_max_epochs_per_seed": k * b.max_epochs,
            }
        )
        out.append(row)
    return pd.DataFrame(out)


def routing_table(res: Results) -> pd.DataFrame:
    """Per router: how it splits the held-out points (``GateSummary``, over the evaluation seeds): the
    share routed to its busiest expert, mean gate entropy (nats; ln E is uniform gates), gate spread,
    collapsed seeds; and on the gate-map seed (the router's median-accuracy seed) the share of the input
    plane each expert wins."""
    out = []
    for m in ROUTER_IDS + ("constant",):
        g = R.runs(res.rows, name(m, res.quick))
        loads = np.array(g["expert_load"].tolist())
        ent = t_interval(g["gate_entropy"], bounds=(0.0, float(np.log(loads.shape[1]))))
        row = {
            "model_id": m,
            "model": candidate(m).label,
            "n_experts": loads.shape[1],
            "busiest_expert_load_mean": float(loads.max(axis=1).mean()),
            "gate_entropy_mean": ent.mean,
            "gate_entropy_ci_low": ent.low,
            "gate_entropy_ci_high": ent.high,
            "max_entropy": float(np.log(loads.shape[1])),
            "gate_spread_mean": float(g["gate_spread"].mean()),
            "n_collapsed": R.collapse_count(res.rows, name(m, res.quick)),
            "n_seeds": len(g),
        }
        if m in size(res.quick).gate_map_ids:
            gm = gate_map(res, m)
            wins = np.bincount(gm.argmax(-1).ravel(), minlength=gm.shape[-1]) / gm[..., 0].size
            row["gate_map_seed"] = gate_map_seed(res, m)
            row["plane_share_by_expert"] = " / ".join(f"{w:.2f}" for w in sorted(wins, reverse=True))
        out.append(row)
    return pd.DataFrame(out)


def tuning_convergence_table(res: Results) -> pd.DataFrame:
    """Did the shared Two Moons budget suffice for each mixture's chosen configuration
    (``_results.convergence_table`` over the tuning seeds)?"""
    return R.convergence_table(res.tuned, [(candidates(), budget(res.quick))])


def gate_map(res: Results, model_id: str) -> np.ndarray:
    """The (size, size, E) gates of ``model_id``'s gate-map run."""
    from qmoe_tfq.experiments.probes import decode_gate_map

    row = R.runs(res.gates, gate_map_name(model_id)).iloc[0]
    return decode_gate_map(row["gate_map"], int(row["gate_map_experts"]))


def gate_map_seed(res: Results, model_id: str) -> int:
    """The evaluation seed ``model_id``'s gate-map run drew (its median-accuracy seed)."""
    return int(R.runs(res.gates, gate_map_name(model_id))["seed"].iloc[0])


def gate_map_seed_note(res: Results, model_id: str) -> str:
    """``"seed 7, median of 20"`` for ``model_id``'s gate-map panel."""
    return R.seed_note(res.rows, name(model_id, res.quick), gate_map_seed(res, model_id))


def alignment_table(res: Results) -> pd.DataFrame:
    """Per kernel (the quantum kernel as is, with bandwidth b at each value of the grid, RBF at each gamma of
    the same grid): mean and 95% CI over seeds of the plain and centred kernel-target alignment; for the
    quantum kernel as is, the nearest RBF gamma. ``kernel_kind``: quantum / quantum_bandwidth / rbf."""
    labels = {
        "quantum": lambda g: "quantum: prod cos^2((x - x')/2)",
        "quantum_bandwidth": lambda g: f"quantum, bandwidth b={g:.3g}: prod cos^2(sqrt(b)(x - x'))",
        "rbf": lambda g: f"RBF gamma={g:.3g}",
    }
    out = []
    for (kind, gamma), g in res.alignment.groupby(["kernel", "gamma"], dropna=False, sort=False):
        a, c = t_interval(g["alignment"]), t_interval(g["centered_alignment"])
        out.append(
            {
                "kernel": labels[kind](gamma),
                "kernel_kind": kind,
                "gamma": gamma,
                "alignment_mean": a.mean,
                "alignment_ci_low": a.low,
                "alignment_ci_high": a.high,
                "centered_alignment_mean": c.mean,
                "centered_ci_low": c.low,
                "centered_ci_high": c.high,
                "nearest_rbf_gamma_mean": float(g["nearest_rbf_gamma"].mean()) if kind == "quantum" else np.nan,
                "n_seeds": a.n,
            }
        )
    return pd.DataFrame(out)


def runs_table(res: Results) -> pd.DataFrame:
    """Per-seed rows of the evaluation and restart runs without the bulky columns."""
    rows = R.concat([res.rows, res.restarts])
    bulky = ("epoch_losses", "grid_predictions", "key", "validation_curve", "validation_loss_curve", "gate_map")
    drop = [c for c in bulky if c in rows.columns]
    return rows.drop(columns=drop)


__all__ = [
    "FULL",
    "GOOD_ACCURACY",
    "KERNEL_SVM_IDS",
    "KernelIdentity",
    "PREFIX",
    "QUICK",
    "ROUTER_IDS",
    "Results",
    "alignment_rows",
    "alignment_table",
    "best_of_restarts",
    "budget",
    "candidates",
    "comparison_table",
    "experiments",
    "function_class_table",
    "gate_map",
    "gate_map_experiments",
    "gate_map_seed",
    "gate_map_seed_note",
    "gate_map_seeds",
    "svm_choices",
    "good",
    "kept_validation_loss",
    "kernel_identity",
    "name",
    "restart_experiments",
    "restart_frame",
    "restart_score",
    "restart_table",
    "results",
    "routing_table",
    "runs_table",
    "size",
    "trainability_table",
    "tuning_convergence_table",
]

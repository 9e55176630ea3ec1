"""Stage: studies. Studies: the experiment grids behind each part of the paper, and their summaries.

Each study module defines ``experiments(quick)`` (its statically planned ``Experiment`` configs: the
tuning runs and fixed-budget runs; the tuned evaluation runs follow from the tuning results),
``results(run, quick)`` (runs or reads everything through the runner ``run(experiments, desc)``, in
stages where one depends on another) and functions that turn the results into tables and figures;
its claims module turns them into ledger entries with ``claims(results)``. ``STUDIES`` lists them
for ``make paper`` (which runs every study with a progress bar first) and the ledger notebook.
"""

from __future__ import annotations

import importlib

STUDIES: dict[str, str] = {
    "two_moons": "qmoe_tfq.studies.two_moons",
    "efficiency": "qmoe_tfq.studies.efficiency",
    "scaling": "qmoe_tfq.studies.scaling",
    "noise": "qmoe_tfq.studies.noise_study",
    "mechanism": "qmoe_tfq.studies.mechanism",
    "phase1": "qmoe_tfq.studies.phase1",
    "device_noise": "qmoe_tfq.studies.device_noise",  # open question 1 (issue #22)
    "high_dim": "qmoe_tfq.studies.high_dim",  # open questions 2 and 4 (issue #23)
}
CLAIMS: dict[str, str] = {
    "two_moons": "qmoe_tfq.studies.two_moons_claims",
    "efficiency": "qmoe_tfq.studies.efficiency_claims",
    "scaling": "qmoe_tfq.studies.scaling_claims",
    "noise": "qmoe_tfq.studies.noise_claims",
    "mechanism": "qmoe_tfq.studies.mechanism_claims",
    "phase1": "qmoe_tfq.studies.phase1_claims",
    "device_noise": "qmoe_tfq.studies.device_noise_claims",  # Q1
    "high_dim": "qmoe_tfq.studies.high_dim_claims",  # Q2, Q4
}


def study(name: str):
    """The module of study ``name`` (a key of ``STUDIES``).

    Examples
    --------
    >>> from qmoe_tfq.studies import STUDIES, study
    >>> list(STUDIES)
    ['two_moons', 'efficiency', 'scaling', 'noise', 'mechanism', 'phase1', 'device_noise', 'high_dim']
    >>> study("noise").__name__
    'qmoe_tfq.studies.noise_study'
    """
    return importlib.import_module(STUDIES[name])


def study_experiments(name: str, quick: bool, chosen: dict[str, dict] | None = None) -> list:
    """The planned experiments of study ``name``: its tuning and fixed-budget runs, and the tuned
    evaluation runs that ``chosen`` (parameters by evaluation name, ``Results.chosen``) implies.

    Parameters
    ----------
    name : str
        A key of ``STUDIES``.
    quick : bool
        Smoke-test size (``make paper QUICK=1``) instead of the paper's.
    chosen : dict or None, default None
        The tuned parameters by evaluation name; None plans only what does not depend on tuning.

    Returns
    -------
    list of Experiment

    Examples
    --------
    >>> from qmoe_tfq.studies import study_experiments
    >>> [e.name for e in study_experiments("noise", quick=True)]
    ['n3/0.2', 'n3/constant', 'glorot/n3/0.2']
    """
    return study(name).experiments(quick, chosen)


def study_results(name: str, settings, pool=None):
    """Every run of study ``name`` (cached runs are read, not rerun) at the settings' size, jobs and cache.

    Parameters
    ----------
    name : str
        A key of ``STUDIES``.
    settings : object
        With attributes ``quick`` (bool), ``jobs`` (int) and ``cache_dir`` (path or None), as the
        paper driver's ``PaperSettings``.
    pool : SharedPool or None, default None
        Worker processes shared with studies running at the same time (``experiments.pool``);
        ``settings.jobs`` is then unused.

    Returns
    -------
    Results
        The study module's ``Results`` (its rows, tables' inputs and ``chosen`` parameters).

    Examples
    --------
    Running a whole study takes minutes even at QUICK size, so this example is not run here:

    >>> from types import SimpleNamespace
    >>> from qmoe_tfq.studies import study_results
    >>> settings = SimpleNamespace(quick=True, jobs=2, cache_dir=None)  # None: .cache/runs
    >>> res = study_results("two_moons", settings)  # doctest: +SKIP
    >>> res.rows.groupby("experiment")["test_accuracy"].mean()  # doctest: +SKIP
    """
    from qmoe_tfq.experiments.runner import runner

    return study(name).results(runner(settings.jobs, settings.cache_dir, pool=pool), settings.quick)


def ledger_entries(settings) -> list:
    """Ledger entries of every study, computed from its (cached) runs.

    Parameters
    ----------
    settings : object
        As in ``study_results``.

    Returns
    -------
    list of Entry
        One ``qmoe_tfq.analysis.ledger.Entry`` per claim, in ledger order.
    """
    return ledger_inputs(settings)[0]


def ledger_inputs(settings) -> tuple[list, list[str]]:
    """Ledger entries of every study (as ``ledger_entries``) and the config hashes of the runs they
    were computed from (the sources of the ledger's own figures)."""
    entries, keys = [], set()
    for name, module in CLAIMS.items():
        results = study_results(name, settings)
        entries += importlib.import_module(module).claims(results)
        sources = getattr(results, "sources", None)
        if sources is not None and "key" in getattr(sources, "columns", ()):
            keys.update(str(k) for k in sources["key"])
    return entries, sorted(keys)


__all__ = ["STUDIES", "CLAIMS", "ledger_entries", "ledger_inputs", "study", "study_experiments", "study_results"]

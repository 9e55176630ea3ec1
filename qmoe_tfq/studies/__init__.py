"""Studies: the experiment grids behind each part of the paper, and their summaries.

Each study module defines ``experiments(quick)`` (plain ``Experiment`` configs) and functions that
turn the runner's per-seed rows into tables; its claims module turns them into ledger entries.
``STUDIES`` lists them for ``make paper`` (which warms the cache with a progress bar first) and the
ledger notebook.
"""

from __future__ import annotations

STUDIES: dict[str, str] = {
    "two_moons": "qmoe_tfq.studies.two_moons",
    "efficiency": "qmoe_tfq.studies.efficiency",
    "scaling": "qmoe_tfq.studies.scaling",
    "noise": "qmoe_tfq.studies.noise_study",
}
CLAIMS: dict[str, str] = {
    "two_moons": "qmoe_tfq.studies.two_moons_claims",
    "efficiency": "qmoe_tfq.studies.efficiency_claims",
    "scaling": "qmoe_tfq.studies.scaling_claims",
    "noise": "qmoe_tfq.studies.noise_claims",
}

def study_experiments(name: str, quick: bool) -> list:
    """The experiments of study ``name``."""
    import importlib

    return importlib.import_module(STUDIES[name]).experiments(quick)

def ledger_entries(settings) -> list:
    """Ledger entries of every study, computed from its (cached) runs."""
    import importlib

    from qmoe_tfq.runner import run_experiments

    entries = []
    for name, module in CLAIMS.items():
        rows = run_experiments(study_experiments(name, settings.quick), jobs=settings.jobs,
                               cache_dir=settings.cache_dir, desc=name)
        entries += importlib.import_module(module).claims(rows, settings.quick)
    return entries

__all__ = ["STUDIES", "CLAIMS", "study_experiments", "ledger_entries"]

"""What ``make paper`` spends its time on, above the single epoch: the runner's per-run overhead,
stacked against one-by-one training, and one run of each study's most expensive configuration.

Each benchmark builds its experiments in ``setup`` and times ``run_experiments`` into a fresh,
empty cache (so nothing is read back), one local process (``jobs=1``), one thread.
"""

from __future__ import annotations

import shutil
import tempfile

from ._common import QUICK, grid, tensorflow


def _run(experiments) -> None:
    from qmoe_tfq.experiments.runner import run_experiments

    cache = tempfile.mkdtemp(prefix="qmoe-bench-")
    try:
        run_experiments(experiments, jobs=1, cache_dir=cache, progress=False)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


class RunnerOverhead:
    """``runs`` runs of the linear router (Model A, Two Moons, 2 epochs): ``stacked`` (the runner's
    default: one stacked fit for all) against ``one_by_one`` (each run trained and measured alone,
    as before stacking). The difference is the fixed per-run cost stacking removes."""

    params = [grid([8, 32], [8]), ["stacked", "one_by_one"]]
    param_names = ["runs", "mode"]
    timeout = 600

    def setup(self, runs, mode):
        tensorflow()
        from qmoe_tfq.data import DataSpec
        from qmoe_tfq.experiments.experiment import Experiment
        from qmoe_tfq.experiments.registry import qmoe

        spec = qmoe(router="linear", max_epochs=2)
        if mode == "stacked":
            self.batches = [[Experiment("o", spec, DataSpec(), "fair", tuple(range(runs)))]]
        else:
            self.batches = [[Experiment(f"o{s}", spec, DataSpec(), "fair", (s,))] for s in range(runs)]
        import qmoe_tfq.experiments.runner as runner

        self._max_job = runner.MAX_JOB
        runner.MAX_JOB = runs if mode == "stacked" else 1
        _run(self.batches[0][:1] if mode == "stacked" else self.batches[0])  # trace once: steady state

    def teardown(self, runs, mode):
        import qmoe_tfq.experiments.runner as runner

        runner.MAX_JOB = self._max_job

    def time_runs(self, runs, mode):
        for batch in self.batches:
            _run(batch)


class StudyRun:
    """One evaluation run (seed 0) of the most expensive configuration of each study, at full size:
    ``two_moons`` (quantum router L=3, 100 epochs, early stopping), ``scaling`` (quantum router on
    8 PCA features of digits-10, 50 epochs), ``noise`` (quantum router trained under every-gate
    depolarizing noise eps = 0.02, 100 epochs), ``phase1`` (the authors' QMoE, 3 quantum experts of
    4 qubits, on MNIST 0 vs 1 at 4x4 under the tuned protocol, 30 epochs). QUICK passes run 5 epochs."""

    params = [grid(["two_moons", "scaling", "noise", "phase1"], ["two_moons"])]
    param_names = ["study"]
    timeout = 1800
    number = 1
    repeat = 1

    def setup(self, study):
        tensorflow()
        from qmoe_tfq.data import DataSpec
        from qmoe_tfq.experiments.experiment import Experiment
        from qmoe_tfq.experiments.registry import qmoe

        training = {
            "max_epochs": 5 if QUICK else 100,  # QUICK: a smoke run of the same path
            "early_stopping": True,
            "validation_fraction": 0.2,
            "n_iter_no_change": None,
            "lr": 0.03,
        }
        if study == "two_moons":
            spec, data = qmoe(router="quantum", layers=3, **training), DataSpec()
        elif study == "scaling":
            spec = qmoe(router="quantum", layers=3, n_experts=2, **{**training, "max_epochs": 5 if QUICK else 50})
            data = DataSpec(name="digits-10", n_samples=None, pca=8)
        elif study == "noise":
            spec = qmoe(router="quantum", layers=3, noise=0.02, noise_placement="every_gate", **training)
            data = DataSpec()
        else:
            from qmoe_tfq.experiments.registry import phase1
            from qmoe_tfq.studies.phase1 import FULL, data_spec

            spec = phase1("qmoe", **{**training, "max_epochs": FULL.max_epochs, "lr": 0.03})
            data = data_spec("mnist", FULL)
        self.experiment = Experiment(study, spec, data, "fair", (0,))

    def time_run(self, study):
        _run([self.experiment])

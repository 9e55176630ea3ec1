"""A stand-in for the runner that trains nothing: rows with the runner's columns, their numbers drawn
from ``accuracy(experiment_name, seed)``, so a study's planning, tables, figures and ledger entry can
be tested in milliseconds on constructed results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


class FakeRunner:
    """``run(experiments, desc)`` returning one row per (experiment, seed); every call is recorded in
    ``calls`` (the experiments it got). Test accuracy of a fair run is ``accuracy(name, seed)``
    rounded to k/n of ``n_test``; a tuning run's validation count is ``tuning(name, seed)`` of 50 and
    its ``validation_log_loss`` ``loss(name, seed)`` (default: falls as the count rises, so the most
    correct points also score best)."""

    def __init__(self, accuracy, tuning=None, n_test: int = 60, loss=None) -> None:
        self.accuracy = accuracy
        self.tuning = tuning or (lambda name, seed: 25 + int(name.rsplit("/", 1)[-1]) if name[-1].isdigit() else 25)
        self.loss = loss or (lambda name, seed: 0.05 + (50 - int(self.tuning(name, seed))) / 50)
        self.n_test = n_test
        self.calls: list[list] = []

    def __call__(self, experiments, desc: str = "runs") -> pd.DataFrame:
        experiments = list(experiments)
        self.calls.append(experiments)
        rows = []
        for exp in experiments:
            counts = exp.model.get("max_epochs", None)
            for seed in exp.seeds:
                row = {
                    "experiment": exp.name,
                    "protocol": exp.protocol,
                    "seed": seed,
                    "key": f"{exp.name}#{seed}",
                    **exp.tag_dict,
                    "train_accuracy": 0.9,
                    "router_params": 10,
                    "expert_params": 12,
                    "total_params": 32,
                    "train_seconds": 1.0 + seed,
                    "seconds_per_epoch": 0.1,
                    "n_epochs": counts,
                    "epoch_losses": [0.5],
                    "validation_curve": None,
                    "collapsed": False,
                    "n_validation_correct": None,
                    "n_validation": None,
                    "validation_accuracy": None,
                    "n_correct": None,
                    "n_test": 0,
                    "test_accuracy": math.nan,
                }
                if exp.protocol == "tuning":
                    correct = int(self.tuning(exp.name, seed))
                    row.update(
                        {
                            "n_validation_correct": correct,
                            "n_validation": 50,
                            "validation_accuracy": correct / 50,
                            "validation_log_loss": float(self.loss(exp.name, seed)),
                        }
                    )
                else:
                    k = int(np.clip(round(self.accuracy(exp.name, seed) * self.n_test), 0, self.n_test))
                    row.update({"n_correct": k, "n_test": self.n_test, "test_accuracy": k / self.n_test})
                rows.append(row)
        return pd.DataFrame(rows)

    @property
    def names(self) -> list[str]:
        """Every experiment name the runner was asked for."""
        return [e.name for call in self.calls for e in call]

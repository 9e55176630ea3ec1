"""Stage: experiments. The ``DeviceSweep`` probe: a trained quantum router deployed on real processors' calibrated noise.

Listed in an experiment's ``probes`` like those of ``experiments.probes`` (its fields and class name
enter the run's cache key); it calls ``qmoe_tfq.models.device_eval.evaluate_on_devices`` on the
held-out split and adds its keys (``device_eval``, ``device_compiled``) to the run's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qmoe_tfq.core.errors import ConfigError, check_choice, check_positive_int, check_probability
from qmoe_tfq.data import Dataset
from qmoe_tfq.estimators import QMoEClassifier
from qmoe_tfq.experiments.probes import _qmoe
from qmoe_tfq.specs.config import NOISE_PLACEMENTS

PROCESSORS = ("rainbow", "weber")  # circuits.device.PROCESSORS (kept here so no cirq_google import at plan time)


def _tuple(name: str, value, allow_empty: bool = False) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or (not value and not allow_empty):
        raise ConfigError(f"DeviceSweep {name} must be a {'' if allow_empty else 'non-empty '}tuple, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class DeviceSweep:
    """Deploy on ``processors`` (exact with readout error, mitigated, and from ``shots`` per input,
    ``draws`` seeded draws each) and, with the abstract depolarizing model at each eps of ``noise``
    and placement of ``placements``, the same shot estimates; ``check_points`` test inputs for the
    compiled-equals-abstract check. Seeds of the shot draws derive from the run's seed."""

    processors: tuple[str, ...] = PROCESSORS
    shots: tuple[int, ...] = (10, 100, 1000, 10000)
    draws: int = 5
    noise: tuple[float, ...] = ()
    placements: tuple[str, ...] = ("every_gate",)
    check_points: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "processors", _tuple("processors", self.processors))
        object.__setattr__(self, "shots", tuple(int(s) for s in _tuple("shots", self.shots, allow_empty=True)))
        object.__setattr__(self, "noise", tuple(float(e) for e in _tuple("noise", self.noise, allow_empty=True)))
        object.__setattr__(self, "placements", _tuple("placements", self.placements))
        for p in self.processors:
            check_choice("processor", p, PROCESSORS)
        for s in self.shots:
            check_positive_int("shots", s)
        for e in self.noise:
            check_probability("noise", e)
        for p in self.placements:
            check_choice("noise placement", p, NOISE_PLACEMENTS)
        check_positive_int("draws", self.draws)
        check_positive_int("check_points", self.check_points)

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if not isinstance(est, QMoEClassifier) or est.router != "quantum":
            raise ConfigError("DeviceSweep applies to quantum routers only (classical routers run noiselessly)")
        from qmoe_tfq.models.device_eval import evaluate_on_devices

        if not len(data.x_test):
            raise ConfigError("DeviceSweep needs a held-out split")
        return evaluate_on_devices(
            est.model_,
            est.scale_inputs(data.x_test),
            np.searchsorted(est.classes_, data.y_test),
            self.processors,
            self.shots,
            self.draws,
            _data_seed(self.seed, data),
            self.noise,
            self.placements,
            self.check_points,
        )


def _data_seed(seed: int, data: Dataset) -> int:
    """A seed for the shot draws of one run: ``seed`` mixed with a hash of its held-out split (the
    probe does not see the run's seed; each seed draws its own split)."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(data.x_test, dtype=np.float64).tobytes()).digest()
    return int(seed) * 2**32 + int.from_bytes(digest[:4], "little")


__all__ = ["PROCESSORS", "DeviceSweep"]

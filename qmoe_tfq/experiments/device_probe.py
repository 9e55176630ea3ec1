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
    compiled-equals-abstract check; on the first ``tfq_points`` test inputs (0: none) the TFQ
    trajectories check with ``tfq_repetitions`` trajectories (``device_eval.tfq_check``). Seeds of
    the shot draws derive from the run's seed."""

    processors: tuple[str, ...] = PROCESSORS
    shots: tuple[int, ...] = (10, 100, 1000, 10000)
    draws: int = 5
    noise: tuple[float, ...] = ()
    placements: tuple[str, ...] = ("every_gate",)
    check_points: int = 2
    seed: int = 0
    tfq_points: int = 0
    tfq_repetitions: int = 5000

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
        check_positive_int("tfq_repetitions", self.tfq_repetitions)
        if self.tfq_points < 0:
            raise ConfigError(f"DeviceSweep tfq_points must be >= 0, got {self.tfq_points!r}")

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
            self.tfq_points,
            self.tfq_repetitions,
        )


@dataclass(frozen=True)
class MixtureDeviceSweep:
    """Deploy every circuit of a trained mixture (a quantum or amplitude router, the Phase 1 quantum experts,
    or both: the fully quantum mixture) on ``processors`` at once, exactly, with and without the calibrated
    readout error (``qmoe_tfq.models.mixture_device``); adds ``mixture_device_eval`` (held-out accuracy per
    processor and setting, the noiseless model's too) and ``mixture_device_compiled`` (per circuit) to the
    run's result. ``dm_check``: also check the router's and first expert's noisy readouts at the first test
    input against ``cirq.DensityMatrixSimulator`` (``dm_check_deviation``)."""

    processors: tuple[str, ...] = PROCESSORS
    dm_check: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "processors", _tuple("processors", self.processors))
        for p in self.processors:
            check_choice("processor", p, PROCESSORS)
        if not isinstance(self.dm_check, bool):
            raise ConfigError(f"MixtureDeviceSweep dm_check must be True or False, got {self.dm_check!r}")

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if est is None:
            raise ConfigError("MixtureDeviceSweep applies to mixtures of experts (QMoEClassifier, Phase1Classifier)")
        if not len(data.x_test):
            raise ConfigError("MixtureDeviceSweep needs a held-out split")
        from qmoe_tfq.models.mixture_device import evaluate_mixture_on_devices

        return evaluate_mixture_on_devices(
            est.model_,
            est.scale_inputs(data.x_test),
            np.searchsorted(est.classes_, data.y_test),
            self.processors,
            self.dm_check,
        )


@dataclass(frozen=True)
class DeviceFineTune:
    """Fine-tune the trained quantum router under ``processor``'s calibrated noise
    (``qmoe_tfq.models.device_train.fine_tune_on_device``: native single-qubit angles and adapter,
    ``epochs`` epochs of Adam at ``learning_rate``, epoch kept by validation loss) on the run's own
    training split, with the same validation split the estimator carved (its early stopping), and
    read the held-out split; adds ``device_fine_tune`` (one record) to the run's result."""

    processor: str = "rainbow"
    epochs: int = 10
    learning_rate: float = 0.01
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_choice("processor", self.processor, PROCESSORS)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        if not self.learning_rate > 0:
            raise ConfigError(f"DeviceFineTune learning_rate must be positive, got {self.learning_rate!r}")

    def __call__(self, estimator, data: Dataset) -> dict:
        est = _qmoe(estimator)
        if not isinstance(est, QMoEClassifier) or est.router != "quantum":
            raise ConfigError("DeviceFineTune applies to quantum routers only")
        if not est.early_stopping or not len(data.x_test):
            raise ConfigError(
                "DeviceFineTune needs the estimator's validation split (early_stopping) and a held-out split"
            )
        from qmoe_tfq.estimators import seed_of, validation_split
        from qmoe_tfq.models.device_train import fine_tune_on_device

        seed = seed_of(est.random_state)
        y = np.searchsorted(est.classes_, data.y_train)
        x_fit, x_val, y_fit, y_val = validation_split(data.x_train, y, est.validation_fraction, seed)
        record = fine_tune_on_device(
            est.model_,
            self.processor,
            (est.scale_inputs(x_fit), y_fit),
            (est.scale_inputs(x_val), y_val),
            (est.scale_inputs(data.x_test), np.searchsorted(est.classes_, data.y_test)),
            self.epochs,
            self.learning_rate,
            self.batch_size,
            seed,
        )
        return {"device_fine_tune": [record]}


def _data_seed(seed: int, data: Dataset) -> int:
    """A seed for the shot draws of one run: ``seed`` mixed with a hash of its held-out split (the
    probe does not see the run's seed; each seed draws its own split)."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(data.x_test, dtype=np.float64).tobytes()).digest()
    return int(seed) * 2**32 + int.from_bytes(digest[:4], "little")


__all__ = ["PROCESSORS", "DeviceFineTune", "DeviceSweep", "MixtureDeviceSweep"]

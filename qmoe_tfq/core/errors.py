"""Stage: core. The one exception type for bad user input, and the checks that raise it."""

import math


class ConfigError(ValueError):
    """A user-supplied value is not allowed; the message names the value and what is allowed."""


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss (NaN or infinity), so no accuracy can be reported."""


def check_choice(name: str, value: object, allowed: tuple) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; allowed: {', '.join(map(str, allowed))}")


def check_positive_int(name: str, value: object) -> None:
    """Raise ConfigError unless ``value`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer (>= 1), got {value!r}")


def check_probability(name: str, value: object) -> None:
    """Raise ConfigError unless ``value`` is a real number in [0, 1]."""
    try:
        ok = 0.0 <= float(value) <= 1.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")


def check_learning_rate(value: object, name: str = "lr") -> None:
    """Raise ConfigError unless ``value`` is a finite real number > 0."""
    try:
        ok = math.isfinite(float(value)) and float(value) > 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(value, bool):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")

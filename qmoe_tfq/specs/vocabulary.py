"""Stage: specs. The vocabulary every stage shares: ansatzes, readouts, noise placements, engines,
simulators, and the router shape check (no TensorFlow, no Cirq).

Kept below the circuits and the specs that use them, so ``circuits``, ``specs.config`` and
``specs.routers`` all read one definition.
"""

from __future__ import annotations

from qmoe_tfq.core.errors import ConfigError, check_positive_int

ANSATZES = ("strongly_entangling", "ry_cz", "strongly_entangling_no_cnot")
#: Variational angles per qubit per layer of each ansatz.
ANGLES_PER_QUBIT = {"strongly_entangling": 3, "ry_cz": 1, "strongly_entangling_no_cnot": 3}
READOUTS = ("expectation", "probabilities")
MAX_QUBITS = 12
DIFFERENTIATORS = ("adjoint", "parameter_shift")
NOISE_PLACEMENTS = ("authors", "every_gate")
ENGINES = ("exact", "tfq_sampled")
SIMULATORS = ("auto", "tfq", "statevector")
# Initialisation of the classical layers: PyTorch's nn.Linear default (the authors') or Keras' Glorot default.
INITS = ("pytorch", "glorot")


def validate_router_shape(n_features: int, n_qubits: int, n_layers: int) -> None:
    """Raise ConfigError for an impossible router: too few qubits for the features, or L < 1."""
    check_positive_int("n_features", n_features)
    check_positive_int("n_qubits", n_qubits)
    check_positive_int("layers", n_layers)
    if n_qubits < n_features:
        raise ConfigError(
            f"n_qubits={n_qubits} is below the feature count {n_features}: the angle embedding "
            f"needs one qubit per feature (allowed: n_qubits >= {n_features}); reduce the features "
            "(e.g. PCA) or add qubits"
        )
    if n_qubits > MAX_QUBITS:
        raise ConfigError(f"n_qubits={n_qubits} is too large to simulate here (allowed: <= {MAX_QUBITS})")

"""Depolarizing noise: where its parts live now, re-exported under their old names.

* placement (``noisy_circuit``, ``PLACEMENTS``): ``qmoe_tfq.noise_placement``;
* the exact density-matrix engine: ``qmoe_tfq.sim.density_matrix``;
* TFQ's trajectory engine: ``qmoe_tfq.sim.tfq``;
* the engine factory (``make_expectation``): ``qmoe_tfq.sim.engines``;
* ``with_noise`` and the deploy protocol: ``qmoe_tfq.noise_eval``.
"""

from __future__ import annotations

from qmoe_tfq.specs.config import ENGINES
from qmoe_tfq.noise_eval import with_noise
from qmoe_tfq.noise_placement import PLACEMENTS, noisy_circuit
from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation, pauli_transfer_matrix
from qmoe_tfq.sim.engines import make_expectation
from qmoe_tfq.sim.tfq import SampledExpectation

__all__ = [
    "ENGINES",
    "PLACEMENTS",
    "DensityMatrixExpectation",
    "SampledExpectation",
    "make_expectation",
    "noisy_circuit",
    "pauli_transfer_matrix",
    "with_noise",
]

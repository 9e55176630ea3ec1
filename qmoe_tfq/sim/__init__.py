"""Stage: sim. Exact and sampled expectation engines for the router circuits.

Every engine has one call contract: ``engine(symbol_values)`` with ``(rows, n_symbols)`` float32
symbol values (inputs and circuit weights, in the circuit's symbol order) returns ``(rows,
n_observables)`` float32 expectations, differentiable by TensorFlow with respect to the values.

* ``tfq``: TFQ's analytic op with its differentiator (``ExactExpectation``), the reference engine,
  and TFQ's Monte-Carlo trajectory op (``SampledExpectation``).
* ``statevector``: a TensorFlow state-vector simulator compiled once per circuit
  (``StateVectorExpectation``).
* ``density_matrix``: an exact density-matrix simulator in the Pauli basis
  (``DensityMatrixExpectation``), for noisy circuits.
* ``engines``: ``make_expectation(rc, observables, spec)``, the engine a ``ModelSpec`` asks for.
* ``program``: the circuit-compilation helpers the TensorFlow engines share; ``executor``: how
  they run the compiled steps as batched TF ops, and their common call contract.

Submodules import TensorFlow; this package module does not.
"""

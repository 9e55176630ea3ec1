"""The exact expectation engines side by side on the router circuit: TFQ's analytic op (adjoint
gradients, the reference engine), the package's TensorFlow state-vector engine, and (full grid only,
up to 4 qubits) the density-matrix engine run noiselessly.

Each benchmark is one compiled call on a batch of random symbol values (inputs and circuit weights,
one row per circuit): ``time_forward`` the expectations, ``time_forward_gradient`` them and the
gradient of their sum in the symbol values. Batch 9 is what one training step of the 2-feature
router simulates (the 3^2 interpolation grid), so 16 x the n = 2, batch 9 forward+gradient time is
an engine's floor for one Two Moons epoch. Skipped on commits without ``qmoe_tfq.sim``.
"""

from __future__ import annotations

from ._common import grid, tensorflow

LAYERS = 3


def _engine(name: str, rc, observables):
    try:
        from qmoe_tfq.sim.density_matrix import DensityMatrixExpectation
        from qmoe_tfq.sim.statevector import StateVectorExpectation
        from qmoe_tfq.sim.tfq import ExactExpectation
    except ImportError as exc:
        raise NotImplementedError(f"no qmoe_tfq.sim engines in this commit ({exc})") from None
    names = [s.name for s in rc.symbols]
    if name == "tfq":
        return ExactExpectation(rc.circuit, names, observables)
    if name == "statevector":
        return StateVectorExpectation(rc.circuit, names, observables, qubits=rc.qubits)
    if len(rc.qubits) > 4:
        raise NotImplementedError("the density-matrix engine is benchmarked up to 4 qubits (4^n coefficients)")
    return DensityMatrixExpectation(rc.circuit, names, observables, qubits=rc.qubits)


class Expectation:
    """<Z_i> of the n-qubit router circuit (RX embedding + 3 StronglyEntanglingLayers) for a batch
    of random symbol values, per engine."""

    params = [
        grid(["tfq", "statevector", "density_matrix"], ["statevector"]),
        grid([2, 4, 8], [2]),
        grid([9, 32, 512], [32]),
    ]
    param_names = ["engine", "n_qubits", "batch"]
    timeout = 300
    warmup_time = 0.0  # setup already traced and ran both functions

    def setup(self, engine, n_qubits, batch):
        import numpy as np

        tf = tensorflow()
        from qmoe_tfq.circuits.router import readout_observables, router_circuit

        rc = router_circuit(n_qubits, n_qubits, LAYERS)
        expectation = _engine(engine, rc, readout_observables(rc.qubits, "expectation"))
        rng = np.random.default_rng(0)
        values = tf.constant(
            np.concatenate(
                [rng.uniform(0, np.pi, (batch, n_qubits)), rng.uniform(0, 2 * np.pi, (batch, len(rc.weight_symbols)))],
                axis=1,
            ),
            tf.float32,
        )

        @tf.function
        def forward():
            return expectation(values)

        @tf.function
        def forward_gradient():
            with tf.GradientTape() as tape:
                tape.watch(values)
                total = tf.reduce_sum(expectation(values))
            return tape.gradient(total, values)

        self.forward, self.forward_gradient = forward, forward_gradient
        for _ in range(2):
            forward()
            forward_gradient()

    def time_forward(self, engine, n_qubits, batch):
        self.forward()

    def time_forward_gradient(self, engine, n_qubits, batch):
        self.forward_gradient()


class EpochFloor:
    """An engine's floor for one Two Moons training epoch: what the epoch's circuits cost alone.
    One compiled call runs 16 steps (500 samples in batches of 32) of forward + gradient on the 9
    circuits of a step (the 2-feature router's interpolation grid, L = 3, <Z_i>), in a ``tf.range``
    loop as ``EpochTrainer`` runs them; compare with ``bench_training.TrainingEpoch``."""

    params = [grid(["tfq", "statevector"], ["statevector"])]
    param_names = ["engine"]
    timeout = 300
    warmup_time = 0.0

    def setup(self, engine):
        import numpy as np

        tf = tensorflow()
        from qmoe_tfq.circuits.router import readout_observables, router_circuit

        rc = router_circuit(2, 2, LAYERS)
        expectation = _engine(engine, rc, readout_observables(rc.qubits, "expectation"))
        rng = np.random.default_rng(0)
        grid_angles = np.array([[a, b] for a in (0, np.pi / 2, np.pi) for b in (0, np.pi / 2, np.pi)])
        inputs = tf.constant(grid_angles, tf.float32)
        theta = tf.Variable(rng.uniform(0, 2 * np.pi, len(rc.weight_symbols)), dtype=tf.float32)

        @tf.function
        def epoch():
            for _ in tf.range(16):
                with tf.GradientTape() as tape:
                    values = tf.concat([inputs, tf.tile(theta[None, :], [9, 1])], axis=1)
                    total = tf.reduce_sum(expectation(values))
                theta.assign_sub(1e-3 * tape.gradient(total, theta))
            return theta

        self.epoch = epoch
        epoch()

    def time_epoch_floor(self, engine):
        self.epoch()

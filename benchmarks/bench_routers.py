"""Router forward and forward+backward on one batch (compiled with ``tf.function``, traced in setup)."""

from __future__ import annotations

from ._common import grid, tensorflow


class _RouterBench:
    timeout = 300
    warmup_time = 0.0  # setup already traced and ran the function twice

    def _compile(self, router, x):
        """Trace router(x) and the gradient of <router(x), upstream> in the router's variables."""
        import numpy as np

        tf = tensorflow()
        variables = router.trainable_variables
        upstream = tf.constant(np.random.default_rng(1).normal(size=(int(x.shape[0]), self.width)), tf.float32)

        @tf.function
        def forward():
            return router(x)

        @tf.function
        def forward_backward():
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(router(x) * upstream)
            return tape.gradient(out, variables)

        self.forward, self.forward_backward = forward, forward_backward
        for _ in range(2):
            forward()
            forward_backward()

    def time_forward(self, *params):
        self.forward()

    def time_forward_backward(self, *params):
        self.forward_backward()


class QuantumRouter(_RouterBench):
    """Quantum router (RX embedding + StronglyEntanglingLayers, default exact engine: see
    ``qmoe_tfq.sim.engines``; TFQ with adjoint gradients on commits before it) on a random batch of
    angles: readout ``expectation`` is <Z_i> + Dense adapter +
    softmax, ``probabilities`` the 2^n basis-state probabilities from the 2^n - 1 Z-strings."""

    params = [
        grid([2, 4, 8], [2]),
        grid([1, 3], [3]),
        grid([32, 512], [32]),
        grid(["expectation", "probabilities"], ["expectation"]),
    ]
    param_names = ["n_qubits", "layers", "batch", "readout"]

    def setup(self, n_qubits, layers, batch, readout):
        import numpy as np

        tf = tensorflow()
        from qmoe_tfq.models.routers.quantum import QuantumRouter
        from qmoe_tfq.specs.config import ModelSpec

        spec = ModelSpec(layers=layers, readout=readout)
        router = QuantumRouter(spec, n_features=n_qubits, seed=0)
        self.width = router.n_experts
        x = tf.constant(np.random.default_rng(0).uniform(0, np.pi, (batch, n_qubits)), tf.float32)
        self._compile(router, x)


class ClassicalRouter(_RouterBench):
    """Reference: the classical routers on the same batches (``linear`` = Model A, ``mlp`` h=8)."""

    params = [grid(["linear", "mlp"], ["mlp"]), grid([2, 4, 8], [2]), grid([32, 512], [32])]
    param_names = ["router", "n_features", "batch"]

    def setup(self, router, n_features, batch):
        import numpy as np

        tf = tensorflow()
        from qmoe_tfq.models.routers import build_router
        from qmoe_tfq.specs.config import ModelSpec

        layer = build_router(ModelSpec(router=router), n_features, seed=0)
        self.width = 2
        x = tf.constant(np.random.default_rng(0).uniform(0, np.pi, (batch, n_features)), tf.float32)
        self._compile(layer, x)

"""Stage: training. The authors' Phase 1 models (``qmoe_tfq.models.phase1``) as a stack (``qmoe_tfq.training.stack._base``): many
runs of one model, each with its own weights, data, batch order and learning rate, trained as one
TensorFlow program, each exactly as it trains alone (a stack of one).

The same model as ``Phase1Model``: gates from Linear(d -> E) + softmax (all ones for the single-
expert QNN), experts (quantum: amplitude embedding + StronglyEntanglingLayers read out as <Z_i>, all
members' batch x E circuits in one call of the state-vector engine; classical: Linear -> ReLU ->
Linear), the gate-weighted sum of the experts, then the head Linear(n_qubits -> classes). Initial
weights are those ``Phase1Model(spec, seed)`` draws, in its ``get_weights()`` order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.models.ops import add_rows, softmax
from qmoe_tfq.models.phase1 import amplitude_angles, mlp_expert_initializers, part_seeds
from qmoe_tfq.sim.program import base_digits
from qmoe_tfq.specs.phase1 import Phase1Spec
from qmoe_tfq.training.stack._base import Stack, _dense


def supports(spec: Phase1Spec) -> bool:
    """Runs on the state-vector engine stack; TFQ's op (``simulator="tfq"``, the reference) trains alone."""
    return spec.kind == "classical_moe" or spec.simulator == "statevector"


def named_initial_weights(spec: Phase1Spec, seed: int) -> list[tuple[str, np.ndarray]]:
    """(role, weights) pairs ``Phase1Model(spec, seed)`` starts from, in its ``get_weights()`` order,
    drawn by the same seeded initializers without building the model."""
    router_seed, expert_seed, head_seed = part_seeds(seed)
    d, n, e = spec.n_features, spec.n_qubits, spec.experts_used
    weights = [] if spec.kind == "qnn" else _dense(d, e, router_seed, "router")
    if spec.router != "linear":  # a quantum router (the fully quantum mixture): its family's weights
        from qmoe_tfq.models.routers import router_kind

        support = router_kind(spec.router).stack
        weights = [(f"router_{r}", w) for r, w in support.initial(spec.router_spec(), d, e, router_seed)]
    if spec.kind == "classical_moe":
        weights += [
            (f"experts_{name}", init(shape, dtype="float32").numpy())
            for name, (shape, init) in mlp_expert_initializers(e, d, spec.hidden, n, expert_seed).items()
        ]
    else:
        init = keras.initializers.RandomNormal(0.0, 1.0, seed=expert_seed)
        weights.append(("theta", init((e, spec.n_layers, n, 3), dtype="float32").numpy()))
    return weights + _dense(n, spec.n_classes, head_seed, "head")


class StackedPhase1(Stack):
    """``M`` Phase 1 models of the same ``spec`` as a ``Stack``; weights in ``Phase1Model.get_weights()`` order."""

    def __init__(
        self, spec: Phase1Spec, n_features: int, n_classes: int, seeds: list[int], noise: list[float] | None = None
    ) -> None:
        if not supports(spec):
            raise ValueError(f"cannot stack Phase 1 runs on the {spec.simulator!r} engine (allowed: statevector)")
        if (n_features, n_classes) != (spec.n_features, spec.n_classes):
            raise ValueError(f"a stack of {spec} cannot take {n_features} features and {n_classes} classes")
        self.spec = spec
        self.engine = None
        if spec.kind != "classical_moe":
            from qmoe_tfq.circuits.router import amplitude_expert_circuit, readout_observables, router_circuit
            from qmoe_tfq.sim.statevector import StateVectorExpectation

            rc = amplitude_expert_circuit(spec.n_qubits, spec.n_layers)
            observables = readout_observables(rc.qubits, "expectation")
            self.engine = StateVectorExpectation(
                rc.circuit, [s.name for s in rc.symbols], observables, qubits=rc.qubits
            )
            # the weights' layers after RX(x_i) on every qubit: U's columns (``_through_unitaries``)
            layers = router_circuit(spec.n_qubits, spec.n_qubits, spec.n_layers, "strongly_entangling")
            assert layers.weight_symbols == rc.weight_symbols
            self._columns_engine = StateVectorExpectation(
                layers.circuit, [s.name for s in layers.symbols], observables, qubits=layers.qubits
            )
        self._setup(n_features, n_classes, seeds)
        self._set_noise(noise, len(seeds))
        self._router_host = None
        if spec.router != "linear":
            self._router_host = _RouterHost(self)

    def _named_initial(self, seed: int) -> list[tuple[str, np.ndarray]]:
        return named_initial_weights(self.spec, seed)

    def gates(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Expert weights (lanes, B, E), or (1, B, E) of member ``lane``; all ones for the QNN."""
        if self.spec.kind == "qnn":
            return tf.ones([tf.shape(x)[0], tf.shape(x)[1], 1])
        v = self._weights(lane)
        if self._router_host is not None:
            host = self._router_host
            own = {r[len("router_") :]: w for r, w in v.items() if r.startswith("router_")}
            return host.support.gates(host, x, own, lane)
        return softmax(add_rows(tf.einsum("mbd,mde->mbe", x, v["router_kernel"]), v["router_bias"]))

    def _experts(self, x: tf.Tensor, v: dict[str, tf.Tensor]) -> tf.Tensor:
        """Every expert's output (lanes, B, E, n_qubits)."""
        if self.spec.kind == "classical_moe":
            h = tf.nn.relu(add_rows(tf.einsum("mbd,medh->mbeh", x, v["experts_kernel1"]), v["experts_bias1"]))
            return add_rows(tf.einsum("mbeh,mehw->mbew", h, v["experts_kernel2"]), v["experts_bias2"])
        m, b, d = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        n, e, dim = self.spec.n_qubits, self.spec.experts_used, 2**self.spec.n_qubits
        if self.spec.noise > 0:  # every expert's readouts as noisy quadratic forms (models.fully_quantum)
            from qmoe_tfq.models.routers.amplitude import amplitude_readouts

            eps = tf.fill([m], self.spec.noise)
            return amplitude_readouts(x, v["theta"], n, eps)
        theta = tf.reshape(v["theta"], [m, e, 1, -1])
        if x.shape[1] is not None and x.shape[1] > dim:
            return self._through_unitaries(x, theta)
        angles = tf.reshape(amplitude_angles(tf.reshape(x, [m * b, d]), n), [m, b, 1, -1])
        values = tf.concat(
            [tf.tile(angles, [1, 1, e, 1]), tf.tile(tf.transpose(theta, [0, 2, 1, 3]), [1, b, 1, 1])], -1
        )
        z = self.engine(tf.reshape(values, [m * b * e, -1]))
        return tf.reshape(z, [m, b, e, n])

    def _through_unitaries(self, x: tf.Tensor, theta: tf.Tensor) -> tf.Tensor:
        """<Z_i> of every expert from the unitary U (2^n x 2^n) of its weights' layers, for batches of
        more than 2^n rows: the expert prepares x/||x|| (amplitude embedding) and applies U, so U's
        columns, simulated once per step from the 2^n basis states, serve every row of the batch as
        one matrix product. Exact (to float32 rounding); fewer circuits than one per row. Basis state
        |k> enters as RX(pi) on its one bits, which prepares (-i)^popcount(k) |k>; the phase is undone."""
        m, e, n = tf.shape(x)[0], self.spec.experts_used, self.spec.n_qubits
        dim = 2**n
        bits = base_digits(n, 2)
        values = tf.concat(
            [tf.tile(tf.constant(np.pi * bits, tf.float32)[None, None], [m, e, 1, 1]), tf.tile(theta, [1, 1, dim, 1])],
            -1,
        )
        states = self._columns_engine.states(tf.reshape(values, [m * e * dim, -1]))
        phase = tf.constant((1j) ** bits.sum(axis=1), states.dtype)[:, None]
        columns = tf.reshape(states, [m, e, dim, dim]) * phase  # columns[m, e, k] = U e_k
        x = tf.pad(x, [[0, 0], [0, 0], [0, dim - x.shape[-1]]])
        norm = tf.norm(x, axis=-1, keepdims=True)
        # an all-zero row is prepared as |0...0> (its embedding angles are all 0)
        psi = tf.where(norm > 0, x / tf.where(norm > 0, norm, 1.0), tf.one_hot(0, dim))
        return self.engine.readout(tf.einsum("mbk,mekj->mbej", tf.cast(psi, columns.dtype), columns))

    def logits(self, x: tf.Tensor, lane: int | None = None) -> tf.Tensor:
        """Class logits (lanes, B, C), or (1, B, C) of member ``lane``."""
        v = self._weights(lane)
        mixed = tf.einsum("mbe,mbew->mbw", self.gates(x, lane), self._experts(x, v))
        return add_rows(tf.einsum("mbw,mwc->mbc", mixed, v["head_kernel"]), v["head_bias"])


class _RouterHost:
    """What a router family's ``StackSupport`` reads from its stack (``spec``, ``n_features``,
    ``lanes``, ``_eps``, ``_n_members``), for the quantum router of a fully quantum mixture."""

    def __init__(self, stack: StackedPhase1) -> None:
        from qmoe_tfq.models.routers import router_kind

        self.spec = stack.spec.router_spec()
        self.n_features, self.lanes, self._n_members = stack.n_features, stack.lanes, stack._n_members
        self._eps = tf.fill([stack.lanes], self.spec.noise)
        self.router = self.engine = None
        self.support = router_kind(self.spec.router).stack
        self.support.setup(self)


__all__ = ["StackedPhase1", "named_initial_weights", "supports"]

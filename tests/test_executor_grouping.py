"""``executor.StepProgram`` applies a step's single-qubit maps in groups of qubits (Kronecker
products, no transposes): against a plain qubit-by-qubit reference, in values and gradients, for
every group layout (one to several groups, uneven sizes, qubits and whole groups idle in a step)."""

import numpy as np
import pytest
import tensorflow as tf

from qmoe_tfq.sim.executor import GROUP_DIM, StepProgram, group_sizes
from qmoe_tfq.sim.program import Local, Monomial


@pytest.mark.parametrize(
    "n,d,sizes",
    [
        (0, 2, []),
        (1, 2, [1]),
        (2, 2, [1, 1]),
        (3, 2, [2, 1]),
        (4, 2, [2, 2]),
        (5, 2, [3, 2]),
        (8, 2, [4, 4]),
        (9, 2, [3, 3, 3]),
        (10, 2, [4, 3, 3]),
        (1, 4, [1]),
        (2, 4, [1, 1]),
        (3, 4, [2, 1]),
        (4, 4, [2, 2]),
        (5, 4, [2, 2, 1]),
    ],
)
def test_group_sizes(n, d, sizes):
    assert GROUP_DIM == 16
    assert group_sizes(n, d) == sizes


def reference(table, program_steps, n, d, initial):
    """The final vector, one qubit at a time, with the table's factors (rows, k, d, d)."""
    rows = table.shape[0]
    state = tf.tile(tf.constant(initial[None, :], table.dtype), [rows, 1])
    for step in program_steps:
        if isinstance(step, Monomial):
            state = tf.gather(state, step.index, axis=1) * tf.constant(step.scale, table.dtype)
            continue
        for q, factors in step.factors.items():
            for f in factors:
                m = tf.broadcast_to(f, [rows, d, d]) if isinstance(f, np.ndarray) else table[:, f]
                x = tf.reshape(state, [-1, d**q, d, d ** (n - q - 1)])
                state = tf.reshape(tf.einsum("rij,rajb->raib", m, x), [-1, d**n])
    return state


def random_steps(n, d, n_params, rng):
    """Local steps with parameterised and constant factors, some qubits (and in the last step all
    but one) idle, separated by random signed permutations."""
    steps = []
    for s in range(3):
        local = Local()
        qubits = [q for q in range(n) if rng.random() < 0.7] if s < 2 else [int(rng.integers(n))]
        for q in qubits:
            local.factors[q] = [int(rng.integers(n_params)), rng.normal(size=(d, d)), int(rng.integers(n_params))][
                : int(rng.integers(1, 4))
            ]
        steps.append(local)
        steps.append(Monomial(rng.permutation(d**n), rng.choice([-1.0, 1.0], d**n)))
    return steps


@pytest.mark.parametrize("d,n", [(2, n) for n in range(1, 10)] + [(4, n) for n in range(1, 6)])
def test_grouped_steps_match_qubit_by_qubit(d, n):
    rng = np.random.default_rng(10 * d + n)
    n_params, rows = 5, 3
    steps = random_steps(n, d, n_params, rng)
    initial = rng.normal(size=d**n)
    program = StepProgram(steps, n, d, n_params, initial, tf.float64)
    table = tf.constant(
        np.concatenate([rng.normal(size=(rows, n_params, d, d)), np.broadcast_to(np.eye(d), (rows, 1, d, d))], axis=1)
    )
    weights = tf.constant(rng.normal(size=(rows, d**n)))
    got, want = [], []
    for run, out in ((program.run, got), (lambda t: reference(t, steps, n, d, initial), want)):
        with tf.GradientTape() as tape:
            tape.watch(table)
            value = run(table)
            total = tf.reduce_sum(value * weights)
        out += [value.numpy(), tape.gradient(total, table).numpy()]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got[1][:, :n_params], want[1][:, :n_params], rtol=1e-10, atol=1e-10)

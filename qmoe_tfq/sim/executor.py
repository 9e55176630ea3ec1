"""Stage: sim. Compiled circuit steps run as batched TensorFlow ops on a (rows, d^n) vector.

Both TensorFlow engines compile a circuit into the same kind of steps (``program.build_steps``):
a ``Local`` step holds, per qubit, a chain of d x d factors (constant matrices or ids into a per-row
table of parameterised ones), a ``Monomial`` step permutes the vector's entries with scales. The
state vector runs them on amplitudes (d = 2, complex), the density-matrix engine on Pauli
coefficients (d = 4, real). Small circuits cost what their TF ops cost, not their arithmetic, so
the layout minimises ops:

* every chain of every step is gathered from the table at once and multiplied by a few batched
  matmuls (chains padded with the identity); unstacks, not strided slices, split the result;
* a step splits the qubits into consecutive groups (``group_sizes``: at most g qubits with d^g <=
  ``GROUP_DIM``, at least two groups, balanced) and applies each group's maps at once, as their
  per-row Kronecker product (d^g x d^g, the group's first qubit most significant; built for all
  steps at once, by outer products, not broadcasting). On the (rows, d^a, d^g, d^b) view of the
  state (a qubits before the group, b after; qubit 0 most significant) the first group is a left
  matmul M x on (rows, d^g, d^b), the last a right matmul x M^T on (rows, d^a, d^g) and a middle
  one a matmul broadcast over d^a, so no transposes: with two groups (up to 8 amplitude qubits, 4
  Pauli ones) a step is M_0 X M_1^T on the (rows, d^a, d^b) matrix. A group whose maps in a step
  are all the identity is skipped;
* from a product initial state (``product_factors``: the state vector's |0...0>, the density
  matrix's Pauli coefficients of it) the first step applies each qubit's maps to its own d-vector
  and takes their Kronecker product, so no step's worth of matmuls is spent on it;
* a monomial is one gather times a scale vector (no multiply when the scales are all 1), with a
  gather (not a scatter) in the backward pass too.

``run`` multiplies the chains from a per-row table of factors; ``run_maps`` takes each qubit's
map per step ready-made (the state vector builds them in closed form).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.sim.program import Local, Monomial


class CompiledEngine:
    """What the TensorFlow engines share: the call contract ``engine(symbol_values)`` with (rows,
    n_symbols) float32 in and (rows, n_observables) float32 out, traced once, and the affine map
    from symbol values to the circuit's parameters, with one extra parameter fixed at 0 (the
    identity factor ``StepProgram`` pads chains with). Subclasses define ``_evaluate``."""

    symbol_names: list[str]

    def _set_parameters(self, matrix: np.ndarray, offset: np.ndarray, dtype: tf.DType) -> None:
        self._matrix = tf.constant(np.concatenate([matrix, np.zeros((matrix.shape[0], 1))], axis=1), dtype)
        self._offset = tf.constant(np.append(offset, 0.0), dtype)
        self._forward = tf.function(
            self._evaluate,
            input_signature=[tf.TensorSpec([None, len(self.symbol_names)], tf.float32)],
            autograph=False,
        )

    def __call__(self, symbol_values: tf.Tensor) -> tf.Tensor:
        return self._forward(tf.convert_to_tensor(symbol_values, tf.float32))

    def _evaluate(self, symbol_values: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def _parameters(self, symbol_values: tf.Tensor) -> tf.Tensor:
        """(rows, n_params + 1): symbol_values @ matrix + offset. Without symbols the empty matmul
        is skipped (oneDNN aborts on a zero inner dimension)."""
        if self._matrix.shape[0] == 0:
            return tf.zeros([tf.shape(symbol_values)[0], 1], self._matrix.dtype) + self._offset
        return tf.matmul(tf.cast(symbol_values, self._matrix.dtype), self._matrix) + self._offset


def _permute(x: tf.Tensor, index: tf.Tensor, inverse: tf.Tensor, scale: tf.Tensor | None) -> tf.Tensor:
    """x'[:, a] = scale[a] x[:, index[a]] (``scale`` None: all ones, a plain permutation)."""
    if scale is None:

        @tf.custom_gradient
        def permute(v):
            return tf.gather(v, index, axis=1), lambda g: tf.gather(g, inverse, axis=1)

        return permute(x)

    @tf.custom_gradient
    def apply(v):
        def grad(g):
            return tf.gather(g * tf.math.conj(scale), inverse, axis=1)

        return tf.gather(v, index, axis=1) * scale, grad

    return apply(x)


# Largest d^g of a group's Kronecker map: 4 amplitude qubits, 2 Pauli ones. Measured (one thread,
# forward + gradient, router circuits): 16 beats 4 and 8 from 8 qubits on (two groups of 4: 512
# rows ~35 % faster than qubit by qubit) and breaks even with them at 2 to 4 qubits.
GROUP_DIM = 16


def group_sizes(n: int, d: int) -> list[int]:
    """Sizes of the consecutive qubit groups of a ``Local`` step: at most g qubits each with d^g <=
    ``GROUP_DIM`` (g >= 1), as few groups as that allows but two at least (one map on the whole
    register would be a batched matrix-vector product, the slowest layout), sizes balanced, larger
    ones first."""
    g = 1
    while d ** (g + 1) <= GROUP_DIM:
        g += 1
    k = min(n, max(2, -(-n // g)))
    return [n // k + (i < n % k) for i in range(k)]


def _kron(maps: list[tf.Tensor]) -> tf.Tensor:
    """The Kronecker product of (..., p, p) maps, the first most significant, pairwise as a tree.
    Each product is an outer product (a batched matmul) and a transpose: broadcasting products of
    complex tensors are several times slower in TensorFlow."""
    while len(maps) > 1:
        paired = []
        for a, b in zip(maps[::2], maps[1::2]):
            p, q = a.shape[-1], b.shape[-1]
            outer = tf.matmul(tf.reshape(a, [-1, p * p, 1]), tf.reshape(b, [-1, 1, q * q]))  # [ij, kl]
            ikjl = tf.transpose(tf.reshape(outer, [-1, p, p, q, q]), [0, 1, 3, 2, 4])
            paired.append(tf.reshape(ikjl, tf.concat([tf.shape(a)[:-2], [p * q, p * q]], 0)))
        maps = paired + maps[len(paired) * 2 :]
    return maps[0]


def product_factors(initial: np.ndarray, n: int, d: int) -> list[np.ndarray] | None:
    """Per-qubit vectors u_q (d,) with ``initial`` = u_0 (x) ... (x) u_{n-1} (qubit 0 most
    significant), or None when ``initial`` is not a product state."""
    t = np.asarray(initial).reshape([d] * n)
    top = np.unravel_index(np.argmax(np.abs(t)), t.shape)
    if t[top] == 0:
        return None
    factors = []
    for q in range(n):
        at = list(top)
        at[q] = slice(None)
        factors.append(t[tuple(at)] / (t[top] if q else 1.0))
    product = factors[0]
    for u in factors[1:]:
        product = np.kron(product, u)
    return factors if np.allclose(product, np.ravel(initial), rtol=0, atol=1e-12) else None


class StepProgram:
    """``steps`` on ``n`` qubits of local dimension ``d``, started from ``initial`` (d^n,).

    When ``initial`` is a product state (``product_factors``), the first step does not multiply the
    whole vector: each qubit's chain of factors acts on its own d-vector and the state is their
    Kronecker product (outer products), which saves one step's worth of matmuls and its Kronecker maps.

    Factor-table layout (``run``'s ``table``): entries 0..n_params-1 are the per-row parameterised
    factors, entry ``n_params`` must be the identity (it pads shorter chains), and the steps'
    constant factors follow (appended here).
    """

    def __init__(
        self,
        steps: list[Monomial | Local],
        n: int,
        d: int,
        n_params: int,
        initial: np.ndarray,
        dtype: tf.DType,
    ) -> None:
        self.n, self.d, self.dtype = n, d, dtype
        if steps and isinstance(steps[0], Monomial):
            initial = steps[0].scale * initial[steps[0].index]
            steps = steps[1:]
        locals_: list[Local] = []
        after: list[Monomial | None] = []
        for step in steps:
            if isinstance(step, Monomial):
                after[-1] = step if after[-1] is None else after[-1].then(step)
            else:
                locals_.append(step)
                after.append(None)
        constants: list[np.ndarray] = []
        length = max([len(fs) for st in locals_ for fs in st.factors.values()] or [1])
        identity = n_params
        chains = np.full((len(locals_), n, length), identity, dtype=np.int64)
        for s, step in enumerate(locals_):
            for q, factors in step.factors.items():
                for k, f in enumerate(factors):
                    if isinstance(f, np.ndarray):
                        constants.append(f)
                        f = identity + len(constants)
                    chains[s, q, k] = f
        product = product_factors(initial, n, d) if locals_ else None
        #: numpy views of the compiled program, for engines that build the maps themselves
        #: (``run_maps``): the per-qubit chains of the first step when it starts from the product
        #: state ``self.product`` (else None), then the chains of the steps on the whole state.
        self.n_params, self.constants, self.product = n_params, constants, product
        self.first_chains = None
        if product is not None:
            self.first_chains, chains = chains[0], chains[1:]
            length = max(int((chains != identity).sum(axis=2).max(initial=0)), 1)
            chains = chains[:, :, :length]
            self._vectors = tf.constant(np.stack(product)[:, :, None], dtype)
        self.chains = chains
        self.n_steps, self._chain = len(chains), length
        self._chains = tf.constant(chains.reshape(-1))
        self._first = None if self.first_chains is None else tf.constant(self.first_chains.reshape(-1))
        self._active = (chains != identity).any(axis=2)
        bounds = np.cumsum([0] + group_sizes(n, d))
        self._groups = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))  # (first qubit, last + 1)
        self._constants = tf.constant(np.stack(constants), dtype) if constants else None
        self._initial = tf.constant(initial[None, :], dtype)
        self.last = after[-1] if after else None  # the monomial after the last step (``run(last=False)``)
        self._after = [
            None
            if m is None
            else (
                tf.constant(m.index),
                tf.constant(np.argsort(m.index)),
                None if np.all(m.scale == 1.0) else tf.constant(m.scale, dtype),
            )
            for m in after
        ]

    def run(self, table: tf.Tensor, last: bool = True) -> tf.Tensor:
        """The final (rows, d^n) vector for the per-row factor ``table`` (rows, n_params + 1, d, d);
        with ``last=False`` the monomial after the last step (``self.last``) is left out."""
        rows = tf.shape(table)[0]
        n, d = self.n, self.d
        if self._constants is not None:
            constants = tf.broadcast_to(self._constants, tf.concat([[rows], tf.shape(self._constants)], 0))
            table = tf.concat([table, constants], axis=1)
        vectors = maps = None
        if self._first is not None:
            g = tf.reshape(tf.gather(table, self._first, axis=1), [-1, n, self.first_chains.shape[1], d, d])
            factors = tf.unstack(g, axis=2)
            v = tf.matmul(factors[0], self._vectors)  # (rows, n, d, 1)
            for f in factors[1:]:
                v = tf.matmul(f, v)
            vectors = tf.reshape(v, [-1, n, d])
        if self.n_steps:
            g = tf.reshape(tf.gather(table, self._chains, axis=1), [-1, self.n_steps * n, self._chain, d, d])
            factors = tf.unstack(g, axis=2)
            m = factors[0]
            for f in factors[1:]:
                m = tf.matmul(f, m)
            maps = tf.reshape(m, [-1, self.n_steps, n, d, d])
        return self.run_maps(rows, vectors, maps, last)

    def run_maps(
        self, rows: tf.Tensor, vectors: tf.Tensor | None, maps: tf.Tensor | None, last: bool = True
    ) -> tf.Tensor:
        """The final (rows, d^n) vector from each qubit's map per step: ``vectors`` (rows, n, d), the
        first step applied to the product state (when ``first_chains`` is set, else None), and
        ``maps`` (rows, n_steps, n, d, d) of the other steps (None without steps)."""
        n, d, dim = self.n, self.d, self.d**self.n
        perms = self._after if last else self._after[:-1] + [None]
        if vectors is not None:
            state = _kron_vectors(tf.unstack(vectors, axis=1))
            if perms[0] is not None:
                state = _permute(state, *perms[0])
            perms = perms[1:]
        else:
            state = tf.tile(self._initial, [rows, 1])
        if not self.n_steps:
            return state
        maps = tf.unstack(maps, axis=2)  # per qubit: (rows, steps, d, d)
        krons = [
            tf.unstack(_kron(maps[start:stop]), axis=1) if self._active[:, start:stop].any() else None
            for start, stop in self._groups
        ]
        for s in range(self.n_steps):
            for (start, stop), kron in zip(self._groups, krons):
                if not self._active[s, start:stop].any():
                    continue
                before, width, after = d**start, d ** (stop - start), d ** (n - stop)
                if before == 1:
                    state = tf.matmul(kron[s], tf.reshape(state, [-1, width, after]))
                elif after == 1:
                    state = tf.matmul(tf.reshape(state, [-1, before, width]), kron[s], transpose_b=True)
                else:
                    state = tf.matmul(kron[s][:, None], tf.reshape(state, [-1, before, width, after]))
            state = tf.reshape(state, [-1, dim])
            if perms[s] is not None:
                state = _permute(state, *perms[s])
        return state


def _kron_vectors(parts: list[tf.Tensor]) -> tf.Tensor:
    """The Kronecker product (rows, prod of sizes) of (rows, size) vectors, the first most
    significant: outer products (batched matmuls), pairwise as a tree."""
    while len(parts) > 1:
        paired = [
            tf.reshape(
                tf.matmul(tf.reshape(a, [-1, a.shape[-1], 1]), tf.reshape(b, [-1, 1, b.shape[-1]])),
                [-1, a.shape[-1] * b.shape[-1]],
            )
            for a, b in zip(parts[::2], parts[1::2])
        ]
        parts = paired + parts[len(paired) * 2 :]
    return parts[0]


__all__ = ["CompiledEngine", "GROUP_DIM", "StepProgram", "group_sizes"]

"""The speed work keeps the numbers: the interpolated readout equals the direct simulation (and
cirq), gradients agree, the compiled epoch equals the per-batch loop it replaced, and the benchmark
suite imports without TensorFlow and skips (never zeroes) what it cannot run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from test_circuits_vs_cirq import cirq_readout

from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.models.routers.quantum import QuantumRouter, interpolation_grid
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.training.train import EpochTrainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n_qubits,layers", [(1, 2), (2, 3), (3, 1)])
@pytest.mark.parametrize("readout", ["expectation", "probabilities"])
@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_interpolated_readout_equals_direct_and_cirq(n_qubits, layers, readout, ansatz):
    rng = np.random.default_rng(100 * n_qubits + layers)
    router = QuantumRouter(ModelSpec(layers=layers, readout=readout, ansatz=ansatz), n_qubits, seed=2)
    router.theta.assign(rng.uniform(0, 2 * np.pi, router.theta.shape).astype(np.float32))
    # angles beyond [0, pi] too: the interpolation is exact for any angle
    x = rng.uniform(-np.pi, 2 * np.pi, (40, n_qubits)).astype(np.float32)
    out = {}
    for mode in ("direct", "interpolate", "auto"):
        router.evaluation = mode
        out[mode] = router.circuit_outputs(tf.constant(x)).numpy()
    np.testing.assert_allclose(out["interpolate"], cirq_readout(router, x, readout), atol=1e-5)
    np.testing.assert_allclose(out["interpolate"], out["direct"], atol=1e-5)
    np.testing.assert_allclose(out["auto"], out["direct"], atol=1e-5)


def test_extra_qubits_interpolate_over_features_only():
    router = QuantumRouter(ModelSpec(layers=2, n_qubits=3), n_features=2, seed=3)
    router.evaluation = "interpolate"
    x = np.random.default_rng(7).uniform(0, np.pi, (12, 2)).astype(np.float32)
    got = router.circuit_outputs(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, cirq_readout(router, x, "expectation"), atol=1e-5)
    assert interpolation_grid(2).shape == (9, 2)


@pytest.mark.parametrize(
    "readout,noise",
    [("expectation", {}), ("probabilities", {}), ("expectation", {"noise": 0.05, "noise_placement": "every_gate"})],
)
def test_interpolated_gradients_equal_direct(readout, noise):
    """Also under noise: the exact noisy readout is interpolated too (``QuantumRouter.interpolates``)."""
    rng = np.random.default_rng(4)
    x = tf.constant(rng.uniform(0, np.pi, (32, 2)), tf.float32)
    y = tf.constant(rng.integers(0, 2, 32), tf.int32)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    grads = {}
    for mode in ("direct", "interpolate"):
        model = build_model(ModelSpec(readout=readout, **noise), 2, 2, seed=9)
        model.router.evaluation = mode
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads[mode] = [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]
    for a, b in zip(grads["direct"], grads["interpolate"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_auto_switches_inside_tf_function_with_unknown_batch():
    router = QuantumRouter(ModelSpec(), n_features=2, seed=0)
    f = tf.function(router.circuit_outputs, input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    rng = np.random.default_rng(1)
    for rows in (3, 9, 10, 50):  # 3^2 = 9 grid points: direct up to 9 rows, interpolated above
        x = rng.uniform(0, np.pi, (rows, 2)).astype(np.float32)
        np.testing.assert_allclose(f(tf.constant(x)).numpy(), cirq_readout(router, x, "expectation"), atol=1e-5)


def test_bad_evaluation_mode_is_rejected():
    router = QuantumRouter(ModelSpec(), n_features=2, seed=0)
    router.evaluation = "fast"
    with pytest.raises(ValueError, match="evaluation='fast'"):
        router.circuit_outputs(tf.zeros((2, 2)))


def per_batch_reference(model, lr, batch_size):
    """The training loop ``fit`` ran before the compiled epoch: one tf.function step per batch."""
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    variables = model.trainable_variables

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb))
            mean = loss / tf.cast(tf.shape(xb)[0], tf.float32)
        optimizer.apply_gradients(zip(tape.gradient(mean, variables), variables))
        return loss

    def run_epoch(x, y):
        return [
            float(step(tf.constant(x[s : s + batch_size]), tf.constant(y[s : s + batch_size])))
            for s in range(0, len(x), batch_size)
        ]

    return run_epoch


@pytest.mark.parametrize("router", ["quantum", "linear"])
def test_compiled_epoch_equals_per_batch_loop(router):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (70, 2)).astype(np.float32)  # 70 = 2 * 32 + 6: a short last batch
    y = rng.integers(0, 2, 70).astype(np.int32)
    a, b = (build_model(ModelSpec(router=router), 2, 2, seed=5) for _ in range(2))
    if router == "quantum":  # the same exact evaluation in both, so only the loop differs
        a.router.evaluation = b.router.evaluation = "interpolate"
    compiled = EpochTrainer(a, 2, lr=0.1, batch_size=32).run_epoch
    reference = per_batch_reference(b, lr=0.1, batch_size=32)
    for _ in range(2):
        order = rng.permutation(len(x))
        got, want = compiled(x[order], y[order]), reference(x[order], y[order])
        assert len(got) == 3
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # Compare the trained functions, not raw angles: the last layer's RZ angles commute with the
    # Z readout, get gradients that are pure rounding noise, and Adam amplifies that noise.
    np.testing.assert_allclose(a(tf.constant(x)).numpy(), b(tf.constant(x)).numpy(), atol=1e-5)


def test_benchmark_modules_import_without_tensorflow():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import benchmarks.bench_routers, benchmarks.bench_training, benchmarks.bench_noise, benchmarks.bench_engines, "
        "benchmarks.bench_accuracy, benchmarks.authors_stack\n"
        "heavy = [m for m in ('tensorflow', 'torch', 'pennylane') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_authors_benchmark_skips_when_torch_is_missing(monkeypatch):
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import authors_stack, bench_training
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setattr(authors_stack, "missing_dependency", lambda: "torch")
    with pytest.raises(NotImplementedError, match="torch"):
        bench_training.AuthorsStackEpoch().setup()


def test_authors_reference_model_is_model_b():
    pytest.importorskip("torch")
    pytest.importorskip("pennylane")
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import authors_stack
    finally:
        sys.path.remove(str(ROOT))
    if authors_stack.missing_dependency():
        pytest.skip(f"{authors_stack.missing_dependency()} is missing")
    model, _, _ = authors_stack.build(seed=0, threads=1)
    counts = {name: p.numel() for name, p in model.named_parameters()}
    assert sum(v for k, v in counts.items() if k.startswith("router.")) == 24
    assert sum(counts.values()) == 36


@pytest.mark.parametrize("ansatz", ["strongly_entangling", "ry_cz"])
def test_router_circuits_qualify_for_interpolation(ansatz):
    """Guard against silently losing the fast path: every router circuit has the RX embedding."""
    from qmoe_tfq.models.routers.quantum import _embedding_is_single_rx

    for n_features, n_qubits in ((1, 1), (2, 2), (2, 3), (4, 4)):
        router = QuantumRouter(ModelSpec(ansatz=ansatz, n_qubits=n_qubits), n_features, seed=0)
        assert router._rx_embedding()
    import cirq

    rc = router.rc
    reused = type(rc)(
        rc.circuit + cirq.Circuit(cirq.rx(rc.input_symbols[0]).on(rc.qubits[1])),
        rc.qubits,
        rc.input_symbols,
        rc.weight_symbols,
        rc.weight_shape,
    )
    assert not _embedding_is_single_rx(reused)

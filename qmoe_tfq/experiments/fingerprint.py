"""Stage: experiments. A numerical fingerprint of this machine: digests of the kernels the numbers go through, to compare machines.

With every pin of ``core.environment.ISA_PINS``, an Intel Xeon (Emerald Rapids) and an AMD EPYC (Zen 1)
still trained different Two Moons models from the same commit and seed (docs/guide/reproducing.md,
"Numbers across machines"). Which kernel differs cannot be read off the tables (four digits, after
training has amplified the first difference). ``fingerprint()`` computes, on fixed inputs, the outputs
of the kernels those runs use (TensorFlow's float32 and complex64 matrix products at the shapes the
models call them, its elementwise and softmax kernels, numpy's matrix products and math functions) and
three short Two Moons training runs, and keeps a SHA-256 of each output's bytes; ``compare`` lists the
entries where two fingerprints differ. Run it on each machine and compare::

    python -m qmoe_tfq.experiments.fingerprint --out this-machine.json
    python -m qmoe_tfq.experiments.fingerprint --compare docs/guide/fingerprints/*.json

The first kernel that differs is where the machines part; the training runs say whether it matters.
An Intel Xeon (Emerald Rapids) and an AMD EPYC (Zen 4) differed in one kernel, ``tf.nn.softmax``
(it multiplies by the processor's approximate reciprocal, ``models.ops``), and in the training runs
that used it; the models now use ``models.ops.softmax``, which divides.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qmoe_tfq.core.io import atomic_write_text
from qmoe_tfq.core.machine import cpu
from qmoe_tfq.experiments.experiment import RESULTS_SCHEMA

#: (m, k, n) of float32 products the Two Moons models compute (oneDNN's verbose log of a quantum and an
#: MLP router's run), and one large product.
MATMUL_SHAPES = ((144, 4, 2), (144, 2, 4), (144, 48, 20), (48, 20, 144), (64, 9, 2), (64, 2, 2), (256, 256, 256))
#: Short training runs (Two Moons, the authors' budget cut to 5 epochs): one per router family.
RUNS = ("linear", "mlp_h8", "quantum")
RUN_EPOCHS = 5


def digest(a) -> str:
    """SHA-256 (first 16 hex digits) of an array's dtype, shape and bytes."""
    a = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()[:16]


def _inputs(shape: tuple[int, ...], seed: int, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _tensorflow_kernels() -> dict[str, Callable[[], np.ndarray]]:
    import tensorflow as tf

    from qmoe_tfq.models.ops import softmax

    out: dict[str, Callable[[], np.ndarray]] = {}
    for m, k, n in MATMUL_SHAPES:
        a, b = _inputs((m, k), m * k), _inputs((k, n), k * n + 1)
        out[f"tf.matmul f32 {m}x{k}x{n}"] = lambda a=a, b=b: tf.matmul(a, b).numpy()
    a, b = _inputs((16, 32, 8), 1), _inputs((16, 8, 4), 2)
    out["tf.einsum f32 mbd,mde->mbe 16x32x8x4"] = lambda: tf.einsum("mbd,mde->mbe", a, b).numpy()
    ca, cb = _inputs((64, 16), 3, np.complex64), _inputs((16, 16), 4, np.complex64)
    out["tf.matmul c64 64x16x16"] = lambda: tf.matmul(ca, cb).numpy()
    x = _inputs((1000,), 5) * 3
    for name, f in (("cos", tf.math.cos), ("sin", tf.math.sin), ("exp", tf.math.exp), ("tanh", tf.math.tanh)):
        out[f"tf.math.{name} f32"] = lambda f=f: f(x).numpy()
    out["tf.math.sigmoid f32"] = lambda: tf.math.sigmoid(x).numpy()
    logits = _inputs((500, 4), 6)
    out["tf.nn.softmax f32 500x4"] = lambda: tf.nn.softmax(logits).numpy()  # noqa: TID251 (the kernel itself)
    out["models.ops.softmax f32 500x4"] = lambda: softmax(tf.constant(logits)).numpy()
    sums = np.abs(x) + 1
    out["tf.math.reciprocal f32"] = lambda: tf.math.reciprocal(sums).numpy()  # noqa: TID251 (the kernel itself)
    out["tf.math.rsqrt f32"] = lambda: tf.math.rsqrt(sums).numpy()  # noqa: TID251 (the kernel itself)
    out["tf.math.divide f32"] = lambda: (1 / tf.constant(sums)).numpy()
    out["tf.reduce_sum f32 16x1000"] = lambda: tf.reduce_sum(_inputs((16, 1000), 7), axis=1).numpy()
    return out


def _numpy_kernels() -> dict[str, Callable[[], np.ndarray]]:
    a64, b64 = _inputs((200, 200), 8, np.float64), _inputs((200, 200), 9, np.float64)
    x32 = _inputs((1000,), 10) * 3
    return {
        "np.matmul f64 200": lambda: a64 @ b64,
        "np.matmul f32 200": lambda: a64.astype(np.float32) @ b64.astype(np.float32),
        "np.sin f32": lambda: np.sin(x32),
        "np.sin f64": lambda: np.sin(x32.astype(np.float64)),
        "np.exp f32": lambda: np.exp(x32),
        "np.linalg.eigh f64 50": lambda: np.linalg.eigvalsh(a64[:50, :50] + a64[:50, :50].T),
    }


def _training_runs(epochs: int) -> dict[str, Callable[[], np.ndarray]]:
    from qmoe_tfq.data import DataSpec
    from qmoe_tfq.experiments.experiment import Experiment, run_one
    from qmoe_tfq.experiments.registry import qmoe

    data = DataSpec(name="moons", n_samples=500, noise=0.1, test_size=0.3, seed=None)
    routers = {
        "linear": {"router": "linear"},
        "mlp_h8": {"router": "mlp", "hidden": 8},
        "quantum": {"router": "quantum", "layers": 3, "readout": "expectation"},
    }

    def run(rid: str) -> np.ndarray:
        spec = qmoe(**routers[rid], lr=0.1, max_epochs=epochs, batch_size=32)
        result = run_one(Experiment(f"fingerprint/{rid}", spec, data, "fair", (0,)), 0)
        return np.asarray(result["epoch_losses"], np.float64)

    return {f"train {rid} ({epochs} epochs, epoch losses)": (lambda rid=rid: run(rid)) for rid in RUNS}


def fingerprint(training: bool = True, epochs: int = RUN_EPOCHS) -> dict:
    """``{"machine": core.machine.cpu(), "schema": RESULTS_SCHEMA, "digests": {kernel: digest}}`` of this
    process's kernels (set up as ``make`` runs them: the package's pins apply); ``training`` adds the
    short training runs, whose digests are comparable only between fingerprints of one results schema."""
    kernels = {**_tensorflow_kernels(), **_numpy_kernels(), **(_training_runs(epochs) if training else {})}
    return {"machine": cpu(), "schema": RESULTS_SCHEMA, "digests": {name: digest(f()) for name, f in kernels.items()}}


def is_training_run(name: str) -> bool:
    """Whether a digest's entry is a training run (its result depends on the code, not only the machine)."""
    return name.startswith("train ")


def comparable(a: dict, b: dict) -> list[str]:
    """Names of the entries both fingerprints have that can be compared (in ``a``'s order): training runs
    only when both fingerprints have the same results schema (a schema change retrains them)."""
    runs = a.get("schema") is not None and a.get("schema") == b.get("schema")
    return [name for name in a["digests"] if name in b["digests"] and (runs or not is_training_run(name))]


def compare(a: dict, b: dict) -> list[str]:
    """Names of the ``comparable`` entries whose digests differ (in ``a``'s order)."""
    return [name for name in comparable(a, b) if a["digests"][name] != b["digests"][name]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qmoe_tfq.experiments.fingerprint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, help="write this machine's fingerprint (JSON) here")
    parser.add_argument(
        "--compare", type=Path, nargs="*", default=[], help="fingerprints to compare this machine's with"
    )
    parser.add_argument("--no-training", action="store_true", help="kernels only (seconds instead of about a minute)")
    args = parser.parse_args(argv)
    for path in args.compare:
        if not path.is_file():
            parser.error(f"--compare: {path} is not a file (expected a JSON written by --out)")
    here = fingerprint(training=not args.no_training)
    text = json.dumps(here, indent=1, sort_keys=True) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
    for path in args.compare:
        other = json.loads(path.read_text())
        diff = compare(here, other)
        who = (other.get("machine") or {}).get("model") or path.name
        shared = comparable(here, other)
        if len(shared) < len(here["digests"].keys() & other["digests"].keys()):
            print(
                f"against {who} ({path}): training runs not compared (results schema "
                f"{here.get('schema')} here, {other.get('schema', 'unrecorded')} there)",
                file=sys.stderr,
            )
        print(f"against {who} ({path}): {len(diff)} of {len(shared)} shared entries differ", file=sys.stderr)
        for name in diff:
            print(f"  differs: {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared helpers for the asv suite. Importing this module is cheap: no TensorFlow, no torch.

asv imports every benchmark module to discover benchmarks and then runs each benchmark (and each
parameter combination) in a fresh process, so TensorFlow is imported inside ``setup`` only.

``QMOE_BENCH_QUICK=1`` (set by ``make bench`` and the CI test) shrinks every parameter grid to one
or two representative points; without it the full grids below are used.
"""

from __future__ import annotations

import os

QUICK = os.environ.get("QMOE_BENCH_QUICK", "0").strip() not in ("", "0")

#: Module paths of the staged layout (issue #19) -> the flat modules they were before it. On a commit
#: from before, ``flat_layout_aliases`` makes the new paths import the old modules, so one benchmark
#: file measures commits from both sides of the move.
LAYOUT_ALIASES = {
    "qmoe_tfq.core.quiet": "qmoe_tfq.quiet",
    "qmoe_tfq.specs.config": "qmoe_tfq.config",
    "qmoe_tfq.circuits.router": "qmoe_tfq.circuits",
    "qmoe_tfq.models.mixture": "qmoe_tfq.model",
    "qmoe_tfq.models.routers": "qmoe_tfq.routers",
    "qmoe_tfq.models.routers.quantum": "qmoe_tfq.routers",
    "qmoe_tfq.models.noise_eval": "qmoe_tfq.noise_eval",
    "qmoe_tfq.training.train": "qmoe_tfq.train",
    "qmoe_tfq.training.stack": "qmoe_tfq.stacked",
    "qmoe_tfq.experiments.runner": "qmoe_tfq.runner",
    "qmoe_tfq.experiments.experiment": "qmoe_tfq.experiments",
    "qmoe_tfq.experiments.registry": "qmoe_tfq.registry",
}


def flat_layout_aliases() -> None:
    """Alias the new module paths to the old flat modules when the installed commit predates the layout
    (lazily: nothing is imported until a benchmark imports it). A no-op on a commit with the layout."""
    import importlib
    import importlib.abc
    import importlib.machinery
    import importlib.util
    import sys

    try:
        if importlib.util.find_spec("qmoe_tfq.specs") is not None:
            return
    except ImportError:
        return
    parents = {n.rsplit(".", k)[0] for n in LAYOUT_ALIASES for k in range(1, n.count("."))}

    class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name in parents:
                real = importlib.machinery.PathFinder.find_spec(name, path)
                if real is not None:  # an old module of that name (qmoe_tfq.experiments): also a package now
                    real.submodule_search_locations = []
                    return real
            if name in LAYOUT_ALIASES or name in parents:
                return importlib.util.spec_from_loader(name, self, is_package=name in parents)
            return None

        def create_module(self, spec):
            if spec.name in LAYOUT_ALIASES and spec.name not in parents:
                return importlib.import_module(LAYOUT_ALIASES[spec.name])
            return None

        def exec_module(self, module):
            old = LAYOUT_ALIASES.get(module.__name__)
            if old is not None and module.__name__ in parents:  # a package that is also an old module
                module.__dict__.update(
                    {k: v for k, v in vars(importlib.import_module(old)).items() if not k.startswith("__")}
                )

    if not any(type(f).__name__ == "_Alias" for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())


# Threads per benchmark process (default 1, as scikit-image pins them): stable numbers on a shared
# machine, and both stacks compared like for like. ``QMOE_BENCH_THREADS=0`` keeps library defaults.
THREADS = int(os.environ.get("QMOE_BENCH_THREADS", "1") or "0")

# The Two Moons epoch both stacks train on: the authors' data and batch size.
N_SAMPLES = 500
BATCH = 32
LR = 0.1


flat_layout_aliases()


def grid(full: list, quick: list) -> list:
    """``quick`` under QMOE_BENCH_QUICK=1, else ``full``."""
    return list(quick if QUICK else full)


def moons():
    """(x float32 (500, 2) in [0, pi], y int32): the authors' make_moons(500, 0.1, 42) set."""
    import numpy as np

    from .authors_stack import moons_angles

    x, y = moons_angles(N_SAMPLES)
    return x, y.astype(np.int32)


def pin_threads_env() -> None:
    """Limit OpenMP/BLAS thread pools (before the libraries that read these variables load)."""
    if THREADS > 0:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(THREADS)


def tensorflow():
    """Import TensorFlow the way the package needs it (Keras 2), with ``THREADS`` threads."""
    pin_threads_env()
    import tensorflow as tf

    import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

    if THREADS > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        except RuntimeError:  # the runtime is already initialised in this process
            pass
    quiet_device_probe(tf)
    return tf


def quiet_device_probe(tf) -> None:
    """List the devices now, with TensorFlow's CUDA probing lines ("failed call to cuInit") filtered
    out of stderr (``qmoe_tfq.core.quiet``): in a process forked from asv's forkserver, which imported
    TensorFlow without probing, the first op would otherwise print them, once per benchmark process.
    Other lines written meanwhile still get through."""
    try:
        from qmoe_tfq.core.quiet import filtered_stderr
    except ImportError:
        try:
            from qmoe_tfq.quiet import filtered_stderr
        except ImportError:  # a commit from before qmoe_tfq.quiet
            return
    with filtered_stderr():
        try:
            tf.config.list_physical_devices()
        except Exception:  # noqa: BLE001  (a broken device setup surfaces at the first op instead)
            pass


def make_model(router: str, n_features: int = 2, n_classes: int = 2, seed: int = 0, **spec_kwargs):
    """``build_model`` for a benchmark router label.

    Labels: ``quantum`` (authors' Model B, default settings: the exact readout is evaluated the
    fastest exact way), ``quantum_tfq`` (the same on TFQ's analytic op, the reference engine;
    skipped on commits without ``ModelSpec.simulator``), ``quantum_direct`` (the same model forced
    to simulate one circuit per input row), ``linear`` (Model A), ``mlp`` (h=8), ``mlp_h4``
    (parameter-matched: 22 router params).
    """
    tensorflow()
    from qmoe_tfq.models.mixture import build_model
    from qmoe_tfq.specs.config import ModelSpec

    kinds = {
        "quantum": {"router": "quantum"},
        "quantum_tfq": {"router": "quantum", "simulator": "tfq"},
        "quantum_direct": {"router": "quantum"},
        "linear": {"router": "linear"},
        "mlp": {"router": "mlp", "hidden": 8},
        "mlp_h4": {"router": "mlp", "hidden": 4},
    }
    kwargs = {**kinds[router], **spec_kwargs}
    if "simulator" in kwargs and "simulator" not in getattr(ModelSpec, "__dataclass_fields__", {}):
        raise NotImplementedError("ModelSpec has no simulator field in this commit")
    spec = ModelSpec(**kwargs)
    model = build_model(spec, n_features, n_classes, seed)
    if router == "quantum_direct":
        model.router.evaluation = "direct"
    return model


def epoch_runner(model, n_features: int, lr: float = LR, batch_size: int = BATCH):
    """A callable ``run(x, y)`` that trains ``model`` for one pass over ``x, y`` in order.

    Uses ``qmoe_tfq.training.train.EpochTrainer`` (what ``fit`` runs) when the installed commit has it; on
    older commits it rebuilds what their ``fit`` ran per epoch (one ``tf.function`` step per batch),
    so ``asv continuous`` compares the same work: one epoch in steady state, tracing excluded.
    """
    try:
        from qmoe_tfq.training.train import EpochTrainer
    except ImportError:
        EpochTrainer = None
    if EpochTrainer is not None:
        return EpochTrainer(model, n_features, lr, batch_size).run_epoch

    tf = tensorflow()
    import tf_keras as keras

    optimizer = keras.optimizers.Adam(learning_rate=lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    variables = model.trainable_variables
    spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None], tf.int32))

    @tf.function(input_signature=spec)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb))
            mean = loss / tf.cast(tf.shape(xb)[0], tf.float32)
        optimizer.apply_gradients(zip(tape.gradient(mean, variables), variables))
        return loss

    def run(x, y):
        return [
            float(step(tf.constant(x[s : s + batch_size]), tf.constant(y[s : s + batch_size])))
            for s in range(0, len(x), batch_size)
        ]

    return run

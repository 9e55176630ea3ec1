"""Stage: core. Keep TensorFlow's known-harmless start-up noise off the terminal, and nothing else.

Every process that imports TensorFlow 2.18 from the pip wheel prints, on a machine without a GPU
driver, C++ log lines that read like failures: cuFFT/cuDNN/cuBLAS factories "already registered"
(absl, written before logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them) and
"failed call to cuInit" when devices are first listed. ``install`` (run by ``import qmoe_tfq``)
filters exactly those lines out of the process's stderr while TensorFlow is imported and its devices
are listed; every other line written meanwhile is replayed afterwards. It also drops TensorFlow's
"triggered tf.function retracing" warning: each model here compiles its own functions once, which
that counter reports as retracing, and two deprecation notices the pinned dependencies raise about their
own future versions (``DEPENDENCY_NOTICES``). ``QMOE_TF_LOGS=all`` turns the filtering off.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager

BENIGN_STDERR = re.compile(
    r"Unable to register cu(FFT|DNN|BLAS) factory: Attempting to register factory for plugin"
    r"|All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|failed call to cuInit"
)
RETRACING = "triggered tf.function retracing"
#: Deprecation notices raised inside the pinned dependencies, about their future versions, not about
#: anything this package can change: cirq 1.5's own ``optimize_for_target_gateset`` builds
#: ``CircuitOperation``s without ``use_repetition_ids`` (device compilation printed it about 12,000
#: times per ``make paper``, 6 lines each), and google.api_core announces the end of Python 3.11 support.
DEPENDENCY_NOTICES = (
    r"In cirq 1\.6 the default value of `use_repetition_ids` will change",
    r"You are using a Python version \(3\.11",
)


@contextmanager
def filtered_stderr(pattern: re.Pattern = BENIGN_STDERR):
    """Capture file descriptor 2 while the block runs, then write back the lines not matching ``pattern``."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not pattern.search(line))
            if kept:
                os.write(2, kept.encode("utf-8"))


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` inside ``filtered_stderr`` and lists the devices there."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self._loader
        with filtered_stderr():
            self._loader.exec_module(module)
            try:
                module.config.list_physical_devices()  # the cuInit probe, here rather than at the first op
            except Exception:  # noqa: BLE001  (a broken device setup surfaces at the first op instead)
                pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def import_tensorflow(list_devices: bool = True):
    """Import TensorFlow with its start-up lines filtered, and return it.

    ``list_devices=False`` skips the device probe (no CUDA initialisation; the import itself starts
    no threads when OpenMP is pinned to one), so the process can still fork safely afterwards, as
    asv's forkserver does (``benchmarks/bench_accuracy.py``).
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    finders = [f for f in sys.meta_path if isinstance(f, _QuietTensorFlowFinder)]
    for finder in finders:
        sys.meta_path.remove(finder)
    try:
        with filtered_stderr():
            import tensorflow as tf

            if list_devices:
                tf.config.list_physical_devices()
    finally:
        sys.meta_path[:0] = finders
    return tf


class _DropRetracing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING not in record.getMessage()


def install() -> None:
    """Filter TensorFlow's start-up lines (if it is not imported yet), its retracing warnings and the
    dependencies' deprecation notices (``DEPENDENCY_NOTICES``)."""
    if os.environ.get("QMOE_TF_LOGS", "").strip().lower() == "all":
        return
    for message in DEPENDENCY_NOTICES:
        warnings.filterwarnings("ignore", message=message, category=FutureWarning)
    tf_logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _DropRetracing) for f in tf_logger.filters):
        tf_logger.addFilter(_DropRetracing())
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())

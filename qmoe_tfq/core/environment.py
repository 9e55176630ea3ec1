"""Stage: core. The TensorFlow environment and the instruction-set pins, set before TensorFlow can be imported.

TFQ 0.7.6 works only with Keras 2 (``tf_keras``), so ``TF_USE_LEGACY_KERAS=1``; ``TF_CPP_MIN_LOG_LEVEL=2``
turns TensorFlow's C++ info and warning lines off (errors stay). ``qmoe_tfq/__init__.py`` calls
``configure()`` first thing, so any ``import qmoe_tfq...`` sets them.
"""

from __future__ import annotations

import os
import platform
import sys
import warnings

#: numpy's names of the AVX-512 feature groups its kernels dispatch on (numpy 2.0).
_NUMPY_AVX512 = (
    "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR AVX512FP16"
)

#: Kernel pins, x86-64 only (issue #19: the same numbers on every machine). oneDNN (TensorFlow's matrix
#: products) and numpy pick their kernels at run time by the CPU's instruction sets, and kernels of
#: different widths round differently: the same run trained on an AVX-512 and an AVX2 machine gave
#: different validation losses, and then different tuned choices; so both are capped at AVX2. TensorFlow's
#: oneDNN operations are pinned off: TensorFlow turns them on by default only on CPUs with AVX512_VNNI,
#: AVX512_BF16 or AMX (TensorFlow 2.9's release notes), and on an Intel Xeon (Emerald Rapids, on by
#: default) they changed a Two Moons MLP run's losses from the 8th digit. Necessary, not sufficient: with
#: every pin an Intel Xeon and an AMD EPYC (Zen 1) still compute different numbers (docs/guide/reproducing.md,
#: "Numbers across machines"). Set before numpy and TensorFlow load (``configure``; the Makefile exports
#: them too, for processes that import numpy before this package).
#: numpy's and scipy's OpenBLAS choose their kernels by processor generation as well (Cooperlake and SkylakeX
#: kernels on an AVX-512 AMD EPYC Zen 4, Haswell kernels on AVX2 machines), and the scikit-learn baselines'
#: products go through it: 2 of 53 committed runs (Fourier-feature logistic regression and RBF-SVM) moved in
#: their validation losses' last bits with the Haswell kernels, so OpenBLAS is pinned to them everywhere.
ISA_PINS: dict[str, str] = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": _NUMPY_AVX512,
    "OPENBLAS_CORETYPE": "Haswell",
}


#: One thread for every pool a process computes with (OpenMP, OpenBLAS, MKL, TensorFlow's intra- and inter-op):
#: the runner's worker processes and the notebook kernels run with it, so several of them side by side do not
#: oversubscribe the cores and what they compute does not depend on the machine's core count.
ONE_THREAD: dict[str, str] = {
    var: "1"
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    )
}


def configure() -> None:
    """Set the TensorFlow environment variables and the instruction-set pins (keeping any the caller
    set), and silence known noise. Warns when numpy was imported unpinned and dispatches on AVX-512."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if platform.machine().lower() in ("x86_64", "amd64"):
        for name, value in ISA_PINS.items():
            os.environ.setdefault(name, value)
        _check_numpy_pinned()
    # In a notebook kernel without ipywidgets, tqdm.auto falls back to text bars (what we want) and warns.
    warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)


def _check_numpy_pinned() -> None:
    """A RuntimeWarning when numpy, already imported, runs AVX-512 kernels (imported before the pin).

    Only numpy's dispatch targets count: ``__cpu_features__`` lists every feature the CPU has (an Emerald
    Rapids Xeon reports AVX512_SPR and AVX512FP16, which numpy 2.0 has no kernels for and cannot disable)."""
    if "numpy" not in sys.modules:
        return
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__ as targets
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # another numpy layout: nothing to check
        return
    active = sorted(f for f in targets if f.startswith("AVX512") and features.get(f))
    if active:
        warnings.warn(
            f"numpy was imported before qmoe_tfq and dispatches on {', '.join(active)}: its results may differ "
            "in the last bits from other machines'; for numbers identical across machines set "
            f"NPY_DISABLE_CPU_FEATURES={_NUMPY_AVX512!r} before Python starts (make test and make paper do)",
            RuntimeWarning,
            stacklevel=3,
        )


__all__ = ["ISA_PINS", "configure"]

"""Stage: core. The TensorFlow environment, set before TensorFlow can be imported.

TFQ 0.7.6 works only with Keras 2 (``tf_keras``), so ``TF_USE_LEGACY_KERAS=1``; ``TF_CPP_MIN_LOG_LEVEL=2``
turns TensorFlow's C++ info and warning lines off (errors stay). ``qmoe_tfq/__init__.py`` calls
``configure()`` first thing, so any ``import qmoe_tfq...`` sets them.
"""

from __future__ import annotations

import os
import warnings


def configure() -> None:
    """Set the TensorFlow environment variables (keeping any the caller set) and silence known noise."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # In a notebook kernel without ipywidgets, tqdm.auto falls back to text bars (what we want) and warns.
    warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)


__all__ = ["configure"]

"""qmoe-tfq: the hybrid quantum-classical mixture of experts (arXiv 2512.22296) in Cirq + TFQ.

Importing the package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow can be imported, because
TFQ 0.7.6 works only with Keras 2 (``tf_keras``). TensorFlow itself is imported lazily, by the
modules that need it (``routers``, ``experts``, ``model``, ``train``).
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from qmoe_tfq.errors import ConfigError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ConfigError", "__version__"]

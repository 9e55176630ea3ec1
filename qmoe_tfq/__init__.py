"""qmoe-tfq: the hybrid quantum-classical mixture of experts (arXiv 2512.22296) in Cirq + TFQ.

Importing the package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow can be imported, because
TFQ 0.7.6 works only with Keras 2 (``tf_keras``), and ``TF_CPP_MIN_LOG_LEVEL=2`` (TensorFlow's C++
info and warning lines off; errors stay). TensorFlow itself is imported lazily, by the modules that
need it (``routers``, ``experts``, ``model``, ``train``); ``qmoe_tfq.quiet`` keeps its known-harmless
start-up lines (CUDA probing on a machine without a GPU) and retracing warnings off the terminal.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from qmoe_tfq import quiet  # noqa: E402
from qmoe_tfq.errors import ConfigError  # noqa: E402

quiet.install()
# In a notebook kernel without ipywidgets, tqdm.auto falls back to text bars (what we want) and warns.
warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)

__version__ = "0.1.0"
__all__ = ["ConfigError", "__version__"]

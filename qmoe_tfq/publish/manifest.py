"""Stage: publish. Provenance of one ``make paper`` run: ``manifest.json``, and the check that ``paper/`` is current.

Every table and figure is written through ``qmoe_tfq.reporting.report``, which leaves a small sidecar
(``.<name>.sources.json``) next to it: the files, the caption, the study and the config hashes
(``qmoe_tfq.experiments.experiment.config_key``) of the runs behind it. ``build_manifest`` folds the sidecars of
a finished run into one manifest together with the commit, whether the working tree was dirty, the
size (QUICK or full), the versions of the packages that shape the numbers, start and end times, every
file's sha256, and the config hashes of each study's planned grid. ``rendered_at`` is the commit (and
dirty flag) the notebooks were rendered from, ``computed_at`` the commits that computed the cached
runs behind the planned keys (``runner.provenance_of``: one ``{commit, dirty, runs}`` per commit, most
runs first); ``generator`` marks the folder as written by ``qmoe_tfq.publish.paper``. ``stale_studies`` compares those
planned hashes with the ones the code gives now, so a changed grid or ``RESULTS_SCHEMA`` cannot land
without regenerating ``paper/`` (``tests/test_manifest.py``).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from qmoe_tfq.core.gitstate import OUTPUT_DIRS, git_state  # noqa: F401
from qmoe_tfq.core.io import atomic_write_text
from qmoe_tfq.core.machine import cpu
from qmoe_tfq.core.paths import ROOT
from qmoe_tfq.reporting.provenance import NOTEBOOK_ENV, SIDECAR_SUFFIX, record_output, sidecar_path, source_keys  # noqa: F401

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
GENERATOR = "qmoe_tfq.publish.paper"  # the manifest's "generator": the paper driver may replace such a folder
# Distributions whose versions can change the numbers or the files (pip names).
PACKAGES = (
    "qmoe-tfq",
    "tensorflow",
    "tf-keras",
    "tensorflow-quantum",
    "cirq-core",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "joblib",
    "jupytext",
    "nbclient",
    "nbconvert",
)


def collect_outputs(out_dir: Path | str, remove: bool = True) -> dict[str, dict]:
    """The sidecars under ``out_dir`` keyed by output id (``tables/two_moons_fair``); deleted when
    ``remove``. Each record's ``files`` become paths relative to ``out_dir``."""
    out_dir = Path(out_dir)
    outputs = {}
    for sidecar in sorted(out_dir.rglob(f".*{SIDECAR_SUFFIX}")):
        record = json.loads(sidecar.read_text())
        folder = sidecar.parent.relative_to(out_dir)
        name = sidecar.name[1 : -len(SIDECAR_SUFFIX)]
        record["files"] = [(folder / f).as_posix() for f in record["files"]]
        outputs[(folder / name).as_posix()] = record
        if remove:
            sidecar.unlink()
    return outputs


def planned_keys(
    quick: bool, studies: Iterable[str] | None = None, chosen: Mapping[str, dict] | None = None
) -> dict[str, list[str]]:
    """Config hashes of every planned (experiment, seed) of each study, sorted (no training).

    ``chosen``: the tuned protocols' chosen parameters by evaluation name (recorded in the manifest);
    with them the evaluation runs they imply are planned too, so a change to how a chosen
    configuration is evaluated (seeds, budget, probes) makes the study stale as well."""
    from qmoe_tfq.experiments.experiment import config_key
    from qmoe_tfq.studies import STUDIES, study_experiments

    names = list(STUDIES) if studies is None else list(studies)
    return {
        name: sorted({config_key(e, s) for e in study_experiments(name, quick, dict(chosen or {})) for s in e.seeds})
        for name in names
    }


def keys_digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions (None when absent), without importing the packages."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_hashes(out_dir: Path | str, skip: Iterable[str] = (MANIFEST_NAME,)) -> dict[str, str]:
    """sha256 of every file under ``out_dir`` (relative POSIX paths), hidden files excepted."""
    out_dir = Path(out_dir)
    skip = set(skip)
    hashes = {}
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if path.is_file() and rel.as_posix() not in skip and not any(p.startswith(".") for p in rel.parts):
            hashes[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def build_manifest(
    out_dir: Path | str,
    *,
    quick: bool,
    started: str,
    finished: str,
    notebooks: list[str],
    studies: Mapping[str, list[str]],
    outputs: Mapping[str, dict],
    root: Path = ROOT,
    chosen: Mapping[str, dict] | None = None,
    cache_dir: Path | str | None = None,
) -> dict:
    """The manifest of the run whose files are in ``out_dir``; ``cache_dir``: the run cache the
    provenance of the planned runs is read from (default: the runner's)."""
    from qmoe_tfq.experiments.runner import provenance_of

    state = git_state(root)
    planned = sorted({k for keys in studies.values() for k in keys})
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": GENERATOR,
        "size": "QUICK" if quick else "full",
        "quick": quick,
        **state,
        "rendered_at": {"commit": state["commit"], "dirty": state["dirty"]},
        "computed_at": provenance_of(planned, cache_dir),
        "started": started,
        "finished": finished,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": cpu(),
        "packages": package_versions(),
        "notebooks": notebooks,
        "studies": {
            name: {"n_runs": len(keys), "keys_sha256": keys_digest(keys), "keys": sorted(keys)}
            for name, keys in studies.items()
        },
        "chosen": {name: dict(params) for name, params in sorted((chosen or {}).items())},
        "outputs": dict(outputs),
        "files": file_hashes(out_dir),
    }


def write_manifest(out_dir: Path | str, manifest: dict) -> Path:
    return atomic_write_text(Path(out_dir) / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")


def read_manifest(out_dir: Path | str) -> dict:
    return json.loads((Path(out_dir) / MANIFEST_NAME).read_text())


def stale_studies(manifest: Mapping, current: Mapping[str, list[str]]) -> dict[str, str]:
    """Studies whose planned runs differ between ``manifest`` and ``current`` (``planned_keys``), with why.

    A study is stale when it is missing from the manifest, when the manifest has a study the code
    no longer has, or when the config hashes differ (a changed grid, budget, seed list, data, code
    version or ``RESULTS_SCHEMA``).
    """
    recorded = manifest.get("studies", {})
    stale = {}
    for name, keys in current.items():
        if name not in recorded:
            stale[name] = "not in the manifest"
            continue
        old, new = set(recorded[name]["keys"]), set(keys)
        if old != new:
            stale[name] = (
                f"{len(new - old)} planned run(s) not in the manifest, {len(old - new)} in the "
                "manifest no longer planned"
            )
    for name in recorded:
        if name not in current:
            stale[name] = "in the manifest but no longer a study"
    return stale


def changed_files(out_dir: Path | str, manifest: Mapping) -> list[str]:
    """Files under ``out_dir`` that are missing, extra or different from the manifest's hashes."""
    now = file_hashes(out_dir)
    recorded = manifest.get("files", {})
    return sorted(p for p in set(now) | set(recorded) if now.get(p) != recorded.get(p))


__all__ = [
    "GENERATOR",
    "MANIFEST_NAME",
    "source_keys",
    "record_output",
    "collect_outputs",
    "planned_keys",
    "git_state",
    "package_versions",
    "file_hashes",
    "build_manifest",
    "write_manifest",
    "read_manifest",
    "stale_studies",
    "changed_files",
]

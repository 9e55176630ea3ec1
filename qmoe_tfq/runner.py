"""The one experiment runner: cached, parallel, resumable.

Each (config, seed) result is a JSON file ``<cache_dir>/<key>.json`` holding the config, the seed,
the result and a sha256 of the result. Entries are written atomically as each run finishes, so
Ctrl-C or a kill loses at most the runs in flight, and rerunning continues from the cache. An entry
that does not parse, does not match its key or fails its checksum is reported and recomputed, never
used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Iterable

import pandas as pd

from qmoe_tfq.experiments import Experiment, config_key, run_one
from qmoe_tfq.io import atomic_write_text
from qmoe_tfq.workers import exit_with_parent

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / ".cache" / "runs"
REQUIRED_RESULT_KEYS = ("train_accuracy", "test_accuracy", "total_params", "train_seconds")


class CorruptCacheEntry(Exception):
    """A cache file exists but cannot be trusted."""


def default_cache_dir() -> Path:
    """``$QMOE_CACHE_DIR`` or ``.cache/runs`` in the repository."""
    return Path(os.environ.get("QMOE_CACHE_DIR", DEFAULT_CACHE))


def _checksum(result: dict) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def read_entry(path: Path, key: str) -> dict:
    """The cached result at ``path``; raises CorruptCacheEntry if it cannot be trusted."""
    try:
        entry = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCacheEntry(f"unreadable JSON ({err.__class__.__name__}: {err})") from None
    if not isinstance(entry, dict) or entry.get("key") != key:
        raise CorruptCacheEntry("key field missing or different from the file name")
    result = entry.get("result")
    if not isinstance(result, dict) or any(k not in result for k in REQUIRED_RESULT_KEYS):
        raise CorruptCacheEntry("result missing or incomplete")
    if entry.get("sha256") != _checksum(result):
        raise CorruptCacheEntry("checksum mismatch (edited or partially written)")
    return result


def write_entry(path: Path, key: str, experiment: Experiment, seed: int, result: dict) -> None:
    """Store one result atomically with its checksum."""
    entry = {
        "key": key,
        "config": experiment.config(),
        "seed": int(seed),
        "result": result,
        "sha256": _checksum(result),
    }
    atomic_write_text(path, json.dumps(entry, sort_keys=True))


def _limit_threads(jobs: int) -> None:
    """With several worker processes on few cores, one thread each avoids oversubscription."""
    if jobs > 1:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        try:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass


def _compute(experiment: Experiment, seed: int, key: str, cache_dir: Path, jobs: int) -> tuple[str, dict]:
    if jobs > 1:  # in a joblib worker
        exit_with_parent()
    _limit_threads(jobs)
    result = run_one(experiment, seed)
    write_entry(cache_dir / f"{key}.json", key, experiment, seed, result)
    return key, result


def _row(experiment: Experiment, seed: int, key: str, result: dict) -> dict:
    """One output row; result columns sorted, so fresh and cached runs give identical frames."""
    ordered = {k: result[k] for k in sorted(result)}
    return {"experiment": experiment.name, "protocol": experiment.protocol, "seed": seed, "key": key, **ordered}


def run_experiments(
    experiments: Iterable[Experiment],
    jobs: int = 1,
    cache_dir: Path | str | None = None,
    progress: bool = True,
    desc: str = "runs",
) -> pd.DataFrame:
    """Run every (experiment, seed) not already cached; return one row per (experiment, seed).

    Rows come in the order of ``experiments`` and their seeds, whatever order runs finished in.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    planned = [(exp, seed, config_key(exp, seed)) for exp in experiments for seed in exp.seeds]
    names = [exp.name for exp in {id(e): e for e, _, _ in planned}.values()]
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"experiment names must be unique within one call; repeated: {dupes}")
    results: dict[str, dict] = {}
    todo = []
    for exp, seed, key in planned:
        path = cache / f"{key}.json"
        if key in results:
            continue
        if path.exists():
            try:
                results[key] = read_entry(path, key)
                continue
            except CorruptCacheEntry as err:
                warnings.warn(f"corrupted cache entry {path} ({exp.name}, seed {seed}): {err}; recomputing")
                path.unlink(missing_ok=True)
        todo.append((exp, seed, key))
    if todo:
        bar = tqdm(total=len(todo), desc=desc, unit="run", disable=not progress, file=sys.stderr)
        bar.set_postfix_str(f"{len(planned) - len(todo)} cached")
        if jobs == 1:
            outputs: Iterable = (_compute(e, s, k, cache, jobs) for e, s, k in todo)
        else:
            outputs = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                delayed(_compute)(e, s, k, cache, jobs) for e, s, k in todo
            )
        for key, result in outputs:
            results[key] = result
            bar.update()
        bar.close()
    return pd.DataFrame([_row(exp, seed, key, results[key]) for exp, seed, key in planned])

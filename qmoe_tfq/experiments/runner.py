"""Stage: experiments. The one experiment runner: cached, parallel, resumable.

Each (config, seed) result is a JSON file ``<cache_dir>/<key>.json`` holding the key, the config,
the seed, the results schema (``RESULTS_SCHEMA``), the result, its provenance (the commit that computed
it and whether the working tree was dirty: ``{"commit": <sha or null>, "dirty": <bool or null>}``) and
a sha256 over all of those. Entries are written atomically as each run finishes, so Ctrl-C or a kill
loses at most the runs in flight, and rerunning continues from the cache. An entry that does not
parse, does not match its key, lacks a field (an entry from before provenance was recorded) or fails
its checksum (any stored field edited) is reported and recomputed, never used. ``provenance_of``
tells which commits computed a set of cached runs (``manifest.json``'s ``computed_at``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pandas as pd

from qmoe_tfq.core.environment import ONE_THREAD
from qmoe_tfq.core.gitstate import git_state
from qmoe_tfq.core.io import atomic_write_text
from qmoe_tfq.core.machine import cpu
from qmoe_tfq.core.paths import ROOT
from qmoe_tfq.core.workers import exit_with_parent
from qmoe_tfq.experiments.experiment import RESULTS_SCHEMA, Experiment, config_key, run_group, run_one, stack_key
from qmoe_tfq.experiments.pool import SharedPool, stage_line
from qmoe_tfq.training.lanes import LANES, lanes_for, round_up

DEFAULT_CACHE = ROOT / ".cache" / "runs"
REQUIRED_RESULT_KEYS = ("train_accuracy", "test_accuracy", "total_params", "train_seconds")


class CorruptCacheEntry(Exception):
    """A cache file exists but cannot be trusted."""


def default_cache_dir() -> Path:
    """``$QMOE_CACHE_DIR`` or ``.cache/runs`` in the repository.

    Returns
    -------
    pathlib.Path
        The folder of cached results (not created here).

    Examples
    --------
    >>> import os
    >>> from qmoe_tfq.experiments.runner import default_cache_dir
    >>> saved = os.environ.pop("QMOE_CACHE_DIR", None)
    >>> default_cache_dir().parts[-2:]
    ('.cache', 'runs')
    >>> os.environ["QMOE_CACHE_DIR"] = "/tmp/qmoe-cache"
    >>> str(default_cache_dir())
    '/tmp/qmoe-cache'
    >>> _ = os.environ.pop("QMOE_CACHE_DIR")
    >>> if saved is not None:
    ...     os.environ["QMOE_CACHE_DIR"] = saved
    """
    return Path(os.environ.get("QMOE_CACHE_DIR", DEFAULT_CACHE))


# Fields of an entry the checksum covers (everything it stores but the checksum itself).
ENTRY_FIELDS = ("key", "config", "seed", "schema", "result", "provenance")


class OldCacheEntry(CorruptCacheEntry):
    """An entry written before every field was recorded and checksummed (no schema or provenance)."""


@cache
def current_provenance() -> dict:
    """``{"commit", "dirty", "cpu"}``: the working tree this process runs from (once per process; generated
    folders excluded from the dirty check, as in ``core.gitstate.git_state``; both None outside git) and
    the processor's model name (``core.machine.cpu``): numbers are not yet identical across processors."""
    state = git_state(ROOT)
    return {"commit": state["commit"], "dirty": state["dirty"], "cpu": cpu()["model"]}


def _checksum(entry: dict) -> str:
    payload = {k: entry.get(k) for k in ENTRY_FIELDS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_full_entry(path: Path, key: str) -> dict:
    """The whole cache entry at ``path`` (key, config, seed, schema, result, provenance, sha256).

    Raises
    ------
    CorruptCacheEntry
        The file does not parse, names another key, lacks a field (``OldCacheEntry``: an entry from
        before schema and provenance were recorded) or fails its checksum (any stored field edited).
    """
    try:
        entry = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCacheEntry(f"unreadable JSON ({err.__class__.__name__}: {err})") from None
    if not isinstance(entry, dict) or entry.get("key") != key:
        raise CorruptCacheEntry("key field missing or different from the file name")
    result = entry.get("result")
    if not isinstance(result, dict) or any(k not in result for k in REQUIRED_RESULT_KEYS):
        raise CorruptCacheEntry("result missing or incomplete")
    if "provenance" not in entry and "schema" not in entry:
        raise OldCacheEntry("written by an older version (no schema or provenance recorded)")
    missing = [k for k in ENTRY_FIELDS if k not in entry]
    if missing:
        raise CorruptCacheEntry(f"field(s) {', '.join(missing)} missing")
    if entry.get("sha256") != _checksum(entry):
        raise CorruptCacheEntry("checksum mismatch (a field edited or partially written)")
    provenance = entry["provenance"]
    if not isinstance(provenance, dict) or set(provenance) - {"cpu"} != {"commit", "dirty"}:
        raise CorruptCacheEntry("provenance is not {commit, dirty[, cpu]}")
    return entry


def read_entry(path: Path, key: str) -> dict:
    """The cached result at ``path``.

    Raises
    ------
    CorruptCacheEntry
        As ``read_full_entry``.
    """
    return read_full_entry(path, key)["result"]


def write_entry(
    path: Path, key: str, experiment: Experiment, seed: int, result: dict, provenance: dict | None = None
) -> None:
    """Store one result atomically with its schema, provenance and a checksum over all of them.

    Parameters
    ----------
    path : pathlib.Path
        The cache file, ``<cache_dir>/<key>.json``.
    key : str
        The run's config hash (``experiments.experiment.config_key``).
    experiment : Experiment
        The run's experiment; its ``config()`` is stored beside the result.
    seed : int
        The run's seed.
    result : dict
        What the run produced (JSON types), with at least ``REQUIRED_RESULT_KEYS``.
    provenance : dict or None, default None
        ``{"commit", "dirty"}`` of the code that computed it; None: ``current_provenance()``.
    """
    entry = {
        "key": key,
        "config": experiment.config(),
        "seed": int(seed),
        "schema": RESULTS_SCHEMA,
        "result": result,
        "provenance": dict(provenance if provenance is not None else current_provenance()),
    }
    # the checksum of the entry as it reads back (JSON turns tuples into lists)
    entry = json.loads(json.dumps(entry, sort_keys=True))
    entry["sha256"] = _checksum(entry)
    atomic_write_text(path, json.dumps(entry, sort_keys=True))


def provenance_of(keys: Iterable[str], cache_dir: Path | str | None = None) -> list[dict]:
    """The distinct provenances of the cached runs ``keys``: ``[{"commit", "dirty", "cpu", "runs"}, ...]``,
    most runs first (then by commit, then processor; ``cpu`` None for entries written before it was
    recorded). Keys without a trustworthy entry in the cache are left out."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    counts: Counter = Counter()
    for key in set(keys):
        try:
            provenance = read_full_entry(cache_dir / f"{key}.json", key)["provenance"]
        except CorruptCacheEntry:
            continue
        counts[(provenance["commit"], provenance["dirty"], provenance.get("cpu"))] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], *(str(v) for v in item[0])))
    return [{"commit": commit, "dirty": dirty, "cpu": cpu_, "runs": n} for (commit, dirty, cpu_), n in ordered]


def _limit_threads(limit: bool) -> None:
    """With several worker processes on few cores, one thread each avoids oversubscription."""
    if limit:
        for var, value in ONE_THREAD.items():
            os.environ.setdefault(var, value)
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        try:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass


Task = tuple[Experiment, int, str]


def _ignore_interrupts() -> None:
    """In a worker: ignore SIGINT. A terminal's Ctrl-C reaches the whole process group; the parent
    handles it (joblib terminates its workers, ``make paper`` exits and they follow it,
    ``exit_with_parent``), so the workers print no KeyboardInterrupt tracebacks of their own."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Bytes a loky worker may grow by before loky replaces it (loky's leak guard, 300 MB by default). A
#: worker's traced graphs are bounded by the per-thread caches (``core.cache.ThreadCache``) but pass
#: 300 MB, and each replacement costs a TensorFlow import and every trace again: on the QUICK studies
#: two_moons, efficiency, mechanism and phase1 (2 workers) 84 s of CPU with the default, 67 s with 1.5 GB.
#: Keeping 64 traced stacks (``training.lanes.TRACED_STACKS``) passed 1.5 GB late in a full make paper: both
#: workers were replaced with a minute of work left, and their successors traced 78 stacks again. 4 GB
#: per worker leaves room on a 2-core machine with 24 GB.
WORKER_MEMORY_GROWTH = int(4e9)


def _tolerate_traced_graphs() -> None:
    """In a loky worker: raise loky's leak guard to ``WORKER_MEMORY_GROWTH``."""
    from joblib.externals.loky import process_executor

    process_executor._MAX_MEMORY_LEAK_SIZE = max(process_executor._MAX_MEMORY_LEAK_SIZE, WORKER_MEMORY_GROWTH)


def _compute(tasks: list[Task], threads_limited: bool) -> list[tuple[str, dict]]:
    """Run a job (tasks that may share a stack) in a worker; ``(key, result)`` per task. Results go
    back to the caller, which writes the cache, so workers need no shared disk."""
    if threads_limited:  # in a worker process of a parallel run
        exit_with_parent()
        _ignore_interrupts()
        _tolerate_traced_graphs()
    _limit_threads(threads_limited)
    results = run_group([(e, s) for e, s, _ in tasks]) if len(tasks) > 1 else [run_one(*tasks[0][:2])]
    return [(key, result) for (_, _, key), result in zip(tasks, results)]


# Largest job of stackable runs: big enough to amortise tracing and per-call overheads, small enough
# that a study's groups spread over the workers.
MAX_JOB = 64


def plan_jobs(tasks: list[Task], jobs: int = 1) -> list[list[Task]]:
    """Tasks grouped into jobs: runs sharing a ``stack_key`` together (at most ``MAX_JOB``, and split
    so every worker gets work when there are few groups), every other run alone; the costliest
    first (``job_cost``). Rows still come back in planned order. A group is split into jobs of whole
    ``LANES`` blocks (only its last job may fill a block partly), never smaller than one block, so
    splitting adds no idle lanes: 24 runs of one stack for two workers go out as 16 + 8 (32 lanes),
    not four jobs of 6 (64 lanes).

    Parameters
    ----------
    tasks : list of tuple
        ``(experiment, seed, key)`` triples still to run.
    jobs : int, default 1
        Worker processes the jobs will be spread over.

    Returns
    -------
    list of list of tuple
        The jobs, each a list of tasks that train as one stack (or a single task).
    """
    groups: dict[object, list[Task]] = {}
    for i, task in enumerate(tasks):
        key = stack_key(task[0])
        groups.setdefault(("alone", i) if key is None else key, []).append(task)
    out = []
    for group in groups.values():
        cap = min(MAX_JOB, max(LANES, round_up(-(-len(tasks) // (2 * jobs)), LANES)), len(group))
        n = -(-len(group) // cap)
        size = min(round_up(-(-len(group) // n), LANES), cap)
        out += [group[i : i + size] for i in range(0, len(group), size)]
    return sorted(out, key=job_cost, reverse=True)


def job_cost(job: list[Task]) -> float:
    """A rough relative cost of a job, for scheduling the longest first (so no worker is left with a
    long job at the end): runs x epochs x training rows x the router's simulation cost (a quantum
    router's state grows as 2^qubits, a noisy one's density matrix as 4^qubits; Phase 1's quantum
    experts, one 2^qubits state each).

    Parameters
    ----------
    job : list of tuple
        The job's ``(experiment, seed, key)`` tasks (one architecture).

    Returns
    -------
    float
        A relative cost, comparable between jobs only.
    """
    exp = job[0][0]
    p = exp.model.param_dict
    rows = exp.data.n_samples or 2000
    cost = len(job) * p.get("max_epochs", 50) * rows
    if p.get("router") == "quantum":
        n = p.get("n_qubits") or exp.data.n_features
        cost *= (4.0 if p.get("noise", 0) else 2.0) ** min(n, 12)
    if exp.model.kind == "phase1" and p.get("model") != "classical_moe":
        experts = 1 if p.get("model") == "qnn" else p.get("n_experts", 3)
        cost *= experts * 2.0 ** min(p.get("n_qubits") or 4, 12)
    return float(cost)


def job_affinity(job: list[Task]) -> tuple | None:
    """What a worker builds for ``job`` and may reuse for the next job with the same value: its stack
    (the ``stack_key`` of its runs and the lanes they fill, ``training.lanes``); None for runs that
    train alone. The shared pool gives such a job to the worker that traced its stack
    (``experiments.pool``)."""
    key = stack_key(job[0][0])
    return None if key is None else (key, lanes_for(len(job)))


def _backend(scheduler: str | None):
    """joblib's backend: the local process pool, or the dask.distributed cluster at ``scheduler``."""
    from joblib import parallel_config

    if not scheduler:
        return parallel_config(backend="loky")
    return parallel_config(backend="dask", scheduler_host=scheduler, wait_for_workers_timeout=60)


def default_scheduler() -> str | None:
    """``$QMOE_SCHEDULER`` (a dask.distributed scheduler address such as ``tcp://host:8786``) or None.

    Returns
    -------
    str or None
    """
    return os.environ.get("QMOE_SCHEDULER") or None


def _row(experiment: Experiment, seed: int, key: str, result: dict) -> dict:
    """One output row: the experiment's name, protocol, seed, key and tags, then the result's
    columns sorted, so fresh and cached runs give identical frames."""
    ordered = {k: result[k] for k in sorted(result)}
    return {
        "experiment": experiment.name,
        "protocol": experiment.protocol,
        "seed": seed,
        "key": key,
        **experiment.tag_dict,
        **ordered,
    }


def run_experiments(
    experiments: Iterable[Experiment],
    jobs: int = 1,
    cache_dir: Path | str | None = None,
    progress: bool = True,
    desc: str = "runs",
    scheduler: str | None = None,
    pool: SharedPool | None = None,
) -> pd.DataFrame:
    """Run every (experiment, seed) not already cached; return one row per (experiment, seed).

    Runs are grouped into jobs (``plan_jobs``; stackable runs train as one stack) and executed by
    ``jobs`` local worker processes, or on the dask.distributed cluster at ``scheduler``
    (default ``$QMOE_SCHEDULER``). Each result is written to the cache as soon as its job returns, so
    an interruption loses only the jobs in flight. A run whose data is absent or unreadable is not
    run: its row has ``skipped`` set to the reason. Rows come in the order of ``experiments`` and
    their seeds, whatever order runs finished in.

    Parameters
    ----------
    experiments : iterable of Experiment
        The experiments, each run once per seed in its ``seeds``; names must be unique.
    jobs : int, default 1
        Local worker processes (1: run in this process).
    cache_dir : path-like or None, default None
        Where results are cached, one checksummed JSON file per (config, seed); None means
        ``default_cache_dir()`` (``$QMOE_CACHE_DIR`` or ``.cache/runs``).
    progress : bool, default True
        Show a progress bar (tqdm, on stderr).
    desc : str, default "runs"
        The progress bar's label.
    scheduler : str or None, default None
        Address of a dask.distributed scheduler (``tcp://host:8786``) to run the jobs on; None
        means ``$QMOE_SCHEDULER`` if set, else local processes.
    pool : SharedPool or None, default None
        Worker processes shared with other calls running at the same time in other threads
        (``qmoe_tfq.experiments.pool``); ``jobs`` and ``scheduler`` are then unused, and progress
        goes to the pool's one bar.

    Returns
    -------
    pandas.DataFrame
        One row per (experiment, seed): ``experiment``, ``protocol``, ``seed``, ``key`` (the
        config hash, ``experiments.config_key``), the experiment's tags, then the result's
        columns (``test_accuracy``, ``train_accuracy``, ``total_params``, ``train_seconds`` ...)
        or ``skipped``. Cached and fresh runs give identical rows.

    Raises
    ------
    ValueError
        Two experiments of one call share a name.

    Examples
    --------
    >>> import tempfile
    >>> from qmoe_tfq.data import DataSpec
    >>> from qmoe_tfq.experiments.experiment import Experiment
    >>> from qmoe_tfq.experiments.registry import EstimatorSpec
    >>> from qmoe_tfq.experiments.runner import run_experiments
    >>> exp = Experiment("linear", EstimatorSpec("qmoe", {"router": "linear", "max_epochs": 2}),
    ...                  DataSpec(n_samples=40), seeds=(0, 1))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     rows = run_experiments([exp], cache_dir=cache, progress=False)
    ...     cached = run_experiments([exp], cache_dir=cache, progress=False)  # read back, not rerun
    >>> rows[["experiment", "seed", "total_params"]]
      experiment  seed  total_params
    0     linear     0            18
    1     linear     1            18
    >>> cached.equals(rows)
    True
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    scheduler = scheduler if scheduler is not None else default_scheduler()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    planned = [(exp, seed, config_key(exp, seed)) for exp in experiments for seed in exp.seeds]
    names = [exp.name for exp in {id(e): e for e, _, _ in planned}.values()]
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"experiment names must be unique within one call; repeated: {dupes}")
    results: dict[str, dict] = {}
    todo: list[Task] = []
    queued = set()
    old = 0
    for exp, seed, key in planned:
        path = cache / f"{key}.json"
        if key in results or key in queued:
            continue
        if path.exists():
            try:
                results[key] = read_entry(path, key)
                continue
            except OldCacheEntry:
                old += 1
                path.unlink(missing_ok=True)
            except CorruptCacheEntry as err:
                warnings.warn(
                    f"corrupted cache entry {path} ({exp.name}, seed {seed}): {err}; recomputing", stacklevel=2
                )
                path.unlink(missing_ok=True)
        todo.append((exp, seed, key))
        queued.add(key)
    if old:
        warnings.warn(
            f"{old} cache entr{'y' if old == 1 else 'ies'} of {desc} in {cache} written by an older version "
            "(no schema or provenance recorded); recomputing",
            stacklevel=2,
        )
    n_planned = len({key for _, _, key in planned})
    if not todo and progress and n_planned and pool is None:
        print(
            f"{desc}: {n_planned} run{'' if n_planned == 1 else 's'}, all from the cache", file=sys.stderr, flush=True
        )
    skipped: dict[str, str] = {}
    if pool is not None:
        _run_in_pool(pool, todo, cache, results, skipped, desc, n_planned)
    elif todo:
        by_key = {key: (exp, seed) for exp, seed, key in todo}
        parallel = scheduler is not None or jobs > 1
        batches = plan_jobs(todo, jobs if scheduler is None else max(jobs, 2))
        bar = tqdm(total=len(todo), desc=desc, unit="run", disable=not progress, file=sys.stderr)
        bar.set_postfix_str(f"{n_planned - len(todo)} cached")
        try:
            if not parallel:
                _store((_compute(b, False) for b in batches), by_key, cache, results, skipped, bar)
            else:
                with _backend(scheduler), warnings.catch_warnings():
                    # loky replaces a worker whose memory grew (traced graphs) and requeues its jobs: no run is lost.
                    warnings.filterwarnings(
                        "ignore", message="A worker stopped while some jobs were given to the executor"
                    )
                    outputs = Parallel(n_jobs=jobs if scheduler is None else -1, return_as="generator_unordered")(
                        delayed(_compute)(b, True) for b in batches
                    )
                    _store(outputs, by_key, cache, results, skipped, bar)
        finally:  # the bar's last line before any interruption message, not after it
            bar.close()
    rows = []
    for exp, seed, key in planned:
        if key in skipped:
            rows.append(
                {
                    "experiment": exp.name,
                    "protocol": exp.protocol,
                    "seed": seed,
                    "key": key,
                    **exp.tag_dict,
                    "skipped": skipped[key],
                }
            )
        else:
            rows.append(_row(exp, seed, key, results[key]))
    return pd.DataFrame(rows)


def _run_in_pool(
    pool: SharedPool,
    todo: list[Task],
    cache: Path,
    results: dict,
    skipped: dict,
    desc: str,
    n_planned: int,
) -> None:
    """``run_experiments``' jobs through a ``SharedPool``: this call computes (and caches) the runs no
    other call has claimed, and takes the others' results when they come."""
    from concurrent.futures import as_completed

    start = time.perf_counter()
    mine, theirs = pool.claim(todo)
    pool.planned(len(mine))
    outputs = [pool.submit(job, job_cost(job)) for job in plan_jobs(mine, pool.jobs)]
    by_key = {key: (exp, seed) for exp, seed, key in mine}
    _store((f.result() for f in as_completed(outputs)), by_key, cache, results, skipped, pool)
    for key, claim in theirs.items():
        result = claim.result()
        if "skipped" in result:
            skipped[key] = result["skipped"]
        else:
            results[key] = result
    if n_planned:
        pool.say(stage_line(desc, n_planned, n_planned - len(todo), time.perf_counter() - start))


def _store(outputs, by_key: dict, cache: Path, results: dict, skipped: dict, bar) -> None:
    """Write each job's results to the cache as the job returns (atomic, checksummed); a run that
    was skipped (its data absent or unreadable) is recorded in ``skipped`` and never cached."""
    for batch in outputs:
        for key, result in batch:
            if "skipped" in result:
                skipped[key] = result["skipped"]
            else:
                exp, seed = by_key[key]
                write_entry(cache / f"{key}.json", key, exp, seed, result)
                results[key] = result
            bar.update()


def runner(
    jobs: int = 1,
    cache_dir: Path | str | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    pool: SharedPool | None = None,
):
    """``run(experiments, desc)``: ``run_experiments`` bound to ``jobs``, ``cache_dir``, ``progress``,
    ``scheduler`` and ``pool``, the form the studies take it in.

    Parameters
    ----------
    jobs, cache_dir, progress, scheduler, pool
        As in ``run_experiments``.

    Returns
    -------
    callable
        ``run(experiments, desc="runs") -> pandas.DataFrame``.

    Examples
    --------
    >>> import tempfile
    >>> from qmoe_tfq.experiments.runner import runner
    >>> from qmoe_tfq.studies import two_moons
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     run = runner(cache_dir=cache, progress=False)
    ...     rows = run([e for e in two_moons.experiments(quick=True) if e.name == "budget/logreg"])
    >>> sorted(set(rows["experiment"]))
    ['budget/logreg']
    """

    def run(experiments: Iterable[Experiment], desc: str = "runs") -> pd.DataFrame:
        return run_experiments(
            experiments, jobs=jobs, cache_dir=cache_dir, progress=progress, desc=desc, scheduler=scheduler, pool=pool
        )

    return run


def concat_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row frames stacked (empty ones skipped), columns as they come; a column missing or all-NA in a
    frame is NA in its rows and takes its dtype from the frames that have values.

    Parameters
    ----------
    frames : list of pandas.DataFrame
        Row frames (``run_experiments`` outputs), possibly with different columns.

    Returns
    -------
    pandas.DataFrame
        The rows of every frame, columns in order of first appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> from qmoe_tfq.experiments.runner import concat_rows
    >>> a = pd.DataFrame({"seed": [0], "test_accuracy": [0.9]})
    >>> b = pd.DataFrame({"seed": [1], "skipped": ["no data"]})
    >>> concat_rows([a, pd.DataFrame(), b])
       seed  test_accuracy  skipped
    0     0            0.9      NaN
    1     1            NaN  no data
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    stacked = pd.concat([f.dropna(axis=1, how="all") for f in frames], ignore_index=True)
    return stacked.reindex(columns=columns)

"""Stage: experiments. One pool of worker processes shared by runner calls made side by side (threads).

``make paper`` runs its studies concurrently, each in its own thread, because a study works in
stages (tuning, edge extensions, evaluation) and every stage waits for its slowest job: run one
study after another and a core idles at the end of every stage. With a ``SharedPool`` the runner
calls of every study feed one queue, so while one study waits between stages the others keep the
workers busy. The queue hands out jobs by the calling thread's ``priority`` first (the study's place
in the paper's order: lower first), then the costliest (``runner.job_cost``). Studies thus run much
as one after another, each worker mostly reusing the programs it traced for the previous job, and a
later study's jobs fill the cores a stage barrier would leave idle. (Costliest first across every
study instead interleaves them: measured on the full paper, 6% more CPU, the traced programs of
one architecture evicted before its next job.) A run that two calls plan at once (a study reading
another's tuning runs) is computed once: the second call waits for the first's result.

Each worker is a process of its own (a one-worker executor), and the pool remembers which stacks
each has traced (``affinity``: a job's stack key and lanes, ``runner.job_affinity``). A free worker
takes, among the waiting jobs of the first study in line, the costliest one whose stack it traced
before, else the costliest one no other worker traced, else the first in line: a stack traced once
is reused rather than traced again by the other worker (tracing is most of a small job's time).

Nothing about a run depends on this: a run's numbers do not depend on which runs share its stack
(``training.lanes``), and every result is written to the cache by the call that
planned it, as ``run_experiments`` always does.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future

from qmoe_tfq.training.lanes import TRACED_STACKS


class SharedPool:
    """``jobs`` worker processes (loky) that concurrent ``run_experiments(..., pool=...)`` calls share.

    Use it as a context manager; leaving it shuts the workers down (killed if an exception left
    the block). Each worker runs one job at a time; the rest wait here, ordered by the submitting
    thread's ``priority`` (``set_priority``; 0 by default, lower first), then costliest first, so a
    job submitted later but costlier starts before cheaper ones already waiting. Within the first
    priority in line a free worker prefers a job whose ``affinity`` key it ran before, then one no
    other worker ran.

    Parameters
    ----------
    jobs : int
        Worker processes, at least 1.
    progress : bool, default True
        One progress bar (tqdm, on stderr) for every run of every call, and one line per stage as
        it finishes.
    executors : list of concurrent.futures.Executor or None, default None
        One per worker, each given one job at a time; None means ``jobs`` one-process loky executors.
    compute : callable or None, default None
        ``compute(job, True) -> [(key, result), ...]`` run for each job; None means
        ``runner._compute`` (what ``run_experiments`` runs in its workers).
    affinity : callable or None, default None
        ``affinity(job) -> hashable or None``: jobs with equal keys reuse what a worker built for the
        previous one (None: nothing to reuse); None means ``runner.job_affinity`` (stack and lanes).

    Attributes
    ----------
    runs_computed : int
        Runs computed by the workers so far.
    reused : int
        Jobs given to a worker that had run a job of the same ``affinity`` key before.

    Examples
    --------
    >>> import tempfile, threading
    >>> from qmoe_tfq.data import DataSpec
    >>> from qmoe_tfq.experiments.experiment import Experiment
    >>> from qmoe_tfq.experiments.pool import SharedPool
    >>> from qmoe_tfq.experiments.registry import EstimatorSpec
    >>> from qmoe_tfq.experiments.runner import run_experiments
    >>> exp = Experiment("logreg", EstimatorSpec("logreg", {}), DataSpec(n_samples=40), seeds=(0, 1))
    >>> out = {}
    >>> with tempfile.TemporaryDirectory() as cache, SharedPool(2, progress=False) as pool:
    ...     calls = [threading.Thread(target=lambda i=i: out.update({i: run_experiments(
    ...         [exp], cache_dir=cache, progress=False, pool=pool)})) for i in range(2)]
    ...     for t in calls: t.start()
    ...     for t in calls: t.join()
    ...     computed = pool.runs_computed
    >>> out[0].equals(out[1]), computed  # both calls planned the same two runs: computed once
    (True, 2)
    """

    def __init__(
        self,
        jobs: int,
        progress: bool = True,
        executors: list[Executor] | None = None,
        compute: Callable | None = None,
        affinity: Callable[[list], Hashable | None] | None = None,
    ) -> None:
        if int(jobs) < 1:
            raise ValueError(f"SharedPool needs at least one worker; jobs={jobs!r}")
        if executors is not None and len(executors) != int(jobs):
            raise ValueError(f"SharedPool needs one executor per worker: jobs={jobs!r}, {len(executors)} executors")
        self.jobs = int(jobs)
        self.progress = progress
        self.runs_computed = 0
        self.reused = 0
        self._lock = threading.Lock()
        self._queue: list = []
        self._order = itertools.count()
        self._idle = list(range(self.jobs))
        self._traced: list[OrderedDict] = [OrderedDict() for _ in range(self.jobs)]
        self._claimed: dict[str, Future] = {}
        self._executors = executors
        self._compute = compute
        self._affinity = affinity
        self._bar = None
        self._closed = False
        self._local = threading.local()

    def __enter__(self) -> SharedPool:
        if self._executors is None:
            from joblib.externals.loky import ProcessPoolExecutor

            self._executors = [ProcessPoolExecutor(max_workers=1) for _ in range(self.jobs)]
        if self._compute is None:
            from qmoe_tfq.experiments.runner import _compute

            self._compute = _compute
        if self._affinity is None:
            from qmoe_tfq.experiments.runner import job_affinity

            self._affinity = job_affinity
        if self.progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=0, desc="runs", unit="run", file=sys.stderr)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        # loky replaces a worker whose memory grew (traced graphs) and requeues its jobs: no run is lost.
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor")
        return self

    def __exit__(self, kind, error, traceback) -> None:
        with self._lock:
            self._closed = True
            waiting, self._queue = self._queue, []
        stopped = RuntimeError("the shared worker pool was shut down before this job ran")
        for *_, batch, _, outer in waiting:
            for _, _, key in batch:
                self._claimed[key].set_exception(stopped)
            outer.set_exception(stopped)
        from joblib.externals.loky.process_executor import ProcessPoolExecutor as LokyExecutor

        for executor in self._executors:
            if isinstance(executor, LokyExecutor):  # loky's can kill its workers
                executor.shutdown(wait=True, kill_workers=error is not None)
            else:
                executor.shutdown(wait=error is None, cancel_futures=error is not None)
        self._warnings.__exit__(None, None, None)
        if self._bar is not None:
            self._bar.close()

    def claim(self, tasks: list) -> tuple[list, dict[str, Future]]:
        """Split ``tasks`` ((experiment, seed, key) to compute) into those this caller computes
        (their keys now claimed) and ``{key: Future}`` of those another call already claimed; each
        future gives that run's result."""
        mine, theirs = [], {}
        with self._lock:
            for task in tasks:
                key = task[2]
                if key in self._claimed:
                    theirs[key] = self._claimed[key]
                else:
                    self._claimed[key] = Future()
                    mine.append(task)
        return mine, theirs

    def set_priority(self, priority: int) -> None:
        """The priority of the jobs this thread submits from now on (lower runs first; default 0)."""
        self._local.priority = int(priority)

    def submit(self, batch: list, cost: float) -> Future:
        """Queue one job (tasks that may share a stack; claimed by the caller), after the jobs of threads with a
        lower priority and of costlier ones; the future gives its ``[(key, result), ...]`` and settles every
        task's claim."""
        outer: Future = Future()
        priority, affinity = getattr(self._local, "priority", 0), self._affinity(batch)
        with self._lock:
            if self._closed:
                raise RuntimeError("the shared worker pool is shut down")
            heapq.heappush(self._queue, (priority, -cost, next(self._order), batch, affinity, outer))
        self._dispatch()
        return outer

    def _take(self, worker: int) -> tuple:
        """The waiting job ``worker`` runs next (under the lock): among the first priority in line, the
        costliest it traced before, else the costliest no worker traced, else the first in line."""
        first = self._queue[0]
        level = [entry for entry in self._queue if entry[0] == first[0]]
        others = set().union(*(t for w, t in enumerate(self._traced) if w != worker))
        mine = [e for e in level if e[4] is not None and e[4] in self._traced[worker]]
        fresh = [e for e in level if e[4] is None or e[4] not in others]
        chosen = min(mine or fresh or [first])
        self._queue.remove(chosen)
        heapq.heapify(self._queue)
        key = chosen[4]
        if key is not None:
            traced = self._traced[worker]
            self.reused += key in traced
            traced[key] = True
            traced.move_to_end(key)
            while len(traced) > TRACED_STACKS:  # as many as a worker keeps
                traced.popitem(last=False)
        return chosen

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._idle or not self._queue:
                    return
                worker = self._idle.pop(0)
                *_, batch, _, outer = self._take(worker)
            inner = self._executors[worker].submit(self._compute, batch, True)
            inner.add_done_callback(
                lambda done, batch=batch, outer=outer, worker=worker: self._finished(done, batch, outer, worker)
            )

    def _finished(self, done: Future, batch: list, outer: Future, worker: int) -> None:
        error = done.exception()
        with self._lock:
            self._idle.append(worker)
            if error is None:
                self.runs_computed += len(batch)
        if error is not None:
            for _, _, key in batch:
                self._claimed[key].set_exception(error)
            outer.set_exception(error)
        else:
            results = done.result()
            for key, result in results:
                self._claimed[key].set_result(result)
            outer.set_result(results)
        self._dispatch()

    # ----------------------------------------------------------------------------------- progress

    def planned(self, n: int) -> None:
        """``n`` more runs to compute (the bar's total grows)."""
        if self._bar is not None and n:
            with self._lock:
                self._bar.total += n
                self._bar.refresh()

    def update(self, n: int = 1) -> None:
        """``n`` runs finished (the bar's ``update``, so the runner stores results alike with either)."""
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def say(self, line: str, write=None) -> None:
        """One line above the bar: ``write(line)`` (default: to stderr), the bar cleared meanwhile."""
        if write is None:
            if not self.progress:
                return
            write = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
        if self._bar is None:
            write(line)
            return
        from tqdm import tqdm

        with self._lock, tqdm.external_write_mode(file=sys.stderr):
            write(line)


def stage_line(desc: str, n_runs: int, n_cached: int, seconds: float) -> str:
    """The line a stage prints when its runs are ready."""
    computed = n_runs - n_cached
    what = "all from the cache" if not computed else f"{computed} computed, {n_cached} from the cache"
    return f"{desc}: {n_runs} run{'' if n_runs == 1 else 's'}, {what} ({seconds:.0f} s)"


__all__ = ["SharedPool", "stage_line"]

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

Nothing about a run depends on this: a run's numbers do not depend on which runs share its stack
(``training.stack._base.LANES``), and every result is written to the cache by the call that
planned it, as ``run_experiments`` always does.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import warnings
from concurrent.futures import Future


class SharedPool:
    """``jobs`` worker processes (loky) that concurrent ``run_experiments(..., pool=...)`` calls share.

    Use it as a context manager; leaving it shuts the workers down (killed if an exception left
    the block). At most ``jobs`` jobs are with the workers at a time; the rest wait here, ordered by
    the submitting thread's ``priority`` (``set_priority``; 0 by default, lower first), then
    costliest first, so a job submitted later but costlier starts before cheaper ones already waiting.

    Parameters
    ----------
    jobs : int
        Worker processes, at least 1.
    progress : bool, default True
        One progress bar (tqdm, on stderr) for every run of every call, and one line per stage as
        it finishes.
    executor : concurrent.futures.Executor or None, default None
        Where jobs run; None means loky's reusable process pool of ``jobs`` workers.
    compute : callable or None, default None
        ``compute(job, True) -> [(key, result), ...]`` run for each job; None means
        ``runner._compute`` (what ``run_experiments`` runs in its workers).

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

    def __init__(self, jobs: int, progress: bool = True, executor=None, compute=None) -> None:
        if int(jobs) < 1:
            raise ValueError(f"SharedPool needs at least one worker; jobs={jobs!r}")
        self.jobs = int(jobs)
        self.progress = progress
        self.runs_computed = 0
        self._lock = threading.Lock()
        self._queue: list = []
        self._order = itertools.count()
        self._running = 0
        self._claimed: dict[str, Future] = {}
        self._executor = executor
        self._compute = compute
        self._bar = None
        self._closed = False
        self._local = threading.local()

    def __enter__(self) -> SharedPool:
        if self._executor is None:
            from joblib.externals.loky import get_reusable_executor

            self._executor = get_reusable_executor(max_workers=self.jobs)
        if self._compute is None:
            from qmoe_tfq.experiments.runner import _compute

            self._compute = _compute
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
        for *_, batch, outer in waiting:
            for _, _, key in batch:
                self._claimed[key].set_exception(stopped)
            outer.set_exception(stopped)
        from joblib.externals.loky.process_executor import ProcessPoolExecutor as LokyExecutor

        if isinstance(self._executor, LokyExecutor):  # loky's can kill its workers
            self._executor.shutdown(wait=True, kill_workers=error is not None)
        else:
            self._executor.shutdown(wait=error is None, cancel_futures=error is not None)
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
        with self._lock:
            if self._closed:
                raise RuntimeError("the shared worker pool is shut down")
            priority = getattr(self._local, "priority", 0)
            heapq.heappush(self._queue, (priority, -cost, next(self._order), batch, outer))
        self._dispatch()
        return outer

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed or self._running >= self.jobs or not self._queue:
                    return
                *_, batch, outer = heapq.heappop(self._queue)
                self._running += 1
            inner = self._executor.submit(self._compute, batch, True)
            inner.add_done_callback(lambda done, batch=batch, outer=outer: self._finished(done, batch, outer))

    def _finished(self, done: Future, batch: list, outer: Future) -> None:
        error = done.exception()
        with self._lock:
            self._running -= 1
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

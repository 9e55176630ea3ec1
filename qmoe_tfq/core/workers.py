"""Stage: core. Worker processes that do not outlive the process that started them.

joblib's loky workers finish their current task and then idle for minutes when their parent dies
without shutting them down (a notebook kernel killed by ``jupyter nbconvert`` on SIGTERM, a killed
``make paper``): each holds TensorFlow, about 0.9 GB. ``exit_with_parent`` makes a worker exit
within a second of its parent's death. (An interrupt the parent survives, Ctrl-C or Jupyter's
interrupt button, is handled by joblib itself, which terminates the workers.)
"""

from __future__ import annotations

import os
import threading
import time

_watched_parent: int | None = None


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """Start (once per process) a daemon thread that ends this process when its parent is gone
    (the process is re-parented: ``os.getppid()`` changes)."""
    global _watched_parent
    if _watched_parent is not None:
        return
    import multiprocessing

    # The pid recorded when this worker started (loky and multiprocessing set it), so a parent that
    # died before the first task arrived is noticed too; else the current parent.
    started_by = multiprocessing.parent_process()
    parent = _watched_parent = started_by.pid if started_by is not None else os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="qmoe-exit-with-parent", daemon=True).start()

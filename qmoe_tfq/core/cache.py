"""Stage: core. A small cache kept per thread, for compiled programs reused across runs.

Traced TensorFlow programs (training stacks, Keras trainers, one-member prediction stacks) are
reused for the next run of the same shapes; each thread keeps its own so that a reused program is
never driven by two threads at once, and at most ``size`` keys are kept, the oldest dropped first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class ThreadCache:
    """A per-thread mapping of at most ``size`` keys (first in, first out).

    Examples
    --------
    >>> from qmoe_tfq.core.cache import ThreadCache
    >>> cache = ThreadCache(size=2)
    >>> [cache.get_or_make(k, lambda k=k: k * 10) for k in (1, 2, 1, 3)]
    [10, 20, 10, 30]
    >>> cache.get(1) is None, cache.get(3)
    (True, 30)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._local = threading.local()

    def _entries(self) -> dict:
        return self._local.__dict__.setdefault("entries", {})

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key`` in this thread, or None."""
        return self._entries().get(key)

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep ``value`` for ``key`` in this thread (dropping the oldest key when full); returns it."""
        entries = self._entries()
        if key not in entries and len(entries) >= self.size:
            entries.pop(next(iter(entries)))
        entries[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept for ``key`` in this thread, made by ``make()`` and kept the first time."""
        entries = self._entries()
        return entries[key] if key in entries else self.put(key, make())


__all__ = ["ThreadCache"]

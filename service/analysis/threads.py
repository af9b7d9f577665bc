"""Threads for the analyses: work split over the cores with BLAS kept to one thread.

The analyses' numpy work releases the GIL, so independent parts (learning-curve repeats,
chunks of copy-score pairs) run side by side on a thread pool. OpenBLAS's own threads then
only oversubscribe the cores: on 2 cores ``copy_scores`` spent 2-3x the CPU for the same wall
time with BLAS threaded (its products are many small ones), so each pool runs inside
``single_threaded_blas``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while any caller is inside (reference-counted, thread-safe)."""
    global _blas_users, _blas_limiter
    from threadpoolctl import threadpool_limits

    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def worker_count(tasks: int, most: int) -> int:
    """Threads for ``tasks`` independent tasks: no more than the tasks, the cores or ``most``."""
    return max(1, min(tasks, os.cpu_count() or 1, most))


def map_on_cores(fn: Callable[[T], R], tasks: Iterable[T], *, most: int, name: str) -> list[R]:
    """``[fn(t) for t in tasks]`` in order, on up to ``worker_count`` threads with BLAS on one
    thread; a single task or core runs inline (BLAS untouched)."""
    todo = list(tasks)
    workers = worker_count(len(todo), most)
    if workers == 1:
        return [fn(t) for t in todo]
    with single_threaded_blas(), ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        return list(pool.map(fn, todo))

"""CP-SAT runs in helper processes, never in the caller's.

OR-Tools ships its own ``libhighs.so.1`` (an older HiGHS) under the same soname as ``highspy``'s,
which greenstream's core uses (routing, energy): whichever a process loads first wins, and the
other then fails to import (an undefined symbol, either way round). So every use of OR-Tools
goes through :func:`run_isolated`, which runs the function in a pool of spawned helper processes
(created on first use, reused after) where ``highspy`` is never imported. Inside a helper the
function runs directly.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_IN_HELPER = False
_POOL: Executor | None = None
_POOL_PID = 0
WORKERS = 2


def _mark_helper() -> None:
    global _IN_HELPER
    _IN_HELPER = True


def in_helper() -> bool:
    """Whether this process is one of the helpers (where OR-Tools may be imported)."""
    return _IN_HELPER


def pool() -> Executor:
    """The helper pool of this process (spawned, so nothing of the caller's state is copied)."""
    global _POOL, _POOL_PID
    if _POOL is None or os.getpid() != _POOL_PID:
        _POOL = ProcessPoolExecutor(
            max_workers=WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_mark_helper,
        )
        _POOL_PID = os.getpid()
        atexit.register(_POOL.shutdown, wait=False, cancel_futures=True)
    return _POOL


def run_isolated(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a helper process (directly when already in one)."""
    if _IN_HELPER:
        return fn(*args, **kwargs)
    return pool().submit(fn, *args, **kwargs).result()

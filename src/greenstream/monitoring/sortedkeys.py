"""Sorted identity-key runs of the dedupe index, merged and probed in one compiled pass each
(numba, ``nogil``; decision 0010, eleventh pass).

The :class:`~greenstream.monitoring.ingest.DedupeIndex` keeps every committed key as runs of
``(hi, lo)`` pairs sorted by ``hi``. Two operations dominate its cost:

- **merge** of two runs (after each commit, log-structured): :func:`merge_runs` is the plain
  two-way merge, O(n + m) with one sequential pass over each input; ties keep the first run's
  pairs first (as ``numpy.searchsorted(side="right")`` placed them before).
- **probe** of a batch's keys, sorted by ``hi``, against a run: :func:`probe_run` walks the run
  once in the probes' order with a galloping search (exponential, then binary) from where the
  previous probe stopped, so a batch costs O(m log(N / m)) instead of ``numpy.searchsorted``'s
  O(m log N) random reads; a probe is found when the run has its ``hi`` with its ``lo`` (equal
  high keys with other low keys are looked through).

Both equal the numpy code they replace (``tests/monitoring_ingest/test_monitoring_sortedkeys.py``
compares them on generated runs, with ties and repeated high keys).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]


@nb.njit(nogil=True, cache=True)
def _merge(h1: Any, l1: Any, h2: Any, l2: Any, hi: Any, lo: Any) -> None:  # pragma: no cover
    i = 0
    j = 0
    k = 0
    n1 = h1.shape[0]
    n2 = h2.shape[0]
    while i < n1 and j < n2:
        if h2[j] < h1[i]:
            hi[k] = h2[j]
            lo[k] = l2[j]
            j += 1
        else:
            hi[k] = h1[i]
            lo[k] = l1[i]
            i += 1
        k += 1
    while i < n1:
        hi[k] = h1[i]
        lo[k] = l1[i]
        i += 1
        k += 1
    while j < n2:
        hi[k] = h2[j]
        lo[k] = l2[j]
        j += 1
        k += 1


def merge_runs(h1: U64, l1: U64, h2: U64, l2: U64) -> tuple[U64, U64]:
    """Two runs sorted by their high keys merged into one (ties: the first run's pairs first)."""
    n = len(h1) + len(h2)
    hi = np.empty(n, dtype=np.uint64)
    lo = np.empty(n, dtype=np.uint64)
    _merge(h1, l1, h2, l2, hi, lo)
    return hi, lo


@nb.njit(nogil=True, cache=True)
def _probe(run_hi: Any, run_lo: Any, q_hi: Any, q_lo: Any, found: Any) -> None:  # pragma: no cover
    n = run_hi.shape[0]
    p = 0  # every run key before p is below the current probe's hi
    for q in range(q_hi.shape[0]):
        key = q_hi[q]
        if p < n and run_hi[p] < key:
            # gallop: the first index at or past p whose key is not below ``key``
            step = 1
            while p + step < n and run_hi[p + step] < key:
                step *= 2
            low = p + step // 2 + 1
            high = min(p + step, n)
            while low < high:
                mid = (low + high) // 2
                if run_hi[mid] < key:
                    low = mid + 1
                else:
                    high = mid
            p = low
        k = p
        while k < n and run_hi[k] == key:
            if run_lo[k] == q_lo[q]:
                found[q] = True
                break
            k += 1


def probe_run(run_hi: U64, run_lo: U64, q_hi: U64, q_lo: U64, found: npt.NDArray[np.bool_]) -> None:
    """Set ``found`` where a probe (sorted by ``q_hi``) is in the run; others are left as they
    are (so the caller can OR several runs into one mask)."""
    if len(run_hi) and len(q_hi):
        _probe(run_hi, run_lo, q_hi, q_lo, found)

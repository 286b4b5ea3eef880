"""The compiled merge and probe of sorted key runs (``monitoring/sortedkeys.py``) equal the numpy
code they replaced, kept here as the reference: on generated runs with repeated high keys, equal
pairs, empty runs and probes below, inside and above a run."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.monitoring.ingest import DedupeIndex
from greenstream.monitoring.sortedkeys import merge_runs, probe_run


def _reference_merge(h1, l1, h2, l2):  # type: ignore[no-untyped-def]
    """The numpy merge before the eleventh pass (``searchsorted(side="right")``)."""
    n = len(h1) + len(h2)
    at = np.searchsorted(h1, h2, side="right") + np.arange(len(h2))
    rest = np.ones(n, dtype=bool)
    rest[at] = False
    hi = np.empty(n, dtype=np.uint64)
    lo = np.empty(n, dtype=np.uint64)
    hi[at], lo[at] = h2, l2
    hi[rest], lo[rest] = h1, l1
    return hi, lo


def _reference_probe(run_hi, run_lo, q_hi, q_lo):  # type: ignore[no-untyped-def]
    """Membership by definition: some pair of the run equals the probe."""
    pairs = set(zip(run_hi.tolist(), run_lo.tolist(), strict=True))
    got = [(h, lo) in pairs for h, lo in zip(q_hi.tolist(), q_lo.tolist(), strict=True)]
    return np.array(got, dtype=bool)


# few distinct high keys (many ties) or any 64-bit keys, and the extremes
HI = st.one_of(st.integers(0, 6), st.integers(0, 2**64 - 1), st.sampled_from([0, 2**64 - 1]))
PAIRS = st.lists(st.tuples(HI, st.integers(0, 3)), max_size=60)


def _run(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted(pairs, key=lambda p: p[0])  # stable: equal high keys keep their order
    hi = np.array([p[0] for p in pairs], dtype=np.uint64)
    lo = np.array([p[1] for p in pairs], dtype=np.uint64)
    return hi, lo


@settings(max_examples=300, deadline=None)
@given(PAIRS, PAIRS)
def test_merge_equals_the_numpy_merge(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    h1, l1 = _run(a)
    h2, l2 = _run(b)
    got = merge_runs(h1, l1, h2, l2)
    want = _reference_merge(h1, l1, h2, l2)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@settings(max_examples=300, deadline=None)
@given(PAIRS, PAIRS, st.lists(st.booleans(), max_size=60))
def test_probe_finds_exactly_the_pairs_in_the_run(
    run: list[tuple[int, int]], probes: list[tuple[int, int]], preset: list[bool]
) -> None:
    run_hi, run_lo = _run(run)
    q_hi, q_lo = _run(probes)
    found = np.zeros(len(q_hi), dtype=bool)
    found[: len(preset)] = preset[: len(q_hi)]
    before = found.copy()
    probe_run(run_hi, run_lo, q_hi, q_lo, found)
    # probes found are set, the others keep what they had (several runs are OR-ed)
    assert np.array_equal(found, before | _reference_probe(run_hi, run_lo, q_hi, q_lo))


def test_a_long_run_with_few_probes_and_the_index_agree() -> None:
    """The gallop over long stretches: 200,000 keys, probes spread over them and beyond; and the
    index built from merged runs answers as the set of all pairs does."""
    rng = np.random.default_rng(7)
    hi = np.sort(rng.integers(0, 2**63, 200_000, dtype=np.uint64))
    lo = rng.integers(0, 4, 200_000, dtype=np.uint64)
    pick = rng.choice(200_000, 500, replace=False)
    q_hi = np.concatenate([hi[pick], rng.integers(0, 2**64 - 1, 500, dtype=np.uint64)])
    q_lo = np.concatenate([lo[pick], rng.integers(0, 4, 500, dtype=np.uint64)])
    order = np.argsort(q_hi, kind="stable")
    q_hi, q_lo = q_hi[order], q_lo[order]
    found = np.zeros(len(q_hi), dtype=bool)
    probe_run(hi, lo, q_hi, q_lo, found)
    assert np.array_equal(found, _reference_probe(hi, lo, q_hi, q_lo))
    assert found.sum() >= 500  # every picked pair (a random probe may match too)
    index = DedupeIndex()
    for part in np.array_split(np.arange(200_000), 7):
        index.add(hi[part].copy(), lo[part].copy())
    assert np.array_equal(index.contains(q_hi, q_lo), found)

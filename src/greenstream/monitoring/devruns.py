"""Compiled parts of a GPS batch's device runs (:class:`~greenstream.monitoring.ingest.DeviceRuns`;
numba, ``nogil``; decision 0010, eleventh pass).

- :func:`ordered_speeds_kmh`: each ordered row's implied speed from the row before it of the same
  device, in one pass. The same IEEE operations in the same order as the Polars expression it
  replaces (``ingest._implied_speed_kmh`` over ``greenstream.geo.great_circle_distance_km``:
  ``radians`` is ``x * (pi / 180)``, ``pow(2)`` is ``x * x``, ``2 R`` is one constant, a division
  by the literal ``3.6e9`` is a multiplication by its reciprocal, the sines and cosines are
  libm's in both), so the speeds are the same bits
  (``tests/monitoring_ingest/test_monitoring_devruns.py``). 61 -> ~10 ns a row on a 531k-row
  GPS chunk.
- :func:`dense_codes`: the rows' 64-bit hashes (Polars' ``hash``) numbered densely in order of
  first appearance through an open-addressing table, with the first row of each number; the
  caller checks that every row's text equals its number's first text, so a hash collision can
  never merge two devices (it then takes the exact path).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numba as nb
import numpy as np
import numpy.typing as npt

from greenstream.geo.distance import EARTH_RADIUS_KM

_RAD: Final = math.pi / 180.0
_TWO_R_KM: Final = 2.0 * EARTH_RADIUS_KM
# Polars divides by a literal as a multiplication by its reciprocal: ``us / 3.6e9`` is this
_HOURS_PER_US: Final = 1.0 / 3.6e9


@nb.njit(nogil=True, cache=True)
def _speeds(
    codes: Any,
    ts_us: Any,
    lat: Any,
    lon: Any,
    present: Any,
    error_km: float,
    out: Any,
    valid: Any,
) -> None:  # pragma: no cover - compiled; tested through ordered_speeds_kmh
    valid[0] = False
    out[0] = 0.0
    for i in range(1, codes.shape[0]):
        if codes[i] != codes[i - 1] or not (present[i] and present[i - 1]):
            valid[i] = False
            out[i] = 0.0
            continue
        hours = np.float64(ts_us[i] - ts_us[i - 1]) * _HOURS_PER_US
        if not hours > 0.0:
            valid[i] = False
            out[i] = 0.0
            continue
        phi1 = lat[i - 1] * _RAD
        phi2 = lat[i] * _RAD
        half_dphi = (phi2 - phi1) / 2.0
        half_dlambda = ((lon[i] - lon[i - 1]) * _RAD) / 2.0
        s1 = math.sin(half_dphi)
        s2 = math.sin(half_dlambda)
        a = s1 * s1 + math.cos(phi1) * math.cos(phi2) * (s2 * s2)
        root = math.sqrt(a)
        if root > 1.0:
            root = 1.0
        d = _TWO_R_KM * math.asin(root) - error_km
        if d < 0.0:
            d = 0.0
        out[i] = d / hours
        valid[i] = True


def ordered_speeds_kmh(
    codes: npt.NDArray[Any],
    ts_us: npt.NDArray[np.int64],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    present: npt.NDArray[np.bool_],
    error_km: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The implied speed (km/h) of each row from the row before it, for rows in (device, ts)
    order: null (``valid`` false) for a device's first row, where no time passed and where
    either row has no position (``present`` false); else the great circle distance less
    ``error_km`` (not below 0) over the hours between the fixes."""
    n = len(codes)
    out = np.empty(n, dtype=np.float64)
    valid = np.empty(n, dtype=np.bool_)
    if n:
        _speeds(codes, ts_us, lat, lon, present, error_km, out, valid)
    return out, valid


@nb.njit(nogil=True, cache=True)
def _number(hashes: Any, codes: Any, firsts: Any) -> int:  # pragma: no cover - compiled
    size = 1024  # grows to keep the table at most half full (a fleet's devices fit in cache)
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, dtype=np.int64)  # the number in each slot, -1 when empty
    keys = np.zeros(size, dtype=np.uint64)
    count = 0
    for i in range(hashes.shape[0]):
        h = hashes[i]
        s = (h ^ (h >> np.uint64(29))) & mask
        while True:
            at = slots[s]
            if at < 0:
                break
            if keys[s] == h:
                break
            s = (s + np.uint64(1)) & mask
        if at >= 0:
            codes[i] = at
            continue
        slots[s] = count
        keys[s] = h
        firsts[count] = i
        codes[i] = count
        count += 1
        if 2 * count > size:
            size *= 2
            mask = np.uint64(size - 1)
            new_slots = np.full(size, -1, dtype=np.int64)
            new_keys = np.zeros(size, dtype=np.uint64)
            for number in range(count):
                k = hashes[firsts[number]]
                t = (k ^ (k >> np.uint64(29))) & mask
                while new_slots[t] >= 0:
                    t = (t + np.uint64(1)) & mask
                new_slots[t] = number
                new_keys[t] = k
            slots = new_slots
            keys = new_keys
    return count


def dense_codes(
    hashes: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Each row's number among the distinct hashes (0, 1, ... in order of first appearance) and
    the first row of each number."""
    n = len(hashes)
    codes = np.empty(n, dtype=np.uint32)
    firsts = np.empty(n, dtype=np.int64)
    count = _number(hashes, codes, firsts) if n else 0
    return codes, firsts[:count]

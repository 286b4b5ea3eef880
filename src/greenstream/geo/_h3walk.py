"""The compiled walk of :func:`greenstream.geo.h3cells.latlng_to_cells` (numba, ``nogil``), in
a module of its own so that importing :mod:`greenstream.geo.h3cells` does not import numba."""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True, inline="always")
def _in_cap(caps: Any, m: int, lat: float, lon: float) -> bool:
    d_lat = lat - caps[m, 0]
    d_lon = abs(lon - caps[m, 1])
    d_lon = min(d_lon, 360.0 - d_lon)
    return bool(d_lat * d_lat + caps[m, 2] * (d_lon * d_lon) < caps[m, 3])


@nb.njit(cache=True, nogil=True, inline="always")
def _in_hexagon(normals: Any, threshold: Any, m: int, x: float, y: float, z: float) -> bool:
    limit = threshold[m]
    for e in range(6):
        if normals[m, e, 0] * x + normals[m, e, 1] * y + normals[m, e, 2] * z <= limit:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def walk(
    lat: Any,
    lon: Any,
    order: Any,
    seg_end: Any,
    seg_next: Any,
    seg_cell: Any,
    out: Any,
    cells: Any,
    caps: Any,
    normals: Any,
    threshold: Any,
    near: Any,
) -> None:
    """Walk each segment from ``seg_next`` (the row after one whose cell is ``seg_cell``, a row
    of the table) until a row no test settles or the segment's end; ``out[order[i]]`` gets each
    settled row's cell; ``seg_next`` / ``seg_cell`` are left at the stop."""
    for s in range(len(seg_next)):
        i = seg_next[s]
        cur = seg_cell[s]
        end = seg_end[s]
        while i < end and cur >= 0:
            r = order[i]
            la = lat[r]
            lo = lon[r]
            found = -1
            if _in_cap(caps, cur, la, lo):
                found = cur
            else:
                for j in range(6):
                    m = near[cur, j]
                    if m >= 0 and _in_cap(caps, m, la, lo):
                        found = m
                        break
                if found < 0:
                    phi = la * (np.pi / 180.0)
                    lam = lo * (np.pi / 180.0)
                    cos_phi = np.cos(phi)
                    x = cos_phi * np.cos(lam)
                    y = cos_phi * np.sin(lam)
                    z = np.sin(phi)
                    if _in_hexagon(normals, threshold, cur, x, y, z):
                        found = cur
                    else:
                        for j in range(6):
                            m = near[cur, j]
                            if m >= 0 and _in_hexagon(normals, threshold, m, x, y, z):
                                found = m
                                break
            if found < 0:
                break
            out[r] = cells[found]
            cur = found
            i += 1
        seg_next[s] = i
        seg_cell[s] = cur

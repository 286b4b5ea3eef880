"""The compiled kernels of the ``greenstream[fast]`` extra (numba, ``nogil``, compiled once and
cached on disk with ``cache=True``).

This module imports numba at its top: nothing imports it at ``import greenstream`` or at CLI
start-up, only :mod:`greenstream.monitoring.ingest.cellwalk` once a batch asks for cells on the
fast path (:func:`greenstream.monitoring.ingest.path.ingest_path`). Each kernel's plain-library
counterpart is its test oracle (``tests/monitoring_ingest/test_monitoring_ingest_fast.py``).

- :func:`walk_tracks`: the H3 cell of each GPS fix proved by a few arithmetic tests against the
  cell of the same device's fix before it and that cell's neighbours (decision 0010);
  a fix no test settles is left for h3o.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

#: ``cur`` value of a device whose last cell is not known: its next row stops the walk
UNKNOWN = -1
#: ``cur`` value of a device whose walk stopped in this round: its later rows wait
BLOCKED = -2


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
def _settle(
    caps: Any, normals: Any, threshold: Any, near: Any, cur: int, la: float, lo: float
) -> int:
    """The table row of the cell among ``cur`` and its neighbours that provably holds the
    position (degrees), -1 when no test settles it."""
    if _in_cap(caps, cur, la, lo):
        return cur
    for j in range(6):
        m = near[cur, j]
        if m >= 0 and _in_cap(caps, m, la, lo):
            return int(m)
    phi = la * (np.pi / 180.0)
    lam = lo * (np.pi / 180.0)
    cos_phi = np.cos(phi)
    x = cos_phi * np.cos(lam)
    y = cos_phi * np.sin(lam)
    z = np.sin(phi)
    if _in_hexagon(normals, threshold, cur, x, y, z):
        return cur
    for j in range(6):
        m = near[cur, j]
        if m >= 0 and _in_hexagon(normals, threshold, m, x, y, z):
            return int(m)
    return -1


@nb.njit(cache=True, nogil=True)
def walk_tracks(
    lat: Any,
    lon: Any,
    track: Any,
    rows: Any,
    cur: Any,
    out: Any,
    cells: Any,
    caps: Any,
    normals: Any,
    threshold: Any,
    near: Any,
    left: Any,
) -> int:
    """One round of the walk over ``rows`` (row numbers, ascending).

    ``track[r]``: the track slot of row ``r`` (a hash of its device); ``cur[t]``: the table row
    of the track's last settled cell, :data:`UNKNOWN` or :data:`BLOCKED`. A row of a track with
    a known cell is tested against that cell and its neighbours; a settled row gets
    ``out[r] = cells[found]``. A row that is not settled goes to ``left`` (returned: how many),
    and the first such row of a track blocks the track for the rest of the round (its later rows
    wait for the cell h3o gives that row). Rows are settled only by proofs, so the cells do not
    depend on the tracks: a hash collision of two devices costs rounds, never a wrong cell.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Each row's position, degrees (WGS 84), ``float64``.
    track : numpy.ndarray
        Each row's track slot, ``int64``.
    rows : numpy.ndarray
        The row numbers of this round, ascending.
    cur : numpy.ndarray
        Per track slot: its last settled cell's table row, ``UNKNOWN`` or ``BLOCKED`` (updated).
    out : numpy.ndarray
        Each row's cell, ``uint64`` (written for settled rows).
    cells : numpy.ndarray
        The table's cells, ``uint64``.
    caps, normals, threshold, near : numpy.ndarray
        The table's test constants (see
        :class:`~greenstream.monitoring.ingest.cellwalk.CellTests`) and neighbour rows.
    left : numpy.ndarray
        Receives the rows not settled.

    Returns
    -------
    int
        How many rows were written to ``left`` (count).
    """
    n_left = 0
    for k in range(len(rows)):
        r = rows[k]
        t = track[r]
        c = cur[t]
        found = -1
        if c >= 0:
            found = _settle(caps, normals, threshold, near, c, lat[r], lon[r])
        if found >= 0:
            out[r] = cells[found]
            cur[t] = found
        else:
            if c != BLOCKED:
                cur[t] = BLOCKED
            left[n_left] = r
            n_left += 1
    return n_left


@nb.njit(cache=True, nogil=True)
def first_blocked(track: Any, rows: Any, cur: Any, stops: Any) -> int:
    """The first row of each blocked track among ``rows`` into ``stops`` (returned: how many);
    each such track is set :data:`UNKNOWN` until its stop's cell is known.

    Parameters
    ----------
    track : numpy.ndarray
        Each row's track slot, ``int64``.
    rows : numpy.ndarray
        The rows left by :func:`walk_tracks`, ascending.
    cur : numpy.ndarray
        Per track slot: its state (updated).
    stops : numpy.ndarray
        Receives the first blocked row of each track.

    Returns
    -------
    int
        How many rows were written to ``stops`` (count).
    """
    n = 0
    for k in range(len(rows)):
        t = track[rows[k]]
        if cur[t] == BLOCKED:
            stops[n] = rows[k]
            n += 1
            cur[t] = UNKNOWN
    return n

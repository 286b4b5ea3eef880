"""Is a position over the sea? The GLOBE 1 km land mask, as the ``global-land-mask`` package
ships it, read without its import-time cost.

``global-land-mask`` (MIT licence; NOAA GLOBE data, public domain) stores a 21,600 x 43,200
boolean grid (30 arc-seconds, about 1 km; True = ocean) as a 2.5 MB compressed ``.npz``, and its
module decompresses all 933 MB of it into memory on import. Here the grid is streamed once out
of the package's file, packed to bits (117 MB) into a cache file, and memory-mapped from then
on: a lookup touches only the pages of the positions asked for. Rivers narrower than a cell are
land in this mask; estuaries and straits are sea.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

PACKAGE: Final = "global_land_mask"
ARCHIVE: Final = "globe_combined_mask_compressed.npz"
CACHE_NAME: Final = "globe_ocean_mask_v1.bits"
ROWS_PER_CHUNK: Final = 1024  # rows decompressed and packed at a time (about 44 MB)


def cache_dir() -> Path:
    """``$GREENSTREAM_CACHE``, else ``$XDG_CACHE_HOME/greenstream``, else
    ``~/.cache/greenstream``."""
    configured = os.environ.get("GREENSTREAM_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "greenstream"


def _package_archive() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)  # the package is located, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / ARCHIVE
    return path if path.is_file() else None


def _read_small(zf: zipfile.ZipFile, name: str) -> npt.NDArray[np.float64]:
    with zf.open(name) as fh:
        return np.asarray(np.lib.format.read_array(fh), dtype=np.float64)


def _build(archive: Path, target: Path) -> None:
    """Stream ``mask.npy`` out of the archive and write it packed to bits, row by row."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf, zf.open("mask.npy") as fh:
        version = np.lib.format.read_magic(fh)
        header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = header(fh)
        if fortran or dtype != np.dtype(bool) or len(shape) != 2:
            raise ValueError(f"unexpected mask layout in {archive}: {shape} {dtype} {fortran}")
        rows, cols = shape
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".mask-")
        with os.fdopen(fd, "wb") as out:
            done = 0
            while done < rows:
                n = min(ROWS_PER_CHUNK, rows - done)
                raw = fh.read(n * cols)
                block = np.frombuffer(raw, dtype=np.bool_).reshape(n, cols)
                out.write(np.packbits(block, axis=1).tobytes())
                done += n
        os.replace(tmp, target)


class OceanMask:
    """The packed grid, memory-mapped, with the package's own cell arithmetic."""

    def __init__(self, bits: Path, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]):
        self.lat0, self.dlat = float(lat[0]), float(lat[1] - lat[0])
        self.lon0, self.dlon = float(lon[0]), float(lon[1] - lon[0])
        self.lat_min, self.lat_max = float(lat.min()), float(lat.max())
        self.lon_min, self.lon_max = float(lon.min()), float(lon.max())
        self.rows, self.cols = len(lat), len(lon)
        self.packed = np.memmap(
            bits, dtype=np.uint8, mode="r", shape=(self.rows, (self.cols + 7) // 8)
        )

    def is_ocean(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Whether each position (degrees) is over the sea (clipped into the grid).

        Parameters
        ----------
        lat : ndarray
            Latitudes, degrees (WGS84).
        lon : ndarray
            Longitudes, degrees (WGS84).

        Returns
        -------
        ndarray of bool
            True over the sea, one per position.

        References
        ----------
        .. [1] Hastings, D. A., Dunbar, P. K. (1999), Global Land One-kilometer Base Elevation
           (GLOBE) Digital Elevation Model, NOAA National Geophysical Data Center.

        Examples
        --------
        Hangzhou and the East China Sea (needs the ``monitoring`` extra):

        >>> mask = ocean_mask()
        >>> mask.is_ocean(np.array([30.0, 30.0]), np.array([120.0, 125.0])).tolist()
        [False, True]
        """
        la = np.clip(np.asarray(lat, dtype=np.float64), self.lat_min, self.lat_max)
        lo = np.clip(np.asarray(lon, dtype=np.float64), self.lon_min, self.lon_max)
        i = ((la - self.lat0) / self.dlat).astype(np.int64).clip(0, self.rows - 1)
        j = ((lo - self.lon0) / self.dlon).astype(np.int64).clip(0, self.cols - 1)
        byte = self.packed[i, j >> 3]
        bits: npt.NDArray[np.bool_] = ((byte >> (7 - (j & 7)).astype(np.uint8)) & 1).astype(bool)
        return bits


@cache
def ocean_mask() -> OceanMask | None:
    """The mask (built into the cache on first use, a few seconds), or None when
    ``global-land-mask`` is not installed (the ``monitoring`` extra)."""
    archive = _package_archive()
    if archive is None:
        return None
    bits = cache_dir() / CACHE_NAME
    with zipfile.ZipFile(archive) as zf:
        lat = _read_small(zf, "lat.npy")
        lon = _read_small(zf, "lon.npy")
    expected = len(lat) * ((len(lon) + 7) // 8)
    if not bits.is_file() or bits.stat().st_size != expected:
        _build(archive, bits)
    return OceanMask(bits, lat, lon)

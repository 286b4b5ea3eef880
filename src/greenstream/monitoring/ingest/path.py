"""Which ingest path runs: the plain libraries, or the compiled kernels of ``greenstream[fast]``.

``GREENSTREAM_INGEST_PATH``: ``plain`` (Polars, h3o, numpy only), ``fast`` (the compiled kernels
of :mod:`greenstream.monitoring.ingest.fast`; an error when numba is not installed), or unset /
``auto``: fast when numba is importable, else plain. Both paths give the same records, cells
and keys (the plain path is the fast one's test oracle, decision 0010).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from typing import Final, Literal

ENV: Final = "GREENSTREAM_INGEST_PATH"
IngestPath = Literal["plain", "fast"]


@cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def ingest_path() -> IngestPath:
    """The path the ingest takes (module docstring); read at each call, so a setting changed
    while a process runs takes effect from the next batch.

    Returns
    -------
    str
        ``"plain"`` or ``"fast"``.

    Raises
    ------
    ValueError
        ``GREENSTREAM_INGEST_PATH`` is not ``plain``, ``fast`` or ``auto``, or asks for ``fast``
        where numba is not installed (``pip install 'greenstream[fast]'``).
    """
    wanted = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if wanted == "plain":
        return "plain"
    if wanted not in ("fast", "auto"):
        raise ValueError(f"{ENV}={wanted!r}: expected plain, fast or auto")
    if _numba_installed():
        return "fast"
    if wanted == "fast":
        raise ValueError(
            f"{ENV}=fast needs numba: install the fast extra (pip install 'greenstream[fast]')"
        )
    return "plain"

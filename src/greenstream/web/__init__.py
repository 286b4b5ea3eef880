"""The dashboard's front end: sources in ``web/`` at the repository root (Vite, MapLibre GL,
deck.gl, ECharts from npm by ``web/package-lock.json``), built by ``make web`` into
``greenstream/web/dist`` which ships with the package and is served by ``greenstream serve`` at
``/``. Everything the page loads (scripts, styles, fonts, basemap) is in ``dist``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def dist_dir() -> Path:
    """Where the built front end is."""
    return Path(str(files("greenstream.web").joinpath("dist")))

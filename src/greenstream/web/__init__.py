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


SOURCES = ("index.html", "vite.config.js", "package.json", "package-lock.json", "src", "public")


def source_sha256(web_root: Path) -> str:
    """SHA-256 of the front end's sources under ``web_root`` (``web/``), computed as the build
    (``web/vite.config.js``) computes it: sorted relative paths, each path, NUL, bytes, NUL."""
    import hashlib

    paths: list[Path] = []
    for name in SOURCES:
        top = web_root / name
        paths += [p for p in top.rglob("*") if p.is_file()] if top.is_dir() else [top]
    digest = hashlib.sha256()
    for rel in sorted(p.relative_to(web_root).as_posix() for p in paths):
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update((web_root / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()

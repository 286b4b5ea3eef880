"""Sea distances by route: the shortest path on a maritime network, with the passages it uses.

A sea leg without a distance is not a great circle: Ningbo -> Rotterdam is 9,000 km as the crow
flies and about 19,400 km by sea (through Malacca, Bab-el-Mandeb, Suez and Gibraltar). This module
routes legs on the maritime network that the ``searoute`` package ships (Apache-2.0; derived from
Eurostat's MARNET / the ORNL Global Shipping Lane Network) and records the passages a route
traverses, so a user sees which canal a figure assumes and can ask for another (``avoid``:
``suez`` gives the route round the Cape of Good Hope or through Panama).

Routes are computed once per lane (origin, destination, passages avoided) and kept in memory and
in a cache file under the greenstream home (``cache/sea_routes-<searoute version>.parquet``), so
a job pays the network's load time (about 1 s) only for lanes it has never seen. The parameters
(``data/sea_routing.csv``) say when a place is too far from the network to be a port, and when a
given sea distance is suspiciously short.

References
----------
ISO 14083:2023, 5.4 (transport activity distance; shortest feasible distance); GLEC Framework v3
(shortest feasible distance for sea freight).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any, Final

import polars as pl

from greenstream.errors import GreenstreamError
from greenstream.geo.distance import great_circle_distance_km_scalar

SEA_ROUTING_FILE: Final = "sea_routing.csv"
# passages the network knows (searoute.classes.passages.Passage); "northwest" is always avoided
# (the Northwest Passage is not a commercial route), as searoute does by default
PASSAGES: Final = (
    "suez",
    "panama",
    "malacca",
    "sunda",
    "babalmandab",
    "bosporus",
    "gibraltar",
    "ormuz",
    "south_africa",
    "chili",
    "bering",
)
ALWAYS_AVOIDED: Final = ("northwest",)
_ROUTE_SCHEMA: Final = {
    "o_lat": pl.Float64,
    "o_lon": pl.Float64,
    "d_lat": pl.Float64,
    "d_lon": pl.Float64,
    "avoid": pl.String,
    "distance_km": pl.Float64,
    "access_km": pl.Float64,
    "passages": pl.String,
}
_lock = threading.Lock()
_memory: dict[tuple[float, float, float, float, str], SeaRoute] = {}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeaRoute:
    """One routed lane. ``distance_km`` is null when no route exists (a place off the network, or
    every way blocked by the avoided passages)."""

    distance_km: float | None
    access_km: float  # the longer of the two straight legs from a place to the network
    passages: tuple[str, ...]
    avoid: tuple[str, ...]

    @property
    def via(self) -> str:
        """The passages of the route as text, e.g. ``"malacca, suez"``."""
        return ", ".join(self.passages) if self.passages else "open sea (no named passage)"


@cache
def sea_routing_parameters() -> dict[str, float]:
    """``data/sea_routing.csv`` as name -> value (every row sourced or labelled an assumption)."""
    raw = files("greenstream.geo").joinpath("data", SEA_ROUTING_FILE).read_bytes()
    table = pl.read_csv(BytesIO(raw), infer_schema=False)
    if table.filter(pl.col("source").is_null() | pl.col("value").is_null()).height:
        raise GreenstreamError(f"{SEA_ROUTING_FILE}: a row without value or source")
    return {r["name"]: float(r["value"]) for r in table.iter_rows(named=True)}


def searoute_version() -> str:
    """The installed version of the ``searoute`` package (names the route cache file).

    Returns
    -------
    str
        The version string.
    """
    from importlib.metadata import version

    return version("searoute")


def normalise_avoid(avoid: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"Suez; panama"`` -> ``("panama", "suez")``; unknown names raise ValueError.

    Parameters
    ----------
    avoid : str or iterable of str or None
        Passage names separated by ``;`` or ``,``, or a list of them; None for none.

    Returns
    -------
    tuple of str
        Distinct lower-case names from :data:`PASSAGES`, sorted.

    Raises
    ------
    ValueError
        If a name is not one of :data:`PASSAGES`.

    Examples
    --------
    >>> normalise_avoid("Suez; panama")
    ('panama', 'suez')
    >>> normalise_avoid(None)
    ()
    """
    if avoid is None:
        return ()
    parts = avoid.replace(",", ";").split(";") if isinstance(avoid, str) else list(avoid)
    names = sorted({p.strip().lower() for p in parts if p and p.strip()})
    unknown = [n for n in names if n not in PASSAGES]
    if unknown:
        raise ValueError(f"unknown passage(s) {unknown} (one of {', '.join(PASSAGES)})")
    return tuple(names)


def _cache_path() -> Path:
    from greenstream.settings import home_dir

    return home_dir() / "cache" / f"sea_routes-{searoute_version()}.parquet"


def _key(o_lat: float, o_lon: float, d_lat: float, d_lon: float, avoid: Sequence[str]) -> Any:
    return (round(o_lat, 5), round(o_lon, 5), round(d_lat, 5), round(d_lon, 5), ";".join(avoid))


def _load_disk_cache() -> None:
    path = _cache_path()
    if not path.exists():
        return
    try:
        frame = pl.read_parquet(path)
    except Exception:  # a broken cache file is rebuilt, never trusted
        log.warning("ignoring unreadable sea route cache %s", path)
        return
    for r in frame.iter_rows(named=True):
        key = _key(
            r["o_lat"],
            r["o_lon"],
            r["d_lat"],
            r["d_lon"],
            r["avoid"].split(";") if r["avoid"] else [],
        )
        _memory.setdefault(
            key,
            SeaRoute(
                r["distance_km"],
                r["access_km"],
                tuple(p for p in (r["passages"] or "").split(";") if p),
                tuple(p for p in (r["avoid"] or "").split(";") if p),
            ),
        )


def _save_disk_cache() -> None:
    path = _cache_path()
    rows = [
        {
            "o_lat": k[0],
            "o_lon": k[1],
            "d_lat": k[2],
            "d_lon": k[3],
            "avoid": k[4],
            "distance_km": v.distance_km,
            "access_km": v.access_km,
            "passages": ";".join(v.passages),
        }
        for k, v in _memory.items()
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        pl.DataFrame(rows, schema=_ROUTE_SCHEMA).write_parquet(tmp)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home still computes, it only forgets
        log.warning("cannot write the sea route cache %s: %s", path, exc)


_disk_loaded = False


def _route_now(
    o_lat: float, o_lon: float, d_lat: float, d_lon: float, avoid: tuple[str, ...]
) -> SeaRoute:
    import searoute

    max_access = sea_routing_parameters()["max_access_km"]
    try:
        feature = searoute.searoute(
            [o_lon, o_lat],
            [d_lon, d_lat],
            units="km",
            append_orig_dest=True,
            restrictions=[*ALWAYS_AVOIDED, *avoid],
            return_passages=True,
        )
    except Exception as exc:  # the library raises plain exceptions when no path exists
        log.info("no sea route %s: %s", (o_lat, o_lon, d_lat, d_lon, avoid), exc)
        return SeaRoute(None, math.inf, (), avoid)
    coords = feature["geometry"]["coordinates"]
    props = feature["properties"]
    length = float(props.get("length", math.inf))
    if len(coords) < 2 or not math.isfinite(length):
        return SeaRoute(None, math.inf, (), avoid)
    first, last = coords[1], coords[-2]  # the network nodes next to the two places
    access = max(
        great_circle_distance_km_scalar(o_lat, o_lon, first[1], first[0]),
        great_circle_distance_km_scalar(d_lat, d_lon, last[1], last[0]),
    )
    passages = tuple(sorted(str(p) for p in props.get("traversed_passages") or ()))
    if access > max_access:
        return SeaRoute(None, access, passages, avoid)
    return SeaRoute(length, access, passages, avoid)


def sea_route(
    o_lat: float, o_lon: float, d_lat: float, d_lon: float, avoid: str | Iterable[str] | None = None
) -> SeaRoute:
    """The shortest sea route between two points (decimal degrees), avoiding ``avoid``.

    The distance includes the straight legs from each place to the nearest network node; it is
    null when a place is further than ``max_access_km`` from the network or no route exists.

    Parameters
    ----------
    o_lat, o_lon : float
        Origin latitude and longitude, decimal degrees.
    d_lat, d_lon : float
        Destination latitude and longitude, decimal degrees.
    avoid : str or iterable of str, optional
        Passages the route must not use (see :func:`normalise_avoid`).

    Returns
    -------
    SeaRoute
        Distance (km), the longer access leg (km), the passages used and those avoided.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity distance; shortest feasible distance).
    .. [2] searoute (Apache-2.0), maritime network derived from Eurostat MARNET / the ORNL Global
       Shipping Lane Network.
    """
    routes = sea_routes([(o_lat, o_lon, d_lat, d_lon, normalise_avoid(avoid))])
    return routes[0]


def sea_routes(
    lanes: Sequence[tuple[float, float, float, float, tuple[str, ...]]],
) -> list[SeaRoute]:
    """:func:`sea_route` of many lanes.

    Cached lanes come from memory or the cache file, the others are routed (and the cache file
    rewritten once).

    Parameters
    ----------
    lanes : sequence of tuple
        ``(o_lat, o_lon, d_lat, d_lon, avoid)`` per lane: coordinates in decimal degrees,
        ``avoid`` a normalised tuple of passage names.

    Returns
    -------
    list of SeaRoute
        One route per lane, in order.
    """
    global _disk_loaded
    with _lock:
        if not _disk_loaded:
            _load_disk_cache()
            _disk_loaded = True
        out: list[SeaRoute] = []
        new = False
        for o_lat, o_lon, d_lat, d_lon, avoid in lanes:
            key = _key(o_lat, o_lon, d_lat, d_lon, avoid)
            route = _memory.get(key)
            if route is None:
                route = _route_now(o_lat, o_lon, d_lat, d_lon, tuple(avoid))
                _memory[key] = route
                new = True
            out.append(route)
        if new:
            _save_disk_cache()
        return out


def passage_options(o_lat: float, o_lon: float, d_lat: float, d_lon: float) -> list[SeaRoute]:
    """The shortest route and the ones avoiding, in turn, each canal it uses (Suez, Panama), then
    both: what a shipper can choose between (e.g. the Cape route when Suez is closed).

    Parameters
    ----------
    o_lat, o_lon : float
        Origin latitude and longitude, decimal degrees.
    d_lat, d_lon : float
        Destination latitude and longitude, decimal degrees.

    Returns
    -------
    list of SeaRoute
        The shortest route first, then the alternatives.
    """
    options = [sea_route(o_lat, o_lon, d_lat, d_lon)]
    canals = [c for c in ("suez", "panama") if c in options[0].passages]
    avoided: set[str] = set()
    for canal in canals:
        avoided.add(canal)
        options.append(sea_route(o_lat, o_lon, d_lat, d_lon, sorted(avoided)))
    last = options[-1]
    for canal in ("suez", "panama"):
        if canal in last.passages and canal not in avoided:
            avoided.add(canal)
            options.append(sea_route(o_lat, o_lon, d_lat, d_lon, sorted(avoided)))
    return options


def clear_memory_cache() -> None:
    """Forget the in-memory routes (tests; the cache file stays)."""
    global _disk_loaded
    with _lock:
        _memory.clear()
        _disk_loaded = False

"""Read a telemetry directory and run the processing chain on it (used by ``greenstream trace``
and ``greenstream intensities``).

A directory holds one file per record type, named after it: ``gps``, ``fuel``, ``charge``,
``meter``, ``scan`` with the extension of its format (``.ndjson`` / ``.jsonl``, ``.csv``,
``.parquet``, ``.arrow`` / ``.ipc`` / ``.feather``), and optionally ``hubs.csv`` (the operator's
hubs: ``hub_id, kind, lat, lon, region``; ``greenstream synth telemetry`` writes one). ``gps`` and
``scan`` are required.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import polars as pl

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.monitoring.chains import Chains, build_chains
from greenstream.monitoring.intensities import hoc_intensities, toc_intensities
from greenstream.monitoring.modes import segment_and_detect
from greenstream.monitoring.segmentation import TS, Segmentation, known_hubs
from greenstream.pipeline import FootprintResult, footprint

RECORDS: Final = ("gps", "fuel", "charge", "meter", "scan", "hubs")
REQUIRED: Final = ("gps", "scan")
_READERS: Final[dict[str, Callable[[Path], pl.DataFrame]]] = {
    ".ndjson": lambda p: pl.read_ndjson(p, infer_schema_length=None),
    ".jsonl": lambda p: pl.read_ndjson(p, infer_schema_length=None),
    ".csv": lambda p: pl.read_csv(p, infer_schema_length=None),
    ".parquet": pl.read_parquet,
    ".arrow": pl.read_ipc,
    ".ipc": pl.read_ipc,
    ".feather": pl.read_ipc,
}
_TS_COLUMNS: Final = ("ts",)


def read_telemetry_dir(directory: Path) -> dict[str, pl.DataFrame]:
    """The record tables of ``directory`` (``ts`` as UTC datetimes); raises :class:`InputErrors`
    naming every missing or unreadable file."""
    found: dict[str, pl.DataFrame] = {}
    problems: list[tuple[str, str]] = []
    if not directory.is_dir():
        raise InputErrors.single(str(directory), "not a directory of telemetry files")
    for name in RECORDS:
        paths = [
            directory / f"{name}{ext}" for ext in _READERS if (directory / f"{name}{ext}").exists()
        ]
        if not paths:
            if name in REQUIRED:
                problems.append(
                    (str(directory / name), f"no {name} file (.ndjson, .csv, .parquet or .arrow)")
                )
            continue
        path = paths[0]
        try:
            frame = _READERS[path.suffix](path)
            if "ts" in frame.columns:
                ts = pl.col("ts")
                frame = frame.with_columns(
                    ts.str.to_datetime(time_zone="UTC", time_unit="us")
                    if frame.schema["ts"] == pl.String
                    else ts.cast(TS)
                )
        except (OSError, pl.exceptions.PolarsError) as exc:
            problems.append((str(path), f"cannot read: {exc}"))
            continue
        found[name] = frame
    if problems:
        from greenstream.errors import InputError

        raise InputErrors([InputError(f, None, None, reason) for f, reason in problems])
    return found


@dataclass(frozen=True)
class Processed:
    """Everything the processing chain derives from one telemetry directory."""

    data: dict[str, pl.DataFrame]
    hubs: pl.DataFrame
    segmentation: Segmentation
    chains: Chains
    hocs: pl.DataFrame | None


def process(data: dict[str, pl.DataFrame], *, registry: Registry | None = None) -> Processed:
    """Segment, detect modes, build chains; measured HOCs over the whole record span when meters
    are present (so hub stops use primary data)."""
    hubs = known_hubs(data.get("hubs"))
    seg = segment_and_detect(data["gps"], hubs)
    first = build_chains(
        data["scan"], seg, hubs=hubs, fuel=data.get("fuel"), charge=data.get("charge")
    )
    hocs = None
    if "meter" in data:
        start, end = span(data)
        hocs = hoc_intensities(
            data["meter"], first.scans, hubs, start=start, end=end, registry=registry
        )
        chains = build_chains(
            data["scan"],
            seg,
            hubs=hubs,
            fuel=data.get("fuel"),
            charge=data.get("charge"),
            hoc_ids=hocs["hoc_id"],
        )
    else:
        chains = first
    return Processed(data, hubs, seg, chains, hocs)


def span(data: dict[str, pl.DataFrame]) -> tuple[datetime, datetime]:
    """First and last record time (+1 us) over every record table."""
    stamps = pl.concat(
        [f.select(pl.col("ts").cast(TS)) for k, f in data.items() if "ts" in f.columns]
    )
    lo, hi = stamps["ts"].min(), stamps["ts"].max()
    assert isinstance(lo, datetime) and isinstance(hi, datetime)
    from datetime import timedelta

    return lo, hi + timedelta(microseconds=1)


def footprints(p: Processed, *, registry: Registry | None = None) -> FootprintResult:
    """Every waybill's footprint, computed by the kernel from the chains."""
    hocs = None
    if p.hocs is not None and p.hocs.height:
        hocs = p.hocs.select(
            "hoc_id", "hub_type", "intensity_wtw_kg_per_t", "intensity_ttw_kg_per_t"
        )
    trips = p.chains.trips if p.chains.trips.height else None
    return footprint(p.chains.legs, trips=trips, hocs=hocs, registry=registry)


def tocs_for(
    p: Processed, start: datetime, end: datetime, *, registry: Registry | None = None
) -> pl.DataFrame:
    return toc_intensities(
        p.segmentation,
        p.chains,
        fuel=p.data.get("fuel"),
        charge=p.data.get("charge"),
        start=start,
        end=end,
        registry=registry,
    )

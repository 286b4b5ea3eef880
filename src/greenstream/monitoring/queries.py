"""Read side of the ingestion state: aggregates for heat maps, quarantine, totals.

Shared by ``greenstream monitor aggregates|quarantine`` and the HTTP router.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import polars as pl
import polars_h3 as plh3
import sqlalchemy as sa
from sqlalchemy import Engine

from greenstream.errors import InputErrors
from greenstream.monitoring.aggregates import DIMENSIONS
from greenstream.monitoring.records import RECORD_TYPES
from greenstream.monitoring.state import (
    AGGREGATE_SUMS,
    AggregateWindow,
    Batch,
    QuarantinedRecord,
)

QUARANTINE_COLUMNS: Final = (
    "id",
    "batch_id",
    "source",
    "position",
    "record_type",
    "reason_code",
    "reason",
    "field",
    "device",
    "ts",
    "record",
)


def _check(dimension: str, record_type: str | None) -> None:
    errors = []
    if dimension not in DIMENSIONS:
        errors.append(f"dimension '{dimension}' is not one of {', '.join(DIMENSIONS)}")
    if record_type is not None and record_type not in RECORD_TYPES:
        errors.append(f"record type '{record_type}' is not one of {', '.join(RECORD_TYPES)}")
    if errors:
        raise InputErrors.single("query", "; ".join(errors))


def query_aggregates(
    engine: Engine,
    dimension: str,
    *,
    record_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by_window: bool = False,
    limit: int | None = None,
) -> pl.DataFrame:
    """Sums per key of one dimension over ``[since, until)`` (window starts), largest WTW first.

    With ``by_window`` every window is its own row (a time series per key). Cells come with the
    latitude / longitude of their centre (``cell_lat``, ``cell_lon``) for map layers.

    Parameters
    ----------
    engine : Engine
        The telemetry store.
    dimension : str
        ``total``, ``hub``, ``lane`` or ``cell``.
    record_type : str, optional
        Only this record type (``gps``, ``fuel``, ...).
    since : datetime, optional
        First window start included (UTC).
    until : datetime, optional
        Window starts before this (UTC).
    by_window : bool
        One row per window and key instead of one per key.
    limit : int, optional
        Largest number of rows.

    Returns
    -------
    DataFrame
        Keys with their sums (records, energy, kg CO2e WTW / TTW, ...), largest WTW first;
        ``cell_lat`` and ``cell_lon`` (degrees) for cells.

    Raises
    ------
    InputErrors
        When the dimension or the record type is unknown.
    """
    _check(dimension, record_type)
    t = AggregateWindow.__table__
    group = [t.c.key, t.c.record_type, t.c.subtype]
    if by_window:
        group = [t.c.window_start, t.c.window_s, *group]
    stmt = sa.select(*group, *[sa.func.sum(t.c[c]).label(c) for c in AGGREGATE_SUMS]).where(
        t.c.dimension == dimension
    )
    if record_type:
        stmt = stmt.where(t.c.record_type == record_type)
    if since:
        stmt = stmt.where(t.c.window_start >= since)
    if until:
        stmt = stmt.where(t.c.window_start < until)
    stmt = stmt.group_by(*group)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    names = [c.name for c in group] + list(AGGREGATE_SUMS)
    schema: dict[str, Any] = {n: None for n in names}
    frame = pl.DataFrame(rows, schema=list(schema), orient="row") if rows else None
    if frame is None:
        frame = pl.DataFrame(
            schema={
                **{n: pl.String for n in names if n in ("key", "record_type", "subtype")},
                **(
                    {"window_start": pl.Datetime("us", "UTC"), "window_s": pl.Int64}
                    if by_window
                    else {}
                ),
                **{c: pl.Float64 for c in AGGREGATE_SUMS},
            }
        ).select(names)
    frame = frame.with_columns(
        pl.col("records", "co2e_missing_records").cast(pl.Int64),
        pl.col("energy_kwh", "fuel_amount", "mass_kg", "co2e_wtw_kg", "co2e_ttw_kg").cast(
            pl.Float64
        ),
    )
    if by_window and frame.height:
        frame = frame.with_columns(_utc(frame.schema["window_start"], "window_start"))
    if dimension == "cell":
        ints = plh3.str_to_int("key")
        frame = frame.with_columns(
            plh3.cell_to_lat(ints).alias("cell_lat"), plh3.cell_to_lng(ints).alias("cell_lon")
        )
    order = ["co2e_wtw_kg", "records", "key"]
    frame = frame.sort(order, descending=[True, True, False])
    return frame.head(limit) if limit else frame


def cells_geojson(frame: pl.DataFrame) -> dict[str, Any]:
    """Cell aggregates (:func:`query_aggregates` with ``dimension="cell"``) as a GeoJSON
    FeatureCollection (RFC 7946) for map layers: one Feature per row (a cell has one row per
    record type and subtype, and per window in a time series; filter by record type for one
    layer), its geometry the cell's
    hexagon (pentagon) from H3 (polars-h3, as the centres), its properties the row's columns
    (timestamps as ISO 8601).

    Rings are closed and counterclockwise with ``[lon, lat]`` positions, as RFC 7946 asks. A cell
    that crosses the antimeridian keeps its ring continuous: its western longitudes are shifted
    by +360 instead of splitting the polygon (RFC 7946 3.1.9 says SHOULD split; map libraries
    draw the continuous ring, a split one shows a seam).

    Parameters
    ----------
    frame : DataFrame
        Cell aggregates: ``key`` (H3 cell as hex text), ``cell_lat``, ``cell_lon`` (degrees)
        and the sums.

    Returns
    -------
    dict of str to Any
        A GeoJSON ``FeatureCollection``, one Polygon Feature per row.

    Raises
    ------
    InputErrors
        When the frame holds no cell aggregates.

    References
    ----------
    .. [1] RFC 7946 (2016), The GeoJSON Format, 3.1.6 (polygons) and 3.1.9 (antimeridian).

    Examples
    --------
    >>> cells = pl.DataFrame({"key": ["87309a8a0ffffff"], "cell_lat": [30.0], "cell_lon": [120.0],
    ...                       "co2e_wtw_kg": [1.0]})
    >>> ring = cells_geojson(cells)["features"][0]["geometry"]["coordinates"][0]
    >>> len(ring), ring[0] == ring[-1]
    (7, True)
    """
    if "key" not in frame.columns or "cell_lat" not in frame.columns:
        raise InputErrors.single("query", "GeoJSON needs cell aggregates (dimension 'cell')")
    boundaries = frame.select(plh3.cell_to_boundary(plh3.str_to_int("key"))).to_series()
    features = []
    for row, boundary in zip(frame.to_dicts(), boundaries.to_list(), strict=True):
        ring = [[lng, lat] for lat, lng in boundary]
        if max(p[0] for p in ring) - min(p[0] for p in ring) > 180:
            ring = [[lng + 360 if lng < 0 else lng, lat] for lng, lat in ring]
        ring.append(ring[0])
        properties = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _utc(dtype: pl.DataType, name: str) -> pl.Expr:
    """SQLite gives naive datetimes (stored as UTC), PostgreSQL aware ones: both to UTC."""
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return col.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")).alias(name)
    return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(name)


def query_quarantine(
    engine: Engine, *, reason_code: str | None = None, limit: int = 100
) -> pl.DataFrame:
    """Quarantined records, newest first (optionally of one reason code).

    Parameters
    ----------
    engine : Engine
        The telemetry store.
    reason_code : str, optional
        Only records quarantined for this reason.
    limit : int
        Largest number of rows.

    Returns
    -------
    DataFrame
        The quarantined records with their reason code and reason.
    """
    t = QuarantinedRecord.__table__
    stmt = sa.select(*[t.c[c] for c in QUARANTINE_COLUMNS]).order_by(t.c.id.desc()).limit(limit)
    if reason_code:
        stmt = stmt.where(t.c.reason_code == reason_code)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    schema = {
        "id": pl.Int64,
        "batch_id": pl.Int64,
        "source": pl.String,
        "position": pl.Int64,
        "record_type": pl.String,
        "reason_code": pl.String,
        "reason": pl.String,
        "field": pl.String,
        "device": pl.String,
        "ts": pl.Object,
        "record": pl.String,
    }
    frame = pl.DataFrame(rows, schema=list(schema), orient="row") if rows else None
    if frame is None:
        return pl.DataFrame(schema={**schema, "ts": pl.String})
    return frame.with_columns(
        pl.col("ts").map_elements(
            lambda v: (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat() if v else None,
            return_dtype=pl.String,
        )
    )


def totals(engine: Engine) -> dict[str, Any]:
    """Whole-store totals: batches, records in, accepted, duplicates, quarantined by reason, and
    the ``total`` dimension's sums per record type (what a crash test compares).

    Parameters
    ----------
    engine : Engine
        The telemetry store.

    Returns
    -------
    dict of str to Any
        Counts (batches, records) and the sums per record type (energy, kg CO2e).
    """
    b = Batch.__table__
    q = QuarantinedRecord.__table__
    a = AggregateWindow.__table__
    with engine.connect() as conn:
        batch = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(b.c.records_in), 0),
                sa.func.coalesce(sa.func.sum(b.c.accepted), 0),
                sa.func.coalesce(sa.func.sum(b.c.duplicates), 0),
                sa.func.coalesce(sa.func.sum(b.c.quarantined), 0),
            )
        ).one()
        reasons = conn.execute(
            sa.select(q.c.reason_code, sa.func.count()).group_by(q.c.reason_code)
        ).all()
        per_type = conn.execute(
            sa.select(
                a.c.record_type,
                *[sa.func.sum(a.c[c]).label(c) for c in AGGREGATE_SUMS],
            )
            .where(a.c.dimension == "total")
            .group_by(a.c.record_type)
            .order_by(a.c.record_type)
        ).all()
    return {
        "batches": int(batch[0]),
        "records_in": int(batch[1]),
        "accepted": int(batch[2]),
        "duplicates": int(batch[3]),
        "quarantined": int(batch[4]),
        "quarantined_by_reason": {str(r): int(n) for r, n in sorted(reasons)},
        "by_record_type": {
            str(row[0]): {c: float(v) for c, v in zip(AGGREGATE_SUMS, row[1:], strict=True)}
            for row in per_type
        },
    }

"""Live windowed aggregates per hub, lane and H3 map cell (the heat-map tables).

Accepted records of one batch become additive *deltas* keyed by
``(window_start, window_s, dimension, key, record_type, subtype)``; the store adds them to what is
there (``INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x``), so a late or out-of-order
record lands in its own window whenever it arrives and the sums never depend on arrival order or
on how records were cut into batches.

Where a record carries energy, its CO2e comes from the accounting kernel:
:func:`greenstream.accounting.trip_emissions` (fuel x the registry's fuel factor; electricity x the
grid factor of the region, TTW 0). Energy is first summed per window, place and energy carrier
(emissions are linear in energy), then the kernel turns each sum into CO2e; nothing here multiplies
by a factor.

Dimensions:

- ``total``: key ``""``, every accepted record;
- ``cell``: H3 cell (hex id at ``h3_resolution``) of the record's position: a GPS fix's lat/lon,
  or the registry position of the device (a site's meter, a fixed charger) or of a scan's hub;
- ``hub``: a scan's ``hub_id``; a meter's site (registry ``hub_id`` of the meter or site, else the
  ``site_id`` itself); a device's registry ``hub_id``;
- ``lane``: the registry ``lane`` of a vehicle / device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl
import polars_h3 as plh3

from greenstream.accounting import trip_emissions
from greenstream.factors import Registry
from greenstream.monitoring.records import DEVICE_FIELD
from greenstream.monitoring.state import AGGREGATE_KEYS, AGGREGATE_SUMS

DIMENSIONS: Final = ("total", "hub", "lane", "cell")
REGISTRY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "device_id": pl.String(),
    "kind": pl.String(),
    "mode": pl.String(),
    "hub_id": pl.String(),
    "lane": pl.String(),
    "grid_region": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}
SECONDS_PER_HOUR: Final = 3600.0  # SI
# the H3 cell of a GPS fix's position, computed ahead (:func:`gps_cells`) when a source can
CELL: Final = "_cell"


def gps_cells(frame: pl.DataFrame, resolution: int) -> pl.Series:
    """The H3 cell (uint64) of each row's ``lat``/``lon``, null where there is no valid position:
    on the fast path (``greenstream[fast]``, :mod:`greenstream.monitoring.ingest.path`) by the
    walk along each device's track (:mod:`greenstream.monitoring.ingest.cellwalk`), else by
    :func:`plain_gps_cells`, its oracle: the same cells.

    Parameters
    ----------
    frame : DataFrame
        Rows with ``lat`` and ``lon`` (degrees, WGS84) and, for the walk, ``device_id``.
    resolution : int
        H3 resolution (0-15).

    Returns
    -------
    Series
        UInt64 H3 cell per row (null without a valid position).

    References
    ----------
    .. [1] Uber H3 hexagonal hierarchical spatial index, ``latLngToCell``.
    """
    from greenstream.monitoring.ingest.path import ingest_path

    if ingest_path() == "fast" and "device_id" in frame.columns:
        from greenstream.monitoring.ingest.cellwalk import MIN_ROWS, gps_track_cells

        if frame.height >= MIN_ROWS:
            return gps_track_cells(frame, resolution)
    return plain_gps_cells(frame, resolution)


def plain_gps_cells(frame: pl.DataFrame, resolution: int) -> pl.Series:
    """The H3 cell (uint64) of each row's ``lat``/``lon``: h3o's ``latLngToCell`` through
    h3ronpy, on the columns' numpy views (about a third less CPU than the polars-h3 expression
    on the same rows); null where there is no valid position (such a fix is quarantined and
    never aggregated).

    Parameters
    ----------
    frame : DataFrame
        Rows with ``lat`` and ``lon`` (degrees, WGS84).
    resolution : int
        H3 resolution (0-15; 7 is about 5 km2 a cell).

    Returns
    -------
    Series
        UInt64 H3 cell per row (null without a valid position).

    References
    ----------
    .. [1] Uber H3 hexagonal hierarchical spatial index, ``latLngToCell``.

    Examples
    --------
    >>> gps_cells(pl.DataFrame({"lat": [30.0, None], "lon": [120.0, 1.0]}), 7).to_list()
    [609139782357876735, None]
    """
    from h3ronpy.vector import coordinates_to_cells

    if frame.height == 0:
        return pl.Series(CELL, [], dtype=pl.UInt64)
    lat, lon = frame.get_column("lat"), frame.get_column("lon")
    valid = lat.is_between(-90.0, 90.0) & lon.is_between(-180.0, 180.0)
    all_valid = valid.null_count() == 0 and bool(valid.all())
    if not all_valid:  # invalid positions as (0, 0), their cells nulled afterwards
        valid = valid.fill_null(False)
        lat = pl.select(pl.when(valid).then(lat).otherwise(0.0)).to_series()
        lon = pl.select(pl.when(valid).then(lon).otherwise(0.0)).to_series()
    cells = pl.Series(CELL, coordinates_to_cells(lat.to_numpy(), lon.to_numpy(), resolution))
    cells = cells.cast(pl.UInt64).alias(CELL)
    return cells if all_valid else pl.select(pl.when(valid).then(cells)).to_series().alias(CELL)


@dataclass(frozen=True)
class AggregateSettings:
    """How records are windowed and placed: window length, H3 resolution, device registry."""

    window_s: int = 300
    h3_resolution: int = 7
    registry: pl.DataFrame | None = None


def conform_registry(frame: pl.DataFrame) -> pl.DataFrame:
    """The device registry with every optional column present (typed nulls when absent).

    Parameters
    ----------
    frame : DataFrame
        The registry as given: ``device_id`` and any of :data:`REGISTRY_SCHEMA`'s columns
        (``lat``, ``lon`` in degrees).

    Returns
    -------
    DataFrame
        The columns of :data:`REGISTRY_SCHEMA`, one row per device (the first wins).

    Examples
    --------
    >>> conform_registry(pl.DataFrame({"device_id": ["d1", "d1"], "mode": ["road", "rail"]})).rows()
    [('d1', None, 'road', None, None, None, None, None)]
    """
    exprs = [
        (pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t)).alias(c)
        for c, t in REGISTRY_SCHEMA.items()
    ]
    return frame.select(exprs).unique("device_id", keep="first", maintain_order=True)


def _empty_deltas() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "window_start": pl.Datetime("us", "UTC"),
        "window_s": pl.Int64(),
        "dimension": pl.String(),
        "key": pl.String(),
        "record_type": pl.String(),
        "subtype": pl.String(),
        "records": pl.Int64(),
        "energy_kwh": pl.Float64(),
        "fuel_amount": pl.Float64(),
        "mass_kg": pl.Float64(),
        "co2e_wtw_kg": pl.Float64(),
        "co2e_ttw_kg": pl.Float64(),
        "co2e_missing_records": pl.Int64(),
    }
    return pl.DataFrame(schema=schema)


EMPTY_DELTAS: Final = _empty_deltas()


def _placed(frame: pl.DataFrame, record_type: str, settings: AggregateSettings) -> pl.DataFrame:
    """Add ``window_start``, ``hub``, ``lane``, ``cell_lat``/``cell_lon``, ``grid`` and ``__cell``
    (the H3 cell of ``cell_lat``/``cell_lon``) columns, in one lazy query (adding ``__cell`` to
    the collected frame cost as much as the rest)."""
    if record_type == "gps" and CELL not in frame.columns:
        frame = frame.with_columns(gps_cells(frame, settings.h3_resolution))
    lf = frame.lazy().with_columns(
        pl.col("ts").dt.truncate(f"{settings.window_s}s").alias("window_start")
    )
    device = DEVICE_FIELD[record_type]
    reg = settings.registry
    null_str = pl.lit(None, dtype=pl.String)
    null_f = pl.lit(None, dtype=pl.Float64)
    if reg is not None and record_type != "scan":
        dev = reg.lazy().select(
            pl.col("device_id").alias(device),
            pl.col("hub_id").alias("__r_hub"),
            pl.col("lane").alias("__r_lane"),
            pl.col("grid_region").alias("__r_grid"),
            pl.col("lat").alias("__r_lat"),
            pl.col("lon").alias("__r_lon"),
        )
        lf = lf.join(dev, on=device, how="left", maintain_order="left")
        if record_type == "meter":  # a meter not listed inherits its site's entry
            site = reg.lazy().select(
                pl.col("device_id").alias("site_id"),
                pl.col("hub_id").alias("__s_hub"),
                pl.col("grid_region").alias("__s_grid"),
                pl.col("lat").alias("__s_lat"),
                pl.col("lon").alias("__s_lon"),
            )
            lf = lf.join(site, on="site_id", how="left", maintain_order="left").with_columns(
                pl.coalesce("__r_hub", "__s_hub").alias("__r_hub"),
                pl.coalesce("__r_grid", "__s_grid").alias("__r_grid"),
                pl.coalesce("__r_lat", "__s_lat").alias("__r_lat"),
                pl.coalesce("__r_lon", "__s_lon").alias("__r_lon"),
            )
    else:
        lf = lf.with_columns(
            null_str.alias("__r_hub"),
            null_str.alias("__r_lane"),
            null_str.alias("__r_grid"),
            null_f.alias("__r_lat"),
            null_f.alias("__r_lon"),
        )
    if record_type == "scan":
        if reg is not None:
            hubs = reg.lazy().select(
                pl.col("device_id").alias("hub_id"),
                pl.col("lat").alias("__h_lat"),
                pl.col("lon").alias("__h_lon"),
            )
            lf = lf.join(hubs, on="hub_id", how="left", maintain_order="left")
        else:
            lf = lf.with_columns(null_f.alias("__h_lat"), null_f.alias("__h_lon"))
        lf = lf.with_columns(
            pl.col("hub_id").alias("hub"),
            null_str.alias("lane"),
            pl.col("__h_lat").alias("cell_lat"),
            pl.col("__h_lon").alias("cell_lon"),
        )
    elif record_type == "gps":
        lf = lf.with_columns(
            pl.col("__r_hub").alias("hub"),
            pl.col("__r_lane").alias("lane"),
            pl.col("lat").alias("cell_lat"),
            pl.col("lon").alias("cell_lon"),
        )
    else:
        hub = pl.col("__r_hub")
        if record_type == "meter":
            hub = pl.coalesce("__r_hub", "site_id")
        lf = lf.with_columns(
            hub.alias("hub"),
            pl.col("__r_lane").alias("lane"),
            pl.col("__r_lat").alias("cell_lat"),
            pl.col("__r_lon").alias("cell_lon"),
        )
    if record_type == "gps":
        # from lat/lon by :func:`gps_cells` (computed ahead when a source could), null where
        # they are not a valid position
        cell = pl.col(CELL).cast(pl.UInt64)
    else:
        located = pl.col("cell_lat").is_not_null() & pl.col("cell_lon").is_not_null()
        h3 = plh3.latlng_to_cell("cell_lat", "cell_lon", settings.h3_resolution)
        cell = pl.when(located).then(h3).cast(pl.UInt64)
    return lf.with_columns(cell.alias("__cell")).collect()


def _measures(frame: pl.DataFrame, record_type: str, registry: Registry) -> pl.DataFrame:
    """Group by (window, hub, lane, position, subtype) and add the measures, CO2e from the kernel."""
    # keys that are null on every row (no registry, no hubs) are left out of the group-by
    group = ["window_start"] + [
        c for c in ("hub", "lane", "__cell") if frame.get_column(c).null_count() < frame.height
    ]
    zero = pl.lit(0.0)
    if record_type == "gps":
        # a count per group, the constant columns after the group-by. Lazy: Polars' streaming
        # engine groups a 530k-fix batch in ~10 ms where the eager group-by took 30-56 ms once
        # a batch had 1-2k (window, cell) groups; counts are exact in any order of work, so
        # this is safe here (float sums below stay eager)
        return (
            frame.lazy()
            .group_by(group)
            .len("records")
            .with_columns(
                pl.lit("").alias("subtype"),
                pl.col("records").cast(pl.Int64),
                zero.alias("energy_kwh"),
                zero.alias("fuel_amount"),
                zero.alias("mass_kg"),
                zero.alias("co2e_wtw_kg"),
                zero.alias("co2e_ttw_kg"),
                pl.lit(0, dtype=pl.Int64).alias("co2e_missing_records"),
            )
            .collect()
        )
    if record_type == "scan":
        return frame.group_by([*group, pl.col("event").alias("subtype")]).agg(
            pl.len().cast(pl.Int64).alias("records"),
            zero.alias("energy_kwh"),
            zero.alias("fuel_amount"),
            pl.col("mass_kg").fill_null(0.0).sum().alias("mass_kg"),
            zero.alias("co2e_wtw_kg"),
            zero.alias("co2e_ttw_kg"),
            pl.lit(0, dtype=pl.Int64).alias("co2e_missing_records"),
        )
    # energy records: sum the energy per group and carrier, then the kernel gives CO2e
    if record_type == "fuel":
        energy = frame.with_columns(
            pl.concat_str("energy_carrier", pl.lit(" "), "energy_unit").alias("subtype"),
            pl.col("energy_carrier").alias("__carrier"),
            pl.col("energy_unit").alias("__unit"),
            pl.col("energy_amount").alias("__amount"),
            pl.lit(None, dtype=pl.String).alias("__grid"),
            pl.lit(True).alias("__emits"),
            pl.lit(0.0).alias("__kwh"),
            pl.col("energy_amount").alias("__fuel"),
        )
    elif record_type == "charge":
        energy = frame.with_columns(
            pl.lit("").alias("subtype"),
            pl.lit("electricity").alias("__carrier"),
            pl.lit("kWh").alias("__unit"),
            pl.col("energy_kwh").alias("__amount"),
            pl.col("grid_region").alias("__grid"),
            pl.lit(True).alias("__emits"),
            pl.col("energy_kwh").alias("__kwh"),
            pl.lit(0.0).alias("__fuel"),
        )
    else:  # meter: only grid imports are emissions of the site (PV and consumption are energy)
        energy = frame.with_columns(
            pl.col("kind").alias("subtype"),
            pl.lit("electricity").alias("__carrier"),
            pl.lit("kWh").alias("__unit"),
            pl.col("energy_kwh").alias("__amount"),
            pl.col("__r_grid").alias("__grid"),
            (pl.col("kind") == "grid_import").alias("__emits"),
            pl.col("energy_kwh").alias("__kwh"),
            pl.lit(0.0).alias("__fuel"),
        )
    keys = [*group, "subtype", "__carrier", "__unit", "__grid", "__emits"]
    summed = energy.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("records"),
        pl.col("__kwh").sum().alias("energy_kwh"),
        pl.col("__fuel").sum().alias("fuel_amount"),
        pl.col("__amount").sum().alias("energy_amount"),
    )
    summed = summed.with_row_index("__gid").with_columns(pl.col("__gid").cast(pl.String))
    trips = summed.filter(pl.col("__emits")).select(
        pl.col("__gid").alias("trip_id"),
        pl.col("__carrier").alias("energy_carrier"),
        pl.col("energy_amount"),
        pl.col("__unit").alias("energy_unit"),
        pl.col("__grid").alias("grid_region"),
        pl.lit(None, dtype=pl.Float64).alias("ef_wtw_kg_per_unit"),
        pl.lit(None, dtype=pl.Float64).alias("ef_ttw_kg_per_unit"),
    )
    co2e = (
        trip_emissions(trips.lazy(), registry)
        .select(
            pl.col("trip_id").alias("__gid"),
            pl.col("trip_co2e_wtw_kg").alias("__wtw"),
            pl.col("trip_co2e_ttw_kg").alias("__ttw"),
        )
        .collect()
    )
    joined = summed.join(co2e, on="__gid", how="left")
    missing = pl.col("__emits") & pl.col("__wtw").is_null()
    return joined.select(
        *group,
        "subtype",
        "records",
        "energy_kwh",
        "fuel_amount",
        pl.lit(0.0).alias("mass_kg"),
        pl.col("__wtw").fill_null(0.0).alias("co2e_wtw_kg"),
        pl.col("__ttw").fill_null(0.0).alias("co2e_ttw_kg"),
        pl.when(missing).then(pl.col("records")).otherwise(0).alias("co2e_missing_records"),
    )


def window_deltas(
    accepted: dict[str, pl.DataFrame], settings: AggregateSettings, registry: Registry
) -> pl.DataFrame:
    """Aggregate deltas of one batch's accepted records, one row per window x dimension x key.

    Parameters
    ----------
    accepted : dict of str to DataFrame
        The batch's accepted records by record type (``gps``, ``fuel``, ``charge``, ``meter``,
        ``scan``, ...).
    settings : AggregateSettings
        Window length (s), H3 resolution and device registry.
    registry : Registry
        The factor registry that prices energy (through the accounting kernel).

    Returns
    -------
    DataFrame
        ``window_start``, ``window_s``, ``dimension``, ``key``, ``record_type``, ``subtype``
        and the additive sums (records, energy in its unit, kg CO2e WTW / TTW, ...).

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (energy carrier data to GHG emissions).
    """
    parts: list[pl.DataFrame] = []
    for record_type, frame in accepted.items():
        if frame.height == 0:
            continue
        placed = _placed(frame, record_type, settings)
        with_cell = _measures(placed, record_type, registry)
        with_cell = with_cell.with_columns(
            [
                pl.lit(None, dtype=placed.schema[c]).alias(c)
                for c in ("hub", "lane", "__cell")
                if c not in with_cell.columns
            ]
        )
        sums = [pl.col(c).sum() for c in AGGREGATE_SUMS]
        for dimension, key in (
            ("total", pl.lit("")),
            ("hub", pl.col("hub")),
            ("lane", pl.col("lane")),
            ("cell", pl.col("__cell")),
        ):
            rows = (
                with_cell.with_columns(key.alias("key"))
                .filter(pl.col("key").is_not_null())
                .group_by("key", "window_start", "subtype")
                .agg(sums)
            )
            if dimension == "cell":
                rows = rows.with_columns(plh3.int_to_str("key").alias("key"))
            parts.append(
                rows.with_columns(
                    pl.lit(dimension).alias("dimension"),
                    pl.lit(record_type).alias("record_type"),
                    pl.lit(settings.window_s, dtype=pl.Int64).alias("window_s"),
                ).select(*AGGREGATE_KEYS, *AGGREGATE_SUMS)
            )
    if not parts:
        return EMPTY_DELTAS
    return pl.concat([EMPTY_DELTAS, *[p.cast(EMPTY_DELTAS.schema) for p in parts]]).sort(
        list(AGGREGATE_KEYS)
    )

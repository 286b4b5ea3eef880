"""Waybill chains from scans and segmented telemetry -> kernel inputs -> footprints.

For every waybill, its scans (load / unload / deliver, sorted by time) give the vehicles it rode
and the hubs it passed:

- a *vehicle leg* runs from a ``load`` onto vehicle V to the next ``unload`` / ``deliver`` from V.
  It is cut at V's detected trips (legs between hub dwells, :mod:`segmentation`), giving one
  transport chain element (TCE) per vehicle trip, with the trip's detected ``mode`` and its
  *actual* distance along the track (the trip's distance when the waybill rode all of it, else
  the track distance between the scans);
- a *hub stop* is where the waybill left a hub: the hub of its first load, and between two
  vehicle legs the hub of the unload scan (the kernel's HOC activity is the tonnes leaving a
  hub); a scan without ``hub_id`` takes the hub of the vehicle's GPS dwell at the scan time
  (``hub_from_gps``);
- a vehicle trip's *measured energy* comes from the vehicle's fuel and charge records by the
  fill-to-full convention (:func:`trip_energy`): a record replaces what the vehicle used since
  its previous record, split over the trips that distance was driven on. A TCE on a trip with energy
  gets the trip as ``trip_id`` and the kernel allocates the trip's energy to the TCEs on it by
  tonne-km (ISO 14083 5.6, method primary); a trip without energy falls back to the kernel's
  default for the detected mode, and the element says why (``fallback_reason``).

The chain becomes the kernel's LEGS / TRIPS / HOCS tables (docs/data-contract.md) and every
emission figure comes from :func:`greenstream.pipeline.footprint`. Energy of trips that carried
no waybill (empty running) cannot be allocated to a waybill; it counts in the fleet's TOC
(:mod:`greenstream.monitoring.intensities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.monitoring.segmentation import TS, FrameLike, Segmentation, physics

# hub kind -> iLEAP hub type of the kernel (a rail terminal and an airport are transshipment
# points for the cargo; a port is a maritime container terminal)
HUB_TYPE_BY_KIND: Final = {
    "sorting_hub": "Transshipment",
    "rail_terminal": "Transshipment",
    "airport": "Transshipment",
    "port": "MaritimeContainerTerminal",
}


@dataclass(frozen=True)
class Chains:
    """Kernel inputs (``legs``, ``trips``) plus ``elements``: one row per chain element with the
    telemetry context (vehicle, hubs, times) keyed by ``tce_id``; ``scans``: scans with the
    resolved hub; ``unmatched``: what could not become a chain element (``waybill_id, ts,
    vehicle_id, reason``), so that no gap in a chain passes silently."""

    legs: pl.DataFrame
    trips: pl.DataFrame
    elements: pl.DataFrame
    scans: pl.DataFrame
    unmatched: pl.DataFrame


ENERGY_SCHEMA: dict[str, pl.DataType] = {
    "trip_id": pl.String(),
    "energy_carrier": pl.String(),
    "energy_amount": pl.Float64(),
    "energy_unit": pl.String(),
    "grid_region": pl.String(),
    "vehicle_id": pl.String(),
    "ts": TS,
    "allocation": pl.String(),
}


def trip_energy(
    fuel: FrameLike | None,
    charge: FrameLike | None,
    trips: pl.DataFrame,
    fixes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every fuel and charge record on the vehicle trips whose energy it replaces: ``trip_id,
    energy_carrier, energy_amount, energy_unit, grid_region`` (kernel TRIPS columns) plus
    ``vehicle_id, ts`` and ``allocation`` (the reason); one row per (record, trip).

    The convention is fill-to-full (the full-tank method of fuel accounting): a tank filled to
    full replaces what the vehicle burnt since its previous fill of the same energy carrier, and
    a charge or traction-meter reading what it used since the previous reading. A record's
    energy is therefore split over the distance the vehicle drove between its previous record
    and this one, by the trips that distance was driven on: a refuel at a rest stop goes to the
    trip it interrupts, a fill after two drops of a multi-drop run to both trips by distance. A
    vehicle's first record covers everything it drove before it. A record with no distance
    behind it (two fills in a row at a stand) goes to the trip it was recorded on, else to the
    one that ended before it, else to the vehicle's first trip. A record of a vehicle without any
    detected trip keeps a null ``trip_id`` (callers report it).

    ``trips`` needs ``device_id, leg_id, start_ts, end_ts, distance_km`` (detected legs;
    ``device_id`` is the vehicle id); ``fixes`` (``device_id, ts, distance_km``) places the
    records along the track, without it each trip counts its distance at its end.

    Parameters
    ----------
    fuel : DataFrame or LazyFrame or None
        Fuel records: ``vehicle_id``, ``ts`` (UTC), ``energy_carrier``, ``energy_amount`` (in
        ``energy_unit``, e.g. l or kg) and ``energy_unit``.
    charge : DataFrame or LazyFrame or None
        Charge or traction-meter records: the same columns (kWh) and ``grid_region``.
    trips : DataFrame
        Detected legs: ``device_id``, ``leg_id``, ``start_ts``, ``end_ts`` and
        ``distance_km`` (km).
    fixes : DataFrame, optional
        ``device_id``, ``ts`` and ``distance_km`` (km) of the fixes, to place each record
        along the track.

    Returns
    -------
    DataFrame
        One row per (record, trip): ``trip_id``, ``energy_carrier``, ``energy_amount`` (the
        record's unit), ``energy_unit``, ``grid_region``, ``vehicle_id``, ``ts`` and
        ``allocation``.

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (energy carrier data) and 5.6 (allocation).

    Examples
    --------
    A fill of 120 l after trips of 100 km and 300 km replaces what both burnt: 30 l and 90 l.
    The vehicle's first fill, before any distance, goes to its first trip.

    >>> import datetime as dt
    >>> t0, h = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.timedelta(hours=1)
    >>> trips = pl.DataFrame({"device_id": ["v1", "v1"], "leg_id": ["v1:1", "v1:2"],
    ...                       "start_ts": [t0, t0 + 3 * h], "end_ts": [t0 + 2 * h, t0 + 5 * h],
    ...                       "distance_km": [100.0, 300.0]})
    >>> fuel = pl.DataFrame({"vehicle_id": ["v1", "v1"], "ts": [t0 - h, t0 + 6 * h],
    ...                      "energy_carrier": "diesel", "energy_amount": [50.0, 120.0],
    ...                      "energy_unit": "l"})
    >>> trip_energy(fuel, None, trips).select("trip_id", "energy_amount").rows()
    [('v1:1', 50.0), ('v1:1', 30.0), ('v1:2', 90.0)]
    """
    parts = []
    if fuel is not None:
        parts.append(
            fuel.lazy()
            .collect()
            .select(
                pl.col("vehicle_id").cast(pl.String),
                pl.col("ts").cast(TS),
                pl.col("energy_carrier").cast(pl.String),
                pl.col("energy_amount").cast(pl.Float64),
                pl.col("energy_unit").cast(pl.String),
                pl.lit(None, pl.String).alias("grid_region"),
            )
        )
    if charge is not None:
        parts.append(
            charge.lazy()
            .collect()
            .select(
                pl.col("vehicle_id").cast(pl.String),
                pl.col("ts").cast(TS),
                pl.lit("electricity").alias("energy_carrier"),
                pl.col("energy_kwh").cast(pl.Float64).alias("energy_amount"),
                pl.lit("kWh").alias("energy_unit"),
                pl.col("grid_region").cast(pl.String),
            )
        )
    if not parts:
        return pl.DataFrame(schema=ENERGY_SCHEMA)
    trip_rows = trips.select(
        pl.col("device_id").cast(pl.String).alias("vehicle_id"),
        pl.col("leg_id").alias("trip_id"),
        pl.col("start_ts").alias("__start"),
        pl.col("end_ts").alias("__end"),
        pl.col("distance_km").fill_null(0.0).alias("__km"),
    ).sort("vehicle_id", "__start")
    # a trip covers (a, b] on the vehicle's odometer of trip distances (the kernel's TCE
    # distances); a record sits on it where the track had got to by its time
    trip_rows = trip_rows.with_columns(
        pl.col("__km").cum_sum().over("vehicle_id").alias("__b")
    ).with_columns((pl.col("__b") - pl.col("__km")).alias("__a"))
    records = pl.concat(parts).with_row_index("__rec").sort("ts")
    located = records.join_asof(
        trip_rows.select("vehicle_id", "__start", "__a", "__km").sort("__start"),
        left_on="ts",
        right_on="__start",
        by="vehicle_id",
        strategy="backward",
        check_sortedness=False,
    )
    if fixes is not None and fixes.height:
        odo = fixes.select(
            pl.col("device_id").cast(pl.String).alias("vehicle_id"),
            pl.col("ts").alias("__t"),
            pl.col("distance_km").fill_null(0.0).cum_sum().over("device_id").alias("__odo"),
            pl.col("distance_km").fill_null(0.0).alias("__step"),
        ).sort("__t")

        def track_odo(
            frame: pl.DataFrame, at: str, name: str, *, before: bool = False
        ) -> pl.DataFrame:
            """The odometer at ``at`` (``before``: before the step that ends there, which a
            trip's first fix brings into the trip)."""
            return (
                frame.sort(at)
                .join_asof(
                    odo,
                    left_on=at,
                    right_on="__t",
                    by="vehicle_id",
                    strategy="backward",
                    check_sortedness=False,
                )
                .with_columns(
                    (pl.col("__odo") - (pl.col("__step") if before else 0.0))
                    .fill_null(0.0)
                    .alias(name)
                )
                .drop("__t", "__odo", "__step")
            )

        located = track_odo(track_odo(located, "ts", "__o_ts"), "__start", "__o_start", before=True)
        into = (pl.col("__o_ts") - pl.col("__o_start")).clip(0.0, None)
    else:  # without the track a record within a trip counts at the trip's end
        into = pl.col("__km")
    records = (
        located.with_columns(
            pl.when(pl.col("__a").is_null())
            .then(0.0)
            .otherwise(pl.col("__a") + pl.min_horizontal(into, pl.col("__km")))
            .alias("__at")
        )
        .drop("__start", "__a", "__km", "__o_ts", "__o_start", strict=False)
        .sort("vehicle_id", "energy_carrier", "ts", "__rec")
        .with_columns(
            pl.col("__at")
            .shift(1)
            .over("vehicle_id", "energy_carrier")
            .fill_null(-1.0)  # the first record covers everything before it
            .alias("__since")
        )
    )
    pairs = records.join(trip_rows, on="vehicle_id", how="inner").with_columns(
        (pl.min_horizontal("__at", "__b") - pl.max_horizontal("__since", "__a"))
        .clip(lower_bound=0.0)
        .alias("__overlap")
    )
    covered = (
        pairs.filter(pl.col("__overlap") > 1e-6)  # a millimetre: float noise of the sums
        .with_columns(pl.col("__overlap").sum().over("__rec").alias("__sum"))
        .with_columns(
            (pl.col("energy_amount") * pl.col("__overlap") / pl.col("__sum")).alias(
                "energy_amount"
            ),
            pl.format(
                "fill-to-full: replaces what was used over {} km since the previous record, "
                "{} km of them on this trip",
                pl.col("__sum").round(1),
                pl.col("__overlap").round(1),
            ).alias("allocation"),
        )
    )
    # records with no distance behind them: the trip they were recorded on, else the one that
    # ended before them, else the vehicle's first trip
    rest = records.join(covered.select("__rec").unique(), on="__rec", how="anti").sort("ts")
    starts = trip_rows.select("vehicle_id", "trip_id", "__start", "__end").sort("__start")
    placed = (
        rest.join_asof(
            starts,
            left_on="ts",
            right_on="__start",
            by="vehicle_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join(
            starts.group_by("vehicle_id").agg(
                pl.col("trip_id").sort_by("__start").first().alias("__first")
            ),
            on="vehicle_id",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("trip_id").is_null() & pl.col("__first").is_not_null())
            .then(pl.lit("no distance behind the record, before the vehicle's first trip"))
            .when(pl.col("ts") <= pl.col("__end"))
            .then(pl.lit("no distance behind the record: the trip it was recorded on"))
            .when(pl.col("trip_id").is_not_null())
            .then(pl.lit("no distance behind the record: the trip that ended before it"))
            .otherwise(pl.lit("no trip of the vehicle detected"))
            .alias("allocation"),
            pl.coalesce("trip_id", "__first").alias("trip_id"),
        )
    )
    return (
        pl.concat(
            [covered.select("__rec", *ENERGY_SCHEMA), placed.select("__rec", *ENERGY_SCHEMA)],
            how="vertical_relaxed",
        )
        .sort("__rec", "trip_id", nulls_last=True)
        .select(list(ENERGY_SCHEMA))
    )


def _resolve_scan_hubs(scans: pl.DataFrame, seg: Segmentation) -> pl.DataFrame:
    """Add ``hub_from_gps`` (the hub of the vehicle's dwell at the scan) and ``hub_id`` resolved."""
    dwell = (
        seg.stops.filter(pl.col("hub_id").is_not_null())
        .select(
            pl.col("device_id").alias("vehicle_id"),
            "start_ts",
            "end_ts",
            pl.col("hub_id").alias("hub_from_gps"),
        )
        .sort("start_ts")
    )
    tol_s = physics()["scan_match_s"]
    # the dwell that contains the scan; else the closer of the last dwell before it and the next
    # one after it, within scan_match_s
    before = dwell.select(
        "vehicle_id",
        "start_ts",
        pl.col("end_ts").alias("__end_b"),
        pl.col("hub_from_gps").alias("__hub_b"),
    )
    after = dwell.select(
        "vehicle_id", pl.col("start_ts").alias("__start_a"), pl.col("hub_from_gps").alias("__hub_a")
    )
    gap_b = (pl.col("ts") - pl.col("__end_b")).dt.total_seconds()
    gap_a = (pl.col("__start_a") - pl.col("ts")).dt.total_seconds()
    with_stop = (
        scans.with_row_index("__scan")
        .sort("ts")
        .join_asof(
            before,
            left_on="ts",
            right_on="start_ts",
            by="vehicle_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join_asof(
            after,
            left_on="ts",
            right_on="__start_a",
            by="vehicle_id",
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(
            pl.when(gap_b <= 0)
            .then(pl.col("__hub_b"))
            .when((gap_b <= tol_s) & ((gap_b <= gap_a) | pl.col("__start_a").is_null()))
            .then(pl.col("__hub_b"))
            .when(gap_a <= tol_s)
            .then(pl.col("__hub_a"))
            .alias("hub_from_gps")
        )
        .sort("__scan")
        .drop("__scan", "start_ts", "__end_b", "__hub_b", "__start_a", "__hub_a")
    )
    return with_stop.with_columns(pl.coalesce("hub_id", "hub_from_gps").alias("hub_id"))


def check_scans(scans: pl.DataFrame, *, file: str = "<scan>") -> None:
    """Refuse scans a chain cannot be built from (every bad row reported, 1-based rows).

    Parameters
    ----------
    scans : DataFrame
        Waybill scans: ``event`` (load, unload or deliver), ``vehicle_id``, ``hub_id``,
        ``mass_kg`` (kg, > 0) and ``ts``.
    file : str
        Name of the source used in the error messages.

    Raises
    ------
    InputErrors
        Naming every bad row and field.

    Examples
    --------
    >>> import datetime as dt
    >>> scans = pl.DataFrame({"event": ["load", "drop"], "vehicle_id": ["v1", "v1"],
    ...                       "hub_id": ["A", None], "mass_kg": [5.0, 5.0],
    ...                       "ts": [dt.datetime(2026, 1, 1)] * 2})
    >>> check_scans(scans, file="scans.csv")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...event must be load, unload or deliver...
    """
    frame = scans.with_row_index("__row", offset=1)
    rules = [
        (
            "event",
            ~pl.col("event").is_in(["load", "unload", "deliver"]).fill_null(False),
            "event must be load, unload or deliver",
        ),
        (
            "vehicle_id",
            pl.col("vehicle_id").is_null() & pl.col("hub_id").is_null(),
            "a scan needs a vehicle_id or a hub_id",
        ),
        (
            "vehicle_id",
            pl.col("event").is_in(["load", "unload", "deliver"])
            & pl.col("vehicle_id").is_null()
            & pl.col("hub_id").is_not_null()
            & (pl.col("event") == "load"),
            "a load scan needs the vehicle_id it was loaded onto",
        ),
        ("mass_kg", ~(pl.col("mass_kg") > 0).fill_null(False), "mass_kg must be > 0"),
        ("ts", pl.col("ts").is_null(), "missing ts"),
    ]
    errors = [
        InputError(file, int(row), field, reason)
        for field, bad, reason in rules
        for (row,) in frame.filter(bad).select("__row").iter_rows()
    ]
    errors.sort(key=lambda e: (e.row or 0, e.field or ""))
    InputErrors.raise_if_any(errors)


def build_chains(
    scans: FrameLike,
    seg: Segmentation,
    *,
    hubs: pl.DataFrame,
    fuel: FrameLike | None = None,
    charge: FrameLike | None = None,
    hoc_ids: pl.Series | None = None,
) -> Chains:
    """Every waybill's chain of TCEs in the kernel's LEGS contract (see the module docstring).

    ``seg`` must carry modes (:func:`greenstream.monitoring.modes.detect_modes`). ``hoc_ids``:
    hubs with a measured HOC (``HOC-<hub_id>``); the other hub stops use the kernel's default
    for their hub type.

    Parameters
    ----------
    scans : DataFrame or LazyFrame
        Waybill scans: ``waybill_id``, ``event``, ``vehicle_id``, ``hub_id``, ``mass_kg`` (kg)
        and ``ts`` (UTC).
    seg : Segmentation
        Segmented telemetry with detected modes.
    hubs : DataFrame
        Known hubs (:func:`~greenstream.monitoring.segmentation.known_hubs`).
    fuel : DataFrame or LazyFrame, optional
        Fuel records (:func:`trip_energy`).
    charge : DataFrame or LazyFrame, optional
        Charge records (:func:`trip_energy`).
    hoc_ids : Series, optional
        HOC ids measured for hubs (``HOC-<hub_id>``).

    Returns
    -------
    Chains
        ``legs`` (kernel LEGS: ``mass_kg`` in kg, ``distance_km`` in km, mode, trip, hub),
        ``trips`` (kernel TRIPS: measured energy), ``elements`` (the chain of each waybill),
        ``scans`` and ``unmatched`` (scans no trip explains, with the reason).

    Raises
    ------
    InputErrors
        When the scans are invalid (:func:`check_scans`).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity), 5.5 (hub operations) and 5.6
       (allocation by tonne-km).

    Examples
    --------
    A 10 t waybill loaded at depot A onto truck ``t1`` and unloaded at depot B: a hub stop at A,
    then one road element over the truck's measured 19.26 km, on the trip whose 8 l of diesel
    were filled after it.

    >>> import datetime as dt
    >>> from greenstream.monitoring.modes import segment_and_detect
    >>> hubs = pl.DataFrame({"hub_id": ["A", "B"], "kind": ["depot", "depot"],
    ...                      "lat": [30.0, 30.0], "lon": [120.0, 120.2]})
    >>> lons = [120.0] * 10 + [120.0 + 0.01 * i for i in range(1, 21)] + [120.2] * 10
    >>> t0, m = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.timedelta(minutes=1)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": 30.0, "lon": lons,
    ...                     "ts": [t0 + i * m for i in range(len(lons))]})
    >>> scans = pl.DataFrame({"waybill_id": ["w1", "w1"], "event": ["load", "unload"],
    ...                       "vehicle_id": ["t1", "t1"], "hub_id": ["A", "B"],
    ...                       "mass_kg": [10000.0, 10000.0], "ts": [t0 + 5 * m, t0 + 35 * m]})
    >>> fuel = pl.DataFrame({"vehicle_id": ["t1"], "ts": [t0 + 39 * m], "energy_amount": [8.0],
    ...                      "energy_carrier": ["diesel"], "energy_unit": ["l"]})
    >>> chains = build_chains(scans, segment_and_detect(gps, hubs), hubs=hubs, fuel=fuel)
    >>> chains.legs.select("shipment_id", "mode", pl.col("distance_km").round(2)).rows()
    [('w1', None, None), ('w1', 'road', 19.26)]
    >>> chains.trips.select("trip_id", "energy_amount").rows()
    [('t1:1', 8.0)]
    """
    raw = scans.lazy().collect()
    for col in ("vehicle_id", "hub_id", "device_id"):
        if col not in raw.columns:
            raw = raw.with_columns(pl.lit(None, pl.String).alias(col))
    raw = raw.with_columns(
        pl.col("ts").cast(TS),
        pl.col("mass_kg").cast(pl.Float64),
        pl.col("vehicle_id").cast(pl.String),
        pl.col("hub_id").cast(pl.String),
        pl.col("device_id").cast(pl.String),
    )
    check_scans(raw)
    resolved = _resolve_scan_hubs(raw, seg).sort("waybill_id", "ts")
    nxt = {
        c: pl.col(c).shift(-1).over("waybill_id")
        for c in ("event", "vehicle_id", "ts", "hub_id", "hub_from_gps")
    }
    paired = resolved.with_columns(
        nxt["event"].alias("__next_event"),
        nxt["vehicle_id"].alias("__next_vehicle"),
        nxt["ts"].alias("unload_ts"),
        nxt["hub_id"].alias("to_hub"),
        nxt["hub_from_gps"].alias("to_hub_gps"),
    )
    is_ride = (
        pl.col("__next_event").is_in(["unload", "deliver"])
        & (pl.col("__next_vehicle") == pl.col("vehicle_id"))
    ).fill_null(False)
    unpaired = paired.filter((pl.col("event") == "load") & ~is_ride).select(
        "waybill_id",
        "ts",
        "vehicle_id",
        pl.lit("load scan not followed by an unload or deliver scan from the same vehicle").alias(
            "reason"
        ),
    )
    # the track of a ride: its vehicle's own GPS; a vehicle without one (a train, ship or
    # aircraft of another carrier) is followed by the tracker travelling with the consignment
    tracked = seg.legs.get_column("device_id").unique().implode()
    rides = paired.filter((pl.col("event") == "load") & is_ride).select(
        "waybill_id",
        pl.when(pl.col("vehicle_id").is_in(tracked))
        .then(pl.col("vehicle_id"))
        .when(pl.col("device_id").is_in(tracked))
        .then(pl.col("device_id"))
        .otherwise(pl.col("vehicle_id"))
        .alias("vehicle_id"),
        pl.col("vehicle_id").alias("carrier_vehicle"),
        "mass_kg",
        pl.col("ts").alias("load_ts"),
        "unload_ts",
        pl.col("hub_id").alias("from_hub"),
        pl.col("hub_from_gps").alias("from_hub_gps"),
        "to_hub",
        "to_hub_gps",
    )
    trips = seg.legs.sort("device_id", "start_ts").select(
        pl.col("device_id").alias("vehicle_id"),
        pl.int_range(pl.len()).over("device_id").alias("__k"),
        pl.col("leg_id").alias("trip_ref"),
        pl.col("start_ts").alias("trip_start"),
        pl.col("end_ts").alias("trip_end"),
        pl.col("distance_km").alias("trip_km"),
        "mode",
        pl.col("mode_confidence")
        if "mode_confidence" in seg.legs.columns
        else pl.lit(None, pl.Float64).alias("mode_confidence"),
        pl.col("mode_evidence")
        if "mode_evidence" in seg.legs.columns
        else pl.lit(None, pl.String).alias("mode_evidence"),
        pl.col("from_hub").alias("__trip_from"),
        pl.col("to_hub").alias("__trip_to"),
    )
    cum = seg.fixes.select(
        pl.col("device_id").alias("vehicle_id"),
        "ts",
        pl.col("distance_km").cum_sum().over("device_id").alias("__cum"),
    ).sort("ts")

    def cum_at(frame: pl.DataFrame, column: str, alias: str) -> pl.DataFrame:
        return (
            frame.sort(column)
            .join_asof(
                cum.rename({"ts": "__t"}),
                left_on=column,
                right_on="__t",
                by="vehicle_id",
                strategy="backward",
                check_sortedness=False,
            )
            .rename({"__cum": alias})
            .drop("__t")
        )

    # the vehicle trips a ride overlaps: from the first trip ending after the load to the last
    # one starting before the unload (as-of joins, then the small range of trips in between)
    spans = (
        rides.sort("load_ts")
        .join_asof(
            trips.select("vehicle_id", "trip_end", pl.col("__k").alias("__k0")).sort("trip_end"),
            left_on="load_ts",
            right_on="trip_end",
            by="vehicle_id",
            strategy="forward",
            check_sortedness=False,
        )
        .sort("unload_ts")
        .join_asof(
            trips.select("vehicle_id", "trip_start", pl.col("__k").alias("__k1")).sort(
                "trip_start"
            ),
            left_on="unload_ts",
            right_on="trip_start",
            by="vehicle_id",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("trip_end", "trip_start")
        .filter(pl.col("__k0").is_not_null() & pl.col("__k1").is_not_null())
        .filter(pl.col("__k1") >= pl.col("__k0"))
        .with_columns(pl.int_ranges("__k0", pl.col("__k1") + 1).alias("__k"))
        .explode("__k")
        .drop("__k0", "__k1")
    )
    pieces = (
        spans.join(trips, on=["vehicle_id", "__k"], how="inner")
        .filter(
            (pl.col("trip_start") < pl.col("unload_ts")) & (pl.col("trip_end") > pl.col("load_ts"))
        )
        .with_columns(
            pl.max_horizontal("load_ts", "trip_start").alias("__a"),
            pl.min_horizontal("unload_ts", "trip_end").alias("__b"),
            (
                (pl.col("load_ts") <= pl.col("trip_start"))
                & (pl.col("unload_ts") >= pl.col("trip_end"))
            ).alias("__whole"),
        )
    )
    pieces = cum_at(cum_at(pieces, "__a", "__ca"), "__b", "__cb").with_columns(
        pl.when(pl.col("__whole"))
        .then(pl.col("trip_km"))
        .otherwise(pl.col("__cb") - pl.col("__ca"))
        .alias("distance_km"),
        pl.col("trip_start").alias("start_ts"),
        pl.col("trip_end").alias("end_ts"),
    )
    untracked = rides.join(
        pieces.select("waybill_id", "load_ts").unique(), on=["waybill_id", "load_ts"], how="anti"
    ).select(
        "waybill_id",
        pl.col("load_ts").alias("ts"),
        "vehicle_id",
        pl.lit("no GPS track of the vehicle between the load and the unload scan").alias("reason"),
    )
    unmatched = pl.concat([unpaired, untracked]).sort("waybill_id", "ts")
    energy = trip_energy(fuel, charge, seg.legs, seg.fixes)
    metered = energy.get_column("trip_id").drop_nulls().unique()
    reporting = energy.get_column("vehicle_id").drop_nulls().unique()
    transport = pieces.select(
        "waybill_id",
        pl.col("carrier_vehicle").alias("vehicle_id"),
        pl.col("vehicle_id").alias("track_device"),
        "mass_kg",
        "mode",
        "mode_confidence",
        "mode_evidence",
        "distance_km",
        "start_ts",
        "end_ts",
        # the trip's own hubs where the waybill rode the trip from its start / to its end
        pl.when(pl.col("load_ts") <= pl.col("trip_start"))
        .then(pl.coalesce("__trip_from", "from_hub"))
        .otherwise(pl.col("from_hub"))
        .alias("from_hub"),
        pl.when(pl.col("unload_ts") >= pl.col("trip_end"))
        .then(pl.coalesce("__trip_to", "to_hub"))
        .otherwise(pl.col("to_hub"))
        .alias("to_hub"),
        pl.col("trip_ref"),
        pl.lit("leg").alias("element"),
    ).with_columns(
        pl.when(pl.col("trip_ref").is_in(metered.implode()))
        .then(pl.col("trip_ref"))
        .alias("trip_id"),
        pl.when(pl.col("trip_ref").is_in(metered.implode()))
        .then(pl.lit(None, pl.String))
        .when(pl.col("vehicle_id") != pl.col("track_device"))
        .then(
            pl.format(
                "vehicle {} has no GPS of its own (the distance is tracker {}'s track) and "
                "no energy records: the kernel's default intensity for {}",
                "vehicle_id",
                "track_device",
                "mode",
            )
        )
        .when(pl.col("vehicle_id").is_in(reporting.implode()))
        .then(
            pl.format(
                "no fuel or charge record of {} during trip {} or before its next trip: "
                "the kernel's default intensity for {}",
                "vehicle_id",
                "trip_ref",
                "mode",
            )
        )
        .otherwise(
            pl.format(
                "vehicle {} reports no fuel or charge records: the kernel's default intensity "
                "for {}",
                "vehicle_id",
                "mode",
            )
        )
        .alias("fallback_reason"),
    )
    # hub stops: where the waybill left a hub: the hub of its first load (origin) and, between
    # two consecutive rides, the hub it was unloaded at (the kernel's HOC activity is the
    # tonnes leaving a hub)
    origin_stops = (
        rides.sort("waybill_id", "load_ts")
        .group_by("waybill_id", maintain_order=True)
        .first()
        .filter(pl.col("from_hub").is_not_null())
        .select(
            "waybill_id",
            "mass_kg",
            pl.col("from_hub").alias("hub_id"),
            pl.col("from_hub_gps").alias("hub_from_gps"),
            pl.col("load_ts").alias("start_ts"),
            pl.col("load_ts").alias("end_ts"),
            pl.lit("hub").alias("element"),
        )
    )
    hub_stops = (
        rides.sort("waybill_id", "load_ts")
        .with_columns(pl.col("load_ts").shift(-1).over("waybill_id").alias("__next_load"))
        .filter(pl.col("__next_load").is_not_null())
        .select(
            "waybill_id",
            "mass_kg",
            pl.col("to_hub").alias("hub_id"),
            pl.col("to_hub_gps").alias("hub_from_gps"),
            pl.col("unload_ts").alias("start_ts"),
            pl.col("__next_load").alias("end_ts"),
            pl.lit("hub").alias("element"),
        )
    )
    hub_stops = pl.concat([origin_stops, hub_stops]).join(
        hubs.select("hub_id", pl.col("kind").alias("hub_kind")), on="hub_id", how="left"
    )
    elements = (
        pl.concat([transport, hub_stops], how="diagonal_relaxed")
        .sort("waybill_id", "start_ts", "element", descending=[False, False, True])
        .with_columns((pl.int_range(pl.len()).over("waybill_id") + 1).alias("seq"))
        .with_columns(pl.format("{}-{}", "waybill_id", "seq").alias("tce_id"))
    )
    hub_type = pl.col("hub_kind").replace_strict(
        HUB_TYPE_BY_KIND, default="Transshipment", return_dtype=pl.String
    )
    measured_hoc = pl.format("HOC-{}", "hub_id")
    has_hoc = measured_hoc.is_in(hoc_ids.implode()) if hoc_ids is not None else pl.lit(False)
    legs = elements.select(
        pl.col("waybill_id").alias("shipment_id"),
        "tce_id",
        "mass_kg",
        pl.when(pl.col("element") == "leg").then(pl.col("mode")).alias("mode"),
        pl.when(pl.col("element") == "leg").then(pl.col("distance_km")).alias("distance_km"),
        pl.when(pl.col("element") == "leg").then(pl.lit("actual")).alias("distance_basis"),
        pl.when((pl.col("element") == "hub") & has_hoc).then(measured_hoc).alias("hoc_id"),
        pl.when(pl.col("element") == "hub").then(hub_type).alias("hub_type"),
        "trip_id",
        pl.col("start_ts").alias("departure_at"),
    )
    used = legs.get_column("trip_id").drop_nulls().unique()
    kernel_trips = energy.filter(pl.col("trip_id").is_in(used.implode())).select(
        "trip_id", "energy_carrier", "energy_amount", "energy_unit", "grid_region"
    )
    return Chains(
        legs=legs, trips=kernel_trips, elements=elements, scans=resolved, unmatched=unmatched
    )


def transfers_found(elements: pl.DataFrame, truth_chains: FrameLike) -> dict[str, float]:
    """Mode transfers of the ground truth found in the detected chains, within one stop.

    A true transfer is a hub stop between two legs of different modes. It is found when the
    waybill's detected chain has a hub stop whose hub comes from the GPS dwell of the vehicle
    (``hub_from_gps``, not the scan) equal to the true hub, at most one element away from the true
    position, with the true modes on both sides. Returns ``found``, ``transfers`` and ``share``.

    Parameters
    ----------
    elements : DataFrame
        Detected chains (:attr:`Chains.elements`).
    truth_chains : DataFrame or LazyFrame
        The generator's true chains: per waybill, its elements in order with mode and hub.

    Returns
    -------
    dict of str to float
        ``found`` and ``transfers`` (counts) and ``share`` (fraction found).
    """
    truth = truth_chains.lazy().collect().sort("waybill_id", "seq")
    prev_mode = pl.col("mode").shift(1).over("waybill_id")
    next_mode = pl.col("mode").shift(-1).over("waybill_id")
    true_t = (
        truth.with_columns(prev_mode.alias("__before"), next_mode.alias("__after"))
        .filter((pl.col("element") == "hub") & (pl.col("__before") != pl.col("__after")))
        .select(
            "waybill_id",
            pl.col("seq").alias("__tseq"),
            pl.col("hub_id").alias("__thub"),
            "__before",
            "__after",
        )
    )
    det = (
        elements.sort("waybill_id", "seq")
        .with_columns(prev_mode.alias("__dbefore"), next_mode.alias("__dafter"))
        .filter(pl.col("element") == "hub")
        .select("waybill_id", "seq", "hub_from_gps", "__dbefore", "__dafter")
    )
    matched = (
        true_t.join(det, on="waybill_id", how="inner")
        .filter(
            ((pl.col("seq") - pl.col("__tseq")).abs() <= 1)
            & (pl.col("hub_from_gps") == pl.col("__thub"))
            & (pl.col("__dbefore") == pl.col("__before"))
            & (pl.col("__dafter") == pl.col("__after"))
        )
        .select("waybill_id", "__tseq")
        .unique()
    )
    n = true_t.height
    return {
        "found": float(matched.height),
        "transfers": float(n),
        "share": matched.height / n if n else 1.0,
    }

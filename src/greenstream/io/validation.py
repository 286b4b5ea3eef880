"""Row-level checks of the accounting inputs (LEGS, TOCS, HOCS, TRIPS) before the kernel runs.

Every check is a vectorized filter; *all* failing rows of *all* files are collected and raised
together as one :class:`~greenstream.errors.InputErrors`, so nothing is computed or written from a
batch with a bad row, and the user sees every problem at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from greenstream.accounting.lookups import Lookup
from greenstream.accounting.schema import (
    DISTANCE_BASES,
    ENERGY_UNITS,
    HOC_REQUIRED,
    HUB_TYPES,
    LEG_COLUMNS,
    LEG_REQUIRED,
    MODES,
    TEMPERATURE_CONTROLS,
    TOC_REQUIRED,
    TRIP_REQUIRED,
    conform,
)
from greenstream.checks import ROW, Check, one_of, run_checks
from greenstream.errors import InputError
from greenstream.factors import Registry
from greenstream.geo import Gazetteer


def missing_columns(frame: pl.DataFrame, required: Sequence[str], *, file: str) -> list[InputError]:
    """One error per required column absent from ``frame``.

    Parameters
    ----------
    frame : polars.DataFrame
        The table.
    required : sequence of str
        Required column names.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    list of InputError
        Errors without a row; empty when every required column is present.

    Examples
    --------
    >>> import polars as pl
    >>> [e.field for e in missing_columns(pl.DataFrame({"mass_kg": [1.0]}),
    ...                                   ["shipment_id", "mass_kg"], file="legs.csv")]
    ['shipment_id']
    """
    return [
        InputError(file, None, name, "required column missing")
        for name in required
        if name not in frame.columns
    ]


def _required_value(col: str, what: str = "missing value") -> Check:
    return Check(col, pl.col(col).is_null(), pl.lit(what))


def _duplicates(col: str) -> Check:
    """Needs ``__first_<col>``: the first row of each value that occurs more than once."""
    first = pl.col(f"__first_{col}")
    return Check(
        col,
        first.is_not_null() & (pl.col(ROW) != first),
        pl.format("duplicate {} '{}' (first at row {})", pl.lit(col), pl.col(col), first),
    )


def with_first_rows(frame: pl.LazyFrame, col: str) -> pl.LazyFrame:
    """Add ``__first_<col>``: for a value seen more than once, the first row that has it.

    Fast path: when the 64-bit hashes of the values are all distinct, so are the values (the
    usual case, decided by counting integers). Otherwise the values are grouped exactly.

    Parameters
    ----------
    frame : polars.LazyFrame
        The table, with the source row column :data:`ROW`.
    col : str
        The column whose values must be unique.

    Returns
    -------
    polars.LazyFrame
        ``frame`` plus ``__first_<col>`` (UInt32, null where the value is not repeated or this row
        is its first).
    """
    values = pl.col(col).drop_nulls()
    distinct, total = (
        frame.select(values.hash(0).n_unique().alias("u"), values.len().alias("n"))
        .collect(engine="in-memory")  # measured 1.6x cheaper than streaming for this reduction
        .row(0)
    )
    if distinct == total:
        return frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias(f"__first_{col}"))
    dups = (
        frame.select(col, ROW)
        .filter(pl.col(col).is_not_null() & pl.col(col).is_duplicated())
        .group_by(col)
        .agg(pl.col(ROW).min().alias(f"__first_{col}"))
        .collect(engine="streaming")
    )
    if dups.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias(f"__first_{col}"))
    return frame.join(dups.lazy(), on=col, how="left", maintain_order="left")


def _check_intensity_table(
    frame: pl.DataFrame,
    *,
    file: str,
    required: Sequence[str],
    id_col: str,
    category_col: str,
    categories: Sequence[str],
    unit: str,
) -> list[InputError]:
    """TOCS and HOCS share their checks: ids unique, category known, WTW >= TTW >= 0."""
    errors = missing_columns(frame, required, file=file)
    if errors:
        return errors
    wtw_col, ttw_col = f"intensity_wtw_kg_per_{unit}", f"intensity_ttw_kg_per_{unit}"
    wtw, ttw = pl.col(wtw_col), pl.col(ttw_col)
    return run_checks(
        with_first_rows(frame.lazy(), id_col),
        [
            _required_value(id_col),
            _duplicates(id_col),
            _required_value(category_col),
            one_of(category_col, categories),
            _required_value(wtw_col),
            _required_value(ttw_col),
            Check(wtw_col, wtw < 0, pl.format("negative intensity {}", wtw)),
            Check(ttw_col, ttw < 0, pl.format("negative intensity {}", ttw)),
            Check(
                ttw_col,
                ttw > wtw,
                pl.format(
                    "TTW intensity {} is greater than WTW intensity {} (WTW = TTW + WTT)", ttw, wtw
                ),
            ),
        ],
        file=file,
    )


def check_tocs(tocs: pl.DataFrame, *, file: str) -> list[InputError]:
    """Row checks of a TOCS table (transport operation categories).

    TOC ids unique, mode known, intensities present and ``WTW >= TTW >= 0`` (kg CO2e per tkm).

    Parameters
    ----------
    tocs : polars.DataFrame
        The typed TOCS table.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    list of InputError
        Every failing row and field; empty when the table is valid.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport operation categories and their emission intensity).
    .. [2] iLEAP technical specification v1.0.0, TOC (``co2eIntensityWTW``,
       ``co2eIntensityTTW``).
    """
    return _check_intensity_table(
        tocs,
        file=file,
        required=TOC_REQUIRED,
        id_col="toc_id",
        category_col="mode",
        categories=MODES,
        unit="tkm",
    )


def check_hocs(hocs: pl.DataFrame, *, file: str) -> list[InputError]:
    """Row checks of a HOCS table (hub operation categories).

    HOC ids unique, hub type known, intensities present and ``WTW >= TTW >= 0`` (kg CO2e per
    tonne leaving the hub).

    Parameters
    ----------
    hocs : polars.DataFrame
        The typed HOCS table.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    list of InputError
        Every failing row and field; empty when the table is valid.

    References
    ----------
    .. [1] ISO 14083:2023, 5.5 (hub operation categories).
    .. [2] iLEAP technical specification v1.0.0, HOC (``hubType``, ``hubActivityUnit``).
    """
    return _check_intensity_table(
        hocs,
        file=file,
        required=HOC_REQUIRED,
        id_col="hoc_id",
        category_col="hub_type",
        categories=HUB_TYPES,
        unit="t",
    )


def check_trips(
    trips: pl.DataFrame, legs: pl.DataFrame | pl.LazyFrame, registry: Registry, *, file: str
) -> list[InputError]:
    """Row checks of a TRIPS table (measured energy per trip).

    Energy amounts non-negative; every trip used by a leg; electricity in kWh or MJ with a known
    ``grid_region`` (or an explicit factor); a registry factor for every carrier and unit, or
    explicit ``ef_wtw_kg_per_unit`` and ``ef_ttw_kg_per_unit`` with TTW <= WTW.

    Parameters
    ----------
    trips : polars.DataFrame
        The typed TRIPS table.
    legs : polars.DataFrame or polars.LazyFrame
        The legs that refer to the trips (``trip_id``).
    registry : Registry
        Fuel and grid factors.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    list of InputError
        Every failing row and field; empty when the table is valid.

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (energy carrier data -> GHG emissions) and 5.6 (allocation).
    """
    errors = missing_columns(trips, TRIP_REQUIRED, file=file)
    if errors:
        return errors
    for name in ("grid_region", "ef_wtw_kg_per_unit", "ef_ttw_kg_per_unit"):
        if name not in trips.columns:
            trips = trips.with_columns(
                pl.lit(
                    None,
                    dtype=trips.schema.get(name, pl.Float64)
                    if name != "grid_region"
                    else pl.String,
                ).alias(name)
            )
    fuel = registry.fuel_factors().select(
        "energy_carrier", "energy_unit", pl.lit(True).alias("__has_fuel")
    )
    grids = registry.grid_factor_lookup().get_column("grid_region").to_list()
    used = (
        legs.lazy()
        .filter(pl.col("trip_id").is_not_null())
        .select(pl.col("trip_id").unique())
        .collect(engine="streaming")
        .get_column("trip_id")
        .to_list()
        if "trip_id" in legs.lazy().collect_schema().names()
        else []
    )
    trips = trips.join(
        fuel, on=["energy_carrier", "energy_unit"], how="left", maintain_order="left"
    )
    amount = pl.col("energy_amount")
    elec = pl.col("energy_carrier") == "electricity"
    explicit_wtw = pl.col("ef_wtw_kg_per_unit")
    explicit_ttw = pl.col("ef_ttw_kg_per_unit")
    return run_checks(
        trips,
        [
            _required_value("trip_id"),
            _required_value("energy_carrier"),
            _required_value("energy_amount"),
            _required_value("energy_unit"),
            Check("energy_amount", amount < 0, pl.format("negative energy {}", amount)),
            one_of("energy_unit", ENERGY_UNITS),
            Check(
                "trip_id",
                pl.col("trip_id").is_not_null() & ~pl.col("trip_id").is_in(used),
                pl.format("trip energy with no TCE: no leg refers to trip '{}'", pl.col("trip_id")),
            ),
            Check(
                "energy_unit",
                elec & ~pl.col("energy_unit").is_in(["kWh", "MJ"]),
                pl.format(
                    "electricity must be given in kWh or MJ, not '{}'", pl.col("energy_unit")
                ),
            ),
            Check(
                "grid_region",
                elec & explicit_wtw.is_null() & pl.col("grid_region").is_null(),
                pl.lit(
                    "electricity needs a grid_region (or ef_wtw_kg_per_unit) to find its factor"
                ),
            ),
            Check(
                "grid_region",
                elec
                & explicit_wtw.is_null()
                & pl.col("grid_region").is_not_null()
                & ~pl.col("grid_region").is_in(grids),
                pl.format(
                    "unknown grid_region '{}' (see `greenstream factors list --category grid`)",
                    pl.col("grid_region"),
                ),
            ),
            Check(
                "energy_carrier",
                ~elec
                & explicit_wtw.is_null()
                & pl.col("__has_fuel").is_null()
                & pl.col("energy_carrier").is_not_null()
                & pl.col("energy_unit").is_not_null(),
                pl.format(
                    "no emission factor for '{}' in '{}' in the registry: give "
                    "ef_wtw_kg_per_unit and ef_ttw_kg_per_unit",
                    pl.col("energy_carrier"),
                    pl.col("energy_unit"),
                ),
            ),
            Check(
                "ef_ttw_kg_per_unit",
                ~elec & explicit_wtw.is_not_null() & explicit_ttw.is_null(),
                pl.lit("ef_wtw_kg_per_unit given without ef_ttw_kg_per_unit"),
            ),
            Check(
                "ef_ttw_kg_per_unit",
                explicit_ttw > explicit_wtw,
                pl.format(
                    "TTW factor {} is greater than WTW factor {}", explicit_ttw, explicit_wtw
                ),
            ),
            Check(
                "ef_wtw_kg_per_unit",
                explicit_wtw < 0,
                pl.format("negative emission factor {}", explicit_wtw),
            ),
        ],
        file=file,
    )


def check_legs(
    legs: pl.DataFrame | pl.LazyFrame,
    *,
    file: str,
    registry: Registry,
    gazetteer: Gazetteer,
    tocs: pl.DataFrame | None,
    hocs: pl.DataFrame | None,
    trips: pl.DataFrame | None,
) -> list[InputError]:
    """Row checks of a LEGS table (transport chain elements) against its reference tables.

    Required columns present; ``mass_kg`` > 0; mode known and equal to that of the leg's TOC or
    vehicle class; a distance (``distance_km`` >= 0, or places the gazetteer resolves); hub rows
    without a distance; ``toc_id`` / ``hoc_id`` / ``trip_id`` / ``vehicle`` known; load factor in
    (0, 1] and empty distance factor in [0, 1).

    Parameters
    ----------
    legs : polars.DataFrame or polars.LazyFrame
        The typed LEGS table.
    file : str
        Name of the source, for the errors.
    registry : Registry
        Vehicle classes and hub defaults.
    gazetteer : Gazetteer
        Places for ``origin`` / ``destination``.
    tocs : polars.DataFrame or None
        The TOCS table, if given.
    hocs : polars.DataFrame or None
        The HOCS table, if given.
    trips : polars.DataFrame or None
        The TRIPS table, if given.

    Returns
    -------
    list of InputError
        Every failing row and field; empty when the table is valid.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity: mass and distance of each element) and 5.5.
    .. [2] iLEAP technical specification v1.0.0, TCE (``mass``, ``distance``, ``tocId`` XOR
       ``hocId``), TOC ``loadFactor`` (0, 1] and ``emptyDistanceFactor`` [0, 1).
    """
    present = set(legs.lazy().collect_schema().names())
    errors = [
        InputError(file, None, name, "required column missing")
        for name in LEG_REQUIRED
        if name not in present
    ]
    if errors:
        return errors
    lf = conform(legs.lazy(), LEG_COLUMNS)
    toc_modes = (
        tocs.select("toc_id", "mode").unique("toc_id")
        if tocs is not None and {"toc_id", "mode"} <= set(tocs.columns)
        else pl.DataFrame(schema={"toc_id": pl.String, "mode": pl.String})
    )
    classes = registry.transport_intensities().unique("vehicle_class")
    # Lookups (an index, then a gather), not joins: a join would rematerialize every column.
    toc_lookup = Lookup.from_frame(toc_modes, "toc_id")
    class_lookup = Lookup.from_frame(classes.select("vehicle_class", "mode"), "vehicle_class")
    lf = lf.with_columns(
        toc_lookup.value("mode", toc_lookup.index(pl.col("toc_id"))).alias("__toc_mode"),
        class_lookup.value("mode", class_lookup.index(pl.col("vehicle"))).alias("__vehicle_mode"),
    )
    frame = with_first_rows(lf, "tce_id")

    if {"origin", "destination"} & present:
        queries = (
            pl.concat(
                [
                    lf.select(pl.col("origin").alias("q")),
                    lf.select(pl.col("destination").alias("q")),
                ]
            )
            .drop_nulls()
            .unique()
            .collect(engine="streaming")
            .get_column("q")
        )
        unresolved = (
            gazetteer.resolve(queries).filter(~pl.col("resolved")).get_column("query").to_list()
            if queries.len()
            else []
        )
    else:
        unresolved = []

    hub = pl.col("hoc_id").is_not_null() | pl.col("hub_type").is_not_null()
    transport = ~hub
    mode = pl.coalesce("mode", "__toc_mode")
    mass = pl.col("mass_kg")
    dist = pl.col("distance_km")
    lf_ = pl.col("load_factor")
    edf = pl.col("empty_distance_factor")
    toc_ids = tocs.get_column("toc_id").to_list() if tocs is not None and "toc_id" in tocs else []
    hoc_ids = hocs.get_column("hoc_id").to_list() if hocs is not None and "hoc_id" in hocs else []
    trip_ids = (
        trips.get_column("trip_id").unique().to_list()
        if trips is not None and "trip_id" in trips
        else []
    )
    checks = [
        Check("shipment_id", pl.col("shipment_id").is_null(), pl.lit("missing shipment_id")),
        Check("mass_kg", mass.is_null(), pl.lit("missing mass")),
        Check("mass_kg", mass <= 0, pl.format("mass must be > 0 kg, got {}", mass)),
        _duplicates("tce_id"),
        Check(
            "distance_km",
            hub & dist.is_not_null() & (dist != 0),
            pl.format(
                "hub row with a distance ({} km): a hub stop has no distance; "
                "put the movement on its own transport row",
                dist,
            ),
        ),
        one_of("hub_type", HUB_TYPES),
        Check(
            "hoc_id",
            pl.col("hoc_id").is_not_null() & ~pl.col("hoc_id").is_in(hoc_ids),
            pl.format(
                "unknown hoc_id '{}' ({})",
                pl.col("hoc_id"),
                pl.lit("not in the HOCS file" if hocs is not None else "no --hocs file given"),
            ),
        ),
        Check(
            "mode",
            transport & mode.is_null(),
            pl.lit("missing mode (road, rail, sea, inland_waterway, air)"),
        ),
        Check(
            "mode",
            transport & mode.is_not_null() & ~mode.is_in(list(MODES)),
            pl.format("unknown mode '{}' (one of {})", mode, pl.lit(", ".join(MODES))),
        ),
        Check(
            "mode",
            transport
            & pl.col("mode").is_not_null()
            & pl.col("__toc_mode").is_not_null()
            & (pl.col("mode") != pl.col("__toc_mode")),
            pl.format(
                "mode '{}' differs from the mode '{}' of TOC '{}'",
                pl.col("mode"),
                pl.col("__toc_mode"),
                pl.col("toc_id"),
            ),
        ),
        Check(
            "distance_km",
            transport
            & dist.is_null()
            & (pl.col("origin").is_null() | pl.col("destination").is_null()),
            pl.lit("missing distance: give distance_km, or origin and destination"),
        ),
        Check("distance_km", transport & (dist < 0), pl.format("negative distance {} km", dist)),
        one_of("distance_basis", DISTANCE_BASES),
        Check(
            "origin",
            transport & dist.is_null() & pl.col("origin").is_in(unresolved),
            pl.format(
                "unknown place '{}' (use a gazetteer place id, name, IATA code or 'lat,lon')",
                pl.col("origin"),
            ),
        ),
        Check(
            "destination",
            transport & dist.is_null() & pl.col("destination").is_in(unresolved),
            pl.format(
                "unknown place '{}' (use a gazetteer place id, name, IATA code or 'lat,lon')",
                pl.col("destination"),
            ),
        ),
        Check(
            "vehicle",
            pl.col("vehicle").is_not_null() & pl.col("__vehicle_mode").is_null(),
            pl.format("unknown vehicle '{}' (see `greenstream factors list`)", pl.col("vehicle")),
        ),
        Check(
            "vehicle",
            transport
            & pl.col("__vehicle_mode").is_not_null()
            & mode.is_not_null()
            & (pl.col("__vehicle_mode") != mode),
            pl.format(
                "vehicle '{}' is a {} class but the leg's mode is '{}'",
                pl.col("vehicle"),
                pl.col("__vehicle_mode"),
                mode,
            ),
        ),
        Check(
            "toc_id",
            pl.col("toc_id").is_not_null() & ~pl.col("toc_id").is_in(toc_ids),
            pl.format(
                "unknown toc_id '{}' ({})",
                pl.col("toc_id"),
                pl.lit("not in the TOCS file" if tocs is not None else "no --tocs file given"),
            ),
        ),
        Check(
            "trip_id",
            pl.col("trip_id").is_not_null() & ~pl.col("trip_id").is_in(trip_ids),
            pl.format(
                "unknown trip_id '{}' ({})",
                pl.col("trip_id"),
                pl.lit("not in the TRIPS file" if trips is not None else "no --trips file given"),
            ),
        ),
        Check(
            "load_factor",
            lf_.is_not_null() & ((lf_ <= 0) | (lf_ > 1)),
            pl.format("load_factor {} out of range (0 < LF <= 1)", lf_),
        ),
        Check(
            "empty_distance_factor",
            edf.is_not_null() & ((edf < 0) | (edf >= 1)),
            pl.format("empty_distance_factor {} out of range (0 <= EDF < 1)", edf),
        ),
        one_of("temperature_control", TEMPERATURE_CONTROLS),
    ]
    errors = run_checks(frame, checks, file=file)
    if "trip_id" in present:
        errors += _trips_without_activity(frame, file=file)
    return errors


def _trips_without_activity(frame: pl.LazyFrame, *, file: str) -> list[InputError]:
    """A trip whose TCEs all carry zero tonne-km cannot have its energy allocated."""
    zero = (
        frame.filter(pl.col("trip_id").is_not_null() & pl.col("distance_km").is_not_null())
        .group_by("trip_id")
        .agg(
            (pl.col("mass_kg") * pl.col("distance_km")).sum().alias("__tkm"),
            pl.col(ROW).min().alias("__row"),
            pl.len().alias("__n"),
        )
        .join(
            frame.filter(pl.col("trip_id").is_not_null())
            .group_by("trip_id")
            .agg(pl.len().alias("__all")),
            on="trip_id",
        )
        .filter((pl.col("__tkm") == 0) & (pl.col("__n") == pl.col("__all")))
        .collect(engine="streaming")
    )
    return [
        InputError(
            file,
            int(row),
            "trip_id",
            f"trip '{trip}' carries 0 tonne-km: its measured energy cannot be allocated",
        )
        for trip, row in zero.select("trip_id", "__row").iter_rows()
    ]

"""The table every report is computed from: chain-element footprints as the kernel writes them.

The reports need these kernel output columns (docs/data-contract.md): ``shipment_id``,
``mass_kg``, ``mode`` (null on hub stops), ``transport_activity_tkm``, ``co2e_wtw_kg``,
``co2e_ttw_kg``, ``co2e_wtt_kg``, ``co2e_wtw_low_kg``, ``co2e_wtw_high_kg``, ``method``,
``primary_data``, ``factor_id`` and ``distance_basis``; and use these when present:
``hub_type``, ``hoc_id``, ``origin``, ``destination``, ``departure_at``, ``energy_carrier``,
``distance_adjustment``, ``customer_id``, ``warnings``. The same table comes from a file
(``greenstream footprint -o``) or from the store (:mod:`greenstream.reports.store`), so a
report of either says the same for the same chain elements.

Period membership: a shipment belongs to the period of its first departure (UTC day), the
definition the store's ``period`` column and the ``/aggregates?by=period`` roll-up use.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import polars as pl

from greenstream.accounting.rollup import is_hub_row
from greenstream.errors import InputErrors

REQUIRED: Final = (
    "shipment_id",
    "mass_kg",
    "mode",
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "method",
    "primary_data",
    "factor_id",
    "distance_basis",
)
OPTIONAL: Final[dict[str, pl.DataType]] = {
    "hub_type": pl.String(),
    "hoc_id": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "departure_at": pl.Datetime("us", "UTC"),
    "energy_carrier": pl.String(),
    "distance_adjustment": pl.String(),
    "customer_id": pl.String(),
    "warnings": pl.String(),
}
KG_PER_TONNE: Final = 1000.0  # SI definition


def conform(frame: pl.DataFrame | pl.LazyFrame, *, source: str) -> pl.LazyFrame:
    """The footprint table with the report's columns typed and ``is_hub`` added.

    Parameters
    ----------
    frame : chain-element footprints (kernel output).
    source : name of where the table came from, for the error message.

    Returns
    -------
    A LazyFrame with every :data:`REQUIRED` column, every :data:`OPTIONAL` column (null where
    absent), enums and categoricals as strings, and ``is_hub`` (a hub stop: ``hub_type`` or
    ``hoc_id`` given).

    Raises
    ------
    InputErrors naming every missing column (the table is not a footprint result).
    """
    lf = frame.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputErrors.single(
            source,
            f"not a footprint table: missing column(s) {', '.join(missing)} "
            "(give the output of 'greenstream footprint', or LEGS with --tocs/--hocs/--trips)",
        )
    text = ["shipment_id", "mode", "method", "factor_id", "distance_basis"]
    numbers = [c for c in REQUIRED if c not in text and c != "primary_data"]
    schema = lf.collect_schema()
    exprs = [pl.col(c).cast(pl.String) for c in text]
    # a footprint CSV reads as text: numbers and the primary_data flag are cast here
    exprs += [pl.col(c).cast(pl.Float64) for c in numbers]
    if schema["primary_data"] == pl.String:
        exprs.append(pl.col("primary_data").str.to_lowercase().is_in(["true", "1"]))
    else:
        exprs.append(pl.col("primary_data").cast(pl.Boolean))
    for name, dtype in OPTIONAL.items():
        if name not in names:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif dtype == pl.String():
            exprs.append(pl.col(name).cast(pl.String))
        elif schema[name] == pl.String:
            exprs.append(pl.col(name).str.to_datetime(time_zone="UTC", strict=False))
        else:
            exprs.append(pl.col(name).cast(dtype))
    lf = lf.with_columns(exprs)
    # the kernel's and the accounting roll-up's rule (accounting.rollup.is_hub_row)
    return lf.with_columns(is_hub_row({"hub_type", "hoc_id"}).alias("is_hub"))


def shipment_first_departure(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``shipment_id, first_departure_at`` (null when none of its elements has a time).

    Parameters
    ----------
    lf : polars.LazyFrame
        Chain elements with ``shipment_id`` and ``departure_at`` (UTC datetime).

    Returns
    -------
    polars.LazyFrame
        One row per shipment.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> legs = pl.LazyFrame({"shipment_id": ["S1", "S1", "S2", "S3"],
    ...     "departure_at": [datetime(2026, 3, 31, 23, tzinfo=UTC),
    ...                      datetime(2026, 4, 2, tzinfo=UTC),
    ...                      datetime(2026, 4, 1, tzinfo=UTC), None]})
    >>> shipment_first_departure(legs).collect().sort("shipment_id").rows()
    [('S1', datetime.datetime(2026, 3, 31, 23, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))),
     ('S2', datetime.datetime(2026, 4, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))),
     ('S3', None)]
    """
    return lf.group_by("shipment_id").agg(pl.col("departure_at").min().alias("first_departure_at"))


def in_period(
    lf: pl.LazyFrame, period_from: date | None, period_to: date | None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The elements of shipments whose first departure falls in ``[period_from, period_to]``
    (UTC days, both inclusive), and the shipments left out for want of any departure time.

    With neither bound every shipment is in, dated or not.

    Parameters
    ----------
    lf : polars.LazyFrame
        Chain elements with ``shipment_id`` and ``departure_at`` (UTC datetime).
    period_from, period_to : datetime.date or None
        First and last day of the period (UTC), inclusive; None: unbounded.

    Returns
    -------
    elements : polars.LazyFrame
        The elements of the shipments in the period (all of a shipment's elements).
    undated : polars.LazyFrame
        ``shipment_id`` of the shipments without any departure time.

    References
    ----------
    .. [1] ISO 14083:2023 (emissions of a transport chain reported for its reporting period);
       a shipment is dated by its first departure here, a rule of greenstream's.

    Examples
    --------
    S1 left on 31 March, so it is not in April even though one of its legs is:

    >>> from datetime import datetime, UTC
    >>> legs = pl.LazyFrame({"shipment_id": ["S1", "S1", "S2", "S3"],
    ...     "departure_at": [datetime(2026, 3, 31, 23, tzinfo=UTC),
    ...                      datetime(2026, 4, 2, tzinfo=UTC),
    ...                      datetime(2026, 4, 1, tzinfo=UTC), None]})
    >>> import datetime as dt
    >>> kept, undated = in_period(legs, dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    >>> kept.collect()["shipment_id"].to_list(), undated.collect()["shipment_id"].to_list()
    (['S2'], ['S3'])
    """
    firsts = shipment_first_departure(lf)
    undated = firsts.filter(pl.col("first_departure_at").is_null()).select("shipment_id")
    if period_from is None and period_to is None:
        return lf, undated.head(0)
    cond = pl.col("first_departure_at").is_not_null()
    if period_from is not None:
        cond &= pl.col("first_departure_at") >= _utc(period_from)
    if period_to is not None:
        cond &= pl.col("first_departure_at") < _utc(period_to + timedelta(days=1))
    keep = firsts.filter(cond).select("shipment_id")
    return lf.join(keep, on="shipment_id", how="semi"), undated


def of_customer(lf: pl.LazyFrame, customer: str | None, *, source: str) -> pl.LazyFrame:
    """The elements of ``customer``'s shipments (``customer_id`` column), or all when None.

    Parameters
    ----------
    lf : polars.LazyFrame
        Chain elements.
    customer : str or None
        The customer id; None keeps every element.
    source : str
        Name the error reports.

    Returns
    -------
    polars.LazyFrame
        The customer's elements.

    Raises
    ------
    InputErrors
        When a customer is asked for and no element has a ``customer_id``.

    Examples
    --------
    >>> legs = pl.LazyFrame({"shipment_id": ["S1", "S2"], "customer_id": ["acme", "other"]})
    >>> of_customer(legs, "acme", source="<legs>").collect()["shipment_id"].to_list()
    ['S1']
    """
    if customer is None:
        return lf
    has = lf.select(pl.col("customer_id").is_not_null().any()).collect(engine="in-memory").item()
    if not has:
        raise InputErrors.single(
            source,
            "no customer_id in the footprints: a report per customer needs the customer_id "
            "column on the chain elements",
            field="customer_id",
        )
    return lf.filter(pl.col("customer_id") == customer)


def _utc(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)

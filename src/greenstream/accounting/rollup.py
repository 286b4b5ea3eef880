"""Roll-ups of kernel results: sums and intensities by carrier, lane, mode, customer and period.

One pure module (Polars expressions, no I/O) that the CLI (``greenstream footprint --by``,
``greenstream rollup``), the HTTP API (``GET /rollups``) and the reports build on, so that every
place that shows "emissions by lane" adds up the same way.

Group keys (:data:`GROUP_KEYS`), each an expression on the kernel's result columns
(docs/data-contract.md):

========== ===============================================================================
key        value
========== ===============================================================================
carrier    ``carrier_id`` (the TOC owner or operator), else the row's ``toc_id``, else its
           ``hoc_id`` (the operator's own category id); null when none is given
lane       ``<origin> -> <destination>`` of a transport row, by canonical place ids
           (``origin_id`` / ``destination_id``, added by the kernel when the places resolve)
           and the raw text otherwise; null for hub rows
mode       road, rail, sea, inland_waterway, air; ``hub`` for hub rows
customer   ``customer_id``
shipment   ``shipment_id``
method     primary, toc, hoc, modelled, default
year, quarter, month, week, day
           the period of ``departure_at`` in the time zone ``tz`` (IANA name, e.g.
           ``Asia/Shanghai``): ``2026``, ``2026-Q2``, ``2026-04``, ISO 8601 week ``2026-W14``
           (the ISO week-numbering year, so 2027-01-01 is ``2026-W53``), ``2026-04-01``
========== ===============================================================================

Measures of every group (:data:`MEASURES`):

- ``tce_count``, ``shipment_count`` (distinct shipments with a row in the group);
- ``mass_kg``: the sum over the group's shipments of each shipment's largest TCE mass in the
  group (a shipment's mass is counted once per group, however many legs it has there; the
  kernel's per-shipment roll-up takes the same largest-TCE mass, decision 0001 point 9);
- ``transport_activity_tkm``, ``co2e_wtw_kg``, ``co2e_ttw_kg``, ``co2e_wtt_kg`` and the
  uncertainty band ``co2e_wtw_low_kg`` .. ``co2e_wtw_high_kg`` (sums: a chain's emissions are the
  sum of its elements, ISO 14083);
- intensities ``co2e_wtw_kg_per_tkm`` (transport rows' WTW over their tkm; null without tkm),
  ``co2e_wtw_kg_per_t`` (all WTW over ``mass_kg``), ``co2e_wtw_kg_per_shipment``;
- ``primary_data_share`` (PACT primaryDataShare: WTW from primary data over WTW) and
  ``default_share`` (WTW from default factors, method ``default``, over WTW): how much of the
  figure rests on measured data and how much on defaults.

Sums run on the in-memory engine in file order, so the same results give the same bits.

References
----------
ISO 14083:2023, 5.1 (a transport chain's emissions are the sum of its elements) and 12
(reporting, including the share of primary data); PACT Technical Specification v2,
``primaryDataShare``; ISO 8601 week dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from greenstream.errors import InputErrors

PERIOD_KEYS: Final = ("year", "quarter", "month", "week", "day")
GROUP_KEYS: Final = (
    "carrier",
    "lane",
    "mode",
    "customer",
    "shipment",
    "method",
    *PERIOD_KEYS,
)
MEASURES: Final = (
    "tce_count",
    "shipment_count",
    "mass_kg",
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "co2e_wtw_kg_per_tkm",
    "co2e_wtw_kg_per_t",
    "co2e_wtw_kg_per_shipment",
    "primary_data_share",
    "default_share",
)
HUB_MODE: Final = "hub"
LANE_SEPARATOR: Final = " -> "
KG_PER_TONNE: Final = 1000.0  # SI definition
# what rollup_lazy needs of footprint results, and the numbers it sums (kg, tkm, kg CO2e)
REQUIRED: Final = (
    "shipment_id",
    "mass_kg",
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
)
SUMMED: Final = (
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
)


def parse_keys(by: str | Sequence[str], *, field: str = "by") -> list[str]:
    """``"carrier,lane"`` or ``["carrier", "lane"]`` -> the list of keys, checked.

    Raises :class:`InputErrors` naming every unknown key and the known ones.
    """
    keys = [k.strip() for k in (by.split(",") if isinstance(by, str) else by) if k.strip()]
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown:
        raise InputErrors.single(
            f"--{field}",
            f"unknown roll-up key(s) {', '.join(repr(k) for k in unknown)} "
            f"(one or more of {', '.join(GROUP_KEYS)}, comma-separated)",
            field=field,
        )
    if len(set(keys)) != len(keys):
        raise InputErrors.single(f"--{field}", f"a roll-up key is repeated in {keys}", field=field)
    return keys


def _text(columns: set[str], name: str) -> pl.Expr:
    if name not in columns:
        return pl.lit(None, dtype=pl.String)
    return pl.col(name).cast(pl.String)


def is_hub_row(columns: set[str]) -> pl.Expr:
    """A hub row: it names a HOC or a hub type (the kernel's rule, docs/data-contract.md)."""
    return _text(columns, "hoc_id").is_not_null() | _text(columns, "hub_type").is_not_null()


def carrier_key(columns: set[str]) -> pl.Expr:
    """The carrier or operator of a row: ``carrier_id``, else ``toc_id``, else ``hoc_id``."""
    return pl.coalesce(
        _text(columns, "carrier_id"), _text(columns, "toc_id"), _text(columns, "hoc_id")
    )


def lane_key(columns: set[str]) -> pl.Expr:
    """``origin -> destination`` of a transport row by canonical place id where resolved."""
    origin = pl.coalesce(_text(columns, "origin_id"), _text(columns, "origin"))
    destination = pl.coalesce(_text(columns, "destination_id"), _text(columns, "destination"))
    lane = pl.concat_str(origin.fill_null("?"), pl.lit(LANE_SEPARATOR), destination.fill_null("?"))
    known = origin.is_not_null() | destination.is_not_null()
    return pl.when(~is_hub_row(columns) & known).then(lane)


def mode_key(columns: set[str]) -> pl.Expr:
    """The row's mode, ``hub`` for hub rows."""
    return pl.when(is_hub_row(columns)).then(pl.lit(HUB_MODE)).otherwise(_text(columns, "mode"))


def primary_flag(schema: pl.Schema) -> pl.Expr:
    """Whether a row's figure rests on primary data (``primary_data``; a CSV's text read
    back as a boolean; false when the column is absent)."""
    if "primary_data" not in schema.names():
        return pl.lit(False)
    if schema["primary_data"] == pl.String:  # a CSV read back as text
        return pl.col("primary_data").str.to_lowercase().is_in(["true", "1"]).fill_null(False)
    return pl.col("primary_data").cast(pl.Boolean).fill_null(False)


def default_flag(columns: set[str]) -> pl.Expr:
    """Whether a row was computed with a default factor (method ``default``)."""
    if "method" not in columns:
        return pl.lit(False)
    return (pl.col("method").cast(pl.String) == "default").fill_null(False)


def share_of(part: pl.Expr, total: pl.Expr) -> pl.Expr:
    """``part / total``, 0 where the total is not positive (the shares of :data:`MEASURES`)."""
    return pl.when(total > 0).then(part / total).otherwise(0.0)


def ratio_or_null(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator``, null where the denominator is not positive (intensities)."""
    return pl.when(denominator > 0).then(numerator / denominator)


def period_key(departure_at: pl.Expr, period: str, tz: str) -> pl.Expr:
    """The period of a departure in the zone ``tz`` (see the module table)."""
    local = departure_at.dt.convert_time_zone(tz)
    if period == "year":
        return local.dt.strftime("%Y")
    if period == "quarter":
        return pl.format("{}-Q{}", local.dt.year(), local.dt.quarter())
    if period == "month":
        return local.dt.strftime("%Y-%m")
    if period == "week":
        return pl.format(
            "{}-W{}", local.dt.iso_year(), local.dt.week().cast(pl.String).str.zfill(2)
        )
    if period == "day":
        return local.dt.strftime("%Y-%m-%d")
    raise ValueError(f"unknown period {period!r} (one of {', '.join(PERIOD_KEYS)})")


def check_time_zone(tz: str) -> str:
    """``tz`` if it is an IANA time zone name, else :class:`InputErrors` naming it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputErrors.single(
            "--tz",
            f"unknown time zone {tz!r} (an IANA name such as Asia/Shanghai or UTC)",
            field="tz",
        ) from exc
    return tz


def departure_utc(schema: pl.Schema) -> pl.Expr:
    """``departure_at`` as an aware UTC datetime (a naive one is taken to be UTC; a text
    column is parsed as ISO 8601)."""
    dtype = schema["departure_at"]
    col = pl.col("departure_at")
    if dtype == pl.String:
        return col.str.to_datetime(strict=False, time_zone="UTC", time_unit="us")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return col.dt.replace_time_zone("UTC")
    return col


def key_expr(key: str, schema: pl.Schema, tz: str) -> pl.Expr:
    """The expression of one group key (:data:`GROUP_KEYS`) on result columns ``schema``."""
    columns = set(schema.names())
    if key == "carrier":
        expr = carrier_key(columns)
    elif key == "lane":
        expr = lane_key(columns)
    elif key == "mode":
        expr = mode_key(columns)
    elif key == "customer":
        expr = _text(columns, "customer_id")
    elif key == "shipment":
        expr = _text(columns, "shipment_id")
    elif key == "method":
        expr = _text(columns, "method")
    elif key in PERIOD_KEYS:
        if "departure_at" not in columns:
            expr = pl.lit(None, dtype=pl.String)
        else:
            expr = period_key(departure_utc(schema), key, tz)
    else:
        raise ValueError(f"unknown roll-up key {key!r}")
    return expr.alias(key)


def rollup_lazy(
    results: pl.LazyFrame | pl.DataFrame, by: Sequence[str], *, tz: str = "UTC"
) -> pl.LazyFrame:
    """Measures (:data:`MEASURES`) of kernel results grouped by ``by`` (:data:`GROUP_KEYS`).

    Parameters
    ----------
    results : kernel output rows (``greenstream footprint`` output or
        :func:`greenstream.accounting.compute`), with at least ``shipment_id``, ``mass_kg``,
        ``transport_activity_tkm``, ``co2e_wtw_kg``, ``co2e_ttw_kg``, ``co2e_wtt_kg``; the band,
        ``method`` and ``primary_data`` columns when present. Masses in kg, activity in tkm,
        emissions in kg CO2e.
    by : group keys, in output order; empty for one grand-total row.
    tz : IANA time zone of the period keys (``departure_at`` is stored in UTC).

    Returns
    -------
    One row per group: the keys, then :data:`MEASURES`; sorted by ``co2e_wtw_kg`` descending,
    then by the keys.
    """
    lf = results.lazy()
    keys = parse_keys(list(by))
    if any(k in PERIOD_KEYS for k in keys):
        check_time_zone(tz)
    schema = lf.collect_schema()
    columns = set(schema.names())
    zero = pl.lit(0.0)

    def number(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64) if name in columns else zero

    wtw = number("co2e_wtw_kg")
    primary = primary_flag(schema)
    default = default_flag(columns)
    hub = is_hub_row(columns)
    per_row = lf.select(
        *(key_expr(k, schema, tz) for k in keys),
        _text(columns, "shipment_id").alias("__shipment"),
        number("mass_kg").alias("__mass_kg"),
        *(number(c).alias(c) for c in SUMMED),
        pl.when(~hub).then(wtw).otherwise(zero).alias("__transport_wtw"),
        pl.when(primary).then(wtw).otherwise(zero).alias("__primary_wtw"),
        pl.when(default).then(wtw).otherwise(zero).alias("__default_wtw"),
    )
    sums = [pl.col(c).sum() for c in (*SUMMED, "__transport_wtw", "__primary_wtw", "__default_wtw")]
    # level 1: per group and shipment (a shipment's mass once per group), level 2: per group
    per_shipment = per_row.group_by([*keys, "__shipment"], maintain_order=True).agg(
        pl.len().alias("tce_count"), pl.col("__mass_kg").max().alias("mass_kg"), *sums
    )
    if "shipment" in keys:
        # the groups already are (keys, shipment): level 2 would regroup the same rows
        totals = per_shipment.with_columns(
            pl.col("__shipment").is_not_null().cast(pl.UInt32).alias("shipment_count")
        )
    else:
        group: list[str | pl.Expr] = list(keys) or [pl.lit(0).alias("__all")]
        totals = per_shipment.group_by(group, maintain_order=True).agg(
            pl.col("tce_count").sum(),
            pl.col("__shipment").drop_nulls().n_unique().alias("shipment_count"),
            pl.col("mass_kg").sum(),
            *(
                pl.col(c).sum()
                for c in (*SUMMED, "__transport_wtw", "__primary_wtw", "__default_wtw")
            ),
        )
    total_wtw = pl.col("co2e_wtw_kg")
    out = totals.with_columns(
        ratio_or_null(pl.col("__transport_wtw"), pl.col("transport_activity_tkm")).alias(
            "co2e_wtw_kg_per_tkm"
        ),
        ratio_or_null(total_wtw, pl.col("mass_kg") / KG_PER_TONNE).alias("co2e_wtw_kg_per_t"),
        ratio_or_null(total_wtw, pl.col("shipment_count")).alias("co2e_wtw_kg_per_shipment"),
        share_of(pl.col("__primary_wtw"), total_wtw).alias("primary_data_share"),
        share_of(pl.col("__default_wtw"), total_wtw).alias("default_share"),
        pl.col("tce_count").cast(pl.Int64),
        pl.col("shipment_count").cast(pl.Int64),
    ).select(*keys, *MEASURES)
    return out.sort(
        ["co2e_wtw_kg", *keys],
        descending=[True] + [False] * len(keys),
        nulls_last=True,
        maintain_order=True,
    )


def rollup(
    results: pl.LazyFrame | pl.DataFrame, by: Sequence[str], *, tz: str = "UTC"
) -> pl.DataFrame:
    """:func:`rollup_lazy`, collected on the in-memory engine (reproducible sums)."""
    return rollup_lazy(results, by, tz=tz).collect(engine="in-memory")


__all__ = [
    "GROUP_KEYS",
    "HUB_MODE",
    "LANE_SEPARATOR",
    "MEASURES",
    "PERIOD_KEYS",
    "carrier_key",
    "check_time_zone",
    "default_flag",
    "departure_utc",
    "is_hub_row",
    "key_expr",
    "lane_key",
    "mode_key",
    "parse_keys",
    "period_key",
    "primary_flag",
    "ratio_or_null",
    "rollup",
    "rollup_lazy",
    "share_of",
]

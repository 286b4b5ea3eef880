"""Per-batch roll-ups (``footprint_rollups``): additive sums the aggregates endpoint reads.

Written with each upload batch in the same transaction, recomputed by ``verify`` from the
batch's stored rows; the aggregates never scan chain elements.
"""

from __future__ import annotations

import polars as pl

from greenstream.accounting.rollup import default_flag

ROLLUP_COLUMNS = (
    "dimension",
    "key_a",
    "key_b",
    "shipment_count",
    "tce_count",
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtw_kg_default",
)


def batch_rollups(chain: pl.DataFrame, ships: pl.DataFrame) -> pl.DataFrame:
    """Additive sums of a batch by mode (per chain element, hubs as "hub"), by lane and by period
    (per shipment).

    Parameters
    ----------
    chain : polars.DataFrame
        The batch's chain elements (``shipment_id``, ``mode``, ``method``,
        ``transport_activity_tkm``, ``co2e_wtw_kg``, ``co2e_ttw_kg``; kg CO2e and tonne-km).
    ships : polars.DataFrame
        The batch's shipment rows (``origin``, ``destination``, ``period``, ``tce_count``, the
        same sums and ``co2e_wtw_kg_default``).

    Returns
    -------
    polars.DataFrame
        The rows of ``footprint_rollups`` (:data:`ROLLUP_COLUMNS`), sorted by dimension and keys;
        ``co2e_wtw_kg_default`` is the WTW of the group's elements computed with a default
        factor (method ``default``, :func:`greenstream.accounting.rollup.default_flag`), kg CO2e.

    References
    ----------
    ISO 14083:2023, 5.1 (a chain's emissions are the sum of its elements) and 12 (reporting the
    data behind the figures).
    """
    sums = [
        pl.col("transport_activity_tkm").sum(),
        pl.col("co2e_wtw_kg").sum(),
        pl.col("co2e_ttw_kg").sum(),
    ]
    by_mode = (
        chain.group_by(pl.col("mode").fill_null("hub").alias("key_a"))
        .agg(
            pl.col("shipment_id").n_unique().cast(pl.Int32).alias("shipment_count"),
            pl.len().cast(pl.Int32).alias("tce_count"),
            *sums,
            pl.col("co2e_wtw_kg")
            .filter(default_flag(set(chain.columns)))
            .sum()
            .alias("co2e_wtw_kg_default"),
        )
        .with_columns(pl.lit("mode").alias("dimension"), pl.lit(None, pl.String).alias("key_b"))
    )
    per_ship = [
        pl.len().cast(pl.Int32).alias("shipment_count"),
        pl.col("tce_count").sum().cast(pl.Int32).alias("tce_count"),
        *sums,
        # unknown (null) for a group with a shipment whose figure is unknown
        pl.when(pl.col("co2e_wtw_kg_default").null_count() == 0)
        .then(pl.col("co2e_wtw_kg_default").sum())
        .alias("co2e_wtw_kg_default"),
    ]
    by_lane = (
        ships.group_by(pl.col("origin").alias("key_a"), pl.col("destination").alias("key_b"))
        .agg(per_ship)
        .with_columns(pl.lit("lane").alias("dimension"))
    )
    by_period = (
        ships.group_by(pl.col("period").alias("key_a"))
        .agg(per_ship)
        .with_columns(pl.lit("period").alias("dimension"), pl.lit(None, pl.String).alias("key_b"))
    )
    out = pl.concat(
        [f.select(ROLLUP_COLUMNS) for f in (by_mode, by_lane, by_period)], how="vertical_relaxed"
    )
    return out.sort("dimension", "key_a", "key_b", nulls_last=True)

"""Pricing: events -> points, vectorized with integer arithmetic (savings in mg CO2e, rates
and multipliers x 10^4, money in fen), and the daily cap."""

from __future__ import annotations

import polars as pl

from greenstream.points.catalogue import MG_PER_KG, Catalogue
from greenstream.points.rules import SCALE, Rules


def price_events(events: pl.DataFrame, rules: Rules, catalogue: Catalogue) -> pl.DataFrame:
    """Saving, campaign multiplier, CO2e points and co-funding split of every event.

    Integer arithmetic only: savings in mg CO2e, rates and multipliers x 10^4, money in fen.
    Points are rounded down (a consumer is never over-credited)::

        points = floor(co2e_mg * points_per_kg_e4 * multiplier_e4 / (10^6 * 10^4 * 10^4))

    Duplicate ``event_id`` in one batch: the first wins (the others are duplicates).

    Parameters
    ----------
    events : polars.DataFrame
        Typed events (:func:`greenstream.points.events.check_events`).
    rules : Rules
        The tenant's rules (points per kg CO2e, campaigns, co-funding).
    catalogue : Catalogue
        Savings per unit, mg CO2e.

    Returns
    -------
    polars.DataFrame
        The events with their saving (mg CO2e), campaign, points and co-funding (fen).
    """
    frame = events.unique(subset="event_id", keep="first", maintain_order=True).join(
        catalogue.frame(), on="action", how="left"
    )
    mult = pl.lit(SCALE, dtype=pl.Int64)
    mult_text = pl.lit("1", dtype=pl.String)
    campaign = pl.lit(None, dtype=pl.String)
    for c in sorted(rules.campaigns, key=lambda c: c.id):
        cond = (pl.col("occurred_at") >= c.starts) & (pl.col("occurred_at") < c.ends)
        if c.actions:
            cond = cond & pl.col("action").is_in(list(c.actions))
        better = cond & (pl.lit(c.multiplier_e4) > mult)
        mult_text = pl.when(better).then(pl.lit(c.multiplier)).otherwise(mult_text)
        campaign = pl.when(better).then(pl.lit(c.id)).otherwise(campaign)
        mult = pl.when(better).then(pl.lit(c.multiplier_e4, dtype=pl.Int64)).otherwise(mult)
    frame = frame.with_columns(
        multiplier_e4=mult, multiplier=mult_text, campaign=campaign,
        co2e_avoided_mg=pl.col("saving_per_unit_mg") * pl.col("quantity"),
    )  # fmt: skip
    denominator = MG_PER_KG * SCALE * SCALE
    frame = frame.with_columns(
        points_raw=(
            pl.col("co2e_avoided_mg").cast(pl.Int128)
            * rules.points_per_kg_e4
            * pl.col("multiplier_e4").cast(pl.Int128)
            // denominator
        ).cast(pl.Int64)
    )
    cof = pl.DataFrame(
        {
            "brand": [c.brand for c in rules.cofunding],
            "action": [c.action for c in rules.cofunding],
            "sub": [c.subsidy_fen for c in rules.cofunding],
            "green": [c.green_fund_fen for c in rules.cofunding],
            "cons": [c.consumer_fen for c in rules.cofunding],
        },
        schema={
            "brand": pl.String,
            "action": pl.String,
            "sub": pl.Int64,
            "green": pl.Int64,
            "cons": pl.Int64,
        },
    )
    frame = frame.join(cof, on=["brand", "action"], how="left").with_columns(
        subsidy_fen=pl.col("sub").fill_null(0) * pl.col("quantity"),
        green_fund_fen=pl.col("green").fill_null(0) * pl.col("quantity"),
        consumer_fen=pl.col("cons").fill_null(0) * pl.col("quantity"),
    )
    return frame.with_columns(
        points_cofund=pl.col("consumer_fen") * rules.cofund_points_per_fen,
        day=pl.col("occurred_at").dt.convert_time_zone(rules.timezone).dt.date(),
        seq=pl.int_range(pl.len(), dtype=pl.Int64),
    ).drop("sub", "green", "cons")


def apply_daily_cap(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Grant CO2e points up to the daily cap per user and local day.

    In event time order, counting what the user already earned that day (``already``).
    Co-funded points are paid by the brand and are not capped.

    Parameters
    ----------
    frame : polars.DataFrame
        Priced events with ``account_id``, ``day`` (local date), ``occurred_at``, ``seq`` and
        ``already`` (points earned earlier that day).
    rules : Rules
        ``daily_cap_points`` (0 = no cap).

    Returns
    -------
    polars.DataFrame
        The events with the points granted and those withheld by the cap.
    """
    frame = frame.with_columns(pl.col("already").fill_null(0)).sort(
        "account_id", "day", "occurred_at", "seq"
    )
    if rules.daily_cap_points > 0:
        before = pl.col("points_raw").cum_sum().over("account_id", "day") - pl.col("points_raw")
        room = (rules.daily_cap_points - pl.col("already") - before).clip(lower_bound=0)
        granted = pl.min_horizontal(pl.col("points_raw"), room)
    else:
        granted = pl.col("points_raw")
    frame = frame.with_columns(points_granted=granted)
    return frame.with_columns(
        points_capped=pl.col("points_raw") - pl.col("points_granted"),
        points_total=pl.col("points_granted") + pl.col("points_cofund"),
    )

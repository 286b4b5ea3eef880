"""The Chinese national-standard views of the same calculation, and their reconciliation with
ISO 14083.

- **GB/T 46531-2025** 《公路水路营业性运输工具碳排放核算方法》 (issued 2025-10-31, in force
  2026-05-01): carbon dioxide of *commercial road and waterway* transport from the *combustion
  of fossil fuels* and its intensity per tonne-kilometre (scope, clause 1, and TOC: clauses 4
  "核算对象边界", 5 "碳排放量和强度核算方法", 6 road, 7 waterway; Annex A fuel CO2 factors). So:
  CO2 only, TTW only, no hubs, no electricity, no rail or air.
- **GB/T 37099-2026** 《绿色物流指标构成与核算方法》 (issued 2026-01-28, in force 2026-05-01):
  an enterprise's green-logistics indicator set. Its indicator list was not available to us;
  the indicators greenstream's data allow are named by what they measure
  (``data/gbt37099_indicators.csv``) and labelled as not verified against the text.

The GB/T 46531 figure is derived from the kernel's own TTW column, never recomputed: for every
transport chain element, TTW CO2e x the CO2 share of its factor's TTW value. The CO2 shares come
from DESNZ 2025's per-gas columns (``data/desnz_2025_freight_gases.csv``); a factor without a
published split (a carrier's TOC, a fuel factor, a hub) is counted as all CO2, a labelled
assumption that the report shows with the share of TTW it affects.

The reconciliation walks from ISO 14083 WTW CO2e to GB/T 46531 TTW CO2 in fixed steps, each
removing one thing GB/T 46531 does not count, so every kilogram of the difference is in exactly
one line and the lines add up to the difference (tested):

1. hub operations (GB/T 46531 covers vehicles only);
2. transport by modes outside its scope (rail, air; it covers road and waterway);
3. electricity (it covers fossil-fuel combustion): the whole WTW of electric chain elements;
4. WTT of the remaining (fuel) elements: it counts combustion (TTW) only;
5. the non-CO2 part (CH4, N2O) of their TTW: it counts CO2 only.

References
----------
GB/T 46531-2025, scope and table of contents as published at https://www.bz39.com/archives/1229290
and http://f.tikuw.cn/f/item?id=1851206790089365. GB/T 37099-2026, scope at
https://www.bzchaxun.com/view/6131113111000000.html. DESNZ 2025 conversion factors, table
'Freighting goods' (per-gas columns).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Final

import polars as pl

from greenstream.factors import Registry

GBT46531_MODES: Final = ("road", "sea", "inland_waterway")
ELECTRICITY: Final = "electricity"
# the splits of a DESNZ factor add up to its total within the file's rounding (5 decimals)
SPLIT_TOLERANCE_KG: Final = 2e-5


def _data(name: str) -> bytes:
    return (resources.files("greenstream.reports") / "data" / name).read_bytes()


@cache
def gas_split_table() -> pl.DataFrame:
    """DESNZ 2025 'Freighting goods' factors with their CO2, CH4 and N2O parts (kg CO2e).

    Refuses a row whose parts do not add up to its total (within the file's rounding) or that
    lacks a source.
    """
    frame = pl.read_csv(_data("desnz_2025_freight_gases.csv"))
    parts = pl.col("kg_co2e_of_co2") + pl.col("kg_co2e_of_ch4") + pl.col("kg_co2e_of_n2o")
    bad = frame.filter(
        ((parts - pl.col("kg_co2e")).abs() > SPLIT_TOLERANCE_KG)
        | pl.col("source").is_null()
        | (pl.col("source") == "")
    )
    if bad.height:
        raise ValueError(
            f"gas split rows do not add up or lack a source: {bad['row_id'].to_list()}"
        )
    return frame


_SHARES: dict[str, pl.DataFrame] = {}


def _co2_shares_cached(registry: Registry) -> pl.DataFrame:
    if registry.version not in _SHARES:
        _SHARES[registry.version] = co2_shares(registry)
    return _SHARES[registry.version]


def co2_shares(registry: Registry) -> pl.DataFrame:
    """The CO2 share of the TTW value of every factor in ``registry``.

    Returns
    -------
    ``factor_id, ttw_co2_share, split_basis`` for every factor with a published split: DESNZ
    freight factors (kg CO2e of CO2 / kg CO2e; for a per-vehicle-km curve, its average-laden
    row) and factors published as CO2 only (unit ``kg CO2/...``, share 1). Factors not listed
    here are counted as all CO2 by :func:`with_gbt_columns` (an assumption, flagged per row).

    Parameters
    ----------
    registry : greenstream.factors.Registry
        The factor registry.

    References
    ----------
    .. [1] DESNZ, "Greenhouse gas reporting: conversion factors 2025", table 'Freighting
       goods' (kg CO2e of CO2, CH4 and N2O per unit).

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> shares = co2_shares(Registry.builtin())
    >>> share = shares.filter(pl.col("factor_id") == "desnz-2025:road.hgv_all:avg")
    >>> round(share["ttw_co2_share"].item(), 4), share["split_basis"].item()
    (0.9851, 'DESNZ 2025 per-gas columns')
    """
    ttw = registry.factors.filter(pl.col("scope") == "TTW")
    split = gas_split_table().select(
        "row_id", (pl.col("kg_co2e_of_co2") / pl.col("kg_co2e")).alias("share")
    )
    desnz = (
        ttw.join(split, on="row_id", how="inner")
        .with_columns((pl.col("load") == "avg").fill_null(False).alias("__avg"))
        .sort("factor_id", "__avg", descending=[False, True])
        .group_by("factor_id", maintain_order=True)
        .agg(pl.col("share").first().alias("ttw_co2_share"))
        .with_columns(pl.lit("DESNZ 2025 per-gas columns").alias("split_basis"))
    )
    co2_only = (
        ttw.filter(pl.col("unit").str.starts_with("kg CO2/"))
        .select("factor_id")
        .unique()
        .with_columns(
            pl.lit(1.0).alias("ttw_co2_share"),
            pl.lit("factor published as CO2 only").alias("split_basis"),
        )
    )
    return pl.concat([desnz, co2_only.join(desnz, on="factor_id", how="anti")])


def electricity_factor_ids(registry: Registry) -> pl.Series:
    """Factor ids whose energy carrier is electricity (grid factors, battery-electric classes).

    Parameters
    ----------
    registry : greenstream.factors.Registry
        The factor registry.

    Returns
    -------
    polars.Series
        Distinct factor ids, sorted.

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> "desnz-2025:road.van_avg_bev" in electricity_factor_ids(Registry.builtin()).to_list()
    True
    """
    f = registry.factors
    ids = f.filter((pl.col("energy_carrier") == ELECTRICITY) | (pl.col("category") == "grid"))
    return ids["factor_id"].unique().sort()


def factor_attributes(factor_ids: pl.Series, registry: Registry) -> pl.DataFrame:
    """Per distinct factor id: ``ttw_co2_share`` (null: no published split), and
    ``electric_factor`` (every part of a trip's combined id ``a + b`` is an electricity factor).
    Computed on the few distinct ids, then joined to the elements (a string split per element
    cost 1 s per 1M elements).

    Parameters
    ----------
    factor_ids : polars.Series
        The elements' factor ids (nulls and repeats are fine).
    registry : greenstream.factors.Registry
        The factor registry.

    Returns
    -------
    polars.DataFrame
        ``factor_id``, ``electric_factor`` (bool), ``ttw_co2_share`` (fraction, null when no
        split is published).

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> ids = pl.Series(["desnz-2025:road.hgv_all:avg", "desnz-2025:road.van_avg_bev", None])
    >>> factor_attributes(ids, Registry.builtin()).sort("factor_id").select(
    ...     "factor_id", "electric_factor").rows()
    [('desnz-2025:road.hgv_all:avg', False), ('desnz-2025:road.van_avg_bev', True)]
    """
    shares = _co2_shares_cached(registry).select("factor_id", "ttw_co2_share")
    electric = electricity_factor_ids(registry).implode()
    ids = factor_ids.drop_nulls().unique().cast(pl.String).to_frame("factor_id")
    return ids.with_columns(
        pl.col("factor_id")
        .str.split(" + ")
        .list.eval(pl.element().is_in(electric))
        .list.all()
        .fill_null(False)
        .alias("electric_factor")
    ).join(shares, on="factor_id", how="left")


def with_gbt_columns(frame: pl.DataFrame, attributes: pl.DataFrame) -> pl.DataFrame:
    """Add the per-element columns of the GB/T 46531 view.

    ``attributes`` is :func:`factor_attributes` of the elements' factor ids. Adds
    ``is_electric`` (the element's energy carrier, or its factor, is electricity),
    ``in_gbt46531_scope`` (a road or waterway transport element that is not electric),
    ``ttw_co2_share`` and ``co2_split_assumed`` (no published split: counted as all CO2) and
    ``gbt46531_co2_kg`` (TTW CO2e x CO2 share, in scope only).

    Parameters
    ----------
    frame : polars.DataFrame
        Chain elements with ``factor_id``, ``energy_carrier``, ``is_hub``, ``mode`` and
        ``co2e_ttw_kg`` (kg CO2e).
    attributes : polars.DataFrame
        :func:`factor_attributes` of the elements' factor ids.

    Returns
    -------
    polars.DataFrame
        ``frame`` with the columns above (``gbt46531_co2_kg`` in kg CO2).

    References
    ----------
    .. [1] GB/T 46531-2025, clauses 4 (boundary), 5 (emissions and intensity), 6 (road), 7
       (waterway), Annex A (fuel CO2 factors); scope and TOC as published at
       https://www.bz39.com/archives/1229290.

    Examples
    --------
    100 kg CO2e TTW on road with a CO2 share of 0.985 is 98.5 kg CO2; rail is out of scope:

    >>> legs = pl.DataFrame({"factor_id": ["f1", "f2"], "energy_carrier": [None, None],
    ...     "is_hub": [False, False], "mode": ["road", "rail"], "co2e_ttw_kg": [100.0, 50.0]})
    >>> attrs = pl.DataFrame({"factor_id": ["f1", "f2"], "electric_factor": [False, False],
    ...                        "ttw_co2_share": [0.985, None]})
    >>> with_gbt_columns(legs, attrs)["gbt46531_co2_kg"].to_list()
    [98.5, 0.0]
    """
    # eager: the lazy join of 1M elements to a few hundred ids measured 2.2 s against 0.13 s
    frame = frame.join(attributes, on="factor_id", how="left", maintain_order="left")
    is_electric = (pl.col("energy_carrier") == ELECTRICITY).fill_null(False) | pl.col(
        "electric_factor"
    ).fill_null(False)
    in_scope = ~pl.col("is_hub") & pl.col("mode").is_in(GBT46531_MODES) & ~is_electric
    return frame.with_columns(
        is_electric.alias("is_electric"),
        in_scope.alias("in_gbt46531_scope"),
        pl.col("ttw_co2_share").is_null().alias("co2_split_assumed"),
        pl.col("ttw_co2_share").fill_null(1.0),
    ).with_columns(
        pl.when(pl.col("in_gbt46531_scope"))
        .then(pl.col("co2e_ttw_kg") * pl.col("ttw_co2_share"))
        .otherwise(0.0)
        .alias("gbt46531_co2_kg")
    )


def reconciliation_queries(lf: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Lazy queries of the GB/T 46531 view (per mode) and the reconciliation sums.

    Parameters
    ----------
    lf : polars.LazyFrame
        Chain elements with the :func:`with_gbt_columns` columns and the kernel's
        ``co2e_wtw_kg``, ``co2e_ttw_kg``, ``co2e_wtt_kg`` (kg CO2e) and
        ``transport_activity_tkm`` (tkm).

    Returns
    -------
    list of polars.LazyFrame
        The one-row sums (kg: ISO WTW total, hubs, modes out of scope, electricity, WTT,
        non-CO2, GB/T CO2, assumed split, fuel TTW) and the per-mode view (count, tkm, kg CO2).

    References
    ----------
    .. [1] GB/T 46531-2025, clauses 4 (boundary), 5 (emissions and intensity), 6 (road), 7
       (waterway), Annex A (fuel CO2 factors); scope and TOC as published at
       https://www.bz39.com/archives/1229290.
    .. [2] ISO 14083:2023 (WTW = WTT + TTW, hub operations).
    """
    hub = pl.col("is_hub")
    out_of_scope_mode = ~hub & ~pl.col("mode").is_in(GBT46531_MODES)
    electric = ~hub & pl.col("mode").is_in(GBT46531_MODES) & pl.col("is_electric")
    fuel = pl.col("in_gbt46531_scope")
    wtw = pl.col("co2e_wtw_kg")
    sums = lf.select(
        wtw.sum().alias("iso_wtw_kg"),
        wtw.filter(hub).sum().alias("hubs_kg"),
        wtw.filter(out_of_scope_mode).sum().alias("modes_out_of_scope_kg"),
        wtw.filter(electric).sum().alias("electricity_kg"),
        pl.col("co2e_wtt_kg").filter(fuel).sum().alias("wtt_kg"),
        (pl.col("co2e_ttw_kg") - pl.col("gbt46531_co2_kg")).filter(fuel).sum().alias("non_co2_kg"),
        pl.col("gbt46531_co2_kg").sum().alias("gbt46531_co2_kg"),
        pl.col("co2e_ttw_kg").filter(fuel & pl.col("co2_split_assumed")).sum().alias("assumed_kg"),
        pl.col("co2e_ttw_kg").filter(fuel).sum().alias("fuel_ttw_kg"),
    )
    per_mode = (
        lf.filter(fuel)
        .group_by("mode")
        .agg(
            pl.len().alias("tce_count"),
            pl.col("transport_activity_tkm").sum(),
            pl.col("gbt46531_co2_kg").sum().alias("co2_kg"),
        )
        .sort("mode")
    )
    return [sums, per_mode]


def gbt_sections(sums: dict[str, Any], per_mode: pl.DataFrame) -> dict[str, Any]:
    """The GB/T 46531 view and the reconciliation from the sums of :func:`reconciliation_queries`.

    Every share is of the ISO 14083 WTW total; ``residual_kg`` (ISO total less the lines less
    the GB/T figure) is zero up to float rounding, which the tests check.

    Parameters
    ----------
    sums : dict
        The one row of the first query of :func:`reconciliation_queries` (kg).
    per_mode : polars.DataFrame
        The second query's result.

    Returns
    -------
    dict
        ``gbt46531`` (CO2 in kg, tkm, g CO2 per tkm, per mode, share of TTW on an assumed split)
        and ``reconciliation`` (the five lines in kg and as a fraction of the ISO total, the
        residual in kg).

    References
    ----------
    .. [1] GB/T 46531-2025, clauses 4 (boundary), 5 (emissions and intensity), 6 (road), 7
       (waterway), Annex A (fuel CO2 factors); scope and TOC as published at
       https://www.bz39.com/archives/1229290.

    Examples
    --------
    1,000 kg ISO WTW: 100 hubs, 200 rail, 0 electricity, 150 WTT, 10 non-CO2 -> 540 kg CO2:

    >>> sums = {"iso_wtw_kg": 1000.0, "hubs_kg": 100.0, "modes_out_of_scope_kg": 200.0,
    ...         "electricity_kg": 0.0, "wtt_kg": 150.0, "non_co2_kg": 10.0,
    ...         "gbt46531_co2_kg": 540.0, "assumed_kg": 0.0, "fuel_ttw_kg": 550.0}
    >>> per_mode = pl.DataFrame({"mode": ["road"], "tce_count": [3],
    ...                          "transport_activity_tkm": [6000.0], "co2_kg": [540.0]})
    >>> out = gbt_sections(sums, per_mode)
    >>> out["gbt46531"]["co2_g_per_tkm"], out["reconciliation"]["residual_kg"]
    (90.0, 0.0)
    """
    iso = float(sums["iso_wtw_kg"] or 0.0)
    gbt = float(sums["gbt46531_co2_kg"] or 0.0)
    steps = [
        ("hubs", "hubs_kg", "GB/T 46531 covers vehicles, not hub operations"),
        (
            "modes_out_of_scope",
            "modes_out_of_scope_kg",
            "GB/T 46531 covers commercial road and waterway transport (not rail, air)",
        ),
        ("electricity", "electricity_kg", "GB/T 46531 covers fossil-fuel combustion only"),
        ("wtt", "wtt_kg", "GB/T 46531 counts combustion (tank-to-wheel) only, not fuel supply"),
        ("non_co2", "non_co2_kg", "GB/T 46531 counts CO2 only (not CH4, N2O)"),
    ]
    lines: list[dict[str, Any]] = []
    removed = 0.0
    for key, column, reason in steps:
        kg = float(sums[column] or 0.0)
        removed += kg
        lines.append({"line": key, "co2e_kg": kg, "share": kg / iso if iso else 0.0, "why": reason})
    residual = iso - removed - gbt
    modes = [
        {
            "mode": r["mode"],
            "tce_count": int(r["tce_count"]),
            "transport_activity_tkm": float(r["transport_activity_tkm"]),
            "co2_kg": float(r["co2_kg"]),
            "co2_g_per_tkm": 1000.0 * float(r["co2_kg"]) / float(r["transport_activity_tkm"])
            if r["transport_activity_tkm"]
            else None,
        }
        for r in per_mode.iter_rows(named=True)
    ]
    tkm = sum(m["transport_activity_tkm"] for m in modes)
    fuel_ttw = float(sums["fuel_ttw_kg"] or 0.0)
    return {
        "gbt46531": {
            "standard": "GB/T 46531-2025",
            "co2_kg": gbt,
            "transport_activity_tkm": tkm,
            "co2_g_per_tkm": 1000.0 * gbt / tkm if tkm else None,
            "by_mode": modes,
            "co2_split_assumed_share_of_ttw": float(sums["assumed_kg"] or 0.0) / fuel_ttw
            if fuel_ttw
            else 0.0,
        },
        "reconciliation": {
            "from": "ISO 14083:2023 WTW CO2e",
            "to": "GB/T 46531-2025 TTW CO2",
            "iso14083_wtw_kg": iso,
            "lines": lines,
            "gbt46531_co2_kg": gbt,
            "residual_kg": residual,
        },
    }


@cache
def gbt37099_indicator_table() -> pl.DataFrame:
    """The green-logistics indicators greenstream computes, with their definition and status."""
    return pl.read_csv(_data("gbt37099_indicators.csv"))

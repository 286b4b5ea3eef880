"""The period report: what ISO 14083:2023 asks a report to state, from one footprint table.

:func:`period_report` is a pure function of the chain-element footprints (kernel output, see
:mod:`greenstream.reports.frame`), the factor registry they were computed with and the report's
scope (organisation, period, customer, verification reference). It returns a JSON-ready dict;
the CLI prints it, the API serves it and the HTML / PDF renderers print its numbers, so a figure
is the same everywhere to the last printed digit.

What it states, and where ISO 14083 asks for it (see docs/reports.md for the list with sources):

- organisation, period, services covered and the reference to ISO 14083:2023;
- system boundary: transport and hub operations included (5.2.1), processes not included
  (5.2.4), optional processes and black carbon not quantified (5.2.5, 5.2.6), no offsets netted
  (5.2.7), and every exclusion greenstream made (undated shipments, elements with warnings);
- total emissions WTW with TTW and WTT shown separately, overall and per mode and for hubs;
- transport activity (tkm, 5.4), hub activity (t leaving the hub, 5.5), intensities;
- distance bases per mode with the distance adjustment applied (5.4.4);
- data types (primary, modelled, default) and the share of primary data;
- every factor set with its version and source, and the factors that carry the most emissions;
- allocation methods (5.6), the GWP basis (5.3.2), the uncertainty band and its basis;
- the verification reference (the audit chain's head at the time of the report);
- the GB/T 46531-2025 view, the reconciliation and the GB/T 37099-2026 indicators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Final

import polars as pl

from greenstream.accounting.rollup import (
    LANE_SEPARATOR,
    carrier_key,
    key_expr,
    lane_key,
    mode_key,
    rollup_lazy,
)
from greenstream.factors import Registry
from greenstream.reports.frame import KG_PER_TONNE, conform, in_period, of_customer
from greenstream.reports.gbt import (
    factor_attributes,
    gbt37099_indicator_table,
    gbt_sections,
    reconciliation_queries,
    with_gbt_columns,
)

SCHEMA: Final = "greenstream.period-report.v1"
TOP_LANES: Final = 10
TOP_HUBS: Final = 10
TOP_FACTORS: Final = 15
TOP_CARRIERS: Final = 15
MAP_LANES: Final = 300  # lanes drawn on the map (by WTW emissions)
MAP_HUBS: Final = 200

# how each kernel method obtains and allocates emissions (accounting/kernel.py module docstring)
ALLOCATION: Final[dict[str, str]] = {
    "primary": "measured trip energy x energy-carrier factors, allocated to the chain elements "
    "of the trip by tonne-kilometre (ISO 14083:2023 5.6)",
    "toc": "transport operation category intensity (kg CO2e/tkm, as its carrier allocated it) "
    "x the element's transport activity (ISO 14083:2023 5.4)",
    "hoc": "hub operation category intensity (kg CO2e/t) x tonnes leaving the hub "
    "(ISO 14083:2023 5.5)",
    "modelled": "vehicle-class per-vehicle-km curve at the stated load factor, plus empty "
    "running, divided by the payload carried (tonne-kilometre basis)",
    "default": "default intensity per tkm (or per t at hubs) with average load and empty running "
    "included x the element's transport or hub activity",
}
DATA_TYPE_OF_METHOD: Final[dict[str, str]] = {
    "primary": "primary",
    "toc": "operator_secondary",
    "hoc": "operator_secondary",
    "modelled": "modelled",
    "default": "default",
}
NOT_INCLUDED: Final = (
    "manufacture, maintenance and scrapping of vehicles and of transport and hub infrastructure",
    "production of refrigerants",
    "administrative (overhead) processes of transport service providers",
    "waste",
    "businesses co-located at hubs that are not needed to operate them",
)


@dataclass(frozen=True)
class ReportScope:
    """Who and what a report is about, and where its data came from."""

    organisation: str
    period_from: date | None = None
    period_to: date | None = None
    customer: str | None = None
    source: str = ""
    input_sha256: str = ""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    verification: dict[str, Any] | None = None
    operators: dict[str, str] = field(default_factory=dict)  # toc:/hoc: id -> description


def uncertainty_table() -> list[dict[str, Any]]:
    """The kernel's per-method relative half-widths with their basis (labelled assumptions)."""
    path = resources.files("greenstream.accounting").joinpath("data/uncertainty.csv")
    with resources.as_file(path) as p:
        return pl.read_csv(p).select("method", "relative_half_width", "assumption").to_dicts()


def _factor_sets(registry: Registry) -> pl.DataFrame:
    return (
        registry.factors.select("factor_id", "factor_set")
        .unique("factor_id", keep="first")
        .join(
            registry.factor_sets.select(
                pl.col("set").alias("factor_set"),
                "version",
                "label",
                "publisher",
                "publication",
                "url",
                "publication_date",
                "licence",
            ),
            on="factor_set",
            how="left",
        )
    )


def prepared(
    footprints: pl.DataFrame | pl.LazyFrame, scope: ReportScope, registry: Registry
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The elements in the report's scope with the report's derived columns, and the undated
    shipments left out of a dated period.

    Parameters
    ----------
    footprints : polars.DataFrame or polars.LazyFrame
        Chain elements as the kernel writes them (emissions in kg CO2e).
    scope : ReportScope
        Period, customer and source name of the report.
    registry : greenstream.factors.Registry
        The factor registry (data types, GB/T 46531 CO2 shares, factor sources).

    Returns
    -------
    elements : polars.LazyFrame
        The elements in scope with the data type (primary, modelled, default), the GB/T 46531
        columns and the factor sources.
    undated : polars.LazyFrame
        ``shipment_id`` of the shipments left out for want of a departure time.

    References
    ----------
    .. [1] GLEC Framework v3.0 (Smart Freight Centre, 2023): primary data, and secondary data
       (modelled, default).
    .. [2] GB/T 46531-2025 (the TTW CO2 view, :mod:`greenstream.reports.gbt`).
    """
    source = scope.source or "<footprints>"
    lf, undated = in_period(conform(footprints, source=source), scope.period_from, scope.period_to)
    lf = of_customer(lf, scope.customer, source=source)
    method_type = pl.col("method").replace_strict(
        DATA_TYPE_OF_METHOD, default="default", return_dtype=pl.String
    )
    lf = lf.with_columns(
        pl.when(pl.col("primary_data").fill_null(False))
        .then(pl.lit("primary"))
        .otherwise(method_type)
        .alias("data_type"),
        pl.when(pl.col("is_hub"))
        .then(pl.col("mass_kg") / KG_PER_TONNE)
        .otherwise(0.0)
        .alias("hub_activity_t"),
    )
    # materialised once: the report's dozen queries then share it instead of each re-running
    # the casts, the period filter and the joins
    frame = lf.collect(engine="in-memory")
    attributes = factor_attributes(frame["factor_id"], registry)
    return with_gbt_columns(frame, attributes).lazy(), undated


def period_report(
    footprints: pl.DataFrame | pl.LazyFrame,
    scope: ReportScope,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """The period report of ``footprints`` as a JSON-ready dict (see the module docstring).

    Parameters
    ----------
    footprints : chain-element footprints (kernel output columns, :mod:`.frame`).
    scope : organisation, period (UTC days, by each shipment's first departure), customer,
        source and verification reference.
    registry : the factor registry the footprints were computed with (built-in by default).

    Returns
    -------
    dict with ``totals``, ``by_mode`` (hubs as mode ``hub``), ``by_data_type``, ``by_method``,
    ``distance_bases``, ``factor_sets``, ``factors``, ``allocation``, ``uncertainty``,
    ``boundary``, ``lanes``, ``hubs``, ``daily``, ``gbt46531``, ``reconciliation``,
    ``gbt37099`` and the scope. Masses in kg, activity in tkm and t, emissions in kg CO2e.

    References
    ----------
    ISO 14083:2023 clauses 5.2-5.6; the reporting elements as summarised in CLECAT / UBA,
    "Greenhouse gas emissions in the transport sector - Guide to ISO 14083" (2024), chapter 6,
    Tables 10-13.

    Examples
    --------
    10 t by road (100 km, DESNZ 2025 all-HGV 0.12522 kg CO2e/tkm WTW: 125.22 kg) and by rail
    (500 km, DESNZ 2025 freight train 0.0347 kg/tkm: 173.5 kg). GB/T 46531 counts the road
    leg's TTW CO2 only; rail is out of its scope:

    >>> from greenstream.pipeline import footprint
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "rail"], "distance_km": [100.0, 500.0]})
    >>> footprints = footprint(legs).legs
    >>> report = period_report(footprints, ReportScope(organisation="Acme"))
    >>> report["kind"], report["totals"]["transport_activity_tkm"]
    ('period_report', 6000.0)
    >>> sorted((m["mode"], round(m["co2e_wtw_kg"], 2)) for m in report["by_mode"])
    [('rail', 173.5), ('road', 125.22)]
    """
    registry = registry or Registry.builtin()
    lf, undated = prepared(footprints, scope, registry)
    transport = ~pl.col("is_hub")
    hub = pl.col("is_hub")
    wtw, ttw = pl.col("co2e_wtw_kg"), pl.col("co2e_ttw_kg")
    sets = _factor_sets(registry).lazy()
    # The headline sums (grand total, by mode) are the accounting roll-up itself; the other
    # breakdowns group by the roll-up's own keys (lane, carrier, day, method) with one level of
    # additive sums: the roll-up's per-shipment level, needed only for shipment counts and
    # masses the report does not print there, cost 4.9 s for lanes of 1M elements.
    schema = lf.collect_schema()
    columns = set(schema.names())
    additive = [
        pl.len().alias("tce_count"),
        pl.col("transport_activity_tkm").sum(),
        wtw.sum(),
        ttw.sum(),
        wtw.filter(transport).sum().alias("__transport_wtw"),
        wtw.filter(pl.col("primary_data").fill_null(False)).sum().alias("__primary_wtw"),
    ]
    place = [c for c in ("origin", "origin_id", "destination", "destination_id") if c in columns]
    queries = [
        rollup_lazy(lf, []),
        rollup_lazy(lf, ["mode"]),
        lf.group_by(key_expr("method", schema, "UTC")).agg(*additive),
        # lanes: grouped by their places first, the roll-up's lane key applied to the groups
        lf.filter(transport)
        .group_by(*place, mode_key(columns).alias("mode"))
        .agg(*additive)
        .with_columns(lane_key(set(place)).alias("lane"))
        .group_by("lane", "mode")
        .agg(pl.col("tce_count", "transport_activity_tkm", "co2e_wtw_kg").sum())
        .sort("co2e_wtw_kg", "lane", "mode", descending=[True, False, False], nulls_last=True)
        .head(MAP_LANES),
        lf.group_by(key_expr("day", schema, "UTC")).agg(*additive),
        lf.group_by(carrier_key(columns).alias("carrier"))
        .agg(*additive)
        .sort("co2e_wtw_kg", "carrier", descending=[True, False], nulls_last=True)
        .head(TOP_CARRIERS),
        lf.select(
            transport.sum().alias("transport_tce_count"),
            hub.sum().alias("hub_tce_count"),
            wtw.filter(transport).sum().alias("transport_wtw_kg"),
            ttw.filter(transport).sum().alias("transport_ttw_kg"),
            wtw.filter(hub).sum().alias("hub_wtw_kg"),
            ttw.filter(hub).sum().alias("hub_ttw_kg"),
            pl.col("hub_activity_t").sum(),
            pl.col("transport_activity_tkm").filter(pl.col("is_electric")).sum().alias("e_tkm"),
            pl.col("transport_activity_tkm")
            .filter(pl.col("mode").is_in(["rail", "sea", "inland_waterway"]))
            .sum()
            .alias("rail_water_tkm"),
            pl.col("warnings").is_not_null().sum().alias("warning_tce_count"),
            pl.col("departure_at").min().alias("first_departure_at"),
            pl.col("departure_at").max().alias("last_departure_at"),
        ),
        lf.group_by("data_type").agg(pl.len().alias("tce_count"), wtw.sum()),
        lf.filter(transport)
        .group_by("mode", "distance_basis", "distance_adjustment")
        .agg(pl.len().alias("tce_count"), pl.col("transport_activity_tkm").sum()),
        lf.group_by("factor_id").agg(pl.len().alias("tce_count"), wtw.sum(), ttw.sum()),
        lf.join(sets.select("factor_id", "factor_set"), on="factor_id", how="left")
        .with_columns(
            pl.when(pl.col("factor_id").str.contains(r"^(toc|hoc):"))
            .then(pl.lit("operator"))
            .otherwise(pl.col("factor_set").fill_null("other"))
            .alias("factor_set")
        )
        .group_by("factor_set")
        .agg(pl.len().alias("tce_count"), wtw.sum()),
        lf.filter(hub)
        .group_by(pl.col("origin").alias("hub"), "hub_type")
        .agg(pl.len().alias("tce_count"), pl.col("hub_activity_t").sum(), wtw.sum())
        .sort("co2e_wtw_kg", "hub", "hub_type", descending=[True, False, False], nulls_last=True)
        .head(MAP_HUBS),
        undated.select(pl.len().alias("undated_shipments")),
        *reconciliation_queries(lf),
    ]
    done = pl.collect_all(queries, engine="in-memory")
    (
        g,
        modes,
        methods,
        lanes,
        daily,
        carriers,
        x_frame,
        dtypes,
        bases,
        factors,
        fsets,
        hubs,
        und,
        rs,
        rm,
    ) = done
    grand = g.row(0, named=True) if g.height else {}
    x = x_frame.row(0, named=True)
    total = float(grand.get("co2e_wtw_kg") or 0.0)
    tkm = float(grand.get("transport_activity_tkm") or 0.0)
    n_ship = int(grand.get("shipment_count") or 0)
    ttw_total = float(grand.get("co2e_ttw_kg") or 0.0)
    totals = {
        "shipment_count": n_ship,
        "tce_count": int(grand.get("tce_count") or 0),
        "transport_tce_count": int(x["transport_tce_count"] or 0),
        "hub_tce_count": int(x["hub_tce_count"] or 0),
        "co2e_wtw_kg": total,
        "co2e_ttw_kg": ttw_total,
        "co2e_wtt_kg": float(grand.get("co2e_wtt_kg") or 0.0),
        "co2e_wtw_low_kg": float(grand.get("co2e_wtw_low_kg") or 0.0),
        "co2e_wtw_high_kg": float(grand.get("co2e_wtw_high_kg") or 0.0),
        "transport_co2e_wtw_kg": float(x["transport_wtw_kg"] or 0.0),
        "transport_co2e_ttw_kg": float(x["transport_ttw_kg"] or 0.0),
        "hub_co2e_wtw_kg": float(x["hub_wtw_kg"] or 0.0),
        "hub_co2e_ttw_kg": float(x["hub_ttw_kg"] or 0.0),
        "transport_activity_tkm": tkm,
        "hub_activity_t": float(x["hub_activity_t"] or 0.0),
        # ISO 14083: a chain's intensity includes its hubs' emissions over its transport activity
        "intensity_wtw_kg_per_tkm": total / tkm if tkm else None,
        "intensity_ttw_kg_per_tkm": ttw_total / tkm if tkm else None,
        # the roll-up's transport intensity: transport rows' WTW over their tkm (no hubs)
        "transport_intensity_wtw_kg_per_tkm": grand.get("co2e_wtw_kg_per_tkm"),
        "co2e_wtw_kg_per_shipment": grand.get("co2e_wtw_kg_per_shipment"),
        "primary_data_share": float(grand.get("primary_data_share") or 0.0),
        "default_share": float(grand.get("default_share") or 0.0),
    }
    t = x
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": "period_report",
        "standard": "ISO 14083:2023",
        "organisation": scope.organisation,
        "customer": scope.customer,
        "period": {
            "from": scope.period_from.isoformat() if scope.period_from else None,
            "to": scope.period_to.isoformat() if scope.period_to else None,
            "basis": "shipments by the UTC day of their first departure",
            "first_departure_at": _iso(t["first_departure_at"]),
            "last_departure_at": _iso(t["last_departure_at"]),
        },
        "generated_at": _iso(scope.generated_at),
        "source": scope.source,
        "input_sha256": scope.input_sha256 or None,
        "factor_set_version": registry.version,
        "gwp_basis": "GWP100 as published with each factor set (IPCC AR5 for DESNZ 2025); "
        "CO2-only factor sets (MEE/NBS grid, Jonkeren 2019) count CO2 alone",
        "totals": totals,
        "by_mode": _by_mode(modes, hubs_t=float(x["hub_activity_t"] or 0.0)),
        "by_data_type": _shares(dtypes, "data_type", total),
        "by_method": _shares(methods, "method", total),
        "by_carrier": [
            {
                "carrier": r["carrier"],
                "tce_count": int(r["tce_count"]),
                "transport_activity_tkm": r["transport_activity_tkm"],
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "co2e_wtw_kg_per_tkm": r["__transport_wtw"] / r["transport_activity_tkm"]
                if r["transport_activity_tkm"]
                else None,
                "primary_data_share": r["__primary_wtw"] / r["co2e_wtw_kg"]
                if r["co2e_wtw_kg"]
                else 0.0,
                "share": r["co2e_wtw_kg"] / total if total else 0.0,
            }
            for r in carriers.to_dicts()
        ],
        "allocation": [
            {"method": m, "how": ALLOCATION.get(m, m), "tce_count": n}
            for m, n in sorted(methods.select("method", "tce_count").iter_rows())
        ],
        "distance_bases": _rows(
            bases.sort("mode", "distance_basis", "distance_adjustment", nulls_last=True)
        ),
        "factor_sets": _factor_set_rows(fsets, registry, total),
        "factors": _factor_rows(factors, registry, scope, total),
        "uncertainty": {
            "co2e_wtw_low_kg": totals["co2e_wtw_low_kg"],
            "co2e_wtw_high_kg": totals["co2e_wtw_high_kg"],
            "basis": "per-element bands by method, added with full correlation "
            "(accounting/data/uncertainty.csv; assumed half-widths, labelled)",
            "half_widths": uncertainty_table(),
        },
        "boundary": {
            "modes": sorted(m for m in modes["mode"].to_list() if m and m != "hub"),
            "hubs_included": int(t["hub_tce_count"] or 0) > 0,
            "not_included": list(NOT_INCLUDED),
            "optional_not_quantified": [
                "storage and (re)packaging at hubs beyond what the HOC intensities contain",
                "ICT services purchased from external providers",
                "black carbon",
            ],
            "offsets": "none netted: offsetting and emissions trading results are never "
            "subtracted (ISO 14083:2023 5.2.7)",
            "undated_shipments_excluded": int(und.item())
            if scope.period_from or scope.period_to
            else 0,
            "elements_with_warnings": int(t["warning_tce_count"] or 0),
        },
        "lanes": _lanes(lanes.head(TOP_LANES)),
        "hubs": _rows(hubs.head(TOP_HUBS)),
        "map_lanes": [
            {k: r[k] for k in ("origin", "destination", "mode", "co2e_wtw_kg")}
            for r in _lanes(lanes)
        ],
        "map_hubs": hubs.select("hub", "co2e_wtw_kg").to_dicts(),
        "daily": [
            {"day": r["day"], "co2e_wtw_kg": r["co2e_wtw_kg"], "co2e_ttw_kg": r["co2e_ttw_kg"]}
            for r in daily.filter(pl.col("day").is_not_null()).sort("day").iter_rows(named=True)
        ],
        "verification": scope.verification,
    }
    report.update(gbt_sections(rs.row(0, named=True), rm))
    report["gbt37099"] = _gbt37099(totals, t)
    return report


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _iso(v) if isinstance(v, datetime) else v for k, v in r.items()}
        for r in frame.to_dicts()
    ]


def _by_mode(modes: pl.DataFrame, *, hubs_t: float) -> list[dict[str, Any]]:
    """Roll-up rows by mode (hubs as ``hub``) with their activity and WTW / TTW intensities
    (per tkm; hubs per tonne leaving the hub, ISO 14083 5.5)."""
    order = {m: i for i, m in enumerate(["road", "rail", "sea", "inland_waterway", "air", "hub"])}
    rows = []
    for r in sorted(modes.to_dicts(), key=lambda r: (order.get(r["mode"], 99), str(r["mode"]))):
        is_hub = r["mode"] == "hub"
        activity = hubs_t if is_hub else r["transport_activity_tkm"]
        rows.append(
            {
                "mode": r["mode"],
                "tce_count": int(r["tce_count"]),
                "shipment_count": int(r["shipment_count"]),
                "transport_activity_tkm": r["transport_activity_tkm"],
                "hub_activity_t": hubs_t if is_hub else 0.0,
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "co2e_ttw_kg": r["co2e_ttw_kg"],
                "co2e_wtt_kg": r["co2e_wtt_kg"],
                "primary_data_share": r["primary_data_share"],
                "intensity_wtw": r["co2e_wtw_kg"] / activity if activity else None,
                "intensity_ttw": r["co2e_ttw_kg"] / activity if activity else None,
                "intensity_unit": "kg CO2e/t" if is_hub else "kg CO2e/tkm",
            }
        )
    return rows


def _lanes(lanes: pl.DataFrame) -> list[dict[str, Any]]:
    """Roll-up rows by lane and mode, the lane split back into origin and destination."""
    rows = []
    for r in lanes.filter(pl.col("lane").is_not_null()).to_dicts():
        origin, _, destination = str(r["lane"]).partition(LANE_SEPARATOR)
        rows.append(
            {
                "origin": origin,
                "destination": destination,
                "mode": r["mode"],
                "tce_count": int(r["tce_count"]),
                "transport_activity_tkm": r["transport_activity_tkm"],
                "co2e_wtw_kg": r["co2e_wtw_kg"],
            }
        )
    return rows


def _shares(frame: pl.DataFrame, key: str, total: float) -> list[dict[str, Any]]:
    return [
        {
            key: r[key],
            "tce_count": int(r["tce_count"]),
            "co2e_wtw_kg": r["co2e_wtw_kg"],
            "share": r["co2e_wtw_kg"] / total if total else 0.0,
        }
        for r in frame.sort("co2e_wtw_kg", key, descending=[True, False]).to_dicts()
    ]


def _factor_set_rows(fsets: pl.DataFrame, registry: Registry, total: float) -> list[dict[str, Any]]:
    meta = {r["set"]: r for r in registry.factor_sets.to_dicts()}
    rows = []
    for r in fsets.sort("co2e_wtw_kg", "factor_set", descending=[True, False]).to_dicts():
        m = meta.get(r["factor_set"], {})
        rows.append(
            {
                "factor_set": r["factor_set"],
                "version": m.get("version")
                or (
                    "supplied by the carrier or hub operator"
                    if r["factor_set"] == "operator"
                    else None
                ),
                "label": m.get("label")
                or (
                    "operator TOC / HOC intensities"
                    if r["factor_set"] == "operator"
                    else r["factor_set"]
                ),
                "publisher": m.get("publisher"),
                "publication": m.get("publication"),
                "url": m.get("url"),
                "publication_date": m.get("publication_date"),
                "licence": m.get("licence"),
                "tce_count": int(r["tce_count"]),
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "share": r["co2e_wtw_kg"] / total if total else 0.0,
            }
        )
    return rows


def _factor_rows(
    factors: pl.DataFrame, registry: Registry, scope: ReportScope, total: float
) -> list[dict[str, Any]]:
    f = registry.factors
    sources = dict(
        f.filter(pl.col("scope").is_in(["TTW", "WTW"]))
        .unique("factor_id", keep="first", maintain_order=True)
        .select(
            "factor_id",
            pl.concat_str(
                "source",
                pl.lit(", "),
                pl.col("table").fill_null(""),
                pl.lit(" "),
                pl.col("row_id").fill_null(""),
            ).str.strip_chars(" ,"),
        )
        .iter_rows()
    )
    rows = []
    ranked = factors.sort("co2e_wtw_kg", "factor_id", descending=[True, False])
    for r in ranked.head(TOP_FACTORS).to_dicts():
        fid = str(r["factor_id"])
        source = sources.get(fid) or scope.operators.get(fid)
        if source is None and fid.startswith(("toc:", "hoc:")):
            source = "intensity supplied by the carrier or hub operator"
        rows.append(
            {
                "factor_id": fid,
                "tce_count": int(r["tce_count"]),
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "share": r["co2e_wtw_kg"] / total if total else 0.0,
                "source": source or "see the factor id",
            }
        )
    rest = ranked.slice(TOP_FACTORS)
    if rest.height:
        kg = float(rest["co2e_wtw_kg"].sum())
        rows.append(
            {
                "factor_id": f"{rest.height} other factors",
                "tce_count": int(rest["tce_count"].sum()),
                "co2e_wtw_kg": kg,
                "share": kg / total if total else 0.0,
                "source": "see the JSON report or 'greenstream factors show'",
            }
        )
    return rows


def _gbt37099(totals: dict[str, Any], t: dict[str, Any]) -> list[dict[str, Any]]:
    tkm = totals["transport_activity_tkm"]
    values: dict[str, float | None] = {
        "co2e_per_tkm": totals["transport_co2e_wtw_kg"] / tkm if tkm else None,
        "co2e_per_shipment": totals["co2e_wtw_kg_per_shipment"],
        "hub_co2e_per_t": totals["hub_co2e_wtw_kg"] / totals["hub_activity_t"]
        if totals["hub_activity_t"]
        else None,
        "new_energy_tkm_share": float(t["e_tkm"] or 0.0) / tkm if tkm else None,
        "rail_water_tkm_share": float(t["rail_water_tkm"] or 0.0) / tkm if tkm else None,
        "primary_data_share": totals["primary_data_share"],
    }
    return [
        {**row, "value": values.get(row["indicator"])}
        for row in gbt37099_indicator_table().to_dicts()
    ]

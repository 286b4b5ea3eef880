"""Claim check: what a published reduction claim gives with greenstream's factors and its own
stated inputs, and the ratio of the claim to that figure, with every assumption listed.

A claim (``data/claims.csv``) names a method; its inputs (``data/claim_inputs.csv``) are rows
with a role: ``stated`` (in the claim), ``assumption`` (a labelled value with its reason) or
``factor`` (which factor row is used). The method builds the baseline and the actual activity
(chain elements or energy) and prices both with the accounting kernel; nothing here multiplies
an activity by a factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.accounting.kernel import ReferenceTables, compute, trip_emissions
from greenstream.errors import InputError, InputErrors
from greenstream.levers.reductions.initiatives import activity_factors

KG_PER_TONNE = 1000.0  # SI


@dataclass(frozen=True)
class ClaimResult:
    """One published claim next to greenstream's figure for it.

    ``claimed_value`` and ``computed_value`` are in ``unit`` (e.g. t CO2e); ``computed_value``
    is None when the claim's method cannot be computed from its stated inputs (``note`` says
    why).
    """

    claim_id: str
    company: str
    claim: str
    scenario: str
    claimed_value: float
    computed_value: float | None
    unit: str
    note: str

    @property
    def ratio(self) -> float | None:
        """Claimed over computed (above 1: the claim is larger than greenstream's figure).

        Examples
        --------
        >>> ClaimResult("c1", "Co", "claim", "scenario", 150.0, 100.0, "t CO2e", "").ratio
        1.5
        >>> ClaimResult("c1", "Co", "claim", "scenario", 150.0, None, "t CO2e", "n/a").ratio is None
        True
        """
        if self.computed_value in (None, 0.0):
            return None
        return self.claimed_value / float(self.computed_value or 1.0)

    def row(self) -> dict[str, Any]:
        """The result as one table row (values rounded to 3 decimals for display).

        Returns
        -------
        dict of str to Any
            ``claim_id``, ``scenario``, ``claimed``, ``computed`` (in ``unit``), ``unit``,
            ``claimed_over_computed`` (ratio) and ``note``.

        Examples
        --------
        >>> r = ClaimResult("c1", "Co", "claim", "scenario", 150.0, 100.0, "t CO2e", "")
        >>> r.row()["claimed_over_computed"]
        1.5
        """
        return {
            "claim_id": self.claim_id,
            "scenario": self.scenario,
            "claimed": self.claimed_value,
            "computed": None if self.computed_value is None else round(self.computed_value, 3),
            "unit": self.unit,
            "claimed_over_computed": None if self.ratio is None else round(self.ratio, 3),
            "note": self.note,
        }


def _data(name: str) -> pl.DataFrame:
    path = resources.files("greenstream.levers.reductions").joinpath(f"data/{name}")
    with resources.as_file(path) as p:
        return pl.read_csv(p, infer_schema=False)


@cache
def builtin_claims() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The industry claims shipped as examples and their inputs."""
    return _data("claims.csv"), _data("claim_inputs.csv")


def read_claims(claims: Path, inputs: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Claims and their inputs from files (CSV, JSON / NDJSON or Parquet), every cell as text.

    Parameters
    ----------
    claims : Path
        The claims table (``claim_id``, ``company``, ``claim``, ``method``, ``claimed_value``,
        ``unit``, ``source``, ...), as ``data/claims.csv``.
    inputs : Path
        The claims' inputs (``claim_id``, ``input``, ``value``, ``unit``, ``role``,
        ``source``), as ``data/claim_inputs.csv``.

    Returns
    -------
    tuple of DataFrame
        The claims and the inputs, unchecked (see :func:`check_claims`).
    """
    from greenstream.io.tables import read_raw

    return read_raw(claims).cast(pl.String), read_raw(inputs).cast(pl.String)


def check_claims(claims: pl.DataFrame, inputs: pl.DataFrame, *, file: str) -> None:
    """Every claim needs a source and a known method; every input a role, a value and a source.

    Parameters
    ----------
    claims : DataFrame
        The claims (text cells).
    inputs : DataFrame
        The claims' inputs (text cells).
    file : str
        Name of the source used in the error messages.

    Raises
    ------
    InputErrors
        Naming every bad row and field at once.

    Examples
    --------
    >>> claims, inputs = builtin_claims()
    >>> check_claims(claims, inputs, file="claims.csv")
    >>> check_claims(claims.with_columns(source=pl.lit("")), inputs, file="claims.csv")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...source...
    """
    errors: list[InputError] = []
    for i, r in enumerate(claims.iter_rows(named=True), start=1):
        if not (r.get("source") or "").strip():
            errors.append(InputError(file, i, "source", "a claim needs its source"))
        if r.get("method") not in METHODS:
            errors.append(
                InputError(
                    file, i, "method", f"unknown method '{r.get('method')}' ({', '.join(METHODS)})"
                )
            )
        try:
            float(r.get("claimed_value") or "")
        except ValueError:
            errors.append(InputError(file, i, "claimed_value", "not a number"))
    for i, r in enumerate(inputs.iter_rows(named=True), start=1):
        if r.get("role") not in ("stated", "assumption", "factor"):
            errors.append(InputError(f"{file} inputs", i, "role", "stated, assumption or factor"))
        if not (r.get("source") or "").strip():
            errors.append(InputError(f"{file} inputs", i, "source", "give a source or a reason"))
    InputErrors.raise_if_any(errors)


def energy_wtw_kg(records: list[dict[str, Any]], tables: ReferenceTables) -> list[float]:
    """WTW kg of energy / material records (carrier, amount, unit, grid_region, factor_id),
    each priced by the kernel's energy method.

    Parameters
    ----------
    records : list of dict
        One mapping per record: ``carrier``, ``amount`` (in ``unit``), ``unit`` (``l``,
        ``kg``, ``kWh``, ...), optionally ``grid_region`` (electricity) and ``factor_id`` (a
        material or activity factor).
    tables : ReferenceTables
        The factor registry used.

    Returns
    -------
    list of float
        WTW emissions of each record, kg CO2e, in the order given.

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (conversion of energy carrier data to GHG emissions).

    Examples
    --------
    >>> from greenstream.accounting.kernel import ReferenceTables
    >>> energy_wtw_kg([{"carrier": "diesel", "amount": 100.0, "unit": "l"}], ReferenceTables())
    [318.183]
    """
    factors = activity_factors(tables.registry).select(
        "factor_id", "ef_wtw_kg_per_unit", "ef_ttw_kg_per_unit"
    )
    frame = pl.DataFrame(
        [
            {
                "trip_id": str(i),
                "energy_carrier": r["carrier"],
                "energy_amount": float(r["amount"]),
                "energy_unit": r["unit"],
                "grid_region": r.get("grid_region"),
                "factor_id": r.get("factor_id"),
            }
            for i, r in enumerate(records)
        ],
        schema={
            "trip_id": pl.String,
            "energy_carrier": pl.String,
            "energy_amount": pl.Float64,
            "energy_unit": pl.String,
            "grid_region": pl.String,
            "factor_id": pl.String,
        },
    ).join(factors, on="factor_id", how="left", maintain_order="left")
    priced = trip_emissions(frame.lazy(), tables.registry).collect()
    return [float(v) for v in priced.sort(pl.col("trip_id").cast(pl.Int64))["trip_co2e_wtw_kg"]]


def legs_wtw_kg(legs: list[dict[str, Any]], tables: ReferenceTables) -> list[float]:
    """WTW kg of each single-leg shipment in ``legs`` (kernel chain elements).

    Parameters
    ----------
    legs : list of dict
        One chain element per shipment, in the kernel's leg columns (``mode``, ``vehicle``,
        ``mass_kg``, ``distance_km``, optionally ``load_factor``, ...).
    tables : ReferenceTables
        The factor registry used.

    Returns
    -------
    list of float
        WTW emissions of each leg, kg CO2e, in the order given.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity x emission intensity).

    Examples
    --------
    >>> from greenstream.accounting.kernel import ReferenceTables
    >>> leg = {"mode": "road", "vehicle": "road.hgv_all", "mass_kg": 10000.0, "distance_km": 100.0}
    >>> legs_wtw_kg([leg], ReferenceTables())
    [125.22]
    """
    frame = pl.DataFrame(
        [{"shipment_id": str(i), **leg} for i, leg in enumerate(legs)], infer_schema_length=None
    )
    result = compute(frame, tables)
    return result["co2e_wtw_kg"].to_list()


def payload_t(vehicle: str, tables: ReferenceTables) -> float:
    """The class's maximum payload (t) from the registry's load curve (DESNZ per-vkm over
    per-tkm at 100 % laden).

    Parameters
    ----------
    vehicle : str
        A road vehicle class of the registry (``road.hgv_all``, ...).
    tables : ReferenceTables
        The factor registry used.

    Returns
    -------
    float
        Maximum payload, t.

    Raises
    ------
    InputErrors
        When the class has no load curve.

    References
    ----------
    .. [1] DESNZ (2025), Greenhouse gas reporting: conversion factors 2025, freighting goods
       (per vehicle-km and per tonne-km at 100 % laden).

    Examples
    --------
    >>> from greenstream.accounting.kernel import ReferenceTables
    >>> round(payload_t("road.hgv_all", ReferenceTables()), 2)
    13.62
    """
    curves = tables.registry.load_curves().filter(pl.col("vehicle_class") == vehicle)
    if curves.height == 0:
        raise InputErrors.single("<claims>", f"no load curve for {vehicle}", field="vehicle")
    return float(curves["payload_max_t"][0])


def _vehicle_km_saving_kg(p: dict[str, str], km: float, tables: ReferenceTables) -> float:
    """Diesel class at a load factor over ``km`` minus electricity at ``kwh_per_km``."""
    vehicle = p["baseline_vehicle"]
    lf = float(p["baseline_load_factor"])
    diesel = legs_wtw_kg(
        [
            {
                "mass_kg": payload_t(vehicle, tables) * lf * KG_PER_TONNE,
                "mode": "road",
                "vehicle": vehicle,
                "load_factor": lf,
                "distance_km": km,
            }
        ],
        tables,
    )[0]
    electric = energy_wtw_kg(
        [
            {
                "carrier": "electricity",
                "amount": km * float(p["kwh_per_km"]),
                "unit": "kWh",
                "grid_region": p["grid_region"],
            }
        ],
        tables,
    )[0]
    return diesel - electric


Calculator = Callable[[dict[str, str], ReferenceTables], list[tuple[str, float, str]]]


def _reusable_boxes(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    cycles = float(p["cycles"])
    carton, box = energy_wtw_kg(
        [
            {
                "carrier": "board.primary",
                "amount": cycles * float(p["carton_mass_kg"]),
                "unit": "kg",
                "factor_id": p["carton_factor"],
            },
            {
                "carrier": "pp.primary",
                "amount": cycles * float(p["box_mass_kg"]) / float(p["box_life_cycles"]),
                "unit": "kg",
                "factor_id": p["box_factor"],
            },
        ],
        tables,
    )
    return [
        ("cartons avoided minus boxes' share of their material", (carton - box) / 1e3, "t CO2e")
    ]


def _vehicle_swap(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    km = (
        float(p["vehicle_km"])
        if "vehicle_km" in p
        else float(p["vehicles"]) * float(p["km_per_vehicle_year"])
    )
    saving = _vehicle_km_saving_kg(p, km, tables)
    return [("diesel light truck minus grid electricity", saving / 1e3, "t CO2e per year")]


def _hydrogen_truck(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    vehicle = p["baseline_vehicle"]
    lf = float(p["baseline_load_factor"])
    diesel = legs_wtw_kg(
        [
            {
                "mass_kg": payload_t(vehicle, tables) * lf * KG_PER_TONNE,
                "mode": "road",
                "vehicle": vehicle,
                "load_factor": lf,
                "distance_km": 100.0,
            }
        ],
        tables,
    )[0]
    ids = p["hydrogen_factors"].split(";")
    factors = activity_factors(tables.registry).filter(pl.col("factor_id").is_in(ids))
    carriers = dict(factors.select("factor_id", "energy_carrier").iter_rows())
    h2 = energy_wtw_kg(
        [
            {
                "carrier": carriers[f],
                "amount": float(p["hydrogen_kg_per_100km"]),
                "unit": "kg",
                "factor_id": f,
            }
            for f in ids
        ],
        tables,
    )
    return [
        (
            f"hydrogen {f} vs diesel {vehicle} at {lf:.0%} laden",
            100.0 * (1 - h / diesel),
            "% reduction",
        )
        for f, h in zip(ids, h2, strict=True)
    ]


def _fuel_saved(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    kg = energy_wtw_kg(
        [{"carrier": p["fuel"], "amount": float(p["diesel_l"]), "unit": "l"}], tables
    )[0]
    return [("diesel not burnt (WTW)", kg / 1e3, "t CO2e per year")]


def _modal_shift_ratio(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    leg = {"mass_kg": 1000.0, "distance_km": 1000.0}
    rail, road, broad = legs_wtw_kg(
        [
            {**leg, "mode": "rail", "vehicle": "rail.freight_train"},
            {**leg, "mode": "road", "vehicle": p["baseline_vehicle"]},
            {**leg, "mode": "road", "vehicle": p["alternative_baseline_vehicle"]},
        ],
        tables,
    )
    return [
        (f"rail vs {p['baseline_vehicle']}", 100.0 * (1 - rail / road), "% reduction"),
        (f"rail vs {p['alternative_baseline_vehicle']}", 100.0 * (1 - rail / broad), "% reduction"),
    ]


def _pv_generation(p: dict[str, str], tables: ReferenceTables) -> list[tuple[str, float, str]]:
    kwh = (
        float(p["generation_kwh"])
        if "generation_kwh" in p
        else float(p["capacity_kwp"]) * float(p["yield_kwh_per_kwp"])
    )
    grid = energy_wtw_kg(
        [{"carrier": "electricity", "amount": kwh, "unit": "kWh", "grid_region": p["grid_region"]}],
        tables,
    )[0]
    return [(f"grid electricity displaced ({p['grid_region']})", grid / 1e3, "t CO2e per year")]


def _packaging_reduction(
    p: dict[str, str], tables: ReferenceTables
) -> list[tuple[str, float, str]]:
    saved_kg = float(p["carton_mass_kg"]) * float(p["material_reduction_share"])
    kg = energy_wtw_kg(
        [
            {
                "carrier": "board.primary",
                "amount": saved_kg,
                "unit": "kg",
                "factor_id": p["carton_factor"],
            }
        ],
        tables,
    )[0]
    return [("carton material saved per parcel", kg, "kg CO2e per parcel")]


METHODS: dict[str, Calculator | None] = {
    "reusable_boxes": _reusable_boxes,
    "vehicle_swap": _vehicle_swap,
    "hydrogen_truck": _hydrogen_truck,
    "fuel_saved": _fuel_saved,
    "modal_shift_ratio": _modal_shift_ratio,
    "pv_generation": _pv_generation,
    "packaging_reduction": _packaging_reduction,
    "not_checkable": None,
}


def check_claims_against_factors(
    claims: pl.DataFrame | None = None,
    inputs: pl.DataFrame | None = None,
    *,
    tables: ReferenceTables | None = None,
    file: str = "<claims>",
) -> tuple[list[ClaimResult], pl.DataFrame]:
    """Every claim's figure with greenstream's factors, and the assumptions used (the input
    rows with role ``assumption`` or ``factor``).

    Parameters
    ----------
    claims : DataFrame, optional
        The claims; the built-in industry claims when None (with ``inputs``).
    inputs : DataFrame, optional
        The claims' inputs; the built-in ones when None (with ``claims``).
    tables : ReferenceTables, optional
        The factor registry used; the built-in one when None.
    file : str
        Name of the source used in the error messages.

    Returns
    -------
    tuple of (list of ClaimResult, DataFrame)
        One result per claim (claimed and computed values in the claim's unit), and the input
        rows that are assumptions or factor choices.

    Raises
    ------
    InputErrors
        When a claim or an input is incomplete (:func:`check_claims`).

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 and 5.4 (energy-based and activity-based emissions).

    Examples
    --------
    >>> results, assumptions = check_claims_against_factors()
    >>> results[0].claim_id, results[0].unit
    ('jd-reusable-boxes-2024', 't CO2e')
    """
    if claims is None or inputs is None:
        claims, inputs = builtin_claims()
    check_claims(claims, inputs, file=file)
    tables = tables or ReferenceTables()
    results: list[ClaimResult] = []
    for c in claims.iter_rows(named=True):
        mine = inputs.filter(pl.col("claim_id") == c["claim_id"])
        params = dict(mine.select("input", "value").iter_rows())
        calc = METHODS[c["method"]]
        claimed = float(c["claimed_value"])
        if calc is None:
            results.append(
                ClaimResult(
                    c["claim_id"],
                    c["company"],
                    c["claim"],
                    "not checkable",
                    claimed,
                    None,
                    c["claimed_unit"],
                    "; ".join(mine.filter(pl.col("input") == "reason")["source"].to_list())
                    or "no inputs published",
                )
            )
            continue
        try:
            scenarios = calc(params, tables)
        except KeyError as exc:
            raise InputErrors.single(
                f"{file} inputs", f"claim {c['claim_id']}: missing input {exc}", field="input"
            ) from exc
        for name, value, unit in scenarios:
            results.append(
                ClaimResult(c["claim_id"], c["company"], c["claim"], name, claimed, value, unit, "")
            )
    assumptions = inputs.filter(pl.col("role").is_in(["assumption", "factor"])).select(
        "claim_id", "input", "value", "unit", "role", "source"
    )
    return results, assumptions

"""Grid emission factors for Scope 2: the factor of a place and period, and hourly profiles.

**Location-based** (GHG Protocol Scope 2 Guidance 2015, 6.1): the grid-average factor of the
site's province for the reporting year, from the factor registry (MEE/NBS series). Where the
province has no value it is the province's regional grid (``grid_regions.csv``), then the
national value. Where the year has no value, the latest earlier year (Scope 2 Guidance 6.8:
use the most recent factor available), else the earliest later one; the row says which.

**Residual mix** (market-based, Scope 2 Guidance 6.2 and 6.11): China publishes no residual mix.
The proxy is the MEE/NBS national factor *excluding market-traded non-fossil electricity*
(registry region ``CN-EXCL-MARKET-NONFOSSIL``), labelled as a proxy in every result; with no such
value the location-based factor is used and labelled so (what the Guidance allows where no
residual mix exists, noting that it double counts renewables claimed by others).

**Hourly intensity** for carbon-aware dispatch: a user CSV ``hour_start, intensity_kg_per_kwh``
(no open hourly China data exists), else a flat profile at the annual factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry

RESIDUAL_PROXY_REGION: Final = "CN-EXCL-MARKET-NONFOSSIL"
NATIONAL: Final = "CN"


@dataclass(frozen=True)
class PeriodFactor:
    """A grid factor chosen for a region and year, with how it was chosen."""

    region: str
    year: int
    factor_kg_per_kwh: float
    factor_id: str
    factor_year: int
    resolved_via: str
    source: str
    gas_basis: str
    label: str  # "location-based" | "residual-mix proxy" | "location-based (no residual mix)"


def _region_map() -> dict[str, str]:
    path = resources.files("greenstream.factors").joinpath("data/grid_regions.csv")
    frame = pl.read_csv(path.read_bytes(), infer_schema=False)
    return dict(zip(frame["region"], frame["grid_region"], strict=True))


def grid_rows(registry: Registry) -> pl.DataFrame:
    """Every grid factor row in force: ``region, year, value, factor_id, source, gwp_basis,
    precedence``.

    Parameters
    ----------
    registry : Registry
        The factor registry.

    Returns
    -------
    polars.DataFrame
        Grid factors, ``value`` in kg CO2 per kWh.
    """
    prec = dict(zip(registry.factor_sets["set"], registry.factor_sets["precedence"], strict=True))
    return (
        registry.factors.filter((pl.col("category") == "grid") & (pl.col("scope") == "WTW"))
        .with_columns(
            pl.col("year").cast(pl.Int64),
            pl.col("factor_set")
            .replace_strict(prec, default=0, return_dtype=pl.Int64)
            .alias("precedence"),
        )
        .select("region", "year", "value", "factor_id", "source", "gwp_basis", "precedence")
    )


def _choose(rows: pl.DataFrame, region: str, year: int) -> pl.DataFrame:
    """The one row for ``region`` nearest to ``year``: same year, else latest earlier, else
    earliest later; among equals the strongest factor set."""
    own = rows.filter(pl.col("region") == region)
    if own.height == 0:
        return own
    return (
        own.with_columns(
            pl.when(pl.col("year") == year)
            .then(0)
            .when(pl.col("year") < year)
            .then(1)
            .otherwise(2)
            .alias("__rank"),
            (pl.col("year") - year).abs().alias("__gap"),
        )
        .sort(["__rank", "__gap", "precedence"], descending=[False, False, True])
        .head(1)
    )


def location_factor(registry: Registry, region: str, year: int) -> PeriodFactor:
    """Location-based factor of ``region`` (province ``CN-XX``, grid ``CN-GRID-...`` or ``CN``)
    for ``year``; raises :class:`InputErrors` if the registry has none on any path.

    Parameters
    ----------
    registry : Registry
        The factor registry.
    region : str
        Province (ISO 3166-2, ``CN-GD``), regional grid or ``CN``.
    year : int
        Reporting year.

    Returns
    -------
    PeriodFactor
        Factor (kg CO2 per kWh) with the year and region it was taken from.

    Raises
    ------
    InputErrors
        If no factor exists for the region, its grid or the nation.

    Examples
    --------
    Tibet has no own value: its regional grid's latest year is used, and the row says so.

    >>> from greenstream.factors import Registry
    >>> f = location_factor(Registry.builtin(), "CN-XZ", 2024)
    >>> f.factor_kg_per_kwh, f.factor_id
    (0.2268, 'mee-nbs:CN-GRID-SOUTHWEST:2022')

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (WRI / WBCSD, 2015), 6.1 (location-based), 6.2 and 6.11
       (market-based, residual mix), 6.8 (most recent factor).
    .. [2] MEE / NBS, 2021 and 2022 electricity CO2 emission factors (announcements of 2024).
    """
    rows = grid_rows(registry)
    chain = [region]
    via = _region_map().get(region)
    if via:
        chain.append(via)
    if region.startswith("CN") and NATIONAL not in chain:
        chain.append(NATIONAL)
    for step, candidate in enumerate(chain):
        pick = _choose(rows, candidate, year)
        if pick.height:
            r = pick.row(0, named=True)
            how = "own value" if step == 0 else f"{candidate} (no value for {region})"
            if r["year"] != year:
                how += f"; {r['year']} factor used for {year} (nearest published year)"
            return PeriodFactor(
                region=region,
                year=year,
                factor_kg_per_kwh=float(r["value"]),
                factor_id=str(r["factor_id"]),
                factor_year=int(r["year"]),
                resolved_via=how,
                source=str(r["source"]),
                gas_basis=str(r["gwp_basis"] or ""),
                label="location-based",
            )
    raise InputErrors.single(
        "<grid>",
        f"no grid factor for {region!r} (nor its regional grid or the national value) in "
        f"factor set {registry.version}",
        field="grid_region",
    )


def residual_factor(registry: Registry, region: str, year: int) -> PeriodFactor:
    """Residual-mix proxy for market-based Scope 2 (module docstring), labelled.

    Parameters
    ----------
    registry : Registry
        The factor registry.
    region : str
        Province, regional grid or ``CN``.
    year : int
        Reporting year.

    Returns
    -------
    PeriodFactor
        The proxy factor (kg CO2 per kWh), labelled as a proxy.

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (WRI / WBCSD, 2015), 6.1 (location-based), 6.2 and 6.11
       (market-based, residual mix), 6.8 (most recent factor).
    .. [2] MEE / NBS, 2021 and 2022 electricity CO2 emission factors (announcements of 2024).
    """
    rows = grid_rows(registry)
    pick = _choose(rows, RESIDUAL_PROXY_REGION, year) if region.startswith("CN") else rows.head(0)
    if pick.height:
        r = pick.row(0, named=True)
        how = "national factor excluding market-traded non-fossil electricity"
        if r["year"] != year:
            how += f"; {r['year']} value used for {year} (nearest published year)"
        return PeriodFactor(
            region=region,
            year=year,
            factor_kg_per_kwh=float(r["value"]),
            factor_id=str(r["factor_id"]),
            factor_year=int(r["year"]),
            resolved_via=how,
            source=str(r["source"]),
            gas_basis=str(r["gwp_basis"] or ""),
            label="residual-mix proxy (no residual mix published for China)",
        )
    loc = location_factor(registry, region, year)
    return PeriodFactor(
        **{
            **loc.__dict__,
            "label": "location-based factor used as residual mix (no residual mix published)",
        }
    )


def factor_table(registry: Registry, regions: list[str], years: list[int]) -> pl.DataFrame:
    """Location and residual factors for every (region, year): one small table to join on.

    Parameters
    ----------
    registry : Registry
        The factor registry.
    regions : list of str
        Grid regions of the sites.
    years : list of int
        Reporting years.

    Returns
    -------
    polars.DataFrame
        One row per (region, year): location and residual factors, kg CO2 per kWh.
    """
    out = []
    for region in sorted(set(regions)):
        for year in sorted(set(years)):
            loc = location_factor(registry, region, year)
            res = residual_factor(registry, region, year)
            out.append(
                {
                    "grid_region": region,
                    "year": year,
                    "location_factor_kg_per_kwh": loc.factor_kg_per_kwh,
                    "location_factor_id": loc.factor_id,
                    "location_factor_note": loc.resolved_via,
                    "residual_factor_kg_per_kwh": res.factor_kg_per_kwh,
                    "residual_factor_id": res.factor_id,
                    "residual_factor_note": f"{res.label}: {res.resolved_via}",
                    "gas_basis": loc.gas_basis,
                }
            )
    return pl.DataFrame(
        out,
        schema={
            "grid_region": pl.String,
            "year": pl.Int32,
            "location_factor_kg_per_kwh": pl.Float64,
            "location_factor_id": pl.String,
            "location_factor_note": pl.String,
            "residual_factor_kg_per_kwh": pl.Float64,
            "residual_factor_id": pl.String,
            "residual_factor_note": pl.String,
            "gas_basis": pl.String,
        },
    )


def read_hourly_intensity(path: Path, hours: pl.Series) -> pl.Series:
    """A user's hourly grid intensity (CSV/Parquet ``hour_start, intensity_kg_per_kwh``, local
    China time) aligned to ``hours``; every hour must be present and non-negative.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    hours : polars.Series
        The hours to align to (local China time).

    Returns
    -------
    polars.Series
        Grid intensity per hour, kg CO2e per kWh.

    Raises
    ------
    InputErrors
        For a missing hour, a negative value or an unreadable file.
    """
    name = str(path)
    try:
        raw = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(name, f"cannot read: {exc}") from None
    missing = [c for c in ("hour_start", "intensity_kg_per_kwh") if c not in raw.columns]
    if missing:
        raise InputErrors([InputError(name, None, c, "missing column") for c in missing])
    typed = raw.with_row_index("__row", offset=1).with_columns(
        pl.col("hour_start").cast(pl.String).str.to_datetime(strict=False, time_unit="us"),
        pl.col("intensity_kg_per_kwh").cast(pl.Float64, strict=False),
    )
    errors = [
        InputError(name, int(r), "hour_start", "missing or not a timestamp")
        for (r,) in typed.filter(pl.col("hour_start").is_null()).select("__row").iter_rows()
    ] + [
        InputError(name, int(r), "intensity_kg_per_kwh", "missing, not a number or negative")
        for (r,) in typed.filter(
            pl.col("intensity_kg_per_kwh").is_null() | (pl.col("intensity_kg_per_kwh") < 0)
        )
        .select("__row")
        .iter_rows()
    ]
    InputErrors.raise_if_any(errors)
    aligned = pl.DataFrame({"hour_start": hours}).join(
        typed.select("hour_start", "intensity_kg_per_kwh"), on="hour_start", how="left"
    )
    gaps = aligned["intensity_kg_per_kwh"].null_count()
    if gaps:
        raise InputErrors.single(name, f"{gaps} hours of the year have no intensity")
    return aligned["intensity_kg_per_kwh"]

"""The transport effect of smaller boxes: more parcels fit a volume-limited vehicle, so fewer
vehicle-km carry the same goods, priced by the kernel's modelled method.

For each scenario (for example the baseline suite and the chosen boxes) the parcels' mean outer
volume and gross mass give the parcels per vehicle::

    by volume  = cargo volume x stowage share / mean parcel volume
    by mass    = payload (registry load curve) / mean parcel mass
    per vehicle = min(by volume, by mass)        (volume-limited when by volume is smaller)
    load factor = per vehicle x mean parcel mass / payload

and one chain element of all the parcels' mass over the line-haul distance with that load factor
goes to the kernel (method *modelled*: the DESNZ load curve of the class, ISO 14083 / GLEC v3
modelled approach). Vehicle-km = parcels / per vehicle x distance. Nothing here multiplies an
activity by a factor: the kernel does.

References
----------
ISO 14083:2023, 5.4 (transport activity, modelled intensities); GLEC Framework v3 (load factor and
empty running in modelled emission intensities).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import polars as pl

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters


def vehicle_volumes() -> dict[str, dict[str, str]]:
    """Cargo volume (m3) per vehicle class with its source (``data/vehicle_volumes.csv``)."""
    text = resources.files("greenstream.levers.packaging") / "data" / "vehicle_volumes.csv"
    rows = list(csv.DictReader(text.read_text(encoding="utf-8").splitlines()))
    return {r["vehicle_class"]: r for r in rows}


@dataclass(frozen=True)
class Scenario:
    """Parcels of one scenario: how many, mean outer volume (m3) and gross mass (kg)."""

    name: str
    parcels: int
    mean_volume_m3: float
    mean_mass_kg: float


def parcels_per_vehicle(
    cargo_volume_m3: float, stowage_share: float, payload_t: float, scenario: Scenario
) -> tuple[float, bool]:
    """Parcels one vehicle carries, and whether volume (not mass) limits it.

    Parameters
    ----------
    cargo_volume_m3 : float
        Cargo volume of the vehicle, m3.
    stowage_share : float
        Usable share of that volume, fraction 0-1.
    payload_t : float
        Maximum payload, tonnes.
    scenario : Scenario
        Mean parcel volume (m3) and mass (kg).

    Returns
    -------
    tuple of (float, bool)
        Parcels per vehicle and whether volume limits it.

    Examples
    --------
    90 m3 x 0.8 / 0.05 m3 = 1,440 parcels by volume; 24 t / 5 kg = 4,800 by mass:

    >>> parcels_per_vehicle(90.0, 0.8, 24.0, Scenario("s", 1000, 0.05, 5.0))
    (1440.0, True)
    """
    by_volume = cargo_volume_m3 * stowage_share / scenario.mean_volume_m3
    by_mass = payload_t * 1000.0 / scenario.mean_mass_kg
    return min(by_volume, by_mass), by_volume < by_mass


def cube_effect(
    scenarios: list[Scenario],
    *,
    distance_km: float,
    vehicle: str = "road.hgv_artic_gt33t",
    params: Parameters | None = None,
    registry: Registry | None = None,
) -> pl.DataFrame:
    """Per scenario: parcels per vehicle, volume-limited or not, load factor, vehicle-km and the
    kernel's WTW CO2e of carrying all its parcels ``distance_km``.

    Parameters
    ----------
    scenarios : list of Scenario
        The parcel scenarios compared.
    distance_km : float
        Distance carried, km.
    vehicle : str, default "road.hgv_artic_gt33t"
        Registry vehicle class.
    params : Parameters, optional
        Packaging parameters; the packaged ones when None.
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    polars.DataFrame
        One row per scenario: parcels per vehicle, load factor (fraction), vehicle-km and WTW CO2e
        (kg).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (modelled intensities); GLEC Framework v3.0 (load factor).
    """
    p = params or builtin_parameters()
    reg = registry or Registry.builtin()
    volumes = vehicle_volumes()
    if vehicle not in volumes:
        raise InputErrors.single(
            "vehicle_volumes.csv", f"no cargo volume for {vehicle!r} (known: {', '.join(volumes)})"
        )
    curve = reg.load_curves().filter(pl.col("vehicle_class") == vehicle)
    if curve.height == 0 or curve.item(0, "payload_max_t") is None:
        raise InputErrors.single("<registry>", f"no load curve for {vehicle!r}", field="vehicle")
    payload = float(curve.item(0, "payload_max_t"))
    cargo = float(volumes[vehicle]["cargo_volume_m3"])
    stowage = p.number("parcel_stowage_share")
    rows: list[dict[str, Any]] = []
    for s in scenarios:
        per_vehicle, volume_limited = parcels_per_vehicle(cargo, stowage, payload, s)
        load_factor = per_vehicle * s.mean_mass_kg / (payload * 1000.0)
        rows.append(
            {
                "scenario": s.name,
                "parcels": s.parcels,
                "mean_parcel_volume_m3": s.mean_volume_m3,
                "mean_parcel_mass_kg": s.mean_mass_kg,
                "parcels_per_vehicle": per_vehicle,
                "volume_limited": volume_limited,
                "load_factor": load_factor,
                "vehicles": s.parcels / per_vehicle,
                "vehicle_km": s.parcels / per_vehicle * distance_km,
                "shipment_id": s.name,
                "mass_kg": s.parcels * s.mean_mass_kg,
            }
        )
    from greenstream.pipeline import footprint

    legs = pl.DataFrame(rows).select(
        "shipment_id",
        "mass_kg",
        pl.lit("road").alias("mode"),
        pl.lit(distance_km).alias("distance_km"),
        pl.lit(vehicle).alias("vehicle"),
        "load_factor",
        pl.lit(p.number("linehaul_empty_distance_factor")).alias("empty_distance_factor"),
    )
    priced = footprint(legs, registry=reg).legs.select(
        pl.col("shipment_id").alias("scenario"), "co2e_wtw_kg", "method", "factor_id"
    )
    table = pl.DataFrame(rows).drop("shipment_id", "mass_kg").join(priced, on="scenario")
    base = table.item(0, "co2e_wtw_kg")
    return table.with_columns(
        (pl.col("co2e_wtw_kg") - base).alias("co2e_wtw_kg_vs_first"),
        pl.lit(cargo).alias("cargo_volume_m3"),
        pl.lit(payload).alias("payload_t"),
    )


def scenario_of(name: str, packages: pl.DataFrame, outer_volume_m3: pl.Expr) -> Scenario:
    """A scenario from packages (``gross_mass_kg`` and an expression of their outer volume).

    Parameters
    ----------
    name : str
        Scenario name.
    packages : polars.DataFrame
        Packed parcels (``gross_mass_kg`` in kg).
    outer_volume_m3 : polars.Expr
        Outer volume of each package, m3.

    Returns
    -------
    Scenario
        Count, mean volume (m3) and mean mass (kg).
    """
    boxed = packages.filter(pl.col("box_type").is_not_null())
    vol = boxed.select(outer_volume_m3.mean()).item()
    mass = boxed.get_column("gross_mass_kg").mean()
    if boxed.height == 0 or vol is None or mass is None or not math.isfinite(float(vol)):
        raise InputErrors.single("<packages>", "no boxed packages to compare")
    return Scenario(name, boxed.height, float(vol), float(mass))  # type: ignore[arg-type]

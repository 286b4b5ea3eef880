"""Action catalogue: the CO2e each low-carbon choice avoids, against an explicit baseline.

Every saving is ``baseline - alternative`` for one unit of the action (a parcel or a carton):

- transport parts come from the accounting kernel (:func:`greenstream.pipeline.footprint`): the
  baseline and the alternative are each a small chain of transport elements (line haul, last mile,
  return of an empty box) and the kernel prices both; nothing here multiplies a distance by a factor;
- packaging material parts come from sourced material factors (``data/packaging_materials.csv``,
  DESNZ 2025 material use, kg CO2e per tonne of material) times the packaging mass. Packaging is
  outside the scope of ISO 14083 (the kernel), so it is a per-action factor with its own source;
- actions without either are a per-action factor in ``data/action_parameters.csv``.

Every parameter lives in ``data/action_parameters.csv`` with its source or the label
``assumption`` and a reason; the baseline text and the sources travel with each award.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path

import polars as pl

from greenstream.errors import InputError, InputErrors

DATA = Path(__file__).parent / "data"
MG_PER_KG = 1_000_000


@dataclass(frozen=True)
class Material:
    """A packaging material factor (``data/packaging_materials.csv``).

    Attributes
    ----------
    material_id : str
        Factor id (e.g. ``desnz-2025:material:board:primary``).
    label : str
        The source's name of the material.
    co2e_kg_per_t : float
        Cradle-to-gate emissions, kg CO2e per tonne of material.
    source : str
        Where the value comes from.
    row_id : str
        The row of the source table.

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", flat file, table
       'Material use' (kg CO2e per tonne of material).
    """

    material_id: str
    label: str
    co2e_kg_per_t: float
    source: str
    row_id: str


@dataclass(frozen=True)
class Parameter:
    """One catalogue parameter (``data/action_parameters.csv``).

    Attributes
    ----------
    value : str
        The value as written (a number in ``unit``, or text).
    unit : str
        Its unit (``kg``, ``km``, ``fraction``, ...).
    source : str
        Where the value comes from (empty for an assumption).
    assumption : bool
        True when the value is an assumption.
    reason : str
        Why the assumption was made.
    """

    value: str
    unit: str
    source: str
    assumption: bool
    reason: str


@dataclass(frozen=True)
class Action:
    """One catalogue entry with its saving per unit and how it was found."""

    action: str
    unit: str
    label: str
    baseline: str
    alternative: str
    method: str
    baseline_co2e_kg: float
    alternative_co2e_kg: float
    saving_per_unit_mg: int
    sources: str
    assumptions: str

    @property
    def saving_per_unit_kg(self) -> Decimal:
        """The saving per unit, kg CO2e (exact, from the mg integer)."""
        return Decimal(self.saving_per_unit_mg) / MG_PER_KG

    def as_row(self) -> dict[str, object]:
        """The action as a table row (for ``greenstream points catalogue``).

        Returns
        -------
        dict of str to object
            Action, unit, label, method, baseline and alternative CO2e (kg), saving per unit (kg CO2e,
            decimal string), sources and assumptions.
        """
        return {
            "action": self.action,
            "unit": self.unit,
            "label": self.label,
            "method": self.method,
            "baseline_co2e_kg": round(self.baseline_co2e_kg, 6),
            "alternative_co2e_kg": round(self.alternative_co2e_kg, 6),
            "saving_co2e_kg_per_unit": str(self.saving_per_unit_kg),
            "baseline": self.baseline,
            "alternative": self.alternative,
            "sources": self.sources,
            "assumptions": self.assumptions,
        }


@dataclass(frozen=True)
class Catalogue:
    """Every action's saving per unit, and a version that changes with any input file or override.

    Attributes
    ----------
    actions : dict of str to Action
        Action id -> its entry.
    version : str
        16 hex characters of SHA-256 over the data files and overrides.
    """

    actions: dict[str, Action]
    version: str

    def frame(self) -> pl.DataFrame:
        """One row per action: ``action``, ``saving_per_unit_mg``."""
        return pl.DataFrame(
            {
                "action": list(self.actions),
                "saving_per_unit_mg": [a.saving_per_unit_mg for a in self.actions.values()],
            },
            schema={"action": pl.String, "saving_per_unit_mg": pl.Int64},
        )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_materials(path: Path = DATA / "packaging_materials.csv") -> dict[str, Material]:
    """Packaging material factors by ``material_id``.

    Parameters
    ----------
    path : pathlib.Path, default ``data/packaging_materials.csv``
        The CSV (``material_id``, ``label``, ``value`` in kg CO2e per tonne, ``source``, ...).

    Returns
    -------
    dict of str to Material
        The factors.

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", flat file, table
       'Material use' (kg CO2e per tonne of material).
    """
    out: dict[str, Material] = {}
    for row in _read_csv(path):
        out[row["material_id"]] = Material(
            material_id=row["material_id"],
            label=row["label"],
            co2e_kg_per_t=float(row["value"]),
            source=row["source"],
            row_id=row["row_id"],
        )
    return out


def load_parameters(
    path: Path = DATA / "action_parameters.csv",
) -> dict[str, dict[str, Parameter]]:
    """Parameters per action; ``*`` rows are shared by every action (an action's own row wins).

    Parameters
    ----------
    path : pathlib.Path, default ``data/action_parameters.csv``
        The CSV (``action``, ``parameter``, ``value``, ``unit``, ``source``, ``assumption``,
        ``reason``).

    Returns
    -------
    dict of str to dict of str to Parameter
        Action -> parameter name -> parameter.

    Raises
    ------
    InputErrors
        For a row with neither source nor ``assumption=true``, or an assumption without a reason.
    """
    table: dict[str, dict[str, Parameter]] = {}
    errors: list[InputError] = []
    for i, row in enumerate(_read_csv(path), start=1):
        assumption = row["assumption"].strip().lower() == "true"
        if not assumption and not row["source"].strip():
            errors.append(
                InputError(str(path), i, "source", "a parameter needs a source or assumption=true")
            )
        if assumption and not row["reason"].strip():
            errors.append(InputError(str(path), i, "reason", "an assumption needs a reason"))
        table.setdefault(row["action"], {})[row["parameter"]] = Parameter(
            value=row["value"],
            unit=row["unit"],
            source=row["source"],
            assumption=assumption,
            reason=row["reason"],
        )
    InputErrors.raise_if_any(errors)
    return table


def material_co2e_kg(mass_kg: float, material: Material) -> float:
    """Cradle-to-gate CO2e of ``mass_kg`` of a packaging material (kg CO2e).

    ``material.co2e_kg_per_t`` is per tonne of material (DESNZ material use tables).

    Parameters
    ----------
    mass_kg : float
        Mass of material, kg.
    material : Material
        Its factor.

    Returns
    -------
    float
        kg CO2e.

    Examples
    --------
    A 0.3 kg carton of primary board at 1,199.72542 kg CO2e/t: 0.0003 t x 1,199.72542 =
    0.3599 kg CO2e.

    >>> board = load_materials()["desnz-2025:material:board:primary"]
    >>> round(material_co2e_kg(0.3, board), 4)
    0.3599

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", flat file, table
       'Material use' (kg CO2e per tonne of material).
    """
    return mass_kg / 1000.0 * material.co2e_kg_per_t


def chain_co2e_wtw_kg(chains: dict[str, list[tuple[float, float, str]]]) -> dict[str, float]:
    """WTW kg CO2e of named chains of road legs, priced by the accounting kernel in one call.

    Parameters
    ----------
    chains : dict of str to list of tuple of (float, float, str)
        Chain name -> its legs as ``(mass_kg, distance_km, vehicle)``: mass in kg, distance in km,
        a registry vehicle class.

    Returns
    -------
    dict of str to float
        Chain name -> WTW emissions, kg CO2e.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity x emission intensity), through
       :func:`greenstream.pipeline.footprint`.
    """
    rows = [
        {
            "shipment_id": name,
            "mass_kg": mass_kg,
            "mode": "road",
            "distance_km": distance_km,
            "vehicle": vehicle,
        }
        for name, legs in chains.items()
        for mass_kg, distance_km, vehicle in legs
    ]
    if not rows:
        return {}
    from greenstream.pipeline import footprint

    shipments = footprint(pl.DataFrame(rows)).shipments
    totals = dict(
        zip(
            shipments.get_column("shipment_id").to_list(),
            shipments.get_column("co2e_wtw_kg").to_list(),
            strict=True,
        )
    )
    return {name: float(totals.get(name, 0.0)) for name in chains}


class _Params:
    """Typed access to one action's parameters that remembers which ones were used."""

    def __init__(self, action: str, table: dict[str, dict[str, Parameter]]) -> None:
        self.action = action
        self.table = table
        self.used: dict[str, Parameter] = {}

    def get(self, name: str) -> Parameter:
        own = self.table.get(self.action, {})
        shared = self.table.get("*", {})
        param = own.get(name) or shared.get(name)
        if param is None:
            raise InputErrors.single(
                "action_parameters.csv", f"action {self.action!r} needs parameter {name!r}"
            )
        self.used[name] = param
        return param

    def number(self, name: str) -> float:
        return float(self.get(name).value)

    def text(self, name: str) -> str:
        return self.get(name).value

    def provenance(self) -> tuple[str, str]:
        sources = sorted({p.source for p in self.used.values() if p.source})
        assumptions = [
            f"{k}={p.value}{' ' + p.unit if p.unit else ''}"
            for k, p in sorted(self.used.items())
            if p.assumption
        ]
        return "; ".join(sources), "; ".join(assumptions)


def _to_mg(saving_kg: float) -> int:
    return int(
        (Decimal(repr(saving_kg)) * MG_PER_KG).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )


def numeric_parameters(
    path: Path = DATA / "action_parameters.csv",
) -> dict[str, set[str]]:
    """Per action (``*`` = every action), the parameters a tenant may override: the numeric ones.

    Parameters
    ----------
    path : pathlib.Path, default ``data/action_parameters.csv``
        The parameter CSV.

    Returns
    -------
    dict of str to set of str
        Action -> names of its numeric parameters.
    """
    out: dict[str, set[str]] = {}
    for action, params in load_parameters(path).items():
        for name, param in params.items():
            try:
                float(param.value)
            except ValueError:
                continue
            out.setdefault(action, set()).add(name)
    return out


def build_catalogue(
    actions_path: Path = DATA / "actions.csv",
    parameters_path: Path = DATA / "action_parameters.csv",
    materials_path: Path = DATA / "packaging_materials.csv",
    overrides: tuple[tuple[str, str, Parameter], ...] = (),
) -> Catalogue:
    """Compute every action's saving per unit.

    The kernel prices transport, material factors price packaging. Deterministic: the same files
    and ``overrides`` (``(action, parameter, value)`` from a tenant's rules) give the same savings
    and the same version.

    Parameters
    ----------
    actions_path : pathlib.Path, default ``data/actions.csv``
        The actions: baseline and alternative of each.
    parameters_path : pathlib.Path, default ``data/action_parameters.csv``
        Their parameters, each sourced or labelled an assumption.
    materials_path : pathlib.Path, default ``data/packaging_materials.csv``
        Packaging material factors (kg CO2e per tonne).
    overrides : tuple of (str, str, Parameter), optional
        A tenant's parameter values.

    Returns
    -------
    Catalogue
        Savings per unit (mg CO2e, integers) and the catalogue version.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport parts, priced by the accounting kernel).
    .. [2] UK DESNZ, GHG conversion factors 2025, 'Material use' (packaging parts).
    """
    materials = load_materials(materials_path)
    table = load_parameters(parameters_path)
    for action, name, param in overrides:
        packaged = table.get(action, {}).get(name) or table.get("*", {}).get(name)
        unit = packaged.unit if packaged is not None else param.unit
        table.setdefault(action, {})[name] = Parameter(
            param.value, unit, param.source, param.assumption, param.reason
        )
    specs = _read_csv(actions_path)

    params = {spec["action"]: _Params(spec["action"], table) for spec in specs}
    chains: dict[str, list[tuple[float, float, str]]] = {}
    material_parts: dict[str, tuple[float, float]] = {}
    factor_parts: dict[str, float] = {}

    for spec in specs:
        name, p = spec["action"], params[spec["action"]]
        if spec["action"] in ("reusable_box", "original_packaging", "consolidated_delivery"):
            goods = p.number("goods_mass_kg")
            carton = p.number("carton_mass_kg")
            haul = (p.number("linehaul_distance_km"), p.text("linehaul_vehicle"))
            home = (p.number("home_delivery_distance_km"), p.text("lastmile_vehicle"))
            carton_material = materials[p.text("carton_material")]
            base_material = material_co2e_kg(carton, carton_material)
            chains[f"{name}:baseline"] = [(goods + carton, *haul), (goods + carton, *home)]
            if name == "reusable_box":
                box = p.number("box_mass_kg")
                box_share = material_co2e_kg(box, materials[p.text("box_material")]) / p.number(
                    "box_use_cycles"
                )
                back = (p.number("box_return_distance_km"), p.text("lastmile_vehicle"))
                chains[f"{name}:alternative"] = [(goods + box, *haul), (goods + box, *home)]
                chains[f"{name}:alternative"].append((box, *back))
                material_parts[name] = (base_material, box_share)
            else:
                chains[f"{name}:alternative"] = [(goods, *haul), (goods, *home)]
                material_parts[name] = (base_material, 0.0)
        elif name == "pickup_station":
            mass = p.number("goods_mass_kg") + p.number("carton_mass_kg")
            van = p.text("lastmile_vehicle")
            chains[f"{name}:baseline"] = [(mass, p.number("home_delivery_distance_km"), van)]
            chains[f"{name}:alternative"] = [(mass, p.number("station_delivery_distance_km"), van)]
        elif name == "carton_return":
            carton = p.number("carton_mass_kg")
            primary = material_co2e_kg(carton, materials[p.text("carton_material")])
            recycled = material_co2e_kg(carton, materials[p.text("recycled_material")])
            reuse = p.number("reuse_share")
            # Reused share displaces a new carton entirely; the recycled share displaces primary
            # board by closed-loop board.
            material_parts[name] = (primary, (1.0 - reuse) * recycled)
        elif spec["method"] == "factor":
            factor_parts[name] = p.number("co2e_saving_kg")
        else:
            raise InputErrors.single(str(actions_path), f"no saving model for action {name!r}")

    priced = chain_co2e_wtw_kg(chains)
    actions: dict[str, Action] = {}
    for spec in specs:
        name, p = spec["action"], params[spec["action"]]
        base = priced.get(f"{name}:baseline", 0.0)
        alt = priced.get(f"{name}:alternative", 0.0)
        mat_base, mat_alt = material_parts.get(name, (0.0, 0.0))
        base += mat_base
        alt += mat_alt
        if name in factor_parts:
            base, alt = factor_parts[name], 0.0
        sources, assumptions = p.provenance()
        if name in material_parts:
            used = {prm.value for prm in p.used.values() if prm.value in materials}
            sources = "; ".join(
                [
                    sources,
                    *(f"{materials[m].source} row {materials[m].row_id}" for m in sorted(used)),
                ]
            )
        if f"{name}:baseline" in chains:
            sources += "; transport priced by the greenstream accounting kernel (WTW)"
        actions[name] = Action(
            action=name,
            unit=spec["unit"],
            label=spec["label"],
            baseline=spec["baseline"],
            alternative=spec["alternative"],
            method=spec["method"],
            baseline_co2e_kg=base,
            alternative_co2e_kg=alt,
            saving_per_unit_mg=_to_mg(base - alt),
            sources=sources.strip("; "),
            assumptions=assumptions,
        )
    digest = hashlib.sha256()
    for path in (actions_path, parameters_path, materials_path):
        digest.update(path.read_bytes())
    for action, name, param in overrides:
        digest.update(repr((action, name, param)).encode())
    return Catalogue(actions=actions, version=digest.hexdigest()[:16])


@cache
def builtin_catalogue() -> Catalogue:
    """The packaged catalogue (computed once per process)."""
    return build_catalogue()


@cache
def tenant_catalogue(overrides: tuple[tuple[str, str, Parameter], ...]) -> Catalogue:
    """The packaged catalogue with a tenant's parameter overrides (cached per override set).

    Parameters
    ----------
    overrides : tuple of (str, str, Parameter)
        ``(action, parameter, value)`` from the tenant's rules; the packaged catalogue when empty.

    Returns
    -------
    Catalogue
        The catalogue.
    """
    return build_catalogue(overrides=overrides) if overrides else builtin_catalogue()

"""Site files: a logistics site's location, grid, hub type, equipment, PV, batteries and tariff.

A site file is YAML or JSON holding one site (a mapping) or several (``sites: [...]``). It is
validated with Pydantic; every problem is reported at once as an
:class:`~greenstream.errors.InputError` whose ``field`` is the dotted path of the bad value
(``sites[0].pv_arrays[1].tilt_deg``), with the reason.

Example::

    site_id: XIAN-PARK
    name: Xi'an logistics park
    province: CN-SN
    latitude: 34.26
    longitude: 108.94
    area_m2: 250000
    hub_type: StorageAndTransshipment
    temperature_control: mixed
    equipment_groups:
      - {group_id: cold-rooms, kind: refrigeration, serves: refrigerated}
      - {group_id: packing, kind: packing_line}
    pv_arrays:
      - {array_id: roof-a, kwp: 5000, tilt_deg: 20, azimuth_deg: 180, losses_pct: 14}
    batteries:
      - {battery_id: bess-1, energy_kwh: 4000, power_kw: 1000, round_trip_efficiency: 0.88}
    tariff: {province: CN-SN}
    meters:
      - {meter_id: M-GRID, kind: grid_import}
      - {meter_id: M-PV, kind: pv_generation, array_id: roof-a}
      - {meter_id: M-COLD, kind: submeter, group_id: cold-rooms}

Azimuth follows pvlib: degrees clockwise from north (180 = facing south).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greenstream.errors import InputError, InputErrors
from greenstream.io.text import read_utf8

HUB_TYPES: Final = (
    "Transshipment",
    "StorageAndTransshipment",
    "Warehouse",
    "LiquidBulkTerminal",
    "MaritimeContainerTerminal",
)
METER_KINDS: Final = (
    "grid_import",
    "grid_export",
    "pv_generation",
    "battery_charge",
    "battery_discharge",
    "consumption",
    "submeter",
)
EQUIPMENT_KINDS: Final = (
    "packing_line",
    "sorter",
    "agv",
    "lighting",
    "refrigeration",
    "hvac",
    "conveyor",
    "charging",
    "office",
    "other",
)
SERVES: Final = ("shared", "ambient", "refrigerated")

HubType = Literal[
    "Transshipment",
    "StorageAndTransshipment",
    "Warehouse",
    "LiquidBulkTerminal",
    "MaritimeContainerTerminal",
]
MeterKind = Literal[
    "grid_import",
    "grid_export",
    "pv_generation",
    "battery_charge",
    "battery_discharge",
    "consumption",
    "submeter",
]
EquipmentKind = Literal[
    "packing_line",
    "sorter",
    "agv",
    "lighting",
    "refrigeration",
    "hvac",
    "conveyor",
    "charging",
    "office",
    "other",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EquipmentGroup(_Strict):
    """A group of equipment on its own sub-meter (packing lines, sorters, AGVs, lighting...)."""

    group_id: str = Field(min_length=1)
    kind: EquipmentKind
    serves: Literal["shared", "ambient", "refrigerated"] = "shared"
    description: str | None = None


class PVArray(_Strict):
    """A fixed PV array. ``losses_pct`` are the PVWatts system losses (soiling, wiring, ...)."""

    array_id: str = Field(min_length=1)
    kwp: float = Field(gt=0)
    tilt_deg: float = Field(ge=0, le=90)
    azimuth_deg: float = Field(ge=0, lt=360)
    losses_pct: float | None = Field(default=None, ge=0, lt=100)
    dc_ac_ratio: float | None = Field(default=None, gt=0.5, le=3)
    module_type: Literal["standard", "premium", "thin_film"] = "standard"


class Battery(_Strict):
    """A stationary battery. Energy limits are ``energy_kwh x depth_of_discharge``."""

    battery_id: str = Field(min_length=1)
    energy_kwh: float = Field(gt=0)
    power_kw: float = Field(gt=0)
    round_trip_efficiency: float = Field(gt=0, le=1)
    depth_of_discharge: float = Field(default=1.0, gt=0, le=1)
    degradation_cost_cny_per_kwh: float = Field(default=0.0, ge=0)
    initial_soc: float = Field(default=0.5, ge=0, le=1)


class TariffChoice(_Strict):
    """Which tariff: a packaged province (``CN-GD``...) or a file, a user class, a flat price."""

    province: str | None = None
    file: str | None = None
    user_class: str | None = None
    flat_price_cny_per_kwh: float | None = Field(default=None, gt=0)
    feed_in_price_cny_per_kwh: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> TariffChoice:
        if self.province is None and self.file is None:
            raise ValueError("give tariff.province or tariff.file")
        return self


class Meter(_Strict):
    """A meter of the site and what it measures."""

    meter_id: str = Field(min_length=1)
    kind: MeterKind
    group_id: str | None = None
    array_id: str | None = None


class Throughput(_Strict):
    """Tonnes handled (leaving the hub, the ISO 14083 hub activity) and parcels in a period."""

    tonnes_ambient: float = Field(default=0.0, ge=0)
    tonnes_refrigerated: float = Field(default=0.0, ge=0)
    parcels: float = Field(default=0.0, ge=0)


class Site(_Strict):
    """One logistics site (warehouse, sorting centre, park)."""

    site_id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    province: str = Field(pattern=r"^CN-[A-Z]{2}$")
    grid_region: str | None = None
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude_m: float | None = None
    area_m2: float | None = Field(default=None, gt=0)
    hub_type: HubType = "Warehouse"
    temperature_control: Literal["ambient", "refrigerated", "mixed"] = "ambient"
    equipment_groups: tuple[EquipmentGroup, ...] = ()
    pv_arrays: tuple[PVArray, ...] = ()
    batteries: tuple[Battery, ...] = ()
    tariff: TariffChoice | None = None
    export_limit_kw: float | None = Field(default=None, ge=0)
    meters: tuple[Meter, ...] = ()
    annual_throughput: Throughput | None = None

    @model_validator(mode="after")
    def _references(self) -> Site:
        groups = [g.group_id for g in self.equipment_groups]
        arrays = [a.array_id for a in self.pv_arrays]
        meters = [m.meter_id for m in self.meters]
        problems: list[str] = []
        for label, where, ids in (
            ("group_id", "equipment_groups", groups),
            ("array_id", "pv_arrays", arrays),
            ("meter_id", "meters", meters),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"{where}: duplicate {label} {', '.join(dupes)}")
        for i, m in enumerate(self.meters):
            if m.kind == "submeter" and m.group_id not in groups:
                problems.append(
                    f"meters[{i}].group_id: a submeter needs the group_id of one of the "
                    f"equipment_groups ({', '.join(groups) or 'none defined'})"
                )
            if m.array_id is not None and m.array_id not in arrays:
                problems.append(f"meters[{i}].array_id: unknown array_id {m.array_id!r}")
        if self.batteries and self.tariff is None:
            problems.append("tariff: a site with batteries needs a tariff (dispatch prices energy)")
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    @property
    def pv_kwp(self) -> float:
        """Installed PV of the site, kWp (sum over its arrays)."""
        return sum(a.kwp for a in self.pv_arrays)

    def grid_region_code(self) -> str:
        """The grid region to take location-based factors from: explicit, else the province
        (the registry resolves a province without its own factor to its regional grid)."""
        return self.grid_region or self.province


def _path_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _errors_of(exc: ValidationError, file: str, prefix: str) -> list[InputError]:
    found = []
    for e in exc.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = _path_text(loc)
        field = f"{prefix}.{path}" if prefix and path else (prefix or path or None)
        msg = str(e["msg"]).removeprefix("Value error, ")
        if not path and e["type"] == "value_error":
            # a model-level check: "<field path>: reason | <field path>: reason"
            for part in msg.split(" | "):
                where, _, reason = part.partition(": ")
                full = f"{prefix}.{where}" if prefix else where
                found.append(InputError(file, None, full, reason))
            continue
        found.append(InputError(file, None, field, msg))
    return found


def parse_sites(doc: Any, file: str) -> list[Site]:
    """Sites from a parsed document: one site mapping or ``{"sites": [...]}``.

    Parameters
    ----------
    doc : Any
        The parsed YAML / JSON document.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    list of Site
        The sites.

    Raises
    ------
    InputErrors
        Every problem of the document.
    """
    if isinstance(doc, dict) and "sites" in doc:
        raw = doc["sites"]
        if not isinstance(raw, list) or not raw:
            raise InputErrors.single(file, "sites must be a non-empty list", field="sites")
        items = [(f"sites[{i}]", s) for i, s in enumerate(raw)]
    elif isinstance(doc, dict):
        items = [("", doc)]
    else:
        raise InputErrors.single(file, "a site file holds a mapping (one site) or {sites: [...]}")
    sites: list[Site] = []
    errors: list[InputError] = []
    for prefix, raw_site in items:
        try:
            sites.append(Site.model_validate(raw_site))
        except ValidationError as exc:
            errors += _errors_of(exc, file, prefix)
    ids = [s.site_id for s in sites]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        errors.append(InputError(file, None, "site_id", f"duplicate site_id {dup!r}"))
    InputErrors.raise_if_any(errors)
    return sites


def load_sites(path: Path) -> list[Site]:
    """Read and validate a YAML or JSON site file (JSON is YAML, so one parser reads both).

    Parameters
    ----------
    path : pathlib.Path
        The site file.

    Returns
    -------
    list of Site
        The sites.

    Raises
    ------
    InputErrors
        If the file cannot be read or parsed, or a site is invalid.
    """
    import yaml

    text = read_utf8(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputErrors.single(str(path), f"not valid YAML or JSON: {exc}") from None
    return parse_sites(doc, str(path))


def dump_sites(sites: list[Site]) -> dict[str, Any]:
    """The site-file document of ``sites`` (round-trips through :func:`parse_sites`).

    Parameters
    ----------
    sites : list of Site
        The sites.

    Returns
    -------
    dict of str to Any
        ``{"sites": [...]}``.
    """
    return {"sites": [s.model_dump(mode="json", exclude_none=True) for s in sites]}

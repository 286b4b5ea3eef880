"""iLEAP v1.0.0 JSON (ShipmentFootprint, TOC, HOC; optionally wrapped in PACT v2) <-> greenstream tables.

Spec: sine-fdn/ileap-extension ``specs/index.bs`` (iLEAP Technical Specifications v1.0.0), JSON
schemas: sine-fdn/impact-protocols ``ileap-data-model/schemas/*.json``. The behaviour below was
written from those texts; no code was copied.

Reading
-------
:func:`read_ileap_shipments`, :func:`read_ileap_tocs` and :func:`read_ileap_hocs` take a path, JSON
text (``str`` starting with ``{`` or ``[``, or ``bytes``) or an already parsed JSON value, holding any
mix of: a bare ShipmentFootprint / TOC / HOC object, a list of them, a PACT list response
``{"data": [...]}``, or PACT ProductFootprints whose ``extensions[].dataSchema`` ends in
``shipment-footprint.json`` / ``toc.json`` / ``hoc.json`` (other extensions and non-iLEAP
footprints are skipped). JSON is parsed with ``parse_float=Decimal``, so nothing is rounded on the
way in.

Every problem is collected and raised together as one :class:`~greenstream.errors.InputErrors`:
``file`` is the path (or ``"<json>"``), ``row`` the 1-based position of the ShipmentFootprint / TOC
/ HOC among the objects *of that kind* in the input, ``field`` a JSON path relative to that object
(array indices 0-based, as in JSONPath: ``tces[2].mass``), and the reason starts with the kind and
id of the object. A reader validates only the kind(s) it returns (plus the document structure).

Decisions (reading)
~~~~~~~~~~~~~~~~~~~
* **Decimals:** a JSON string must match ``^-?[0-9]+(\\.[0-9]+)?$`` (no exponent, no comma, no
  blanks), always. JSON *numbers* where the spec wants a Decimal string are **tolerated by default**
  (they are parsed exactly, as :class:`~decimal.Decimal`, so no precision is lost) and are errors
  with ``strict=True`` (for conformance checks). Booleans are never numbers. ``null`` in an
  optional field is read as absent (the SINE schemas allow it; writers never emit it).
* **Distance:** ``actual`` if given, else ``gcd``, else ``sfd``: the precedence of the SINE reference
  code (``ileap-data-model/src/lib.rs``, ``GlecDistance::get_distance``); the chosen key is in
  ``distance_basis``.
* **Chain order:** TCEs are sorted topologically by ``prevTceIds`` (Kahn's algorithm, ties broken by
  file order, so an already ordered file is unchanged); unknown ids and cycles are errors.
* **origin / destination:** ``"lat,lon"`` when the Location has both; else its IATA code, else its
  UN/LOCODE, else the city name. (Codes before the city because ``city`` is mandatory in a Location,
  so a city-first rule would never use the codes, and a city name is ambiguous for the gazetteer.)
* **data_type:** always ``"secondary"``. iLEAP TOCs / HOCs carry no primary/secondary flag, and
  ``certifications`` state that the *methodology* was certified (ISO 14083 / GLEC), not that the
  energy was measured. This is the conservative reading of docs/decisions/0001 (missing means
  secondary); a user who knows better overrides the column.
* **Units:** TOC intensities per ``tkm`` go to ``intensity_*_kg_per_tkm``; per ``TEUkm`` (sea / IWW)
  to ``intensity_*_kg_per_teukm`` with the per-tkm columns left null: greenstream computes in tonnes,
  and a per-TEU value in a per-tonne column would silently be wrong. HOCs likewise (``tonnes`` ->
  ``*_kg_per_t``, ``TEU`` -> ``*_kg_per_teu``).
* **Open enumerations** (the spec says they will grow): ``energyCarrier``, ``energyConsumptionUnit``,
  ``feedstock`` and ``certifications`` accept any non-empty string. Closed ones are checked:
  ``mode``, ``hubType``, ``transportActivityUnit``, ``hubActivityUnit``, ``temperatureControl``,
  ``truckLoadingSequence``, ``airShippingOption``, ``flightLength``.
* ``relativeShare`` values of a TOC / HOC must add up to 1 within 0.001 (so three shares of "0.333"
  pass; the spec says "MUST equal 1").
* Timestamps without a zone are read as UTC (the spec requires UTC anyway).

Writing
-------
:func:`write_ileap_shipments` turns kernel output (docs/data-contract.md OUTPUT) into one
ShipmentFootprint per shipment (first-appearance order; TCEs in row order, ``prevTceIds`` = the
previous TCE of the shipment, ``[]`` for the first). :func:`write_ileap_tocs` /
:func:`write_ileap_hocs` write TOC / HOC tables. Writers return the JSON values and, given a path,
write them atomically (temporary file + rename). Optional fields are omitted, never ``null``.

Decisions (writing)
~~~~~~~~~~~~~~~~~~~
* **Decimal strings:** a float is first taken at its shortest round-trip decimal form
  (``repr``), then rounded half-to-even (what ``rust_decimal``'s ``round_dp`` does in the SINE
  reference code), then written in plain notation with trailing zeros removed: ``"16920"``,
  ``"1962.72"``, ``"0.00001"``, never ``"1e-05"`` or ``"16920.0"``.
* **Rounding:** kg CO2e to 2 decimals (``co2e_decimals``, the SINE reference code's
  ``round_dp(2)``), mass (kg), distance (km) and transport activity (tkm) to 3 decimals (1 g,
  1 m, 1 kg-km), intensities and emission factors to 9 decimals (only float noise is removed).
* **Shipment mass** = the largest TCE mass of the shipment.
* **tocId / hocId:** exactly one. A hub row (``hoc_id`` or ``hub_type`` present) gets ``hocId``,
  otherwise ``tocId``; the row's own ``hoc_id`` / ``toc_id`` when present, else
  ``"greenstream:" + factor_id`` (the registry factor the kernel used).
* **Distance:** hub rows ``{"actual": "0"}`` (as the SINE demo data). Transport rows write the
  *unadjusted* distance under ``distance_basis``: ``distance_km`` when the row has it; for a GCD the
  kernel computed from origin / destination, the distance adjustment factor recorded in
  ``distance_adjustment`` is undone; otherwise ``distance_used_km``. Reading the file back and
  re-running the kernel therefore applies the DAF once, not twice. (``transportActivity`` keeps the
  adjusted tkm, so for air it is mass x (GCD + 95 km).)
* origin / destination are not written: an iLEAP Location needs ``city`` and ``country``, which a
  greenstream place string does not carry. ``departure_at`` becomes ``departureAt`` (UTC, ``Z``).
* **energyCarriers** (mandatory, non-empty): the row's ``energy_carriers_json`` when present.
  Otherwise the minimal form ``[{"energyCarrier": C, "relativeShare": "1", "emissionFactorWTW": <the
  WTW intensity>, "emissionFactorTTW": <the TTW intensity>}]``: one carrier carrying the whole
  intensity (``energyConsumption`` and its unit omitted, so Σ share x factor reproduces the
  intensity). C is the row's ``energy_carrier`` column when present (mapped to the iLEAP
  spelling), else ``Electric`` when the TTW intensity is 0 and WTW > 0, else by mode: road, rail and
  inland waterway ``Diesel``, sea ``HFO``, air ``Aviation fuel``; hubs ``Diesel``. This is a labelled
  assumption, not data; give ``energy_carriers_json`` to publish the real mix.

:func:`shipment_to_pact_product_footprint` wraps a ShipmentFootprint as a PACT v2 ProductFootprint
per iLEAP §"PACT Integration" (see its docstring for the fields it fills).
"""

from __future__ import annotations

import copy
import functools
import heapq
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, Final

import polars as pl

from greenstream.accounting.schema import HUB_TYPES  # iLEAP HubType, PascalCase
from greenstream.errors import InputError, InputErrors
from greenstream.geo import distance_adjustment_table
from greenstream.io.tables import atomic_path
from greenstream.timeutil import as_utc

__all__ = [
    "HOC_SCHEMA_URL",
    "ILEAP_DOCUMENTATION_URL",
    "SHIPMENT_FOOTPRINT_SCHEMA_URL",
    "TOC_SCHEMA_URL",
    "IleapShipments",
    "decimal_string",
    "read_ileap_hocs",
    "read_ileap_shipments",
    "read_ileap_tocs",
    "shipment_to_pact_product_footprint",
    "write_ileap_hocs",
    "write_ileap_shipments",
    "write_ileap_tocs",
]

SHIPMENT_FOOTPRINT_SCHEMA_URL: Final = "https://api.ileap.sine.dev/shipment-footprint.json"
TOC_SCHEMA_URL: Final = "https://api.ileap.sine.dev/toc.json"
HOC_SCHEMA_URL: Final = "https://api.ileap.sine.dev/hoc.json"
ILEAP_DOCUMENTATION_URL: Final = "https://sine-fdn.github.io/ileap-extension/"
EXTENSION_SPEC_VERSION: Final = "2.0.0"  # iLEAP §pcf-mapping: DATA-MODEL-EXTENSIONS version
PACT_SPEC_VERSION: Final = (
    "2.2.0"  # as the SINE reference code's to_pcf; the iLEAP examples say 2.0.0
)
SYNTHETIC_ID_PREFIX: Final = "greenstream:"
JSON_LABEL: Final = "<json>"

_DECIMAL: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_SHARE_TOLERANCE: Final = Decimal("0.001")

# iLEAP TransportMode <-> greenstream mode
MODE_FROM_ILEAP: Final[Mapping[str, str]] = {
    "Road": "road",
    "Rail": "rail",
    "Air": "air",
    "Sea": "sea",
    "InlandWaterway": "inland_waterway",
}
MODE_TO_ILEAP: Final[Mapping[str, str]] = {v: k for k, v in MODE_FROM_ILEAP.items()}
TRANSPORT_ACTIVITY_UNITS: Final = ("tkm", "TEUkm")
HUB_ACTIVITY_UNITS: Final = ("tonnes", "TEU")
TEMPERATURE_CONTROLS: Final = ("ambient", "refrigerated", "mixed")
TRUCK_LOADING_SEQUENCES: Final = ("LTL", "FTL")
AIR_SHIPPING_OPTIONS: Final = ("belly freight", "freighter")
FLIGHT_LENGTHS: Final = ("short-haul", "long-haul")
ENERGY_CARRIERS: Final = (
    "Diesel",
    "HVO",
    "Petrol",
    "CNG",
    "LNG",
    "LPG",
    "HFO",
    "MGO",
    "Aviation fuel",
    "Hydrogen",
    "Methanol",
    "Electric",
)
_CARRIER_ALIASES: Final[Mapping[str, str]] = {
    "electricity": "Electric",
    "aviation_fuel": "Aviation fuel",
    "jet_fuel": "Aviation fuel",
    "kerosene": "Aviation fuel",
    "jet_kerosene": "Aviation fuel",
    "gasoline": "Petrol",
}
_DEFAULT_CARRIER_BY_MODE: Final[Mapping[str, str]] = {
    "road": "Diesel",
    "rail": "Diesel",
    "inland_waterway": "Diesel",
    "sea": "HFO",
    "air": "Aviation fuel",
}

LEGS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "shipment_id": pl.String(),
    "tce_id": pl.String(),
    "mass_kg": pl.Float64(),
    "distance_km": pl.Float64(),
    "distance_basis": pl.String(),
    "toc_id": pl.String(),
    "hoc_id": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "departure_at": pl.Datetime("us", "UTC"),
    "reported_transport_activity_tkm": pl.Float64(),
    "reported_co2e_wtw_kg": pl.Float64(),
    "reported_co2e_ttw_kg": pl.Float64(),
}
TOCS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "toc_id": pl.String(),
    "mode": pl.String(),
    "intensity_wtw_kg_per_tkm": pl.Float64(),
    "intensity_ttw_kg_per_tkm": pl.Float64(),
    "transport_activity_unit": pl.String(),
    "intensity_wtw_kg_per_teukm": pl.Float64(),
    "intensity_ttw_kg_per_teukm": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
    "temperature_control": pl.String(),
    "load_factor": pl.Float64(),
    "empty_distance_factor": pl.Float64(),
    "truck_loading_sequence": pl.String(),
    "air_shipping_option": pl.String(),
    "flight_length": pl.String(),
    "certifications": pl.String(),
    "energy_carriers_json": pl.String(),
}
HOCS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "hoc_id": pl.String(),
    "hub_type": pl.String(),
    "intensity_wtw_kg_per_t": pl.Float64(),
    "intensity_ttw_kg_per_t": pl.Float64(),
    "hub_activity_unit": pl.String(),
    "intensity_wtw_kg_per_teu": pl.Float64(),
    "intensity_ttw_kg_per_teu": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
    "temperature_control": pl.String(),
    "certifications": pl.String(),
    "energy_carriers_json": pl.String(),
}

_SF, _TOC, _HOC = "ShipmentFootprint", "TOC", "HOC"


@dataclass(frozen=True)
class IleapShipments:
    """What one iLEAP input holds: TCE rows (LEGS columns) and the TOCs / HOCs found beside them."""

    legs: pl.DataFrame
    tocs: pl.DataFrame | None
    hocs: pl.DataFrame | None


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_ileap_shipments(
    source: Path | str | bytes | Any, *, strict: bool = False
) -> IleapShipments:
    """Read the ShipmentFootprints (and any TOCs / HOCs) in ``source``.

    ``legs`` has one row per TCE, shipments in input order and TCEs in ``prevTceIds`` order, with
    the LEGS columns of docs/data-contract.md plus the reported values
    ``reported_transport_activity_tkm``, ``reported_co2e_wtw_kg`` and ``reported_co2e_ttw_kg``.
    ``tocs`` / ``hocs`` are ``None`` when the input has none. Raises :class:`InputErrors` listing
    every problem, or when the input holds no ShipmentFootprint.
    """
    file, doc = _load(source)
    found = _collect(doc, file)
    ck = _Checker(file, strict)
    legs = _parse_shipments(found.sfs, ck)
    tocs = [_parse_toc(o, i, ck) for i, o in enumerate(found.tocs, 1)]
    hocs = [_parse_hoc(o, i, ck) for i, o in enumerate(found.hocs, 1)]
    errors = found.errors + ck.errors
    if not errors and not found.sfs:
        errors.append(InputError(file, None, None, "no iLEAP ShipmentFootprint found"))
    InputErrors.raise_if_any(errors)
    return IleapShipments(
        legs=_frame(legs, LEGS_SCHEMA),
        tocs=_frame([r for r in tocs if r is not None], TOCS_SCHEMA) if tocs else None,
        hocs=_frame([r for r in hocs if r is not None], HOCS_SCHEMA) if hocs else None,
    )


def read_ileap_tocs(source: Path | str | bytes | Any, *, strict: bool = False) -> pl.DataFrame:
    """Read the TOCs in ``source`` as a TOCS table (see the module notes on units and data_type)."""
    file, doc = _load(source)
    found = _collect(doc, file)
    ck = _Checker(file, strict)
    rows = [_parse_toc(o, i, ck) for i, o in enumerate(found.tocs, 1)]
    errors = found.errors + ck.errors
    if not errors and not found.tocs:
        errors.append(InputError(file, None, None, "no iLEAP TOC found"))
    InputErrors.raise_if_any(errors)
    return _frame([r for r in rows if r is not None], TOCS_SCHEMA)


def read_ileap_hocs(source: Path | str | bytes | Any, *, strict: bool = False) -> pl.DataFrame:
    """Read the HOCs in ``source`` as a HOCS table (hub_type stays PascalCase, as in iLEAP)."""
    file, doc = _load(source)
    found = _collect(doc, file)
    ck = _Checker(file, strict)
    rows = [_parse_hoc(o, i, ck) for i, o in enumerate(found.hocs, 1)]
    errors = found.errors + ck.errors
    if not errors and not found.hocs:
        errors.append(InputError(file, None, None, "no iLEAP HOC found"))
    InputErrors.raise_if_any(errors)
    return _frame([r for r in rows if r is not None], HOCS_SCHEMA)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _load(source: Path | str | bytes | Any) -> tuple[str, Any]:
    """(file label, parsed JSON) for any accepted source."""
    text: str | None = None
    if isinstance(source, Path) or (
        isinstance(source, str) and source.lstrip()[:1] not in ("{", "[")
    ):
        path = Path(source)
        file = str(source)
        if not path.is_file():
            raise InputErrors.single(file, "file not found")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputErrors.single(file, f"cannot read file: {exc}") from exc
        text = _decode(raw, file)
    elif isinstance(source, str):
        file, text = JSON_LABEL, source
    elif isinstance(source, bytes | bytearray):
        file = JSON_LABEL
        text = _decode(bytes(source), file)
    else:
        return JSON_LABEL, source
    try:
        return file, json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputErrors.single(
            file, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except ValueError as exc:
        raise InputErrors.single(file, f"not valid JSON: {exc}") from exc


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputErrors.single(file, f"not UTF-8 text: {exc}") from exc


@dataclass
class _Found:
    sfs: list[dict[str, Any]]
    tocs: list[dict[str, Any]]
    hocs: list[dict[str, Any]]
    errors: list[InputError]


def _collect(doc: Any, file: str) -> _Found:
    """Find every iLEAP object in a document, in document order, by kind."""
    found = _Found([], [], [], [])

    def bad(path: str, reason: str) -> None:
        found.errors.append(InputError(file, None, path or None, reason))

    def add(kind: str, obj: dict[str, Any]) -> None:
        {_SF: found.sfs, _TOC: found.tocs, _HOC: found.hocs}[kind].append(obj)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
            return
        if not isinstance(node, dict):
            bad(path, f"expected a JSON object, got {_show(node)}")
            return
        if "tces" in node:
            add(_SF, node)
        elif "tocId" in node:
            add(_TOC, node)
        elif "hocId" in node:
            add(_HOC, node)
        elif "extensions" in node or "pcf" in node:
            extensions = node.get("extensions")
            if extensions is None:
                return  # a ProductFootprint without extensions: not iLEAP, skipped
            if not isinstance(extensions, list):
                bad(_join(path, "extensions"), "must be an array")
                return
            for j, ext in enumerate(extensions):
                epath = f"{_join(path, 'extensions')}[{j}]"
                if not isinstance(ext, dict):
                    bad(epath, f"expected a JSON object, got {_show(ext)}")
                    continue
                kind = _kind_of_schema(ext.get("dataSchema"))
                if kind is None:
                    continue  # another extension (TAD, a non-iLEAP one): skipped
                data = ext.get("data")
                if not isinstance(data, dict):
                    bad(_join(epath, "data"), f"the {kind} must be a JSON object")
                    continue
                add(kind, data)
        elif isinstance(node.get("data"), list):
            walk(node["data"], _join(path, "data"))
        else:
            bad(
                path,
                "not an iLEAP ShipmentFootprint, TOC or HOC, a PACT ProductFootprint "
                'or a PACT list response {"data": [...]}',
            )

    walk(doc, "")
    return found


def _kind_of_schema(schema: Any) -> str | None:
    if not isinstance(schema, str):
        return None
    name = schema.rstrip("/").rsplit("/", 1)[-1]
    return {"shipment-footprint.json": _SF, "toc.json": _TOC, "hoc.json": _HOC}.get(name)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(d: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros (never an exponent, never "-0")."""
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


class _Checker:
    """Field readers that record a row-level error instead of raising."""

    def __init__(self, file: str, strict: bool) -> None:
        self.file = file
        self.strict = strict
        self.errors: list[InputError] = []
        self.row: int | None = None
        self.label = ""

    def at(self, kind: str, row: int, obj: Mapping[str, Any], id_key: str) -> None:
        ident = obj.get(id_key)
        self.row = row
        self.label = f"{kind} '{ident}'" if isinstance(ident, str) and ident else kind

    def error(self, field: str | None, reason: str) -> None:
        text = f"{self.label}: {reason}" if self.label else reason
        self.errors.append(InputError(self.file, self.row, field or None, text))

    def mark(self) -> int:
        return len(self.errors)

    def ok_since(self, mark: int) -> bool:
        return len(self.errors) == mark

    def string(
        self, obj: Mapping[str, Any], key: str, prefix: str, *, required: bool
    ) -> str | None:
        path = _join(prefix, key)
        value = obj.get(key)
        if value is None:
            if required:
                self.error(path, f"missing mandatory field '{key}'")
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(path, f"must be a non-empty string, got {_show(value)}")
            return None
        return value

    def choice(
        self,
        obj: Mapping[str, Any],
        key: str,
        prefix: str,
        allowed: Sequence[str],
        *,
        required: bool,
        what: str,
    ) -> str | None:
        value = self.string(obj, key, prefix, required=required)
        if value is not None and value not in allowed:
            self.error(
                _join(prefix, key), f"unknown {what} {value!r} (one of {', '.join(allowed)})"
            )
            return None
        return value

    def decimal(
        self,
        obj: Mapping[str, Any],
        key: str,
        prefix: str,
        *,
        required: bool,
        above: Decimal | None = None,
        at_least: Decimal | None = None,
        at_most: Decimal | None = None,
        below: Decimal | None = None,
    ) -> Decimal | None:
        path = _join(prefix, key)
        value = obj.get(key)
        if value is None:
            if required:
                self.error(path, f"missing mandatory field '{key}'")
            return None
        d = self.to_decimal(value, path)
        if d is None:
            return None
        checks: tuple[tuple[Decimal | None, str], ...] = (
            (above, ">"),
            (at_least, ">="),
            (at_most, "<="),
            (below, "<"),
        )
        for bound, sign in checks:
            if bound is None:
                continue
            ok = {">": d > bound, ">=": d >= bound, "<=": d <= bound, "<": d < bound}[sign]
            if not ok:
                self.error(path, f"must be {sign} {_plain(bound)}, got {_plain(d)}")
                return None
        return d

    def to_decimal(self, value: Any, path: str) -> Decimal | None:
        if isinstance(value, str):
            if _DECIMAL.fullmatch(value):
                return Decimal(value)
            self.error(path, f"not a Decimal string (pattern ^-?\\d+(\\.\\d+)?$): {_show(value)}")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            self.error(path, f"must be a Decimal string, got {_show(value)}")
            return None
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not d.is_finite():
            self.error(path, f"must be a finite number, got {value}")
            return None
        if self.strict:
            self.error(
                path,
                f'a Decimal must be a JSON string ("{_plain(d)}"), got the JSON number {value}',
            )
            return None
        return d

    def timestamp(self, obj: Mapping[str, Any], key: str, prefix: str) -> datetime | None:
        value = self.string(obj, key, prefix, required=False)
        if value is None:
            return None
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            self.error(_join(prefix, key), f"not an ISO 8601 date-time: {value!r}")
            return None
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)

    def string_list(self, obj: Mapping[str, Any], key: str, prefix: str) -> list[str] | None:
        value = obj.get(key)
        if value is None:
            return None
        path = _join(prefix, key)
        if not isinstance(value, list):
            self.error(path, f"must be an array of strings, got {_show(value)}")
            return None
        good = True
        for k, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.error(f"{path}[{k}]", f"must be a non-empty string, got {_show(item)}")
                good = False
        return list(value) if good else None


def _parse_shipments(sfs: list[dict[str, Any]], ck: _Checker) -> list[dict[str, Any]]:
    """LEGS rows of every valid ShipmentFootprint (errors of the others land in ``ck``)."""
    rows: list[dict[str, Any]] = []
    first_seen: dict[str, tuple[int, str]] = {}  # tceId -> (row, shipmentId) across shipments
    for row, sf in enumerate(sfs, 1):
        ck.at(_SF, row, sf, "shipmentId")
        mark = ck.mark()
        shipment_id = ck.string(sf, "shipmentId", "", required=True)
        ck.decimal(sf, "mass", "", required=True, above=Decimal(0))
        ck.decimal(sf, "volume", "", required=False, at_least=Decimal(0))
        tces = sf.get("tces")
        if tces is None:
            ck.error("tces", "missing mandatory field 'tces'")
            continue
        if not isinstance(tces, list) or not tces:
            ck.error("tces", f"must be a non-empty array of TCEs, got {_show(tces)}")
            continue
        parsed: list[dict[str, Any] | None] = [
            _parse_tce(tce, i, shipment_id, ck) for i, tce in enumerate(tces)
        ]
        ids = [p["tce_id"] if p is not None else None for p in parsed]
        ids_ok = True
        local: dict[str, int] = {}
        for i, tid in enumerate(ids):
            if tid is None:
                ids_ok = False
                continue
            if tid in local:
                ck.error(f"tces[{i}].tceId", f"duplicate tceId {tid!r} (also tces[{local[tid]}])")
                ids_ok = False
                continue
            local[tid] = i
            if tid in first_seen and shipment_id is not None:
                other_row, other_sid = first_seen[tid]
                ck.error(
                    f"tces[{i}].tceId",
                    f"tceId {tid!r} is also used in ShipmentFootprint {other_row} "
                    f"('{other_sid}'): TCE ids must be unique",
                )
                ids_ok = False
        order = _chain_order(parsed, ck) if ids_ok else None
        for tid in ids:
            if tid is not None and shipment_id is not None:
                first_seen.setdefault(tid, (row, shipment_id))
        if order is None or not ck.ok_since(mark):
            continue
        for i in order:
            leg = parsed[i]
            assert leg is not None
            leg.pop("prev")
            rows.append(leg)
    return rows


def _parse_tce(tce: Any, i: int, shipment_id: str | None, ck: _Checker) -> dict[str, Any] | None:
    p = f"tces[{i}]"
    if not isinstance(tce, dict):
        ck.error(p, f"a TCE must be a JSON object, got {_show(tce)}")
        return None
    mark = ck.mark()
    tce_id = ck.string(tce, "tceId", p, required=True)
    prev = ck.string_list(tce, "prevTceIds", p)
    toc_id = ck.string(tce, "tocId", p, required=False)
    hoc_id = ck.string(tce, "hocId", p, required=False)
    has_toc, has_hoc = tce.get("tocId") is not None, tce.get("hocId") is not None
    if has_toc and has_hoc:
        ck.error(p, "has both tocId and hocId: exactly one must be given")
    elif not has_toc and not has_hoc:
        ck.error(p, "has neither tocId nor hocId: exactly one must be given")
    tce_shipment = ck.string(tce, "shipmentId", p, required=True)
    if tce_shipment is not None and shipment_id is not None and tce_shipment != shipment_id:
        ck.error(
            _join(p, "shipmentId"),
            f"shipmentId {tce_shipment!r} differs from the ShipmentFootprint's {shipment_id!r}",
        )
    ck.string(tce, "consignmentId", p, required=False)
    mass = ck.decimal(tce, "mass", p, required=True, above=Decimal(0))
    distance, basis = _distance(tce, p, ck)
    activity = ck.decimal(tce, "transportActivity", p, required=True, at_least=Decimal(0))
    wtw = ck.decimal(tce, "co2eWTW", p, required=True)
    ttw = ck.decimal(tce, "co2eTTW", p, required=True)
    if wtw is not None and ttw is not None and ttw > wtw:
        ck.error(
            _join(p, "co2eTTW"),
            f"co2eTTW {_plain(ttw)} is greater than co2eWTW {_plain(wtw)} (WTW = TTW + WTT)",
        )
    for key in ("noxTTW", "soxTTW", "ch4TTW", "pmTTW"):
        ck.decimal(tce, key, p, required=False, at_least=Decimal(0))
    ck.decimal(tce, "packagingOrTrEqAmount", p, required=False, at_least=Decimal(0))
    origin = _location(tce, "origin", p, ck)
    destination = _location(tce, "destination", p, ck)
    departure = ck.timestamp(tce, "departureAt", p)
    ck.timestamp(tce, "arrivalAt", p)
    if not ck.ok_since(mark):
        return {"tce_id": tce_id, "prev": prev} if tce_id is not None else None
    return {
        "shipment_id": tce_shipment,
        "tce_id": tce_id,
        "mass_kg": float(mass) if mass is not None else None,
        "distance_km": float(distance) if distance is not None else None,
        "distance_basis": basis,
        "toc_id": toc_id,
        "hoc_id": hoc_id,
        "origin": origin,
        "destination": destination,
        "departure_at": departure,
        "reported_transport_activity_tkm": float(activity) if activity is not None else None,
        "reported_co2e_wtw_kg": float(wtw) if wtw is not None else None,
        "reported_co2e_ttw_kg": float(ttw) if ttw is not None else None,
        "prev": prev,
    }


def _distance(tce: Mapping[str, Any], p: str, ck: _Checker) -> tuple[Decimal | None, str | None]:
    path = _join(p, "distance")
    value = tce.get("distance")
    if value is None:
        ck.error(path, "missing mandatory field 'distance'")
        return None, None
    if not isinstance(value, dict):
        ck.error(path, f"must be a GLECDistance object, got {_show(value)}")
        return None, None
    chosen: tuple[Decimal | None, str | None] = (None, None)
    given = False
    for basis in ("actual", "gcd", "sfd"):  # SINE reference precedence
        if value.get(basis) is None:
            continue
        given = True
        d = ck.decimal(value, basis, path, required=False, at_least=Decimal(0))
        if d is not None and chosen[1] is None:
            chosen = (d, basis)
    if not given:
        ck.error(path, "a GLECDistance needs at least one of actual, gcd, sfd")
    return chosen


def _location(obj: Mapping[str, Any], key: str, p: str, ck: _Checker) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    path = _join(p, key)
    if not isinstance(value, dict):
        ck.error(path, f"must be a Location object, got {_show(value)}")
        return None
    city = ck.string(value, "city", path, required=True)
    country = ck.string(value, "country", path, required=True)
    if country is not None and not _COUNTRY.fullmatch(country):
        ck.error(_join(path, "country"), f"not an ISO 3166-1 alpha-2 code: {country!r}")
    for code in ("street", "zip", "uic"):
        ck.string(value, code, path, required=False)
    iata = ck.string(value, "iata", path, required=False)
    locode = ck.string(value, "locode", path, required=False)
    lat = ck.decimal(value, "lat", path, required=False, at_least=Decimal(-90), at_most=Decimal(90))
    lng = ck.decimal(
        value, "lng", path, required=False, at_least=Decimal(-180), at_most=Decimal(180)
    )
    if (value.get("lat") is None) != (value.get("lng") is None):
        ck.error(path, "lat and lng must be given together")
    if lat is not None and lng is not None:
        return f"{_plain(lat)},{_plain(lng)}"
    return iata or locode or city


def _chain_order(parsed: Sequence[dict[str, Any] | None], ck: _Checker) -> list[int] | None:
    """Topological order of the TCEs by prevTceIds, ties by file order; None on a broken DAG."""
    ids = [p["tce_id"] for p in parsed if p is not None]
    if len(ids) != len(parsed):
        return None
    index = {tid: i for i, tid in enumerate(ids)}
    n = len(ids)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    ok = True
    for i, p in enumerate(parsed):
        assert p is not None
        for k, pid in enumerate(p["prev"] or []):
            j = index.get(pid)
            if j is None:
                ck.error(
                    f"tces[{i}].prevTceIds[{k}]",
                    f"unknown tceId {pid!r} (no TCE of this ShipmentFootprint has it)",
                )
                ok = False
                continue
            preds[i].append(j)
            succs[j].append(i)
    if not ok:
        return None
    indegree = [len(ps) for ps in preds]
    ready = [i for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for s in succs[i]:
            indegree[s] -= 1
            if indegree[s] == 0:
                heapq.heappush(ready, s)
    if len(order) == n:
        return order
    # Every unplaced TCE has an unplaced predecessor: walking back from one must close a loop.
    placed = set(order)
    node = min(i for i in range(n) if i not in placed)
    seen: dict[int, int] = {}
    walk: list[int] = []
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = next(j for j in preds[node] if j not in placed)
    loop = walk[seen[node] :][::-1]  # predecessor walk reversed = happens-before order
    names = " -> ".join(repr(ids[i]) for i in [*loop, loop[0]])
    ck.error(f"tces[{min(loop)}].prevTceIds", f"prevTceIds form a cycle: {names}")
    return None


def _parse_operation_common(
    obj: Mapping[str, Any], ck: _Checker
) -> tuple[Decimal | None, Decimal | None, str | None, str | None]:
    """(WTW, TTW, energy_carriers_json, certifications) shared by TOC and HOC."""
    ck.string(obj, "description", "", required=False)
    certs = ck.string_list(obj, "certifications", "")
    if certs is not None and not certs:
        ck.error("certifications", "if given, must be a non-empty array")
    wtw = ck.decimal(obj, "co2eIntensityWTW", "", required=True, at_least=Decimal(0))
    ttw = ck.decimal(obj, "co2eIntensityTTW", "", required=True, at_least=Decimal(0))
    if wtw is not None and ttw is not None and ttw > wtw:
        ck.error(
            "co2eIntensityTTW",
            f"co2eIntensityTTW {_plain(ttw)} is greater than co2eIntensityWTW {_plain(wtw)} "
            "(WTW = TTW + WTT)",
        )
    ck.choice(
        obj,
        "temperatureControl",
        "",
        TEMPERATURE_CONTROLS,
        required=False,
        what="temperatureControl",
    )
    carriers = _energy_carriers(obj, ck)
    return wtw, ttw, carriers, ",".join(certs) if certs else None


def _energy_carriers(obj: Mapping[str, Any], ck: _Checker) -> str | None:
    value = obj.get("energyCarriers")
    if value is None:
        ck.error("energyCarriers", "missing mandatory field 'energyCarriers'")
        return None
    if not isinstance(value, list) or not value:
        ck.error("energyCarriers", f"must be a non-empty array, got {_show(value)}")
        return None
    mark = ck.mark()
    shares: list[Decimal] = []
    for j, carrier in enumerate(value):
        p = f"energyCarriers[{j}]"
        if not isinstance(carrier, dict):
            ck.error(p, f"an EnergyCarrier must be a JSON object, got {_show(carrier)}")
            continue
        ck.string(carrier, "energyCarrier", p, required=True)
        share = ck.decimal(
            carrier, "relativeShare", p, required=True, above=Decimal(0), at_most=Decimal(1)
        )
        if share is not None:
            shares.append(share)
        ck.decimal(carrier, "emissionFactorWTW", p, required=True)
        ck.decimal(carrier, "emissionFactorTTW", p, required=True)
        consumption = ck.decimal(carrier, "energyConsumption", p, required=False)
        unit = ck.string(carrier, "energyConsumptionUnit", p, required=False)
        if consumption is not None and unit is None:
            ck.error(
                _join(p, "energyConsumptionUnit"),
                "required when energyConsumption is given (l, kg, kWh or MJ)",
            )
        _feedstocks(carrier, p, ck)
    if ck.ok_since(mark) and abs(sum(shares, Decimal(0)) - 1) > _SHARE_TOLERANCE:
        ck.error(
            "energyCarriers",
            f"relativeShare values add up to {_plain(sum(shares, Decimal(0)))}, must be 1",
        )
    if not ck.ok_since(mark):
        return None
    return json.dumps(_strings_for_numbers(value), ensure_ascii=False, separators=(",", ":"))


def _feedstocks(carrier: Mapping[str, Any], p: str, ck: _Checker) -> None:
    value = carrier.get("feedstocks")
    if value is None:
        return
    path = _join(p, "feedstocks")
    if not isinstance(value, list):
        ck.error(path, f"must be an array of Feedstocks, got {_show(value)}")
        return
    total = Decimal(0)
    for k, feedstock in enumerate(value):
        fp = f"{path}[{k}]"
        if not isinstance(feedstock, dict):
            ck.error(fp, f"a Feedstock must be a JSON object, got {_show(feedstock)}")
            continue
        ck.string(feedstock, "feedstock", fp, required=True)
        ck.string(feedstock, "regionProvenance", fp, required=False)
        share = ck.decimal(
            feedstock, "feedstockShare", fp, required=False, at_least=Decimal(0), at_most=Decimal(1)
        )
        total += share or 0
    if total > 1:
        ck.error(path, f"feedstockShare values add up to {_plain(total)}, must be <= 1")


def _strings_for_numbers(value: Any) -> Any:
    """Copy of a JSON value with every (tolerated) number turned into its Decimal string."""
    if isinstance(value, dict):
        return {k: _strings_for_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings_for_numbers(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return _plain(Decimal(repr(value)))
    if isinstance(value, int | Decimal):
        return _plain(Decimal(value))
    return value


def _parse_toc(obj: dict[str, Any], row: int, ck: _Checker) -> dict[str, Any] | None:
    ck.at(_TOC, row, obj, "tocId")
    mark = ck.mark()
    toc_id = ck.string(obj, "tocId", "", required=True)
    mode = ck.choice(obj, "mode", "", tuple(MODE_FROM_ILEAP), required=True, what="mode")
    unit = ck.choice(
        obj,
        "transportActivityUnit",
        "",
        TRANSPORT_ACTIVITY_UNITS,
        required=True,
        what="transportActivityUnit",
    )
    load = ck.decimal(obj, "loadFactor", "", required=False, above=Decimal(0), at_most=Decimal(1))
    empty = ck.decimal(
        obj, "emptyDistanceFactor", "", required=False, at_least=Decimal(0), below=Decimal(1)
    )
    loading = ck.choice(
        obj,
        "truckLoadingSequence",
        "",
        TRUCK_LOADING_SEQUENCES,
        required=False,
        what="truckLoadingSequence",
    )
    air_option = ck.choice(
        obj, "airShippingOption", "", AIR_SHIPPING_OPTIONS, required=False, what="airShippingOption"
    )
    flight = ck.choice(obj, "flightLength", "", FLIGHT_LENGTHS, required=False, what="flightLength")
    wtw, ttw, carriers, certs = _parse_operation_common(obj, ck)
    if not ck.ok_since(mark) or wtw is None or ttw is None:
        return None
    per_tkm = unit == "tkm"
    return {
        "toc_id": toc_id,
        "mode": MODE_FROM_ILEAP[mode] if mode else None,
        "intensity_wtw_kg_per_tkm": float(wtw) if per_tkm else None,
        "intensity_ttw_kg_per_tkm": float(ttw) if per_tkm else None,
        "transport_activity_unit": unit,
        "intensity_wtw_kg_per_teukm": None if per_tkm else float(wtw),
        "intensity_ttw_kg_per_teukm": None if per_tkm else float(ttw),
        "data_type": "secondary",
        "description": obj.get("description"),
        "temperature_control": obj.get("temperatureControl"),
        "load_factor": float(load) if load is not None else None,
        "empty_distance_factor": float(empty) if empty is not None else None,
        "truck_loading_sequence": loading,
        "air_shipping_option": air_option,
        "flight_length": flight,
        "certifications": certs,
        "energy_carriers_json": carriers,
    }


def _parse_hoc(obj: dict[str, Any], row: int, ck: _Checker) -> dict[str, Any] | None:
    ck.at(_HOC, row, obj, "hocId")
    mark = ck.mark()
    hoc_id = ck.string(obj, "hocId", "", required=True)
    hub_type = ck.choice(obj, "hubType", "", HUB_TYPES, required=True, what="hubType")
    unit = ck.choice(
        obj, "hubActivityUnit", "", HUB_ACTIVITY_UNITS, required=True, what="hubActivityUnit"
    )
    for key in ("inboundTransportMode", "outboundTransportMode"):
        ck.choice(obj, key, "", tuple(MODE_FROM_ILEAP), required=False, what=key)
    amount = obj.get("packagingOrTrEqAmount")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount < 0
    ):
        ck.error("packagingOrTrEqAmount", f"must be a non-negative integer, got {_show(amount)}")
    _location(obj, "hubLocation", "", ck)
    wtw, ttw, carriers, certs = _parse_operation_common(obj, ck)
    if not ck.ok_since(mark) or wtw is None or ttw is None:
        return None
    per_t = unit == "tonnes"
    return {
        "hoc_id": hoc_id,
        "hub_type": hub_type,
        "intensity_wtw_kg_per_t": float(wtw) if per_t else None,
        "intensity_ttw_kg_per_t": float(ttw) if per_t else None,
        "hub_activity_unit": unit,
        "intensity_wtw_kg_per_teu": None if per_t else float(wtw),
        "intensity_ttw_kg_per_teu": None if per_t else float(ttw),
        "data_type": "secondary",
        "description": obj.get("description"),
        "temperature_control": obj.get("temperatureControl"),
        "certifications": certs,
        "energy_carriers_json": carriers,
    }


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(
        {name: [r.get(name) for r in rows] for name in schema}, schema=schema, strict=False
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

MASS_DECIMALS: Final = 3
DISTANCE_DECIMALS: Final = 3
ACTIVITY_DECIMALS: Final = 3
INTENSITY_DECIMALS: Final = 9


def decimal_string(value: float | int | Decimal, places: int) -> str:
    """``value`` as an iLEAP Decimal string rounded half-to-even to at most ``places`` decimals.

    Floats are taken at their shortest round-trip form first, so 1962.7200000000003 is
    "1962.72" and 1e-05 is "0.00001" (at 5 places or more). Raises ValueError for NaN / inf.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    with localcontext() as ctx:
        ctx.prec = max(60, d.adjusted() + places + 2)
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return _plain(q)


def _as_plain_rows(frame: pl.DataFrame | pl.LazyFrame) -> list[dict[str, Any]]:
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    casts = [
        pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Enum | pl.Categorical)
    ]
    if casts:
        frame = frame.with_columns(casts)
    return list(frame.iter_rows(named=True))


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _utc_text(value: Any) -> str:
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(stamp, datetime):
        raise ValueError(f"not a date-time: {value!r}")
    stamp = as_utc(stamp)
    spec = "seconds" if stamp.microsecond == 0 else "microseconds"
    return stamp.isoformat(timespec=spec).replace("+00:00", "Z")


def _write_json(docs: list[dict[str, Any]], path: Path | None) -> None:
    if path is None:
        return
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(docs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _raw_distance(row: Mapping[str, Any], basis: str) -> Any:
    """The unadjusted distance of a transport row (see the module notes).

    A GCD the kernel adjusted is un-adjusted with the same factors the kernel applied: the
    geo distance adjustment table, looked up by the row's mode.
    """
    if _present(row.get("distance_km")):
        return row["distance_km"]
    used = row.get("distance_used_km")
    factors = _distance_adjustments().get(str(row.get("mode")))
    if basis == "gcd" and used is not None and factors is not None:
        mult, add = factors
        if mult > 0:
            return max((float(used) - add) / mult, 0.0)
    return used


@functools.cache
def _distance_adjustments() -> dict[str, tuple[float, float]]:
    """mode -> (multiplier, add_km) of the distance adjustment rule."""
    table = distance_adjustment_table()
    return {
        str(m): (float(k), float(a))
        for m, k, a in table.select("mode", "multiplier", "add_km").iter_rows()
    }


def write_ileap_shipments(
    results: pl.DataFrame | pl.LazyFrame,
    path: Path | None = None,
    *,
    co2e_decimals: int = 2,
) -> list[dict[str, Any]]:
    """Kernel output -> one iLEAP ShipmentFootprint per shipment (see the module notes).

    Needs ``shipment_id``, ``mass_kg``, ``transport_activity_tkm``, ``co2e_wtw_kg``,
    ``co2e_ttw_kg`` and ``distance_used_km`` or ``distance_km``; uses ``tce_id``, ``toc_id``,
    ``hoc_id``, ``hub_type``, ``factor_id``, ``distance_basis``, ``distance_adjustment`` and
    ``departure_at`` when present. kg CO2e are rounded to ``co2e_decimals`` (2, as the SINE
    reference code), mass / km / tkm to 3. Raises :class:`InputErrors` (file ``"<results>"``, row =
    1-based results row) for rows that cannot be written. Given ``path``, also writes the JSON array
    there atomically.
    """
    label = "<results>"
    rows = _as_plain_rows(results)
    columns = set(results.collect_schema().names())
    errors: list[InputError] = []
    required = ("shipment_id", "mass_kg", "transport_activity_tkm", "co2e_wtw_kg", "co2e_ttw_kg")
    errors += [InputError(label, None, c, "missing column") for c in required if c not in columns]
    if "distance_used_km" not in columns and "distance_km" not in columns:
        errors.append(
            InputError(label, None, "distance_used_km", "missing column (or distance_km)")
        )
    InputErrors.raise_if_any(errors)

    shipments: dict[str, list[dict[str, Any]]] = {}
    masses: dict[str, Decimal] = {}
    for n, row in enumerate(rows, 1):
        bad_before = len(errors)

        def bad(field: str, reason: str, n: int = n) -> None:
            errors.append(InputError(label, n, field, reason))

        for col in required:
            if not _present(row.get(col)):
                bad(col, f"missing {col}: cannot write the TCE")
        hub = _present(row.get("hoc_id")) or _present(row.get("hub_type"))
        ref_key, own = ("hocId", row.get("hoc_id")) if hub else ("tocId", row.get("toc_id"))
        ref = ""
        if _present(own):
            ref = str(own)
        elif _present(row.get("factor_id")):
            ref = SYNTHETIC_ID_PREFIX + str(row["factor_id"])
        else:
            bad(
                "hoc_id" if hub else "toc_id",
                f"no {'hoc_id' if hub else 'toc_id'} and no factor_id to name the "
                f"{'HOC' if hub else 'TOC'} of this TCE",
            )
        distance = {"actual": "0"}
        if not hub:
            basis = str(row["distance_basis"]) if _present(row.get("distance_basis")) else "actual"
            raw = _raw_distance(row, basis)
            if basis not in ("actual", "gcd", "sfd"):
                bad("distance_basis", f"unknown distance_basis {basis!r} (actual, gcd, sfd)")
            elif not _present(raw):
                bad("distance_used_km", "missing distance: cannot write the TCE")
            else:
                distance = {basis: decimal_string(raw, DISTANCE_DECIMALS)}
        if len(errors) > bad_before:
            continue
        sid = str(row["shipment_id"])
        chain = shipments.setdefault(sid, [])
        tce_id = str(row["tce_id"]) if _present(row.get("tce_id")) else f"{sid}-{len(chain) + 1}"
        if any(t["tceId"] == tce_id for t in chain):
            bad("tce_id", f"duplicate tce_id {tce_id!r} in shipment {sid!r}")
            continue
        try:
            mass = decimal_string(row["mass_kg"], MASS_DECIMALS)
            tce: dict[str, Any] = {
                "tceId": tce_id,
                "prevTceIds": [chain[-1]["tceId"]] if chain else [],
                ref_key: ref,
                "shipmentId": sid,
                "mass": mass,
                "distance": distance,
                "transportActivity": decimal_string(
                    row["transport_activity_tkm"], ACTIVITY_DECIMALS
                ),
                "co2eWTW": decimal_string(row["co2e_wtw_kg"], co2e_decimals),
                "co2eTTW": decimal_string(row["co2e_ttw_kg"], co2e_decimals),
            }
            if _present(row.get("departure_at")):
                # iLEAP key order: departureAt sits after transportActivity, before co2eWTW
                wtw, ttw = tce.pop("co2eWTW"), tce.pop("co2eTTW")
                tce["departureAt"] = _utc_text(row["departure_at"])
                tce["co2eWTW"], tce["co2eTTW"] = wtw, ttw
        except (ValueError, InvalidOperation, TypeError) as exc:
            bad("", f"cannot write the TCE: {exc}")
            continue
        chain.append(tce)
        masses[sid] = max(masses.get(sid, Decimal(mass)), Decimal(mass))
    InputErrors.raise_if_any(errors)
    docs = [
        {"mass": _plain(masses[sid]), "shipmentId": sid, "tces": tces}
        for sid, tces in shipments.items()
    ]
    _write_json(docs, path)
    return docs


def _energy_carrier_name(value: Any) -> str | None:
    if not _present(value):
        return None
    text = str(value).strip()
    for name in ENERGY_CARRIERS:
        if text.lower() == name.lower():
            return name
    return _CARRIER_ALIASES.get(text.lower().replace(" ", "_").replace("-", "_"))


def _carriers_for_row(
    row: Mapping[str, Any], wtw: Any, ttw: Any, default: str, bad: Any
) -> list[Any] | None:
    raw = row.get("energy_carriers_json")
    if _present(raw):
        try:
            carriers = json.loads(str(raw), parse_float=Decimal)
        except json.JSONDecodeError as exc:
            bad("energy_carriers_json", f"not valid JSON: {exc.msg}")
            return None
        if not isinstance(carriers, list) or not carriers:
            bad("energy_carriers_json", "must be a non-empty JSON array of EnergyCarriers")
            return None
        return list(_strings_for_numbers(carriers))
    name = default
    if _present(row.get("energy_carrier")):
        mapped = _energy_carrier_name(row["energy_carrier"])
        if mapped is None:
            bad(
                "energy_carrier",
                f"unknown energy carrier {row['energy_carrier']!r} (one of "
                f"{', '.join(ENERGY_CARRIERS)})",
            )
            return None
        name = mapped
    elif float(ttw) == 0 and float(wtw) > 0:
        name = "Electric"
    return [
        {
            "energyCarrier": name,
            "relativeShare": "1",
            "emissionFactorWTW": decimal_string(wtw, INTENSITY_DECIMALS),
            "emissionFactorTTW": decimal_string(ttw, INTENSITY_DECIMALS),
        }
    ]


def _certifications(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = [str(v).strip() for v in value] if isinstance(value, list) else str(value).split(",")
    cleaned = [c.strip() for c in items if c.strip()]
    return cleaned or None


def _hub_type_name(value: Any) -> str | None:
    key = str(value).replace("_", "").replace(" ", "").lower()
    return next((h for h in HUB_TYPES if h.lower() == key), None)


@dataclass
class _OperationRow:
    """A TOC / HOC table row that passed the checks both writers share."""

    row: dict[str, Any]
    wtw: Any
    ttw: Any
    teu: bool
    temperature: Any
    bad: Callable[[str, str], None]


def _operation_rows(
    frame: pl.DataFrame | pl.LazyFrame,
    errors: list[InputError],
    *,
    label: str,
    required: tuple[str, str],
    unit_col: str,
    teu_unit: str,
    suffix: tuple[str, str],
    check_category: Callable[[dict[str, Any], Callable[[str, str], None]], None],
) -> Iterator[_OperationRow]:
    """Rows of a TOCS / HOCS table with their intensity pair, reporting every bad row in
    ``errors``: a missing id, category or intensity, an unknown category (``check_category``),
    TTW above WTW, an unknown temperature control. ``suffix`` = (per TEU unit, per tonne unit)."""
    for n, row in enumerate(_as_plain_rows(frame), 1):
        bad_before = len(errors)

        def bad(field: str, reason: str, n: int = n) -> None:
            errors.append(InputError(label, n, field, reason))

        teu = row.get(unit_col) == teu_unit
        unit = suffix[0] if teu else suffix[1]
        wtw_col, ttw_col = f"intensity_wtw_kg_per_{unit}", f"intensity_ttw_kg_per_{unit}"
        for col in (*required, wtw_col, ttw_col):
            if not _present(row.get(col)):
                bad(col, f"missing {col}")
        check_category(row, bad)
        if len(errors) > bad_before:
            continue
        wtw, ttw = row[wtw_col], row[ttw_col]
        if float(ttw) > float(wtw):
            bad(ttw_col, f"TTW intensity {ttw} is greater than WTW intensity {wtw}")
            continue
        temperature = row.get("temperature_control")
        if _present(temperature) and temperature not in TEMPERATURE_CONTROLS:
            bad("temperature_control", f"unknown temperature_control {temperature!r}")
            continue
        yield _OperationRow(row, wtw, ttw, teu, temperature, bad)


def _ileap_mode(row: Mapping[str, Any]) -> str | None:
    mode_text = str(row.get("mode") or "")
    return MODE_TO_ILEAP.get(mode_text) or (mode_text if mode_text in MODE_FROM_ILEAP else None)


def _check_mode(row: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    if row.get("mode") and _ileap_mode(row) is None:
        bad("mode", f"unknown mode {row['mode']!r} (one of {', '.join(MODE_TO_ILEAP)})")


def _check_hub_type(row: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    if _present(row.get("hub_type")) and _hub_type_name(row.get("hub_type")) is None:
        bad("hub_type", f"unknown hub_type {row['hub_type']!r} (one of {', '.join(HUB_TYPES)})")


def _intensity_fields(op: _OperationRow, carriers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "energyCarriers": carriers,
        "co2eIntensityWTW": decimal_string(op.wtw, INTENSITY_DECIMALS),
        "co2eIntensityTTW": decimal_string(op.ttw, INTENSITY_DECIMALS),
    }


def write_ileap_tocs(
    tocs: pl.DataFrame | pl.LazyFrame, path: Path | None = None
) -> list[dict[str, Any]]:
    """TOCS table -> iLEAP TOC objects (mode PascalCase; energyCarriers per the module notes).

    ``transport_activity_unit`` "TEUkm" takes the ``*_per_teukm`` intensities, anything else
    writes ``tkm`` from the ``*_per_tkm`` ones. Raises :class:`InputErrors` (file ``"<tocs>"``).
    """
    errors: list[InputError] = []
    docs: list[dict[str, Any]] = []
    for op in _operation_rows(
        tocs,
        errors,
        label="<tocs>",
        required=("toc_id", "mode"),
        unit_col="transport_activity_unit",
        teu_unit="TEUkm",
        suffix=("teukm", "tkm"),
        check_category=_check_mode,
    ):
        row = op.row
        mode = _ileap_mode(row)
        assert mode is not None
        default = _DEFAULT_CARRIER_BY_MODE[MODE_FROM_ILEAP[mode]]
        carriers = _carriers_for_row(row, op.wtw, op.ttw, default, op.bad)
        if carriers is None:
            continue
        doc: dict[str, Any] = {"tocId": str(row["toc_id"])}
        certs = _certifications(row.get("certifications"))
        if certs:
            doc["certifications"] = certs
        if _present(row.get("description")):
            doc["description"] = str(row["description"])
        doc["mode"] = mode
        for col, key in (
            ("load_factor", "loadFactor"),
            ("empty_distance_factor", "emptyDistanceFactor"),
        ):
            if _present(row.get(col)):
                doc[key] = decimal_string(row[col], 6)
        if _present(op.temperature):
            doc["temperatureControl"] = op.temperature
        for col, key in (
            ("truck_loading_sequence", "truckLoadingSequence"),
            ("air_shipping_option", "airShippingOption"),
            ("flight_length", "flightLength"),
        ):
            if _present(row.get(col)):
                doc[key] = str(row[col])
        doc.update(_intensity_fields(op, carriers))
        doc["transportActivityUnit"] = "TEUkm" if op.teu else "tkm"
        docs.append(doc)
    InputErrors.raise_if_any(errors)
    _write_json(docs, path)
    return docs


def write_ileap_hocs(
    hocs: pl.DataFrame | pl.LazyFrame, path: Path | None = None
) -> list[dict[str, Any]]:
    """HOCS table -> iLEAP HOC objects (energyCarriers per the module notes).

    ``hub_activity_unit`` "TEU" takes the ``*_per_teu`` intensities, anything else writes
    ``tonnes`` from the ``*_per_t`` ones. Raises :class:`InputErrors` (file ``"<hocs>"``).
    """
    errors: list[InputError] = []
    docs: list[dict[str, Any]] = []
    for op in _operation_rows(
        hocs,
        errors,
        label="<hocs>",
        required=("hoc_id", "hub_type"),
        unit_col="hub_activity_unit",
        teu_unit="TEU",
        suffix=("teu", "t"),
        check_category=_check_hub_type,
    ):
        row = op.row
        carriers = _carriers_for_row(row, op.wtw, op.ttw, "Diesel", op.bad)
        if carriers is None:
            continue
        doc: dict[str, Any] = {"hocId": str(row["hoc_id"])}
        if _present(row.get("description")):
            doc["description"] = str(row["description"])
        certs = _certifications(row.get("certifications"))
        if certs:
            doc["certifications"] = certs
        doc["hubType"] = _hub_type_name(row.get("hub_type"))
        if _present(op.temperature):
            doc["temperatureControl"] = op.temperature
        doc.update(_intensity_fields(op, carriers))
        doc["hubActivityUnit"] = "TEU" if op.teu else "tonnes"
        docs.append(doc)
    InputErrors.raise_if_any(errors)
    _write_json(docs, path)
    return docs


# --------------------------------------------------------------------------------------------
# PACT
# --------------------------------------------------------------------------------------------


def shipment_to_pact_product_footprint(
    sf: Mapping[str, Any],
    *,
    company_name: str,
    company_ids: Sequence[str],
    created: datetime,
    pf_id: str | None = None,
    reference_period_start: datetime | None = None,
    reference_period_end: datetime | None = None,
    primary_data_share: float | None = None,
    version: int = 0,
    characterization_factors: str = "AR6",
    spec_version: str = PACT_SPEC_VERSION,
) -> dict[str, Any]:
    """Wrap a ShipmentFootprint as a PACT v2 ProductFootprint (iLEAP §pcf-mapping-sf).

    Derived: ``productIds`` = ``urn:pathfinder:product:customcode:vendor-assigned:shipment:<id>``,
    ``productCategoryCpc`` "83117", ``declaredUnit`` "ton kilometer", ``unitaryProductAmount`` =
    Σ transportActivity (must be > 0: a hub-only shipment cannot be declared per tkm),
    ``productMassPerDeclaredUnit`` = shipment mass (as the iLEAP mapping says, although the field is
    PACT v3), ``pCfExcludingBiogenic`` = ``fossilGhgEmissions`` = Σ co2eWTW,
    ``fossilCarbonContent`` and ``biogenicCarbonContent`` "0" (a service contains no carbon; the
    iLEAP Appendix B example does the same), ``packagingEmissionsIncluded`` false, and one extension
    (specVersion "2.0.0", dataSchema shipment-footprint.json, documentation) holding a copy of
    ``sf``.

    Filled by decision: ``id`` = ``pf_id`` or a UUID v5 of the productId URN (URL namespace), so
    re-exporting a shipment keeps its id; ``specVersion`` ``spec_version``, by default "2.2.0" (the
    SINE reference code);
    ``characterizationFactors`` / ``ipccCharacterizationFactorsSources`` AR6 (GLEC v3);
    ``crossSectoralStandardsUsed`` ["GHG Protocol Product standard"] (the only fitting value of that
    deprecated but still mandatory PACT v2 enum); the reference period defaults to the UTC calendar
    year of ``created`` (end exclusive); ``primaryDataShare`` only when given (percent, 0-100).
    Naive datetimes are taken as UTC. Raises :class:`InputErrors` when ``sf`` is malformed.
    """
    if not company_name.strip():
        raise ValueError("company_name must not be empty")
    if not company_ids or any(not str(c).startswith("urn:") for c in company_ids):
        raise ValueError("company_ids must be a non-empty list of URNs ('urn:...')")
    if primary_data_share is not None and not 0 <= primary_data_share <= 100:
        raise ValueError("primary_data_share is a percentage between 0 and 100")
    ck = _Checker(JSON_LABEL, strict=False)
    legs = _parse_shipments([dict(sf)], ck)
    InputErrors.raise_if_any(ck.errors)
    shipment_id = str(sf["shipmentId"])
    tces = sf["tces"]
    tkm = sum((_exact(t["transportActivity"]) for t in tces), Decimal(0))
    wtw = sum((_exact(t["co2eWTW"]) for t in tces), Decimal(0))
    if tkm <= 0:
        raise InputErrors.single(
            JSON_LABEL,
            f"ShipmentFootprint '{shipment_id}': total transportActivity is {_plain(tkm)}; PACT "
            "needs unitaryProductAmount > 0 (a shipment of hub TCEs only has no tkm)",
            row=1,
            field="tces",
        )
    assert legs
    product_id = f"urn:pathfinder:product:customcode:vendor-assigned:shipment:{shipment_id}"
    created_utc = as_utc(created)
    year = created_utc.year
    start = as_utc(reference_period_start or datetime(year, 1, 1, tzinfo=UTC))
    end = as_utc(reference_period_end or datetime(year + 1, 1, 1, tzinfo=UTC))
    if end <= start:
        raise ValueError("reference_period_end must be after reference_period_start")
    return pact_product_footprint(
        pf_id=pf_id or str(uuid.uuid5(uuid.NAMESPACE_URL, product_id)),
        version=version,
        created=_utc_text(created_utc),
        company_name=company_name,
        company_ids=[str(c) for c in company_ids],
        product_id=product_id,
        description=f"Logistics emissions related to shipment with ID {shipment_id}",
        name=f"Shipment with ID {shipment_id}",
        declared_unit="ton kilometer",
        amount=_plain(tkm),
        mass_per_unit=_plain(_exact(sf["mass"])),
        co2e_wtw=_plain(wtw),
        period=(_utc_text(start), _utc_text(end)),
        characterization_factors=characterization_factors,
        boundary=(
            "Well-to-wheel (WTW) GHG emissions of the shipment's transport chain elements, "
            "calculated according to ISO 14083:2023 and the GLEC Framework v3"
        ),
        primary_data_share=primary_data_share,
        extension=(SHIPMENT_FOOTPRINT_SCHEMA_URL, copy.deepcopy(dict(sf))),
        spec_version=spec_version,
    )


def pact_product_footprint(
    *,
    pf_id: str,
    created: str,
    company_name: str,
    company_ids: list[str],
    product_id: str,
    description: str,
    name: str,
    declared_unit: str,
    amount: str,
    mass_per_unit: str,
    co2e_wtw: str,
    period: tuple[str, str],
    extension: tuple[str, dict[str, Any]],
    version: int = 0,
    spec_version: str = PACT_SPEC_VERSION,
    characterization_factors: str = "AR6",
    boundary: str = (
        "Well-to-wheel (WTW) GHG emissions according to ISO 14083:2023 and the GLEC Framework v3"
    ),
    primary_data_share: float | None = None,
) -> dict[str, Any]:
    """The PACT v2 ProductFootprint envelope of one iLEAP data model extension (a
    ShipmentFootprint, TOC or HOC; ``extension`` = (dataSchema URL, data)): every mandatory field,
    decimals as strings, ``primaryDataShare`` only when given. Dates are ISO 8601 UTC texts."""
    pcf: dict[str, Any] = {
        "declaredUnit": declared_unit,
        "unitaryProductAmount": amount,
        "productMassPerDeclaredUnit": mass_per_unit,
        "pCfExcludingBiogenic": co2e_wtw,
        "fossilGhgEmissions": co2e_wtw,
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "characterizationFactors": characterization_factors,
        "ipccCharacterizationFactorsSources": [characterization_factors],
        "crossSectoralStandardsUsed": ["GHG Protocol Product standard"],
        "boundaryProcessesDescription": boundary,
        "referencePeriodStart": period[0],
        "referencePeriodEnd": period[1],
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "",
        "packagingEmissionsIncluded": False,
    }
    if primary_data_share is not None:
        pcf["primaryDataShare"] = primary_data_share
    return {
        "id": pf_id,
        "specVersion": spec_version,
        "version": version,
        "created": created,
        "status": "Active",
        "companyName": company_name,
        "companyIds": company_ids,
        "productDescription": description,
        "productIds": [product_id],
        "productCategoryCpc": "83117",
        "productNameCompany": name,
        "comment": "",
        "pcf": pcf,
        "extensions": [
            {
                "specVersion": EXTENSION_SPEC_VERSION,
                "dataSchema": extension[0],
                "documentation": ILEAP_DOCUMENTATION_URL,
                "data": extension[1],
            }
        ],
    }


def _exact(value: Any) -> Decimal:
    """A validated Decimal field (string, or a tolerated number) as a Decimal."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)

"""iLEAP v1.0 JSON (ShipmentFootprint, TOC, HOC; optionally wrapped in PACT) -> greenstream tables.

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
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.io.ileap.decimals import DECIMAL_PATTERN, plain, strings_for_numbers
from greenstream.io.ileap.schema import (
    AIR_SHIPPING_OPTIONS,
    FLIGHT_LENGTHS,
    HOCS_SCHEMA,
    HUB_ACTIVITY_UNITS,
    HUB_TYPES,
    JSON_LABEL,
    LEGS_SCHEMA,
    MODE_FROM_ILEAP,
    REFRIGERATED_SUFFIX,
    SYNTHETIC_ID_PREFIX,
    TEMPERATURE_CONTROLS,
    TOCS_SCHEMA,
    TRANSPORT_ACTIVITY_UNITS,
    TRUCK_LOADING_SEQUENCES,
    IleapShipments,
)

if TYPE_CHECKING:
    from greenstream.factors import Registry

__all__ = [
    "read_ileap_hocs",
    "read_ileap_shipments",
    "read_ileap_tocs",
    "synthetic_refs_as_defaults",
]

_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_SHARE_TOLERANCE: Final = Decimal("0.001")
_SF, _TOC, _HOC = "ShipmentFootprint", "TOC", "HOC"


def read_ileap_shipments(
    source: Path | str | bytes | Any, *, strict: bool = False
) -> IleapShipments:
    """Read the ShipmentFootprints (and any TOCs / HOCs) in ``source``.

    ``legs`` has one row per TCE, shipments in input order and TCEs in ``prevTceIds`` order, with
    the LEGS columns of docs/data-contract.md plus the reported values
    ``reported_transport_activity_tkm``, ``reported_co2e_wtw_kg`` and ``reported_co2e_ttw_kg``.
    ``tocs`` / ``hocs`` are ``None`` when the input has none.

    Parameters
    ----------
    source : pathlib.Path or str or bytes or Any
        A JSON file path, JSON text or bytes, or an already parsed JSON value (a document, an
        array, or a PACT ProductFootprint list holding iLEAP extensions).
    strict : bool, default False
        Refuse tolerated deviations (numbers instead of Decimal strings, ...) instead of reading
        them.

    Returns
    -------
    IleapShipments
        ``legs`` (mass in kg, distances in km), ``tocs`` and ``hocs``.

    Raises
    ------
    InputErrors
        Listing every problem, or when the input holds no ShipmentFootprint.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), ShipmentFootprint and
       TCE data types.

    Examples
    --------
    The ileap-go demo shipment: 40 t over 423 km = 16,920 tkm.

    >>> import json
    >>> tce = {"tceId": "S1-1", "prevTceIds": [], "tocId": "truck-40t", "shipmentId": "S1",
    ...        "mass": "40000", "distance": {"actual": "423"}, "transportActivity": "16920",
    ...        "co2eWTW": "1962.72", "co2eTTW": "1505.88"}
    >>> doc = json.dumps([{"mass": "40000", "shipmentId": "S1", "tces": [tce]}])
    >>> read_ileap_shipments(doc.encode()).legs.select(
    ...     "shipment_id", "mass_kg", "distance_km", "reported_transport_activity_tkm").rows()
    [('S1', 40000.0, 423.0, 16920.0)]
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
        legs=synthetic_refs_as_defaults(_frame(legs, LEGS_SCHEMA)),
        tocs=_frame([r for r in tocs if r is not None], TOCS_SCHEMA) if tocs else None,
        hocs=_frame([r for r in hocs if r is not None], HOCS_SCHEMA) if hocs else None,
    )


def read_ileap_tocs(source: Path | str | bytes | Any, *, strict: bool = False) -> pl.DataFrame:
    """Read the TOCs in ``source`` as a TOCS table (see the module notes on units and data_type).

    Parameters
    ----------
    source : pathlib.Path or str or bytes or Any
        A JSON file path, JSON text or bytes, or an already parsed JSON value (a document, an
        array, or a PACT ProductFootprint list holding iLEAP extensions).
    strict : bool, default False
        Refuse tolerated deviations (numbers instead of Decimal strings, ...) instead of reading
        them.

    Returns
    -------
    polars.DataFrame
        The TOCS table (intensities in kg CO2e per tkm, or per TEU-km for ``TEUkm`` TOCs).

    Raises
    ------
    InputErrors
        Listing every problem, or when the input holds no TOC.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, TOC data type.
    """
    return _read_intensities(source, strict, "TOC")


def read_ileap_hocs(source: Path | str | bytes | Any, *, strict: bool = False) -> pl.DataFrame:
    """Read the HOCs in ``source`` as a HOCS table (hub_type stays PascalCase, as in iLEAP).

    Parameters
    ----------
    source : pathlib.Path or str or bytes or Any
        A JSON file path, JSON text or bytes, or an already parsed JSON value (a document, an
        array, or a PACT ProductFootprint list holding iLEAP extensions).
    strict : bool, default False
        Refuse tolerated deviations (numbers instead of Decimal strings, ...) instead of reading
        them.

    Returns
    -------
    polars.DataFrame
        The HOCS table (intensities in kg CO2e per tonne, or per TEU for ``TEU`` HOCs).

    Raises
    ------
    InputErrors
        Listing every problem, or when the input holds no HOC.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, HOC data type.
    """
    return _read_intensities(source, strict, "HOC")


def _read_intensities(source: Any, strict: bool, kind: str) -> pl.DataFrame:
    """The TOCs or HOCs (``kind``) of ``source`` as a table; every problem listed at once."""
    file, doc = _load(source)
    found = _collect(doc, file)
    ck = _Checker(file, strict)
    objects, parse, schema = (
        (found.tocs, _parse_toc, TOCS_SCHEMA)
        if kind == "TOC"
        else (found.hocs, _parse_hoc, HOCS_SCHEMA)
    )
    rows = [parse(o, i, ck) for i, o in enumerate(objects, 1)]
    errors = found.errors + ck.errors
    if not errors and not objects:
        errors.append(InputError(file, None, None, f"no iLEAP {kind} found"))
    InputErrors.raise_if_any(errors)
    return _frame([r for r in rows if r is not None], schema)


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
                self.error(path, f"must be {sign} {plain(bound)}, got {plain(d)}")
                return None
        return d

    def to_decimal(self, value: Any, path: str) -> Decimal | None:
        if isinstance(value, str):
            if DECIMAL_PATTERN.fullmatch(value):
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
                f'a Decimal must be a JSON string ("{plain(d)}"), got the JSON number {value}',
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
            f"co2eTTW {plain(ttw)} is greater than co2eWTW {plain(wtw)} (WTW = TTW + WTT)",
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
        return f"{plain(lat)},{plain(lng)}"
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
            f"co2eIntensityTTW {plain(ttw)} is greater than co2eIntensityWTW {plain(wtw)} "
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
            f"relativeShare values add up to {plain(sum(shares, Decimal(0)))}, must be 1",
        )
    if not ck.ok_since(mark):
        return None
    return json.dumps(strings_for_numbers(value), ensure_ascii=False, separators=(",", ":"))


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
        ck.error(path, f"feedstockShare values add up to {plain(total)}, must be <= 1")


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


def synthetic_refs_as_defaults(
    legs: pl.DataFrame, registry: Registry | None = None
) -> pl.DataFrame:
    """TCEs whose ``tocId`` / ``hocId`` greenstream made up (``greenstream:<factor_id>``, see
    :mod:`greenstream.io.ileap.write`) as the default choice they stand for.

    A transport TCE gets the vehicle class and mode of the registry factor (and
    ``temperature_control = refrigerated`` with the ``+refrigerated`` suffix) and no ``toc_id``;
    a hub TCE gets the hub type and temperature control of the hub default and no ``hoc_id``. The
    kernel then chooses the same factor again, as a default (not as an operator's TOC), so a
    footprint greenstream wrote reads back with the same emissions and the same default share.
    Ids that name no registry factor are left as they are (and reported as unknown TOC / HOC ids).

    Parameters
    ----------
    legs : LEGS rows read from iLEAP (``toc_id``, ``hoc_id``, ``mode``, ``vehicle``,
        ``hub_type``, ``temperature_control``).
    registry : the factor registry the ids refer to (default: the built-in one).

    Returns
    -------
    ``legs`` with the synthetic ids resolved; the same frame when it has none.

    References
    ----------
    ISO 14083:2023, 5.2.4 (default data where primary data are missing); iLEAP v1.0, TCE
    ``tocId`` / ``hocId``.
    """
    prefix = SYNTHETIC_ID_PREFIX
    synthetic = pl.col("toc_id").str.starts_with(prefix) | pl.col("hoc_id").str.starts_with(prefix)
    if legs.height == 0 or not bool(legs.select(synthetic.any()).item()):
        return legs
    if registry is None:
        from greenstream.factors import Registry

        registry = Registry.builtin()
    classes = registry.transport_intensities().select("factor_id", "vehicle_class", "mode")
    transport = pl.concat(
        [
            classes.select(
                (prefix + pl.col("factor_id") + suffix).alias("toc_id"),
                pl.col("vehicle_class").alias("__class"),
                pl.col("mode").alias("__class_mode"),
                pl.lit(reefer, dtype=pl.String).alias("__tc"),
            )
            for suffix, reefer in (("", None), (REFRIGERATED_SUFFIX, "refrigerated"))
        ]
    ).unique(subset="toc_id", keep="first", maintain_order=True)
    hubs = (
        registry.hub_defaults()
        .select(
            (prefix + pl.col("factor_id")).alias("hoc_id"),
            pl.col("hub_type").alias("__hub_type"),
            # a refrigerated hub falls back to the mixed default when its type has no
            # temperature-controlled one, so mixed and refrigerated both read as refrigerated
            pl.when(pl.col("temperature_control") == "ambient")
            .then(pl.lit("ambient"))
            .otherwise(pl.lit("refrigerated"))
            .alias("__hub_tc"),
        )
        .unique(subset="hoc_id", keep="first", maintain_order=True)
    )
    known_toc = pl.col("__class").is_not_null()
    known_hoc = pl.col("__hub_type").is_not_null()
    added = [c for c in ("mode", "vehicle", "hub_type", "temperature_control") if c not in legs]
    legs = legs.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in added)
    return (
        legs.join(transport, on="toc_id", how="left", maintain_order="left")
        .join(hubs, on="hoc_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(known_toc)
            .then(pl.col("__class"))
            .otherwise(pl.col("vehicle"))
            .alias("vehicle"),
            pl.when(known_toc).then(pl.col("__class_mode")).otherwise(pl.col("mode")).alias("mode"),
            pl.when(known_hoc)
            .then(pl.col("__hub_type"))
            .otherwise(pl.col("hub_type"))
            .alias("hub_type"),
            pl.when(known_toc)
            .then(pl.col("__tc"))
            .when(known_hoc)
            .then(pl.col("__hub_tc"))
            .otherwise(pl.col("temperature_control"))
            .alias("temperature_control"),
            pl.when(known_toc).then(None).otherwise(pl.col("toc_id")).alias("toc_id"),
            pl.when(known_hoc).then(None).otherwise(pl.col("hoc_id")).alias("hoc_id"),
        )
        .select(legs.columns)
    )

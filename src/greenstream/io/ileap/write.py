"""greenstream tables -> iLEAP v1.0 JSON (ShipmentFootprint, TOC, HOC).

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
  ``"greenstream:" + factor_id`` (the registry factor the kernel used), with ``+refrigerated``
  for a refrigerated transport row; reading the file back turns these ids into the vehicle class
  (hub type) and temperature control again, so the kernel makes the same default choice.
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

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.geo import distance_adjustment_table
from greenstream.io.atomic import atomic_path
from greenstream.io.ileap.decimals import decimal_string, plain, strings_for_numbers, utc_text
from greenstream.io.ileap.schema import (
    ENERGY_CARRIERS,
    HUB_TYPES,
    MODE_FROM_ILEAP,
    MODE_TO_ILEAP,
    REFRIGERATED_SUFFIX,
    SYNTHETIC_ID_PREFIX,
    TEMPERATURE_CONTROLS,
)

__all__ = ["write_ileap_hocs", "write_ileap_shipments", "write_ileap_tocs"]

MASS_DECIMALS: Final = 3
DISTANCE_DECIMALS: Final = 3
ACTIVITY_DECIMALS: Final = 3
INTENSITY_DECIMALS: Final = 9

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


def _write_json(docs: list[dict[str, Any]], path: Path | None) -> None:
    if path is None:
        return
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(docs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def raw_distance(row: Mapping[str, Any], basis: str) -> Any:
    """The unadjusted distance of a transport row (see the module notes).

    A GCD the kernel adjusted is un-adjusted with the same factors the kernel applied: the
    geo distance adjustment table, looked up by the row's mode.

    Parameters
    ----------
    row : mapping of str to Any
        One kernel output row (``distance_km``, ``distance_used_km``, ``mode``).
    basis : str
        The row's distance basis (``actual``, ``sfd`` or ``gcd``).

    Returns
    -------
    Any
        Distance, km: the given ``distance_km``, else the used distance with the adjustment
        undone for a great-circle basis, else ``distance_used_km`` as is.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4.4 (use of distance adjustment factor).

    Examples
    --------
    An air leg the kernel took as GCD + 95 km = 1,095 km was 1,000 km great circle:

    >>> raw_distance({"distance_km": None, "distance_used_km": 1095.0, "mode": "air"}, "gcd")
    1000.0
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
    file: str = "<results>",
) -> list[dict[str, Any]]:
    """Kernel output -> one iLEAP ShipmentFootprint per shipment (see the module notes).

    Needs ``shipment_id``, ``mass_kg``, ``transport_activity_tkm``, ``co2e_wtw_kg``,
    ``co2e_ttw_kg`` and ``distance_used_km`` or ``distance_km``; uses ``tce_id``, ``toc_id``,
    ``hoc_id``, ``hub_type``, ``factor_id``, ``distance_basis``, ``distance_adjustment`` and
    ``departure_at`` when present. kg CO2e are rounded to ``co2e_decimals`` (2, as the SINE
    reference code), mass / km / tkm to 3. Given ``path``, also writes the JSON array there
    atomically.

    Parameters
    ----------
    results : polars.DataFrame or polars.LazyFrame
        Kernel output (:func:`greenstream.accounting.compute`), masses in kg, distances in km.
    path : pathlib.Path, optional
        Where to write the JSON array.
    co2e_decimals : int, default 2
        Decimals of the kg CO2e fields.
    file : str, default "<results>"
        The name of ``results`` in errors (the user's file).

    Returns
    -------
    list of dict
        The ShipmentFootprints (all numbers as Decimal strings).

    Raises
    ------
    InputErrors
        File ``file``, row = 1-based results row, for rows that cannot be written.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, ShipmentFootprint and TCE (``co2eWTW``,
       ``co2eTTW`` in kg CO2e; ``transportActivity`` in tkm).

    Examples
    --------
    >>> import polars as pl
    >>> results = pl.DataFrame({"shipment_id": ["S1"], "mass_kg": [40_000.0],
    ...                         "distance_km": [423.0], "transport_activity_tkm": [16_920.0],
    ...                         "co2e_wtw_kg": [1962.7200000000003], "co2e_ttw_kg": [1505.88],
    ...                         "mode": ["road"], "toc_id": ["truck-40t"]})
    >>> tce = write_ileap_shipments(results)[0]["tces"][0]
    >>> tce["transportActivity"], tce["co2eWTW"], tce["distance"]
    ('16920', '1962.72', {'actual': '423'})
    """
    label = file
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
            if not hub and str(row.get("temperature_control") or "") == "refrigerated":
                ref += REFRIGERATED_SUFFIX
        else:
            bad(
                "hoc_id" if hub else "toc_id",
                f"no {'hoc_id' if hub else 'toc_id'} and no factor_id to name the "
                f"{'HOC' if hub else 'TOC'} of this TCE",
            )
        distance = {"actual": "0"}
        if not hub:
            basis = str(row["distance_basis"]) if _present(row.get("distance_basis")) else "actual"
            raw = raw_distance(row, basis)
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
                tce["departureAt"] = utc_text(row["departure_at"])
                tce["co2eWTW"], tce["co2eTTW"] = wtw, ttw
        except (ValueError, InvalidOperation, TypeError) as exc:
            bad("", f"cannot write the TCE: {exc}")
            continue
        chain.append(tce)
        masses[sid] = max(masses.get(sid, Decimal(mass)), Decimal(mass))
    InputErrors.raise_if_any(errors)
    docs = [
        {"mass": plain(masses[sid]), "shipmentId": sid, "tces": tces}
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
        return list(strings_for_numbers(carriers))
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
    tocs: pl.DataFrame | pl.LazyFrame, path: Path | None = None, *, file: str = "<tocs>"
) -> list[dict[str, Any]]:
    """TOCS table -> iLEAP TOC objects (mode PascalCase; energyCarriers per the module notes).

    ``transport_activity_unit`` "TEUkm" takes the ``*_per_teukm`` intensities, anything else
    writes ``tkm`` from the ``*_per_tkm`` ones.

    Parameters
    ----------
    tocs : polars.DataFrame or polars.LazyFrame
        A TOCS table (intensities in kg CO2e per tkm or per TEU-km).
    path : pathlib.Path, optional
        Where to write the JSON array (atomically).
    file : str, default "<tocs>"
        The name of ``tocs`` in errors (the user's file).

    Returns
    -------
    list of dict
        The TOC objects.

    Raises
    ------
    InputErrors
        File ``file``, for rows that cannot be written.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, TOC data type.
    """
    errors: list[InputError] = []
    docs: list[dict[str, Any]] = []
    for op in _operation_rows(
        tocs,
        errors,
        label=file,
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
    hocs: pl.DataFrame | pl.LazyFrame, path: Path | None = None, *, file: str = "<hocs>"
) -> list[dict[str, Any]]:
    """HOCS table -> iLEAP HOC objects (energyCarriers per the module notes).

    ``hub_activity_unit`` "TEU" takes the ``*_per_teu`` intensities, anything else writes
    ``tonnes`` from the ``*_per_t`` ones.

    Parameters
    ----------
    hocs : polars.DataFrame or polars.LazyFrame
        A HOCS table (intensities in kg CO2e per tonne or per TEU).
    path : pathlib.Path, optional
        Where to write the JSON array (atomically).
    file : str, default "<hocs>"
        The name of ``hocs`` in errors (the user's file).

    Returns
    -------
    list of dict
        The HOC objects.

    Raises
    ------
    InputErrors
        File ``file``, for rows that cannot be written.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, HOC data type.
    """
    errors: list[InputError] = []
    docs: list[dict[str, Any]] = []
    for op in _operation_rows(
        hocs,
        errors,
        label=file,
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

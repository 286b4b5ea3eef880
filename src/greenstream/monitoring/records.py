"""Telemetry record schemas: one Polars schema per record type, with the issue's field names.

Record types and their fields (``?`` = optional):

- ``gps``:    device_id, ts, lat, lon, speed_kmh?
- ``fuel``:   vehicle_id, ts, energy_carrier, energy_amount, energy_unit
- ``charge``: vehicle_id, ts, energy_kwh, grid_region
- ``meter``:  site_id, meter_id, ts, kind (pv_generation | grid_import | consumption), energy_kwh
- ``scan``:   waybill_id, ts, event (load | unload | deliver), vehicle_id or hub_id, mass_kg?,
  device_id? (the tracker travelling with the consignment)

Every record may also carry ``record_id`` (its identity when present) and ``source`` (who sent it;
default: the ingestion's ``source`` setting). ``ts`` is an ISO 8601 timestamp; a value without
offset is taken as UTC. Identity of a record: ``record_id`` when given, else
``(record_type, source, device, ts)`` where *device* is the field named in :data:`DEVICE_FIELD`.

On the wire every record type shares one *wide* schema (:data:`WIRE_SCHEMA`, the union of all
fields plus ``record_type``) so one decode handles files and messages that mix record types.
"""

from __future__ import annotations

from typing import Final

import polars as pl

RECORD_TYPES: Final = ("gps", "fuel", "charge", "meter", "scan")
TS_DTYPE: Final = pl.Datetime("us", "UTC")

COMMON_FIELDS: Final[dict[str, pl.DataType]] = {
    "record_id": pl.String(),
    "source": pl.String(),
}

SCHEMAS: Final[dict[str, dict[str, pl.DataType]]] = {
    "gps": {
        "device_id": pl.String(),
        "ts": TS_DTYPE,
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "speed_kmh": pl.Float64(),
    },
    "fuel": {
        "vehicle_id": pl.String(),
        "ts": TS_DTYPE,
        "energy_carrier": pl.String(),
        "energy_amount": pl.Float64(),
        "energy_unit": pl.String(),
    },
    "charge": {
        "vehicle_id": pl.String(),
        "ts": TS_DTYPE,
        "energy_kwh": pl.Float64(),
        "grid_region": pl.String(),
    },
    "meter": {
        "site_id": pl.String(),
        "meter_id": pl.String(),
        "ts": TS_DTYPE,
        "kind": pl.String(),
        "energy_kwh": pl.Float64(),
    },
    "scan": {
        "waybill_id": pl.String(),
        "ts": TS_DTYPE,
        "event": pl.String(),
        "vehicle_id": pl.String(),
        "hub_id": pl.String(),
        "mass_kg": pl.Float64(),
        # the tracker travelling with the consignment, if any (links its track to the rides)
        "device_id": pl.String(),
    },
}

REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "gps": ("device_id", "ts", "lat", "lon"),
    "fuel": ("vehicle_id", "ts", "energy_carrier", "energy_amount", "energy_unit"),
    "charge": ("vehicle_id", "ts", "energy_kwh", "grid_region"),
    "meter": ("site_id", "meter_id", "ts", "kind", "energy_kwh"),
    "scan": ("waybill_id", "ts", "event"),
}

# The field that names the device of a record: part of the fallback identity and checked against
# a device registry.
DEVICE_FIELD: Final[dict[str, str]] = {
    "gps": "device_id",
    "fuel": "vehicle_id",
    "charge": "vehicle_id",
    "meter": "meter_id",
    "scan": "waybill_id",
}

METER_KINDS: Final = ("pv_generation", "grid_import", "consumption")
SCAN_EVENTS: Final = ("load", "unload", "deliver")
ENERGY_UNITS: Final = ("l", "kg", "kWh", "MJ")

# Subtype of a record in the aggregates: the field that splits a record type further.
SUBTYPE_FIELD: Final[dict[str, str | None]] = {
    "gps": None,
    "fuel": "energy_carrier",
    "charge": None,
    "meter": "kind",
    "scan": "event",
}


def _wire_schema() -> dict[str, pl.DataType]:
    wide: dict[str, pl.DataType] = {"record_type": pl.String(), **COMMON_FIELDS}
    for fields in SCHEMAS.values():
        for name, dtype in fields.items():
            if name in wide and wide[name] != dtype:  # pragma: no cover - schema invariant
                raise AssertionError(f"field {name} has two types")
            wide[name] = dtype
    return wide


WIRE_SCHEMA: Final[dict[str, pl.DataType]] = _wire_schema()
# The same fields, every one read as text: the slow path that finds unparseable values.
WIRE_TEXT_SCHEMA: Final[dict[str, pl.DataType]] = {name: pl.String() for name in WIRE_SCHEMA}


def schema_of(record_type: str) -> dict[str, pl.DataType]:
    """The Polars schema of one record type, common fields included.

    Parameters
    ----------
    record_type : str
        One of :data:`SCHEMAS` (``gps``, ``fuel``, ``charge``, ``meter``, ``scan``).

    Returns
    -------
    dict of str to DataType
        Field name to Polars dtype.

    Examples
    --------
    >>> list(schema_of("gps"))
    ['record_id', 'source', 'device_id', 'ts', 'lat', 'lon', 'speed_kmh']
    """
    return {**COMMON_FIELDS, **SCHEMAS[record_type]}

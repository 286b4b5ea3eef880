"""Pydantic v2 request / response schemas of the platform endpoints (separate from storage)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from greenstream.store.ids import ID_MAX_LENGTH, ID_PATTERN

Cell = str | float | int | bool | None
Row = dict[str, Cell]

_TEXT = r"^[^\x00-\x1f\x7f]*$"
_ID = {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, "pattern": ID_PATTERN}
_COMMON_LEG: dict[str, Any] = {
    "shipment_id": _ID,
    "tce_id": _ID,
    "mass_kg": {"type": "number", "exclusiveMinimum": 0, "description": "kg, finite"},
    "departure_at": {"type": "string", "format": "date-time"},
    "arrival_at": {"type": "string", "format": "date-time"},
}
# One LEGS row of docs/data-contract.md as JSON Schema: a transport leg or a hub stop. The other
# columns of the contract (origin, destination, toc_id, hoc_id, trip_id, vehicle, load_factor,
# energy_carrier, grid_region, ...) are accepted too, and checked row by row with the rules of
# the contract: references to TOCs / HOCs / trips / places must resolve; the rows of a shipment
# are consecutive; a shipment has transport activity (> 0 tkm); every figure is finite.
LEG_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    "anyOf": [
        {
            "title": "TransportLeg",
            "required": ["shipment_id", "mass_kg", "mode", "distance_km"],
            "properties": {
                **_COMMON_LEG,
                "mode": {
                    "type": "string",
                    "enum": ["road", "rail", "sea", "inland_waterway", "air"],
                },
                "distance_km": {"type": "number", "minimum": 0, "description": "km, finite"},
                "distance_basis": {"type": "string", "enum": ["actual", "sfd", "gcd"]},
                "temperature_control": {"type": "string", "enum": ["ambient", "refrigerated"]},
            },
        },
        {
            "title": "HubStop",
            "required": ["shipment_id", "mass_kg", "hub_type"],
            "properties": {
                **_COMMON_LEG,
                "hub_type": {
                    "type": "string",
                    "enum": [
                        "Transshipment",
                        "StorageAndTransshipment",
                        "Warehouse",
                        "LiquidBulkTerminal",
                        "MaritimeContainerTerminal",
                    ],
                },
            },
        },
    ],
}


class UploadResult(BaseModel):
    """A stored upload: its audit seq, sealed record's SHA-256 and counts."""

    audit_seq: int
    record_sha256: str
    shipment_count: int
    tce_count: int


class JobOut(BaseModel):
    """An upload job: status, stage, rows done of rows total, and the result or errors."""

    job_id: str
    status: str
    stage: str
    rows_total: int
    rows_done: int
    progress: float = Field(description="0..1")
    shipment_count: int
    audit_seq: int | None = None
    errors: list[dict[str, Any]] | None = None


class FootprintOut(BaseModel):
    """A shipment's footprint: mass (kg), activity (tkm), distance (km), emissions (kg CO2e)."""

    shipment_id: str
    pf_id: str
    audit_seq: int
    created_at: datetime
    tce_count: int
    mass_kg: float
    transport_activity_tkm: float
    distance_used_km: float
    co2e_wtw_kg: float
    co2e_ttw_kg: float
    co2e_wtt_kg: float
    co2e_wtw_low_kg: float
    co2e_wtw_high_kg: float
    primary_data_share: float
    origin: str | None = None
    destination: str | None = None
    main_mode: str | None = None
    period: str | None = None
    co2e_wtw_kg_default: float | None = Field(
        default=None,
        description="kg CO2e WTW of the chain elements computed with a default factor (method "
        "'default'); null when unknown (a shipment stored before revision 1400 whose chain "
        "could not be read)",
    )
    default_share: float | None = Field(
        default=None,
        description="share of the WTW resting on default factors: co2e_wtw_kg_default / "
        "co2e_wtw_kg (0..1; 0 when the WTW is 0); null when unknown",
    )


class FootprintPage(BaseModel):
    """A page of footprints and the offset of the next page (None on the last)."""

    data: list[FootprintOut]
    next_offset: int | None = None


Mode = Literal["road", "rail", "sea", "inland_waterway", "air"]
HubType = Literal[
    "Transshipment",
    "StorageAndTransshipment",
    "Warehouse",
    "LiquidBulkTerminal",
    "MaritimeContainerTerminal",
]
DataType = Literal["primary", "secondary"]
# ids: 1-200 characters, no control character, no '/' (greenstream.store.ids)
IdText = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Description = Annotated[
    str, Field(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
Intensity = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class TocIn(BaseModel):
    """A TOC: WTW and TTW intensities in kg CO2e per tonne-km (TTW must not exceed WTW)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    toc_id: IdText
    mode: Mode
    intensity_wtw_kg_per_tkm: Intensity
    intensity_ttw_kg_per_tkm: Intensity
    data_type: DataType | None = None
    description: Description | None = None


class TocOut(TocIn):
    """A published TOC with its PACT id, times and version."""

    pf_id: str = Field(description="the PACT ProductFootprint id (UUID v4, kept on republish)")
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="the PACT version: 0, then +1 per changed republish")


class HocIn(BaseModel):
    """A HOC: WTW and TTW intensities in kg CO2e per tonne handled (TTW must not exceed WTW)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    hoc_id: IdText
    hub_type: HubType
    intensity_wtw_kg_per_t: Intensity
    intensity_ttw_kg_per_t: Intensity
    data_type: DataType | None = None
    description: Description | None = None


class HocOut(HocIn):
    """A published HOC with its PACT id, times and version."""

    pf_id: str = Field(description="the PACT ProductFootprint id (UUID v4, kept on republish)")
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="the PACT version: 0, then +1 per changed republish")


class AggregateRow(BaseModel):
    """Sums of one group: counts, activity (tkm) and emissions (kg CO2e), and the part of the
    WTW resting on default factors."""

    key: dict[str, str | None]
    shipment_count: int | None = None
    tce_count: int
    transport_activity_tkm: float
    co2e_wtw_kg: float
    co2e_ttw_kg: float
    co2e_wtw_kg_default: float | None = Field(
        default=None,
        description="kg CO2e WTW of the group's chain elements computed with a default factor "
        "(method 'default'); null when unknown for part of the group (data stored before "
        "revision 1400 whose chain could not be read)",
    )
    default_share: float | None = Field(
        default=None,
        description="share of the group's WTW resting on default factors: co2e_wtw_kg_default / "
        "co2e_wtw_kg (0..1; 0 when the WTW is 0); null when unknown",
    )


class TraceElement(BaseModel):
    """One chain element of a trace: what it is, distance (km), activity (tkm), emissions (kg CO2e)."""

    seq: int
    tce_id: str
    kind: str
    mode: str | None = None
    hub_type: str | None = None
    origin: str | None = None
    destination: str | None = None
    departure_at: datetime | None = None
    arrival_at: datetime | None = None
    distance_used_km: float
    transport_activity_tkm: float
    co2e_wtw_kg: float
    method: str
    factor_id: str | None = None


class TraceOut(BaseModel):
    """A shipment's chain elements with its total (kg CO2e WTW)."""

    shipment_id: str
    pf_id: str
    audit_seq: int
    elements: list[TraceElement]
    co2e_wtw_kg: float


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


class UploadBody(BaseModel):
    """Shipments as LEGS rows (docs/data-contract.md), with optional TOCS / HOCS / TRIPS rows.

    Every bad row is reported with its 1-based row number, field and reason (400)."""

    model_config = ConfigDict(extra="forbid")

    legs: list[Row] = Field(
        min_length=1, max_length=1_000_000, json_schema_extra={"items": LEG_ROW_SCHEMA}
    )
    tocs: list[Row] | None = Field(default=None, json_schema_extra={"items": _model_schema(TocIn)})
    hocs: list[Row] | None = Field(default=None, json_schema_extra={"items": _model_schema(HocIn)})
    trips: list[Row] | None = None


def _time_zones() -> tuple[str, ...]:
    """IANA time zone names both the standard library and Polars (its own copy of the tz
    database, for the period keys) resolve: the names the ``tz`` / ``time_zone`` fields take."""
    from zoneinfo import available_timezones

    import polars as pl

    probe = pl.Series([0]).cast(pl.Datetime("us", "UTC"))
    names = []
    for name in sorted(available_timezones()):
        try:
            probe.dt.convert_time_zone(name)
        except Exception:  # a name Polars does not know is left out
            continue
        names.append(name)
    return tuple(names)


TIME_ZONES: tuple[str, ...] = _time_zones()
TIME_ZONE_SET: frozenset[str] = frozenset(TIME_ZONES)
# the JSON Schema of a time zone field: one of the names (a closed set, documented as an enum)
TIME_ZONE_SCHEMA: dict[str, Any] = {"enum": list(TIME_ZONES)}


# --------------------------------------------------------------------------------------------
# times and days as typed inputs: the schema states the text accepted, and the server takes
# exactly that text (Pydantic alone would also take a number as Unix seconds, and a date-time
# or a number for a day)
# --------------------------------------------------------------------------------------------

_YEAR = r"(?:19[7-9][0-9]|2[0-9]{3})"
_DAY_OF_YEAR = r"(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
# RFC 3339 date-time with an offset, years 1970-2999 (a time outside is a clock error), seconds
# 00-59
DATE_TIME_PATTERN = (
    rf"^{_YEAR}-{_DAY_OF_YEAR}"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
# RFC 3339 full-date, years 1970-2999
DATE_PATTERN = rf"^{_YEAR}-{_DAY_OF_YEAR}$"
_DATE_TIME_RE = re.compile(DATE_TIME_PATTERN)
_DATE_RE = re.compile(DATE_PATTERN)


def rfc3339_date_time(value: object) -> object:
    """``value`` when it is the text of an RFC 3339 date-time with an offset, years 1970-2999
    (then parsed, and a day the month does not have refused, by the ``datetime`` type).

    Parameters
    ----------
    value : object
        The raw input.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValueError
        When ``value`` is not such a text (a number, a day, a time without offset, ...).

    References
    ----------
    .. [1] RFC 3339 (2002), 5.6 Internet date/time format (``date-time``).

    Examples
    --------
    >>> rfc3339_date_time("2026-11-11T00:00:00+08:00")
    '2026-11-11T00:00:00+08:00'
    >>> rfc3339_date_time("37.719")
    Traceback (most recent call last):
    ...
    ValueError: must be an RFC 3339 date-time with an offset, years 1970-2999 (e.g. 2026-11-11T00:00:00Z)
    """
    if not isinstance(value, str) or _DATE_TIME_RE.fullmatch(value) is None:
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, years 1970-2999 "
            "(e.g. 2026-11-11T00:00:00Z)"
        )
    return value


def rfc3339_date(value: object) -> object:
    """``value`` when it is the text of an RFC 3339 full-date, years 1970-2999 (then parsed,
    and a day the month does not have refused, by the ``date`` type).

    Parameters
    ----------
    value : object
        The raw input.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValueError
        When ``value`` is not such a text (a number, a date-time, ...).

    References
    ----------
    .. [1] RFC 3339 (2002), 5.6 Internet date/time format (``full-date``).

    Examples
    --------
    >>> rfc3339_date("2026-11-11")
    '2026-11-11'
    >>> rfc3339_date("86400")
    Traceback (most recent call last):
    ...
    ValueError: must be an RFC 3339 date, years 1970-2999 (e.g. 2026-11-11)
    """
    if not isinstance(value, str) or _DATE_RE.fullmatch(value) is None:
        raise ValueError("must be an RFC 3339 date, years 1970-2999 (e.g. 2026-11-11)")
    return value


# an instant with its offset (query parameters and body fields)
OffsetDateTime = Annotated[
    datetime,
    BeforeValidator(rfc3339_date_time),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}),
]
# a calendar day
CalendarDate = Annotated[
    date,
    BeforeValidator(rfc3339_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]

"""GS1 EPCIS 2.0 JSON: read, validate against the official schema, and flatten events to rows.

Validation uses the GS1 EPCIS 2.0 JSON Schema, vendored unchanged with its licence in
``io/epcis_data/`` (github.com/gs1/EPCIS, ``EPCIS-JSON-Schema.json``, commit 2b888bef), compiled
once by ``fastjsonschema`` (remote ``$ref`` s are refused, nothing is fetched).

Two paths give the same verdicts:

* the fast path decodes a document with ``msgspec`` structs of the common ObjectEvent fields
  (type, action, eventTime, eventTimeZoneOffset, recordTime, eventID, epcList, quantityList,
  bizStep, disposition, readPoint, bizLocation, bizTransactionList, sourceList,
  destinationList): the schema's types, required fields and enumerations, unknown fields
  refused. Then the schema's patterns and the schema validator's ``uri`` / ``date-time``
  formats are checked over the whole document, each distinct value once (a box's EPC, a
  location, a business step recur in thousands of events), with the same regular expressions;
* anything the fast path does not take (other event types, extension fields, sensor data, a
  fast-path refusal) is validated by the compiled schema, event by event, so every bad event is
  named with its index and the schema's reason.

Tests hold the fast path to the schema: on GS1's example files and on generated documents, valid
and invalid, a document is accepted exactly when the schema accepts it, a refusal names the
events and fields the schema names, and the rows stored are those of the schema path.

Idempotency: each event gets ``event_hash``, greenstream's own event hash: the SHA-256 of its
JSON with sorted keys and no insignificant whitespace, without ``eventID``, ``recordTime`` and
``errorDeclaration``; a repository stores an event once per tenant and hash. It is not the
CBV 2.0 event hash ID (``ni:///sha-256;...?ver=CBV2.0``): two serialisations of one event that
differ in more than key order (a URN against its Digital Link, a bare CBV word against its URI)
get different greenstream hashes (decision 0900 says why the CBV hash is not used yet).

References
----------
GS1 (2022). EPCIS and CBV 2.0 standard, sections 7 (data definition) and 12 (JSON binding).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import msgspec
import orjson
import polars as pl

from greenstream.errors import InputError, InputErrors

SCHEMA_FILE: Final = "EPCIS-JSON-Schema.json"

# the formats of the schema validator (fastjsonschema draft-07), so both paths agree; the
# schema's own patterns as that validator compiles them: an unescaped $ becomes \Z (a trailing
# newline does not match)
URI_RE: Final = r"^\w+:(\/?\/?)[^\s]+\Z"
DATE_TIME_RE: Final = (
    r"^(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))|(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]"
    r"|[13579][26])00)-02-29)(t|T)(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?"
    r"(?:[+-](?:[01]\d|2[0-3]):[0-5]\d|[+-](?:[01]\d|2[0-3])[0-5]\d|z|Z)\Z"
)
OFFSET_RE: Final = r"^([+]|[-])((0[0-9]|1[0-3]):([0-5][0-9])|14:00)\Z"
OTHER_URI_RE: Final = r"^(?!(urn:epcglobal:cbv|https?:\/\/ns\.gs1\.org\/cbv\/))\w+:(\/?\/?)[^\s]+\Z"
VERSION_RE: Final = r"^\d+(\.\d+)*\Z"
UOM_RE: Final = r"^[A-Z0-9]{2,3}\Z"

BIZ_STEPS: Final = [
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
    "sensor_reporting",
    "sampling",
]
DISPOSITIONS: Final = [
    "active",
    "container_closed",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "no_pedigree_match",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unknown",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_open",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "non_conformant",
    "unavailable",
]
SOURCE_DEST_TYPES: Final = ("owning_party", "possessing_party", "location")
BIZ_TRANSACTION_TYPES: Final = [
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
]


def _vocab(words: list[str] | tuple[str, ...]) -> str:
    """A term of the CBV list, or another URI (the schema's anyOf of enum and vocab-other-uri)."""
    return r"^(?:" + "|".join(re.escape(w) for w in words) + r")\Z|" + OTHER_URI_RE


# The string fields of the structs below are checked against these patterns after decoding, once
# per distinct value of a document (``_fast_checks``), with ``re.search`` as the schema validator
# does.
_URI_OK: Final = re.compile(URI_RE).search
_TIME_OK: Final = re.compile(DATE_TIME_RE).search
_OFFSET_OK: Final = re.compile(OFFSET_RE).search
_VERSION_OK: Final = re.compile(VERSION_RE).search
_UOM_OK: Final = re.compile(UOM_RE).search
_BIZ_STEP_OK: Final = re.compile(_vocab(BIZ_STEPS)).search
_DISPOSITION_OK: Final = re.compile(_vocab(DISPOSITIONS)).search
_SOURCE_DEST_TYPE_OK: Final = re.compile(_vocab(SOURCE_DEST_TYPES)).search
_BIZ_TRANSACTION_TYPE_OK: Final = re.compile(_vocab(BIZ_TRANSACTION_TYPES)).search


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """Unknown fields refused. The structs hold strings, numbers, tuples and other structs only,
    so they cannot form reference cycles: the garbage collector does not track them (``gc=False``)
    and it stops tracking their tuples the first time it examines them, so a document's events
    do not trigger collections of the whole heap."""


class Location(_Strict):
    """An EPCIS 2.0 location (``readPoint`` / ``bizLocation``): its identifier URI."""

    id: str  # URI


class QuantityElement(_Strict):
    """An EPCIS 2.0 quantity element: an EPC class, a quantity and its UN/CEFACT unit."""

    epcClass: str  # URI
    quantity: int | float | msgspec.UnsetType = msgspec.UNSET
    uom: str | msgspec.UnsetType = msgspec.UNSET  # UOM_RE


class BizTransaction(_Strict):
    """An EPCIS 2.0 business transaction reference and its CBV type."""

    bizTransaction: str  # URI
    type: str | msgspec.UnsetType = msgspec.UNSET  # CBV BTT or another URI


class Source(_Strict):
    """An EPCIS 2.0 source: its CBV type (``owning_party``, ``location``, ...) and URI."""

    type: str  # CBV SDT or another URI
    source: str  # URI


class Destination(_Strict):
    """An EPCIS 2.0 destination: its CBV type and URI."""

    type: str  # CBV SDT or another URI
    destination: str  # URI


class ObjectEvent(_Strict, tag_field="type", tag="ObjectEvent"):
    """The ObjectEvent fields the fast path takes (see the module docstring); the patterns of the
    string fields are checked by ``_fast_checks``."""

    action: Literal["ADD", "OBSERVE", "DELETE"]
    eventTime: str  # date-time
    eventTimeZoneOffset: str  # OFFSET_RE
    recordTime: str | msgspec.UnsetType = msgspec.UNSET  # date-time
    eventID: str | msgspec.UnsetType = msgspec.UNSET  # URI
    epcList: tuple[str, ...] | msgspec.UnsetType = msgspec.UNSET  # URIs, unique
    quantityList: tuple[QuantityElement, ...] | msgspec.UnsetType = msgspec.UNSET
    bizStep: str | msgspec.UnsetType = msgspec.UNSET  # CBV BizStep or another URI
    disposition: str | msgspec.UnsetType = msgspec.UNSET  # CBV Disp or another URI
    readPoint: Location | msgspec.UnsetType = msgspec.UNSET
    bizLocation: Location | msgspec.UnsetType = msgspec.UNSET
    bizTransactionList: tuple[BizTransaction, ...] | msgspec.UnsetType = msgspec.UNSET
    sourceList: tuple[Source, ...] | msgspec.UnsetType = msgspec.UNSET
    destinationList: tuple[Destination, ...] | msgspec.UnsetType = msgspec.UNSET


class _Body(_Strict):
    eventList: list[ObjectEvent]


class _Document(_Strict):
    context: str | list[str] = msgspec.field(name="@context")  # URIs, unique
    type: Literal["EPCISDocument"]
    schemaVersion: str  # VERSION_RE
    creationDate: str  # date-time
    epcisBody: _Body
    id: str | msgspec.UnsetType = msgspec.UNSET  # URI


_DOCUMENT_DECODER = msgspec.json.Decoder(_Document)
HASH_EXCLUDED: Final = ("eventID", "recordTime", "errorDeclaration")


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"remote schema reference refused: {uri}")


@cache
def schema() -> dict[str, Any]:
    """The vendored GS1 EPCIS 2.0 JSON Schema (inlined, draft-07)."""
    text = (resources.files("greenstream.io") / "epcis_data" / SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validators() -> tuple[Any, Any]:
    """Compiled validators of a whole document and of one event of a document's eventList."""
    import fastjsonschema

    full = schema()
    handlers = {"http": _refuse_remote, "https": _refuse_remote}
    document = fastjsonschema.compile(full, handlers=handlers)
    event_schema = {
        "$schema": full["$schema"],
        "$id": full["$id"],
        "definitions": full["definitions"],
        "$ref": "#/definitions/EPCIS-Document-Event",
    }
    return document, fastjsonschema.compile(event_schema, handlers=handlers)


def schema_errors(document: Any, *, file: str = "<epcis>") -> list[InputError]:
    """Every schema violation of a document: the header's, then one per bad event (by index).

    Parameters
    ----------
    document : Any
        A parsed EPCIS 2.0 JSON document.
    file : str, default "<epcis>"
        Name of the source, for the errors.

    Returns
    -------
    list of InputError
        Empty for a valid document; the row of an event error is its 1-based index.

    References
    ----------
    .. [1] GS1 EPCIS 2.0 (2022), JSON schema.
    """
    import fastjsonschema

    whole, event = _validators()
    if not isinstance(document, dict):
        return [InputError(file, None, None, "an EPCIS document must be a JSON object")]
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    errors: list[InputError] = []
    if (
        isinstance(body, dict)
        and isinstance(events, list)
        and document.get("type") == "EPCISDocument"
    ):
        head = {**document, "epcisBody": {**body, "eventList": []}}
        try:
            whole(head)
        except fastjsonschema.JsonSchemaValueException as exc:
            errors.append(InputError(file, None, exc.name, exc.message))
        for i, ev in enumerate(events):
            try:
                event(ev)
            except fastjsonschema.JsonSchemaValueException as exc:
                where = str(exc.name or "event").replace("data", "event", 1)
                errors.append(InputError(file, i + 1, where, exc.message))
        return errors
    try:
        whole(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        errors.append(InputError(file, None, exc.name, exc.message))
    return errors


def _all_match(search: Callable[[str], object], values: Iterable[Any]) -> bool:
    """Whether every distinct value matches (each checked once)."""
    return all(map(search, set(values)))


def _fast_checks(doc: _Document) -> bool:
    """The schema's patterns and formats over a decoded document, each distinct value checked
    once, and what the structs cannot say: an ObjectEvent has epcList or quantityList, and
    epcList and @context hold unique items. False sends the document to the schema path."""
    unset = msgspec.UNSET
    context = [doc.context] if isinstance(doc.context, str) else doc.context
    if len(set(context)) != len(context) or not _all_match(_URI_OK, context):
        return False
    if not (_VERSION_OK(doc.schemaVersion) and _TIME_OK(doc.creationDate)):
        return False
    if doc.id is not unset and not _URI_OK(doc.id):
        return False
    events = doc.epcisBody.eventList
    times = {ev.eventTime for ev in events} | {ev.recordTime for ev in events}
    times.discard(unset)
    steps = {ev.bizStep for ev in events}
    steps.discard(unset)
    dispositions = {ev.disposition for ev in events}
    dispositions.discard(unset)
    uris = {ev.eventID for ev in events}
    uris.discard(unset)
    uris |= {ev.readPoint.id for ev in events if ev.readPoint is not unset}
    uris |= {ev.bizLocation.id for ev in events if ev.bizLocation is not unset}
    epc_lists = [ev.epcList for ev in events]
    lists = [epcs for epcs in epc_lists if epcs is not unset]
    if len(lists) < len(events) and any(
        ev.quantityList is unset
        for ev, epcs in zip(events, epc_lists, strict=True)
        if epcs is unset
    ):
        return False
    if any(len(set(epcs)) != len(epcs) for epcs in lists if len(epcs) > 1):
        return False
    uris |= {epc for epcs in lists for epc in epcs}
    quantities = [q for ev in events if ev.quantityList is not unset for q in ev.quantityList]
    transactions = [
        t for ev in events if ev.bizTransactionList is not unset for t in ev.bizTransactionList
    ]
    sources = [s for ev in events if ev.sourceList is not unset for s in ev.sourceList]
    destinations = [
        d for ev in events if ev.destinationList is not unset for d in ev.destinationList
    ]
    uris |= {q.epcClass for q in quantities} | {t.bizTransaction for t in transactions}
    uris |= {s.source for s in sources} | {d.destination for d in destinations}
    party_types = {s.type for s in sources} | {d.type for d in destinations}
    transaction_types = {t.type for t in transactions}
    transaction_types.discard(unset)
    units = {q.uom for q in quantities}
    units.discard(unset)
    return (
        _all_match(_TIME_OK, times)
        and _all_match(_OFFSET_OK, {ev.eventTimeZoneOffset for ev in events})
        and _all_match(_BIZ_STEP_OK, steps)
        and _all_match(_DISPOSITION_OK, dispositions)
        and _all_match(_URI_OK, uris)
        and _all_match(_SOURCE_DEST_TYPE_OK, party_types)
        and _all_match(_BIZ_TRANSACTION_TYPE_OK, transaction_types)
        and _all_match(_UOM_OK, units)
    )


def greenstream_event_hash(event: dict[str, Any]) -> str:
    """greenstream's own event hash, not the CBV 2.0 event hash ID.

    SHA-256 (hex) of the event's JSON with sorted keys, without eventID, recordTime and
    errorDeclaration (see the module docstring).

    Parameters
    ----------
    event : dict of str to Any
        One EPCIS 2.0 JSON event.

    Returns
    -------
    str
        64 hexadecimal characters; equal for the same event sent twice.

    Examples
    --------
    >>> a = {"type": "ObjectEvent", "action": "OBSERVE", "eventID": "e1"}
    >>> b = {"action": "OBSERVE", "type": "ObjectEvent", "eventID": "e2"}
    >>> greenstream_event_hash(a) == greenstream_event_hash(b)
    True
    """
    kept = {k: v for k, v in event.items() if k not in HASH_EXCLUDED}
    return hashlib.sha256(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Captured:
    """The events of one document: typed (fast path) or as sent (schema path)."""

    typed: list[ObjectEvent]
    plain: list[dict[str, Any]]

    @property
    def fast(self) -> bool:
        """True when every event took the typed fast path."""
        return not self.plain

    def __len__(self) -> int:
        return len(self.typed) + len(self.plain)

    def dicts(self) -> list[dict[str, Any]]:
        """Every event as plain JSON values (lists, dicts, strings, numbers)."""
        typed: list[dict[str, Any]] = [orjson.loads(raw) for raw in map(_ENCODE.encode, self.typed)]
        return typed + self.plain


def parse_document(body: bytes | str, *, file: str = "<epcis>") -> Captured:
    """Decode and validate an EPCIS 2.0 JSON document (or one event with ``@context``).

    Parameters
    ----------
    body : bytes or str
        The JSON text.
    file : str, default "<epcis>"
        Name of the source, for the errors.

    Returns
    -------
    Captured
        The events, typed (fast path) or as sent (schema path).

    Raises
    ------
    InputErrors
        Naming every invalid event (1-based index as the row) and the schema's reason; nothing of
        a refused document is returned.

    References
    ----------
    .. [1] GS1 EPCIS 2.0 (2022), JSON/JSON-LD binding and schema.
    """
    data = body.encode() if isinstance(body, str) else body
    try:
        doc = _DOCUMENT_DECODER.decode(data)
        if _fast_checks(doc):
            return Captured(doc.epcisBody.eventList, [])
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise InputErrors.single(file, f"not valid JSON: {exc}") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputErrors.single(file, f"not valid JSON: {exc}") from None
    InputErrors.raise_if_any(schema_errors(document, file=file))
    if document.get("type") == "EPCISDocument":
        return Captured([], list(document["epcisBody"]["eventList"]))
    if "@context" not in document:
        raise InputErrors.single(file, "a single event needs its @context", field="@context")
    return Captured([], [{k: v for k, v in document.items() if k != "@context"}])


# --------------------------------------------------------------------------------------------
# events as rows
# --------------------------------------------------------------------------------------------

EVENT_COLUMNS: Final[dict[str, pl.DataType]] = {
    "event_hash": pl.String(),
    "event_id": pl.String(),
    "event_type": pl.String(),
    "action": pl.String(),
    "biz_step": pl.String(),
    "disposition": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "event_time_zone_offset": pl.String(),
    "read_point": pl.String(),
    "biz_location": pl.String(),
    "source_party": pl.String(),
    "destination_party": pl.String(),
    "event_json": pl.String(),
}


def _party(items: Any, key: str) -> str | None:
    """The possessing party (else owning party, else first) of a source or destination list."""
    if not isinstance(items, list) or not items:
        return None
    for wanted in ("possessing_party", "owning_party"):
        for item in items:
            if isinstance(item, dict) and item.get("type") == wanted:
                return str(item.get(key))
    first = items[0]
    return str(first.get(key)) if isinstance(first, dict) else None


def _epcs(event: dict[str, Any]) -> list[str]:
    """The EPCs of a plain event (epcList, childEPCs, input/output lists, parentID), each once."""
    out: list[str] = []
    for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        value = event.get(key)
        if isinstance(value, list):
            out += [str(v) for v in value]
    if isinstance(event.get("parentID"), str):
        out.append(str(event["parentID"]))
    return list(dict.fromkeys(out))


_SORTED = msgspec.json.Encoder(order="sorted")
_ENCODE = msgspec.json.Encoder()


def typed_greenstream_event_hash(event: ObjectEvent) -> str:
    """:func:`greenstream_event_hash` of a fast-path event (same bytes as the dict form, tested).

    Parameters
    ----------
    event : ObjectEvent
        A typed event from :func:`parse_document`.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    if event.eventID is not msgspec.UNSET or event.recordTime is not msgspec.UNSET:
        event = msgspec.structs.replace(event, eventID=msgspec.UNSET, recordTime=msgspec.UNSET)
    return hashlib.sha256(_SORTED.encode(event)).hexdigest()


def _typed_party(items: Any, key: str) -> str | None:
    if items is msgspec.UNSET or not items:
        return None
    for wanted in ("possessing_party", "owning_party"):
        for item in items:
            if item.type == wanted:
                return str(getattr(item, key))
    return str(getattr(items[0], key))


def _typed_rows(events: list[ObjectEvent], cols: EventColumns) -> None:
    """Columns of fast-path events, one list comprehension per field (no per-event appends)."""
    unset = msgspec.UNSET
    rows = cols.columns
    offset = len(rows["event_hash"])
    rows["event_hash"] += [typed_greenstream_event_hash(ev) for ev in events]
    rows["event_id"] += [None if ev.eventID is unset else ev.eventID for ev in events]
    rows["event_type"] += ["ObjectEvent"] * len(events)
    rows["action"] += [ev.action for ev in events]
    rows["biz_step"] += [None if ev.bizStep is unset else ev.bizStep for ev in events]
    rows["disposition"] += [None if ev.disposition is unset else ev.disposition for ev in events]
    rows["event_time"] += [ev.eventTime for ev in events]
    rows["event_time_zone_offset"] += [ev.eventTimeZoneOffset for ev in events]
    rows["read_point"] += [None if ev.readPoint is unset else ev.readPoint.id for ev in events]
    rows["biz_location"] += [
        None if ev.bizLocation is unset else ev.bizLocation.id for ev in events
    ]
    rows["source_party"] += [_typed_party(ev.sourceList, "source") for ev in events]
    rows["destination_party"] += [_typed_party(ev.destinationList, "destination") for ev in events]
    lists: list[Sequence[str]] = [() if ev.epcList is unset else ev.epcList for ev in events]
    if any(len(set(epcs)) != len(epcs) for epcs in lists if len(epcs) > 1):
        lists = [tuple(dict.fromkeys(epcs)) for epcs in lists]  # each EPC once per event
    cols.epc_event.extend([offset + i for i, epcs in enumerate(lists) for _ in epcs])
    cols.epc.extend([epc for epcs in lists for epc in epcs])
    rows["event_json"] += [raw.decode() for raw in map(_ENCODE.encode, events)]


@dataclass(frozen=True)
class EventColumns:
    """The events of a document as columns of plain values (``EVENT_COLUMNS``, ``event_time``
    as sent) and their EPCs as two parallel lists: the index of the event (into the columns)
    and the EPC, each EPC once per event."""

    columns: dict[str, list[Any]]
    epc_event: list[int]
    epc: list[str]

    def utc_times(self) -> pl.Series:
        """``event_time`` as UTC instants (null where unreadable)."""
        raw = pl.Series("event_time", self.columns["event_time"], dtype=pl.String)
        return raw.str.replace(r"([+-]\d\d)(\d\d)$", "$1:$2").str.to_datetime(
            time_zone="UTC", time_unit="us", strict=False
        )


def event_columns(captured: Captured | list[dict[str, Any]]) -> EventColumns:
    """Flatten events into columns (see :class:`EventColumns`).

    Parameters
    ----------
    captured : Captured or list of dict
        Events from :func:`parse_document`, or plain JSON events.

    Returns
    -------
    EventColumns
        One list per event column, and the EPCs with the index of their event.
    """
    if isinstance(captured, list):
        captured = Captured([], captured)
    cols = EventColumns({name: [] for name in EVENT_COLUMNS}, [], [])
    _typed_rows(captured.typed, cols)
    rows = cols.columns
    for ev in captured.plain:
        rows["event_hash"].append(greenstream_event_hash(ev))
        rows["event_id"].append(ev.get("eventID"))
        rows["event_type"].append(ev.get("type"))
        rows["action"].append(ev.get("action"))
        rows["biz_step"].append(ev.get("bizStep"))
        rows["disposition"].append(ev.get("disposition"))
        rows["event_time"].append(ev.get("eventTime"))
        rows["event_time_zone_offset"].append(ev.get("eventTimeZoneOffset"))
        rp, bl = ev.get("readPoint"), ev.get("bizLocation")
        rows["read_point"].append(rp.get("id") if isinstance(rp, dict) else None)
        rows["biz_location"].append(bl.get("id") if isinstance(bl, dict) else None)
        rows["source_party"].append(_party(ev.get("sourceList"), "source"))
        rows["destination_party"].append(_party(ev.get("destinationList"), "destination"))
        epcs = _epcs(ev)
        cols.epc_event.extend([len(rows["event_hash"]) - 1] * len(epcs))
        cols.epc.extend(epcs)
        rows["event_json"].append(orjson.dumps(ev).decode())
    return cols


def events_tables(
    captured: Captured | list[dict[str, Any]] | EventColumns,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events and their EPCs as two tables.

    Events: one row each (hash, identity, what, when, where, JSON). EPCs: one row per event and
    EPC (``event_hash``, ``epc``, ``grai``).

    Parameters
    ----------
    captured : Captured or list of dict or EventColumns
        Events from :func:`parse_document`, plain JSON events, or their columns.

    Returns
    -------
    tuple of (polars.DataFrame, polars.DataFrame)
        The events table and the EPCs table.
    """
    cols = captured if isinstance(captured, EventColumns) else event_columns(captured)
    data = {k: v for k, v in cols.columns.items() if k != "event_time"}
    frame = pl.DataFrame(data, schema={k: v for k, v in EVENT_COLUMNS.items() if k != "event_time"})
    events = frame.insert_column(6, cols.utc_times())
    index = cols.epc_event
    hashes = (
        events.get_column("event_hash").gather(index) if index else pl.Series([], dtype=pl.String)
    )
    epcs = pl.DataFrame(
        {"event_hash": hashes, "epc": cols.epc},
        schema={"event_hash": pl.String, "epc": pl.String},
    )
    epcs = epcs.with_columns(grai_expr(pl.col("epc")).alias("grai"))
    return events, epcs


# --------------------------------------------------------------------------------------------
# GS1 GRAI (Global Returnable Asset Identifier)
# --------------------------------------------------------------------------------------------

_GRAI_URN = re.compile(r"^urn:epc:id:grai:(\d+)\.(\d*)\.([!-~]{1,16})$")
_GRAI_DL = re.compile(r"^https?://[^/]+/8003/(\d{14})([!-~]{0,16})$")


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of a digit string (weights 3, 1 from the right).

    Parameters
    ----------
    digits : str
        The digits without the check digit.

    Returns
    -------
    int
        The check digit, 0-9.

    References
    ----------
    .. [1] GS1 General Specifications, 7.9.1 (check digit calculation).

    Examples
    --------
    GTIN-13 629104150021?: 3 x (1+0+5+4+1+9) + (2+0+1+0+2+6) = 60 + 11 = 71, so 3:

    >>> gs1_check_digit("629104150021")
    3
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def grai_of(epc: str) -> str | None:
    """The GRAI element string of a serialised GRAI, else None.

    AI 8003: '0' + 12-digit prefix+type + check digit + serial, from an EPC URN or a GS1 Digital
    Link URI.

    Parameters
    ----------
    epc : str
        An EPC URN (``urn:epc:id:grai:...``) or GS1 Digital Link URI.

    Returns
    -------
    str or None
        The element string, or None for other EPCs.

    References
    ----------
    .. [1] GS1 EPC Tag Data Standard 2.0, GRAI; GS1 General Specifications, AI (8003).

    Examples
    --------
    >>> grai_of("urn:epc:id:grai:4012345.00225.235")
    '04012345002256235'
    >>> grai_of("urn:epc:id:sgtin:4012345.011111.987") is None
    True
    """
    m = _GRAI_URN.match(epc)
    if m:
        prefix_type = m.group(1) + m.group(2)
        if len(prefix_type) != 12:
            return None
        return "0" + prefix_type + str(gs1_check_digit(prefix_type)) + m.group(3)
    m = _GRAI_DL.match(epc)
    if m:
        key = m.group(1)
        if gs1_check_digit(key[:13]) != int(key[13]) or not m.group(2):
            return None
        return key + m.group(2)
    return None


def _check_digit_expr(digits: pl.Expr, length: int) -> pl.Expr:
    """GS1 mod-10 check digit of a column of ``length``-digit strings (vectorized).

    The weights are 3 and 1 from the right: the sum of every digit plus twice the digits of
    weight 3 (every second one, from the last), as one list expression per string (a small plan,
    not one term per digit)."""
    each = digits.str.split("").cast(pl.List(pl.Int64))
    triple = each.list.gather_every(2, offset=(length - 1) % 2)
    total = each.list.sum() + 2 * triple.list.sum()
    return ((10 - total % 10) % 10).cast(pl.String)


def grai_expr(epc: pl.Expr) -> pl.Expr:
    """:func:`grai_of` as a vectorized Polars expression (the scalar function is its oracle).

    Parameters
    ----------
    epc : polars.Expr
        EPC URNs or GS1 Digital Link URIs.

    Returns
    -------
    polars.Expr
        GRAI element strings, null for other EPCs.
    """
    urn = epc.str.extract_groups(r"^urn:epc:id:grai:(\d+)\.(\d*)\.([!-~]{1,16})$")
    prefix_type = pl.concat_str(urn.struct.field("1"), urn.struct.field("2"))
    from_urn = (
        pl.when(prefix_type.str.len_chars() == 12)
        .then(
            pl.concat_str(
                pl.lit("0"), prefix_type, _check_digit_expr(prefix_type, 12), urn.struct.field("3")
            )
        )
        .otherwise(None)
    )
    dl = epc.str.extract_groups(r"^https?://[^/]+/8003/(\d{14})([!-~]{0,16})$")
    key = dl.struct.field("1")
    from_dl = (
        pl.when(
            (_check_digit_expr(key.str.slice(0, 13), 13) == key.str.slice(13, 1))
            & (dl.struct.field("2").str.len_chars() > 0)
        )
        .then(pl.concat_str(key, dl.struct.field("2")))
        .otherwise(None)
    )
    return pl.coalesce(from_urn, from_dl)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC.

    Returns
    -------
    datetime
        ``datetime.now(UTC)``.
    """
    return datetime.now(UTC)

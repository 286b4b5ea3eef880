"""The EPCIS fast path (msgspec structs, then the schema's patterns over a document's distinct
values) against its oracle, the compiled GS1 EPCIS 2.0 JSON Schema: on generated documents,
valid and invalid, a document is accepted exactly when the schema accepts it, a refusal names
what the schema names (event index and field), and the rows stored from the fast path are those
stored from the same events taken as plain JSON (the schema path)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from epcis_events import document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from greenstream.errors import InputErrors
from greenstream.io.epcis import Captured, parse_document, schema_errors
from greenstream.levers.packaging.repository import EPCS, EVENTS, capture
from greenstream.store.db import make_engine, upgrade

GRAI = "urn:epc:id:grai:0614141.12345.{}"
SGLN = "urn:epc:id:sgln:0614141.00777.0"
BASE = {
    "type": "ObjectEvent",
    "eventTime": "2025-03-01T10:00:00.000+08:00",
    "eventTimeZoneOffset": "+08:00",
    "action": "OBSERVE",
    "epcList": [GRAI.format(1)],
    "bizStep": "shipping",
    "readPoint": {"id": SGLN},
}
DROP = object()  # the field left out
# per field: values the schema accepts and values it refuses (pattern, format, type, shape)
VALUES: dict[str, list[Any]] = {
    "eventTime": [
        "2025-03-01T02:00:00Z",
        "2024-02-29T23:59:60.123456-0130",
        "2025-02-30T10:00:00Z",  # no such day
        "2025-03-01 10:00:00Z",
        "2025-03-01T10:00:00",  # no offset
        5,
    ],
    "eventTimeZoneOffset": ["-14:00", "+14:00", "+15:00", "08:00", "+08:00\n", "+0800"],
    "recordTime": ["2025-03-02T00:00:00Z", "2025-13-01T00:00:00Z"],
    "eventID": ["ni:///sha-256;abc?ver=CBV2.0", "urn:uuid:1", "not a uri", ""],
    "action": ["ADD", "DELETE", "move", None],
    "epcList": [
        [GRAI.format(2), GRAI.format(3)],
        [GRAI.format(1), GRAI.format(1)],  # not unique
        ["https://id.gs1.org/8003/00614141123452400"],
        ["not a uri"],
        [],
        "urn:x:y",
    ],
    "bizStep": [
        "collecting",
        "urn:epcglobal:cbv:bizstep:shipping",  # a CBV URN is not the other-URI form
        "https://ns.gs1.org/cbv/BizStep-shipping",
        "urn:greenstream:bizstep:washing",
        "washing",
        None,
    ],
    "disposition": ["returned", "in_transit", "urn:greenstream:disp:washed", "lost", None],
    "readPoint": [{"id": "urn:a:b"}, {"id": "x"}, {"id": "urn:a:b", "extra": 1}, "urn:a:b"],
    "bizLocation": [{"id": SGLN}, {"id": "no uri"}, {}],
    "quantityList": [
        [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2}],
        [{"epcClass": "urn:x:y", "quantity": 2.5, "uom": "KGM"}],
        [{"epcClass": "urn:x:y", "uom": "kgs"}],
        [{"epcClass": "urn:x:y", "quantity": 1, "uom": "KGM\n"}],
        [{"epcClass": "bad", "quantity": 1}],
        [{"epcClass": "urn:x:y", "quantity": True}],
    ],
    "sourceList": [
        [{"type": "possessing_party", "source": "urn:greenstream:consumer:u1"}],
        [
            {"type": "location", "source": "urn:c:d"},
            {"type": "owning_party", "source": "urn:a:b"},
        ],
        [{"type": "urn:x:party", "source": "urn:a:b"}],
        [{"type": "party", "source": "urn:a:b"}],
        [{"type": "possessing_party"}],
    ],
    "destinationList": [
        [{"type": "owning_party", "destination": "urn:a:b"}],
        [{"type": "location", "destination": "not a uri"}],
    ],
    "bizTransactionList": [
        [{"type": "po", "bizTransaction": "http://t.example/po/1"}],
        [{"bizTransaction": "urn:x:1"}],
        [{"type": "purchase", "bizTransaction": "urn:x:1"}],
        [{"type": "po", "bizTransaction": "no uri"}],
    ],
    "example:note": ["an extension field: the schema path takes it"],
}
HEADER: dict[str, list[Any]] = {
    "schemaVersion": ["2", "2.x", "2.0\n"],
    "creationDate": ["2025-03-01T00:00:00.5+08:00", "yesterday"],
    "@context": [
        ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"] * 2,  # not unique
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        ["not a uri"],
    ],
    "id": ["urn:uuid:6b0b4f5e-0b1f-4c3e-9f0e-2d1c3b4a5968", "bad id"],
}


def _changes(table: dict[str, list[Any]], rare: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Some fields of ``table``, each set to one of its values or dropped."""
    fields = sorted(table)
    return st.dictionaries(
        st.sampled_from(fields),
        st.integers(0, 99),
        max_size=1 if rare else 3,
    ).map(
        lambda picks: {
            f: DROP if k % 7 == 6 else table[f][k % len(table[f])] for f, k in picks.items()
        }
    )


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """1 to 6 events: most valid, some with a changed or missing field, repeats included."""
    events = []
    for i in range(draw(st.integers(1, 6))):
        if events and draw(st.integers(0, 9)) == 0:
            events.append(copy.deepcopy(events[-1]))  # the same event again
            continue
        event = copy.deepcopy(BASE)
        event["eventTime"] = f"2025-03-01T10:00:0{i}.000+08:00"
        event["epcList"] = [GRAI.format(i + 1)]
        if draw(st.booleans()):
            event["disposition"] = "in_transit"
        for field, value in draw(_changes(VALUES, rare=draw(st.integers(0, 2)) > 0)).items():
            if value is DROP:
                event.pop(field, None)
            else:
                event[field] = copy.deepcopy(value)
        events.append(event)
    doc: dict[str, Any] = json.loads(document(events))
    for field, value in draw(_changes(HEADER, rare=True)).items():
        if draw(st.integers(0, 3)) == 0:
            if value is DROP:
                doc.pop(field, None)
            else:
                doc[field] = value
    return doc


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('oracle') / 'epcis.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _stored(engine: Engine, tenant: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A tenant's event rows (no row id; the JSON parsed) and (event hash, EPC, GRAI) rows."""
    e = EVENTS.c
    columns = [c for c in EVENTS.c if c.name not in ("id", "tenant_id")]
    with engine.connect() as conn:
        events = conn.execute(select(*columns).where(e.tenant_id == tenant).order_by(e.id)).all()
        epcs = conn.execute(
            select(e.event_hash, EPCS.c.epc, EPCS.c.grai)
            .join(EPCS, EPCS.c.event_id == e.id)
            .where(e.tenant_id == tenant, EPCS.c.tenant_id == tenant)
            .order_by(e.id, EPCS.c.epc)
        ).all()
    json_at = [c.name for c in columns].index("event_json")
    rows = [(*row[:json_at], orjson.loads(row[json_at]), *row[json_at + 1 :]) for row in events]
    return rows, [tuple(r) for r in epcs]


TENANT = iter(range(1000, 10**6, 2))
RECORDED = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents())
def test_fast_path_accepts_refuses_and_stores_as_the_schema_does(
    engine: Engine, doc: dict[str, Any]
) -> None:
    oracle = schema_errors(doc)
    body = json.dumps(doc).encode()
    try:
        captured = parse_document(body)
    except InputErrors as refused:
        assert oracle, "refused a document the schema accepts"
        # the schema path names the errors: same events (1-based index), fields and reasons
        assert refused.errors == oracle
        return
    assert not oracle, f"accepted a document the schema refuses: {oracle}"
    events = doc["epcisBody"]["eventList"]
    assert len(captured) == len(events)
    # the same events as plain JSON (the schema path), for another tenant of the same store
    fast_tenant = next(TENANT)
    plain_tenant = fast_tenant + 1
    fast = capture(engine, fast_tenant, captured, record_time=RECORDED)
    plain = capture(engine, plain_tenant, Captured([], events), record_time=RECORDED)
    assert (fast.received, fast.stored, fast.duplicates) == (
        plain.received,
        plain.stored,
        plain.duplicates,
    )
    assert fast.kept == plain.kept
    assert _stored(engine, fast_tenant) == _stored(engine, plain_tenant)
    # sent again, nothing new
    assert capture(engine, fast_tenant, parse_document(body)).stored == 0


def test_box_lifecycle_documents_take_the_fast_path() -> None:
    """The documents of reusable boxes (plain ObjectEvents, the bench's shape) are validated by
    the fast path, not event by event by the schema."""
    events = [
        BASE,
        BASE | {"eventTime": "2025-03-02T10:00:00Z", "bizStep": "urn:greenstream:bizstep:washing"},
        BASE
        | {
            "bizStep": "collecting",
            "disposition": "returned",
            "sourceList": [{"type": "possessing_party", "source": "urn:greenstream:consumer:u9"}],
        },
    ]
    captured = parse_document(document(events))
    assert captured.fast and len(captured) == 3


def test_sqlite_stores_nulls_as_null_and_the_hash_as_a_blob(engine: Engine) -> None:
    """The SQLite insert binds a NULL text as 0 behind ``NULLIF(?, 0)`` and the hash as a
    bytearray: the stored values are NULL and a 32-byte BLOB."""
    event = BASE | {"eventTime": "2025-03-05T00:00:00Z"}  # no eventID, disposition, parties
    result = capture(engine, 7, parse_document(document([event])))
    assert result.stored == 1
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        row = raw.execute(
            "SELECT typeof(event_hash), length(event_hash), event_id IS NULL, "
            "disposition IS NULL, source_party IS NULL, destination_party IS NULL, "
            "typeof(biz_step) FROM epcis_events WHERE tenant_id = 7"
        ).fetchone()
        grai = raw.execute("SELECT typeof(grai), grai FROM epcis_event_epcs WHERE tenant_id = 7")
        # GRAI 0614141.12345 serial 1: 0 + 061414112345 + check digit 2 (test_epcis.py) + 1
        assert grai.fetchone() == ("text", "006141411234521")
    assert row == ("blob", 32, 1, 1, 1, 1, "text")


def test_an_autocommit_connection_captures_with_returning(tmp_path: Path) -> None:
    """Without a transaction the rows stored now cannot be read back by row id (another writer
    may interleave): the insert names them with RETURNING, with the same counts and rows."""
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    upgrade(url)
    auto = make_engine(url, isolation_level="AUTOCOMMIT")
    usual = make_engine(url)
    try:
        a = BASE | {"eventTime": "2025-03-06T00:00:00Z"}
        b = BASE | {"eventTime": "2025-03-07T00:00:00Z", "epcList": [GRAI.format(5)]}
        for engine, tenant in ((auto, 1), (usual, 2)):
            first = capture(engine, tenant, parse_document(document([a, a])), record_time=RECORDED)
            second = capture(engine, tenant, parse_document(document([a, b])), record_time=RECORDED)
            assert (first.stored, first.duplicates, second.stored, second.kept) == (1, 1, 1, [1])
        assert _stored(auto, 1) == _stored(usual, 2)
        assert len(_stored(auto, 1)[1]) == 2  # one EPC row per event
    finally:
        auto.dispose()
        usual.dispose()

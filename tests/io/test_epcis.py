"""EPCIS 2.0 JSON: the GS1 example files, the fast path against the schema, hashing, GRAI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.errors import InputErrors
from greenstream.io import epcis

GS1 = Path(__file__).parent / "data" / "epcis" / "gs1"
EXAMPLES = sorted(GS1.glob("*.jsonld"))
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
EVENT = {
    "type": "ObjectEvent",
    "eventTime": "2025-03-01T10:00:00.000+08:00",
    "eventTimeZoneOffset": "+08:00",
    "action": "OBSERVE",
    "epcList": ["urn:epc:id:grai:0614141.12345.400"],
    "bizStep": "shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
}


def document(*events: dict[str, object]) -> dict[str, object]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def schema_accepts(doc: object) -> bool:
    return not epcis.schema_errors(doc)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_gs1_example_conforms(path: Path) -> None:
    doc = json.loads(path.read_text())
    if doc.get("type") == "EPCISQueryDocument":
        assert schema_accepts(doc)
        return
    assert schema_accepts(doc), epcis.schema_errors(doc)
    captured = epcis.parse_document(path.read_bytes(), file=path.name)
    assert len(captured) == len(doc["epcisBody"]["eventList"])


def test_gs1_examples_exist_with_their_licence() -> None:
    assert len(EXAMPLES) >= 40 and (GS1 / "LICENSE-GS1").exists()


def test_fast_path_takes_plain_object_events_and_the_schema_the_rest() -> None:
    fast = epcis.parse_document(json.dumps(document(EVENT, EVENT | {"action": "ADD"})))
    assert fast.fast and len(fast) == 2
    extended = EVENT | {"example:myField": "x"}  # a user extension: schema path
    slow = epcis.parse_document(json.dumps(document(extended)))
    assert not slow.fast and slow.plain[0]["example:myField"] == "x"


def test_every_bad_event_is_named_with_its_index() -> None:
    bad_action = EVENT | {"action": "MOVE"}
    no_time = {k: v for k, v in EVENT.items() if k != "eventTime"}
    with pytest.raises(InputErrors) as err:
        epcis.parse_document(json.dumps(document(EVENT, bad_action, EVENT, no_time)))
    rows = [(e.row, e.field) for e in err.value.errors]
    assert [r for r, _ in rows] == [2, 4]
    assert "action" in str(err.value.errors[0]) and "eventTime" in str(err.value.errors[1])


def test_not_json_and_missing_context() -> None:
    with pytest.raises(InputErrors, match="not valid JSON"):
        epcis.parse_document(b"{nope")
    single = dict(EVENT)
    with pytest.raises(InputErrors):
        epcis.parse_document(json.dumps(single))
    one = epcis.parse_document(json.dumps(single | {"@context": CONTEXT}))
    assert len(one) == 1 and "@context" not in one.plain[0]


MUTATIONS = [
    ("action", "move"),
    ("eventTime", "2025-02-30T10:00:00Z"),
    ("eventTime", "2025-03-01 10:00:00Z"),
    ("eventTimeZoneOffset", "+15:00"),
    ("bizStep", "urn:epcglobal:cbv:bizstep:shipping"),
    ("bizStep", "washing"),
    ("bizStep", "urn:greenstream:bizstep:washing"),
    ("disposition", "returned"),
    ("disposition", "lost"),
    ("epcList", ["urn:epc:id:grai:0614141.12345.400", "urn:epc:id:grai:0614141.12345.400"]),
    ("epcList", ["not a uri"]),
    ("epcList", []),
    ("readPoint", {"id": "x"}),
    ("readPoint", {"id": "urn:a:b", "extra": 1}),
    ("quantityList", [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2}]),
    ("quantityList", [{"epcClass": "urn:x:y", "quantity": True}]),
    ("quantityList", [{"epcClass": "urn:x:y", "uom": "kgs"}]),
    ("sourceList", [{"type": "possessing_party", "source": "urn:greenstream:consumer:u1"}]),
    ("sourceList", [{"type": "possessing_party"}]),
    ("bizTransactionList", [{"type": "po", "bizTransaction": "http://t.example/po/1"}]),
    ("eventID", "ni:///sha-256;abc?ver=CBV2.0"),
    ("recordTime", "2025-03-01T10:00:00Z"),
]


@pytest.mark.parametrize(("field", "value"), MUTATIONS)
def test_fast_path_and_schema_agree(field: str, value: object) -> None:
    event = copy.deepcopy(EVENT)
    event[field] = value
    doc = document(event)
    accepted = schema_accepts(doc)
    try:
        epcis.parse_document(json.dumps(doc))
    except InputErrors:
        assert not accepted
        return
    assert accepted  # whichever path took it, the schema agrees


TEXT = st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=12)
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32), TEXT
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*sorted(EVENT), "quantityList", "bizLocation"]), ANY, max_size=4
    )
)
def test_fast_path_never_accepts_what_the_schema_refuses(changes: dict[str, object]) -> None:
    event = copy.deepcopy(EVENT) | changes
    doc = document(event)
    try:
        captured = epcis.parse_document(json.dumps(doc))
    except InputErrors:
        return
    assert schema_accepts(doc), (captured.fast, event)


def test_hash_ignores_event_id_and_record_time_and_paths_agree() -> None:
    a = EVENT | {"eventID": "ni:///sha-256;aa?ver=CBV2.0", "recordTime": "2025-03-02T00:00:00Z"}
    assert epcis.greenstream_event_hash(a) == epcis.greenstream_event_hash(EVENT)
    assert epcis.greenstream_event_hash(EVENT | {"action": "ADD"}) != epcis.greenstream_event_hash(
        EVENT
    )
    fast = epcis.parse_document(json.dumps(document(a)))
    assert fast.fast
    assert epcis.typed_greenstream_event_hash(fast.typed[0]) == epcis.greenstream_event_hash(EVENT)
    events, epcs = epcis.events_tables(fast)
    assert events.item(0, "event_hash") == epcis.greenstream_event_hash(EVENT)
    assert str(events.item(0, "event_time")) == "2025-03-01 02:00:00+00:00"
    assert epcs.item(0, "grai") == "00614141123452400"


def test_gs1_check_digit_and_grai() -> None:
    # GS1 General Specifications example: GTIN-13 body 629104150021 -> check digit 3
    assert epcis.gs1_check_digit("629104150021") == 3
    # GRAI 0614141.12345 serial 400: body 0 614141 12345 -> 0061414112345 + check 2
    assert epcis.grai_of("urn:epc:id:grai:0614141.12345.400") == "00614141123452400"
    assert epcis.grai_of("https://id.gs1.org/8003/00614141123452400") == "00614141123452400"
    assert epcis.grai_of("https://id.gs1.org/8003/00614141123459400") is None  # bad check digit
    assert epcis.grai_of("urn:epc:id:sgtin:0614141.107346.2017") is None


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=1, max_size=11),
    st.text(alphabet="0123456789", max_size=6),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=16),
)
def test_vectorized_grai_equals_the_scalar_one(prefix: str, asset: str, serial: str) -> None:
    epcs = [f"urn:epc:id:grai:{prefix}.{asset}.{serial}"]
    body = (prefix + asset)[:13].rjust(13, "0")
    epcs.append(f"https://id.gs1.org/8003/{body}{epcis.gs1_check_digit(body)}{serial}")
    got = pl.DataFrame({"e": epcs}).select(epcis.grai_expr(pl.col("e"))).to_series().to_list()
    assert got == [epcis.grai_of(e) for e in epcs]

"""The CBV 2.0 event hash ID against the reference implementation's published examples
(github.com/RalphTro/epcis-event-hash-generator, MIT, vendored in data/epcis_hash with its
licence): every event of every example document gets the published hash (their .prehashes
files are kept for reading; some do not match their own documents)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenstream.io import epcis_hash

DATA = Path(__file__).parent / "data" / "epcis_hash"
EXAMPLES = sorted(DATA.glob("*.jsonld"))
# the reference's own convention for fields a repository adds: a document-level list under the
# prefix of https://repository-x.example.com/
IGNORE_KEY = "repository-x:ignoreFields"


def _ignored(doc: dict) -> list[str]:
    return list(
        doc.get(IGNORE_KEY) or doc["epcisBody"].get("queryResults", {}).get(IGNORE_KEY) or []
    )


def test_all_examples_are_here() -> None:
    assert len(EXAMPLES) == 22
    assert (DATA / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_reference_hashes(path: Path) -> None:
    doc = json.loads(path.read_text())
    expected = [h for h in (DATA / f"{path.stem}.hashes").read_text().splitlines() if h.strip()]
    assert epcis_hash.document_hash_ids(doc, ignore_fields=_ignored(doc)) == expected


def test_same_event_in_other_representations_has_one_hash() -> None:
    """An EPC URN and its Digital Link, a CBV URN and its bare word, key order, a time offset and
    trailing zeros: one event, one hash; a changed value: another hash."""
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
    a = {
        "type": "ObjectEvent",
        "eventTime": "2025-03-01T16:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:grai:0614141.12345.7"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
    }
    b = {
        "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
        "readPoint": {"id": "https://example.com/414/0614141007776?x=1"},
        "action": "OBSERVE",
        "epcList": ["https://id.gs1.org/8003/006141411234527"],
        "eventTimeZoneOffset": "+08:00",
        "eventTime": "2025-03-01T08:00:00Z",
        "type": "ObjectEvent",
    }
    assert epcis_hash.event_hash_id(a, context) == epcis_hash.event_hash_id(b, context)
    assert epcis_hash.event_hash_id(a, context) != epcis_hash.event_hash_id(
        a | {"bizStep": "receiving"}, context
    )
    # check digits (GS1 General Specifications 7.9.1, weights 3, 1 from the right):
    # 0061414112345 -> 78 -> 2; 061414100777 -> 94 -> 6
    assert epcis_hash.digital_link("urn:epc:id:grai:0614141.12345.7") == (
        "https://id.gs1.org/8003/006141411234527"
    )
    assert epcis_hash.digital_link("urn:epc:id:sgln:0614141.00777.0") == (
        "https://id.gs1.org/414/0614141007776"
    )


def test_a_remote_context_declares_no_prefix() -> None:
    """A string in ``@context`` references a remote context (JSON-LD 1.1, section 3.1); only
    inline objects map prefixes. A key ``ctx:note`` beside the remote context ``ctx`` is not a
    compact IRI of a prefix ``ctx``, so it stays as written in the pre-hash string."""
    remote = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    inline = {"ex": "https://example.org/ns/"}
    assert epcis_hash.document_prefixes([remote, inline]) == inline
    assert epcis_hash.document_prefixes("ctx") == {}
    event = {
        "type": "ObjectEvent",
        "eventTime": "2020-03-04T11:00:30.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "ctx:note": "x",
        "ex:note": "y",
    }
    text = epcis_hash.pre_hash_string(event, ["ctx", inline])
    # the inline prefix expands ({namespace}local), the remote reference does not
    assert text.endswith("ctx:note=x{https://example.org/ns/}note=y")

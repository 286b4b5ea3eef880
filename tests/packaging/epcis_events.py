"""Hand-made EPCIS 2.0 documents of reusable boxes and stations (written for the tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DEPOT = "urn:epc:id:sgln:0614141.00001.0"
STATION = "urn:epc:id:sgln:0614141.00777.0"


def grai(serial: int) -> str:
    return f"urn:epc:id:grai:0614141.12345.{serial}"


def ev(
    day: float, step: str, *, epc: str | None = None, where: str = DEPOT, **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": (T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+08:00",
        "action": extra.pop("action", "OBSERVE"),
        "bizStep": step,
        "bizLocation": {"id": where},
    }
    if epc is not None:
        event["epcList"] = [epc]
    event.update(extra)
    return event


def consumer(user: str) -> list[dict[str, str]]:
    return [{"type": "possessing_party", "source": f"urn:greenstream:consumer:{user}"}]


def document(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-03-01T00:00:00Z",
            "epcisBody": {"eventList": events},
        }
    ).encode()


def three_boxes() -> list[dict[str, Any]]:
    """Box 1: three uses (two returned, one open at day 30), one wash. Box 2: shipped at day -50
    and never back (lost by day 30). Box 3: one use returned, then decommissioned."""
    a, b, c = grai(1), grai(2), grai(3)
    return [
        ev(0, "commissioning", epc=a, action="ADD", disposition="active"),
        ev(1, "shipping", epc=a, disposition="in_transit"),
        ev(
            3, "collecting", epc=a, where=STATION, disposition="returned", sourceList=consumer("u1")
        ),
        ev(4, "urn:greenstream:bizstep:washing", epc=a),
        ev(5, "shipping", epc=a, disposition="in_transit"),
        ev(8, "receiving", epc=a, disposition="returned"),
        ev(10, "shipping", epc=a, disposition="in_transit"),
        ev(-60, "commissioning", epc=b, action="ADD", disposition="active"),
        ev(-50, "shipping", epc=b, disposition="in_transit"),
        ev(0, "commissioning", epc=c, action="ADD", disposition="active"),
        ev(1, "shipping", epc=c, disposition="in_transit"),
        ev(
            2, "collecting", epc=c, where=STATION, disposition="returned", sourceList=consumer("u2")
        ),
        ev(5, "decommissioning", epc=c, action="DELETE", disposition="destroyed"),
    ]


def station_day() -> list[dict[str, Any]]:
    carton = "urn:greenstream:class:used-carton"
    return [
        ev(1, "collecting", where=STATION, quantityList=[{"epcClass": carton, "quantity": 10}],
           sourceList=consumer("u3")),
        ev(1.2, "repackaging", where=STATION, quantityList=[{"epcClass": carton, "quantity": 4}]),
        ev(1.4, "destroying", where=STATION, quantityList=[{"epcClass": carton, "quantity": 6}],
           disposition="destroyed"),
    ]  # fmt: skip

"""Deterministic synthetic EPCIS 2.0 events of a reusable express-box pool and its drop-off
stations, for the demo tenant (``greenstream serve --demo``) and examples.

Everything here is *synthetic demo input*, not a fact about any operator; the parameters are
assumptions chosen to look like an e-commerce box pool, labelled as such in
:data:`SYNTHETIC_BOX_PARAMETERS`. The one published figure they lean on is an operator's claim of
85 million cycles of 960,000 boxes (about 89 uses per box, industry reports in
``shared/seeds``; a claim, not a source), which bounds the loss per use at about 1 %.

Each box (a GS1 GRAI, company prefix 0614141, GS1's example prefix) is commissioned at the depot,
then cycles: shipping (leaves with an order) -> collecting at a drop-off station with disposition
``returned`` and the consumer as possessing party -> washing at the depot -> shipping again; a use
ends in a loss (no further event), a repair, or a retirement (decommissioning, ``destroyed``).
Stations also take in single-use cartons: per station and day a ``collecting`` event with the
dropped-off quantity, a ``repackaging`` event with the cartons reused and a ``destroying`` event
with the cartons pulped (the vocabulary of :mod:`greenstream.levers.packaging.stations`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import orjson

# Synthetic parameters (assumptions for demo data, not facts): documented here, in one place.
SYNTHETIC_BOX_PARAMETERS: Final[dict[str, float]] = {
    "days": 120,  # length of the generated history, days before ``end``
    "stations": 8,  # drop-off stations (parcel lockers / outlets)
    "consumer_hold_days_mean": 3.0,  # days from shipping to the return at a station (exponential)
    "station_to_wash_days_mean": 1.5,  # days from the station back to the depot's washing line
    "idle_days_mean": 2.0,  # days on the depot's shelf before the next use (exponential)
    "loss_per_use": 0.01,  # <= 1/89: 85M cycles of 960k boxes (industry claim, seeds/)
    "repair_per_use": 0.02,  # returns that go through repair before washing
    "retire_per_use": 0.004,  # uses that end with the box retired as damaged
    "cartons_per_station_day_mean": 40.0,  # single-use cartons dropped off (Poisson)
    "carton_reuse_share": 0.6,  # of the dropped-off cartons, reused as shipping cartons
}

COMPANY_PREFIX: Final = "0614141"
DEPOT: Final = f"urn:epc:id:sgln:{COMPANY_PREFIX}.00001.0"
CARTON_CLASS: Final = f"urn:epc:idpat:sgtin:{COMPANY_PREFIX}.099999.*"
WASHING: Final = "urn:greenstream:bizstep:washing"
CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def station_location(index: int) -> str:
    """SGLN of drop-off station ``index`` (0-based).

    Parameters
    ----------
    index : int
        Station number.

    Returns
    -------
    str
        The station's SGLN URI.

    Examples
    --------
    >>> station_location(2)
    'urn:epc:id:sgln:0614141.00102.0'
    """
    return f"urn:epc:id:sgln:{COMPANY_PREFIX}.{100 + index:05d}.0"


def _event(
    t: datetime, step: str, where: str, *, action: str = "OBSERVE", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventTimeZoneOffset": "+08:00",
        "action": action,
        "bizStep": step,
        "readPoint": {"id": where},
        "bizLocation": {"id": where},
        **extra,
    }


def box_pool_events(boxes: int, end: datetime, seed: int = 11) -> list[dict[str, Any]]:
    """The EPCIS 2.0 ObjectEvents of a reusable box pool and its stations, in time order.

    Parameters
    ----------
    boxes : int
        Boxes commissioned (count).
    end : datetime
        Aware instant; no event is later.
    seed : int, optional
        The random seed (same seed and ``end``, same events).

    Returns
    -------
    list of dict
        Events as EPCIS 2.0 JSON values.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> events = box_pool_events(5, datetime(2026, 12, 1, tzinfo=UTC))
    >>> sorted({e["bizStep"] for e in events})[:3]
    ['collecting', 'commissioning', 'destroying']
    """
    p = SYNTHETIC_BOX_PARAMETERS
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=p["days"])
    n_stations = int(p["stations"])
    out: list[dict[str, Any]] = []
    hours = timedelta(hours=1)
    for box in range(1, boxes + 1):
        epc = [f"urn:epc:id:grai:{COMPANY_PREFIX}.12345.{box}"]
        t = start + rng.uniform(0, 30 * 24) * hours
        out.append(_event(t, "commissioning", DEPOT, action="ADD", epcList=epc))
        while True:
            t += rng.exponential(p["idle_days_mean"] * 24) * hours
            if t >= end:
                break
            out.append(_event(t, "shipping", DEPOT, epcList=epc))
            if rng.random() < p["loss_per_use"]:
                break  # the box never comes back
            t += rng.exponential(p["consumer_hold_days_mean"] * 24) * hours
            if t >= end:
                break  # still with the consumer: an open use
            consumer = f"urn:greenstream:consumer:c{rng.integers(0, 10**6):06d}"
            station = station_location(int(rng.integers(0, n_stations)))
            out.append(
                _event(
                    t,
                    "collecting",
                    station,
                    epcList=epc,
                    disposition="returned",
                    sourceList=[{"type": "possessing_party", "source": consumer}],
                )
            )
            t += rng.exponential(p["station_to_wash_days_mean"] * 24) * hours
            if t >= end:
                break
            draw = rng.random()
            if draw < p["retire_per_use"]:
                out.append(
                    _event(
                        t,
                        "decommissioning",
                        DEPOT,
                        action="DELETE",
                        epcList=epc,
                        disposition="destroyed",
                    )
                )
                break
            if draw < p["retire_per_use"] + p["repair_per_use"]:
                out.append(_event(t, "repairing", DEPOT, epcList=epc))
                t += 4 * hours
            out.append(_event(t, WASHING, DEPOT, epcList=epc))
    out.extend(_station_events(start, end, n_stations, rng))
    out.sort(key=lambda e: e["eventTime"])
    return out


def _station_events(
    start: datetime, end: datetime, stations: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    p = SYNTHETIC_BOX_PARAMETERS
    days = int((end - start).days)
    dropped = rng.poisson(p["cartons_per_station_day_mean"], size=(days, stations))
    reused = rng.binomial(dropped, p["carton_reuse_share"])
    out: list[dict[str, Any]] = []
    for d in range(days):
        day = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=d)
        for s in range(stations):
            where = station_location(s)
            for hour, step, qty in (
                (18, "collecting", int(dropped[d, s])),
                (20, "repackaging", int(reused[d, s])),
                (21, "destroying", int(dropped[d, s] - reused[d, s])),
            ):
                if qty > 0:
                    out.append(
                        _event(
                            day + timedelta(hours=hour),
                            step,
                            where,
                            quantityList=[{"epcClass": CARTON_CLASS, "quantity": qty}],
                        )
                    )
    return out


def epcis_documents(events: list[dict[str, Any]], per_document: int = 5000) -> list[bytes]:
    """EPCIS 2.0 JSON documents (``EPCISDocument``) of at most ``per_document`` events each.

    Parameters
    ----------
    events : list of dict
        EPCIS events.
    per_document : int, optional
        Events per document (count).

    Returns
    -------
    list of bytes
        UTF-8 JSON documents.

    Examples
    --------
    >>> event = {"type": "ObjectEvent", "eventTime": "2026-12-01T00:00:00.000Z"}
    >>> len(epcis_documents([event] * 3, per_document=2))
    2
    """
    return [
        orjson.dumps(
            {
                "@context": [CONTEXT],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": events[-1]["eventTime"] if events else "",
                "epcisBody": {"eventList": events[i : i + per_document]},
            }
        )
        for i in range(0, len(events), per_document)
    ]

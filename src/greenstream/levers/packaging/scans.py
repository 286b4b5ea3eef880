"""Reusable boxes seen by the monitoring pipeline: its waybill scans as EPCIS 2.0 events.

The monitoring ``scan`` records (``waybill_id, ts, event: load | unload | deliver, vehicle_id |
hub_id``; see ``greenstream.monitoring.records``) say where a waybill's parcel was; a table of
which reusable boxes (GRAI EPCs) travel on which waybill turns each scan into one ObjectEvent per
box: ``load`` -> bizStep ``loading``, ``unload`` -> ``unloading``, ``deliver`` -> ``receiving``
(disposition ``in_progress``: delivered, not returned), with the hub or vehicle as the read point
(``urn:greenstream:hub:<id>`` / ``urn:greenstream:vehicle:<id>``). The document goes through the
same validation and capture as any other.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from greenstream.errors import InputError, InputErrors

STEPS = {
    "load": ("loading", "in_transit"),
    "unload": ("unloading", "in_transit"),
    "deliver": ("receiving", "in_progress"),
}


def scans_to_epcis(scans: pl.DataFrame, boxes: pl.DataFrame) -> dict[str, Any]:
    """An EPCISDocument of the scans of waybills that carry reusable boxes.

    ``scans``: monitoring scan records (``waybill_id``, ``ts`` UTC, ``event``, ``hub_id`` or
    ``vehicle_id``); ``boxes``: ``waybill_id``, ``epc`` (a GRAI EPC). Scans of waybills without
    a box are left out; an unknown scan event is an input error naming the row.

    Parameters
    ----------
    scans : polars.DataFrame
        Monitoring scan records.
    boxes : polars.DataFrame
        Waybill -> GRAI EPC of its reusable box.

    Returns
    -------
    dict of str to Any
        The EPCIS 2.0 document.

    Raises
    ------
    InputErrors
        For an unknown scan event (naming the row).
    """
    for frame, name, needed in (
        (scans, "scans", ("waybill_id", "ts", "event")),
        (boxes, "boxes", ("waybill_id", "epc")),
    ):
        InputErrors.raise_if_any(
            InputError(name, None, c, "required column is missing")
            for c in needed
            if c not in frame.columns
        )
    bad = scans.with_row_index("row", offset=1).filter(~pl.col("event").is_in(list(STEPS)))
    InputErrors.raise_if_any(
        InputError("scans", int(r["row"]), "event", f"unknown scan event {r['event']!r}")
        for r in bad.iter_rows(named=True)
    )
    for c in ("hub_id", "vehicle_id"):
        if c not in scans.columns:
            scans = scans.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    joined = scans.join(boxes.select("waybill_id", "epc"), on="waybill_id", how="inner")
    events: list[dict[str, Any]] = []
    for r in joined.sort("ts", "epc").iter_rows(named=True):
        step, disposition = STEPS[r["event"]]
        where = (
            f"urn:greenstream:hub:{r['hub_id']}"
            if r["hub_id"]
            else f"urn:greenstream:vehicle:{r['vehicle_id']}"
        )
        ts = r["ts"]
        stamp = ts.isoformat().replace("+00:00", "Z") if hasattr(ts, "isoformat") else str(ts)
        events.append(
            {
                "type": "ObjectEvent",
                "eventTime": stamp,
                "eventTimeZoneOffset": "+00:00",
                "action": "OBSERVE",
                "epcList": [r["epc"]],
                "bizStep": step,
                "disposition": disposition,
                "readPoint": {"id": where},
                "bizTransactionList": [
                    {
                        "type": "desadv",
                        "bizTransaction": f"urn:greenstream:waybill:{r['waybill_id']}",
                    }
                ],
            }
        )
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": (events[-1]["eventTime"] if events else "1970-01-01T00:00:00Z"),
        "epcisBody": {"eventList": events},
    }

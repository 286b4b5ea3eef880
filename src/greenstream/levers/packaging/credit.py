"""Carbon points for returned boxes and cartons, through the points ledger's public methods.

A consumer earns points only when the box is received back: an EPCIS return event (``collecting``
at a station, or ``receiving`` with disposition ``returned``) naming the consumer as the
possessing party in its ``sourceList`` (``urn:greenstream:consumer:<pseudonymous id>``) becomes
one ledger event of the catalogue action ``reusable_box`` (a returned GRAI) or ``carton_return``
(cartons dropped off, with their quantity), with the idempotency key ``epcis:<event hash>``: a
scan sent twice earns once. A tenant without points rules, or with the action disabled, earns
nothing and is told so.
"""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl

from greenstream.points.ledger import Ledger, NoRules

CONSUMER_PREFIX = "urn:greenstream:consumer:"
BOX_ACTION = "reusable_box"
CARTON_ACTION = "carton_return"


def points_events(events: pl.DataFrame, grai_hashes: set[str]) -> list[dict[str, Any]]:
    """Ledger events for the return events among ``events`` (the repository's event rows);
    ``grai_hashes`` are the hashes of events that carry a reusable box's GRAI.

    Parameters
    ----------
    events : polars.DataFrame
        Stored EPCIS events.
    grai_hashes : set of str
        Hashes of the events that carry a reusable box's GRAI.

    Returns
    -------
    list of dict
        Ledger events (one per return of a box by a consumer).
    """
    returns = events.filter(
        (
            (pl.col("biz_step") == "collecting")
            | ((pl.col("biz_step") == "receiving") & (pl.col("disposition") == "returned"))
        )
        & pl.col("source_party").str.starts_with(CONSUMER_PREFIX)
    )
    out: list[dict[str, Any]] = []
    for row in returns.iter_rows(named=True):
        user = str(row["source_party"])[len(CONSUMER_PREFIX) :]
        if not user:
            continue
        is_box = row["event_hash"] in grai_hashes
        quantity = 1
        if not is_box:
            event = orjson.loads(row["event_json"])
            q = event.get("quantityList") or []
            quantity = int(sum(float(x.get("quantity", 1)) for x in q)) or len(
                event.get("epcList") or []
            )
            if quantity < 1:
                continue
        out.append(
            {
                "event_id": f"epcis:{row['event_hash']}",
                "user_id": user,
                "action": BOX_ACTION if is_box else CARTON_ACTION,
                "occurred_at": row["event_time"].isoformat(),
                "quantity": str(min(quantity, 1000)),
            }
        )
    return out


def credit(ledger: Ledger, tenant: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Record the ledger events; a note instead of an error when the tenant cannot earn.

    Parameters
    ----------
    ledger : Ledger
        The points ledger.
    tenant : str
        Tenant name.
    events : list of dict
        From :func:`points_events`.

    Returns
    -------
    dict of str to Any
        The ledger's batch result, or a note when the tenant has no points rules.
    """
    if not events:
        return {"events": 0, "recorded": 0, "points": 0, "note": "no consumer returns"}
    try:
        rules, _ = ledger.rules(tenant)
    except NoRules as exc:
        return {"events": len(events), "recorded": 0, "points": 0, "note": str(exc)}
    enabled = ledger.enabled_actions(rules)
    wanted = [e for e in events if e["action"] in enabled]
    skipped = len(events) - len(wanted)
    if not wanted:
        return {"events": len(events), "recorded": 0, "points": 0, "note": "actions not enabled"}
    result = ledger.record_batch(tenant, wanted, file="<epcis returns>").as_dict()
    result["skipped_not_enabled"] = skipped
    return result

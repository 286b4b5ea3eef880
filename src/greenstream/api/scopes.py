"""OAuth 2.0 scopes: one per family of operations, declared by every route.

A client (client credentials) holds a set of scopes chosen when it is created and may ask for a
subset in a token request (RFC 6749 section 3.3). A consumer token (token exchange, RFC 8693)
holds :data:`CONSUMER_SCOPE` only and is bound to one user id. A dashboard user's role maps to a
set (:data:`ROLE_SCOPES`). Each route declares the scope(s) it accepts with
``Depends(require_scope("..."))`` (:mod:`greenstream.api.auth`); a token without one gets 403.
"""

from __future__ import annotations

from typing import Final

SCOPES: Final[dict[str, str]] = {
    "footprints:read": "read footprints, shipments, TOCs, HOCs and roll-ups",
    "footprints:write": "upload shipments, TOCs, HOCs and trips",
    "pact": "PACT v2.3 / iLEAP data exchange (/2/footprints, /2/events)",
    "points:service": "the tenant's back end on the carbon-points ledger (actions, campaigns)",
    "points:admin": "points administration (catalogue, funding, corrections)",
    "points:consumer": "one consumer's own points account (consumer tokens only)",
    "monitoring:ingest": "send telemetry",
    "monitoring:read": "read trips, legs, traces, intensities and live aggregates",
    "reports:read": "dashboard data and reports",
    "reports:share": "create and revoke public read-only links to waybills",
    "energy:read": "read sites, meters, Scope 2 and hub intensities",
    "energy:write": "write sites, meter data and certificates",
    "packaging:read": "read packings, packaging footprints, box pools and stations",
    "packaging:write": "pack orders, capture EPCIS events",
    "reductions:read": "read reductions, targets and forecasts",
    "reductions:write": "register initiatives, targets and claims",
    "admin": "tenant administration: clients, users, revocation, audit log",
}

# Issued only by the token exchange, bound to one user id: never held by a client.
CONSUMER_SCOPE: Final = "points:consumer"
READ_SCOPES: Final[frozenset[str]] = frozenset(s for s in SCOPES if s.endswith(":read"))
ALL_SCOPES: Final[frozenset[str]] = frozenset(SCOPES)
CLIENT_SCOPES: Final[frozenset[str]] = ALL_SCOPES - {CONSUMER_SCOPE}

# Dashboard roles: a viewer reads, an analyst also writes data, an admin administers the tenant.
ROLE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "viewer": READ_SCOPES,
    "analyst": READ_SCOPES
    | {"footprints:write", "energy:write", "packaging:write", "reductions:write", "pact"}
    | {"reports:share"},
    "admin": CLIENT_SCOPES,
}


def parse_scopes(text: str | None) -> frozenset[str]:
    """Scopes from a space- or comma-separated string (RFC 6749 3.3); unknown ones raise
    ``ValueError`` naming them. ``None`` or empty means every client scope.

    Parameters
    ----------
    text : str or None
        Scope names separated by spaces or commas.

    Returns
    -------
    frozenset of str
        The scopes.

    Raises
    ------
    ValueError
        Unknown scopes, named.

    Examples
    --------
    >>> sorted(parse_scopes("footprints:read pact"))
    ['footprints:read', 'pact']
    >>> parse_scopes("") == CLIENT_SCOPES
    True
    """
    if not text or not text.strip():
        return CLIENT_SCOPES
    wanted = frozenset(t for t in text.replace(",", " ").split() if t)
    unknown = sorted(wanted - ALL_SCOPES)
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(unknown)}; known: {' '.join(sorted(SCOPES))}"
        )
    return wanted


def parse_client_scopes(text: str | None) -> frozenset[str]:
    """Scopes a client may hold (:func:`parse_scopes` without the consumer scope).

    Parameters
    ----------
    text : str or None
        Scope names separated by spaces or commas.

    Returns
    -------
    frozenset of str
        The scopes.

    Raises
    ------
    ValueError
        Unknown scopes or the consumer scope (only a token exchange, RFC 8693, issues it).
    """
    wanted = parse_scopes(text)
    if CONSUMER_SCOPE in wanted:
        raise ValueError(
            f"{CONSUMER_SCOPE!r} is issued to consumers by token exchange, never held by a client"
        )
    return wanted

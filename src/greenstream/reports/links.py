"""Shareable, signed, expiring, revocable read-only links to one waybill's trace and footprint
(for a donor, a recipient or a consumer who has no account).

A link is a row (:class:`~greenstream.reports.models.ShareLink`) and a URL ``/share/<token>``
whose token is the link id, tenant and expiry signed with the service key
(``itsdangerous.URLSafeSerializer``, HMAC-SHA-256 under a purpose-specific salt). Opening a link
checks, in order: the signature (a tampered or forged token fails), that the row exists and
belongs to the tenant the token names, that it is not revoked, and that it has not expired (the
row's expiry, which the signed one must equal). A link shows one waybill, read only, and nothing
else of the tenant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from greenstream.errors import GreenstreamError, InputErrors
from greenstream.reports.models import ShareLink
from greenstream.store.models import Shipment

SALT: Final = "greenstream.share-link.v1"
MAX_TTL: Final = timedelta(days=366)
DEFAULT_TTL: Final = timedelta(days=30)


class LinkState(StrEnum):
    """What opening a share link found: it opens (ok), or why not."""

    ok = "ok"
    tampered = "tampered"
    unknown = "unknown"
    revoked = "revoked"
    expired = "expired"


class LinkRefused(GreenstreamError):
    """A share link that does not open, and why (never says more than the state)."""

    def __init__(self, state: LinkState) -> None:
        self.state = state
        super().__init__(
            {
                LinkState.tampered: "this link is not valid",
                LinkState.unknown: "this link is not valid",
                LinkState.revoked: "this link has been revoked by its owner",
                LinkState.expired: "this link has expired",
            }.get(state, state.value)
        )


@dataclass(frozen=True)
class NewLink:
    """A link just made: the token is shown once (the store keeps the row, not the token).

    Attributes
    ----------
    link_id : str
        The link's id (for ``links revoke``).
    token : str
        The signed token of the URL.
    shipment_id : str
        The waybill the link shows.
    expires_at : datetime.datetime
        When the link stops opening (UTC).
    """

    link_id: str
    token: str
    shipment_id: str
    expires_at: datetime

    def url(self, base_url: str = "") -> str:
        """The link's URL, ``<base_url>/share/<token>``.

        Parameters
        ----------
        base_url : str, default ""
            Where ``greenstream serve`` is reached; a relative URL when empty.

        Returns
        -------
        str

        Examples
        --------
        >>> from datetime import UTC, datetime
        >>> link = NewLink("L1", "abc.def", "S1", datetime(2026, 12, 31, tzinfo=UTC))
        >>> link.url("https://example.org/")
        'https://example.org/share/abc.def'
        """
        return f"{base_url.rstrip('/')}/share/{self.token}"


def _serializer(key: bytes) -> Any:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(key, salt=SALT)


def parse_ttl(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or seconds; InputErrors when not one or above a year.

    Parameters
    ----------
    text : str
        A lifetime: a whole number with ``d`` (days), ``h`` (hours), ``m`` (minutes), ``s`` or
        no suffix (seconds).

    Returns
    -------
    datetime.timedelta
        The lifetime (> 0 and at most 366 days).

    Raises
    ------
    InputErrors
        When the text is not a lifetime, or is not within (0, 366 days].

    Examples
    --------
    >>> parse_ttl("12h"), parse_ttl("90")
    (datetime.timedelta(seconds=43200), datetime.timedelta(seconds=90))
    >>> parse_ttl("400d")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <options>, field 'ttl': ttl '400d' must be > 0 and at most 366 days
    """
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    t = text.strip().lower()
    try:
        seconds = int(t[:-1]) * units[t[-1]] if t and t[-1] in units else int(t)
    except ValueError as exc:
        raise InputErrors.single(
            "<options>", f"ttl {text!r}: give e.g. 30d, 12h or 3600", field="ttl"
        ) from exc
    ttl = timedelta(seconds=seconds)
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise InputErrors.single(
            "<options>", f"ttl {text!r} must be > 0 and at most 366 days", field="ttl"
        )
    return ttl


def create_link(
    engine: Engine,
    key: bytes,
    tenant_id: int,
    shipment_id: str,
    ttl: timedelta = DEFAULT_TTL,
    *,
    created_by: str,
    now: datetime | None = None,
) -> NewLink:
    """A new link to the tenant's stored shipment ``shipment_id`` (InputErrors if none).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    key : bytes
        The service's signing key (HMAC-SHA-256 via ``itsdangerous``).
    tenant_id : int
        The tenant's id.
    shipment_id : str
        The waybill to share.
    ttl : datetime.timedelta, default 30 days
        Lifetime of the link.
    created_by : str
        Who made it (kept on the row).
    now : datetime.datetime, optional
        The current time (UTC); the clock when None.

    Returns
    -------
    NewLink
        The link with its token and expiry.

    Raises
    ------
    InputErrors
        When the tenant has no such stored shipment.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> create_link(engine, b"k" * 32, 1, "S1", created_by="ops")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <link>, field 'shipment_id': no shipment 'S1'
    """
    now = now or datetime.now(UTC)
    expires = (now + ttl).replace(microsecond=0)
    # hex: never starts with '-', so a link id is never taken for a command-line option
    link_id = secrets.token_hex(12)
    with engine.begin() as conn:
        found = conn.execute(
            select(Shipment.id).where(
                Shipment.tenant_id == tenant_id, Shipment.shipment_id == shipment_id
            )
        ).first()
        if found is None:
            raise InputErrors.single("<link>", f"no shipment {shipment_id!r}", field="shipment_id")
        conn.execute(
            insert(ShareLink).values(
                link_id=link_id,
                tenant_id=tenant_id,
                shipment_id=shipment_id,
                created_at=now,
                expires_at=expires,
                revoked_at=None,
                created_by=created_by[:64],
            )
        )
    token = _serializer(key).dumps({"l": link_id, "t": tenant_id, "e": int(expires.timestamp())})
    return NewLink(link_id, str(token), shipment_id, expires)


def revoke_link(
    engine: Engine, tenant_id: int, link_id: str, *, now: datetime | None = None
) -> bool:
    """Revoke the tenant's link; False when the tenant has no such link (or it was revoked).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.
    link_id : str
        The link's id.
    now : datetime.datetime, optional
        The time of revocation (UTC); the clock when None.

    Returns
    -------
    bool
        True when a link was revoked.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> revoke_link(engine, 1, "no-such-link")
    False
    """
    with engine.begin() as conn:
        done = conn.execute(
            update(ShareLink)
            .where(
                ShareLink.link_id == link_id,
                ShareLink.tenant_id == tenant_id,
                ShareLink.revoked_at.is_(None),
            )
            .values(revoked_at=now or datetime.now(UTC))
        )
    return bool(done.rowcount)


def list_links(engine: Engine, tenant_id: int) -> list[dict[str, Any]]:
    """The tenant's links, newest first, with their state.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.

    Returns
    -------
    list of dict
        One per link: id, shipment, creator, creation and expiry times, state (ok, expired,
        revoked).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> list_links(engine, 1)
    []
    """
    now = datetime.now(UTC)
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(ShareLink)
                .where(ShareLink.tenant_id == tenant_id)
                .order_by(ShareLink.created_at.desc(), ShareLink.link_id)
            )
        )
    out = []
    for row in rows:
        state = (
            LinkState.revoked
            if row.revoked_at is not None
            else LinkState.expired
            if _utc(row.expires_at) <= now
            else LinkState.ok
        )
        out.append(
            {
                "link_id": row.link_id,
                "shipment_id": row.shipment_id,
                "created_at": _utc(row.created_at).isoformat(),
                "expires_at": _utc(row.expires_at).isoformat(),
                "revoked_at": _utc(row.revoked_at).isoformat() if row.revoked_at else None,
                "state": state.value,
            }
        )
    return out


def open_link(
    engine: Engine, key: bytes, token: str, *, now: datetime | None = None
) -> tuple[int, str]:
    """``(tenant_id, shipment_id)`` of a link that opens; :class:`LinkRefused` otherwise.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    key : bytes
        The service's signing key.
    token : str
        The token of the URL.
    now : datetime.datetime, optional
        The current time (UTC); the clock when None.

    Returns
    -------
    tuple of (int, str)
        The tenant's id and the waybill.

    Raises
    ------
    LinkRefused
        A tampered or unknown token, a revoked or an expired link.

    Examples
    --------
    A token not signed with the key does not open (and says no more than that):

    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> open_link(engine, b"k" * 32, "forged-token")
    Traceback (most recent call last):
    ...
    greenstream.reports.links.LinkRefused: this link is not valid
    """
    from itsdangerous import BadSignature

    try:
        claims = _serializer(key).loads(token)
        link_id, tenant_id, expires = str(claims["l"]), int(claims["t"]), int(claims["e"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(LinkState.tampered) from exc
    with Session(engine) as session:
        row = session.get(ShareLink, link_id)
    if row is None or row.tenant_id != tenant_id:
        raise LinkRefused(LinkState.unknown)
    if row.revoked_at is not None:
        raise LinkRefused(LinkState.revoked)
    if int(_utc(row.expires_at).timestamp()) != expires:
        raise LinkRefused(LinkState.tampered)
    if _utc(row.expires_at) <= (now or datetime.now(UTC)):
        raise LinkRefused(LinkState.expired)
    return tenant_id, row.shipment_id


def shared_waybill(engine: Engine, tenant_id: int, shipment_id: str) -> dict[str, Any]:
    """What a link shows: the waybill's footprint and its chain elements in order (places,
    times, mode, activity, emissions, method). No tenant-internal ids beyond the waybill's.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.
    shipment_id : str
        The waybill.

    Returns
    -------
    dict
        The waybill's totals (kg CO2e WTW, TTW, tkm) and its chain elements (ISO 14083:2023
        transport chain elements and hub operations).
    """
    from greenstream.store.queries import chain_frame

    s = Shipment.__table__
    with engine.connect() as conn:
        ship = conn.execute(
            select(
                s.c.shipment_id,
                s.c.tce_count,
                s.c.mass_kg,
                s.c.transport_activity_tkm,
                s.c.distance_used_km,
                s.c.co2e_wtw_kg,
                s.c.co2e_ttw_kg,
                s.c.co2e_wtt_kg,
                s.c.co2e_wtw_low_kg,
                s.c.co2e_wtw_high_kg,
                s.c.primary_data_share,
                s.c.origin,
                s.c.destination,
                s.c.main_mode,
                s.c.period,
            ).where(s.c.tenant_id == tenant_id, s.c.shipment_id == shipment_id)
        ).first()
        if ship is None:
            raise LinkRefused(LinkState.unknown)
        chain = chain_frame(conn, tenant_id, shipment_id=shipment_id)
    from greenstream.reports.store import tenant_by_id

    tenant = tenant_by_id(engine, tenant_id)
    elements = [
        {
            "seq": int(r["seq"]),
            "kind": "hub" if (r["hoc_id"] or r["hub_type"]) else "transport",
            "mode": r["mode"],
            "hub_type": r["hub_type"],
            "origin": r["origin"],
            "destination": r["destination"],
            "departure_at": _utc(r["departure_at"]).isoformat() if r["departure_at"] else None,
            "arrival_at": _utc(r["arrival_at"]).isoformat() if r["arrival_at"] else None,
            "distance_used_km": r["distance_used_km"],
            "transport_activity_tkm": r["transport_activity_tkm"],
            "co2e_wtw_kg": r["co2e_wtw_kg"],
            "co2e_ttw_kg": r["co2e_ttw_kg"],
            "method": r["method"],
            "factor_id": r["factor_id"],
        }
        for r in chain.sort("seq").iter_rows(named=True)
    ]
    return {
        "kind": "shared_waybill",
        "organisation": tenant.company_name or tenant.name,
        "footprint": dict(ship._mapping),
        "elements": elements,
        "standard": "ISO 14083:2023",
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""Tenants and their API clients (OAuth 2.0 client credentials, secrets stored as scrypt hashes).

A client holds a set of scopes (space-separated in ``api_clients.scopes``; the vocabulary is
:mod:`greenstream.api.scopes`, checked there) and can be revoked: its row stays (the admin log
names it), ``revoked`` is set and every token it holds stops working at the next request,
because the API checks each token against :func:`client_state`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from greenstream.store.models import ApiClient, Tenant
from greenstream.timeutil import as_utc

# scrypt cost: n=2**14, r=8, p=1 (the parameters RFC 7914 section 2 cites for interactive use);
# about 16 MB and a few tens of ms per check, paid once per token, not per request.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}

# Every scope a client may hold when none is named (the API's vocabulary less the consumer
# scope, which only a token exchange issues). Kept here as text so the store does not import
# the API layer; greenstream.api.scopes checks that the two agree (tests/api/test_access_*).
DEFAULT_CLIENT_SCOPES = frozenset(
    [
        "admin",
        "energy:read",
        "energy:write",
        "footprints:read",
        "footprints:write",
        "monitoring:ingest",
        "monitoring:read",
        "packaging:read",
        "packaging:write",
        "pact",
        "points:admin",
        "points:service",
        "reductions:read",
        "reductions:write",
        "reports:read",
        "reports:share",
    ]
)


def hash_secret(secret: str, salt: bytes) -> bytes:
    """The scrypt hash of a client secret (N = 2**14, r = 8, p = 1, 32 bytes).

    Parameters
    ----------
    secret : str
        The secret.
    salt : bytes
        The client's salt.

    Returns
    -------
    bytes
        The 32-byte hash.

    References
    ----------
    C. Percival, S. Josefsson, "The scrypt Password-Based Key Derivation Function", RFC 7914,
    2016.

    Examples
    --------
    >>> len(hash_secret("s3cret", b"salt"))
    32
    """
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class NewClient:
    """A client just created: the secret is shown once and never stored in clear."""

    tenant: str
    client_id: str
    client_secret: str
    scopes: frozenset[str] = DEFAULT_CLIENT_SCOPES
    name: str | None = None


@dataclass(frozen=True)
class ClientInfo:
    """A client as listed (never its secret)."""

    client_id: str
    tenant: str
    name: str | None
    scopes: frozenset[str]
    created_at: datetime
    revoked: bool
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """The client as JSON-ready values (scopes space-separated, times ISO 8601 UTC)."""
        return {
            "client_id": self.client_id,
            "tenant": self.tenant,
            "name": self.name,
            "scopes": " ".join(sorted(self.scopes)),
            "created_at": as_utc(self.created_at).isoformat(),
            "revoked": self.revoked,
            "revoked_at": None if self.revoked_at is None else as_utc(self.revoked_at).isoformat(),
        }


@dataclass(frozen=True)
class ClientState:
    """What a token check needs to know about its client, read at every request."""

    tenant_id: int
    revoked: bool
    scopes: frozenset[str]

    @classmethod
    def from_row(cls, tenant_id: int, revoked: bool, scopes: str) -> ClientState:
        """The state from the columns of :data:`CLIENT_STATE_QUERY` (scopes space-separated).

        Parameters
        ----------
        tenant_id : int
            The client's tenant.
        revoked : bool
            Whether the client is revoked.
        scopes : str
            Its scopes, space-separated.

        Returns
        -------
        ClientState
            The state.

        Examples
        --------
        >>> ClientState.from_row(3, False, "pact footprints:read").scopes == {"pact", "footprints:read"}
        True
        """
        return cls(int(tenant_id), bool(revoked), frozenset(scopes.split()))


@dataclass(frozen=True)
class AuthenticatedClient:
    """A client whose secret matched: its tenant and the scopes it may be issued."""

    client_id: str
    tenant: Tenant
    scopes: frozenset[str]


def get_or_create_tenant(session: Session, name: str, company_name: str | None = None) -> Tenant:
    """The tenant called ``name``, created (and flushed) when there is none.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    name : str
        The tenant's name.
    company_name : str or None, optional
        The company its documents name (``name`` when None).

    Returns
    -------
    Tenant
        The tenant.

    Examples
    --------
    >>> from sqlalchemy.orm import Session
    >>> from greenstream.store.db import Base, make_engine
    >>> engine = make_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with Session(engine) as session:
    ...     first = get_or_create_tenant(session, "acme").id
    ...     get_or_create_tenant(session, "acme").id == first, get_tenant(session, "other")
    (True, None)
    """
    tenant = session.scalars(select(Tenant).where(Tenant.name == name)).first()
    if tenant is None:
        tenant = Tenant(name=name, company_name=company_name or name, created_at=datetime.now(UTC))
        session.add(tenant)
        session.flush()
    return tenant


def get_tenant(session: Session, name: str) -> Tenant | None:
    """The tenant called ``name``, or None.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    name : str
        The tenant's name.

    Returns
    -------
    Tenant or None
        The tenant.
    """
    return session.scalars(select(Tenant).where(Tenant.name == name)).first()


def create_client(
    session: Session,
    tenant_name: str,
    scopes: Iterable[str] | None = None,
    *,
    name: str | None = None,
) -> NewClient:
    """A new API client of ``tenant_name`` (created if needed) holding ``scopes`` (every client
    scope when ``None``; the caller checks them against the vocabulary). Commit is the caller's.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    tenant_name : str
        The tenant's name.
    scopes : iterable of str or None, optional
        The scopes the client may be issued (OAuth 2.0 scopes).
    name : str or None, optional
        A label for the client.

    Returns
    -------
    NewClient
        The client with its secret (shown once).

    References
    ----------
    D. Hardt, "The OAuth 2.0 Authorization Framework", RFC 6749, 2012, 2.3.1 (client password)
    and 3.3 (access token scope).

    Examples
    --------
    >>> from sqlalchemy.orm import Session
    >>> from greenstream.store.db import Base, make_engine
    >>> engine = make_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with Session(engine) as session:
    ...     new = create_client(session, "acme", ["footprints:read"])
    ...     ok = authenticate_client(session, new.client_id, new.client_secret)
    ...     bad = authenticate_client(session, new.client_id, "wrong")
    >>> sorted(ok.scopes), bad
    (['footprints:read'], None)
    """
    held = DEFAULT_CLIENT_SCOPES if scopes is None else frozenset(scopes)
    tenant = get_or_create_tenant(session, tenant_name)
    client_id = "gs_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    session.add(
        ApiClient(
            client_id=client_id,
            tenant_id=tenant.id,
            secret_salt=salt,
            secret_hash=hash_secret(secret, salt),
            created_at=datetime.now(UTC),
            revoked=False,
            scopes=" ".join(sorted(held)),
            name=name,
        )
    )
    session.flush()
    return NewClient(tenant_name, client_id, secret, held, name)


def list_clients(session: Session, tenant_name: str | None = None) -> list[ClientInfo]:
    """Clients (revoked ones included), by tenant then creation time.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    tenant_name : str or None, optional
        Only this tenant's clients.

    Returns
    -------
    list of ClientInfo
        The clients.
    """
    stmt = select(ApiClient, Tenant.name).join(Tenant, Tenant.id == ApiClient.tenant_id)
    if tenant_name is not None:
        stmt = stmt.where(Tenant.name == tenant_name)
    rows = session.execute(stmt.order_by(Tenant.name, ApiClient.created_at, ApiClient.client_id))
    return [
        ClientInfo(
            c.client_id,
            t,
            c.name,
            frozenset(c.scopes.split()),
            c.created_at,
            c.revoked,
            c.revoked_at,
        )
        for c, t in rows
    ]


def revoke_client(session: Session, client_id: str, *, tenant_id: int | None = None) -> bool:
    """Revoke ``client_id`` (of ``tenant_id`` when given); False when there is no such client.
    Revoking twice keeps the first time. Commit is the caller's.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    client_id : str
        The client's id.
    tenant_id : int or None, optional
        Only a client of this tenant.

    Returns
    -------
    bool
        False when there is no such client.
    """
    client = session.get(ApiClient, client_id)
    if client is None or (tenant_id is not None and client.tenant_id != tenant_id):
        return False
    if not client.revoked:
        client.revoked = True
        client.revoked_at = datetime.now(UTC)
        session.flush()
    return True


def set_client_scopes(session: Session, client_id: str, scopes: Iterable[str]) -> bool:
    """Replace the scopes of ``client_id``; tokens already issued lose the removed scopes at
    their next request (the check intersects them). Commit is the caller's.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    client_id : str
        The client's id.
    scopes : iterable of str
        The new scopes.

    Returns
    -------
    bool
        False when there is no such client.
    """
    result = session.execute(
        update(ApiClient)
        .where(ApiClient.client_id == client_id)
        .values(scopes=" ".join(sorted(frozenset(scopes))))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# the read of every authenticated request (client_state; greenstream.store.client_check runs
# the same statement prepared on a connection of its own)
CLIENT_STATE_QUERY = select(ApiClient.tenant_id, ApiClient.revoked, ApiClient.scopes).where(
    ApiClient.client_id == bindparam("client_id")
)


def client_state(conn: Connection | Session, client_id: str) -> ClientState | None:
    """The client's tenant, revocation flag and scopes; ``None`` when it does not exist (deleted).
    One primary-key lookup; the API runs it for every authenticated request through
    :class:`greenstream.store.client_check.ClientStateReader` (one round trip on PostgreSQL).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection or sqlalchemy.orm.Session
        An open connection or session.
    client_id : str
        The client's id.

    Returns
    -------
    ClientState or None
        The client's state.
    """
    row = conn.execute(CLIENT_STATE_QUERY, {"client_id": client_id}).first()
    if row is None:
        return None
    return ClientState.from_row(row.tenant_id, row.revoked, row.scopes)


def authenticate_client(
    session: Session, client_id: str, secret: str
) -> AuthenticatedClient | None:
    """The client when ``client_id`` exists, is not revoked and ``secret`` matches.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    client_id : str
        The client's id.
    secret : str
        The presented secret (compared in constant time).

    Returns
    -------
    AuthenticatedClient or None
        The client, or None.

    References
    ----------
    RFC 6749, 2.3.1 (client password authentication).
    """
    client = session.get(ApiClient, client_id)
    if client is None or client.revoked:
        # spend the same work as a real check, so a wrong id and a wrong secret look alike
        hash_secret(secret, b"\0" * 16)
        return None
    if not hmac.compare_digest(hash_secret(secret, client.secret_salt), client.secret_hash):
        return None
    tenant = session.get(Tenant, client.tenant_id)
    if tenant is None:
        return None
    return AuthenticatedClient(client.client_id, tenant, frozenset(client.scopes.split()))

"""Tenants and their API clients (OAuth 2.0 client credentials, secrets stored as scrypt hashes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenstream.store.models import ApiClient, Tenant

# scrypt cost: n=2**14, r=8, p=1 (the parameters RFC 7914 section 2 cites for interactive use);
# about 16 MB and a few tens of ms per check, paid once per token, not per request.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class NewClient:
    """A client just created: the secret is shown once and never stored in clear."""

    tenant: str
    client_id: str
    client_secret: str


def get_or_create_tenant(session: Session, name: str, company_name: str | None = None) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.name == name)).first()
    if tenant is None:
        tenant = Tenant(name=name, company_name=company_name or name, created_at=datetime.now(UTC))
        session.add(tenant)
        session.flush()
    return tenant


def create_client(session: Session, tenant_name: str) -> NewClient:
    """A new API client of ``tenant_name`` (created if needed). Commit is the caller's."""
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
        )
    )
    session.flush()
    return NewClient(tenant_name, client_id, secret)


def authenticate_client(session: Session, client_id: str, secret: str) -> Tenant | None:
    """The client's tenant when ``client_id`` exists, is not revoked and ``secret`` matches."""
    client = session.get(ApiClient, client_id)
    if client is None or client.revoked:
        # spend the same work as a real check, so a wrong id and a wrong secret look alike
        hash_secret(secret, b"\0" * 16)
        return None
    if not hmac.compare_digest(hash_secret(secret, client.secret_salt), client.secret_hash):
        return None
    return session.get(Tenant, client.tenant_id)

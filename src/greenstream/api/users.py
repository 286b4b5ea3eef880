"""Dashboard user accounts of a tenant: create, list, disable, check a password.

Passwords are hashed with Argon2id (RFC 9106) by argon2-cffi with its default parameters
(``argon2.PasswordHasher()``: time cost 3, memory 64 MiB, parallelism 4, the RFC's second
recommended option for memory-constrained systems); a hash made with older parameters is
re-hashed at the next sign-in (``check_needs_rehash``). A wrong user name costs the same work
as a wrong password, so the answer does not tell which one was wrong.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import Engine, insert, select, update

from greenstream.api.scopes import ROLE_SCOPES
from greenstream.errors import InputErrors
from greenstream.store.dashboard import DashboardUser
from greenstream.store.models import Tenant
from greenstream.store.tenants import get_or_create_tenant

ROLES: Final = tuple(ROLE_SCOPES)
MIN_PASSWORD_CHARS: Final = 12  # NIST SP 800-63B 3.1.1.2 asks for at least 8; we ask for 12


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash of a password (argon2-cffi's defaults), as PHC text.

    Parameters
    ----------
    password : str
        The password.

    Returns
    -------
    str
        The hash, ``$argon2id$...``.

    References
    ----------
    A. Biryukov et al., "Argon2 Memory-Hard Function for Password Hashing and Proof-of-Work
    Applications", RFC 9106, 2021.

    Examples
    --------
    >>> hash_password("correct horse").startswith("$argon2id$")
    True
    """
    return str(_hasher().hash(password))


@dataclass(frozen=True)
class User:
    """A dashboard user as the API sees it (never the hash)."""

    id: int
    tenant_id: int
    tenant: str
    username: str
    role: str
    disabled: bool = False

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes of the user's role."""
        return ROLE_SCOPES[self.role]


def _check(username: str, role: str, password: str | None) -> None:
    problems = []
    if not username or len(username) > 200 or username.strip() != username:
        problems.append(("username", "1 to 200 characters, no leading or trailing spaces"))
    if role not in ROLE_SCOPES:
        problems.append(("role", f"one of {', '.join(ROLES)}"))
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        problems.append(("password", f"at least {MIN_PASSWORD_CHARS} characters"))
    if problems:
        from greenstream.errors import InputError

        raise InputErrors([InputError("<user>", None, f, r) for f, r in problems])


def create_user(
    engine: Engine,
    tenant: str,
    username: str,
    role: str,
    password: str | None,
    *,
    oidc_subject: str | None = None,
) -> User:
    """A new user of ``tenant`` (created if new). ``password`` None: OIDC sign-in only.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant : str
        The tenant's name.
    username : str
        The user's name.
    role : str
        ``viewer``, ``analyst`` or ``admin``.
    password : str or None
        The password (stored as :func:`hash_password`), or None.
    oidc_subject : str or None, optional
        The OpenID Connect ``sub`` to bind.

    Returns
    -------
    User
        The user.
    """
    _check(username, role, password)
    digest = hash_password(password) if password is not None else None
    with engine.begin() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            t = get_or_create_tenant(session, tenant)
            tenant_id = t.id
            session.flush()
        exists = conn.execute(
            select(DashboardUser.id).where(
                DashboardUser.tenant_id == tenant_id, DashboardUser.username == username
            )
        ).first()
        if exists is not None:
            raise InputErrors.single(
                "<user>", f"user {username!r} already exists in tenant {tenant!r}", field="username"
            )
        row = conn.execute(
            insert(DashboardUser)
            .values(
                tenant_id=tenant_id,
                username=username,
                role=role,
                password_hash=digest,
                oidc_subject=oidc_subject,
                created_at=datetime.now(UTC),
                disabled=False,
            )
            .returning(DashboardUser.id)
        ).scalar_one()
    return User(int(row), tenant_id, tenant, username, role)


def list_users(engine: Engine, tenant: str) -> list[User]:
    """The tenant's users, by name.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant : str
        The tenant's name.

    Returns
    -------
    list of User
        The users (disabled ones included).
    """
    u, t = DashboardUser, Tenant
    with engine.connect() as conn:
        rows = conn.execute(
            select(u.id, u.tenant_id, t.name, u.username, u.role, u.disabled)
            .join(t, t.id == u.tenant_id)
            .where(t.name == tenant)
            .order_by(u.username)
        ).all()
    return [User(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), bool(r[5])) for r in rows]


def disable_user(engine: Engine, tenant: str, username: str) -> bool:
    """Disable a user (its sessions stop working at once); False when there is no such user.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant : str
        The tenant's name.
    username : str
        The user's name.

    Returns
    -------
    bool
        False when there is no such user.
    """
    with engine.begin() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == tenant)).scalar()
        if tenant_id is None:
            return False
        done = conn.execute(
            update(DashboardUser)
            .where(DashboardUser.tenant_id == tenant_id, DashboardUser.username == username)
            .values(disabled=True)
        )
    return bool(done.rowcount)


_DUMMY_HASH: str | None = None


def authenticate(engine: Engine, tenant: str, username: str, password: str) -> User | None:
    """The user when the tenant, name and password match and it is enabled; None otherwise.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant : str
        The tenant's name.
    username : str
        The user's name.
    password : str
        The presented password.

    Returns
    -------
    User or None
        The user.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    u, t = DashboardUser, Tenant
    with engine.connect() as conn:
        row = conn.execute(
            select(u.id, u.tenant_id, t.name, u.username, u.role, u.password_hash, u.disabled)
            .join(t, t.id == u.tenant_id)
            .where(t.name == tenant, u.username == username)
        ).first()
    hasher = _hasher()
    if row is None or row.password_hash is None or row.disabled:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("greenstream-no-such-user")
        with contextlib.suppress(VerificationError):  # the same work as a real check
            hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(
                update(u).where(u.id == row.id).values(password_hash=hash_password(password))
            )
    return User(int(row.id), int(row.tenant_id), str(row.name), str(row.username), str(row.role))


def oidc_user(engine: Engine, tenant: str, subject: str, username: str | None) -> User | None:
    """The tenant's user an OpenID Connect sign-in stands for: the one bound to ``subject``,
    else the one named ``username`` (the configured claim) not yet bound, which is then bound
    to ``subject``. None when there is none or it is disabled (no user is made here).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant : str
        The tenant's name.
    subject : str
        The ID token's ``sub``.
    username : str or None
        The configured claim's value.

    Returns
    -------
    User or None
        The user.

    References
    ----------
    OpenID Connect Core 1.0, 2 (``sub``: the subject identifier, unique per issuer).
    """
    u, t = DashboardUser, Tenant
    cols = (u.id, u.tenant_id, t.name, u.username, u.role, u.disabled, u.oidc_subject)
    with engine.begin() as conn:
        row = conn.execute(
            select(*cols)
            .join(t, t.id == u.tenant_id)
            .where(t.name == tenant, u.oidc_subject == subject)
        ).first()
        if row is None and username:
            row = conn.execute(
                select(*cols)
                .join(t, t.id == u.tenant_id)
                .where(t.name == tenant, u.username == username, u.oidc_subject.is_(None))
            ).first()
            if row is not None:
                conn.execute(update(u).where(u.id == row.id).values(oidc_subject=subject))
    if row is None or row.disabled:
        return None
    return User(int(row.id), int(row.tenant_id), str(row.name), str(row.username), str(row.role))

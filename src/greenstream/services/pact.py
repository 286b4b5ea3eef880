"""PACT v2.3 ListFootprints / GetFootprint over the store: ``$filter`` compiled to SQL.

A tenant's footprints are its shipments (by ``created_at``, then ``id``), then its TOCs, then its
HOCs (by ``id``): a stable order, so a page link returns the same page when called again (PACT
§api-action-list-pagination) as long as nothing is deleted. Pages are keyset pages: the link's
cursor names the last footprint returned (``s<created µs>.<id>``, ``t<id>``, ``h<id>``), so a
page costs one index range scan however deep it is, and no count is ever taken.

``$filter`` (:func:`greenstream.io.ileap.pact.parse_filter`) is compiled to a SQL condition on the
``shipments`` table (:func:`shipment_condition`): ``created`` and ``pcf/referencePeriodStart`` use
the indexes ``(tenant_id, created_at, id)`` (also the page order) and
``(tenant_id, reference_period_start)``, ``id`` the
unique ``pf_id`` index, ``productIds/any(...)`` the unique ``(tenant_id, shipment_id)`` index;
properties that are the same for every footprint of a tenant (``productCategoryCpc``,
``status``, ``companyName``, ``companyIds``) or absent from every one (``updated``,
``pcf/geographyCountry``) are decided before the query. TOCs and HOCs (a few hundred per tenant at
most) are filtered on their documents with :func:`~greenstream.io.ileap.pact.matches`, which is
also the oracle the SQL compilation is tested against.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    cast,
    false,
    literal,
    select,
    true,
    tuple_,
)

from greenstream.io.ileap.pact import (
    PRODUCT_CATEGORY_CPC,
    AnyEq,
    Clause,
    hoc_document,
    matches,
    product_key,
    shipment_documents,
    toc_document,
)
from greenstream.store.models import Hoc, Shipment, Tenant, Toc
from greenstream.store.queries import pointer_of, shipment_chains
from greenstream.store.types import UtcDateTime

__all__ = [
    "Company",
    "Cursor",
    "footprint_by_id",
    "list_footprints",
    "parse_cursor",
    "shipment_condition",
]

OPERATION_BATCH: Final = 500
# the stored chain-element columns a ShipmentFootprint is written from (decoding only these is
# several times faster than the whole chunk)
DOCUMENT_COLUMNS: Final = (
    "shipment_id",
    "tce_id",
    "mass_kg",
    "mode",
    "distance_km",
    "hoc_id",
    "hub_type",
    "toc_id",
    "departure_at",
    "arrival_at",
    "transport_activity_tkm",
    "distance_used_km",
    "distance_basis",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "factor_id",
)
_CURSOR: Final = re.compile(r"^(?:s(-?[0-9]{1,19})\.([0-9]{1,19})|([th])([0-9]{1,19}))$")
_KINDS: Final = ("s", "t", "h")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Company:
    """The data owner as its documents name it."""

    name: str
    urn: str


@dataclass(frozen=True)
class Cursor:
    """After footprint ``row_id`` of kind ``kind`` (s: shipment, t: TOC, h: HOC); shipments are
    in (``created_at``, id) order, so their cursor also holds ``created_at`` (microseconds
    since 1970-01-01T00:00:00Z)."""

    kind: str
    row_id: int
    created_us: int = 0

    def text(self) -> str:
        """The cursor as the page link carries it (``s<created_us>.<id>``, ``t<id>``, ``h<id>``).

        Examples
        --------
        >>> Cursor("s", 7, 1_000_000).text()
        's1000000.7'
        """
        if self.kind == "s":
            return f"s{self.created_us}.{self.row_id}"
        return f"{self.kind}{self.row_id}"

    @property
    def created(self) -> datetime:
        """The ``created_at`` of a shipment cursor (UTC)."""
        return _EPOCH + timedelta(microseconds=self.created_us)


def parse_cursor(text: str) -> Cursor:
    """A page cursor from its text; ValueError when it is not one.

    Parameters
    ----------
    text : str
        The cursor text (see :meth:`Cursor.text`).

    Returns
    -------
    Cursor
        The cursor.

    Raises
    ------
    ValueError
        When ``text`` is not a cursor.

    Examples
    --------
    >>> parse_cursor("s1000000.7") == Cursor("s", 7, 1_000_000)
    True
    >>> parse_cursor("t42").text()
    't42'
    """
    m = _CURSOR.match(text)
    if m is None:
        raise ValueError(f"not a page cursor: {text!r}")
    if m.group(1) is not None:
        return Cursor("s", int(m.group(2)), int(m.group(1)))
    return Cursor(m.group(3), int(m.group(4)))


def _shipment_cursor(row: dict[str, Any]) -> Cursor:
    created = row["created_at"]
    us = (created - _EPOCH) // timedelta(microseconds=1)
    return Cursor("s", int(row["id"]), int(us))


def company_of(conn: Connection, tenant_id: int, tenant: str, urn: str) -> Company:
    """The data owner: the tenant's company name (the tenant's name when none is set).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant.
    tenant : str
        The tenant's name.
    urn : str
        The company's URN in the documents.

    Returns
    -------
    Company
        The company.
    """
    name = conn.execute(select(Tenant.company_name).where(Tenant.id == tenant_id)).scalar()
    return Company(str(name or tenant), urn)


# --------------------------------------------------------------------------------------------
# $filter -> SQL
# --------------------------------------------------------------------------------------------

_ship = Shipment.__table__


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        result = column == value
    elif op == "lt":
        result = column < value
    elif op == "le":
        result = column <= value
    elif op == "gt":
        result = column > value
    else:
        result = column >= value
    out: ColumnElement[bool] = result
    return out


def _constant(actual: str | None, op: str, value: Any) -> ColumnElement[bool]:
    """A property every footprint of the tenant has with the same value (or none)."""
    if actual is None:
        return false()
    ok = {
        "eq": actual == value,
        "lt": actual < value,
        "le": actual <= value,
        "gt": actual > value,
        "ge": actual >= value,
    }[op]
    return true() if ok else false()


def _shipment_clause(clause: Clause, company: Company) -> ColumnElement[bool]:
    if isinstance(clause, AnyEq):
        if clause.prop == "companyIds":
            return true() if clause.value == company.urn else false()
        key = product_key(clause.value, "shipment")
        return _ship.c.shipment_id == key if key is not None else false()
    prop, op, value = clause.prop, clause.op, clause.value
    if prop == "created":
        return _compare(_ship.c.created_at, op, value)
    if prop == "pcf/referencePeriodStart":
        return _compare(_ship.c.reference_period_start, op, value)
    if prop == "pcf/referencePeriodEnd":
        return _compare(_ship.c.reference_period_end, op, value)
    if prop == "id":
        if op == "eq":
            try:
                return _ship.c.pf_id == uuid.UUID(str(value))
            except ValueError:
                return false()
        return _compare(cast(_ship.c.pf_id, String), op, str(value))
    constants: dict[str, str | None] = {
        "productCategoryCpc": PRODUCT_CATEGORY_CPC,
        "status": "Active",
        "companyName": company.name,
        "updated": None,  # a stored shipment's footprint is never updated
        "pcf/geographyCountry": None,  # not declared
    }
    return _constant(constants[prop], op, value)


def shipment_condition(clauses: Sequence[Clause], company: Company) -> ColumnElement[bool]:
    """The SQL condition on ``shipments`` equivalent to ``clauses`` on the documents.

    Parameters
    ----------
    clauses : sequence of Clause
        The parsed ``$filter`` clauses (PACT Technical Specification, Action ListFootprints).
    company : Company
        The data owner (for clauses on the company).

    Returns
    -------
    sqlalchemy.sql.ColumnElement
        The WHERE condition.
    """
    if not clauses:
        return true()
    return and_(*[_shipment_clause(c, company) for c in clauses])


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------


def _shipment_docs(
    conn: Connection, tenant_id: int, ships: list[dict[str, Any]], company: Company
) -> list[dict[str, Any]]:
    if not ships:
        return []
    # each chunk the page touches is decoded once; one writer pass for the page
    chains = shipment_chains(
        conn, tenant_id, [pointer_of(s) for s in ships], columns=DOCUMENT_COLUMNS
    )
    frame = pl.concat([chains[str(s["shipment_id"])] for s in ships], how="vertical")
    return shipment_documents(ships, frame, company=company.name, company_urn=company.urn)


def _shipment_rows(
    conn: Connection,
    tenant_id: int,
    condition: ColumnElement[bool],
    after: Cursor | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Shipment rows matching ``condition`` in (created_at, id) order after ``after``: an
    index range scan of ``(tenant_id, created_at, id)``."""
    stmt = select(_ship).where(_ship.c.tenant_id == tenant_id, condition)
    if after is not None:
        stmt = stmt.where(
            tuple_(_ship.c.created_at, _ship.c.id)
            > tuple_(literal(after.created, UtcDateTime()), literal(after.row_id))
        )
    rows = conn.execute(stmt.order_by(_ship.c.created_at, _ship.c.id).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def _operation_docs(
    conn: Connection,
    table: Any,
    build: Callable[[dict[str, Any]], dict[str, Any]],
    tenant_id: int,
    after: int,
) -> Iterator[tuple[int, dict[str, Any]]]:
    while True:
        rows = conn.execute(
            select(table)
            .where(table.c.tenant_id == tenant_id, table.c.id > after)
            .order_by(table.c.id)
            .limit(OPERATION_BATCH)
        ).all()
        for r in rows:
            row = dict(r._mapping)
            yield int(row["id"]), build(row)
        if len(rows) < OPERATION_BATCH:
            return
        after = int(rows[-1]._mapping["id"])


def list_footprints(
    conn: Connection,
    tenant_id: int,
    company: Company,
    clauses: Sequence[Clause],
    limit: int,
    cursor: Cursor | None = None,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the tenant's footprints matching ``clauses`` after ``cursor``: at most
    ``limit`` documents, and the cursor of the next page (None when this is the last).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant.
    company : Company
        The data owner.
    clauses : sequence of Clause
        The parsed ``$filter`` clauses.
    limit : int
        The most documents on the page (count).
    cursor : Cursor or None, optional
        Where the page starts (None: the first page).

    Returns
    -------
    tuple
        ``(documents, next cursor or None)``.

    References
    ----------
    PACT Technical Specification, Action ListFootprints (pagination and ``$filter``).
    """
    start = _KINDS.index(cursor.kind) if cursor else 0
    want = limit + 1  # one more than the page: is there a next page?
    found: list[tuple[Cursor, dict[str, Any]]] = []  # (where it is, row or document)
    for index in range(start, len(_KINDS)):
        kind = _KINDS[index]
        after = cursor if cursor and index == start else None
        if kind == "s":
            rows = _shipment_rows(
                conn, tenant_id, shipment_condition(clauses, company), after, want
            )
            found += [(_shipment_cursor(r), r) for r in rows]
        else:
            table = Toc.__table__ if kind == "t" else Hoc.__table__
            document = toc_document if kind == "t" else hoc_document

            def build(row: dict[str, Any], document: Any = document) -> dict[str, Any]:
                doc: dict[str, Any] = document(row, company=company.name, company_urn=company.urn)
                return doc

            start_id = after.row_id if after is not None else 0
            for row_id, doc in _operation_docs(conn, table, build, tenant_id, start_id):
                if matches(doc, clauses):
                    found.append((Cursor(kind, row_id), doc))
                    if len(found) >= want:
                        break
        if len(found) >= want:
            break
    page = found[:limit]
    ships = [item for where, item in page if where.kind == "s"]
    built = iter(_shipment_docs(conn, tenant_id, ships, company))
    docs = [next(built) if where.kind == "s" else item for where, item in page]
    nxt = page[-1][0] if len(found) > limit and page else None
    return docs, nxt


def footprint_by_id(
    conn: Connection, tenant_id: int, company: Company, pf_id: str
) -> dict[str, Any] | None:
    """The tenant's footprint with id ``pf_id`` (a shipment, TOC or HOC), or None.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant.
    company : Company
        The data owner.
    pf_id : str
        The footprint's id.

    Returns
    -------
    dict or None
        The PACT ProductFootprint document, or None.

    References
    ----------
    PACT Technical Specification, Action GetFootprint.
    """
    try:
        key = uuid.UUID(pf_id)
    except ValueError:
        return None
    text = str(key)
    if text != pf_id.lower():  # only the canonical form names a footprint
        return None
    row = conn.execute(
        select(_ship).where(_ship.c.tenant_id == tenant_id, _ship.c.pf_id == key)
    ).first()
    if row is not None:
        return _shipment_docs(conn, tenant_id, [dict(row._mapping)], company)[0]
    for table, build in ((Toc.__table__, toc_document), (Hoc.__table__, hoc_document)):
        found = conn.execute(
            select(table).where(table.c.tenant_id == tenant_id, table.c.pf_id == text)
        ).first()
        if found is not None:
            return build(dict(found._mapping), company=company.name, company_urn=company.urn)
    return None

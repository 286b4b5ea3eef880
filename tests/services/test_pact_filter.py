"""``$filter`` compiled to SQL gives exactly what the filter gives on the documents.

The oracle is :func:`greenstream.io.ileap.pact.matches`, the OData semantics evaluated on each
ProductFootprint as served; the SQL path (greenstream.services.pact) must select the same
footprints in the same order, for random conjunctions of the clauses PACT allows, on SQLite and
PostgreSQL. Keyset pages of any size concatenate to the unpaged list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.io.ileap.pact import AnyEq, Clause, Compare, company_urn, matches, product_urn
from greenstream.services.pact import Company, Cursor, list_footprints
from greenstream.services.upload import ingest
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.models import Hoc, Shipment, Toc
from greenstream.store.tenants import get_or_create_tenant

DAY0 = datetime(2025, 12, 28, tzinfo=UTC)
COMPANY = Company("Filter Logistics", company_urn("urn:greenstream:tenant:", "filter"))


@pytest.fixture(scope="module")
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, int, list[dict[str, Any]]]]:
    url = (
        f"sqlite:///{tmp_path_factory.mktemp('flt') / 'f.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        tenant_id = get_or_create_tenant(session, "filter", COMPANY.name).id
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    for batch in range(4):  # four uploads: four `created` values
        legs = [
            {
                "shipment_id": f"B{batch}-{i}",
                "mass_kg": 100.0 + i,
                "distance_km": 10.0 + batch,
                "mode": "road",
                "departure_at": (DAY0 + timedelta(days=batch * 2 + i % 3, hours=i)).isoformat(),
            }
            for i in range(6)
        ]
        ingest(engine, tenant_id, pl.DataFrame(legs), registry=registry, gazetteer=gazetteer)
        with engine.begin() as conn:  # spread the uploads over days
            conn.execute(
                update(Shipment)
                .where(Shipment.tenant_id == tenant_id, Shipment.audit_seq == batch + 1)
                .values(created_at=DAY0 + timedelta(days=batch, hours=3))
            )
    now = DAY0 + timedelta(days=10)
    with session_factory(engine).begin() as session:
        for k in range(3):
            session.add(
                Toc(
                    tenant_id=tenant_id,
                    toc_id=f"toc-{k}",
                    pf_id=str(uuid.uuid4()),
                    mode="road",
                    intensity_wtw_kg_per_tkm=0.1,
                    intensity_ttw_kg_per_tkm=0.08,
                    created_at=now - timedelta(days=k),
                    updated_at=now - timedelta(days=k) + timedelta(hours=k),
                    version=k,
                )
            )
        session.add(
            Hoc(
                tenant_id=tenant_id,
                hoc_id="hub-0",
                pf_id=str(uuid.uuid4()),
                hub_type="Warehouse",
                intensity_wtw_kg_per_t=1.0,
                intensity_ttw_kg_per_t=0.5,
                created_at=now,
                updated_at=now,
                version=0,
            )
        )
    with engine.connect() as conn:
        every, _ = list_footprints(conn, tenant_id, COMPANY, (), limit=10_000)
    assert len(every) == 4 * 6 + 3 + 1
    yield engine, tenant_id, every
    engine.dispose()


pytestmark = pytest.mark.parametrize("seeded", ["sqlite", "postgresql"], indirect=True)

TIMESTAMPS = [DAY0 + timedelta(days=d, hours=h) for d in range(-1, 12) for h in (0, 3, 5)]
STAMP_PROPS = ("created", "updated", "pcf/referencePeriodStart", "pcf/referencePeriodEnd")
TEXT_VALUES = {
    "productCategoryCpc": ["83117", "3342", "8", "9"],
    "status": ["Active", "Deprecated"],
    "companyName": [COMPANY.name, "Other", "A", "Z"],
    "pcf/geographyCountry": ["DE", "CN"],
}


@st.composite
def clauses(draw: st.DrawFn, every: list[dict[str, Any]]) -> tuple[Clause, ...]:
    out: list[Clause] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["stamp", "text", "id", "product", "company"]))
        op = draw(st.sampled_from(["eq", "lt", "le", "gt", "ge"]))
        if kind == "stamp":
            prop = draw(st.sampled_from(STAMP_PROPS))
            docs_stamps = [
                datetime.fromisoformat(
                    (d.get(prop) if "/" not in prop else d["pcf"][prop.split("/")[1]]).replace(
                        "Z", "+00:00"
                    )
                )
                for d in every
                if (d.get(prop) if "/" not in prop else d["pcf"].get(prop.split("/")[1]))
            ]
            value = draw(st.sampled_from(TIMESTAMPS + docs_stamps))
            out.append(Compare(prop, op, value))
        elif kind == "text":
            prop = draw(st.sampled_from(sorted(TEXT_VALUES)))
            out.append(Compare(prop, op, draw(st.sampled_from(TEXT_VALUES[prop]))))
        elif kind == "id":
            ids = [d["id"] for d in every] + [str(uuid.uuid4()), "not-a-uuid"]
            out.append(
                Compare(
                    "id",
                    draw(st.sampled_from(["eq", "eq", "lt", "ge"])),
                    draw(st.sampled_from(ids)),
                )
            )
        elif kind == "product":
            urns = [d["productIds"][0] for d in every] + [product_urn("shipment", "nope")]
            out.append(AnyEq("productIds", draw(st.sampled_from(urns))))
        else:
            out.append(AnyEq("companyIds", draw(st.sampled_from([COMPANY.urn, "urn:other"]))))
    return tuple(out)


def _ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in docs]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_sql_filter_equals_the_document_filter(
    seeded: tuple[Engine, int, list[dict[str, Any]]], data: st.DataObject
) -> None:
    engine, tenant_id, every = seeded
    flt = data.draw(clauses(every))
    expected = [d for d in every if matches(d, flt)]
    with engine.connect() as conn:
        got, nxt = list_footprints(conn, tenant_id, COMPANY, flt, limit=10_000)
    assert nxt is None
    assert _ids(got) == _ids(expected), flt


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(limit=st.integers(1, 9), data=st.data())
def test_pages_concatenate_to_the_whole_list(
    seeded: tuple[Engine, int, list[dict[str, Any]]], limit: int, data: st.DataObject
) -> None:
    engine, tenant_id, every = seeded
    flt = data.draw(st.sampled_from([(), (Compare("created", "ge", DAY0 + timedelta(days=2)),)]))
    expected = [d for d in every if matches(d, flt)]
    pages: list[dict[str, Any]] = []
    cursor: Cursor | None = None
    with engine.connect() as conn:
        while True:
            page, cursor = list_footprints(conn, tenant_id, COMPANY, flt, limit, cursor)
            assert len(page) <= limit
            pages += page
            if cursor is None:
                break
            # the same cursor gives the same page again (PACT §api-action-list-pagination)
    assert _ids(pages) == _ids(expected)

"""``greenstream serve --demo``: synthetic demo data (greenstream.synth) for tenant 'demo'."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select

from greenstream.api.settings import ApiSettings
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services.upload import ingest
from greenstream.store.db import make_engine, session_factory
from greenstream.store.models import Hoc, Shipment, Toc
from greenstream.store.tenants import NewClient, create_client, get_or_create_tenant

DEMO_TENANT = "demo"
DEMO_SHIPMENTS = 2000


def load_demo(settings: ApiSettings, shipments: int = DEMO_SHIPMENTS) -> NewClient:
    """Publish the synthetic TOCs / HOCs and upload a synthetic day (once) for tenant 'demo';
    return a new client of that tenant."""
    from greenstream.synth import generate_network_day

    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        tenant = get_or_create_tenant(session, DEMO_TENANT, "greenstream demo logistics")
        tenant_id = tenant.id
        already = session.scalars(
            select(Shipment.id).where(Shipment.tenant_id == tenant_id).limit(1)
        ).first()
        client = create_client(session, DEMO_TENANT)
    if already is None:
        data = generate_network_day(shipments=shipments, seed=11)
        now = datetime.now(UTC)
        with sessions.begin() as session:
            session.execute(delete(Toc).where(Toc.tenant_id == tenant_id))
            session.execute(delete(Hoc).where(Hoc.tenant_id == tenant_id))
            for row in data["tocs"].to_dicts():
                session.add(
                    Toc(
                        tenant_id=tenant_id,
                        pf_id=str(uuid.uuid4()),
                        created_at=now,
                        updated_at=now,
                        **{k: row.get(k) for k in _TOC_FIELDS},
                    )
                )
            for row in data["hocs"].to_dicts():
                session.add(
                    Hoc(
                        tenant_id=tenant_id,
                        pf_id=str(uuid.uuid4()),
                        created_at=now,
                        updated_at=now,
                        **{k: row.get(k) for k in _HOC_FIELDS},
                    )
                )
        ingest(
            engine,
            tenant_id,
            data["legs"],
            trips=data.get("trips"),
            registry=Registry.builtin(),
            gazetteer=Gazetteer.builtin(),
            source="greenstream synth (demo)",
        )
    engine.dispose()
    return client


_TOC_FIELDS = (
    "toc_id",
    "mode",
    "intensity_wtw_kg_per_tkm",
    "intensity_ttw_kg_per_tkm",
    "data_type",
    "description",
)
_HOC_FIELDS = (
    "hoc_id",
    "hub_type",
    "intensity_wtw_kg_per_t",
    "intensity_ttw_kg_per_t",
    "data_type",
    "description",
)

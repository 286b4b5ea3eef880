"""EPCIS 2.0 event repository of the packaging concern: events (one row per event, unique per
tenant and canonical event hash) and their EPCs (one row per event and EPC, with the GRAI of a
reusable box).

Revision ID: 0900_epcis_events
Revises: 0800_energy_sites
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0900_epcis_events"
down_revision = "0800_energy_sites"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "epcis_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("biz_step", sa.Text(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_time_zone_offset", sa.String(6), nullable=False),
        sa.Column("record_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_point", sa.Text(), nullable=True),
        sa.Column("biz_location", sa.Text(), nullable=True),
        sa.Column("source_party", sa.Text(), nullable=True),
        sa.Column("destination_party", sa.Text(), nullable=True),
        sa.Column("event_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_epcis_events"),
        sa.UniqueConstraint("tenant_id", "event_hash", name="uq_epcis_events_tenant_id"),
    )
    op.create_index("ix_epcis_events_time", "epcis_events", ["tenant_id", "event_time"])
    op.create_index("ix_epcis_events_location", "epcis_events", ["tenant_id", "biz_location"])
    op.create_table(
        "epcis_event_epcs",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("epc", sa.Text(), nullable=False),
        sa.Column("grai", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "event_hash", "epc", name="pk_epcis_event_epcs"),
    )
    op.create_index("ix_epcis_event_epcs_epc", "epcis_event_epcs", ["tenant_id", "epc"])
    op.create_index("ix_epcis_event_epcs_grai", "epcis_event_epcs", ["tenant_id", "grai"])


def downgrade() -> None:
    op.drop_index("ix_epcis_event_epcs_grai", table_name="epcis_event_epcs")
    op.drop_index("ix_epcis_event_epcs_epc", table_name="epcis_event_epcs")
    op.drop_table("epcis_event_epcs")
    op.drop_index("ix_epcis_events_location", table_name="epcis_events")
    op.drop_index("ix_epcis_events_time", table_name="epcis_events")
    op.drop_table("epcis_events")

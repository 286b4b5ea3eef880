"""EPCIS event keys: the event hash stored as its 32 bytes (``BLOB`` / ``bytea``) instead of 64
hex characters, and the EPC rows keyed by the event's row id instead of the tenant and hash.

Existing rows are migrated: each hash is decoded from hex, each EPC row gets the row id of its
event (tenant and hash). On SQLite ``epcis_event_epcs`` becomes a ``WITHOUT ROWID`` table whose
primary key ``(event_id, epc)`` is the table itself.

Revision ID: 1300_packaging3_epcis_keys
Revises: 1300_dashboard2_parties_rollups
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "1300_packaging3_epcis_keys"
down_revision = "1300_dashboard2_parties_rollups"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_EVENT_COLUMNS = (
    "id, tenant_id, {hash}, event_id, event_type, action, biz_step, disposition, event_time, "
    "event_time_zone_offset, record_time, read_point, biz_location, source_party, "
    "destination_party, event_json"
)


def _events_table(name: str, hash_type: Any) -> None:
    op.create_table(
        name,
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_hash", hash_type, nullable=False),
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


def _indexes() -> None:
    op.create_index("ix_epcis_events_time", "epcis_events", ["tenant_id", "event_time"])
    op.create_index("ix_epcis_events_location", "epcis_events", ["tenant_id", "biz_location"])
    op.create_index("ix_epcis_event_epcs_epc", "epcis_event_epcs", ["tenant_id", "epc"])
    op.create_index("ix_epcis_event_epcs_grai", "epcis_event_epcs", ["tenant_id", "grai"])


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text)


def _upgrade_sqlite() -> None:
    """SQLite cannot change a column's type or a primary key: build the new tables beside the
    old ones, copy, drop the old ones and take their names (indexes are made last)."""
    bind = op.get_bind()
    raw: Any = bind.connection.driver_connection
    raw.create_function("gs_unhex", 1, _unhex, deterministic=True)
    _events_table("epcis_events_1300", sa.LargeBinary(32))
    op.execute(
        f"INSERT INTO epcis_events_1300 ({_EVENT_COLUMNS.format(hash='event_hash')}) "
        f"SELECT {_EVENT_COLUMNS.format(hash='gs_unhex(event_hash)')} FROM epcis_events "
        "ORDER BY id"
    )
    op.create_table(
        "epcis_event_epcs_1300",
        sa.Column("event_id", BigId, nullable=False),
        sa.Column("epc", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("grai", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "epc", name="pk_epcis_event_epcs"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO epcis_event_epcs_1300 (event_id, epc, tenant_id, grai) "
        "SELECT e.id, x.epc, x.tenant_id, x.grai FROM epcis_event_epcs x "
        "JOIN epcis_events e ON e.tenant_id = x.tenant_id AND e.event_hash = x.event_hash "
        "ORDER BY e.id, x.epc"
    )
    op.drop_table("epcis_event_epcs")
    op.drop_table("epcis_events")
    op.rename_table("epcis_events_1300", "epcis_events")
    op.rename_table("epcis_event_epcs_1300", "epcis_event_epcs")
    _indexes()


def _upgrade_postgresql() -> None:
    op.add_column("epcis_event_epcs", sa.Column("event_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE epcis_event_epcs x SET event_id = e.id FROM epcis_events e "
        "WHERE e.tenant_id = x.tenant_id AND e.event_hash = x.event_hash"
    )
    op.alter_column(
        "epcis_events",
        "event_hash",
        type_=sa.LargeBinary(32),
        postgresql_using="decode(event_hash, 'hex')",
    )
    op.drop_constraint("pk_epcis_event_epcs", "epcis_event_epcs", type_="primary")
    op.drop_column("epcis_event_epcs", "event_hash")
    op.alter_column("epcis_event_epcs", "event_id", nullable=False)
    op.create_primary_key("pk_epcis_event_epcs", "epcis_event_epcs", ["event_id", "epc"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _events_table("epcis_events_0900", sa.String(64))
        op.execute(
            f"INSERT INTO epcis_events_0900 ({_EVENT_COLUMNS.format(hash='event_hash')}) "
            f"SELECT {_EVENT_COLUMNS.format(hash='lower(hex(event_hash))')} FROM epcis_events "
            "ORDER BY id"
        )
        op.create_table(
            "epcis_event_epcs_0900",
            sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.Column("event_hash", sa.String(64), nullable=False),
            sa.Column("epc", sa.Text(), nullable=False),
            sa.Column("grai", sa.String(40), nullable=True),
            sa.PrimaryKeyConstraint("tenant_id", "event_hash", "epc", name="pk_epcis_event_epcs"),
        )
        op.execute(
            "INSERT INTO epcis_event_epcs_0900 (tenant_id, event_hash, epc, grai) "
            "SELECT x.tenant_id, lower(hex(e.event_hash)), x.epc, x.grai "
            "FROM epcis_event_epcs x JOIN epcis_events e ON e.id = x.event_id"
        )
        op.drop_table("epcis_event_epcs")
        op.drop_table("epcis_events")
        op.rename_table("epcis_events_0900", "epcis_events")
        op.rename_table("epcis_event_epcs_0900", "epcis_event_epcs")
        _indexes()
        return
    op.add_column("epcis_event_epcs", sa.Column("event_hash", sa.String(64), nullable=True))
    op.execute(
        "UPDATE epcis_event_epcs x SET event_hash = encode(e.event_hash, 'hex') "
        "FROM epcis_events e WHERE e.id = x.event_id"
    )
    op.alter_column(
        "epcis_events",
        "event_hash",
        type_=sa.String(64),
        postgresql_using="encode(event_hash, 'hex')",
    )
    op.drop_constraint("pk_epcis_event_epcs", "epcis_event_epcs", type_="primary")
    op.drop_column("epcis_event_epcs", "event_id")
    op.alter_column("epcis_event_epcs", "event_hash", nullable=False)
    op.create_primary_key(
        "pk_epcis_event_epcs", "epcis_event_epcs", ["tenant_id", "event_hash", "epc"]
    )

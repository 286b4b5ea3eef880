"""Access control: scopes, a label and a revocation time per API client; the admin action log.

Existing clients keep every scope a client may hold (the access they had), so nothing a
deployment runs today loses access by the upgrade; narrow them with ``greenstream clients``.

Revision ID: 0500_access_control
Revises: 0400_chain_chunks
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500_access_control"
down_revision = "0400_chain_chunks"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The scopes a client could hold when this revision was written (greenstream.api.scopes,
# every scope but the consumer one): literal here so the migration never changes with the code.
EXISTING_CLIENT_SCOPES = (
    "admin energy:read energy:write footprints:read footprints:write monitoring:ingest "
    "monitoring:read packaging:read packaging:write pact points:admin points:service "
    "reductions:read reductions:write reports:read"
)


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(
            sa.Column("scopes", sa.Text(), nullable=False, server_default=EXISTING_CLIENT_SCOPES)
        )
        batch.add_column(sa.Column("name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "admin_actions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_admin_actions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_admin_actions_tenant_id_tenants"
        ),
    )
    op.create_index("ix_admin_actions_tenant_id", "admin_actions", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_admin_actions_tenant_id", table_name="admin_actions")
    op.drop_table("admin_actions")
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("name")
        batch.drop_column("scopes")

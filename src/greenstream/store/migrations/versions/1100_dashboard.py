"""Dashboard: analytics facts per upload batch, tenant time zone, users and sessions
(greenstream.store.dashboard).

Revision ID: 1100_dashboard
Revises: 0900_epcis_events
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1100_dashboard"
down_revision = "0900_epcis_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_facts",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("facts_version", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "audit_seq", name=op.f("pk_analytics_facts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Parquet bytes are compressed already: keep them out of line and uncompressed
        op.execute("ALTER TABLE analytics_facts ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "dashboard_tenant_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dashboard_tenant_settings_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_dashboard_tenant_settings")),
    )
    op.create_table(
        "dashboard_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("oidc_subject", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dashboard_users_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_users")),
        sa.UniqueConstraint("tenant_id", "username", name=op.f("uq_dashboard_users_tenant_id")),
    )
    op.create_index(
        op.f("ix_dashboard_users_tenant_id"), "dashboard_users", ["tenant_id"], unique=False
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["dashboard_users.id"],
            name=op.f("fk_dashboard_sessions_user_id_dashboard_users"),
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        op.f("ix_dashboard_sessions_user_id"), "dashboard_sessions", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_sessions_user_id"), table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_users_tenant_id"), table_name="dashboard_users")
    op.drop_table("dashboard_users")
    op.drop_table("dashboard_tenant_settings")
    op.drop_table("analytics_facts")

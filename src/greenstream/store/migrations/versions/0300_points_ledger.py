"""Points ledger: accounts, balanced transactions and their entries, awards, daily caps, rules.

Revision ID: 0300_points_ledger
Revises: 0200_platform_tables
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_points_ledger"
down_revision = "0200_platform_tables"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "points_rules",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_points_rules"),
    )
    op.create_table(
        "points_account",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(72), nullable=False),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_points_account"),
        sa.UniqueConstraint("tenant", "kind", "ref", "unit", name="uq_points_account_tenant"),
    )
    op.create_table(
        "points_txn",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_points_txn"),
        sa.UniqueConstraint("tenant", "idempotency_key", name="uq_points_txn_tenant"),
    )
    op.create_table(
        "points_entry",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("txn_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_points_entry"),
    )
    op.create_index("ix_points_entry_account", "points_entry", ["account_id", "posted_at"])
    op.create_table(
        "points_award",
        sa.Column("txn_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("user_ref", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=True),
        sa.Column("brand", sa.String(128), nullable=True),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("multiplier", sa.String(16), nullable=False),
        sa.Column("co2e_avoided_mg", sa.BigInteger(), nullable=False),
        sa.Column("saving_per_unit_mg", sa.BigInteger(), nullable=False),
        sa.Column("points_co2e", sa.BigInteger(), nullable=False),
        sa.Column("points_capped", sa.BigInteger(), nullable=False),
        sa.Column("points_cofund", sa.BigInteger(), nullable=False),
        sa.Column("subsidy_fen", sa.BigInteger(), nullable=False),
        sa.Column("green_fund_fen", sa.BigInteger(), nullable=False),
        sa.Column("consumer_fen", sa.BigInteger(), nullable=False),
        sa.Column("catalogue_version", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("reversed_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("txn_id", name="pk_points_award"),
    )
    op.create_index("ix_points_award_order", "points_award", ["tenant", "order_id"])
    op.create_index("ix_points_award_user", "points_award", ["tenant", "user_ref"])
    op.create_table(
        "points_saving",
        sa.Column("catalogue_version", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("saving_per_unit_mg", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("baseline", sa.Text(), nullable=False),
        sa.Column("alternative", sa.Text(), nullable=False),
        sa.Column("baseline_co2e_kg", sa.String(32), nullable=False),
        sa.Column("alternative_co2e_kg", sa.String(32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("assumptions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("catalogue_version", "action", name="pk_points_saving"),
    )
    op.create_table(
        "points_daily",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", name="pk_points_daily"),
    )


def downgrade() -> None:
    op.drop_table("points_daily")
    op.drop_table("points_saving")
    op.drop_index("ix_points_award_user", table_name="points_award")
    op.drop_index("ix_points_award_order", table_name="points_award")
    op.drop_table("points_award")
    op.drop_index("ix_points_entry_account", table_name="points_entry")
    op.drop_table("points_entry")
    op.drop_table("points_txn")
    op.drop_table("points_account")
    op.drop_table("points_rules")

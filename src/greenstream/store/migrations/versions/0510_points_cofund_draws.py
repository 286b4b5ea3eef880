"""Points: the rewards-pool money drawn by redemptions of co-funded points.

Revision ID: 0510_points_cofund_draws
Revises: 0500_access_control
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0510_points_cofund_draws"
down_revision = "0500_access_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points_cofund_draw",
        sa.Column("txn_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("user_ref", sa.String(128), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("txn_id", name="pk_points_cofund_draw"),
    )
    op.create_index("ix_points_cofund_draw_user", "points_cofund_draw", ["tenant", "user_ref"])


def downgrade() -> None:
    op.drop_index("ix_points_cofund_draw_user", table_name="points_cofund_draw")
    op.drop_table("points_cofund_draw")

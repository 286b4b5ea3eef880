"""PACT conformance and crash-consistent uploads (docs/decisions/0600-pact-conformance.md).

- Timestamps keep their zone on SQLite: values written as naive text
  (``2026-11-11 08:00:00.000000``) become ISO 8601 with ``+00:00`` (the form of
  ``greenstream.store.types.UtcDateTime``; every timestamp greenstream stores is UTC).
- TOCs and HOCs get ``created_at`` (= ``updated_at`` so far) and a PACT ``version`` (0); their
  ``pf_id``, a UUID v5 until now, becomes a random UUID v4 (PACT v2.3 §dt-pfid: a PfId MUST be a
  UUID v4), kept from then on when the TOC / HOC is republished.
- Shipments get their PACT reference period (``reference_period_start``, ``reference_period_end``):
  UTC midnight of the first activity day and of the day after the last one, read from the
  stored chain elements (departure and arrival times); the upload day when the chain has none.
  Indexes on ``(tenant_id, created_at, id)`` (the order of PACT pages) and
  ``(tenant_id, reference_period_start)`` serve the PACT ``$filter`` in SQL.
- Upload jobs get ``owner`` (the process running them) and ``heartbeat_at`` (its last sign of
  life).

Revision ID: 0600_pact_conformance
Revises: 1200_report_share_links
Create Date: 2026-12-06
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "0600_pact_conformance"
down_revision = "1200_report_share_links"
branch_labels = None
depends_on = None

# every timestamp column of the platform tables (as of this revision)
_TIMESTAMPS = {
    "tenants": ("created_at",),
    "api_clients": ("created_at",),
    "shipments": ("created_at",),
    "tocs": ("updated_at",),
    "hocs": ("updated_at",),
    "factor_set_versions": ("created_at",),
    "upload_jobs": ("created_at", "finished_at"),
    "pact_events": ("received_at",),
}


def _sqlite_timestamps_with_zone() -> None:
    for table, columns in _TIMESTAMPS.items():
        for col in columns:
            # 'YYYY-MM-DD HH:MM:SS.ffffff' -> 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00'
            op.execute(
                f"UPDATE {table} SET {col} = substr({col}, 1, 10) || 'T' || "
                f"substr({col}, 12, 15) || '+00:00' "
                f"WHERE {col} IS NOT NULL AND length({col}) = 26 AND substr({col}, 11, 1) = ' '"
            )


def _utc(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(conn: sa.Connection, value: datetime) -> object:
    # SQLite stores the text form of UtcDateTime; PostgreSQL a timestamptz
    return value.isoformat(timespec="microseconds") if conn.dialect.name == "sqlite" else value


def _operations_v4_ids(conn: sa.Connection) -> None:
    for table in ("tocs", "hocs"):
        op.add_column(table, sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        op.execute(f"UPDATE {table} SET created_at = updated_at")
        ids = [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {table}"))]
        for row_id in ids:
            conn.execute(
                sa.text(f"UPDATE {table} SET pf_id = :pf WHERE id = :id"),
                {"pf": str(uuid.uuid4()), "id": row_id},
            )


def _reference_periods(conn: sa.Connection) -> None:
    op.add_column(
        "shipments",
        sa.Column("reference_period_start", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "shipments", sa.Column("reference_period_end", sa.DateTime(timezone=True), nullable=True)
    )
    batches = conn.execute(
        sa.text("SELECT DISTINCT tenant_id, audit_seq FROM shipments ORDER BY 1, 2")
    ).all()
    day = timedelta(days=1)
    for tenant_id, audit_seq in batches:
        chunks = conn.execute(
            sa.text(
                "SELECT data FROM chain_element_chunks WHERE tenant_id = :t AND audit_seq = :s "
                "ORDER BY chunk_no"
            ),
            {"t": tenant_id, "s": audit_seq},
        ).all()
        frames = [
            pl.read_parquet(
                io.BytesIO(bytes(c[0])), columns=["shipment_id", "departure_at", "arrival_at"]
            )
            for c in chunks
        ]
        spans: dict[str, tuple[datetime | None, datetime | None]] = {}
        if frames:
            chain = pl.concat(frames, how="vertical")
            per = chain.group_by("shipment_id").agg(
                pl.coalesce(pl.col("departure_at").min(), pl.col("arrival_at").min()).alias(
                    "first"
                ),
                pl.max_horizontal(pl.col("departure_at").max(), pl.col("arrival_at").max()).alias(
                    "last"
                ),
            )
            spans = {r[0]: (r[1], r[2]) for r in per.iter_rows()}
        ships = conn.execute(
            sa.text(
                "SELECT id, shipment_id, created_at FROM shipments "
                "WHERE tenant_id = :t AND audit_seq = :s"
            ),
            {"t": tenant_id, "s": audit_seq},
        ).all()
        for row_id, shipment_id, created in ships:
            first, last = spans.get(shipment_id, (None, None))
            if first is None or last is None:
                first = last = _utc(created)
            start = _utc(first).replace(hour=0, minute=0, second=0, microsecond=0)
            end = _utc(last).replace(hour=0, minute=0, second=0, microsecond=0) + day
            conn.execute(
                sa.text(
                    "UPDATE shipments SET reference_period_start = :a, reference_period_end = :b "
                    "WHERE id = :id"
                ),
                {"a": _stamp(conn, start), "b": _stamp(conn, end), "id": row_id},
            )
    op.create_index("ix_shipments_tenant_created", "shipments", ["tenant_id", "created_at", "id"])
    op.create_index(
        "ix_shipments_tenant_period", "shipments", ["tenant_id", "reference_period_start"]
    )


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_timestamps_with_zone()
    _operations_v4_ids(conn)
    _reference_periods(conn)
    op.add_column("upload_jobs", sa.Column("owner", sa.String(120), nullable=True))
    op.add_column(
        "upload_jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("upload_jobs", "heartbeat_at")
    op.drop_column("upload_jobs", "owner")
    op.drop_index("ix_shipments_tenant_period", table_name="shipments")
    op.drop_index("ix_shipments_tenant_created", table_name="shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("reference_period_end")
        batch.drop_column("reference_period_start")
    for table in ("tocs", "hocs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
            batch.drop_column("created_at")

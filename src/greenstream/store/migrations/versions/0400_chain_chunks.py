"""Chain elements stored columnar in Parquet chunks; shipments point at their chain; per-batch
roll-ups; pf_id a native UUID; audit records get a seal format (docs/decisions/0020-platform.md,
"Upload at 500k TCE/s").

Existing ``chain_elements`` rows move into ``chain_element_chunks`` (one Parquet chunk of ~8k rows
per batch slice, rows by shipment then seq, exactly as new uploads store them), each shipment
gets its ``chunk_no`` / ``chunk_row``, the roll-ups of existing batches are computed, and
``chain_elements`` is dropped. Records sealed before keep ``seal_format`` 1 and verify as before
(their content hashes are over the values, which the chunks keep exactly).

The foreign key ``shipments.tenant_id -> tenants.id`` is dropped (per-row check cost; the
uploader holds the tenant row locked while it writes).

The downgrade restores ``chain_elements`` from the chunks (and pf_id as text); format-2 records
then no longer verify (their chunk hashes are gone), which is what a downgrade means.

Revision ID: 0400_chain_chunks
Revises: 0300_points_ledger
Create Date: 2026-11-23
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "0400_chain_chunks"
down_revision = "0300_points_ledger"
branch_labels = None
depends_on = None

CHUNK_ROWS = 8192
# the chain-element columns as of this revision (greenstream.store.chunks.CHAIN_SCHEMA)
_UTC = pl.Datetime("us", "UTC")
CHAIN: dict[str, pl.DataType] = {
    "shipment_id": pl.String(),
    "seq": pl.Int32(),
    "tce_id": pl.String(),
    "mass_kg": pl.Float64(),
    "chargeable_mass_kg": pl.Float64(),
    "mode": pl.String(),
    "distance_km": pl.Float64(),
    "distance_basis_in": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "hoc_id": pl.String(),
    "hub_type": pl.String(),
    "trip_id": pl.String(),
    "toc_id": pl.String(),
    "vehicle": pl.String(),
    "load_factor": pl.Float64(),
    "empty_distance_factor": pl.Float64(),
    "energy_carrier": pl.String(),
    "temperature_control": pl.String(),
    "grid_region": pl.String(),
    "departure_at": _UTC,
    "arrival_at": _UTC,
    "empty_return": pl.Boolean(),
    "transport_activity_tkm": pl.Float64(),
    "distance_used_km": pl.Float64(),
    "distance_basis": pl.String(),
    "co2e_wtw_kg": pl.Float64(),
    "co2e_ttw_kg": pl.Float64(),
    "co2e_wtt_kg": pl.Float64(),
    "co2e_wtw_low_kg": pl.Float64(),
    "co2e_wtw_high_kg": pl.Float64(),
    "method": pl.String(),
    "primary_data": pl.Boolean(),
    "intensity_wtw_kg_per_unit": pl.Float64(),
    "factor_id": pl.String(),
    "warnings": pl.String(),
}


def _encode(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(
        buf,
        compression="lz4",
        statistics=False,
        row_group_size=max(frame.height, 1),
    )
    return buf.getvalue()


def _frame(rows: list[Any], columns: list[str]) -> pl.DataFrame:
    def utc(value: Any) -> Any:
        return value.replace(tzinfo=None) if getattr(value, "tzinfo", None) else value

    data = [
        tuple(utc(v) if CHAIN[c] == _UTC else v for c, v in zip(columns, r, strict=True))
        for r in rows
    ]
    naive = {c: (pl.Datetime("us") if CHAIN[c] == _UTC else CHAIN[c]) for c in columns}
    frame = pl.DataFrame(data, schema=naive, orient="row")
    return frame.with_columns(
        pl.col(c).dt.replace_time_zone("UTC") for c in columns if CHAIN[c] == _UTC
    ).select(list(CHAIN))


def _sql_type(dtype: pl.DataType) -> Any:
    if dtype == pl.Float64:
        return sa.Float()
    if dtype == pl.Boolean:
        return sa.Boolean()
    if dtype == pl.Int32:
        return sa.Integer()
    if dtype == _UTC:
        return sa.DateTime(timezone=True)
    return sa.Text()


def _move_chain_elements(bind: sa.Connection) -> None:
    chunks = sa.table(
        "chain_element_chunks",
        sa.column("tenant_id"),
        sa.column("audit_seq"),
        sa.column("chunk_no"),
        sa.column("first_row"),
        sa.column("row_count"),
        sa.column("data", sa.LargeBinary()),
    )
    ships = sa.table(
        "shipments",
        sa.column("tenant_id"),
        sa.column("shipment_id"),
        sa.column("chunk_no"),
        sa.column("chunk_row"),
    )
    batches = bind.execute(
        sa.text("SELECT DISTINCT tenant_id, audit_seq FROM chain_elements ORDER BY 1, 2")
    ).all()
    columns = list(CHAIN)
    old = sa.table(
        "chain_elements",
        sa.column("tenant_id", sa.Integer()),
        sa.column("audit_seq", sa.Integer()),
        *[sa.column(c, _sql_type(t)) for c, t in CHAIN.items()],
    )
    for tenant_id, audit_seq in batches:
        rows = bind.execute(
            sa.select(*[old.c[c] for c in columns]).where(
                old.c.tenant_id == tenant_id, old.c.audit_seq == audit_seq
            )
        ).all()
        chain = _frame(list(rows), columns).sort("shipment_id", "seq", maintain_order=True)
        sid = chain["shipment_id"]
        starts = sid.ne_missing(sid.shift(1)).fill_null(True).arg_true().to_list()
        first_rows: list[int] = []
        for s in starts:
            if not first_rows or s >= first_rows[-1] + CHUNK_ROWS:
                first_rows.append(s)
        bounds = [
            (f, (first_rows[i + 1] if i + 1 < len(first_rows) else chain.height) - f)
            for i, f in enumerate(first_rows)
        ]
        bind.execute(
            chunks.insert(),
            [
                {
                    "tenant_id": tenant_id,
                    "audit_seq": audit_seq,
                    "chunk_no": no,
                    "first_row": first,
                    "row_count": count,
                    "data": _encode(chain.slice(first, count)),
                }
                for no, (first, count) in enumerate(bounds)
            ],
        )
        pointers = []
        no = -1
        for s in starts:
            while no + 1 < len(first_rows) and first_rows[no + 1] <= s:
                no += 1
            pointers.append(
                {
                    "t": tenant_id,
                    "s": sid[s],
                    "c": no,
                    "r": s - first_rows[no],
                }
            )
        bind.execute(
            ships.update()
            .where(
                ships.c.tenant_id == sa.bindparam("t"),
                ships.c.shipment_id == sa.bindparam("s"),
            )
            .values(chunk_no=sa.bindparam("c"), chunk_row=sa.bindparam("r")),
            pointers,
        )


_ROLLUPS_SQL = """
INSERT INTO footprint_rollups (tenant_id, audit_seq, row_no, dimension, key_a, key_b,
    shipment_count, tce_count, transport_activity_tkm, co2e_wtw_kg, co2e_ttw_kg)
SELECT tenant_id, audit_seq,
    ROW_NUMBER() OVER (PARTITION BY tenant_id, audit_seq ORDER BY dimension, key_a, key_b) - 1,
    dimension, key_a, key_b, shipment_count, tce_count, tkm, wtw, ttw
FROM (
    SELECT tenant_id, audit_seq, 'mode' AS dimension, COALESCE(mode, 'hub') AS key_a,
        NULL AS key_b, COUNT(DISTINCT shipment_id) AS shipment_count, COUNT(*) AS tce_count,
        SUM(transport_activity_tkm) AS tkm, SUM(co2e_wtw_kg) AS wtw, SUM(co2e_ttw_kg) AS ttw
    FROM chain_elements GROUP BY tenant_id, audit_seq, COALESCE(mode, 'hub')
    UNION ALL
    SELECT tenant_id, audit_seq, 'lane', origin, destination, COUNT(*), SUM(tce_count),
        SUM(transport_activity_tkm), SUM(co2e_wtw_kg), SUM(co2e_ttw_kg)
    FROM shipments GROUP BY tenant_id, audit_seq, origin, destination
    UNION ALL
    SELECT tenant_id, audit_seq, 'period', period, NULL, COUNT(*), SUM(tce_count),
        SUM(transport_activity_tkm), SUM(co2e_wtw_kg), SUM(co2e_ttw_kg)
    FROM shipments GROUP BY tenant_id, audit_seq, period
) AS sums
"""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "chain_element_chunks",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("first_row", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "audit_seq", "chunk_no", name=op.f("pk_chain_element_chunks")
        ),
    )
    if postgres:
        # already compressed: stored out of line as is (no pglz attempt)
        op.execute("ALTER TABLE chain_element_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "footprint_rollups",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("key_a", sa.String(length=200), nullable=True),
        sa.Column("key_b", sa.String(length=200), nullable=True),
        sa.Column("shipment_count", sa.Integer(), nullable=False),
        sa.Column("tce_count", sa.Integer(), nullable=False),
        sa.Column("transport_activity_tkm", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_ttw_kg", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "audit_seq", "row_no", name=op.f("pk_footprint_rollups")
        ),
    )
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("chunk_no", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chunk_row", sa.Integer(), nullable=True))
        # the per-row foreign-key check costs ~0.15 server CPU-s per 50k COPY rows; the only
        # writer (store_batch) holds the tenant row locked FOR UPDATE while it inserts
        batch.drop_constraint("fk_shipments_tenant_id_tenants", type_="foreignkey")
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("seal_format", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("digests_json", sa.Text(), nullable=True))
    _move_chain_elements(bind)
    op.execute(_ROLLUPS_SQL)
    if postgres:
        op.execute("ALTER TABLE shipments ALTER COLUMN pf_id TYPE uuid USING pf_id::uuid")
    else:
        # SQLAlchemy's Uuid on SQLite is 32 hex digits without hyphens
        op.execute("UPDATE shipments SET pf_id = lower(replace(pf_id, '-', ''))")
    with op.batch_alter_table("shipments") as batch:
        batch.alter_column("chunk_no", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("chunk_row", existing_type=sa.Integer(), nullable=False)
        if not postgres:
            batch.alter_column("pf_id", existing_type=sa.String(36), type_=sa.Uuid())
    op.drop_table("chain_elements")


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "chain_elements",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        *[
            sa.Column(c, _sql_type(t), nullable=True)
            for c, t in CHAIN.items()
            if c not in ("shipment_id", "seq")
        ],
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", "seq", name=op.f("pk_chain_elements")),
    )
    rows = bind.execute(
        sa.text(
            "SELECT tenant_id, audit_seq, data FROM chain_element_chunks "
            "ORDER BY tenant_id, audit_seq, chunk_no"
        )
    ).all()
    table = sa.table(
        "chain_elements",
        sa.column("tenant_id"),
        sa.column("audit_seq"),
        *[sa.column(c) for c in CHAIN],
    )
    for tenant_id, audit_seq, data in rows:
        frame = pl.read_parquet(io.BytesIO(bytes(data)))
        records = frame.to_dicts()
        for r in records:
            r["tenant_id"], r["audit_seq"] = tenant_id, audit_seq
        if records:
            bind.execute(table.insert(), records)
    if postgres:
        op.execute("ALTER TABLE shipments ALTER COLUMN pf_id TYPE varchar(36) USING pf_id::text")
    else:
        ids = bind.execute(sa.text("SELECT id, pf_id FROM shipments")).all()
        bind.execute(
            sa.text("UPDATE shipments SET pf_id = :p WHERE id = :i"),
            [{"i": i, "p": str(uuid.UUID(str(p)))} for i, p in ids],
        )
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("chunk_row")
        batch.drop_column("chunk_no")
        batch.create_foreign_key("fk_shipments_tenant_id_tenants", "tenants", ["tenant_id"], ["id"])
        if not postgres:
            batch.alter_column("pf_id", existing_type=sa.Uuid(), type_=sa.String(36))
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("digests_json")
        batch.drop_column("seal_format")
    op.drop_table("footprint_rollups")
    op.drop_table("chain_element_chunks")

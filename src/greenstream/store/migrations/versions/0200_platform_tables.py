"""Platform tables: tenants, API clients, shipments, chain elements, TOC / HOC, factor-set
versions, audit records, upload jobs, PACT events (see greenstream.store.models).

Revision ID: 0200_platform_tables
Revises: 0100_monitoring_ingest
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_platform_tables"
down_revision = "0100_monitoring_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_elements",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("tce_id", sa.String(length=200), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.Column("chargeable_mass_kg", sa.Float(), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("distance_basis_in", sa.String(length=16), nullable=True),
        sa.Column("origin", sa.String(length=200), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("hoc_id", sa.String(length=200), nullable=True),
        sa.Column("hub_type", sa.String(length=64), nullable=True),
        sa.Column("trip_id", sa.String(length=200), nullable=True),
        sa.Column("toc_id", sa.String(length=200), nullable=True),
        sa.Column("vehicle", sa.String(length=200), nullable=True),
        sa.Column("load_factor", sa.Float(), nullable=True),
        sa.Column("empty_distance_factor", sa.Float(), nullable=True),
        sa.Column("energy_carrier", sa.String(length=64), nullable=True),
        sa.Column("temperature_control", sa.String(length=32), nullable=True),
        sa.Column("grid_region", sa.String(length=32), nullable=True),
        sa.Column("departure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrival_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("empty_return", sa.Boolean(), nullable=True),
        sa.Column("transport_activity_tkm", sa.Float(), nullable=False),
        sa.Column("distance_used_km", sa.Float(), nullable=False),
        sa.Column("distance_basis", sa.String(length=16), nullable=True),
        sa.Column("co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_ttw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtt_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_low_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_high_kg", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("primary_data", sa.Boolean(), nullable=False),
        sa.Column("intensity_wtw_kg_per_unit", sa.Float(), nullable=True),
        sa.Column("factor_id", sa.String(length=200), nullable=True),
        sa.Column("warnings", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", "seq", name=op.f("pk_chain_elements")),
    )
    op.create_table(
        "factor_set_versions",
        sa.Column("version", sa.String(length=300), nullable=False),
        sa.Column("factors_csv", sa.Text(), nullable=False),
        sa.Column("factors_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_factor_set_versions")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("secret_salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_clients_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_api_clients")),
    )
    op.create_index(op.f("ix_api_clients_tenant_id"), "api_clients", ["tenant_id"], unique=False)
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("factor_set_version", sa.String(length=300), nullable=False),
        sa.Column("factors_sha256", sa.String(length=64), nullable=False),
        sa.Column("shipment_count", sa.Integer(), nullable=False),
        sa.Column("tce_count", sa.Integer(), nullable=False),
        sa.Column("references_json", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("outputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_records_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("tenant_id", "seq", name=op.f("uq_audit_records_tenant_id")),
    )
    op.create_table(
        "hocs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hoc_id", sa.String(length=200), nullable=False),
        sa.Column("pf_id", sa.String(length=36), nullable=False),
        sa.Column("hub_type", sa.String(length=64), nullable=False),
        sa.Column("intensity_wtw_kg_per_t", sa.Float(), nullable=False),
        sa.Column("intensity_ttw_kg_per_t", sa.Float(), nullable=False),
        sa.Column("data_type", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_hocs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hocs")),
        sa.UniqueConstraint("pf_id", name=op.f("uq_hocs_pf_id")),
        sa.UniqueConstraint("tenant_id", "hoc_id", name=op.f("uq_hocs_tenant_id")),
    )
    op.create_table(
        "pact_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pact_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_events")),
        sa.UniqueConstraint(
            "tenant_id", "source", "event_id", name=op.f("uq_pact_events_tenant_id")
        ),
    )
    op.create_index(op.f("ix_pact_events_tenant_id"), "pact_events", ["tenant_id"], unique=False)
    op.create_table(
        "shipments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.String(length=200), nullable=False),
        sa.Column("pf_id", sa.String(length=36), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tce_count", sa.Integer(), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.Column("transport_activity_tkm", sa.Float(), nullable=False),
        sa.Column("distance_used_km", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_ttw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtt_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_low_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_high_kg", sa.Float(), nullable=False),
        sa.Column("primary_data_share", sa.Float(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("main_mode", sa.String(length=32), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_shipments_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("pf_id", name=op.f("uq_shipments_pf_id")),
        sa.UniqueConstraint("tenant_id", "shipment_id", name=op.f("uq_shipments_tenant_id")),
    )
    op.create_table(
        "tocs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("toc_id", sa.String(length=200), nullable=False),
        sa.Column("pf_id", sa.String(length=36), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("intensity_wtw_kg_per_tkm", sa.Float(), nullable=False),
        sa.Column("intensity_ttw_kg_per_tkm", sa.Float(), nullable=False),
        sa.Column("data_type", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tocs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tocs")),
        sa.UniqueConstraint("pf_id", name=op.f("uq_tocs_pf_id")),
        sa.UniqueConstraint("tenant_id", "toc_id", name=op.f("uq_tocs_tenant_id")),
    )
    op.create_table(
        "upload_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("shipment_count", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.Column("errors_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_upload_jobs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_jobs")),
    )
    op.create_index(op.f("ix_upload_jobs_tenant_id"), "upload_jobs", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_upload_jobs_tenant_id"), table_name="upload_jobs")
    op.drop_table("upload_jobs")
    op.drop_table("tocs")
    op.drop_table("shipments")
    op.drop_index(op.f("ix_pact_events_tenant_id"), table_name="pact_events")
    op.drop_table("pact_events")
    op.drop_table("hocs")
    op.drop_table("audit_records")
    op.drop_index(op.f("ix_api_clients_tenant_id"), table_name="api_clients")
    op.drop_table("api_clients")
    op.drop_table("tenants")
    op.drop_table("factor_set_versions")
    op.drop_table("chain_elements")

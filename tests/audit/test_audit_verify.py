"""The audit trail detects any direct database edit of a stored number, input, factor or record,
and names the first bad record; `greenstream verify` prints a readable report and exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from greenstream.audit.chain import GENESIS
from greenstream.audit.verify import verify
from greenstream.cli import app
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.store import make_engine, session_factory, upgrade
from greenstream.store.ingest import ingest
from greenstream.store.tenants import get_or_create_tenant

TOCS = pl.DataFrame(
    {
        "toc_id": ["T1"],
        "mode": ["road"],
        "intensity_wtw_kg_per_tkm": [0.116],
        "intensity_ttw_kg_per_tkm": [0.089],
    }
)


def _legs(prefix: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "shipment_id": [f"{prefix}1", f"{prefix}1", f"{prefix}2"],
            "mass_kg": [40000.0, 40000.0, 1000.0],
            "distance_km": [423.0, 100.0, 50.0],
            "toc_id": ["T1", None, None],
            "mode": [None, "rail", "road"],
        }
    )


@pytest.fixture
def store(db_url: str) -> Iterator[tuple[sa.Engine, int]]:
    """Three sealed batches of one tenant (a fresh tenant per test on the shared PG db)."""
    upgrade(db_url)
    engine = make_engine(db_url)
    import uuid

    name = f"audited-{uuid.uuid4().hex[:8]}"
    with session_factory(engine).begin() as s:
        tenant_id = get_or_create_tenant(s, name).id
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    for prefix in ("A", "B", "C"):
        ingest(
            engine,
            tenant_id,
            _legs(prefix),
            tocs=TOCS,
            registry=registry,
            gazetteer=gazetteer,
            source=f"batch {prefix}",
        )
    yield engine, tenant_id
    engine.dispose()


def _tenant(engine: sa.Engine, tenant_id: int) -> str:
    with engine.connect() as c:
        return str(
            c.execute(sa.text("SELECT name FROM tenants WHERE id = :t"), {"t": tenant_id}).scalar()
        )


def _first_bad(engine: sa.Engine, tenant_id: int) -> tuple[int, str, str]:
    report = verify(engine, tenant=_tenant(engine, tenant_id))
    assert not report.ok
    bad = report.first_bad()[_tenant(engine, tenant_id)]
    return bad.seq, bad.check, bad.reason


def test_untouched_chain_verifies(store: tuple[sa.Engine, int]) -> None:
    engine, tenant_id = store
    report = verify(engine, tenant=_tenant(engine, tenant_id))
    assert report.ok and [r.seq for r in report.records] == [1, 2, 3]
    with engine.connect() as c:
        prev = (
            c.execute(
                sa.text("SELECT prev_sha256 FROM audit_records WHERE tenant_id = :t ORDER BY seq"),
                {"t": tenant_id},
            )
            .scalars()
            .all()
        )
    assert prev[0] == GENESIS and prev[1] != GENESIS


def _exec(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as c:
        c.execute(sa.text(sql), params)


TAMPERINGS: dict[str, tuple[str, str]] = {
    # an input number of record #2 (mass of a chain element)
    "input": (
        "UPDATE chain_elements SET mass_kg = mass_kg * 0.5 "
        "WHERE tenant_id = :t AND shipment_id = 'B1' AND seq = 0",
        "inputs",
    ),
    # a reported shipment footprint of record #2
    "footprint": (
        "UPDATE shipments SET co2e_wtw_kg = 1.0 WHERE tenant_id = :t AND shipment_id = 'B2'",
        "outputs",
    ),
    # the TOC intensity sealed with record #2
    "reference": (
        "UPDATE audit_records SET references_json = REPLACE(references_json, '0.116', '0.05') "
        "WHERE tenant_id = :t AND seq = 2",
        "inputs",
    ),
    # a sealed field of record #2
    "record": (
        "UPDATE audit_records SET tce_count = tce_count + 0, source = 'forged' "
        "WHERE tenant_id = :t AND seq = 2",
        "record",
    ),
    # record #2 removed: #3 no longer follows #1
    "deleted": ("DELETE FROM audit_records WHERE tenant_id = :t AND seq = 2", "chain"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_tampering_is_detected_and_the_first_bad_record_named(
    store: tuple[sa.Engine, int], kind: str
) -> None:
    engine, tenant_id = store
    sql, check = TAMPERINGS[kind]
    _exec(engine, sql, t=tenant_id)
    seq, found_check, reason = _first_bad(engine, tenant_id)
    expected_seq = 3 if kind == "deleted" else 2
    assert (seq, found_check) == (expected_seq, check), reason


def test_output_edit_with_rehashed_chain_is_caught_by_recomputation(
    store: tuple[sa.Engine, int],
) -> None:
    """An insider who edits a footprint AND re-seals every hash is still caught: the kernel,
    re-run on the stored inputs, disagrees with the stored number."""
    from greenstream.audit.chain import record_sha256
    from greenstream.store.ingest import outputs_sha256
    from greenstream.store.queries import chain_frame

    engine, tenant_id = store
    _exec(
        engine,
        "UPDATE shipments SET co2e_wtw_kg = co2e_wtw_kg * 0.9 "
        "WHERE tenant_id = :t AND shipment_id = 'C1'",
        t=tenant_id,
    )
    with engine.begin() as c:
        chain = chain_frame(c, tenant_id, audit_seq=3)
        ships = pl.read_database(
            "SELECT shipment_id, pf_id, tce_count, mass_kg, transport_activity_tkm, "
            "distance_used_km, co2e_wtw_kg, co2e_ttw_kg, co2e_wtt_kg, co2e_wtw_low_kg, "
            "co2e_wtw_high_kg, primary_data_share, origin, destination, main_mode, period "
            f"FROM shipments WHERE tenant_id = {tenant_id} AND audit_seq = 3",
            c,
            schema_overrides={
                "tce_count": pl.Int32,
                "origin": pl.String,
                "destination": pl.String,
                "main_mode": pl.String,
                "period": pl.String,
            },
        )
        rec = dict(
            c.execute(
                sa.text("SELECT * FROM audit_records WHERE tenant_id = :t AND seq = 3"),
                {"t": tenant_id},
            )
            .one()
            ._mapping
        )
        rec["outputs_sha256"] = outputs_sha256(chain, ships)
        rec["tenant"] = _tenant(engine, tenant_id)
        c.execute(
            sa.text(
                "UPDATE audit_records SET outputs_sha256 = :o, record_sha256 = :r "
                "WHERE tenant_id = :t AND seq = 3"
            ),
            {"o": rec["outputs_sha256"], "r": record_sha256(rec), "t": tenant_id},
        )
    seq, check, reason = _first_bad(engine, tenant_id)
    assert (seq, check) == (3, "recompute")
    assert "C1" in reason and "co2e_wtw_kg" in reason


def test_factor_table_edit_is_detected(store: tuple[sa.Engine, int]) -> None:
    engine, tenant_id = store
    with engine.connect() as c:
        original = c.execute(sa.text("SELECT version, factors_csv FROM factor_set_versions")).all()
    _exec(
        engine,
        "UPDATE factor_set_versions SET factors_csv = REPLACE(factors_csv, '0.1', '0.2')",
    )
    try:
        seq, check, _ = _first_bad(engine, tenant_id)
    finally:  # the factor table is shared by every tenant of the module's database
        for version, text in original:
            _exec(
                engine,
                "UPDATE factor_set_versions SET factors_csv = :x WHERE version = :v",
                x=text,
                v=version,
            )
    assert (seq, check) == (1, "factors")


def test_cli_verify_report(store: tuple[sa.Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, tenant_id = store
    monkeypatch.setenv("GREENSTREAM_DATABASE_URL", str(engine.url.render_as_string(False)))
    name = _tenant(engine, tenant_id)
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--tenant", name])
    assert ok.exit_code == 0, ok.output
    assert "VERIFIED" in ok.output and "record #3" in ok.output
    _exec(engine, TAMPERINGS["input"][0], t=tenant_id)
    bad = runner.invoke(app, ["verify", "--tenant", name])
    assert bad.exit_code == 1
    assert f"first bad record: tenant {name} #2 (inputs)" in bad.output
    as_json = runner.invoke(app, ["verify", "--tenant", name, "--format", "json"])
    doc = json.loads(as_json.output)
    assert doc["ok"] is False and doc["first_bad"][name]["seq"] == 2

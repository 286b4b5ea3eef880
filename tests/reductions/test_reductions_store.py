"""Sealed ledger runs on SQLite and PostgreSQL: stored, chained, verified by recomputation, and
any edit of a stored number or input caught."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from greenstream.factors import Registry
from greenstream.levers.reductions import check_initiatives
from greenstream.levers.reductions.models import ReductionRecord, ReductionRun
from greenstream.levers.reductions.runs import list_records, list_runs, save_run, verify_runs
from greenstream.levers.reductions.seal import pack_tables, unpack_tables
from greenstream.store.db import make_engine, upgrade
from greenstream.store.models import Tenant


def _tenant_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        return int(session.scalars(select(Tenant.id).where(Tenant.name == name)).one())


def _inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    initiatives = pl.DataFrame(
        {
            "initiative_id": ["rail", "nev"],
            "kind": ["modal_shift", "vehicle_swap"],
            "baseline_vehicle": ["road.hgv_artic_gt33t", None],
            "baseline_source": ["all-road by a >33 t artic", "diesel van of the same class"],
        }
    )
    legs = pl.DataFrame(
        {
            "shipment_id": ["S1", "S1", "S2"],
            "mass_kg": [20_000.0, 20_000.0, 500.0],
            "mode": ["rail", "road", "road"],
            "vehicle": ["rail.freight_train", "road.van_avg_bev", "road.van_avg_bev"],
            "distance_km": [1_000.0, 20.0, 30.0],
            "period": ["2024-11", "2024-11", "2024-12"],
            "initiatives": ["rail", "rail;nev", "nev"],
        }
    )
    return initiatives, legs


def test_runs_are_sealed_chained_and_verified(db_url: str, unique_name: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    acme, other = f"acme-{unique_name}", f"other-{unique_name}"
    raw, legs = _inputs()
    inits = check_initiatives(raw, Registry.builtin())
    first = save_run(engine, acme, inits, legs=legs, label="2024 Q4")
    second = save_run(engine, acme, inits, legs=legs, method="fixed_order", label="again")
    save_run(engine, other, inits, legs=legs.head(1), label="other tenant")
    assert (first.seq, second.seq) == (1, 2)
    report = verify_runs(engine)
    assert report.ok, report.render_text()
    assert [r.tenant for r in report.runs].count(acme) == 2
    assert [r.tenant for r in report.runs].count(other) == 1
    tenant_id = _tenant_id(engine, acme)
    runs = list_runs(engine, tenant_id)
    assert [r["seq"] for r in runs] == [2, 1]
    # 1,095.9 kg for S1 (hand-worked in test_reductions_ledger) + 7.59 kg for S2
    assert runs[0]["totals"]["reduction_co2e_wtw_kg"] == pytest.approx(1_103.49)
    records = list_records(engine, tenant_id)
    assert {(r["initiative_id"], r["period"]) for r in records} == {
        ("rail", "2024-11"),
        ("nev", "2024-11"),
        ("nev", "2024-12"),
    }

    # an edited record (the table the API reads) is caught
    with engine.begin() as conn:
        conn.execute(
            update(ReductionRecord)
            .where(
                ReductionRecord.tenant_id == tenant_id,
                ReductionRecord.run_seq == 1,
                ReductionRecord.initiative_id == "rail",
            )
            .values(reduction_co2e_wtw_kg=5_000.0)
        )
    bad = verify_runs(engine, tenant=acme)
    assert not bad.ok and bad.runs[0].check == "records"
    assert "reduction_co2e_wtw_kg" in bad.runs[0].reason
    engine.dispose()


def test_an_edited_input_fails_the_seal(db_url: str, unique_name: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    acme = f"acme-{unique_name}"
    raw, legs = _inputs()
    inits = check_initiatives(raw, Registry.builtin())
    save_run(engine, acme, inits, legs=legs, label="q4")
    save_run(engine, acme, inits, legs=legs, label="q4 again")
    with engine.begin() as conn:
        run = conn.execute(
            ReductionRun.__table__.select().where(
                ReductionRun.seq == 1, ReductionRun.tenant_id == _tenant_id(engine, acme)
            )
        ).first()
        assert run is not None
        tables = unpack_tables(run.inputs_ipc)
        tables["legs"] = tables["legs"].with_columns(pl.col("distance_km") * 2)
        conn.execute(
            update(ReductionRun)
            .where(ReductionRun.id == run.id)
            .values(inputs_ipc=pack_tables(dict(tables)))
        )
    report = verify_runs(engine, tenant=acme)
    assert [(r.seq, r.ok, r.check) for r in report.runs] == [(1, False, "inputs"), (2, True, "all")]
    engine.dispose()


def test_cli_sealed_run_then_a_tampered_record_fails_greenstream_verify(
    db_url: str, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the user's path: `reductions run --seal`, then `greenstream verify` (exit 0), an edit of
    # one stored reduction record, `greenstream verify` again (exit 1, the run named)
    from typer.testing import CliRunner

    from greenstream.cli import app

    runner = CliRunner()
    raw, legs = _inputs()
    raw.write_csv(tmp_path / "initiatives.csv")
    legs.write_csv(tmp_path / "legs.csv")
    monkeypatch.setenv("GREENSTREAM_DATABASE_URL", db_url)
    tenant = f"acme-{unique_name}"
    sealed = runner.invoke(
        app,
        [
            "reductions",
            "run",
            "--initiatives",
            str(tmp_path / "initiatives.csv"),
            "--legs",
            str(tmp_path / "legs.csv"),
            "--seal",
            tenant,
            "--label",
            "2024-Q4",
        ],
    )
    assert sealed.exit_code == 0, sealed.output
    assert f"sealed run #1 of {tenant}" in sealed.output
    ok = runner.invoke(app, ["verify", "--tenant", tenant])
    assert ok.exit_code == 0, ok.output
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            update(ReductionRecord)
            .where(
                ReductionRecord.tenant_id == _tenant_id(engine, tenant),
                ReductionRecord.initiative_id == "nev",
                ReductionRecord.period == "2024-12",
            )
            .values(reduction_co2e_wtw_kg=1.0)
        )
    engine.dispose()
    bad = runner.invoke(app, ["verify", "--tenant", tenant, "--format", "json"])
    assert bad.exit_code == 1, bad.output
    doc = json.loads(bad.stdout)
    assert doc["ok"] is False and doc["reductions"]["ok"] is False
    run = doc["reductions"]["runs"][0]
    assert run["check"] == "records" and "reduction_co2e_wtw_kg" in run["reason"]

"""The audit trail detects any direct database edit of a stored number (inside a Parquet chunk or
on a shipment row), input, chunk byte, factor or record, and names the first bad record;
`greenstream verify` prints a readable report and exits 1."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from greenstream.audit.verify import verify
from greenstream.cli import app
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.seal.chain import GENESIS
from greenstream.services.upload import ingest
from greenstream.store import make_engine, session_factory, upgrade
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


def _edit_chunk(
    engine: sa.Engine,
    tenant_id: int,
    seq: int,
    edit: Callable[[pl.DataFrame], pl.DataFrame],
    compression: str = "lz4",
) -> None:
    """Decode chunk 0 of record ``seq``, apply ``edit`` and store it back re-encoded."""
    with engine.begin() as c:
        data = c.execute(
            sa.text(
                "SELECT data FROM chain_element_chunks "
                "WHERE tenant_id = :t AND audit_seq = :s AND chunk_no = 0"
            ),
            {"t": tenant_id, "s": seq},
        ).scalar_one()
        frame = edit(pl.read_parquet(io.BytesIO(bytes(data))))
        buf = io.BytesIO()
        frame.write_parquet(buf, compression=compression)  # type: ignore[arg-type]
        c.execute(
            sa.text(
                "UPDATE chain_element_chunks SET data = :d "
                "WHERE tenant_id = :t AND audit_seq = :s AND chunk_no = 0"
            ),
            {"d": buf.getvalue(), "t": tenant_id, "s": seq},
        )


def _in_chunk(column: str, factor: float) -> Callable[[sa.Engine, int], None]:
    """Multiply ``column`` of shipment B1's first chain element (record #2) inside its chunk."""

    def tamper(engine: sa.Engine, tenant_id: int) -> None:
        _edit_chunk(
            engine,
            tenant_id,
            2,
            lambda f: f.with_columns(
                pl.when((pl.col("shipment_id") == "B1") & (pl.col("seq") == 0))
                .then(pl.col(column) * factor)
                .otherwise(pl.col(column))
                .alias(column)
            ),
        )

    return tamper


def _sql(sql: str) -> Callable[[sa.Engine, int], None]:
    return lambda engine, tenant_id: _exec(engine, sql, t=tenant_id)


def _garbage(engine: sa.Engine, tenant_id: int) -> None:
    _exec(
        engine,
        "UPDATE chain_element_chunks SET data = :d WHERE tenant_id = :t AND audit_seq = 2",
        d=b"PAR1 not a parquet file",
        t=tenant_id,
    )


TAMPERINGS: dict[str, tuple[Callable[[sa.Engine, int], None], str]] = {
    # an input number of record #2 (mass of a chain element, inside its stored Parquet chunk)
    "input": (_in_chunk("mass_kg", 0.5), "inputs"),
    # an output number of a chain element of record #2, inside its chunk
    "chunk output": (_in_chunk("co2e_wtw_kg", 0.9), "outputs"),
    # a reported shipment footprint of record #2
    "footprint": (
        _sql("UPDATE shipments SET co2e_wtw_kg = 1.0 WHERE tenant_id = :t AND shipment_id = 'B2'"),
        "outputs",
    ),
    # a shipment row of record #2 pointed at another chain element
    "shipment pointer": (
        _sql("UPDATE shipments SET chunk_row = 0 WHERE tenant_id = :t AND shipment_id = 'B2'"),
        "outputs",
    ),
    # the chunk bytes of record #2 re-encoded: every value intact, the bytes differ
    "chunk bytes": (
        lambda engine, tenant_id: _edit_chunk(engine, tenant_id, 2, lambda f: f, "zstd"),
        "chunks",
    ),
    # the chunk of record #2 overwritten with bytes that do not decode
    "chunk garbage": (_garbage, "chunks"),
    # the TOC intensity sealed with record #2
    "reference": (
        _sql(
            "UPDATE audit_records SET references_json = REPLACE(references_json, '0.116', "
            "'0.05') WHERE tenant_id = :t AND seq = 2"
        ),
        "inputs",
    ),
    # a sealed field of record #2
    "record": (
        _sql(
            "UPDATE audit_records SET tce_count = tce_count + 0, source = 'forged' "
            "WHERE tenant_id = :t AND seq = 2"
        ),
        "record",
    ),
    # record #2 claimed to be sealed with the old format
    "seal format": (
        _sql("UPDATE audit_records SET seal_format = 1 WHERE tenant_id = :t AND seq = 2"),
        "record",
    ),
    # a column digest listed by record #2
    "digests": (
        _sql(
            "UPDATE audit_records SET digests_json = REPLACE(digests_json, '\"chain\":{', "
            '\'"chain":{"x":"0",\') WHERE tenant_id = :t AND seq = 2'
        ),
        "record",
    ),
    # the roll-ups of record #2 (the aggregates endpoint reads them)
    "rollup": (
        _sql(
            "UPDATE footprint_rollups SET co2e_wtw_kg = co2e_wtw_kg + 1 "
            "WHERE tenant_id = :t AND audit_seq = 2 AND dimension = 'mode'"
        ),
        "rollups",
    ),
    # the WTW on defaults of a shipment of record #2 (sealed since revision 1400)
    "wtw on defaults": (
        _sql(
            "UPDATE shipments SET co2e_wtw_kg_default = co2e_wtw_kg_default + 1 "
            "WHERE tenant_id = :t AND audit_seq = 2 AND shipment_id = 'B1'"
        ),
        "outputs",
    ),
    # the same figure on a roll-up of record #2 (the aggregates' default_share)
    "rollup on defaults": (
        _sql(
            "UPDATE footprint_rollups SET co2e_wtw_kg_default = co2e_wtw_kg_default + 1 "
            "WHERE tenant_id = :t AND audit_seq = 2 AND dimension = 'lane'"
        ),
        "rollups",
    ),
    # record #2 removed: #3 no longer follows #1
    "deleted": (_sql("DELETE FROM audit_records WHERE tenant_id = :t AND seq = 2"), "chain"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_tampering_is_detected_and_the_first_bad_record_named(
    store: tuple[sa.Engine, int], kind: str
) -> None:
    engine, tenant_id = store
    tamper, check = TAMPERINGS[kind]
    tamper(engine, tenant_id)
    seq, found_check, reason = _first_bad(engine, tenant_id)
    expected_seq = 3 if kind == "deleted" else 2
    assert (seq, found_check) == (expected_seq, check), reason
    if kind == "input":
        assert "mass_kg" in reason
    if kind == "footprint":
        assert "co2e_wtw_kg" in reason and "B2" in reason


def test_output_edit_with_rehashed_chain_is_caught_by_recomputation(
    store: tuple[sa.Engine, int],
) -> None:
    """An insider who edits a footprint AND re-seals every hash is still caught: the kernel,
    re-run on the stored inputs, disagrees with the stored number."""
    from greenstream.audit.verify import stored_shipments_frame
    from greenstream.seal.chain import canonical_json, outputs_sha256_v2, record_sha256
    from greenstream.store.queries import chain_frame
    from greenstream.store.sealing import CHAIN_OUTPUT_KEYS, seal_digests

    engine, tenant_id = store
    _exec(
        engine,
        "UPDATE shipments SET co2e_wtw_kg = co2e_wtw_kg * 0.9 "
        "WHERE tenant_id = :t AND shipment_id = 'C1'",
        t=tenant_id,
    )
    ships = stored_shipments_frame(engine, tenant_id, 3)
    with engine.begin() as c:
        chain = chain_frame(c, tenant_id, audit_seq=3)
        chunks = [
            bytes(d)
            for d in c.execute(
                sa.text(
                    "SELECT data FROM chain_element_chunks WHERE tenant_id = :t AND "
                    "audit_seq = 3 ORDER BY chunk_no"
                ),
                {"t": tenant_id},
            ).scalars()
        ]
        rec = dict(
            c.execute(
                sa.text("SELECT * FROM audit_records WHERE tenant_id = :t AND seq = 3"),
                {"t": tenant_id},
            )
            .one()
            ._mapping
        )
        digests = seal_digests(chain, ships, rec["references_json"], chunks)
        assert digests != json.loads(rec["digests_json"])  # the edit shows in the digests
        rec["digests"] = digests
        rec["outputs_sha256"] = outputs_sha256_v2(digests, CHAIN_OUTPUT_KEYS)
        rec["tenant"] = _tenant(engine, tenant_id)
        c.execute(
            sa.text(
                "UPDATE audit_records SET outputs_sha256 = :o, record_sha256 = :r, "
                "digests_json = :d WHERE tenant_id = :t AND seq = 3"
            ),
            {
                "o": rec["outputs_sha256"],
                "r": record_sha256(rec),
                "d": canonical_json(digests).decode(),
                "t": tenant_id,
            },
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
    TAMPERINGS["input"][0](engine, tenant_id)
    bad = runner.invoke(app, ["verify", "--tenant", name])
    assert bad.exit_code == 1
    assert f"first bad record: tenant {name} #2 (inputs)" in bad.output
    as_json = runner.invoke(app, ["verify", "--tenant", name, "--format", "json"])
    doc = json.loads(as_json.output)
    assert doc["ok"] is False and doc["first_bad"][name]["seq"] == 2

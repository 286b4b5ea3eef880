"""Everything the CLI writes as iLEAP / PACT validates against the official iLEAP v1.0 and PACT
v2.3 schemas (tests/data/schemas) and the rules of tests/pact_schemas.py, and the validator
itself catches what the specifications forbid (so a passing run means something)."""

from __future__ import annotations

import json
import os
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from greenstream.cli import app
from greenstream.io.ileap import shipment_to_pact_product_footprint
from pact_schemas import ileap_problems, product_footprint_problems

runner = CliRunner()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A synthetic network day through `greenstream footprint` and `ileap convert`."""
    out = tmp_path_factory.mktemp("cli")
    r = runner.invoke(app, ["synth", "--out", str(out), "--shipments", "300", "--seed", "5"])
    assert r.exit_code == 0, r.output
    sf_path = out / "footprints.json"
    r = runner.invoke(
        app,
        [
            "footprint",
            str(out / "legs.parquet"),
            "--tocs",
            str(out / "tocs.parquet"),
            "--hocs",
            str(out / "hocs.parquet"),
            "--trips",
            str(out / "trips.parquet"),
            "-o",
            str(sf_path),
        ],
    )
    assert r.exit_code == 0, r.output
    docs: dict[str, Any] = {"shipments": json.loads(sf_path.read_text()), "paths": [sf_path]}
    for kind in ("tocs", "hocs"):
        target = out / f"{kind}.json"
        r = runner.invoke(
            app, ["ileap", "convert", str(out / f"{kind}.parquet"), str(target), "--kind", kind]
        )
        assert r.exit_code == 0, r.output
        docs[kind] = json.loads(target.read_text())
        docs["paths"].append(target)
    return docs


def test_cli_shipment_footprints_are_valid(written: dict[str, Any]) -> None:
    assert len(written["shipments"]) == 300
    for sf in written["shipments"]:
        assert ileap_problems("shipment-footprint", sf) == [], sf["shipmentId"]


def test_cli_tocs_and_hocs_are_valid(written: dict[str, Any]) -> None:
    assert written["tocs"] and written["hocs"]
    for toc in written["tocs"]:
        assert ileap_problems("toc", toc) == [], toc["tocId"]
    for hoc in written["hocs"]:
        assert ileap_problems("hoc", hoc) == [], hoc["hocId"]


def test_their_pact_product_footprints_are_valid(written: dict[str, Any]) -> None:
    created = datetime(2026, 11, 23, 10, tzinfo=UTC)
    for sf in written["shipments"]:
        pf = shipment_to_pact_product_footprint(
            sf, company_name="Synthetic Logistics", company_ids=["urn:x:y"], created=created
        )
        assert product_footprint_problems(pf) == [], sf["shipmentId"]


def test_files_written_are_owner_only(written: dict[str, Any]) -> None:
    for path in written["paths"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def _valid_pf() -> dict[str, Any]:
    sf = {
        "mass": "40000",
        "shipmentId": "S1",
        "tces": [
            {
                "tceId": "t1",
                "prevTceIds": [],
                "tocId": "toc",
                "shipmentId": "S1",
                "mass": "40000",
                "distance": {"actual": "423"},
                "transportActivity": "16920",
                "co2eWTW": "1962.72",
                "co2eTTW": "1505.88",
            }
        ],
    }
    return shipment_to_pact_product_footprint(
        sf, company_name="X", company_ids=["urn:x:y"], created=datetime(2026, 1, 1, tzinfo=UTC)
    )


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        ("id", str(uuid.uuid5(uuid.NAMESPACE_URL, "x")), "UUID v4"),
        ("id", "not-a-uuid", "ProductFootprint"),
        ("pcf.unitaryProductAmount", "0", "> 0"),
        ("pcf.unitaryProductAmount", "1e-05", "ProductFootprint"),
        ("pcf.pCfExcludingBiogenic", 12.5, "ProductFootprint"),
        ("pcf.referencePeriodEnd", "2020-01-01T00:00:00Z", "after"),
        ("pcf.declaredUnit", "parcel", "ProductFootprint"),
        ("comment", None, "null"),
        ("companyIds", ["acme"], "ProductFootprint"),
        ("specVersion", "2.2.0", "specVersion"),
        ("extensions.0.data.tces.0.co2eWTW", 1962.72, "iLEAP"),
        ("extensions.0.data.tces.0.distance", {}, "iLEAP"),
        ("pcf", _DELETE, "ProductFootprint"),
    ],
)
def test_the_validator_catches_what_the_specifications_forbid(
    path: str, value: Any, says: str
) -> None:
    good = _valid_pf()
    assert product_footprint_problems(good) == []
    problems = product_footprint_problems(_set(good, path, value))
    assert any(says in p for p in problems), problems


def test_a_written_table_is_owner_only(tmp_path: Path) -> None:
    from greenstream.io.tables import write_table

    for name in ("out.csv", "out.parquet", "out.ndjson"):
        target = tmp_path / name
        write_table(pl.DataFrame({"a": [1]}), target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600, name

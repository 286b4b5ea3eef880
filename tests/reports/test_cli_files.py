"""``greenstream report`` on files: through the kernel from LEGS, or from a footprint table;
en and zh, html, pdf and json; bad input named, nothing written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl
import pytest
from report_helpers import ARTIFACTS, clecat_tables, require_tool
from typer.testing import CliRunner

from greenstream.cli import app as cli_app
from greenstream.reports.period import ReportScope, period_report
from greenstream.reports.render import OutputFormat, fmt, render


@pytest.fixture
def case_files(tmp_path: Path) -> dict[str, Path]:
    t = clecat_tables()
    paths = {}
    for name, frame in t.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.write_parquet(paths[name])
    return paths


def run(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(cli_app, ["report", *args, "--no-progress"])
    return done.exit_code, done.output


def test_legs_through_the_kernel_equal_the_builder(
    case_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    code, output = run(
        str(case_files["legs"]),
        "--tocs",
        str(case_files["tocs"]),
        "--hocs",
        str(case_files["hocs"]),
        "--format",
        "json",
        "-o",
        str(out),
        "--organisation",
        "Case A",
    )
    assert code == 0, output
    data = json.loads(out.read_text())
    assert data["organisation"] == "Case A"
    assert data["input_sha256"] and len(data["input_sha256"]) == 64
    assert round(data["totals"]["co2e_wtw_kg"], 1) == 318.3
    # the TOC descriptions the carrier gave are the factor sources
    sources = {f["factor_id"]: f["source"] for f in data["factors"]}
    assert "road TOC of the guide's case A" in sources["toc:ROAD"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_and_html_from_a_footprint_table(
    clecat_case_a: pl.DataFrame, tmp_path: Path, lang: str
) -> None:
    footprints = tmp_path / "fp.csv"  # a CSV footprint table reads as text: cast by the reports
    clecat_case_a.write_csv(footprints)
    for f in ("pdf", "html"):
        out = tmp_path / f"r-{lang}.{f}"
        code, output = run(str(footprints), "--format", f, "--lang", lang, "-o", str(out))
        assert code == 0, output
        assert out.stat().st_size > 10_000
    expected = period_report(clecat_case_a, ReportScope("x"))
    require_tool("pdftotext")
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / f"r-{lang}.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    html = (tmp_path / f"r-{lang}.html").read_text()
    for figure in (
        fmt.t_co2e(expected["totals"]["co2e_wtw_kg"]),
        fmt.intensity(expected["totals"]["intensity_wtw_kg_per_tkm"]),
        fmt.tkm(expected["totals"]["transport_activity_tkm"]),
    ):
        assert figure in text and figure in html
    assert ("国家标准口径" in text) == (lang == "zh")
    assert "<script" not in html  # a self-contained page: no script, nothing loaded from outside
    assert "http://" not in html.split("<svg", 1)[0] and "https://" not in html.split("<body", 1)[0]


def test_empty_period_renders(clecat_case_a: pl.DataFrame, tmp_path: Path) -> None:
    from datetime import date

    empty = period_report(
        clecat_case_a, ReportScope("x", period_from=date(2030, 1, 1), period_to=date(2030, 1, 31))
    )
    assert empty["totals"]["shipment_count"] == 0
    for lang in ("en", "zh"):
        for f in (OutputFormat.pdf, OutputFormat.html):
            assert len(render(empty, lang, f)) > 1000


def test_customer_certificate_from_files(clecat_case_a: pl.DataFrame, tmp_path: Path) -> None:
    other = clecat_case_a.with_columns(pl.lit("B").alias("shipment_id"))
    tagged = pl.concat(
        [
            clecat_case_a.with_columns(pl.lit("ACME").alias("customer_id")),
            other.with_columns(pl.lit("OTHER").alias("customer_id")),
        ]
    )
    path = tmp_path / "fp.parquet"
    tagged.write_parquet(path)
    out = tmp_path / "cert.pdf"
    code, output = run(
        str(path), "--kind", "certificate", "--customer", "ACME", "--lang", "zh", "-o", str(out)
    )
    assert code == 0, output
    require_tool("pdftotext")
    text = subprocess.run(
        ["pdftotext", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "运输碳足迹证明" in text and "ACME" in text and "0.318" in text
    pages = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    assert "Pages:           1" in pages  # one page per customer and period
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "certificate-file-zh.pdf").write_bytes(out.read_bytes())


def test_bad_input_is_named_and_nothing_written(
    case_files: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("shipment_id,mass_kg,mode,distance_km\nS1,abc,road,10\nS2,5,teleport,10\n")
    out = tmp_path / "r.pdf"
    code, output = run(str(bad), "--tocs", str(case_files["tocs"]), "-o", str(out))
    assert code == 2
    assert "row 1" in output and "mass_kg" in output
    assert "row 2" in output and "mode" in output
    assert not out.exists()
    code, output = run(str(case_files["legs"]), "-o", str(out), "--from", "2026-02-30")
    assert code == 2 and "--from" in output and not out.exists()
    code, output = run(str(case_files["legs"]), "-o", str(out), "--tenant", "x")
    assert code == 2 and "not both" in output

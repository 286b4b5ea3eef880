"""Reports from the store over HTTP and the CLI (SQLite and PostgreSQL): figures equal to the
API's to the last printed digit in the PDF text, verification references, tenant isolation."""

from __future__ import annotations

import subprocess

import polars as pl
import pytest
from report_helpers import ARTIFACTS, StoreApi, clecat_tables, require_tool, rows
from sqlalchemy import update
from typer.testing import CliRunner

from greenstream.cli import app as cli_app
from greenstream.reports.render import fmt
from greenstream.reports.verification import parse_reference, verify_reference
from greenstream.store.db import make_engine
from greenstream.store.models import Shipment

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def pdf_text(pdf: bytes, name: str) -> str:
    require_tool("pdftotext")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return done.stdout


def _store(api: StoreApi) -> str:
    """Artefact names per store: the SQLite and PostgreSQL runs may run at once (xdist)."""
    return "sqlite" if api.url.startswith("sqlite") else "postgresql"


def printed(report: dict) -> list[str]:
    """The figures a report prints, formatted from the API's JSON."""
    t = report["totals"]
    figures = [
        fmt.t_co2e(t["co2e_wtw_kg"]),
        fmt.t_co2e(t["co2e_ttw_kg"]),
        fmt.t_co2e(t["co2e_wtt_kg"]),
        fmt.tkm(t["transport_activity_tkm"]),
        fmt.intensity(t["intensity_wtw_kg_per_tkm"]),
        fmt.kg(t["co2e_wtw_kg_per_shipment"]),
    ]
    for m in report["by_mode"]:
        figures += [fmt.t_co2e(m["co2e_wtw_kg"]), fmt.intensity(m["intensity_wtw"])]
    return figures


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_prints_the_api_figures(store_api: StoreApi, lang: str) -> None:
    h = store_api.headers(store_api.a)
    data = store_api.client.get("/reports/period", params=MARCH, headers=h).json()
    # case A alone (B departs in April): the guide's 318.3 kg, 6,500 tkm
    assert data["totals"]["shipment_count"] == 1
    assert fmt.t_co2e(data["totals"]["co2e_wtw_kg"]) == "0.318"
    assert fmt.tkm(data["totals"]["transport_activity_tkm"]) == "6,500.0"
    r = store_api.client.get(
        "/reports/period", params={**MARCH, "format": "pdf", "lang": lang}, headers=h
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content, f"period-{lang}-{_store(store_api)}")
    for figure in printed(data):
        assert figure in text, figure
    # the reference may wrap across lines (the tenant name varies): compare without blanks
    assert data["verification"]["reference"] in "".join(text.split())
    if lang == "zh":
        # no tofu: the Chinese text is set in an embedded CJK font and extracts as Chinese
        fonts = subprocess.run(
            ["pdffonts", str(ARTIFACTS / f"period-zh-{_store(store_api)}.pdf")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "NotoSansCJK" in fonts or "WenQuanYi" in fonts
        assert "运输链温室气体排放报告" in text
        assert "GB/T 46531-2025" in text
        assert fmt.t_co2e(data["gbt46531"]["co2_kg"]) in text
    else:
        assert "Emissions by transport mode and for hubs" in text
    html = store_api.client.get(
        "/reports/period", params={**MARCH, "format": "html", "lang": lang}, headers=h
    ).text
    for figure in printed(data):
        assert figure in html, figure


def test_pdf_pages_render(store_api: StoreApi) -> None:
    """Page images of the zh report and the certificate (kept as test artefacts, looked at)."""
    require_tool("pdftoppm")
    from PIL import Image

    h = store_api.headers(store_api.a)
    for kind in ("period", "certificate"):
        r = store_api.client.get(
            f"/reports/{kind}", params={**MARCH, "format": "pdf", "lang": "zh"}, headers=h
        )
        path = ARTIFACTS / f"{kind}-zh-{_store(store_api)}.pdf"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path.write_bytes(r.content)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                str(path),
                str(path.with_suffix("")),
            ],
            check=True,
        )
        png = next(ARTIFACTS.glob(f"{kind}-zh-{_store(store_api)}-*1.png"))
        image = Image.open(png).convert("L")
        dark = sum(1 for p in image.get_flattened_data() if p < 128)
        assert dark > 0.005 * image.width * image.height  # text and tables were drawn


def test_certificate_reference_verifies_and_detects_tampering(store_api: StoreApi) -> None:
    h = store_api.headers(store_api.a)
    cert = store_api.client.get("/reports/certificate", params=MARCH, headers=h).json()
    ref = cert["verification"]["reference"]
    parsed = parse_reference(ref)
    assert (parsed.kind, parsed.period_from.isoformat(), parsed.audit_seq) == (
        "certificate",
        "2026-03-01",
        1,
    )
    # the CLI, as anyone with access to the store would run it
    runner = CliRunner()
    env = {"GREENSTREAM_DATABASE_URL": store_api.url}
    done = runner.invoke(cli_app, ["verify", "--reference", ref], env=env)
    assert done.exit_code == 0, done.output
    assert "RESULT: VERIFIED" in done.output
    via_api = store_api.client.get("/reports/verify", params={"reference": ref}, headers=h).json()
    assert via_api["ok"] is True
    # a printed figure altered in the reference -> not verified
    forged = ref[:-1] + ("0" if ref[-1] != "0" else "1")
    done = runner.invoke(cli_app, ["verify", "--reference", forged], env=env)
    assert done.exit_code == 1 and "figures" in done.output
    # a stored footprint altered -> the chain check fails
    engine = make_engine(store_api.url)
    with engine.begin() as conn:
        conn.execute(
            update(Shipment)
            .where(Shipment.shipment_id == "A", Shipment.tenant_id == _tenant_id(engine, store_api))
            .values(co2e_wtw_kg=1.0)
        )
    result = verify_reference(engine, ref)
    engine.dispose()
    assert not result.ok
    assert [c["check"] for c in result.checks if not c["ok"]] == ["chain"]


def _tenant_id(engine, api: StoreApi) -> int:  # type: ignore[no-untyped-def]
    from greenstream.reports.store import tenant_by_name

    return tenant_by_name(engine, api.a.tenant).id


def test_tenant_isolation_and_bad_input(store_api: StoreApi) -> None:
    hb = store_api.headers(store_api.b)
    other = store_api.client.get("/reports/period", headers=hb).json()
    assert other["totals"]["shipment_count"] == 0
    assert other["verification"] is None
    ha = store_api.headers(store_api.a)
    r = store_api.client.get(
        "/reports/period", params={"from": "2026-04-01", "to": "2026-03-01"}, headers=ha
    )
    assert r.status_code == 400 and "to" in r.text
    r = store_api.client.get("/reports/period", params={"format": "docx"}, headers=ha)
    assert r.status_code == 400
    # the stored footprints carry no customer_id: customer ACME has none (404)
    r = store_api.client.get("/reports/period", params={"customer": "ACME"}, headers=ha)
    assert r.status_code == 404 and "customer_id" in r.text
    # a reference that is not one (the OpenAPI pattern) is 400; a well-formed one naming a day
    # that does not exist names no document (404)
    r = store_api.client.get("/reports/verify", params={"reference": "0.1.0"}, headers=ha)
    assert r.status_code == 400
    bad_day = f"gs1:period:{store_api.a.tenant}:*:2026-02-30:*:1:{'0' * 16}:{'0' * 16}"
    r = store_api.client.get("/reports/verify", params={"reference": bad_day}, headers=ha)
    assert r.status_code == 404, r.text
    # a reference of another tenant is not this tenant's to check
    ref = store_api.client.get("/reports/period", headers=ha).json()["verification"]["reference"]
    r = store_api.client.get("/reports/verify", params={"reference": ref}, headers=hb)
    assert r.status_code == 404


def test_cli_store_report(store_api: StoreApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cert.json"
    done = CliRunner().invoke(
        cli_app,
        [
            "report",
            "--tenant",
            store_api.a.tenant,
            "--kind",
            "certificate",
            "--format",
            "json",
            "-o",
            str(out),
            "--from",
            "2026-03-01",
            "--to",
            "2026-04-30",
            "--no-progress",
        ],
        env={"GREENSTREAM_DATABASE_URL": store_api.url},
    )
    assert done.exit_code == 0, done.output
    import json

    data = json.loads(out.read_text())
    assert data["kind"] == "certificate"
    assert data["totals"]["shipment_count"] == 2
    assert round(data["totals"]["co2e_wtw_kg"], 1) == 2 * 318.3


def test_store_report_equals_the_dashboard_figures(store_api: StoreApi) -> None:
    """One definition per figure: the store-mode report prints what the dashboard's analytics
    (services/analytics.py) answer for the same tenant and period."""
    from greenstream.services.analytics import Filters, figures, select_facts, tenant_facts

    h = store_api.headers(store_api.a)
    report = store_api.client.get("/reports/period", params=MARCH, headers=h).json()
    engine = make_engine(store_api.url)
    facts = tenant_facts(engine, _tenant_id(engine, store_api)).frame
    engine.dispose()
    from datetime import date

    dash = figures(select_facts(facts, Filters(date(2026, 3, 1), date(2026, 3, 31))))
    t = report["totals"]
    assert dash["shipment_count"] == t["shipment_count"] == 1
    for key in ("co2e_wtw_kg", "co2e_ttw_kg", "co2e_wtt_kg"):
        assert fmt.t_co2e(dash[key]) == fmt.t_co2e(t[key]), key
    assert fmt.tkm(dash["transport_activity_tkm"]) == fmt.tkm(t["transport_activity_tkm"])
    assert fmt.pct(dash["primary_data_share"]) == fmt.pct(t["primary_data_share"])
    assert fmt.kg(dash["co2e_wtw_kg_per_shipment"]) == fmt.kg(t["co2e_wtw_kg_per_shipment"])


def test_certificate_per_customer_from_the_store(store_api: StoreApi) -> None:
    """Customers travel with the stored shipments: a customer's certificate from the store
    holds its shipments only, and prints the dashboard's figure for that customer."""
    t = clecat_tables()
    legs = pl.concat(
        [
            t["legs"].with_columns(
                pl.lit(sid).alias("shipment_id"),
                pl.col("tce_id").str.replace("A-", f"{sid}-"),
                pl.lit(customer).alias("customer_id"),
                pl.col("mass_kg") * factor,
            )
            for sid, customer, factor in (("C1", "CUST-1", 1.0), ("C2", "CUST-2", 2.0))
        ]
    )
    hb = store_api.headers(store_api.b)
    body = {"legs": rows(legs), "tocs": rows(t["tocs"]), "hocs": rows(t["hocs"])}
    r = store_api.client.post("/shipments", json=body, headers=hb)
    assert r.status_code == 201, r.text
    cert = store_api.client.get(
        "/reports/certificate", params={"customer": "CUST-2"}, headers=hb
    ).json()
    assert cert["totals"]["shipment_count"] == 1
    by_customer = {
        row["customer"]: row
        for row in store_api.client.get("/dashboard/breakdown/customer", headers=hb).json()
    }
    assert set(by_customer) == {"CUST-1", "CUST-2"}
    dash = by_customer["CUST-2"]["co2e_wtw_kg"]
    assert fmt.t_co2e(dash) == fmt.t_co2e(cert["totals"]["co2e_wtw_kg"])
    # twice the mass on the same legs: more than CUST-1's (the intensities are per tonne-km)
    assert dash > by_customer["CUST-1"]["co2e_wtw_kg"]

"""Report figures (issue 25, reports):
- report.pdf_1m_s        a period report of ~1M chain elements from the store (SQLite): read the
                         period's chunks, build every figure, render the Chinese PDF (charts,
                         map, GB/T views, reconciliation). Target <= 10 s.
- report.file_pdf_1m_s   the same report from a footprint table in memory (no store read).
- report.data_1m_s       the report's data alone (every figure, the GB/T view) from that table.
- report.naive_data_s    baseline measured in the same run: the report's totals by mode, method
                         and factor summed in a Python loop over the rows (what the vectorised
                         builder replaces); the ratio says what the builder buys.

Data: greenstream's synthetic Double-11 day (``BENCH_REPORT_SHIPMENTS`` parcels, default
114,000 = about 1M chain elements), uploaded once into a scratch SQLite store (not timed).
First-use costs (matplotlib's font list, Typst, the basemap) are paid once per process before
timing, as a running server pays them once, and recorded as ``report.first_use_s`` (a one-shot
CLI run pays them on top).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from common import Record

SHIPMENTS = int(os.environ.get("BENCH_REPORT_SHIPMENTS", "114000"))
TARGET_S = 10.0


def run(record: Record) -> None:
    from greenstream.factors import Registry
    from greenstream.geo import Gazetteer
    from greenstream.reports.documents import file_document, store_document
    from greenstream.reports.render import OutputFormat, render
    from greenstream.reports.store import tenant_by_name
    from greenstream.services.upload import ingest
    from greenstream.store.db import make_engine, session_factory, upgrade
    from greenstream.store.tenants import get_or_create_tenant
    from greenstream.synth import generate_network_day

    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    data = generate_network_day(shipments=SHIPMENTS, seed=11)
    with tempfile.TemporaryDirectory(prefix="gs-bench-reports-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        with session_factory(engine).begin() as session:
            tenant_id = get_or_create_tenant(session, "bench", "bench logistics").id
        t0 = time.perf_counter()
        stored = ingest(
            engine,
            tenant_id,
            data["legs"],
            tocs=data["tocs"],
            hocs=data["hocs"],
            trips=data["trips"],
            registry=registry,
            gazetteer=gazetteer,
            source="bench",
        )
        print(
            f"  (untimed) uploaded {stored.tce_count:,} chain elements in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        tenant = tenant_by_name(engine, "bench")
        from greenstream.reports.render.maps import china_provinces, world_polygons

        t0 = time.perf_counter()
        world_polygons()
        china_provinces()
        warm = store_document(
            engine, tenant, period_from=date(2030, 1, 1), period_to=date(2030, 1, 1)
        )
        render(warm, "zh", OutputFormat.pdf)
        first_use_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = store_document(engine, tenant, registry=registry)
        pdf = render(report, "zh", OutputFormat.pdf)
        store_s = time.perf_counter() - t0
        elements = report["totals"]["tce_count"]
        assert elements == stored.tce_count, (elements, stored.tce_count)
        assert pdf.startswith(b"%PDF")

        from greenstream.reports.store import store_footprints

        chain = store_footprints(engine, tenant_id).chain
        engine.dispose()

    t0 = time.perf_counter()
    in_memory = file_document(chain, organisation="bench", registry=registry)
    data_s = time.perf_counter() - t0
    render(in_memory, "zh", OutputFormat.pdf)
    file_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    naive_totals(chain)
    naive_s = time.perf_counter() - t0

    note = f"({elements:,} elements; naive data-only loop {naive_s:.1f} s)"
    record("report.pdf_1m_s", store_s, "s", TARGET_S, "lower", note)
    record("report.file_pdf_1m_s", file_s, "s", TARGET_S, "lower")
    record(
        "report.data_1m_s",
        data_s,
        "s",
        TARGET_S,
        "lower",
        "(every figure, about 15 breakdowns and the GB/T view; the naive loop does 3 sums)",
    )
    record("report.naive_data_s", naive_s, "s", TARGET_S, "lower", "(baseline)")
    record(
        "report.first_use_s",
        first_use_s,
        "s",
        TARGET_S,
        "lower",
        "(once per process: matplotlib's font list, Typst, the basemap)",
    )


def naive_totals(chain: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Sums by mode, method and factor in a plain loop (the baseline)."""
    sums: dict[str, dict[str, float]] = {"mode": {}, "method": {}, "factor": {}}
    cols = ["mode", "method", "factor_id", "co2e_wtw_kg"]
    for mode, method, factor, wtw in chain.select(cols).iter_rows():
        for key, value in (("mode", mode or "hub"), ("method", method), ("factor", factor)):
            sums[key][value] = sums[key].get(value, 0.0) + wtw
    return sums

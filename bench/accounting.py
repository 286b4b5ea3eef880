"""Accounting-core figures (issue: accounting core):
- accounting.kernel_tce_per_s   kernel on in-memory Arrow (Arrow in, Arrow out), best of 5
- accounting.file_tce_per_s     Parquet in -> checks -> kernel -> Parquet out (the CLI's path),
                                best of 3
- accounting.peak_rss_gb_10m    peak RSS of that file-to-file job on 10M TCEs (separate process)
- accounting.naive_ratio        kernel TCE/s divided by the naive per-row Python TCE/s, same data
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from common import Record

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
if str(HERE) not in sys.path:  # after the libraries, as bench/run.py puts it
    sys.path.append(str(HERE))

KERNEL_TCES = int(os.environ.get("BENCH_KERNEL_TCES", "2000000"))
FILE_TCES = int(os.environ.get("BENCH_FILE_TCES", "2000000"))
BIG_TCES = int(os.environ.get("BENCH_BIG_TCES", "10000000"))
NAIVE_TCES = int(os.environ.get("BENCH_NAIVE_TCES", "100000"))


def dataset(tces: int) -> Path:
    """Synthetic network data with at least ``tces`` chain elements (tiled copies of one day)."""
    from greenstream.synth import generate_network_day, write_dataset

    out = DATA / f"tce{tces}"
    if (out / "legs.parquet").exists():
        return out
    base = generate_network_day(shipments=150_000, seed=11)
    copies = -(-tces // base["legs"].height)
    legs = pl.concat(
        [
            base["legs"].with_columns(
                pl.format("{}-c{}", pl.col("shipment_id"), pl.lit(i)).alias("shipment_id"),
                pl.format("{}-c{}", pl.col("tce_id"), pl.lit(i)).alias("tce_id"),
                pl.format("{}-c{}", pl.col("trip_id"), pl.lit(i)).alias("trip_id"),
            )
            for i in range(copies)
        ]
    ).head(tces)
    used = legs.get_column("trip_id").drop_nulls().unique()
    trips = pl.concat(
        [
            base["trips"].with_columns(
                pl.format("{}-c{}", pl.col("trip_id"), pl.lit(i)).alias("trip_id")
            )
            for i in range(copies)
        ]
    ).filter(pl.col("trip_id").is_in(used.implode()))
    write_dataset({"legs": legs, "trips": trips, "tocs": base["tocs"], "hocs": base["hocs"]}, out)
    return out


def tables_for(d: Path) -> Any:
    from greenstream.accounting.kernel import ReferenceTables

    return ReferenceTables(
        tocs=pl.read_parquet(d / "tocs.parquet"),
        hocs=pl.read_parquet(d / "hocs.parquet"),
        trips=pl.read_parquet(d / "trips.parquet"),
    )


def bench_kernel(d: Path) -> tuple[float, int]:
    from greenstream.accounting.kernel import compute

    # Arrow with string_view columns (Arrow's current string layout): zero-copy into Polars.
    arrow = pl.read_parquet(d / "legs.parquet").to_arrow(compat_level=pl.CompatLevel.newest())
    tables = tables_for(d)
    warm = pl.from_arrow(arrow.slice(0, 1000))
    assert isinstance(warm, pl.DataFrame)
    compute(warm, tables)  # builds the lookups once, as a job does
    best = float("inf")
    for _ in range(5):  # best of 5: the figure is the kernel, not the noise of a shared machine
        t0 = time.perf_counter()
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        result = compute(frame, tables).to_arrow(compat_level=pl.CompatLevel.newest())
        best = min(best, time.perf_counter() - t0)
    assert result.num_rows == arrow.num_rows
    return arrow.num_rows / best, arrow.num_rows


def file_job(d: Path, out: Path) -> float:
    """What `greenstream footprint` does: read, check, compute, write results and shipments,
    summarize (in memory up to 4M TCEs, streaming above)."""
    from greenstream.pipeline import load_inputs, reference_tables, run_to_files

    t0 = time.perf_counter()
    inputs = load_inputs(
        d / "legs.parquet",
        tocs=d / "tocs.parquet",
        hocs=d / "hocs.parquet",
        trips=d / "trips.parquet",
    )
    result = run_to_files(
        inputs, reference_tables(inputs), out, shipments=out.with_name(out.stem + "_ship.parquet")
    )
    result.summary()
    return time.perf_counter() - t0


def bench_naive(d: Path) -> tuple[float, float]:
    """Per-row Python vs the kernel on the same sample, Polars table in and out for both.

    Before the speeds are compared, both results must agree in every column of every row
    (floats to 1e-9 relative, everything else exactly), so the ratio compares the same work.
    """
    from greenstream.accounting.kernel import ReferenceTables, compute
    from naive import naive_footprint

    legs = pl.read_parquet(d / "legs.parquet").head(NAIVE_TCES)
    tables = tables_for(d)
    trips = tables.trips.filter(pl.col("trip_id").is_in(legs["trip_id"].drop_nulls().implode()))
    tables = ReferenceTables(tocs=tables.tocs, hocs=tables.hocs, trips=trips)
    t0 = time.perf_counter()
    naive = naive_footprint(legs, tables)
    naive_s = time.perf_counter() - t0
    compute(legs, tables)
    t0 = time.perf_counter()
    fast = compute(legs, tables)
    fast_s = time.perf_counter() - t0
    assert naive.columns == fast.columns, (naive.columns, fast.columns)
    for name in fast.columns:
        a, b = naive[name], fast[name]
        if b.dtype == pl.Float64:
            close = ((a - b).abs() <= 1e-9 * b.abs()) | (a.is_null() & b.is_null())
            assert bool(close.all()), f"naive and kernel differ in {name}"
        else:
            same = a.cast(pl.String).eq_missing(b.cast(pl.String))
            assert bool(same.all()), f"naive and kernel differ in {name}"
    return legs.height / naive_s, legs.height / fast_s


def run(record: Record) -> None:
    d = dataset(max(KERNEL_TCES, FILE_TCES))
    kernel_tps, n = bench_kernel(d)
    naive_tps, _ = bench_naive(d)
    record(
        "accounting.kernel_tce_per_s",
        kernel_tps,
        "TCE/s",
        5_000_000,
        "higher",
        f"({n:,} TCEs, Arrow in/out; naive per-row Python {naive_tps:,.0f} TCE/s -> "
        f"x{kernel_tps / naive_tps:,.0f})",
    )
    # best of 3, as for the kernel: the figure is the job, not the noise of a shared machine
    elapsed = min(file_job(d, DATA / "out.parquet") for _ in range(3))
    rows = pl.scan_parquet(d / "legs.parquet").select(pl.len()).collect().item()
    file_tps = rows / elapsed
    record(
        "accounting.file_tce_per_s",
        file_tps,
        "TCE/s",
        1_000_000,
        "higher",
        f"({rows:,} TCEs Parquet -> Parquet in {elapsed:.2f} s; x{file_tps / naive_tps:,.0f} naive)",
    )
    record(
        "accounting.naive_ratio",
        kernel_tps / naive_tps,
        "x",
        50,
        "higher",
        f"(kernel {kernel_tps:,.0f} vs naive {naive_tps:,.0f} TCE/s on {NAIVE_TCES:,} TCEs; "
        f"every output column agrees)",
    )

    big = dataset(BIG_TCES)
    code = (
        f"import sys, resource; sys.path.insert(0, {str(HERE)!r}); from accounting import file_job; "
        f"from pathlib import Path; s = file_job(Path({str(big)!r}), "
        f"Path({str(DATA / 'out_big.parquet')!r})); "
        "print(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    secs, rss_kb = proc.stdout.split()
    big_rows = pl.scan_parquet(big / "legs.parquet").select(pl.len()).collect().item()
    record(
        "accounting.peak_rss_gb_10m",
        int(rss_kb) / 1024 / 1024,
        "GB",
        4.0,
        "lower",
        f"({big_rows:,} TCEs file to file in {float(secs):.1f} s = "
        f"{big_rows / float(secs):,.0f} TCE/s)",
    )

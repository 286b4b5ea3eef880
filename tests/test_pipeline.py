"""The file job: streaming and in-memory paths give the same results; nothing written on errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.pipeline import load_inputs, reference_tables, run_to_files
from greenstream.synth import generate_network_day, write_dataset


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day")
    write_dataset(generate_network_day(shipments=2000, seed=3), out)
    return out


def _run(d: Path, out: Path, *, streaming: bool) -> dict[str, object]:
    inputs = load_inputs(
        d / "legs.parquet",
        tocs=d / "tocs.parquet",
        hocs=d / "hocs.parquet",
        trips=d / "trips.parquet",
    )
    result = run_to_files(
        inputs,
        reference_tables(inputs),
        out,
        shipments=out.with_name(out.stem + "_ship.parquet"),
        streaming=streaming,
    )
    return result.summary()


def test_streaming_equals_in_memory(day: Path, tmp_path: Path) -> None:
    mem = _run(day, tmp_path / "mem.parquet", streaming=False)
    stream = _run(day, tmp_path / "stream.parquet", streaming=True)
    for key in ("tce_count", "shipment_count", "co2e_wtw_kg", "co2e_ttw_kg", "primary_data_share"):
        assert stream[key] == pytest.approx(mem[key], rel=1e-12), key
    a = pl.read_parquet(tmp_path / "mem.parquet")
    b = pl.read_parquet(tmp_path / "stream.parquet")
    assert a.equals(b)
    sa = pl.read_parquet(tmp_path / "mem_ship.parquet")
    sb = pl.read_parquet(tmp_path / "stream_ship.parquet").sort("shipment_id")
    assert sa.sort("shipment_id").equals(sb)


@pytest.mark.parametrize("streaming", [False, True])
def test_bad_row_writes_nothing(day: Path, tmp_path: Path, streaming: bool) -> None:
    legs = pl.read_parquet(day / "legs.parquet")
    legs = legs.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(-1.0)
        .otherwise(pl.col("mass_kg"))
        .alias("mass_kg")
    )
    bad = tmp_path / "legs.parquet"
    legs.write_parquet(bad)
    inputs = load_inputs(
        bad, tocs=day / "tocs.parquet", hocs=day / "hocs.parquet", trips=day / "trips.parquet"
    )
    out = tmp_path / "out.parquet"
    with pytest.raises(InputErrors) as exc:
        run_to_files(inputs, reference_tables(inputs), out, streaming=streaming)
    assert [(e.row, e.field) for e in exc.value.errors] == [(6, "mass_kg")]
    assert list(tmp_path.iterdir()) == [bad]


def test_same_inputs_same_bytes(day: Path, tmp_path: Path) -> None:
    # The audit trail seals results by hash: a recomputation must reproduce them bit for bit.
    for name in ("a", "b"):
        inputs = load_inputs(
            day / "legs.parquet",
            tocs=day / "tocs.parquet",
            hocs=day / "hocs.parquet",
            trips=day / "trips.parquet",
        )
        run_to_files(inputs, reference_tables(inputs), tmp_path / f"{name}.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

"""Chain elements as Parquet chunks: chunks end at shipment boundaries, every shipment row points
at its own chain, the encoding is exact, and a damaged chunk is reported, never misread."""

from __future__ import annotations

import io

import polars as pl
import pytest

from greenstream.store.chunks import (
    CHAIN_COLUMNS,
    CHAIN_SCHEMA,
    ChunkError,
    conform_chain,
    decode_chunk,
    encode_chunk,
    plan_chunks,
)


def _chain(lengths: dict[str, int]) -> pl.DataFrame:
    """A chain with the stored columns: ``lengths[shipment]`` elements per shipment."""
    ids = [s for s, n in lengths.items() for _ in range(n)]
    seqs = [i for n in lengths.values() for i in range(n)]
    frame = pl.DataFrame({"shipment_id": ids, "seq": seqs}).with_columns(
        (pl.col("shipment_id") + "-" + pl.col("seq").cast(pl.String)).alias("tce_id"),
        pl.int_range(pl.len()).cast(pl.Float64).alias("mass_kg"),
        pl.lit(0.1).alias("co2e_wtw_kg"),
        pl.lit("road").alias("mode"),
        pl.lit("DFLT").alias("method"),
        pl.lit(False).alias("primary_data"),
    )
    return conform_chain(
        frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in CHAIN_SCHEMA.items()
            if name not in frame.columns
        )
    )


def test_chunks_end_at_shipment_boundaries_and_pointers_find_each_chain() -> None:
    lengths = {f"S{i:03d}": 1 + (i * 7) % 5 for i in range(60)}
    lengths["S999"] = 30  # longer than a chunk: a chunk of its own
    plan = plan_chunks(_chain(lengths).reverse(), chunk_rows=16)  # unsorted in, sorted out
    assert plan.chain["shipment_id"].is_sorted()
    assert sum(count for _, count in plan.bounds) == plan.chain.height == sum(lengths.values())
    firsts = [first for first, _ in plan.bounds]
    assert firsts == sorted(firsts) and firsts[0] == 0
    for first, count in plan.bounds:
        rows = plan.chain.slice(first, count)
        # a chunk starts at a shipment's first element and ends at a shipment's last one
        assert rows["seq"][0] == 0
        last = rows["shipment_id"][-1]
        last_length = rows.filter(pl.col("shipment_id") == last).height
        assert last_length == lengths[last]
        # the chunk's last shipment starts within its first 16 rows (about chunk_rows each)
        assert count - last_length < 16
    assert plan.pointers.height == len(lengths)
    for ptr in plan.pointers.iter_rows(named=True):
        first, _ = plan.bounds[ptr["chunk_no"]]
        rows = plan.chain.slice(first + ptr["chunk_row"], ptr["tce_count"])
        assert rows["shipment_id"].unique().to_list() == [ptr["shipment_id"]]
        assert rows["seq"].to_list() == list(range(lengths[ptr["shipment_id"]]))


def test_encoding_is_exact() -> None:
    chain = _chain({"A": 3, "B": 2}).with_columns(
        pl.Series("co2e_wtw_kg", [0.1 + 0.2, -0.0, 1e-300, 123456789.123456789, float("inf")])
    )
    back = decode_chunk(encode_chunk(chain), expected_rows=5)
    assert back.columns == list(CHAIN_COLUMNS)
    assert back.equals(chain)
    assert back["co2e_wtw_kg"].to_list() == chain["co2e_wtw_kg"].to_list()


def test_damaged_chunks_are_reported() -> None:
    good = encode_chunk(_chain({"A": 2}))
    with pytest.raises(ChunkError, match="cannot be decoded"):
        decode_chunk(good[: len(good) // 2])
    with pytest.raises(ChunkError, match="holds 2 rows"):
        decode_chunk(good, expected_rows=3)
    other = io.BytesIO()
    pl.DataFrame({"shipment_id": ["A"], "mass_kg": [1.0]}).write_parquet(other)
    with pytest.raises(ChunkError, match="columns and dtypes"):
        decode_chunk(other.getvalue())


def test_missing_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="lack columns"):
        plan_chunks(pl.DataFrame({"shipment_id": ["A"], "seq": [0]}))

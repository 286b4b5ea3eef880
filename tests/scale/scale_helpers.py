"""A partitioned dataset, the single-machine reference for it, and the row comparison."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from greenstream.scale.dataset import list_partitions, read_partition


@dataclass(frozen=True)
class Dataset:
    parts: Path  # the partitioned LEGS dataset
    tocs: Path
    hocs: Path
    trips: Path
    reference: Path  # single-machine results (today's file path) of the same rows
    reference_shipments: Path
    reference_summary: dict[str, Any]  # that job's summary


def make_dataset(
    root: Path, *, shipments: int = 1500, partitions: int = 6, shuffle_seed: int | None = None
) -> Dataset:
    """Synthetic legs cut into ``partitions`` files under two hive folders, with the trips of
    those legs; then the single-file job over the same rows in dataset order (the reference).
    With ``shuffle_seed`` the rows are put in a random order first, so that most shipments and
    trips have elements in several partitions (the generator writes a shipment's legs
    together)."""
    from greenstream.synth import generate_network_day

    data = generate_network_day(shipments=shipments, seed=23)
    legs = data["legs"]
    if shuffle_seed is not None:
        legs = legs.sample(fraction=1.0, shuffle=True, seed=shuffle_seed)
    used = legs.get_column("trip_id").drop_nulls().unique().implode()
    trips = data["trips"].filter(pl.col("trip_id").is_in(used))
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("tocs", data["tocs"]), ("hocs", data["hocs"]), ("trips", trips)):
        paths[name] = root / f"{name}.parquet"
        frame.write_parquet(paths[name])
    parts = root / "legs"
    size = -(-legs.height // partitions)
    for i in range(partitions):
        folder = parts / f"region={'north' if i % 2 else 'south'}"
        folder.mkdir(parents=True, exist_ok=True)
        legs.slice(i * size, size).write_parquet(folder / f"chunk-{i}.parquet")
    # the same rows in the dataset's (path) order, as one file, through today's single-file job
    single = root / "single.parquet"
    pl.concat([read_partition(p).collect() for p in list_partitions(parts)]).write_parquet(single)
    reference, reference_ship = root / "reference.parquet", root / "reference_shipments.parquet"
    proc = run_cli(
        "footprint",
        str(single),
        "-o",
        str(reference),
        "--shipments",
        str(reference_ship),
        *tables_args(paths["tocs"], paths["hocs"], paths["trips"]),
    )
    summary = json.loads(proc.stdout)
    return Dataset(
        parts, paths["tocs"], paths["hocs"], paths["trips"], reference, reference_ship, summary
    )


def tables_args(tocs: Path, hocs: Path, trips: Path) -> list[str]:
    return [
        "--tocs",
        str(tocs),
        "--hocs",
        str(hocs),
        "--trips",
        str(trips),
        "--allow-extra-columns",  # the hive key 'region' is outside the data contract
        "--no-progress",
        "--format",
        "json",
    ]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from greenstream.cli import app; app()", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def canonical(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Rows sorted by ``key``, Enum / Categorical columns as their text (a partition file's
    dictionary may list the categories in another order; the values are what is compared)."""
    return frame.with_columns(
        pl.col(c).cast(pl.String)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Enum | pl.Categorical)
    ).sort(key)


def assert_same_rows(reference: Path, dataset: Path, key: str) -> int:
    """The rows of the folder ``dataset`` equal those of the file ``reference``: same columns,
    same types, every value bit for bit (exact float comparison, and equal row hashes)."""
    ref = canonical(pl.read_parquet(reference), key)
    got = canonical(pl.scan_parquet(sorted(dataset.glob("part-*.parquet"))).collect(), key)
    assert got.schema == ref.schema
    assert_frame_equal(got, ref, check_exact=True)
    assert got.hash_rows(seed=1).equals(ref.hash_rows(seed=1))
    return got.height


# what a job's summary says of its run, not of its results
RUN_KEYS = ("elapsed_s", "factor_set_version", "input_sha256", "outputs")


def assert_same_summary(reference: dict[str, Any], got: dict[str, Any]) -> None:
    """The summary of the results equals the reference's, every float bit for bit (JSON keeps
    a float exactly: its shortest repr reads back to the same double)."""
    want = {k: v for k, v in reference.items() if k not in RUN_KEYS}
    have = {k: v for k, v in json.loads(json.dumps(got)).items() if k not in RUN_KEYS}
    assert have == want

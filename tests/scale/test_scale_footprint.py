"""Footprints of a partitioned dataset on a real dask.distributed cluster (a scheduler and two
worker processes): the same rows, bit for bit, as the single-machine job over the same data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from scale_helpers import (
    Dataset,
    assert_same_rows,
    assert_same_summary,
    make_dataset,
    run_cli,
    tables_args,
)

from greenstream.errors import InputErrors
from greenstream.scale.executors import DaskExecutor, LocalExecutor
from greenstream.scale.footprint import DatasetJob, run_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("scale"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    executor = DaskExecutor(workers=2, polars_threads=1)
    assert len(executor.client.scheduler_info()["workers"]) == 2
    yield executor
    executor.close()


def _options(d: Dataset, **kw: object) -> DatasetJob:
    return DatasetJob(
        tocs=d.tocs,
        hocs=d.hocs,
        trips=d.trips,
        allow_extra_columns=True,
        **kw,  # type: ignore[arg-type]
    )


def test_dask_output_equals_the_single_machine_output_row_for_row(
    dataset: Dataset, cluster: DaskExecutor, tmp_path: Path
) -> None:
    out, ship = tmp_path / "out", tmp_path / "ship"
    result = run_dataset(dataset.parts, out, cluster, _options(dataset), shipments=ship)
    n = assert_same_rows(dataset.reference, out, "tce_id")
    assert assert_same_rows(dataset.reference_shipments, ship, "shipment_id") > 0
    assert result.summary()["tce_count"] == n
    # the summary merged from the partitions' partial sums: the single-file job's, to the bit
    assert_same_summary(dataset.reference_summary, result.summary())
    # one output file per input partition (idempotent names: a retried task rewrites its own)
    assert sorted(p.name for p in out.iterdir()) == [f"part-{i:05d}.parquet" for i in range(6)]


def test_no_shared_storage_gives_the_same_rows(
    dataset: Dataset, cluster: DaskExecutor, tmp_path: Path
) -> None:
    out, ship = tmp_path / "out", tmp_path / "ship"
    result = run_dataset(
        dataset.parts, out, cluster, _options(dataset, ship_data=True), shipments=ship
    )
    assert_same_rows(dataset.reference, out, "tce_id")
    assert_same_rows(dataset.reference_shipments, ship, "shipment_id")
    assert_same_summary(dataset.reference_summary, result.summary())


def test_local_executor_gives_the_same_rows(dataset: Dataset, tmp_path: Path) -> None:
    out, ship = tmp_path / "out", tmp_path / "ship"
    options = _options(dataset)
    # no memory for held partitions: each partition's typed rows wait for its compute task
    # in a file (a dataset larger than memory)
    executor = LocalExecutor(spill_above_bytes=0)
    result = run_dataset(dataset.parts, out, executor, options, shipments=ship)
    assert executor.spill_dir is not None
    assert len(list(executor.spill_dir.glob("*.survey"))) == 6
    spill_dir = executor.spill_dir
    executor.close()
    assert not spill_dir.exists()
    assert_same_rows(dataset.reference, out, "tce_id")
    assert_same_rows(dataset.reference_shipments, ship, "shipment_id")
    assert_same_summary(dataset.reference_summary, result.summary())
    # every task reported its CPU seconds: one per partition, one per roll-up bucket (one: the
    # dataset is cut by shipment, only the few shipments at the cuts cross partitions)
    assert {k: len(v) for k, v in options.task_cpu_seconds.items()} == {
        "survey": 6,
        "compute": 6,
        "rollup": 1,
    }
    assert all(sum(v) > 0 for v in options.task_cpu_seconds.values())


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("shuffled"), shuffle_seed=5)


@pytest.mark.parametrize("ship_data", [False, True])
def test_shipments_spread_over_partitions_roll_up_as_in_one_file(
    shuffled: Dataset, cluster: DaskExecutor, tmp_path: Path, ship_data: bool
) -> None:
    """Rows in random order: most shipments have elements in several partitions and go through
    the shuffle, the rest are rolled up in their partition; both kinds equal the single-file
    roll-up to the bit, and every shipment is in exactly one output file."""
    out, ship = tmp_path / "out", tmp_path / "ship"
    options = _options(shuffled, ship_data=ship_data, buckets=3)
    result = run_dataset(shuffled.parts, out, cluster, options, shipments=ship)
    assert_same_rows(shuffled.reference, out, "tce_id")
    n_ship = assert_same_rows(shuffled.reference_shipments, ship, "shipment_id")
    assert result.summary()["shipment_count"] == n_ship
    assert_same_summary(shuffled.reference_summary, result.summary())
    # the partitions' own roll-ups (part 0-5) and the three buckets (part 6-8)
    files = sorted(ship.iterdir())
    assert [p.name for p in files] == [f"part-{i:05d}.parquet" for i in range(9)]
    per_file = [pl.read_parquet(p).height for p in files]
    # with 1,500 shipments of a few legs each in 6 random parts, both kinds are many
    assert sum(per_file[:6]) > 0 and sum(per_file[6:]) > sum(per_file[:6])
    assert sum(per_file) == n_ship


def test_a_trip_across_partitions_is_allocated_over_all_its_elements(
    cluster: DaskExecutor, tmp_path: Path
) -> None:
    # Hand calculation: trip T burns 100 l of diesel. Leg a (partition 0) carries 10 t over
    # 100 km = 1000 tkm, leg b (partition 1) 10 t over 300 km = 3000 tkm. ISO 14083 5.6
    # allocates by tonne-km: a gets 1000 / 4000 = 1/4 of the trip, b 3/4. A per-partition
    # allocation would give each leg the whole trip (shares 1 and 1, total twice the trip).
    parts = tmp_path / "legs"
    parts.mkdir()
    common = {"mode": "road", "vehicle": None, "trip_id": "T", "mass_kg": 10_000.0}
    for i, (tce, km) in enumerate((("a", 100.0), ("b", 300.0))):
        pl.DataFrame(
            [{"shipment_id": f"S{tce}", "tce_id": tce, "distance_km": km, **common}],
            schema_overrides={"vehicle": pl.String},
        ).write_parquet(parts / f"p{i}.parquet")
    trips = tmp_path / "trips.csv"
    trips.write_text("trip_id,energy_carrier,energy_amount,energy_unit\nT,diesel,100,l\n")
    out = tmp_path / "out"
    run_dataset(parts, out, cluster, DatasetJob(trips=trips), shipments=None)
    rows = pl.read_parquet(sorted(out.glob("*.parquet"))).sort("tce_id")
    a, b = rows.get_column("co2e_wtw_kg").to_list()
    assert rows.get_column("method").cast(pl.String).to_list() == ["primary", "primary"]
    assert b == pytest.approx(3 * a, rel=1e-12)
    # the two shares add up to the trip: 100 l x the registry's diesel WTW factor per litre
    from greenstream.factors import Registry

    fuel = Registry.builtin().fuel_factors()
    ef = fuel.filter(
        (pl.col("energy_carrier") == "diesel") & (pl.col("energy_unit") == "l")
    ).get_column("ef_wtw_kg_per_unit")[0]
    assert a + b == pytest.approx(100.0 * ef, rel=1e-12)


def test_bad_rows_are_named_by_partition_file_and_row_and_nothing_is_written(
    cluster: DaskExecutor, tmp_path: Path
) -> None:
    parts = tmp_path / "legs" / "day=1"
    parts.mkdir(parents=True)
    good = {"shipment_id": "S1", "tce_id": "S1-1", "mode": "road", "distance_km": 10.0}
    pl.DataFrame([{**good, "mass_kg": 1000.0}]).write_parquet(parts / "a.parquet")
    pl.DataFrame(
        [{**good, "tce_id": "S2-1", "mass_kg": 5.0}, {**good, "tce_id": "S2-2", "mass_kg": -5.0}]
    ).write_parquet(parts / "b.parquet")
    out = tmp_path / "out"
    with pytest.raises(InputErrors) as caught:
        run_dataset(tmp_path / "legs", out, cluster, DatasetJob(allow_extra_columns=True))
    errors = caught.value.errors
    assert [(e.file, e.row, e.field) for e in errors] == [("day=1/b.parquet", 2, "mass_kg")]
    assert not out.exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_a_partition_without_element_ids_is_refused(cluster: DaskExecutor, tmp_path: Path) -> None:
    parts = tmp_path / "legs"
    parts.mkdir()
    pl.DataFrame(
        [{"shipment_id": "S1", "mode": "road", "distance_km": 10.0, "mass_kg": 100.0}]
    ).write_parquet(parts / "a.parquet")
    with pytest.raises(InputErrors) as caught:
        run_dataset(parts, tmp_path / "out", cluster, DatasetJob())
    assert [(e.file, e.field) for e in caught.value.errors] == [("a.parquet", "tce_id")]


def test_cli_footprint_of_a_dataset_on_a_dask_cluster(dataset: Dataset, tmp_path: Path) -> None:
    out, ship = tmp_path / "out", tmp_path / "ship"
    proc = run_cli(
        "footprint",
        str(dataset.parts),
        "-o",
        str(out),
        "--shipments",
        str(ship),
        "--executor",
        "dask",
        "--workers",
        "2",
        *tables_args(dataset.tocs, dataset.hocs, dataset.trips),
    )
    summary = json.loads(proc.stdout)
    n = assert_same_rows(dataset.reference, out, "tce_id")
    assert summary["tce_count"] == n
    assert_same_summary(dataset.reference_summary, summary)
    assert summary["outputs"] == [str(out), str(ship)]


def test_cli_without_dask_imports_for_a_file_job() -> None:
    import subprocess
    import sys

    code = (
        "import sys, greenstream, greenstream.cli, greenstream.scale.footprint; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_refuses_an_unknown_executor(dataset: Dataset, tmp_path: Path) -> None:
    proc = run_cli(
        "footprint",
        str(dataset.parts),
        "-o",
        str(tmp_path / "o"),
        "--executor",
        "spark",
        check=False,
    )
    assert proc.returncode == 2
    assert "'spark' is not an executor" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_a_cluster_weighs_held_partitions_by_their_bytes(dataset: Dataset) -> None:
    # Dask sizes a task's result with dask.sizeof, which falls back to sys.getsizeof: a typed
    # partition weighed as a 56-byte object looks free to move, so an idle worker steals its
    # compute task and then fetches the whole partition (seconds each on the bench's data).
    import sys

    import dask.sizeof

    from greenstream.scale.dataset import list_partitions
    from greenstream.scale.footprint import (
        Computed,
        Finished,
        Shared,
        _small_tables,
        reference_tables,
        survey_partition,
    )

    first = list_partitions(dataset.parts)[0]
    options = _options(dataset)
    small = _small_tables(dataset.parts, first, options)
    shared = Shared(reference_tables(small, None, None), allow_extra_columns=True)
    surveyed = survey_partition(first, shared)
    held = surveyed.legs.estimated_size() + surveyed.survey.nbytes()
    assert surveyed.legs.height > 0
    assert held <= dask.sizeof.sizeof(surveyed) == sys.getsizeof(surveyed) < held + 1024
    buckets = [b"x" * 1000, b"y" * 500]
    computed = Computed(Finished(0, b"z" * 300, {}, 0.0), buckets)  # type: ignore[arg-type]
    assert 1800 <= dask.sizeof.sizeof(computed) < 1800 + 1024


def test_cluster_workers_get_the_allocator_setting(cluster: DaskExecutor) -> None:
    import os

    from greenstream.runtime import JEMALLOC_ENV, POLARS_JEMALLOC_DEFAULT, child_allocator_conf

    # each worker's Polars put its own default in front when it loaded; the setting after it
    # (the one jemalloc keeps) is the job's 10 s decay or the user's own value
    expected = f"{POLARS_JEMALLOC_DEFAULT},{child_allocator_conf()}"
    cluster.client.run(lambda: __import__("polars"))  # loaded already when a task ran there
    seen = cluster.client.run(lambda: os.environ.get(JEMALLOC_ENV))
    assert len(seen) == 2
    assert set(seen.values()) == {expected}


def test_balanced_placement_evens_the_workers_out_with_few_moves() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from greenstream.scale.executors import balanced_placement

    workers = ["a", "b", "c"]

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(st.sampled_from(workers), st.integers(min_value=1, max_value=100)),
            min_size=1,
            max_size=20,
        ),
        st.integers(min_value=2, max_value=3),
    )
    def check(held: list[tuple[str, int]], n_workers: int) -> None:
        names = workers[:n_workers]
        where = [w if w in names else names[0] for w, _ in held]
        sizes = [size for _, size in held]
        near = balanced_placement(where, sizes, names)

        def loads(place: list[str | None]) -> list[int]:
            return [sum(s for p, s in zip(place, sizes, strict=True) if p == w) for w in names]

        def settled(place: list[str | None], load: list[int]) -> bool:
            # no result on the most loaded worker could move to the least loaded one and
            # lower the larger of the two loads (ties broken by name, as the function does)
            heavy = max(names, key=lambda w: (load[names.index(w)], w))
            light = min(names, key=lambda w: (load[names.index(w)], w))
            gap = load[names.index(heavy)] - load[names.index(light)]
            return not any(p == heavy and s < gap for p, s in zip(place, sizes, strict=True))

        before, after = loads(list(where)), loads(near)
        assert sum(after) == sum(before)
        assert max(after) <= max(before)
        assert settled(near, after)
        if settled(list(where), before):  # nothing to gain: nothing moves
            assert near == where

    check()
    # the bench's case: 16 equal partitions surveyed 9 and 7: one moves
    held = ["a"] * 9 + ["b"] * 7
    near = balanced_placement(held, [1] * 16, ["a", "b"])
    assert sum(x != y for x, y in zip(held, near, strict=True)) == 1
    assert balanced_placement([None, "a"], [5, 5], ["a", "b"]) == [None, "a"]

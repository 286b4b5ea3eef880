"""Readers type every cell or report it; writers never leave half a file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from greenstream.accounting.schema import LEG_COLUMNS
from greenstream.checks import ROW
from greenstream.errors import InputErrors
from greenstream.io.tables import read_table, write_table


def test_csv_cells_typed_and_bad_cells_reported(tmp_path: Path) -> None:
    p = tmp_path / "legs.csv"
    p.write_text(
        "shipment_id,mass_kg,empty_return,departure_at,note\n"
        "A,12.5,true,2026-11-11T08:00:00Z,x\n"
        "B,12kg,maybe,yesterday,y\n"
        "C, 3 ,no,,z\n"
    )
    frame, errors = read_table(p, LEG_COLUMNS)
    assert frame["mass_kg"].to_list() == [12.5, None, 3.0]
    assert frame["empty_return"].to_list() == [True, None, False]
    assert frame[ROW].to_list() == [1, 2, 3]
    assert frame["note"].to_list() == ["x", "y", "z"]  # extra columns pass through
    assert sorted((e.row, e.field) for e in errors) == [
        (2, "departure_at"),
        (2, "empty_return"),
        (2, "mass_kg"),
    ]
    assert "'12kg'" in next(str(e) for e in errors if e.field == "mass_kg")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ndjson"])
def test_round_trip_each_format(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame({"shipment_id": ["A", "B"], "mass_kg": [1.5, 2.0]})
    path = tmp_path / f"t{suffix}"
    write_table(frame, path)
    back, errors = read_table(path, LEG_COLUMNS)
    assert not errors
    assert back.drop(ROW).equals(frame)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    bad = pl.DataFrame({"nested": [[1, 2]]})  # CSV cannot hold a list column
    with pytest.raises(pl.exceptions.PolarsError):
        write_table(bad, target)
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputErrors, match="unknown file type"):
        read_table(tmp_path / "x.xlsx", LEG_COLUMNS)


def test_a_directory_is_refused_by_name(tmp_path: Path) -> None:
    from greenstream.io.tables import read_raw, scan_raw

    folder = tmp_path / "legs.csv"
    folder.mkdir()
    for read in (read_raw, scan_raw):
        with pytest.raises(InputErrors) as exc:
            read(folder)
        (error,) = exc.value.errors
        assert (error.file, error.reason) == (str(folder), "is a directory, not a table file")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # a row with more fields than the header, in a column no cast reads
        (b"shipment_id,mass_kg\nS1,10,extra\n", "more fields"),
        # GBK bytes in a text column
        (b"shipment_id,mass_kg\n\xc9\xcf,10\n", "utf-8"),
    ],
)
def test_a_csv_scan_that_cannot_be_decoded_is_refused_by_name(
    tmp_path: Path, body: bytes, reason: str
) -> None:
    from greenstream.io.tables import coerce_lazy, scan_raw

    path = tmp_path / "legs.csv"
    path.write_bytes(body)
    for columns in ({"mass_kg": pl.Float64()}, {"shipment_id": pl.String()}):  # cast / no cast
        with pytest.raises(InputErrors) as exc:
            coerce_lazy(scan_raw(path), columns, file=str(path))
        (error,) = exc.value.errors
        assert error.file == str(path) and error.row is None
        assert error.reason.startswith("cannot read the file: ") and reason in error.reason

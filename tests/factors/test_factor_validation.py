"""load_factor_file reports every bad row of a user factor file in one go."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenstream.errors import InputErrors
from greenstream.factors import SCHEMA_COLUMNS, load_factor_file

HEADER = ",".join(SCHEMA_COLUMNS)
TAIL = ",,my source,T1,r1,licensed,AR6,[P],false,"


def line(fid: str, scope: str, value: str, *, category: str = "transport_intensity") -> str:
    unit = "kg CO2e/tkm"
    return (
        f"{fid},{category},road,road.x,diesel,,ambient,avg,,2025,tkm,{scope},{value},{unit}{TAIL}"
    )


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "factors.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def errors_of(path: Path) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InputErrors) as exc:
        load_factor_file(path)
    return [(e.row, e.field, e.reason) for e in exc.value.errors]


def test_good_file_loads_typed(tmp_path: Path) -> None:
    path = write(tmp_path, line("a", "TTW", "0.1"), line("a", "WTT", "0.02"))
    frame = load_factor_file(path)
    assert frame.columns == list(SCHEMA_COLUMNS)
    assert frame["value"].to_list() == [0.1, 0.02]
    assert frame["year"].to_list() == [2025, 2025]
    assert frame["assumption"].to_list() == [False, False]


def test_three_bad_rows_three_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line("a", "TTW", "0.1"),
        line("a", "WTT", "abc"),  # row 2: value not a number
        line("b", "TTW", "0.1"),
        line("b", "WTT", "0.02"),
        line("b", "WTW", "0.12"),
        line("c", "TTW", "0.1"),
        line("c", "WTT", "-0.02"),  # row 7: negative value
        line("d", "TTW", "0.1"),
        line("d", "WTT", "0.02", category="teleport"),  # row 9: unknown category
    )
    errors = errors_of(path)
    assert [(r, f) for r, f, _ in errors] == [(2, "value"), (7, "value"), (9, "category")]
    assert "not a number" in errors[0][2]
    assert "negative" in errors[1][2]
    assert "unknown category 'teleport'" in errors[2][2]


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, line("a", "TTW", "x"), line("a", "WTT", "0.02"))
    with pytest.raises(InputErrors) as exc:
        load_factor_file(path)
    assert {e.file for e in exc.value.errors} == {str(path)}


def test_missing_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("factor_id,category,value\na,fuel,1\n")
    errors = errors_of(path)
    assert [(r, f) for r, f, _ in errors] == [(None, "scope"), (None, "unit"), (None, "source")]
    assert all(reason == "required column missing" for _, _, reason in errors)


def test_ttw_above_wtw_duplicates_and_unknown_unit(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line("a", "TTW", "0.2"),
        line("a", "WTW", "0.1"),  # TTW > WTW -> error on the TTW row (1)
        line("b", "TTW", "0.1"),
        line("b", "WTT", "0.02"),
        line("b", "WTT", "0.03"),  # duplicate (factor_id, scope, load) -> row 5
        line("c", "TTW", "0.1").replace("kg CO2e/tkm", "g CO2e/tkm"),  # unknown unit -> row 6
        line("c", "WTT", "0.01"),
        line("d", "XYZ", "0.1"),  # unknown scope -> row 8
    )
    errors = errors_of(path)
    assert [(r, f) for r, f, _ in errors] == [
        (1, "value"),
        (5, "factor_id"),
        (6, "unit"),
        (8, "scope"),
    ]
    assert "greater than WTW" in errors[0][2]
    assert "duplicate of row 4" in errors[1][2]


def test_incomplete_and_inconsistent_factors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line("a", "TTW", "0.1"),  # no WTT / WTW row
        line("b", "WTT", "0.1"),  # no TTW row
        line("c", "TTW", "0.1"),
        line("c", "WTT", "0.01").replace(",road,", ",rail,"),  # mode differs within a factor
    )
    errors = errors_of(path)
    assert [(r, f) for r, f, _ in errors] == [(1, "scope"), (2, "scope"), (4, "mode")]


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputErrors):
        load_factor_file(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER + "\n")
    with pytest.raises(InputErrors, match="no factor rows"):
        load_factor_file(empty)

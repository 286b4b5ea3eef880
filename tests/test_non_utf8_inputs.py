"""A user's document that is not UTF-8 text (a spreadsheet saved as GBK, a binary file under
the wrong name) is refused as an input error naming the file, never an internal error: site,
tariff, points rules and packaging parameter files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greenstream.errors import InputErrors
from greenstream.levers.energy.sites import load_sites
from greenstream.levers.energy.tariffs import load_tariff_file
from greenstream.levers.packaging.parameters import load_parameters
from greenstream.points.rules import read_rules_document

# "上海" in GBK: 0xC9 0xCF 0xBA 0xA3, which is not valid UTF-8
GBK_SHANGHAI = "上海".encode("gbk")


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("sites.yaml", load_sites),
        ("tariff.yaml", load_tariff_file),
        ("rules.json", read_rules_document),
        ("rules.toml", read_rules_document),
        ("parameters.csv", load_parameters),
    ],
)
def test_a_gbk_file_is_refused_by_name(
    tmp_path: Path, name: str, load: Callable[[Path], Any]
) -> None:
    path = tmp_path / name
    path.write_bytes(b"name: " + GBK_SHANGHAI + b"\n")
    with pytest.raises(InputErrors) as exc:
        load(path)
    (error,) = exc.value.errors
    assert error.file == str(path)
    assert "UTF-8" in error.reason or "utf-8" in error.reason

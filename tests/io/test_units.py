"""Units on input (io/data/units.csv): unit-suffixed columns, energy units in any case, unknown
columns refused with a did-you-mean. Expected values: the exact definitions cited in the unit
table (SI Brochure, NIST SP 811)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import greenstream
from greenstream.cli import app
from greenstream.errors import InputErrors
from greenstream.io.units import did_you_mean, unit_table
from greenstream.pipeline import type_table

runner = CliRunner()


def _typed(frame: pl.DataFrame, kind: str = "legs") -> pl.DataFrame:
    typed, errors, _ = type_table(frame.lazy(), kind, file="<t>")
    assert errors == []
    return typed.collect()


def test_unit_table_is_sourced_and_exact() -> None:
    table = unit_table()
    assert table["source"].null_count() == 0
    factors = dict(zip(table["unit"], table["factor_to_base"], strict=True))
    assert factors["t"] == 1000 and factors["lb"] == 0.45359237 and factors["mi"] == 1.609344
    assert factors["nmi"] == 1.852 and factors["mwh"] == 1000 and factors["gal"] == 3.785411784


@pytest.mark.parametrize(
    ("column", "value", "target", "expected"),
    [
        ("mass_t", "2", "mass_kg", 2000.0),  # 2 t x 1000
        ("mass_lb", "1000", "mass_kg", 453.59237),  # 1000 lb x 0.45359237
        ("mass_g", "2500", "mass_kg", 2.5),
        ("chargeable_mass_t", "3", "chargeable_mass_kg", 3000.0),
        ("distance_mi", "100", "distance_km", 160.9344),  # 100 mi x 1.609344
        ("distance_m", "5000", "distance_km", 5.0),
        ("distance_nmi", "10", "distance_km", 18.52),  # 10 x 1.852
    ],
)
def test_suffixed_leg_columns(column: str, value: str, target: str, expected: float) -> None:
    out = _typed(pl.DataFrame({"shipment_id": ["S"], column: [value]}))
    assert column not in out.columns
    assert out[target][0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("frame", "amount", "unit"),
    [
        ({"energy_unit": ["kwh"], "energy_amount": ["7"]}, 7.0, "kWh"),
        ({"energy_unit": ["KWH"], "energy_amount": ["7"]}, 7.0, "kWh"),
        ({"energy_unit": ["MWh"], "energy_amount": ["1.5"]}, 1500.0, "kWh"),
        ({"energy_unit": ["litres"], "energy_amount": ["12"]}, 12.0, "l"),
        ({"energy_unit": ["gal"], "energy_amount": ["10"]}, 37.85411784, "l"),
        ({"energy_unit": ["gj"], "energy_amount": ["2"]}, 2000.0, "MJ"),
        ({"energy_mwh": ["1.5"]}, 1500.0, "kWh"),
        ({"fuel_l": ["80"]}, 80.0, "l"),
        ({"fuel_gal": ["10"]}, 37.85411784, "l"),
    ],
)
def test_trip_energy_units(frame: dict[str, list[str]], amount: float, unit: str) -> None:
    out = _typed(
        pl.DataFrame({"trip_id": ["T"], "energy_carrier": ["diesel"], **frame}), kind="trips"
    )
    assert out["energy_unit"][0] == unit
    assert out["energy_amount"][0] == pytest.approx(amount, rel=1e-12)


def test_unknown_columns_are_refused_with_a_suggestion() -> None:
    assert did_you_mean("distnace_km", ["distance_km", "mass_kg"]) == "distance_km"
    _, errors, _ = type_table(
        pl.DataFrame({"shipment_id": ["S"], "distnace_km": ["1"], "zzz": ["1"]}).lazy(),
        "legs",
        file="legs.csv",
    )
    reasons = {e.field: e.reason for e in errors}
    assert "did you mean 'distance_km'?" in reasons["distnace_km"]
    assert "did you mean" not in reasons["zzz"] and "--allow-extra-columns" in reasons["zzz"]
    _, errors, notices = type_table(
        pl.DataFrame({"shipment_id": ["S"], "zzz": ["1"]}).lazy(),
        "legs",
        file="legs.csv",
        allow_extra_columns=True,
    )
    assert errors == [] and notices[0].kind == "extra_column"


def test_two_columns_for_one_quantity() -> None:
    _, errors, _ = type_table(
        pl.DataFrame({"shipment_id": ["S"], "mass_kg": ["1"], "mass_t": ["1"]}).lazy(),
        "legs",
        file="legs.csv",
    )
    assert errors and "both give mass_kg" in errors[0].reason


def test_bad_cell_in_a_suffixed_column_names_that_column() -> None:
    legs = pl.DataFrame({"shipment_id": ["S"], "mass_t": ["heavy"], "mode": ["road"]})
    with pytest.raises(InputErrors) as exc:
        greenstream.footprint(legs.with_columns(pl.lit("10").alias("distance_km")))
    assert any(e.field == "mass_t" for e in exc.value.errors)


def test_footprint_in_tonnes_and_miles() -> None:
    legs = pl.DataFrame(
        {"shipment_id": ["S"], "mass_t": [2.0], "mode": ["road"], "distance_mi": [100.0]}
    )
    row = greenstream.footprint(legs).legs.row(0, named=True)
    # 2 t x 160.9344 km = 321.8688 tkm x 0.12522 (DESNZ all HGVs WTW) = 40.30441...
    assert row["transport_activity_tkm"] == pytest.approx(321.8688)
    assert row["co2e_wtw_kg"] == pytest.approx(321.8688 * 0.12522)


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def test_cli_misspelled_column_exits_2_with_did_you_mean(tmp_path: Path) -> None:
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,mass_kg,mode,origin,destination,distnace_km\nS1,1000,road,Shanghai,Chengdu,1950\n",
    )
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["footprint", str(legs), "-o", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert "unknown column 'distnace_km' (did you mean 'distance_km'?)" in res.stderr
    assert not out.exists()


def test_cli_trips_in_lower_case_kwh_and_the_warnings_file(tmp_path: Path) -> None:
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,mass_t,mode,distance_mi,trip_id,origin,destination\n"
        "S1,1,road,10,V1,Rotterdam,FRA\n",
    )
    trips = write(
        tmp_path,
        "trips.csv",
        "trip_id,energy_carrier,energy_amount,energy_unit,grid_region\nV1,electricity,8,kwh,CN\n",
    )
    out, warn = tmp_path / "out.parquet", tmp_path / "warnings.csv"
    res = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "-o",
            str(out),
            "--trips",
            str(trips),
            "--no-progress",
            "--warnings",
            str(warn),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    row = pl.read_parquet(out).row(0, named=True)
    # 8 kWh x 0.5366 kg CO2/kWh (MEE/NBS 2022 national) = 4.2928 kg, all on this one TCE
    assert row["co2e_wtw_kg"] == pytest.approx(8 * 0.5366)
    notes = pl.read_csv(warn)
    assert set(notes["kind"]) >= {"unit_converted"}


def test_the_intensities_table_reads_back_as_tocs_and_hocs(tmp_path: Path) -> None:
    # the table `greenstream intensities -o FILE.csv` writes (monitoring/trace_cli.py)
    table = write(
        tmp_path,
        "intensities.csv",
        "kind,id,mode,intensity_wtw_kg_per_unit,intensity_ttw_kg_per_unit,unit\n"
        "TOC,TOC-FLEET-ROAD,road,0.1,0.08,tkm\n"
        "HOC,HOC-H1,Transshipment,2.5,0.0,t\n",
    )
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,mass_kg,toc_id,hoc_id,distance_km\nS1,2000,TOC-FLEET-ROAD,,100\nS1,2000,,HOC-H1,\n",
    )
    out = tmp_path / "out.parquet"
    res = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "-o",
            str(out),
            "--tocs",
            str(table),
            "--hocs",
            str(table),
            "--no-progress",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = pl.read_parquet(out)
    # road 2 t x 100 km x 0.1 = 20 kg; hub 2 t x 2.5 = 5 kg; both primary data
    assert rows["co2e_wtw_kg"].to_list() == pytest.approx([20.0, 5.0])
    assert rows["primary_data"].to_list() == [True, True]

"""Round trips: whatever greenstream writes reads back into `footprint` with the same results
(property tests over generated chains and operators).

- a footprint file (CSV, Parquet) read back as LEGS: the same figures to 1e-9;
- an iLEAP ShipmentFootprint file read back as LEGS: the same factor, method and default share,
  and the same figures to the precision the file is written at (iLEAP decimals: mass and
  distance to 3 decimals, 1 g and 1 m; see greenstream.io.ileap.write);
- TOCs and HOCs given as a table, as iLEAP TOC / HOC JSON and as the `greenstream intensities`
  table: the same figures (intensities are written to 9 decimals in iLEAP).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenstream.io.ileap import write_ileap_hocs, write_ileap_tocs
from greenstream.pipeline import load_inputs, reference_tables, run_to_files

PLACES = ["上海", "Shanghai", "CN-BEIJING", "CAN", "PEK", "Rotterdam", "FRA", "LAX"]
CLASSES = {
    "road": [None, "road.hgv_artic_gt33t", "road.van_avg_diesel"],
    "rail": [None],
    "air": [None, "air.freight_short_haul"],
    "inland_waterway": [None],
}
DAF_MAX = 1.3  # geo/data/distance_adjustment.csv, road
COMPARED = ("co2e_wtw_kg", "co2e_ttw_kg", "transport_activity_tkm", "distance_used_km")


@st.composite
def legs(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    for i in range(draw(st.integers(1, 12))):
        hub = draw(st.booleans()) and i > 0
        mode = draw(st.sampled_from(sorted(CLASSES)))
        row: dict[str, object] = {
            "shipment_id": f"S{draw(st.integers(0, 4))}",
            "mass_kg": draw(st.floats(0.1, 40_000, allow_nan=False)),
            "temperature_control": draw(st.sampled_from([None, "ambient", "refrigerated"])),
            "customer_id": draw(st.sampled_from([None, "C1", "C2"])),
        }
        if hub:
            row["hub_type"] = draw(st.sampled_from(["Transshipment", "Warehouse"]))
        else:
            row["mode"] = mode
            row["vehicle"] = draw(st.sampled_from(CLASSES[mode]))
            if draw(st.booleans()):
                row["distance_km"] = draw(st.floats(1, 5000, allow_nan=False))
            else:
                row["origin"] = draw(st.sampled_from(PLACES))
                row["destination"] = draw(st.sampled_from(PLACES))
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _footprint(
    path: Path, out: Path, *, tocs: Path | None = None, hocs: Path | None = None
) -> pl.DataFrame:
    inputs = load_inputs(path, tocs=tocs, hocs=hocs)
    run_to_files(inputs, reference_tables(inputs), out)
    if out.suffix == ".json":
        return pl.DataFrame()
    return pl.read_parquet(out) if out.suffix == ".parquet" else pl.read_csv(out)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=legs(), suffix=st.sampled_from([".csv", ".parquet"]))
def test_footprint_output_reads_back_with_equal_results(
    tmp_path: Path, frame: pl.DataFrame, suffix: str
) -> None:
    source = tmp_path / f"legs{suffix}"
    first_out = tmp_path / f"first{suffix}"
    second_out = tmp_path / f"second{suffix}"
    if suffix == ".csv":
        frame.write_csv(source)
    else:
        frame.write_parquet(source)
    first = _footprint(source, first_out)
    second = _footprint(first_out, second_out)  # greenstream's own output as input
    assert second.height == first.height
    for column in COMPARED:
        a, b = first[column], second[column]
        assert ((a - b).abs() <= 1e-9 * b.abs().clip(lower_bound=1e-9)).all(), column
    for column in ("factor_id", "method", "warnings", "factor_reason"):
        assert first[column].cast(pl.String).equals(second[column].cast(pl.String)), column


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=legs())
def test_ileap_shipment_footprints_read_back_with_the_same_results(
    tmp_path: Path, frame: pl.DataFrame
) -> None:
    source = tmp_path / "legs.parquet"
    frame.write_parquet(source)
    first = _footprint(source, tmp_path / "first.parquet")
    _footprint(source, tmp_path / "first.json")  # the same results, as iLEAP ShipmentFootprints
    second = _footprint(tmp_path / "first.json", tmp_path / "second.parquet")
    assert second.height == first.height
    both = first.join(second, on="tce_id", how="left", suffix="_back")
    for column in ("factor_id", "method", "primary_data"):
        a = both[column].cast(pl.String)
        assert a.equals(both[f"{column}_back"].cast(pl.String), check_names=False), column
    # iLEAP writes mass and distance to 3 decimals (kg, km): each figure may move by its
    # intensity x that rounding, i.e. relatively by 0.0005 / mass_kg + 0.0005 x DAF / distance
    # (DAF <= 1.3, the largest multiplier in geo/data/distance_adjustment.csv: road)
    distance, mass = pl.col("distance_used_km"), pl.col("mass_kg")
    bound = (
        pl.when(distance > 0)
        .then(0.0005 / mass + 0.0005 * DAF_MAX / distance)
        .otherwise(0.0005 / mass)
    )
    bound_s = both.select(bound.alias("b"))["b"] + 1e-9
    for column in ("co2e_wtw_kg", "co2e_ttw_kg", "transport_activity_tkm"):
        a, b = both[column], both[f"{column}_back"]
        assert ((a - b).abs() <= bound_s * a.abs() + 1e-9).all(), column
    assert (
        (both["distance_used_km"] - both["distance_used_km_back"]).abs() <= 0.0005 * DAF_MAX + 1e-9
    ).all()


MODES_TOC = ["road", "rail", "sea", "air", "inland_waterway"]


@st.composite
def operators(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    n_toc = draw(st.integers(1, 4))
    intensity = st.floats(0.001, 5.0, allow_nan=False)
    tocs = []
    for i in range(n_toc):
        wtw = draw(intensity)
        tocs.append(
            {
                "toc_id": f"TOC-{i}",
                "mode": draw(st.sampled_from(MODES_TOC)),
                "intensity_wtw_kg_per_tkm": wtw,
                "intensity_ttw_kg_per_tkm": wtw * draw(st.floats(0.0, 1.0)),
                "data_type": "primary",
            }
        )
    hocs = [
        {
            "hoc_id": f"HOC-{i}",
            "hub_type": draw(st.sampled_from(["Transshipment", "Warehouse"])),
            "intensity_wtw_kg_per_t": (w := draw(st.floats(0.01, 50.0, allow_nan=False))),
            "intensity_ttw_kg_per_t": w * draw(st.floats(0.0, 1.0)),
            "data_type": "primary",
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    rows: list[dict[str, object]] = []
    for j in range(draw(st.integers(1, 10))):
        hub = draw(st.booleans())
        rows.append(
            {
                "shipment_id": f"S{draw(st.integers(0, 3))}",
                "tce_id": f"T{j}",
                "mass_kg": draw(st.floats(1, 40_000, allow_nan=False)),
                "toc_id": None if hub else f"TOC-{draw(st.integers(0, n_toc - 1))}",
                "hoc_id": f"HOC-{draw(st.integers(0, len(hocs) - 1))}" if hub else None,
                "distance_km": None if hub else draw(st.floats(1, 5000, allow_nan=False)),
            }
        )
    schema = {
        "shipment_id": pl.String,
        "tce_id": pl.String,
        "mass_kg": pl.Float64,
        "toc_id": pl.String,
        "hoc_id": pl.String,
        "distance_km": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema), pl.DataFrame(tocs), pl.DataFrame(hocs)


def _intensities_table(tocs: pl.DataFrame, hocs: pl.DataFrame) -> pl.DataFrame:
    """The table `greenstream intensities -o FILE.csv` writes (monitoring/trace_cli.py)."""
    return pl.concat(
        [
            tocs.select(
                pl.lit("TOC").alias("kind"),
                pl.col("toc_id").alias("id"),
                "mode",
                pl.col("intensity_wtw_kg_per_tkm").alias("intensity_wtw_kg_per_unit"),
                pl.col("intensity_ttw_kg_per_tkm").alias("intensity_ttw_kg_per_unit"),
                pl.lit("tkm").alias("unit"),
            ),
            hocs.select(
                pl.lit("HOC").alias("kind"),
                pl.col("hoc_id").alias("id"),
                pl.col("hub_type").alias("mode"),
                pl.col("intensity_wtw_kg_per_t").alias("intensity_wtw_kg_per_unit"),
                pl.col("intensity_ttw_kg_per_t").alias("intensity_ttw_kg_per_unit"),
                pl.lit("t").alias("unit"),
            ),
        ]
    )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=operators())
def test_tocs_and_hocs_in_every_written_form_give_the_same_results(
    tmp_path: Path, case: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    legs, tocs, hocs = case
    source = tmp_path / "legs.parquet"
    legs.write_parquet(source)
    tocs.write_csv(tmp_path / "tocs.csv")
    hocs.write_csv(tmp_path / "hocs.csv")
    write_ileap_tocs(tocs, tmp_path / "tocs.json")
    write_ileap_hocs(hocs, tmp_path / "hocs.json")
    _intensities_table(tocs, hocs).write_csv(tmp_path / "intensities.csv")
    forms = {
        "table": (tmp_path / "tocs.csv", tmp_path / "hocs.csv"),
        "ileap": (tmp_path / "tocs.json", tmp_path / "hocs.json"),
        "intensities": (tmp_path / "intensities.csv", tmp_path / "intensities.csv"),
    }
    results = {
        name: _footprint(source, tmp_path / f"{name}.parquet", tocs=t, hocs=h)
        for name, (t, h) in forms.items()
    }
    base = results["table"]
    # hand check of the table form: each row is mass (t) x distance (km) x its TOC's intensity,
    # or mass (t) x its HOC's intensity (ISO 14083 5.4 and 5.5)
    wtw = dict(zip(tocs["toc_id"], tocs["intensity_wtw_kg_per_tkm"], strict=True))
    hub_wtw = dict(zip(hocs["hoc_id"], hocs["intensity_wtw_kg_per_t"], strict=True))
    for row in base.iter_rows(named=True):
        if row["toc_id"] is not None:
            expected = row["mass_kg"] / 1000 * row["distance_km"] * wtw[row["toc_id"]]
        else:
            expected = row["mass_kg"] / 1000 * hub_wtw[row["hoc_id"]]
        assert abs(row["co2e_wtw_kg"] - expected) <= 1e-9 * expected
    for name in ("ileap", "intensities"):
        other = results[name]
        assert other["tce_id"].equals(base["tce_id"]), name
        assert other["method"].cast(pl.String).equals(base["method"].cast(pl.String)), name
        for column in ("co2e_wtw_kg", "co2e_ttw_kg"):
            a, b = base[column], other[column]
            # iLEAP intensities carry 9 decimals: 0.5e-9 kg per tkm (or t) at most
            tol = (
                5e-10 * base["transport_activity_tkm"].clip(lower_bound=0)
                + 5e-10 * base["mass_kg"] / 1000
                + 1e-9 * a.abs()
            )
            assert ((a - b).abs() <= tol).all(), (name, column)

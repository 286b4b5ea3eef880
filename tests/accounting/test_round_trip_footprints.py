"""Round trip: a footprint file greenstream wrote reads back in as LEGS and gives the same results
(property test over generated chains, CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenstream.pipeline import load_inputs, reference_tables, run_to_files

PLACES = ["上海", "Shanghai", "CN-BEIJING", "CAN", "PEK", "Rotterdam", "FRA", "LAX"]
CLASSES = {
    "road": [None, "road.hgv_artic_gt33t", "road.van_avg_diesel"],
    "rail": [None],
    "air": [None, "air.freight_short_haul"],
    "inland_waterway": [None],
}
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


def _footprint(path: Path, out: Path) -> pl.DataFrame:
    inputs = load_inputs(path)
    run_to_files(inputs, reference_tables(inputs), out)
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

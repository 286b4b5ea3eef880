"""Claim check on the shipped industry claims, figures worked by hand from the factor rows."""

from __future__ import annotations

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.levers.reductions.claims import builtin_claims, check_claims_against_factors


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    found, assumptions = check_claims_against_factors()
    return {(r.claim_id, r.scenario): r for r in found}, assumptions


def _one(results, claim_id: str):  # type: ignore[no-untyped-def]
    return [r for (c, _), r in results[0].items() if c == claim_id]


def test_reusable_boxes(results) -> None:  # type: ignore[no-untyped-def]
    # DESNZ 2025 material use (factor registry): board 1,199.72542, PP 2,577.57172 kg CO2e/t.
    # 85.45 M cycles x (0.3 kg board x 1.19972542 - 0.8 kg PP / 50 x 2.57757172) = 27,231.0 t
    (r,) = _one(results, "jd-reusable-boxes-2024")
    assert r.computed_value == pytest.approx(
        85.45e6 * (0.3 * 1.19972542 - 0.8 / 50 * 2.57757172) / 1e3
    )
    assert r.ratio == pytest.approx(73_000 / r.computed_value)


def test_pv_and_diesel_and_rail(results) -> None:  # type: ignore[no-untyped-def]
    (pv,) = _one(results, "jd-pv-xian")
    assert pv.computed_value == pytest.approx(61e6 * 0.6558 / 1e3)  # MEE/NBS 2022 Shaanxi
    (diesel,) = _one(results, "jd-hydrogen-diesel-saved")
    assert diesel.computed_value == pytest.approx(600_000 * (2.57082 + 0.61101) / 1e3)
    rail = {r.scenario: r.computed_value for r in _one(results, "jd-rail-per-tonne")}
    assert rail["rail vs road.hgv_artic_gt33t"] == pytest.approx(
        100 * (1 - (0.02779 + 0.00691) / (0.07703 + 0.01799))
    )


def test_hydrogen_claim_holds_only_for_clean_hydrogen(results) -> None:  # type: ignore[no-untyped-def]
    # diesel artic >33 t at 50 % laden: DESNZ 0.85827 kg/vkm TTW x (1 + WTT share) x 100 km;
    # 8 kg grey hydrogen x 11.28 = 90.2 kg: far from -90 %
    got = {r.scenario.split()[1]: r.computed_value for r in _one(results, "jd-hydrogen-truck")}
    assert got["derived:hydrogen:grey_smr:kg"] < 30
    assert got["derived:hydrogen:cbi:kg"] > 85


def test_every_assumption_is_a_labelled_row_with_a_source(results) -> None:  # type: ignore[no-untyped-def]
    assumptions: pl.DataFrame = results[1]
    assert assumptions.height > 0
    assert assumptions["source"].str.strip_chars().str.len_chars().min() > 0
    claims, _ = builtin_claims()
    assert claims["source"].str.len_chars().min() > 10


def test_not_checkable_claims_say_why(results) -> None:  # type: ignore[no-untyped-def]
    (r,) = _one(results, "cainiao-double11-2021")
    assert r.computed_value is None and "baseline" in r.note


def test_a_claim_without_source_is_refused() -> None:
    claims, inputs = builtin_claims()
    bad = claims.with_columns(pl.lit("").alias("source"))
    with pytest.raises(InputErrors) as exc:
        check_claims_against_factors(bad, inputs)
    assert {e.field for e in exc.value.errors} == {"source"}


def test_material_factors_come_from_the_factor_registry() -> None:
    # DESNZ 2025 Material use, board primary: 1,199.72542 kg CO2e/t (factors/data/
    # desnz_2025_material.csv row 19_506_5156_15_1) -> 1.19972542 kg CO2e per kg of carton.
    from greenstream.factors import Registry
    from greenstream.levers.reductions.initiatives import activity_factors, own_activity_factors

    factors = activity_factors(Registry.builtin())
    board = factors.filter(pl.col("factor_id") == "desnz-2025:material:board:primary").row(
        0, named=True
    )
    assert board["ef_wtw_kg_per_unit"] == pytest.approx(1.19972542)
    assert board["ef_ttw_kg_per_unit"] == 0.0
    assert "19_506_5156_15_1" in board["source"]
    # no material factor is kept apart from the registry
    assert not own_activity_factors()["factor_id"].str.contains(":material:").any()

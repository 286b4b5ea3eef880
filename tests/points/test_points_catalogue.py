"""The action catalogue: savings by hand from the cited factors, provenance, parameter checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenstream.errors import InputErrors
from greenstream.points.catalogue import DATA, build_catalogue, builtin_catalogue, load_parameters

# DESNZ 2025 (factors registry, emission-factors.md 1.1 / 1.4): WTW = direct + WTT, kg CO2e/tkm
HGV_ALL_AVG_WTW = 0.10163 + 0.02359
VAN_AVG_DIESEL_WTW = 0.6313 + 0.15095
# DESNZ 2025 material use, kg CO2e per tonne (packaging_materials.csv)
BOARD_PRIMARY = 1199.72542  # 19_506_5156_15_1
BOARD_CLOSED_LOOP = 1098.11442  # 19_506_5159_15_1
PP_PRIMARY = 2577.57172  # 19_505_5144_15_1
# action_parameters.csv (labelled assumptions)
CARTON_KG, GOODS_KG, BOX_KG, CYCLES = 0.25, 1.5, 0.8, 50
HAUL_KM, HOME_KM, STATION_KM = 800, 12, 6


def test_original_packaging_saving_by_hand() -> None:
    # carton made: 0.25 kg x 1199.72542 kg/t = 0.299931 kg
    # carton carried: 0.25 kg x (800 km x 0.12522 + 12 km x 0.78225) / 1000 = 0.027391 kg
    material = CARTON_KG / 1000 * BOARD_PRIMARY
    transport = CARTON_KG / 1000 * (HAUL_KM * HGV_ALL_AVG_WTW + HOME_KM * VAN_AVG_DIESEL_WTW)
    action = builtin_catalogue().actions["original_packaging"]
    assert action.saving_per_unit_mg == pytest.approx((material + transport) * 1e6, abs=1)
    assert action.saving_per_unit_mg == 327322


def test_reusable_box_saving_by_hand() -> None:
    # baseline: the carton made + carried; alternative: 1/50 of a PP box, the heavier box carried,
    # and the empty box's 12 km back on the van.
    carton = CARTON_KG / 1000 * BOARD_PRIMARY
    box_share = BOX_KG / 1000 * PP_PRIMARY / CYCLES
    chain_km_wtw = HAUL_KM * HGV_ALL_AVG_WTW + HOME_KM * VAN_AVG_DIESEL_WTW
    extra_mass = (BOX_KG - CARTON_KG) / 1000 * chain_km_wtw
    box_back = BOX_KG / 1000 * HOME_KM * VAN_AVG_DIESEL_WTW
    expected = carton - box_share - extra_mass - box_back  # 0.190921 kg
    action = builtin_catalogue().actions["reusable_box"]
    assert action.saving_per_unit_mg == pytest.approx(expected * 1e6, abs=1)


def test_pickup_station_and_carton_return_by_hand() -> None:
    actions = builtin_catalogue().actions
    # parcel (goods + carton) rides 12 km home route vs 6 km to the station on the average van
    station = (GOODS_KG + CARTON_KG) / 1000 * (HOME_KM - STATION_KM) * VAN_AVG_DIESEL_WTW
    assert actions["pickup_station"].saving_per_unit_mg == pytest.approx(station * 1e6, abs=1)
    # half reused (a new carton avoided), half recycled (primary replaced by closed-loop board)
    returned = CARTON_KG / 1000 * (0.5 * BOARD_PRIMARY + 0.5 * (BOARD_PRIMARY - BOARD_CLOSED_LOOP))
    assert actions["carton_return"].saving_per_unit_mg == pytest.approx(returned * 1e6, abs=1)


def test_every_action_names_baseline_and_sources() -> None:
    catalogue = builtin_catalogue()
    assert set(catalogue.actions) == {
        "reusable_box", "original_packaging", "pickup_station", "consolidated_delivery",
        "carton_return",
    }  # fmt: skip
    # no off-peak slot: no sourced per-parcel saving exists (docs/decisions/0030-points.md)
    for action in catalogue.actions.values():
        assert action.saving_per_unit_mg > 0, action.action
        assert action.baseline and action.alternative
        assert action.sources or action.assumptions
    assert "19_506_5156_15_1" in catalogue.actions["reusable_box"].sources
    assert "accounting kernel" in catalogue.actions["pickup_station"].sources


def test_catalogue_is_deterministic() -> None:
    a, b = build_catalogue(), build_catalogue()
    assert a.version == b.version
    assert {k: v.saving_per_unit_mg for k, v in a.actions.items()} == {
        k: v.saving_per_unit_mg for k, v in b.actions.items()
    }


def test_parameter_without_source_or_reason_is_refused(tmp_path: Path) -> None:
    text = (DATA / "action_parameters.csv").read_text(encoding="utf-8")
    bad = tmp_path / "params.csv"
    bad.write_text(text + "*,made_up,1,kg,,false,\n*,vague,2,kg,,true,\n", encoding="utf-8")
    with pytest.raises(InputErrors) as err:
        load_parameters(bad)
    fields = {(e.field, e.row) for e in err.value.errors}
    rows = text.count("\n")
    assert fields == {("source", rows), ("reason", rows + 1)}

"""Registry views, precedence, overrides, import and versioning.

Expected numbers come from /work/shared/reference/emission-factors.md (section in comments).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from greenstream.errors import FactorNotFound, InputErrors
from greenstream.factors import (
    SCHEMA_COLUMNS,
    Registry,
    import_factor_file,
    user_factor_paths,
)

DATA = Path(str(resources.files("greenstream.factors") / "data"))
HEADER = ",".join(SCHEMA_COLUMNS) + "\n"

VEHICLE_CLASSES = [
    "road.hgv_rigid_3_5_7_5t",
    "road.hgv_rigid_7_5_17t",
    "road.hgv_rigid_gt17t",
    "road.hgv_rigid_all",
    "road.hgv_artic_3_5_33t",
    "road.hgv_artic_gt33t",
    "road.hgv_artic_all",
    "road.hgv_all",
    "road.hgv_rigid_3_5_7_5t_reefer",
    "road.hgv_rigid_gt17t_reefer",
    "road.hgv_rigid_all_reefer",
    "road.hgv_artic_3_5_33t_reefer",
    "road.hgv_artic_gt33t_reefer",
    "road.hgv_artic_all_reefer",
    "road.hgv_all_reefer",
    "road.van_class1_diesel",
    "road.van_class2_diesel",
    "road.van_class3_diesel",
    "road.van_avg_diesel",
    "road.van_class1_bev",
    "road.van_class2_bev",
    "road.van_class3_bev",
    "road.van_avg_bev",
    "road.van_avg_phev",
    "road.van_avg_unknown",
    "rail.freight_train",
    "air.freight_domestic_uk",
    "air.freight_short_haul",
    "air.freight_long_haul",
    "air.freight_international",
    "air.freight_domestic_uk_rf",
    "air.freight_short_haul_rf",
    "air.freight_long_haul_rf",
    "air.freight_international_rf",
    "sea.container_8000teu_plus",
    "sea.container_5000_7999teu",
    "sea.container_3000_4999teu",
    "sea.container_2000_2999teu",
    "sea.container_1000_1999teu",
    "sea.container_0_999teu",
    "sea.container_avg",
    "sea.bulk_200k_plus_dwt",
    "sea.bulk_100_199k_dwt",
    "sea.bulk_60_99k_dwt",
    "sea.bulk_35_59k_dwt",
    "sea.bulk_10_34k_dwt",
    "sea.bulk_0_9999_dwt",
    "sea.bulk_avg",
    "sea.general_cargo_avg",
    "sea.reefer_cargo",
    "sea.roro_ferry_avg",
    "sea.ropax_large_avg",
    "sea.vehicle_transport_avg",
    "sea.tanker_crude_avg",
    "sea.tanker_products_avg",
    "sea.tanker_chemical_avg",
    "sea.tanker_lng_avg",
    "sea.tanker_lpg_avg",
    "inland_waterway.barge_avg",
]


def row(frame: pl.DataFrame, **eq: object) -> dict[str, object]:
    sel = frame
    for k, v in eq.items():
        sel = sel.filter(pl.col(k) == v)
    assert sel.height == 1, eq
    return sel.row(0, named=True)


def csv_rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def truck_rows(fid: str, vclass: str, ttw: float, wtt: float) -> list[str]:
    base = f"{fid},transport_intensity,road,{vclass},diesel,,ambient,avg,,2025,tkm"
    tail = ",kg CO2e/tkm,,my licensed table,T1,r1,licensed,AR6,[P],false,"
    return [f"{base},TTW,{ttw}{tail}", f"{base},WTT,{wtt}{tail}"]


# --------------------------------------------------------------------------------------------
# classes and modes
# --------------------------------------------------------------------------------------------


def test_every_required_vehicle_class_exists() -> None:
    classes = set(Registry.builtin().transport_intensities()["vehicle_class"])
    missing = [c for c in VEHICLE_CLASSES if c not in classes]
    assert not missing


def test_at_least_40_transport_classes_across_five_modes() -> None:
    ti = Registry.builtin().transport_intensities()
    assert ti.height >= 40
    assert ti["vehicle_class"].n_unique() == ti.height
    assert set(ti["mode"]) == {"road", "rail", "sea", "inland_waterway", "air"}
    for col in (
        "intensity_ttw_kg_per_tkm",
        "intensity_wtt_kg_per_tkm",
        "intensity_wtw_kg_per_tkm",
        "factor_id",
        "factor_source",
    ):
        assert ti[col].null_count() == 0, col
    assert (ti["intensity_wtw_kg_per_tkm"] >= ti["intensity_ttw_kg_per_tkm"]).all()


def test_mode_defaults_resolve() -> None:
    reg = Registry.builtin()
    defaults = dict(reg.mode_defaults().select("mode", "vehicle_class").iter_rows())
    assert defaults == {
        "road": "road.hgv_all",
        "rail": "rail.freight_train",
        "sea": "sea.container_avg",
        "air": "air.freight_international",  # without RF: ISO 14083 / GLEC v3
        "inland_waterway": "inland_waterway.barge_avg",
    }
    ti = reg.transport_intensities()
    for mode, vclass in defaults.items():
        assert row(ti, vehicle_class=vclass)["mode"] == mode
    assert "radiative forcing" in reg.mode_defaults().filter(pl.col("mode") == "air")["reason"][0]


def test_artic_gt33t_average_laden() -> None:
    # emission-factors.md 1.1: 0.07703 TTW + 0.01799 WTT = 0.09502 WTW (hand sum)
    r = row(Registry.builtin().transport_intensities(), vehicle_class="road.hgv_artic_gt33t")
    assert r["intensity_ttw_kg_per_tkm"] == pytest.approx(0.07703, abs=1e-12)
    assert r["intensity_wtt_kg_per_tkm"] == pytest.approx(0.01799, abs=1e-12)
    assert r["intensity_wtw_kg_per_tkm"] == pytest.approx(0.09502, abs=1e-12)
    assert r["factor_id"] == "desnz-2025:road.hgv_artic_gt33t:avg"
    assert "DESNZ 2025" in str(r["factor_source"])
    assert "27_304_3132_14_1" in str(r["factor_source"])


def test_bev_van_average_ttw_zero() -> None:
    # emission-factors.md 1.4 / 5: BEV avg 0.21992 direct + 0.05633 WTT; ISO 14083: TTW = 0
    r = row(Registry.builtin().transport_intensities(), vehicle_class="road.van_avg_bev")
    assert r["intensity_ttw_kg_per_tkm"] == 0.0
    assert r["intensity_wtw_kg_per_tkm"] == pytest.approx(0.21992 + 0.05633, abs=1e-12)
    assert r["energy_carrier"] == "electricity"
    assert "derived or assumed" in str(r["factor_source"])


def test_refrigerated_rows_are_flagged() -> None:
    ti = Registry.builtin().transport_intensities()
    reefer = ti.filter(pl.col("vehicle_class").str.ends_with("_reefer"))
    assert reefer.height == 8
    assert set(reefer["temperature_control"]) == {"refrigerated"}
    assert row(ti, vehicle_class="sea.reefer_cargo")["temperature_control"] == "refrigerated"


# --------------------------------------------------------------------------------------------
# load curves
# --------------------------------------------------------------------------------------------


def test_load_curve_artic_gt33t() -> None:
    # emission-factors.md 1.2: empty 0.64734, full 1.06921 kg/vkm; payload 1.06921 / 0.05988
    c = row(Registry.builtin().load_curves(), vehicle_class="road.hgv_artic_gt33t")
    assert c["ttw_kg_per_vkm_empty"] == 0.64734
    assert c["ttw_kg_per_vkm_full"] == 1.06921
    assert c["payload_max_t"] == pytest.approx(1.06921 / 0.05988, rel=1e-12)
    assert c["payload_max_t"] == pytest.approx(17.856, abs=1e-3)
    # WTT / TTW at 100 % laden: 0.01403 / 0.05988 (1.1), used for modelled intensities
    assert c["wtt_per_ttw"] == pytest.approx(0.01403 / 0.05988, rel=1e-12)
    # the published 50 % point lies on the line between 0 % and 100 % (1.2: 0.858275 vs 0.85827)
    mid = (c["ttw_kg_per_vkm_empty"] + c["ttw_kg_per_vkm_full"]) / 2
    assert c["ttw_kg_per_vkm_half"] == pytest.approx(mid, abs=1e-4)


def test_every_load_curve_is_linear_and_complete() -> None:
    curves = Registry.builtin().load_curves()
    assert curves.height == 16  # 8 ambient + 8 refrigerated HGV classes
    for c in curves.iter_rows(named=True):
        mid = (c["ttw_kg_per_vkm_empty"] + c["ttw_kg_per_vkm_full"]) / 2
        assert c["ttw_kg_per_vkm_half"] == pytest.approx(mid, abs=1e-4), c["vehicle_class"]
        assert c["payload_max_t"] > 0 and 0 < c["wtt_per_ttw"] < 1
        assert "27_30" in c["factor_source"]


# --------------------------------------------------------------------------------------------
# fuels, grid, hubs
# --------------------------------------------------------------------------------------------


def test_diesel_per_litre() -> None:
    # emission-factors.md 1.6: 2.57082 Scope 1 + 0.61101 WTT
    f = row(Registry.builtin().fuel_factors(), energy_carrier="diesel", energy_unit="l")
    assert f["ef_ttw_kg_per_unit"] == 2.57082
    assert f["ef_wtw_kg_per_unit"] == pytest.approx(2.57082 + 0.61101, abs=1e-12)
    assert f["factor_id"] == "desnz-2025:fuel:diesel:l"
    assert f["priority"] == 1


def test_fuel_factors_one_row_per_carrier_and_unit_desnz_first() -> None:
    reg = Registry.builtin()
    fuels = reg.fuel_factors()
    assert fuels.select("energy_carrier", "energy_unit").is_duplicated().sum() == 0
    sets = dict(reg.factor_sets.select("set", "priority").iter_rows())
    assert sets["desnz-2025"] < sets["en16258"]  # lower number = preferred
    # EN 16258 fills what DESNZ lacks (diesel per kg, 2.2), DESNZ keeps diesel per litre
    assert row(fuels, energy_carrier="diesel", energy_unit="kg")["factor_set"] == "en16258"
    assert row(fuels, energy_carrier="diesel", energy_unit="l")["factor_set"] == "desnz-2025"


def test_grid_yunnan_2022_and_latest_year() -> None:
    reg = Registry.builtin()
    # emission-factors.md 3.1: Yunnan 2022 = 0.1073 (2021 = 0.1235)
    g = row(reg.grid_factors(), grid_region="CN-YN")
    assert g["year"] == 2022
    assert g["ef_wtw_kg_per_kwh"] == 0.1073
    assert reg.find("mee-nbs:CN-YN:2021")["value"][0] == 0.1235


def test_province_without_own_value_resolves_to_regional_grid(tmp_path: Path) -> None:
    # emission-factors.md 3.1: East grid 2022 = 0.5617. The full provincial table gives Zhejiang
    # its own value, so drop Zhejiang's rows to see the fallback through grid_regions.csv.
    frame = pl.read_csv(DATA / "cn_grid_mee.csv", infer_schema=False)
    path = tmp_path / "grid_without_zj.csv"
    frame.filter(pl.col("region") != "CN-ZJ").write_csv(path)
    lookup = Registry.from_paths([path], include_builtin=False).grid_factor_lookup()
    zj = row(lookup, grid_region="CN-ZJ")
    assert zj["ef_wtw_kg_per_kwh"] == 0.5617
    assert zj["factor_id"] == "mee-nbs:CN-GRID-EAST:2022"
    assert "CN-GRID-EAST" in str(zj["resolved_via"])
    # built in, Tibet has no published value: it takes the Southwest grid (0.2268)
    builtin = Registry.builtin().grid_factor_lookup()
    xz = row(builtin, grid_region="CN-XZ")
    assert xz["ef_wtw_kg_per_kwh"] == 0.2268
    assert "CN-GRID-SOUTHWEST" in str(xz["resolved_via"])
    assert row(builtin, grid_region="CN-ZJ")["ef_wtw_kg_per_kwh"] == 0.5153


def test_grid_lookup_covers_every_mainland_province() -> None:
    lookup = Registry.builtin().grid_factor_lookup()
    keys = set(lookup["grid_region"])
    provinces = {k for k in keys if re.fullmatch(r"CN-[A-Z]{2}", k)}
    assert len(provinces) == 31
    assert {"CN", "CN-GRID-EAST", "CN-GRID-SOUTHWEST"} <= keys
    assert lookup["grid_region"].n_unique() == lookup.height
    assert lookup["ef_wtw_kg_per_kwh"].null_count() == 0


def test_hub_defaults() -> None:
    hubs = Registry.builtin().hub_defaults()
    assert set(hubs["hub_type"]) == {
        "Transshipment",
        "StorageAndTransshipment",
        "Warehouse",
        "LiquidBulkTerminal",
        "MaritimeContainerTerminal",
    }
    assert set(hubs["temperature_control"]) == {"ambient", "mixed", "refrigerated"}
    by = {(r["hub_type"], r["temperature_control"]): r for r in hubs.iter_rows(named=True)}
    # GLEC v3 logistics-site defaults: warehouse ambient 17.5, mixed 33 kg CO2e WTW per t
    assert by[("Warehouse", "ambient")]["intensity_wtw_kg_per_t"] == 17.5
    assert by[("Warehouse", "mixed")]["intensity_wtw_kg_per_t"] == 33.0
    assert set(hubs["intensity_ttw_kg_per_t"]) == {0.0}


def test_find() -> None:
    reg = Registry.builtin()
    rows = reg.find("desnz-2025:road.hgv_artic_gt33t:vkm")
    assert rows.height == 8  # 0 / 50 / 100 / avg x TTW / WTT
    assert set(rows["factor_set"]) == {"desnz-2025"}
    with pytest.raises(FactorNotFound):
        reg.find("no:such:factor")


# --------------------------------------------------------------------------------------------
# version
# --------------------------------------------------------------------------------------------


def test_version_is_deterministic_and_tracks_file_bytes(tmp_path: Path) -> None:
    reg = Registry.builtin()
    assert re.fullmatch(r"[^+]+\+sha256:[0-9a-f]{12}", reg.version)
    assert reg.version.startswith("desnz-2025.1,")
    assert Registry.from_paths([]).version == reg.version

    path = tmp_path / "mine.csv"
    path.write_text(csv_rows(*truck_rows("mine:road.t:avg", "road.t", 0.05, 0.01)))
    first = Registry.from_paths([path]).version
    assert first == Registry.from_paths([path]).version
    assert first != reg.version and ",mine+sha256:" in first
    path.write_text(csv_rows(*truck_rows("mine:road.t:avg", "road.t", 0.05, 0.02)))
    assert Registry.from_paths([path]).version != first

    # a changed packaged factor file changes the version too
    desnz = tmp_path / "desnz_2025_freight.csv"
    original = (DATA / "desnz_2025_freight.csv").read_text(encoding="utf-8")
    desnz.write_text(original, encoding="utf-8")
    v1 = Registry.from_paths([desnz], include_builtin=False).version
    desnz.write_text(original.replace(",0.07703,", ",0.07704,", 1), encoding="utf-8")
    v2 = Registry.from_paths([desnz], include_builtin=False).version
    assert v1 != v2


# --------------------------------------------------------------------------------------------
# user sets: import, override, precedence
# --------------------------------------------------------------------------------------------


def test_import_and_override_builtin_id(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "licensed.csv"
    src.write_text(
        csv_rows(
            *truck_rows("desnz-2025:road.hgv_artic_gt33t:avg", "road.hgv_artic_gt33t", 0.05, 0.01)
        )
    )
    stored = import_factor_file(src, set_name="glec-licensed", home=home)
    assert stored == home / "factors" / "glec-licensed.csv"
    assert stored.read_bytes() == src.read_bytes()
    assert [p.name for p in stored.parent.iterdir()] == ["glec-licensed.csv"]  # no temp file
    assert user_factor_paths(home) == [stored]

    reg = Registry.from_paths(user_factor_paths(home))
    rows = reg.find("desnz-2025:road.hgv_artic_gt33t:avg")
    assert set(rows["factor_set"]) == {"glec-licensed"}  # all built-in rows of the id replaced
    r = row(reg.transport_intensities(), vehicle_class="road.hgv_artic_gt33t")
    assert r["intensity_wtw_kg_per_tkm"] == pytest.approx(0.06)
    assert "my licensed table" in str(r["factor_source"])
    # other built-in factors stay
    assert row(reg.transport_intensities(), vehicle_class="road.hgv_all")["factor_set"] == (
        "desnz-2025"
    )
    assert "glec-licensed" in reg.version


def test_user_set_wins_per_key_and_later_sets_win(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(csv_rows(*truck_rows("a:road.hgv_all:avg", "road.hgv_all", 0.2, 0.05)))
    b.write_text(csv_rows(*truck_rows("b:road.hgv_all:avg", "road.hgv_all", 0.3, 0.05)))
    ti = Registry.from_paths([a]).transport_intensities()
    assert row(ti, vehicle_class="road.hgv_all")["factor_id"] == "a:road.hgv_all:avg"
    ti = Registry.from_paths([a, b]).transport_intensities()
    assert row(ti, vehicle_class="road.hgv_all")["factor_id"] == "b:road.hgv_all:avg"
    ti = Registry.from_paths([b, a]).transport_intensities()
    assert row(ti, vehicle_class="road.hgv_all")["factor_id"] == "a:road.hgv_all:avg"


def test_with_factors_overrides_fuel(tmp_path: Path) -> None:
    reg = Registry.builtin()
    extra = pl.DataFrame(
        {
            "factor_id": ["mine:fuel:diesel:l", "mine:fuel:diesel:l"],
            "category": ["fuel", "fuel"],
            "energy_carrier": ["diesel", "diesel"],
            "energy_unit": ["l", "l"],
            "activity_unit": ["l", "l"],
            "scope": ["TTW", "WTW"],
            "value": [2.5, 3.1],
            "unit": ["kg CO2e/l", "kg CO2e/l"],
            "source": ["supplier declaration", "supplier declaration"],
            "assumption": [False, False],
        }
    )
    mine = reg.with_factors(extra, set_name="supplier")
    f = row(mine.fuel_factors(), energy_carrier="diesel", energy_unit="l")
    assert (f["ef_ttw_kg_per_unit"], f["ef_wtw_kg_per_unit"]) == (2.5, 3.1)
    assert f["priority"] == 0 and f["factor_set"] == "supplier"
    assert mine.version != reg.version and "supplier" in mine.version
    # the original registry is unchanged (immutable)
    assert row(reg.fuel_factors(), energy_carrier="diesel", energy_unit="l")["factor_set"] == (
        "desnz-2025"
    )
    with pytest.raises(InputErrors):
        reg.with_factors(extra.with_columns(pl.lit(-1.0).alias("value")), set_name="bad")
    with pytest.raises(InputErrors, match="built-in"):
        reg.with_factors(extra, set_name="desnz-2025")


def test_import_refuses_bad_files_and_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "good.csv"
    good.write_text(csv_rows(*truck_rows("x:road.t:avg", "road.t", 0.1, 0.02)))
    for name in ("desnz-2025", "../escape", ""):
        with pytest.raises(InputErrors):
            import_factor_file(good, set_name=name, home=home)
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_rows(truck_rows("x:road.t:avg", "road.t", 0.1, 0.02)[0]))  # no WTT
    with pytest.raises(InputErrors):
        import_factor_file(bad, set_name="bad", home=home)
    assert user_factor_paths(home) == []
    with pytest.raises(InputErrors):
        import_factor_file(tmp_path / "missing.csv", set_name="m", home=home)


def test_from_paths_reports_every_bad_file(tmp_path: Path) -> None:
    bad1 = tmp_path / "one.csv"
    bad2 = tmp_path / "two.csv"
    bad1.write_text(csv_rows(*truck_rows("x:road.t:avg", "road.t", -1, 0.02)))
    bad2.write_text("factor_id,value\nx,1\n")
    with pytest.raises(InputErrors) as exc:
        Registry.from_paths([bad1, bad2])
    files = {e.file for e in exc.value.errors}
    assert files == {str(bad1), str(bad2)}

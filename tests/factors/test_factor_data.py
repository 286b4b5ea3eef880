"""The packaged factor files: schema, provenance, and every number the shared reference lists.

Expected values are copied from /work/shared/reference/emission-factors.md (section in comments).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from greenstream.factors import SCHEMA_COLUMNS, Registry, load_factor_file

DATA = Path(str(resources.files("greenstream.factors") / "data"))
GLEC_QUOTED_FILE = "glec_v3_hub_defaults.csv"
MAPPING_FILES = {
    "factor_sets.csv",
    "grid_regions.csv",
    "mode_defaults.csv",
    "air_bands.csv",
    "temperature_uplift.csv",
}
EVIDENCE_TAGS = {"[P]", "[X]", "[3P]", "[M]"}
GLEC_SOURCE = r"(?i)Smart Freight|GLEC (Framework|v\d|default)"


def manifest() -> pl.DataFrame:
    return pl.read_csv(DATA / "factor_sets.csv", infer_schema=False)


def factor_files() -> list[str]:
    return manifest().get_column("file").to_list()


def test_manifest_lists_every_factor_file_and_nothing_else() -> None:
    on_disk = {p.name for p in DATA.glob("*.csv")} - MAPPING_FILES
    assert set(factor_files()) == on_disk
    m = manifest()
    assert m.columns == [
        "file",
        "set",
        "version",
        "label",
        "publisher",
        "publication",
        "url",
        "publication_date",
        "licence",
        "priority",
        "note",
    ]
    for col in ("set", "version", "label", "publisher", "url", "licence", "priority"):
        assert m.get_column(col).null_count() == 0, col
    # DESNZ is Open Government Licence v3.0
    assert set(m.filter(pl.col("set") == "desnz-2025")["licence"]) == {"OGL-3.0"}


@pytest.mark.parametrize("name", sorted(factor_files()))
def test_factor_file_schema_and_provenance(name: str) -> None:
    path = DATA / name
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(SCHEMA_COLUMNS)
    frame = load_factor_file(path)  # raises on any invalid row
    assert frame.height > 0
    for col in ("source", "licence", "evidence", "gwp_basis"):
        assert frame.get_column(col).null_count() == 0, f"{name}: {col} missing"
    assert set(frame.get_column("evidence").unique()) <= EVIDENCE_TAGS
    # an assumption or derived number always says why in its note
    assumed = frame.filter(pl.col("assumption"))
    assert assumed.get_column("note").null_count() == 0
    # GLEC default tables (c) Smart Freight Centre are not shipped; the one exception is the
    # handful of logistics-site defaults (hub rows only), quoted with attribution
    glec = pl.lit(False)
    for col in ("source", "table", "publisher"):
        if col in frame.columns:
            glec = glec | frame.get_column(col).str.contains(GLEC_SOURCE)
    cited = frame.filter(frame.select(glec).to_series())
    if name == GLEC_QUOTED_FILE:
        assert cited.height == frame.height
        assert set(cited["category"]) == {"hub"}
        assert cited["licence"].str.contains("Smart Freight Centre").all()
    else:
        assert cited.height == 0, f"{name} cites GLEC"


def test_glec_in_manifest_only_for_the_quoted_hub_defaults() -> None:
    glec = manifest().filter(pl.col("publisher").str.contains(GLEC_SOURCE))
    assert glec["file"].to_list() == [GLEC_QUOTED_FILE]


def value(reg: Registry, factor_id: str, scope: str, load: str | None = None) -> float:
    rows = reg.find(factor_id).filter(pl.col("scope") == scope)
    if load is not None:
        rows = rows.filter(pl.col("load") == load)
    assert rows.height == 1, (factor_id, scope, load)
    return float(rows["value"][0])


# emission-factors.md 1.1: HGV (all diesel) tkm: 50 %, 100 %, average laden, WTT 50 / 100 / avg
HGV_TKM = {
    "road.hgv_rigid_3_5_7_5t": (0.45916, 0.24776, 0.52761, 0.10694, 0.05775, 0.12296),
    "road.hgv_rigid_7_5_17t": (0.26427, 0.14849, 0.36362, 0.06373, 0.03585, 0.09246),
    "road.hgv_rigid_gt17t": (0.21116, 0.12436, 0.17146, 0.04878, 0.02878, 0.03736),
    "road.hgv_rigid_all": (0.2258, 0.13155, 0.19748, 0.05202, 0.03038, 0.04332),
    "road.hgv_artic_3_5_33t": (0.12823, 0.07674, 0.12633, 0.02731, 0.01639, 0.02731),
    "road.hgv_artic_gt33t": (0.09612, 0.05988, 0.07703, 0.02244, 0.01403, 0.01799),
    "road.hgv_artic_all": (0.09675, 0.06021, 0.078, 0.02257, 0.01409, 0.01823),
    "road.hgv_all": (0.12226, 0.07431, 0.10163, 0.02886, 0.01757, 0.02359),
}


@pytest.mark.parametrize("vclass", sorted(HGV_TKM))
def test_hgv_tonne_km_rows_match_reference(vclass: str) -> None:
    reg = Registry.builtin()
    t50, t100, tavg, w50, w100, wavg = HGV_TKM[vclass]
    for load, ttw, wtt in (("50", t50, w50), ("100", t100, w100), ("avg", tavg, wavg)):
        fid = f"desnz-2025:{vclass}:{load}"
        assert value(reg, fid, "TTW") == ttw
        assert value(reg, fid, "WTT") == wtt
    # DESNZ publishes no tonne-km factor at 0 % laden (1.1)
    with pytest.raises(Exception, match="no factor"):
        reg.find(f"desnz-2025:{vclass}:0")


# emission-factors.md 1.2: per vehicle-km 0 / 50 / 100 % / average laden
HGV_VKM = {
    "road.hgv_rigid_3_5_7_5t": (0.46138, 0.50103, 0.54068, 0.49548),
    "road.hgv_rigid_7_5_17t": (0.55061, 0.62832, 0.70603, 0.60501),
    "road.hgv_rigid_gt17t": (0.774, 0.94152, 1.10905, 0.99156),
    "road.hgv_rigid_all": (0.67912, 0.80803, 0.93695, 0.83751),
    "road.hgv_artic_3_5_33t": (0.62775, 0.78163, 0.93552, 0.78471),
    "road.hgv_artic_gt33t": (0.64734, 0.85827, 1.06921, 0.93421),
    "road.hgv_artic_all": (0.64659, 0.85536, 1.06414, 0.92854),
    "road.hgv_all": (0.65975, 0.83589, 1.01203, 0.89121),
}


@pytest.mark.parametrize("vclass", sorted(HGV_VKM))
def test_hgv_vehicle_km_rows_match_reference(vclass: str) -> None:
    reg = Registry.builtin()
    for load, expected in zip(("0", "50", "100", "avg"), HGV_VKM[vclass], strict=True):
        assert value(reg, f"desnz-2025:{vclass}:vkm", "TTW", load) == expected


# emission-factors.md 1.3: refrigerated HGVs, average laden direct / WTT
REEFER = {
    "road.hgv_rigid_3_5_7_5t_reefer": (0.62837, 0.14669),
    "road.hgv_rigid_gt17t_reefer": (0.20416, 0.04457),
    "road.hgv_artic_3_5_33t_reefer": (0.14611, 0.03167),
    "road.hgv_rigid_all_reefer": (0.23514, 0.05168),
    "road.hgv_artic_gt33t_reefer": (0.08908, 0.02086),
    "road.hgv_artic_all_reefer": (0.0902, 0.02114),
    "road.hgv_all_reefer": (0.11894, 0.02769),
}

# emission-factors.md 1.4 (vans) and 1.5 (rail, air, sea): direct (TTW) / WTT per tonne-km
TKM = {
    "road.van_class1_diesel": (0.87423, 0.20817),
    "road.van_class2_diesel": (0.62562, 0.14937),
    "road.van_class3_diesel": (0.62849, 0.15037),
    "road.van_avg_diesel": (0.6313, 0.15095),
    "road.van_avg_unknown": (0.63823, 0.15335),
    "road.van_avg_phev": (0.36985, 0.09458),
    "rail.freight_train": (0.02779, 0.00691),
    "air.freight_domestic_uk_rf": (4.60397, 0.57429),
    "air.freight_domestic_uk": (2.71931, 0.57429),
    "air.freight_short_haul_rf": (1.27835, 0.20515),
    "air.freight_short_haul": (0.75539, 0.20515),
    "air.freight_long_haul_rf": (0.89939, 0.13516),
    "air.freight_long_haul": (0.5313, 0.13516),
    "air.freight_international_rf": (0.89939, 0.13516),
    "air.freight_international": (0.5313, 0.13516),
    "sea.container_8000teu_plus": (0.01266, 0.00287),
    "sea.container_5000_7999teu": (0.01681, 0.00381),
    "sea.container_3000_4999teu": (0.01681, 0.00381),
    "sea.container_2000_2999teu": (0.02025, 0.00459),
    "sea.container_1000_1999teu": (0.0325, 0.00737),
    "sea.container_0_999teu": (0.03675, 0.00833),
    "sea.container_avg": (0.01612, 0.00365),
    "sea.bulk_200k_plus_dwt": (0.00253, 0.00057),
    "sea.bulk_100_199k_dwt": (0.00304, 0.00069),
    "sea.bulk_60_99k_dwt": (0.00415, 0.00094),
    "sea.bulk_35_59k_dwt": (0.00577, 0.00131),
    "sea.bulk_10_34k_dwt": (0.008, 0.00181),
    "sea.bulk_0_9999_dwt": (0.02956, 0.0067),
    "sea.bulk_avg": (0.00353, 0.0008),
    "sea.general_cargo_avg": (0.01321, 0.003),
    "sea.reefer_cargo": (0.01306, 0.00296),
    "sea.roro_ferry_avg": (0.05158, 0.0117),
    "sea.ropax_large_avg": (0.37612, 0.08528),
    "sea.vehicle_transport_avg": (0.03852, 0.00873),
    "sea.tanker_crude_avg": (0.00457, 0.00104),
    "sea.tanker_products_avg": (0.00902, 0.00205),
    "sea.tanker_chemical_avg": (0.01031, 0.00234),
    "sea.tanker_lng_avg": (0.01153, 0.00262),
    "sea.tanker_lpg_avg": (0.01037, 0.00235),
}


@pytest.mark.parametrize("vclass", sorted(TKM) + sorted(REEFER))
def test_tonne_km_classes_match_reference(vclass: str) -> None:
    ti = Registry.builtin().transport_intensities().filter(pl.col("vehicle_class") == vclass)
    assert ti.height == 1
    ttw, wtt = (TKM | REEFER)[vclass]
    row = ti.row(0, named=True)
    assert row["intensity_ttw_kg_per_tkm"] == ttw
    assert row["intensity_wtt_kg_per_tkm"] == wtt
    assert row["intensity_wtw_kg_per_tkm"] == pytest.approx(ttw + wtt, abs=1e-12)


def test_other_average_van_direct_rows_match_reference() -> None:
    # emission-factors.md 1.4: "Other average-van rows: CNG 0.62419, LPG 0.68621"; petrol 0.85537
    reg = Registry.builtin()
    assert value(reg, "desnz-2025:road.van_avg_cng", "TTW") == 0.62419
    assert value(reg, "desnz-2025:road.van_avg_lpg", "TTW") == 0.68621
    assert value(reg, "desnz-2025:road.van_avg_petrol", "TTW") == 0.85537


# emission-factors.md 1.6: Scope 1 (TTW) and WTT per unit
FUELS = [
    ("desnz-2025:fuel:diesel:l", 2.57082, 0.61101),
    ("desnz-2025:fuel:diesel_b0:l", 2.66155, 0.62409),
    ("desnz-2025:fuel:mgo:l", 2.77139, 0.62665),
    ("desnz-2025:fuel:mfo:l", 3.10202, 0.69539),
    ("desnz-2025:fuel:hfo:l", 3.17492, 0.69539),
    ("desnz-2025:fuel:lng:t", 2603.30441, 912.22817),
    ("desnz-2025:fuel:cng:t", 2575.46441, 530.77887),
    ("desnz-2025:fuel:lpg:t", 2939.36095, 349.29282),
    ("desnz-2025:fuel:lpg:l", 1.55713, 0.18551),
    ("desnz-2025:fuel:hvo:l", 0.03558, 0.56439),
    # per kg = per tonne / 1000 (derived rows, labelled assumption=true)
    ("desnz-2025:fuel:lng:kg", 2.60330441, 0.91222817),
]


@pytest.mark.parametrize(("factor_id", "ttw", "wtt"), FUELS)
def test_fuel_rows_match_reference(factor_id: str, ttw: float, wtt: float) -> None:
    reg = Registry.builtin()
    assert value(reg, factor_id, "TTW") == pytest.approx(ttw, rel=1e-12)
    assert value(reg, factor_id, "WTT") == pytest.approx(wtt, rel=1e-12)


# emission-factors.md 2.2: EN 16258 per kg, TTW / WTW
EN16258 = [
    ("en16258:fuel:diesel_b5:kg", 3.04, 3.80),
    ("en16258:fuel:diesel:kg", 2.97, 3.76),
    ("en16258:fuel:petrol_e5:kg", 3.08, 3.74),
    ("en16258:fuel:petrol:kg", 2.90, 3.62),
]


@pytest.mark.parametrize(("factor_id", "ttw", "wtw"), EN16258)
def test_en16258_rows(factor_id: str, ttw: float, wtw: float) -> None:
    reg = Registry.builtin()
    assert value(reg, factor_id, "TTW") == ttw
    assert value(reg, factor_id, "WTW") == wtw
    assert set(reg.find(factor_id)["evidence"]) == {"[3P]"}


# emission-factors.md 3.1: MEE/NBS electricity CO2 factors (kg CO2 / kWh)
GRID = {
    ("CN", 2022): 0.5366,
    ("CN", 2021): 0.5568,
    ("CN-GRID-NORTH", 2021): 0.7120,
    ("CN-GRID-NORTH", 2022): 0.6776,
    ("CN-GRID-NORTHEAST", 2021): 0.6012,
    ("CN-GRID-NORTHEAST", 2022): 0.5564,
    ("CN-GRID-EAST", 2021): 0.5992,
    ("CN-GRID-EAST", 2022): 0.5617,
    ("CN-GRID-CENTRAL", 2021): 0.5354,
    ("CN-GRID-CENTRAL", 2022): 0.5395,
    ("CN-GRID-NORTHWEST", 2021): 0.5951,
    ("CN-GRID-NORTHWEST", 2022): 0.5857,
    ("CN-GRID-SOUTH", 2021): 0.4326,
    ("CN-GRID-SOUTH", 2022): 0.3869,
    ("CN-GRID-SOUTHWEST", 2021): 0.2113,
    ("CN-GRID-SOUTHWEST", 2022): 0.2268,
    ("CN-BJ", 2021): 0.5688,
    ("CN-BJ", 2022): 0.5580,
    ("CN-SH", 2021): 0.5834,
    ("CN-SH", 2022): 0.5849,
    ("CN-JS", 2021): 0.6451,
    ("CN-JS", 2022): 0.5978,
    ("CN-GD", 2021): 0.4715,
    ("CN-GD", 2022): 0.4403,
    ("CN-SN", 2021): 0.6336,
    ("CN-SN", 2022): 0.6558,
    ("CN-HE", 2021): 0.7901,
    ("CN-HE", 2022): 0.7252,
    ("CN-YN", 2021): 0.1235,
    ("CN-YN", 2022): 0.1073,
    ("CN-SC", 2021): 0.1255,
    ("CN-SC", 2022): 0.1404,
}


@pytest.mark.parametrize(("region", "year"), sorted(GRID))
def test_grid_rows_match_reference(region: str, year: int) -> None:
    reg = Registry.builtin()
    fid = f"mee-nbs:{region}:{year}"
    assert value(reg, fid, "WTW") == GRID[(region, year)]
    rows = reg.find(fid)
    assert set(rows["scope"]) == {"WTW"}  # TTW = 0 by definition, not stored
    assert rows["gwp_basis"][0].startswith("CO2 only")


def test_grid_file_covers_30_provinces_7_grids_and_national_for_both_years() -> None:
    grid = load_factor_file(DATA / "cn_grid_mee.csv")
    for year in (2021, 2022):
        regions = set(grid.filter(pl.col("year") == year)["region"])
        provinces = {r for r in regions if re.fullmatch(r"CN-[A-Z]{2}", r)}
        grids = {r for r in regions if r.startswith("CN-GRID-")}
        assert len(provinces) == 30  # every mainland province but Tibet (no published value)
        assert "CN-XZ" not in provinces
        assert len(grids) == 7
        assert "CN" in regions


def test_grid_region_mapping_covers_31_provinces() -> None:
    mapping = pl.read_csv(DATA / "grid_regions.csv", infer_schema=False)
    assert mapping.columns == ["region", "grid_region", "name", "source"]
    assert mapping.height == 31
    assert mapping["region"].n_unique() == 31
    assert all(re.fullmatch(r"CN-[A-Z]{2}", r) for r in mapping["region"])
    assert set(mapping["grid_region"]) == {
        "CN-GRID-NORTH",
        "CN-GRID-NORTHEAST",
        "CN-GRID-EAST",
        "CN-GRID-CENTRAL",
        "CN-GRID-NORTHWEST",
        "CN-GRID-SOUTH",
        "CN-GRID-SOUTHWEST",
    }
    grid_of = dict(zip(mapping["region"], mapping["grid_region"], strict=True))
    assert grid_of["CN-NM"] == "CN-GRID-NORTH"  # split grid, North chosen (noted in source)
    assert "Inner Mongolia" in mapping.filter(pl.col("region") == "CN-NM")["source"][0]
    assert grid_of["CN-ZJ"] == "CN-GRID-EAST"
    assert grid_of["CN-XZ"] == "CN-GRID-SOUTHWEST"
    assert mapping["source"].null_count() == 0


def test_hub_defaults_file_cites_glec_and_labels_its_assumptions() -> None:
    hubs = load_factor_file(DATA / "glec_v3_hub_defaults.csv")
    assert hubs["source"].str.contains("GLEC Framework").all()
    assert hubs["evidence"].eq("[3P]").all()
    wtw = {
        (r["vehicle_class"], r["temperature_control"]): r["value"]
        for r in hubs.filter(pl.col("scope") == "WTW").iter_rows(named=True)
    }
    # GLEC v3 logistics-site defaults (kg CO2e per t): transshipment 0.6 / mixed 2.2, storage and
    # transshipment 2.1 / 4.0, warehouse 17.5 / 33, liquid bulk 3.1 / 8.1
    assert wtw[("Transshipment", "ambient")] == 0.6
    assert wtw[("Warehouse", "mixed")] == 33.0
    # container terminals: 10.7 kg per TEU / 10 t per TEU (labelled assumption) = 1.07 kg per t
    assert wtw[("MaritimeContainerTerminal", "ambient")] == pytest.approx(1.07)
    # the TTW split is not published: 0, labelled
    ttw = hubs.filter(pl.col("scope") == "TTW")
    assert ttw["value"].eq(0.0).all() and ttw["assumption"].all()
    # the iLEAP demo placeholder (33 kg/t for every hub) is no built-in set any more
    assert "hub_defaults.csv" not in set(factor_files())


def test_bev_rows_move_generation_to_wtt_and_say_so() -> None:
    # emission-factors.md 1.4: BEV avg 0.21992 direct + 0.05633 WTT
    reg = Registry.builtin()
    rows = reg.find("desnz-2025:road.van_avg_bev")
    ttw = rows.filter(pl.col("scope") == "TTW").row(0, named=True)
    wtt = rows.filter(pl.col("scope") == "WTT").row(0, named=True)
    assert ttw["value"] == 0.0
    assert wtt["value"] == pytest.approx(0.21992 + 0.05633, abs=1e-12)
    assert "ISO 14083" in ttw["note"] and "0.21992" in ttw["note"]
    assert wtt["assumption"] and "0.21992" in wtt["note"] and "0.05633" in wtt["note"]


def test_inland_waterway_factor_is_sourced_and_labelled() -> None:
    reg = Registry.builtin()
    rows = reg.find("jonkeren-2019:inland_waterway.barge_avg")
    ttw = rows.filter(pl.col("scope") == "TTW").row(0, named=True)
    wtt = rows.filter(pl.col("scope") == "WTT").row(0, named=True)
    # Jonkeren, Francke & Visser (2019) ETRR Table 9: inland waterways 38.6 g CO2 / tkm
    assert ttw["value"] == 0.0386
    assert ttw["unit"] == "kg CO2/tkm"
    assert "s12544-019-0344-x" in ttw["source"]
    # WTT derived with the DESNZ 2025 100 % mineral diesel WTT / Scope 1 ratio (1.6)
    assert wtt["value"] == pytest.approx(0.0386 * 0.62409 / 2.66155, abs=5e-6)
    assert wtt["assumption"] and wtt["evidence"] == "[M]"


@pytest.mark.parametrize("year", [2021, 2022])
def test_each_regional_factor_lies_within_its_provinces(year: int) -> None:
    # a weak consistency check of grid_regions.csv against the MEE/NBS values (3.1)
    grid = load_factor_file(DATA / "cn_grid_mee.csv").filter(pl.col("year") == year)
    values = dict(zip(grid["region"], grid["value"], strict=True))
    mapping = pl.read_csv(DATA / "grid_regions.csv", infer_schema=False)
    for grid_region, provinces in mapping.group_by("grid_region").agg(pl.col("region")).iter_rows():
        own = [values[p] for p in provinces if p in values]
        assert min(own) <= values[grid_region] <= max(own), grid_region

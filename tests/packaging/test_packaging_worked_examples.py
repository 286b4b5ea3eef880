"""Hand-worked examples (the calculations are written next to each test)."""

from __future__ import annotations

import polars as pl
import pytest
from packaging_helpers import suite_of

from greenstream.levers.packaging.footprint import FootprintModel
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.model import check_orders
from greenstream.levers.packaging.pack import PackOptions, pack_orders
from greenstream.levers.packaging.parameters import builtin_parameters


def test_desnz_material_rows_are_the_published_numbers(factors: MaterialFactors) -> None:
    # DESNZ 2025 flat file, Material use rows 19_506_5156_15_1 (board, primary) and
    # 19_505_5148_15_1 (PS, primary); Waste disposal row 20_506_5446_15_1 (board, landfill)
    assert factors.material_kg_per_kg("board.primary") == pytest.approx(1.19972542)
    assert factors.material_kg_per_kg("ps.primary") == pytest.approx(4.37680391)
    assert factors.end_of_life_kg_per_kg("board.landfill") == pytest.approx(1.1644894)
    assert factors.end_of_life_kg_per_kg("board.recycling") == pytest.approx(0.00468568)


def test_carton_co2e_from_its_mass_and_the_desnz_row(factors: MaterialFactors) -> None:
    """A 200 g single-use corrugated carton, with end of life, no tape and no void:

    material     0.200 kg x 1,199.72542 kg/t / 1000          = 0.239945 kg CO2e
    end of life  0.200 kg x (0.725 x 4.68568 + 0.275 x 1,164.4894) / 1000
               = 0.200 x (3.397118 + 320.234585) / 1000     = 0.064726 kg CO2e
    total                                                    = 0.304671 kg CO2e
    """
    params = builtin_parameters()
    model = FootprintModel.build(factors, params)
    suite = suite_of([("C", 300, 200, 100, 0.2)], taped=[False])
    row = model.suite_columns(suite).row(0, named=True)
    assert row["material_co2e_kg"] == pytest.approx(0.239945, abs=1e-6)
    assert row["end_of_life_co2e_kg"] == pytest.approx(0.064726, abs=1e-6)
    assert row["fixed_co2e_kg"] == pytest.approx(0.304671, abs=1e-6)


def test_tape_53_to_40_mm(factors: MaterialFactors) -> None:
    """Tape on a carton of outer length 308 mm (300 + 2 x 4 mm wall), I-tape top and bottom with
    60 mm overhangs: 2 x (308 + 120) = 856 mm = 0.856 m.

    areal mass: film 0.030 mm x 910 kg/m3 = 0.0273 kg/m2; adhesive 0.010 mm x 1000 = 0.010 kg/m2
    53 mm: 0.856 x 0.053 x 0.0373 = 0.0016922 kg of tape
           CO2e 0.856 x 0.053 x (0.0273 x 2.57757172 + 0.010 x 3.35428062) = 0.0047139 kg
    40 mm: x 40/53 -> 0.0012772 kg, 0.0035577 kg CO2e
    """
    params = builtin_parameters()
    suite = suite_of([("C", 300, 200, 100, 0.2)])
    wide = FootprintModel.build(factors, params).suite_columns(suite).row(0, named=True)
    narrow = FootprintModel.build(factors, params, 40.0).suite_columns(suite).row(0, named=True)
    assert wide["tape_length_m"] == pytest.approx(0.856)
    assert wide["tape_kg"] == pytest.approx(0.0016922, rel=1e-4)
    assert wide["tape_co2e_kg"] == pytest.approx(0.0047139, rel=1e-4)
    assert narrow["tape_co2e_kg"] == pytest.approx(0.0035577, rel=1e-4)


def test_eight_10_cm_cubes_fill_a_20_cm_box(factors: MaterialFactors) -> None:
    """Eight 100 mm cubes in a 200 mm cube: 2 x 2 x 2 layers, 8 x 1 L = 8 L = the box's 8 L,
    fill 100 %, void 0; the 300 mm box next to it would be 8/27 = 29.6 % full."""
    suite = suite_of([("B20", 200, 200, 200, 0.15), ("B30", 300, 300, 300, 0.3)])
    lines = check_orders(
        pl.DataFrame(
            {
                "order_id": ["o"],
                "length_mm": ["100"],
                "width_mm": ["100"],
                "height_mm": ["100"],
                "mass_kg": ["0.5"],
                "quantity": ["8"],
            }
        )
    )
    for mode in ("auto", "exact"):
        result = pack_orders(lines, suite, factors=factors, options=PackOptions(mode=mode))
        pkg = result.packages.row(0, named=True)
        assert result.packages.height == 1
        assert pkg["box_type"] == "B20"
        assert pkg["fill_rate"] == pytest.approx(1.0)
        assert pkg["void_m3"] == pytest.approx(0.0, abs=1e-12)
        assert pkg["validated"]
        corners = set(result.placements.select("x_mm", "y_mm", "z_mm").iter_rows())
        assert corners == {(x, y, z) for x in (0, 100) for y in (0, 100) for z in (0, 100)}
    assert pkg["proven_best"]  # exact mode proved it (the 200 mm box is the cheapest anyway)


def test_packaging_beside_transport_is_kept_apart() -> None:
    from greenstream.levers.packaging.footprint import beside_transport

    packages = pl.DataFrame(
        {
            "order_id": ["S1", "S1", "S2"],
            "packaging_mass_kg": [0.2, 0.1, 0.3],
            "packaging_co2e_kg": [0.3, 0.1, 0.4],
        }
    )
    shipments = pl.DataFrame({"shipment_id": ["S1", "S2"], "co2e_wtw_kg": [5.0, 7.0]})
    apart = beside_transport(packages, shipments)
    assert "total_co2e_kg" not in apart.columns
    assert apart.row(0, named=True) == {
        "shipment_id": "S1", "transport_co2e_wtw_kg": 5.0, "packages": 2,
        "packaging_mass_kg": pytest.approx(0.3), "packaging_co2e_kg": pytest.approx(0.4),
    }  # fmt: skip
    summed = beside_transport(packages, shipments, with_total=True)
    assert summed.get_column("total_co2e_kg").to_list() == pytest.approx([5.4, 7.4])

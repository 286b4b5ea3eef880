"""The demo's HOCs from synthetic site data: every hub stop gets its site's HOC."""

from __future__ import annotations

import polars as pl

from greenstream.levers.energy.demo import demo_hocs


def test_hub_stops_get_site_hocs_ambient_and_refrigerated() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["P1", "P1", "P2", "P3"],
            "mass_kg": [2.0, 2.0, 3.0, 1.5],
            "hub_type": ["Warehouse", None, "Transshipment", "Transshipment"],
            "hoc_id": [None, None, "HOC-CN-BEIJING", "HOC-CN-BEIJING"],
            "origin": ["CN-SHANGHAI", "CN-SHANGHAI", "CN-BEIJING", "CN-BEIJING"],
            "mode": [None, "road", None, None],
            "temperature_control": ["ambient", "ambient", "ambient", "refrigerated"],
        }
    )
    result, out, synthetic = demo_hocs(legs, seed=3, year=2025)
    ids = out["hoc_id"].to_list()
    assert ids == ["HOC-CN-SHANGHAI", None, "HOC-CN-BEIJING", "HOC-CN-BEIJING-REEFER"]
    hocs = {r["hoc_id"]: r for r in result.hocs.iter_rows(named=True)}
    assert set(hocs) == {"HOC-CN-SHANGHAI", "HOC-CN-BEIJING", "HOC-CN-BEIJING-REEFER"}
    # cold storage uses more electricity per tonne than ambient handling at the same site
    assert (
        hocs["HOC-CN-BEIJING-REEFER"]["intensity_wtw_kg_per_t"]
        > hocs["HOC-CN-BEIJING"]["intensity_wtw_kg_per_t"]
        > 0
    )
    assert {s.site_id for s in synthetic.sites} == {"CN-SHANGHAI", "CN-BEIJING"}

"""Shared inputs of the report tests.

``clecat_case_a`` is Case example A of CLECAT / UBA, "Greenhouse gas emissions in the transport
sector - Guide to ISO 14083" (2024), sections 3.3, 4.3, 5.2 and Table 14: 10 t by road (500 tkm),
through a combined-transport terminal, by rail (5,000 tkm), through the terminal again, and by
road (1,000 tkm). The guide's intensities: road 0.150 kg CO2e/tkm WTW, rail 71.9 kg / 5,000 tkm
(= 0.01438, printed as 0.014), terminal 1.07 kg CO2e/t; operation (TTW) emissions road 162 kg
(= 0.108 kg/tkm over 1,500 tkm), terminal 8 kg (= 0.4 kg/t over 20 t), rail 0 (electric).
Its short report (Table 14): 318.3 kg CO2e in total (296.9 road and rail, 21.4 hubs), 170 kg
from operation, 0.049 kg CO2e/tkm, 6,500 tkm, hub activity 20 t.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

import greenstream


def clecat_tables() -> dict[str, pl.DataFrame]:
    t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"] * 5,
            "tce_id": [f"A-{i}" for i in range(1, 6)],
            "mass_kg": [10_000.0] * 5,
            "mode": ["road", None, "rail", None, "road"],
            "distance_km": [50.0, None, 500.0, None, 100.0],
            "distance_basis": ["sfd", None, "sfd", None, "sfd"],
            "origin": ["CN-SHANGHAI", "CN-ZHENGZHOU", "CN-ZHENGZHOU", "CN-XIAN", "CN-XIAN"],
            "destination": ["CN-ZHENGZHOU", None, "CN-XIAN", None, "CN-LANZHOU"],
            "toc_id": ["ROAD", None, "RAIL", None, "ROAD"],
            "hoc_id": [None, "CT", None, "CT", None],
            "hub_type": [None, "Transshipment", None, "Transshipment", None],
            "departure_at": [t0.replace(hour=h) for h in (8, 12, 14, 20, 22)],
        }
    )
    tocs = pl.DataFrame(
        {
            "toc_id": ["ROAD", "RAIL"],
            "mode": ["road", "rail"],
            "intensity_wtw_kg_per_tkm": [0.150, 71.9 / 5000],
            "intensity_ttw_kg_per_tkm": [162 / 1500, 0.0],
            "data_type": ["secondary", "secondary"],
            "description": ["road TOC of the guide's case A", "electric rail TOC of case A"],
        }
    )
    hocs = pl.DataFrame(
        {
            "hoc_id": ["CT"],
            "hub_type": ["Transshipment"],
            "intensity_wtw_kg_per_t": [1.07],
            "intensity_ttw_kg_per_t": [0.4],
            "data_type": ["secondary"],
            "description": ["combined-transport terminal of case A"],
        }
    )
    return {"legs": legs, "tocs": tocs, "hocs": hocs}


@pytest.fixture(scope="session")
def clecat_case_a() -> pl.DataFrame:
    t = clecat_tables()
    return greenstream.footprint(t["legs"], tocs=t["tocs"], hocs=t["hocs"]).legs

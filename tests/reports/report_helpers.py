"""Helpers of the report tests (a uniquely named module: other areas have conftests too).

``clecat_tables`` is Case example A of CLECAT / UBA, "Greenhouse gas emissions in the transport
sector - Guide to ISO 14083" (2024), sections 3.3, 4.3, 5.2 and Table 14: 10 t by road (500 tkm),
through a combined-transport terminal, by rail (5,000 tkm), through the terminal again, and by
road (1,000 tkm). The guide's intensities: road 0.150 kg CO2e/tkm WTW, rail 71.9 kg / 5,000 tkm
(= 0.01438, printed as 0.014), terminal 1.07 kg CO2e/t; operation (TTW) emissions road 162 kg
(= 0.108 kg/tkm over 1,500 tkm), terminal 8 kg (= 0.4 kg/t over 20 t), rail 0 (electric).
Its short report (Table 14): 318.3 kg CO2e in total (296.9 road and rail, 21.4 hubs), 170 kg
from operation, 0.049 kg CO2e/tkm, 6,500 tkm, hub activity 20 t.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from greenstream.store.tenants import NewClient

SECRET = b"reports-test-signing-key"
ARTIFACTS = Path(__file__).parents[2] / "out" / "test-artifacts" / "reports"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


def require_tool(name: str) -> str:
    """The path of a command-line tool (poppler-utils); skip outside CI, fail under CI."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (Debian poppler-utils; 'make report-deps')"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    return [
        {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in r.items()
            if v is not None
        }
        for r in frame.to_dicts()
    ]


@dataclass
class StoreApi:
    client: TestClient
    url: str
    a: NewClient
    b: NewClient

    def headers(self, who: NewClient) -> dict[str, str]:
        basic = base64.b64encode(f"{who.client_id}:{who.client_secret}".encode()).decode()
        r = self.client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

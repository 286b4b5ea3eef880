"""Helpers of the platform API tests (a uniquely named module: other areas have conftests too)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from fastapi.testclient import TestClient

from greenstream.store.tenants import NewClient

SECRET = b"test-signing-key-not-for-production"


@dataclass
class Api:
    client: TestClient
    url: str
    a: NewClient
    b: NewClient

    def token(self, who: NewClient) -> str:
        basic = base64.b64encode(f"{who.client_id}:{who.client_secret}".encode()).decode()
        r = self.client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def headers(self, who: NewClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}


# The iLEAP worked example (iLEAP Technical Specifications, TCE example): 40,000 kg over 423 km
# = 16,920 tkm; with a TOC of 0.116 / 0.089 kg CO2e per tkm: 1962.72 kg WTW, 1505.88 kg TTW.
WORKED_TOC = {
    "toc_id": "truck-40t-euro5-de",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.116,
    "intensity_ttw_kg_per_tkm": 0.089,
}


def worked_legs(shipment_id: str = "S1") -> list[dict[str, object]]:
    return [
        {
            "shipment_id": shipment_id,
            "mass_kg": 40000,
            "distance_km": 423,
            "toc_id": "truck-40t-euro5-de",
            "origin": "CN-SHANGHAI",
            "destination": "CN-BEIJING",
            "departure_at": "2026-11-11T08:00:00Z",
        },
        {
            "shipment_id": shipment_id,
            "mass_kg": 40000,
            "hub_type": "Transshipment",
        },
    ]

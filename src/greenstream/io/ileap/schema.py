"""The iLEAP v1.0 data model as greenstream uses it: schema URLs, closed and open enumerations,
the mapping of transport modes, and the tables a reader returns.

Spec: sine-fdn/ileap-extension ``specs/index.bs`` (iLEAP Technical Specifications v1.0.0), JSON
schemas: sine-fdn/impact-protocols ``ileap-data-model/schemas/*.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import polars as pl

from greenstream.accounting.schema import HUB_TYPES  # iLEAP HubType, PascalCase

__all__ = [
    "AIR_SHIPPING_OPTIONS",
    "ENERGY_CARRIERS",
    "EXTENSION_SPEC_VERSION",
    "FLIGHT_LENGTHS",
    "HOCS_SCHEMA",
    "HOC_SCHEMA_URL",
    "HUB_ACTIVITY_UNITS",
    "HUB_TYPES",
    "ILEAP_DOCUMENTATION_URL",
    "LEGS_SCHEMA",
    "MODE_FROM_ILEAP",
    "MODE_TO_ILEAP",
    "SHIPMENT_FOOTPRINT_SCHEMA_URL",
    "TEMPERATURE_CONTROLS",
    "TOCS_SCHEMA",
    "TOC_SCHEMA_URL",
    "TRANSPORT_ACTIVITY_UNITS",
    "TRUCK_LOADING_SEQUENCES",
    "IleapShipments",
]

SHIPMENT_FOOTPRINT_SCHEMA_URL: Final = "https://api.ileap.sine.dev/shipment-footprint.json"
TOC_SCHEMA_URL: Final = "https://api.ileap.sine.dev/toc.json"
HOC_SCHEMA_URL: Final = "https://api.ileap.sine.dev/hoc.json"
ILEAP_DOCUMENTATION_URL: Final = "https://sine-fdn.github.io/ileap-extension/"
EXTENSION_SPEC_VERSION: Final = "2.0.0"  # iLEAP §pcf-mapping: DATA-MODEL-EXTENSIONS version
SYNTHETIC_ID_PREFIX: Final = "greenstream:"
# appended to a synthetic tocId when the row was refrigerated: the refrigerated variant or the
# uplift of the class is chosen again when the file is read back
REFRIGERATED_SUFFIX: Final = "+refrigerated"
JSON_LABEL: Final = "<json>"

# iLEAP TransportMode <-> greenstream mode
MODE_FROM_ILEAP: Final[Mapping[str, str]] = {
    "Road": "road",
    "Rail": "rail",
    "Air": "air",
    "Sea": "sea",
    "InlandWaterway": "inland_waterway",
}
MODE_TO_ILEAP: Final[Mapping[str, str]] = {v: k for k, v in MODE_FROM_ILEAP.items()}
TRANSPORT_ACTIVITY_UNITS: Final = ("tkm", "TEUkm")
HUB_ACTIVITY_UNITS: Final = ("tonnes", "TEU")
TEMPERATURE_CONTROLS: Final = ("ambient", "refrigerated", "mixed")
TRUCK_LOADING_SEQUENCES: Final = ("LTL", "FTL")
AIR_SHIPPING_OPTIONS: Final = ("belly freight", "freighter")
FLIGHT_LENGTHS: Final = ("short-haul", "long-haul")
ENERGY_CARRIERS: Final = (
    "Diesel",
    "HVO",
    "Petrol",
    "CNG",
    "LNG",
    "LPG",
    "HFO",
    "MGO",
    "Aviation fuel",
    "Hydrogen",
    "Methanol",
    "Electric",
)

LEGS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "shipment_id": pl.String(),
    "tce_id": pl.String(),
    "mass_kg": pl.Float64(),
    "distance_km": pl.Float64(),
    "distance_basis": pl.String(),
    "toc_id": pl.String(),
    "hoc_id": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "departure_at": pl.Datetime("us", "UTC"),
    "reported_transport_activity_tkm": pl.Float64(),
    "reported_co2e_wtw_kg": pl.Float64(),
    "reported_co2e_ttw_kg": pl.Float64(),
}
TOCS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "toc_id": pl.String(),
    "mode": pl.String(),
    "intensity_wtw_kg_per_tkm": pl.Float64(),
    "intensity_ttw_kg_per_tkm": pl.Float64(),
    "transport_activity_unit": pl.String(),
    "intensity_wtw_kg_per_teukm": pl.Float64(),
    "intensity_ttw_kg_per_teukm": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
    "temperature_control": pl.String(),
    "load_factor": pl.Float64(),
    "empty_distance_factor": pl.Float64(),
    "truck_loading_sequence": pl.String(),
    "air_shipping_option": pl.String(),
    "flight_length": pl.String(),
    "certifications": pl.String(),
    "energy_carriers_json": pl.String(),
}
HOCS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "hoc_id": pl.String(),
    "hub_type": pl.String(),
    "intensity_wtw_kg_per_t": pl.Float64(),
    "intensity_ttw_kg_per_t": pl.Float64(),
    "hub_activity_unit": pl.String(),
    "intensity_wtw_kg_per_teu": pl.Float64(),
    "intensity_ttw_kg_per_teu": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
    "temperature_control": pl.String(),
    "certifications": pl.String(),
    "energy_carriers_json": pl.String(),
}

_SF, _TOC, _HOC = "ShipmentFootprint", "TOC", "HOC"


@dataclass(frozen=True)
class IleapShipments:
    """What one iLEAP input holds: TCE rows (LEGS columns) and the TOCs / HOCs found beside them."""

    legs: pl.DataFrame
    tocs: pl.DataFrame | None
    hocs: pl.DataFrame | None

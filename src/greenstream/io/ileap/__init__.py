"""iLEAP v1.0 JSON (ShipmentFootprint, TOC, HOC, TAD) and PACT v2.3 ProductFootprints.

Spec: sine-fdn/ileap-extension ``specs/index.bs`` (iLEAP Technical Specifications v1.0.0), JSON
schemas: sine-fdn/ileap-extension ``specs/*.json`` and the PACT v2.3 schema of
wbcsd/data-exchange-protocol. The behaviour was written from those texts; no code was copied.

One module per concern:

- :mod:`~greenstream.io.ileap.schema`: schema URLs, enumerations, mode mapping, table schemas;
- :mod:`~greenstream.io.ileap.decimals`: Decimal strings and UTC timestamps;
- :mod:`~greenstream.io.ileap.read`: iLEAP JSON (bare, lists, PACT-wrapped) -> LEGS / TOCS / HOCS
  tables, every problem reported with its JSON path;
- :mod:`~greenstream.io.ileap.write`: kernel output / TOCS / HOCS tables -> iLEAP JSON;
- :mod:`~greenstream.io.ileap.pact`: the PACT v2.3 ProductFootprint of a ShipmentFootprint, TOC
  or HOC (``PACT_SPEC_VERSION``), the ``$filter`` grammar;
- :mod:`~greenstream.io.ileap.tad`: iLEAP TransportActivityData documents.

The names below are the public API (``from greenstream.io.ileap import read_ileap_shipments``).
"""

from greenstream.io.ileap.decimals import decimal_string
from greenstream.io.ileap.pact import (
    PACT_SPEC_VERSION,
    pact_product_footprint,
    shipment_to_pact_product_footprint,
)
from greenstream.io.ileap.read import read_ileap_hocs, read_ileap_shipments, read_ileap_tocs
from greenstream.io.ileap.schema import (
    HOC_SCHEMA_URL,
    ILEAP_DOCUMENTATION_URL,
    MODE_FROM_ILEAP,
    MODE_TO_ILEAP,
    SHIPMENT_FOOTPRINT_SCHEMA_URL,
    TOC_SCHEMA_URL,
    IleapShipments,
)
from greenstream.io.ileap.write import write_ileap_hocs, write_ileap_shipments, write_ileap_tocs

__all__ = [
    "HOC_SCHEMA_URL",
    "ILEAP_DOCUMENTATION_URL",
    "MODE_FROM_ILEAP",
    "MODE_TO_ILEAP",
    "PACT_SPEC_VERSION",
    "SHIPMENT_FOOTPRINT_SCHEMA_URL",
    "TOC_SCHEMA_URL",
    "IleapShipments",
    "decimal_string",
    "pact_product_footprint",
    "read_ileap_hocs",
    "read_ileap_shipments",
    "read_ileap_tocs",
    "shipment_to_pact_product_footprint",
    "write_ileap_hocs",
    "write_ileap_shipments",
    "write_ileap_tocs",
]

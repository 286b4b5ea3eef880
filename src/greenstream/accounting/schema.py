"""Column contract of the accounting kernel (see docs/data-contract.md).

Names carry units. The kernel accepts any subset of the optional columns; :func:`conform` adds the
missing ones as typed nulls so every expression downstream can rely on them.
"""

from __future__ import annotations

from typing import Final

import polars as pl

MODES: Final = ("road", "rail", "sea", "inland_waterway", "air")
HUB_TYPES: Final = (
    "Transshipment",
    "StorageAndTransshipment",
    "Warehouse",
    "LiquidBulkTerminal",
    "MaritimeContainerTerminal",
)
DISTANCE_BASES: Final = ("actual", "sfd", "gcd")
TEMPERATURE_CONTROLS: Final = ("ambient", "refrigerated")
ENERGY_UNITS: Final = ("l", "kg", "kWh", "MJ", "t")
METHODS: Final = ("primary", "toc", "hoc", "modelled", "default")

LEG_COLUMNS: Final[dict[str, pl.DataType]] = {
    "shipment_id": pl.String(),
    "tce_id": pl.String(),
    "mass_kg": pl.Float64(),
    "chargeable_mass_kg": pl.Float64(),
    "mode": pl.String(),
    "distance_km": pl.Float64(),
    "distance_basis": pl.String(),
    "origin": pl.String(),
    "destination": pl.String(),
    "hoc_id": pl.String(),
    "hub_type": pl.String(),
    "trip_id": pl.String(),
    "toc_id": pl.String(),
    "vehicle": pl.String(),
    "load_factor": pl.Float64(),
    "empty_distance_factor": pl.Float64(),
    "energy_carrier": pl.String(),
    "temperature_control": pl.String(),
    "grid_region": pl.String(),
    "departure_at": pl.Datetime("us", "UTC"),
    "arrival_at": pl.Datetime("us", "UTC"),
    "empty_return": pl.Boolean(),
    "customer_id": pl.String(),
    "carrier_id": pl.String(),
    "avoid_passages": pl.String(),
}
LEG_REQUIRED: Final = ("shipment_id", "mass_kg")

TOC_COLUMNS: Final[dict[str, pl.DataType]] = {
    "toc_id": pl.String(),
    "mode": pl.String(),
    "intensity_wtw_kg_per_tkm": pl.Float64(),
    "intensity_ttw_kg_per_tkm": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
}
TOC_REQUIRED: Final = ("toc_id", "mode", "intensity_wtw_kg_per_tkm", "intensity_ttw_kg_per_tkm")

HOC_COLUMNS: Final[dict[str, pl.DataType]] = {
    "hoc_id": pl.String(),
    "hub_type": pl.String(),
    "intensity_wtw_kg_per_t": pl.Float64(),
    "intensity_ttw_kg_per_t": pl.Float64(),
    "data_type": pl.String(),
    "description": pl.String(),
}
HOC_REQUIRED: Final = ("hoc_id", "hub_type", "intensity_wtw_kg_per_t", "intensity_ttw_kg_per_t")

TRIP_COLUMNS: Final[dict[str, pl.DataType]] = {
    "trip_id": pl.String(),
    "energy_carrier": pl.String(),
    "energy_amount": pl.Float64(),
    "energy_unit": pl.String(),
    "grid_region": pl.String(),
    "ef_wtw_kg_per_unit": pl.Float64(),
    "ef_ttw_kg_per_unit": pl.Float64(),
}
TRIP_REQUIRED: Final = ("trip_id", "energy_carrier", "energy_amount", "energy_unit")

# Columns the kernel adds to every leg, in output order.
RESULT_COLUMNS: Final[dict[str, pl.DataType]] = {
    "transport_activity_tkm": pl.Float64(),
    "distance_used_km": pl.Float64(),
    "distance_adjustment": pl.String(),
    "co2e_wtw_kg": pl.Float64(),
    "co2e_ttw_kg": pl.Float64(),
    "co2e_wtt_kg": pl.Float64(),
    "co2e_wtw_low_kg": pl.Float64(),
    "co2e_wtw_high_kg": pl.Float64(),
    "method": pl.String(),
    "primary_data": pl.Boolean(),
    "intensity_wtw_kg_per_unit": pl.Float64(),
    "intensity_unit": pl.String(),
    "factor_id": pl.String(),
    "factor_source": pl.String(),
    "factor_set_version": pl.String(),
    "factor_reason": pl.String(),
    "warnings": pl.String(),
}

SHIPMENT_COLUMNS: Final = (
    "shipment_id",
    "tce_count",
    "mass_kg",
    "transport_activity_tkm",
    "distance_used_km",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "primary_data_share",
)


# Columns greenstream itself writes next to LEGS columns (footprint output, the iLEAP reader's
# reported figures): read back in, they are recognised and recomputed or ignored, never refused.
LEG_WRITTEN_COLUMNS: Final = (
    "origin_id",
    "destination_id",
    "distance_source",
    "sea_passages",
    "air_band",
    "factor_reason",
    "reported_transport_activity_tkm",
    "reported_co2e_wtw_kg",
    "reported_co2e_ttw_kg",
)
# Columns of the iLEAP TOC / HOC tables (io.ileap) and of `greenstream intensities` output that a
# TOCS / HOCS file may carry besides the kernel's columns.
TOC_WRITTEN_COLUMNS: Final = (
    "transport_activity_unit",
    "intensity_wtw_kg_per_teukm",
    "intensity_ttw_kg_per_teukm",
    "temperature_control",
    "load_factor",
    "empty_distance_factor",
    "truck_loading_sequence",
    "air_shipping_option",
    "flight_length",
    "certifications",
    "energy_carriers_json",
)
HOC_WRITTEN_COLUMNS: Final = (
    "hub_activity_unit",
    "intensity_wtw_kg_per_teu",
    "intensity_ttw_kg_per_teu",
    "temperature_control",
    "certifications",
    "energy_carriers_json",
)


def conform(frame: pl.LazyFrame, columns: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Add every contract column the frame lacks as a typed null, and cast present ones.

    Casting is strict: the io layer has already turned bad cells into row-level errors, so a
    failure here is a programming error, not a user error.
    """
    present = frame.collect_schema()
    exprs: list[pl.Expr] = []
    for name, dtype in columns.items():
        if name not in present:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif present[name] != dtype:
            exprs.append(pl.col(name).cast(dtype))
    return frame.with_columns(exprs) if exprs else frame

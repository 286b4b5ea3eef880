"""Pydantic v2 request / response schemas of the platform endpoints (separate from storage)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Cell = str | float | int | bool | None
Row = dict[str, Cell]


class UploadBody(BaseModel):
    """Shipments as LEGS rows (docs/data-contract.md), with optional TOCS / HOCS / TRIPS rows."""

    model_config = ConfigDict(extra="forbid")

    legs: list[Row] = Field(min_length=1, max_length=1_000_000)
    tocs: list[Row] | None = None
    hocs: list[Row] | None = None
    trips: list[Row] | None = None


class UploadResult(BaseModel):
    audit_seq: int
    record_sha256: str
    shipment_count: int
    tce_count: int


class JobOut(BaseModel):
    job_id: str
    status: str
    stage: str
    rows_total: int
    rows_done: int
    progress: float = Field(description="0..1")
    shipment_count: int
    audit_seq: int | None = None
    errors: list[dict[str, Any]] | None = None


class FootprintOut(BaseModel):
    shipment_id: str
    pf_id: str
    audit_seq: int
    created_at: datetime
    tce_count: int
    mass_kg: float
    transport_activity_tkm: float
    distance_used_km: float
    co2e_wtw_kg: float
    co2e_ttw_kg: float
    co2e_wtt_kg: float
    co2e_wtw_low_kg: float
    co2e_wtw_high_kg: float
    primary_data_share: float
    origin: str | None = None
    destination: str | None = None
    main_mode: str | None = None
    period: str | None = None


class FootprintPage(BaseModel):
    data: list[FootprintOut]
    next_offset: int | None = None


class TocIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toc_id: str = Field(min_length=1, max_length=200)
    mode: str
    intensity_wtw_kg_per_tkm: float
    intensity_ttw_kg_per_tkm: float
    data_type: str | None = None
    description: str | None = Field(default=None, max_length=2000)


class TocOut(TocIn):
    pf_id: str
    updated_at: datetime


class HocIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hoc_id: str = Field(min_length=1, max_length=200)
    hub_type: str
    intensity_wtw_kg_per_t: float
    intensity_ttw_kg_per_t: float
    data_type: str | None = None
    description: str | None = Field(default=None, max_length=2000)


class HocOut(HocIn):
    pf_id: str
    updated_at: datetime


class AggregateRow(BaseModel):
    key: dict[str, str | None]
    shipment_count: int | None = None
    tce_count: int
    transport_activity_tkm: float
    co2e_wtw_kg: float
    co2e_ttw_kg: float


class TraceElement(BaseModel):
    seq: int
    tce_id: str
    kind: str
    mode: str | None = None
    hub_type: str | None = None
    origin: str | None = None
    destination: str | None = None
    departure_at: datetime | None = None
    arrival_at: datetime | None = None
    distance_used_km: float
    transport_activity_tkm: float
    co2e_wtw_kg: float
    method: str
    factor_id: str | None = None


class TraceOut(BaseModel):
    shipment_id: str
    pf_id: str
    audit_seq: int
    elements: list[TraceElement]
    co2e_wtw_kg: float

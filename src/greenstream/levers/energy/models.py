"""Tables of the energy concern on the shared declarative base (every row carries tenant_id).

- ``energy_sites``: a tenant's site files, one validated site document (JSON) per site.
- ``energy_meter_hours``: the hourly site table (:mod:`.meters`) per tenant, site and local hour;
  an upload replaces the hours it covers.
- ``energy_certificates``: retired green-electricity certificates; the primary key
  ``(tenant_id, serial)`` makes a certificate count once across uploads.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime


class EnergySite(Base):
    """A tenant's site file (YAML / JSON document) as stored."""

    __tablename__ = "energy_sites"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EnergyMeterHour(Base):
    """One hour of a site's energy flows as stored, kWh per hour (local China time)."""

    __tablename__ = "energy_meter_hours"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=False), primary_key=True)
    grid_import_kwh: Mapped[float] = mapped_column(Float)
    grid_export_kwh: Mapped[float] = mapped_column(Float)
    pv_kwh: Mapped[float] = mapped_column(Float)
    battery_charge_kwh: Mapped[float] = mapped_column(Float)
    battery_discharge_kwh: Mapped[float] = mapped_column(Float)
    consumption_kwh: Mapped[float] = mapped_column(Float)


class EnergyCertificate(Base):
    """A retired energy attribute certificate (green certificate) claimed for a site and year; energy in MWh."""

    __tablename__ = "energy_certificates"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(200), primary_key=True)
    vintage_month: Mapped[date] = mapped_column(Date)
    technology: Mapped[str] = mapped_column(String(32))
    project: Mapped[str | None] = mapped_column(String(200), nullable=True)
    province: Mapped[str | None] = mapped_column(String(16), nullable=True)
    retired_on: Mapped[date] = mapped_column(Date)
    site_id: Mapped[str] = mapped_column(String(200))
    claim_year: Mapped[int] = mapped_column(Integer)

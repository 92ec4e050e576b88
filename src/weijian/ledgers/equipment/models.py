"""Tables of the equipment registry: devices such as AEDs with their place, owner and expiries
(equipment_devices), and their monthly inspections (equipment_inspections)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class Device(Base):
    """One device (kind and place type: data/equipment.yaml) at an address in an org unit, with its owner,
    install date and the expiry of its battery and pads (AED)."""

    __tablename__ = "equipment_devices"
    __table_args__ = (
        CheckConstraint("status in ('active', 'retired')", name="status"),
        Index("ix_equipment_devices_orgunit", "orgunit_code", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Code(16), default="aed")
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str | None] = mapped_column(String(100))
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    address: Mapped[str] = mapped_column(String(200))
    place_type: Mapped[str] = mapped_column(Code(32))
    owner: Mapped[str] = mapped_column(String(100))
    install_date: Mapped[date] = mapped_column(Date)
    battery_expiry: Mapped[date | None] = mapped_column(Date)
    pad_expiry: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code(16), default="active")
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DeviceInspection(Base):
    """A monthly inspection (巡检) of a device: working, expired parts, or missing."""

    __tablename__ = "equipment_inspections"
    __table_args__ = (Index("ix_equipment_inspections_device", "device_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("equipment_devices.id"))
    inspected_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(Code(16))
    inspector: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

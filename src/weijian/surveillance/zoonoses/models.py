"""Tables of zoonoses: a resident's exposure to brucellosis or echinococcosis (zoonosis_exposures) and the
screening campaigns held by village (screening_campaigns)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class ZoonosisExposure(Base):
    """One resident's exposure history for a zoonosis: the kinds (data/zoonoses.yaml, JSON list), onset and
    diagnosis dates, the village where it happened. `case_report_id` points at the case report once the
    surveillance case area has one (no foreign key: that table belongs to another area)."""

    __tablename__ = "zoonosis_exposures"
    __table_args__ = (Index("ix_zoonosis_exposures_village", "village_code", "disease"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    disease: Mapped[str] = mapped_column(Code(32))
    exposure_kinds: Mapped[str] = mapped_column(Text)  # JSON list of codes
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    onset_date: Mapped[date | None] = mapped_column(Date)
    diagnosis_date: Mapped[date | None] = mapped_column(Date)
    case_report_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ScreeningCampaign(Base):
    """A screening in one village on one day: how many were screened and how many were positive."""

    __tablename__ = "screening_campaigns"
    __table_args__ = (
        CheckConstraint("screened >= 0 AND positives >= 0 AND positives <= screened", name="counts"),
        Index("ix_screening_campaigns_village", "village_code", "disease", "screened_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disease: Mapped[str] = mapped_column(Code(32))
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    screened_on: Mapped[date] = mapped_column(Date)
    screened: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(Code(32))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

"""Tables of TB patient management: suspects referred, treatments (the course the designated hospital
notified, its supervisor and outcome), the first home visit, supervised doses and follow-ups."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class TbSuspect(Base):
    """A resident with symptoms, referred (推介转诊) to the designated TB hospital, and what it found."""

    __tablename__ = "tb_suspects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    symptoms: Mapped[str] = mapped_column(String(200))  # codes of tb.yaml symptoms, comma-separated
    referred_on: Mapped[date] = mapped_column(Date)
    referred_to: Mapped[str] = mapped_column(String(100))  # the designated hospital
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))  # the referring facility
    result: Mapped[str] = mapped_column(Code(16), default="pending")  # pending | confirmed | excluded
    result_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TbTreatment(Base):
    """A patient confirmed by the designated hospital and notified to the primary facility for management."""

    __tablename__ = "tb_treatments"
    __table_args__ = (Index("ix_tb_treatments_outcome", "outcome", "start_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    suspect_id: Mapped[int | None] = mapped_column(ForeignKey("tb_suspects.id"))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the notice received (管理通知单)
    start_date: Mapped[date] = mapped_column(Date)
    regimen: Mapped[str] = mapped_column(Code(16))
    drug_resistant: Mapped[bool] = mapped_column(Boolean, default=False)
    supervisor_kind: Mapped[str] = mapped_column(Code(16))  # medical | family
    supervisor_name: Mapped[str] = mapped_column(String(64))
    planned_months: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))  # the managing facility
    outcome: Mapped[str | None] = mapped_column(Code(16))  # None while under treatment
    outcome_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TbFirstVisit(Base):
    """The first home visit (第一次入户随访), due 72 hours after the notice; each failed try counted."""

    __tablename__ = "tb_first_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("tb_treatments.id"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)  # failed tries (患者不在): two are reported up
    done_by: Mapped[str | None] = mapped_column(String(64))


class TbDose(Base):
    """One day's supervised dose (督导服药): taken or missed, and who recorded it."""

    __tablename__ = "tb_doses"
    __table_args__ = (UniqueConstraint("treatment_id", "date", name="uq_tb_doses_treatment_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("tb_treatments.id"))
    date: Mapped[date] = mapped_column(Date)
    taken: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TbFollowUp(Base):
    """A follow-up of a patient under treatment: the findings and the next one due."""

    __tablename__ = "tb_follow_ups"
    __table_args__ = (Index("ix_tb_follow_ups_treatment_date", "treatment_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("tb_treatments.id"))
    date: Mapped[date] = mapped_column(Date)
    findings: Mapped[str | None] = mapped_column(Text)
    next_due: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

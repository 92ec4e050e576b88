"""Tables of severe mental illness management: the patients registered (登记在册, with the informed consent
and the latest state) and their follow-ups (随访, each classified with its next visit and the rule version)."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class MentalPatient(Base):
    """One resident registered under severe mental illness management, from registration to closing."""

    __tablename__ = "mental_patients"
    __table_args__ = (
        CheckConstraint("status in ('active', 'closed')", name="status"),
        CheckConstraint("risk_grade between 0 and 5", name="risk_grade"),
        Index("ix_mental_patients_status_next", "status", "next_visit_on"),
        # One active registration per person, whatever the writer.
        Index("uq_mental_patients_one_active", "resident_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    disease: Mapped[str] = mapped_column(Code(16))  # rules().diseases
    icd10: Mapped[str] = mapped_column(String(10))
    diagnosed_on: Mapped[date] = mapped_column(Date)
    diagnosed_by: Mapped[str | None] = mapped_column(String(100))  # the diagnosing hospital
    registered_on: Mapped[date] = mapped_column(Date)
    consent: Mapped[bool] = mapped_column(Boolean)  # 知情同意 to community management
    consent_signer: Mapped[str | None] = mapped_column(Code(16))  # patient | guardian
    consent_signer_name: Mapped[str | None] = mapped_column(String(50))
    consent_on: Mapped[date | None] = mapped_column(Date)
    no_consent_reason: Mapped[str | None] = mapped_column(Text)
    guardian_name: Mapped[str | None] = mapped_column(String(50))
    guardian_phone: Mapped[str | None] = mapped_column(String(20))
    risk_grade: Mapped[int] = mapped_column(Integer, default=0)  # the latest assessment
    klass: Mapped[str | None] = mapped_column(Code(16))  # the latest follow-up's class
    adherence: Mapped[str | None] = mapped_column(Code(16))  # the latest follow-up's
    last_visit_on: Mapped[date | None] = mapped_column(Date)
    next_visit_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code(16), default="active")
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    rule_version: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))


class MentalFollowUp(Base):
    """One follow-up (严重精神障碍患者随访服务记录表): the risk grade, the state, the adherence, and the class with
    the next visit it calls for (rules kept by version)."""

    __tablename__ = "mental_follow_ups"
    __table_args__ = (
        CheckConstraint("risk_grade between 0 and 5", name="risk_grade"),
        Index("ix_mental_follow_ups_patient_date", "patient_id", "date"),
        Index("ix_mental_follow_ups_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("mental_patients.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    risk_grade: Mapped[int] = mapped_column(Integer)
    symptoms: Mapped[str] = mapped_column(Code(16))
    insight: Mapped[str] = mapped_column(Code(16))
    social_function: Mapped[str] = mapped_column(Code(16))
    severe_adverse_reaction: Mapped[bool] = mapped_column(Boolean, default=False)
    severe_physical_illness: Mapped[bool] = mapped_column(Boolean, default=False)
    adherence: Mapped[str] = mapped_column(Code(16))
    klass: Mapped[str] = mapped_column(Code(16))
    next_visit_on: Mapped[dt.date] = mapped_column(Date)
    needs_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    note: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

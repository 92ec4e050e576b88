"""Tables: encounters (outpatient, inpatient, day surgery) with ICD-10 diagnoses, health checks,
screenings, chronic-disease registrations and follow-ups, referrals, and teleconsultations."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime

Money = Numeric(12, 2)


class Correctable:
    """An entry of the health record that is corrected or voided, never deleted: who did it, when, why
    (each change is also in the audit log, with the values before). A voided entry stays readable in the
    record but counts in no figure, tally or rule."""

    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(64))
    void_reason: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last correction
    corrected_by: Mapped[str | None] = mapped_column(String(64))
    correction_reason: Mapped[str | None] = mapped_column(Text)


class Encounter(Correctable, Base):
    """A visit or stay at a facility: outpatient, inpatient (admission → discharge) or day surgery."""

    __tablename__ = "encounters"
    __table_args__ = (
        # Covering for the indicators' grouped count (care.counts.encounter_counts): the visits are read
        # from the index alone, never from the table (~4x faster on SQLite at 1 million visits); voided_at
        # too, as the count leaves voided visits out.
        Index("ix_encounters_resident_date_type_facility", "resident_id", "start_date", "type", "facility_id",
              "voided_at"),
        Index("ix_encounters_facility_date", "facility_id", "start_date"),
        Index("ix_encounters_type_date", "type", "start_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))  # None: outside the county
    outside_facility_name: Mapped[str | None] = mapped_column(String(100))  # 县外 facility, free text
    type: Mapped[str] = mapped_column(Code(16))  # outpatient | inpatient | day_surgery
    department: Mapped[str | None] = mapped_column(String(50))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clinician_name: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)  # visit date, or admission date
    end_date: Mapped[date | None] = mapped_column(Date)  # discharge date (inpatient); None while admitted
    primary_diagnosis: Mapped[str | None] = mapped_column(Code(10))  # ICD-10
    note: Mapped[str | None] = mapped_column(Text)
    total_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    in_policy_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    diagnoses: Mapped[list[Diagnosis]] = relationship(
        back_populates="encounter", cascade="all, delete-orphan", order_by="Diagnosis.seq")

    @property
    def ward_days(self) -> int | None:
        """Inpatient days as hospitals count them: discharge − admission, at least 1."""
        if self.type != "inpatient" or self.end_date is None:
            return None
        return max(1, (self.end_date - self.start_date).days)


class Diagnosis(Base):
    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)  # 1 = primary
    code: Mapped[str] = mapped_column(Code(10), index=True)  # ICD-10

    encounter: Mapped[Encounter] = relationship(back_populates="diagnoses")


class HealthCheck(Correctable, Base):
    """健康体检: measurements; `kind` annual_65 is the yearly check of residents aged 65 and over."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_resident_date", "resident_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    date: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(Code(16), default="general")  # general | annual_65
    height_cm: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    bmi: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    sbp: Mapped[int | None] = mapped_column(Integer)  # systolic mmHg
    dbp: Mapped[int | None] = mapped_column(Integer)  # diastolic mmHg
    fasting_glucose: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))  # mmol/L
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Screening(Correctable, Base):
    """两癌筛查 (cervical, breast) and 产前筛查 (prenatal)."""

    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_kind_date", "kind", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Code(16))  # cervical | breast | prenatal
    result: Mapped[str] = mapped_column(Code(16))  # negative | positive | abnormal | high_risk | low_risk
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ChronicRegistration(Base):
    """A patient under chronic-disease management (hypertension or type-2 diabetes)."""

    __tablename__ = "chronic_registrations"
    __table_args__ = (
        Index("ix_chronic_registrations_program_status", "program", "status"),
        # One active registration of a resident per programme, whatever the writer (two requests racing past
        # the service's check, an import): a partial unique index, which SQLite and PostgreSQL both enforce.
        Index("uq_chronic_registrations_active", "resident_id", "program", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    program: Mapped[str] = mapped_column(Code(16))  # hypertension | diabetes
    registered_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Code(16))  # diagnosis | manual
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    status: Mapped[str] = mapped_column(Code(16), default="active")  # active | closed
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    follow_ups: Mapped[list[FollowUp]] = relationship(back_populates="registration", order_by="FollowUp.date")


class FollowUp(Base):
    """One chronic-disease follow-up with measured values and its control classification."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_registration_date", "registration_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("chronic_registrations.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    method: Mapped[str] = mapped_column(Code(16), default="clinic")  # clinic | home | phone
    sbp: Mapped[int | None] = mapped_column(Integer)
    dbp: Mapped[int | None] = mapped_column(Integer)
    fasting_glucose: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))  # 体重, now (target: `record`)
    bmi: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))  # 体质指数, from the weight and the height given
    heart_rate: Mapped[int | None] = mapped_column(Integer)  # 心率, 次/分钟
    in_control: Mapped[bool] = mapped_column(Boolean)
    # 此次随访分类: controlled | uncontrolled | adverse_reaction | complication (rules.CLASSIFICATIONS)
    classification: Mapped[str] = mapped_column(Code(16))
    adverse_reaction: Mapped[bool] = mapped_column(Boolean, default=False)  # 药物不良反应
    # The chronic_programs.yaml version that classified it: a later rule never reclassifies it.
    rule_version: Mapped[int] = mapped_column(Integer)
    complication: Mapped[bool] = mapped_column(Boolean, default=False)  # 新发并发症或原有并发症加重
    next_visit_on: Mapped[dt.date] = mapped_column(Date)  # 下次随访日期, as the classification sets it
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    clinician_name: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    refer_reason: Mapped[str | None] = mapped_column(Code(16))  # urgent | complication | consecutive | None
    # 紧急转诊: the limits reached and danger signs noted, comma-separated codes (rules.Program.urgent_reasons).
    urgent_reasons: Mapped[str | None] = mapped_column(String(255))
    adherence: Mapped[str | None] = mapped_column(Code(16))  # 服药依从性: regular | intermittent | none
    # The rest of the national record form as JSON (schemas.FollowUpRecord): 症状, targets, 生活方式指导,
    # 药物不良反应 described, 用药情况, 转诊 (原因, 机构及科别).
    record: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    registration: Mapped[ChronicRegistration] = relationship(back_populates="follow_ups")


_LIVE_DOWNWARD = "parent_id IS NOT NULL AND status NOT IN ('rejected', 'cancelled')"


class Referral(Base):
    """双向转诊: up (village → township → county → beyond) or down (back towards the village)."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_to_status", "to_facility_id", "status"),
        Index("ix_referrals_from_status", "from_facility_id", "status"),
        Index("ix_referrals_requested_at", "requested_at"),
        # At most one live downward referral back from one upward referral (a rejected or cancelled one may be
        # followed by another): the service's check, held by the database under concurrent requests too.
        Index("uq_referrals_one_live_downward", "parent_id", unique=True,
              sqlite_where=text(_LIVE_DOWNWARD), postgresql_where=text(_LIVE_DOWNWARD)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    direction: Mapped[str] = mapped_column(Code(8))  # up | down
    from_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    from_clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_clinician_name: Mapped[str | None] = mapped_column(String(64))
    to_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))  # None: outside county
    to_department: Mapped[str | None] = mapped_column(String(50))
    out_of_county: Mapped[bool] = mapped_column(Boolean, default=False)
    outside_facility_name: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    diagnosis: Mapped[str | None] = mapped_column(Code(10))  # ICD-10
    urgency: Mapped[str] = mapped_column(Code(8), default="routine")  # routine | urgent
    summary: Mapped[str | None] = mapped_column(Text)
    # requested | accepted | rejected | arrived | completed | cancelled
    status: Mapped[str] = mapped_column(Code(16), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharge_summary: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))  # the upward referral it returns from
    # Optimistic lock: two simultaneous accepts — exactly one UPDATE matches the version it read.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Teleconsultation(Base):
    """远程会诊: a township/village clinician asks a county department; a specialist answers."""

    __tablename__ = "teleconsultations"
    __table_args__ = (Index("ix_teleconsultations_to_status", "to_facility_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    from_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requester_name: Mapped[str | None] = mapped_column(String(64))
    to_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    department: Mapped[str] = mapped_column(String(50))
    urgency: Mapped[str] = mapped_column(Code(8), default="routine")
    question: Mapped[str] = mapped_column(Text)
    extracts: Mapped[str | None] = mapped_column(Text)  # JSON: record extracts attached
    # requested | scheduled | answered | cancelled
    status: Mapped[str] = mapped_column(Code(16), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    specialist_name: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

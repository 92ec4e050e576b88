"""Tables: vaccination points, vaccine lots and stock, vaccinations, AEFI reports, refusals,
vaccination certificates, and the newborn "one thing" (出生一件事) registrations with their hand-offs."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class VaccinationPoint(Base):
    """接种点: a facility that vaccinates children (township centres, the county MCH hospital ...)."""

    __tablename__ = "vaccination_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Area served, as a 12-digit org-unit code (usually the township): recall lists by point use it.
    serves_orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Flag stock below this many days of average use (over the last 30 days).
    min_days_of_stock: Mapped[int] = mapped_column(Integer, default=14)


class VaccineLot(Base):
    __tablename__ = "vaccine_lots"
    __table_args__ = (UniqueConstraint("vaccine", "manufacturer", "lot_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vaccine: Mapped[str] = mapped_column(Code(16), index=True)  # schedule code: HepB, BCG, ...
    product: Mapped[str] = mapped_column(String(100))  # product name as on the package
    manufacturer: Mapped[str] = mapped_column(String(100))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiry_date: Mapped[date] = mapped_column(Date)
    doses_per_vial: Mapped[int] = mapped_column(Integer, default=1)


class StockBalance(Base):
    """Doses of one lot on hand at one point; the CHECK makes a negative balance impossible."""

    __tablename__ = "stock_balances"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    point_id: Mapped[int] = mapped_column(ForeignKey("vaccination_points.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("vaccine_lots.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class StockMovement(Base):
    """Every change of a balance: receipt, use (a vaccination), wastage, transfer out/in, adjustment."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_point_at", "point_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("vaccination_points.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("vaccine_lots.id"), index=True)
    kind: Mapped[str] = mapped_column(Code(16))  # receipt | use | wastage | transfer_out | transfer_in | adjustment
    quantity: Mapped[int] = mapped_column(Integer)  # signed: + into the point, − out of it
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    vaccination_id: Mapped[int | None] = mapped_column(ForeignKey("vaccinations.id"))
    counterpart_point_id: Mapped[int | None] = mapped_column(ForeignKey("vaccination_points.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str | None] = mapped_column(String(64))


class Vaccination(Base):
    """One dose given to a child (or recorded from the child's paper certificate: source=historical)."""

    __tablename__ = "vaccinations"
    __table_args__ = (
        UniqueConstraint("resident_id", "vaccine", "dose"),
        Index("ix_vaccinations_date_vaccine", "date", "vaccine"),
        Index("ix_vaccinations_point_date", "point_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    vaccine: Mapped[str] = mapped_column(Code(16))
    dose: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(Code(16), default="recorded")  # recorded | historical
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("vaccine_lots.id"))
    point_id: Mapped[int | None] = mapped_column(ForeignKey("vaccination_points.id"))
    # Snapshot of the lot as given (kept even if the lot row is corrected later).
    product: Mapped[str | None] = mapped_column(String(100))
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    lot_number: Mapped[str | None] = mapped_column(String(50))
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)  # dt.date: `date` is the column above
    site: Mapped[str | None] = mapped_column(Code(24))  # left_deltoid | right_deltoid | left_thigh | ... | oral
    route: Mapped[str | None] = mapped_column(Code(8))  # im | sc | id | oral
    vaccinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    vaccinator_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    # Why the dose counts for nothing (None: it counts): the engine's reason, judged by the edition in force
    # on `date` (before_min_age | before_min_interval | live_within_28_days). Set on every write for the
    # child's whole history (records.service); coverage and timeliness skip such doses.
    invalid_reason: Mapped[str | None] = mapped_column(Code(24))


class Refusal(Base):
    """A guardian declined a dose (or a medical contraindication); shown on recall lists, not counted."""

    __tablename__ = "vaccination_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    vaccine: Mapped[str] = mapped_column(Code(16))
    dose: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Code(24))  # refused | contraindication | temporary_deferral
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Aefi(Base):
    """疑似预防接种异常反应: reported against one dose, listed for the CDC."""

    __tablename__ = "aefi_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vaccination_id: Mapped[int] = mapped_column(ForeignKey("vaccinations.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    onset_date: Mapped[date] = mapped_column(Date)
    symptoms: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Code(16))  # mild | moderate | severe
    status: Mapped[str] = mapped_column(Code(16), default="reported")  # reported | investigating | closed
    classification: Mapped[str | None] = mapped_column(Code(32))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    reported_by: Mapped[str | None] = mapped_column(String(64))


class VaccinationCertificate(Base):
    """预防接种证: one per child."""

    __tablename__ = "vaccination_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), unique=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("vaccination_points.id"))


class BirthRegistration(Base):
    """出生"一件事": one form at the delivery hospital registers the newborn and starts the hand-offs."""

    __tablename__ = "birth_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), unique=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))  # delivery hospital
    birth_certificate_number: Mapped[str] = mapped_column(String(32), unique=True)  # 出生医学证明编号
    born_at: Mapped[datetime] = mapped_column(UTCDateTime)
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    gestational_weeks: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    handoffs: Mapped[list[Handoff]] = relationship(back_populates="birth", order_by="Handoff.department")


class Handoff(Base):
    """A department the newborn bundle hands off to: household registration, insurance, social-security card."""

    __tablename__ = "birth_handoffs"
    __table_args__ = (UniqueConstraint("birth_id", "department"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    birth_id: Mapped[int] = mapped_column(ForeignKey("birth_registrations.id"))
    department: Mapped[str] = mapped_column(Code(32))  # household_registration | insurance | social_security_card
    status: Mapped[str] = mapped_column(Code(16), default="pending")  # pending | sent | done
    packet: Mapped[str | None] = mapped_column(Text)  # JSON sent to the department
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    birth: Mapped[BirthRegistration] = relationship(back_populates="handoffs")


class NextDue(Base):
    """When each child may next appear on a recall list (a dose still to give becoming due or overdue), by
    the engine, so that a week's list runs the engine only for the children with something due by its end.
    Derived data: kept in the same transaction as every vaccination written
    through the immunization services, and rebuilt by `weijian immunization refresh-due` (after a schedule
    edition changes, or doses written around the services). immunization.due owns the rules."""

    __tablename__ = "vaccination_next_due"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    # Over the doses still to give (None: nothing left under `edition`): the earliest earliest-date, the
    # earliest complete-before date, the earliest recommended date (the two overdue rules).
    next_due: Mapped[date | None] = mapped_column(Date)
    next_overdue: Mapped[date | None] = mapped_column(Date)
    next_recommended: Mapped[date | None] = mapped_column(Date)
    edition: Mapped[str] = mapped_column(String(32))  # the schedule edition the engine used
    birth_date: Mapped[date] = mapped_column(Date)  # as computed: a corrected birth date makes the row stale
    last_dose: Mapped[date | None] = mapped_column(Date)  # the history's latest dose date
    computed_on: Mapped[date] = mapped_column(Date)  # the engine's as-of date

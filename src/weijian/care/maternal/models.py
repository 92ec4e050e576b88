"""Tables of maternal health management: pregnancies (建册 to delivery or end, with the risk colour),
antenatal visits (the five 产前检查) and postpartum visits (产后访视, 产后42天健康检查)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class Pregnancy(Base):
    """One pregnancy of a resident under management, from registration (建册) to delivery or its end."""

    __tablename__ = "pregnancies"
    __table_args__ = (
        CheckConstraint("status in ('open', 'delivered', 'ended')", name="status"),
        CheckConstraint("risk_colour in ('green', 'yellow', 'orange', 'red')", name="risk_colour"),
        Index("ix_pregnancies_status_lmp", "status", "lmp"),
        Index("ix_pregnancies_delivered_on", "delivered_on"),
        # One open pregnancy per woman, whatever the writer: the service's check, held by the database.
        Index("uq_pregnancies_one_open", "resident_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    lmp: Mapped[date] = mapped_column(Date)  # 末次月经
    edd: Mapped[date] = mapped_column(Date)  # 预产期, LMP + 280 days
    registered_on: Mapped[date] = mapped_column(Date)  # 建册
    booked_weeks: Mapped[int] = mapped_column(Integer)  # 建册孕周: completed weeks on registered_on
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    gravidity: Mapped[int] = mapped_column(Integer, default=1)  # 孕次, this one included
    parity: Mapped[int] = mapped_column(Integer, default=0)  # 产次, before this one
    risk_colour: Mapped[str] = mapped_column(Code(8), default="green")  # rules().colours
    risk_infectious: Mapped[bool] = mapped_column(Boolean, default=False)  # 紫色, alongside the colour
    risk_criteria: Mapped[str | None] = mapped_column(String(255))  # comma-separated criterion codes
    graded_on: Mapped[date | None] = mapped_column(Date)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))  # orange/red: the upward referral
    status: Mapped[str] = mapped_column(Code(16), default="open")  # open | delivered | ended
    delivered_on: Mapped[date | None] = mapped_column(Date)  # the delivery, or the day the pregnancy ended
    discharged_on: Mapped[date | None] = mapped_column(Date)  # from the delivery facility
    outcome: Mapped[str | None] = mapped_column(Code(16))  # rules().outcomes
    live_births: Mapped[int] = mapped_column(Integer, default=0)  # 活产数 (twins: 2)
    delivery_facility_name: Mapped[str | None] = mapped_column(String(100))
    # immunization's birth registration of the newborn: a plain number, no foreign key (care does not depend
    # on immunization; the newborn page links back through the composition root).
    birth_registration_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    antenatal_visits: Mapped[list[AntenatalVisit]] = relationship(
        back_populates="pregnancy", order_by="AntenatalVisit.number")
    postpartum_visits: Mapped[list[PostpartumVisit]] = relationship(
        back_populates="pregnancy", order_by="PostpartumVisit.date")


class AntenatalVisit(Base):
    """One of the five antenatal checks (产前检查随访), numbered 1–5."""

    __tablename__ = "antenatal_visits"
    __table_args__ = (UniqueConstraint("pregnancy_id", "number"),
                      Index("ix_antenatal_visits_date", "date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pregnancy_id: Mapped[int] = mapped_column(ForeignKey("pregnancies.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1–5
    date: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)  # 孕周: completed weeks
    days: Mapped[int] = mapped_column(Integer)  # and days
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    sbp: Mapped[int | None] = mapped_column(Integer)
    dbp: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[str | None] = mapped_column(Text)
    out_of_window_reason: Mapped[str | None] = mapped_column(Text)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    pregnancy: Mapped[Pregnancy] = relationship(back_populates="antenatal_visits")


class PostpartumVisit(Base):
    """产后访视 (home, within a week of discharge) or 产后42天健康检查 (check_42)."""

    __tablename__ = "postpartum_visits"
    __table_args__ = (UniqueConstraint("pregnancy_id", "kind"),
                      CheckConstraint("kind in ('home', 'check_42')", name="kind"),
                      Index("ix_postpartum_visits_date", "date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pregnancy_id: Mapped[int] = mapped_column(ForeignKey("pregnancies.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(Code(16))
    date: Mapped[date] = mapped_column(Date)
    # Days after the discharge (or the delivery when no discharge is recorded): 产后访视率 counts ≤ 28.
    days_after_discharge: Mapped[int] = mapped_column(Integer)
    findings: Mapped[str | None] = mapped_column(Text)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    pregnancy: Mapped[Pregnancy] = relationship(back_populates="postpartum_visits")

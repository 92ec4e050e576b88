"""Tables of child health management 0–6: the checks of the schedule (新生儿访视, 满月, the infant, toddler and
preschool checks) with their measurements and WHO 2006 z-scores, and 体弱儿 management (a child put under
management for a reason, closed when it is resolved)."""
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
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class ChildCheck(Base):
    """One check of the schedule (rules().checks: newborn, m1, m3 … y6), at most one of each per child."""

    __tablename__ = "child_checks"
    __table_args__ = (
        UniqueConstraint("resident_id", "check_code"),
        CheckConstraint("hearing is null or hearing in ('pass', 'refer')", name="hearing"),
        Index("ix_child_checks_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    check_code: Mapped[str] = mapped_column(Code(8))  # childcare.yaml's code
    date: Mapped[date] = mapped_column(Date)
    age_months: Mapped[int] = mapped_column(Integer)  # completed months on the day
    age_days: Mapped[int] = mapped_column(Integer)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    length_cm: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))  # recumbent under 2 years, standing after
    head_cm: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    development_ok: Mapped[bool | None] = mapped_column(Boolean)  # 发育评估: passed (None: not assessed)
    haemoglobin_g_l: Mapped[int | None] = mapped_column(Integer)  # 血红蛋白 g/L
    hearing: Mapped[str | None] = mapped_column(Code(8))  # pass | refer
    vision: Mapped[str | None] = mapped_column(String(16))  # 视力, as read (e.g. 4.9/5.0)
    tcm_guidance: Mapped[bool] = mapped_column(Boolean, default=False)  # 中医药健康管理 guidance given
    z_wfa: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))  # WHO 2006 weight-for-age
    z_lhfa: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))  # length/height-for-age
    z_wflh: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))  # weight-for-length/height
    frail: Mapped[str | None] = mapped_column(String(64))  # comma-separated 体弱儿 reasons found at this check
    findings: Mapped[str | None] = mapped_column(Text)
    out_of_window_reason: Mapped[str | None] = mapped_column(Text)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))


class FrailChild(Base):
    """体弱儿 management: a child under management for one reason (underweight, stunting, wasting, anaemia),
    opened by the check that found it, closed by a later check that no longer finds it (or by hand)."""

    __tablename__ = "frail_children"
    __table_args__ = (
        CheckConstraint("status in ('open', 'closed')", name="status"),
        Index("ix_frail_children_status", "status"),
        # One open case per child and reason, whatever the writer.
        Index("uq_frail_children_open", "resident_id", "reason", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    reason: Mapped[str] = mapped_column(Code(16))  # childcare.yaml's frail_reasons
    severity: Mapped[str | None] = mapped_column(Code(8))  # moderate | severe (growth reasons)
    opened_on: Mapped[date] = mapped_column(Date)
    opened_check_id: Mapped[int | None] = mapped_column(ForeignKey("child_checks.id"))
    status: Mapped[str] = mapped_column(Code(8), default="open")
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_check_id: Mapped[int | None] = mapped_column(ForeignKey("child_checks.id"))
    closed_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

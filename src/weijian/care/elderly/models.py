"""Tables of the elderly's annual service: the self-care ability assessment with the auxiliary tests, linked
to the year's health check (elderly_assessments), and the TCM constitution identification with its guidance
(tcm_assessments). Each keeps the version of the rules it was scored by."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class ElderlyAssessment(Base):
    """老年人生活自理能力评估 of one year's service: the five items' scores, the total and its band, and the
    auxiliary tests recorded with the health check it belongs to."""

    __tablename__ = "elderly_assessments"
    __table_args__ = (
        CheckConstraint("band in ('independent', 'mild', 'moderate', 'dependent')", name="band"),
        Index("ix_elderly_assessments_resident_date", "resident_id", "date"),
        Index("ix_elderly_assessments_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    health_check_id: Mapped[int | None] = mapped_column(ForeignKey("health_checks.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    eating: Mapped[int] = mapped_column(Integer)  # 进餐 score
    grooming: Mapped[int] = mapped_column(Integer)  # 梳洗
    dressing: Mapped[int] = mapped_column(Integer)  # 穿衣
    toileting: Mapped[int] = mapped_column(Integer)  # 如厕
    activity: Mapped[int] = mapped_column(Integer)  # 活动
    total: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(Code(16))  # elderly.yaml bands
    levels: Mapped[str] = mapped_column(Text)  # JSON: item → level chosen
    tests: Mapped[str] = mapped_column(Text)  # JSON: test code → {"result", "note"} (elderly.yaml tests)
    rule_version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))


class TcmAssessment(Base):
    """中医体质辨识 of one year's 老年人中医药健康管理: the 33 answers, the nine scores and judgements, the main
    constitution and the guidance given (情志调摄, 饮食调养, 起居调摄, 运动保健, 穴位保健, other)."""

    __tablename__ = "tcm_assessments"
    __table_args__ = (
        Index("ix_tcm_assessments_resident_date", "resident_id", "date"),
        Index("ix_tcm_assessments_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    date: Mapped[date] = mapped_column(Date)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    answers: Mapped[str] = mapped_column(String(40))  # the 33 answers as digits, question 1 first
    scores: Mapped[str] = mapped_column(Text)  # JSON: constitution → score
    verdicts: Mapped[str] = mapped_column(Text)  # JSON: constitution → yes | leaning | basic | no
    main: Mapped[str | None] = mapped_column(Code(24))  # the constitution guidance starts from
    guidance: Mapped[str | None] = mapped_column(String(120))  # comma-separated guidance headings given
    guidance_other: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

"""Tables of facility standardisation: an assessment of one facility against one standard of
data/standards.yaml (standard_assessments) and its result per checklist item (standard_item_results)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class StandardAssessment(Base):
    """One assessment (评估/验收) of a facility against a standard, by an assessor on a day. `meets` is
    judged when it is recorded, by the checklist of the data file's `version` then: every required item
    passed."""

    __tablename__ = "standard_assessments"
    __table_args__ = (Index("ix_standard_assessments_facility", "facility_id", "standard", "assessed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    standard: Mapped[str] = mapped_column(Code(32))
    rules_version: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(50))
    meets: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    results: Mapped[list[StandardItemResult]] = relationship(
        back_populates="assessment", order_by="StandardItemResult.id")


class StandardItemResult(Base):
    """One checklist item of an assessment: passed or not, with the evidence seen (a note)."""

    __tablename__ = "standard_item_results"
    __table_args__ = (UniqueConstraint("assessment_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("standard_assessments.id"))
    item: Mapped[str] = mapped_column(Code(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str | None] = mapped_column(String(500))

    assessment: Mapped[StandardAssessment] = relationship(back_populates="results")

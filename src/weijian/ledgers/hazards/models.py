"""Tables of the hazard ledger (隐患排查整改): inspections of facilities, the problems found with the four to's
(到人 the responsible person and leader, 到事 the problem, 到时间 the deadline, 到标准 the standard to meet),
their photos, rectifications and the inspector's verification. The three ledgers (问题, 责任人, 落实到位) are
views of these rows (hazards.queries); overdue is computed on read from the county clock."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class Inspection(Base):
    """排查: a facility inspected for one category (data/hazards.yaml) on a day, by an inspector. The facility's
    org unit is kept so that scope is one indexed condition."""

    __tablename__ = "hazard_inspections"
    __table_args__ = (Index("ix_hazard_inspections_orgunit", "orgunit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    category: Mapped[str] = mapped_column(Code(32))
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Problem(Base):
    """A problem found (隐患): where, what, how severe; who answers for it (责任人) and which leader (责任领导);
    the deadline (not before the inspection) and the standard to meet. status: open (to rectify, or sent
    back), submitted (a rectification awaits verification), closed (accepted)."""

    __tablename__ = "hazard_problems"
    __table_args__ = (CheckConstraint("status in ('open', 'submitted', 'closed')", name="status"),
                      Index("ix_hazard_problems_orgunit_status", "orgunit_code", "status"),
                      Index("ix_hazard_problems_deadline", "deadline"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("hazard_inspections.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    location: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Code(16))
    responsible_person: Mapped[str] = mapped_column(String(64))
    responsible_leader: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[date] = mapped_column(Date)
    standard: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Code(16), default="open")
    closed_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Rectification(Base):
    """整改: what was done and when, by whom (the reporter); then the verification (验收) by another user:
    accepted or sent_back, with a note."""

    __tablename__ = "hazard_rectifications"
    __table_args__ = (CheckConstraint("verdict is null or verdict in ('accepted', 'sent_back')", name="verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("hazard_problems.id"), index=True)
    done_on: Mapped[date] = mapped_column(Date)
    measures: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    verdict: Mapped[str | None] = mapped_column(Code(16))
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_on: Mapped[date | None] = mapped_column(Date)
    verify_note: Mapped[str | None] = mapped_column(Text)


class Photo(Base):
    """A photo of a problem (stage problem) or of a rectification's evidence (stage evidence): the file is
    stored under the upload folder by its SHA-256 (so a file written by a request that was then rolled back
    is an unreferenced copy, never a wrong one); its type was read from its bytes."""

    __tablename__ = "hazard_photos"
    __table_args__ = (CheckConstraint("stage in ('problem', 'evidence')", name="stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("hazard_problems.id"), index=True)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_rectifications.id"))
    stage: Mapped[str] = mapped_column(Code(16))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

"""Tables of practical projects (为民办实事): the project with its target and calendar, its milestones and the
progress entered. A project's progress is also computed from a source (an indicator, a facility checklist)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class Project(Base):
    """A practical project: name, category and unit (data/projects.yaml), the owner (牵头单位) and the person
    in charge, a target (a number in the unit) and the calendar from start to end (both days counted), the
    tolerance of 序时进度, and where the figure done comes from: entered (`source` None) or a computed source
    (`indicator:<id>`, or a name another area registers, projects.sources)."""

    __tablename__ = "projects"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="calendar"),
                      CheckConstraint("target > 0", name="target"),
                      CheckConstraint("tolerance >= 0 AND tolerance < 1", name="tolerance"),
                      Index("ix_projects_category", "category"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(Code(32))
    owner: Mapped[str] = mapped_column(String(100))
    person_in_charge: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(Code(16))
    target: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    tolerance: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    source: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Milestone(Base):
    """A milestone of a project: what, by which day, the figure it stands for (optional), when reached."""

    __tablename__ = "project_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    target_done: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    reached_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ProgressEntry(Base):
    """The figure done as of a day, entered with a note and evidence (a note is required above the target)."""

    __tablename__ = "project_progress"
    __table_args__ = (CheckConstraint("done >= 0", name="done"),
                      Index("ix_project_progress_project_day", "project_id", "as_of"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    as_of: Mapped[date] = mapped_column(Date)
    done: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

"""Tables of training and outreach: a session held in an org unit for a project, with the people trained
(人次) (training_sessions)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, UTCDateTime


class TrainingSession(Base):
    """One session (e.g. 老年人智能手机培训) on a day, in a township or village, under a project's name, with
    the number of people trained (人次: a person at two sessions counts twice)."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("trained >= 1", name="trained"),
        Index("ix_training_sessions_orgunit", "orgunit_code", "held_on"),
        Index("ix_training_sessions_project", "project", "held_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    project: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    trained: Mapped[int] = mapped_column(Integer)
    organizer: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

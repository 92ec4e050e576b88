"""Tables of the early-warning signals: one row per (disease, org unit, method, day) that signalled, with its
figures and its lifecycle, and the case reports linked to a signal during the response."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime

STATES = ("new", "verified_true", "verified_false", "responding", "closed")
OPEN_STATES = ("new", "verified_true", "responding")


class Signal(Base):
    """预警信号: a method's signal on one day for one disease in one township (or the county). Re-runs of the
    daily job add nothing: (disease, org unit, method, day) is unique."""

    __tablename__ = "surveillance_signals"
    __table_args__ = (
        UniqueConstraint("disease_code", "orgunit_code", "method", "signal_date"),
        Index("ix_surveillance_signals_state_due", "state", "verify_due_at"),
        Index("ix_surveillance_signals_date", "signal_date", "disease_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disease_code: Mapped[str] = mapped_column(String(32))
    # The township's or the county's 12-digit code, as the daily counts key it (no foreign key: the counts
    # provider names the unit; the pages show the registry's name when there is one).
    orgunit_code: Mapped[str] = mapped_column(Code(12))
    method: Mapped[str] = mapped_column(Code(24))  # detection.METHOD_NAMES
    signal_date: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)  # None: EARS with σ = 0
    threshold: Mapped[float] = mapped_column(Float)
    figures: Mapped[str] = mapped_column(Text)  # JSON: the method's parameters and the day's counts
    state: Mapped[str] = mapped_column(Code(16), default="new")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    verify_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verification_note: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by: Mapped[str | None] = mapped_column(String(64))
    response_notes: Mapped[str | None] = mapped_column(Text)  # the field investigation
    measures: Mapped[str | None] = mapped_column(Text)  # the measures taken
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class SignalCase(Base):
    """A case report linked to a signal during its response. `case_report_id` is a plain integer for now: the
    case reports' table (surveillance.cases) is built at the same time; the lead adds the foreign key."""

    __tablename__ = "surveillance_signal_cases"

    signal_id: Mapped[int] = mapped_column(ForeignKey("surveillance_signals.id", ondelete="CASCADE"),
                                           primary_key=True)
    case_report_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    linked_by: Mapped[str] = mapped_column(String(64))

"""Tables of the indicators domain: the year-end resident population (常住人口) the statistics office
publishes per org unit, entered by bureau staff (indicators.population)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, UTCDateTime


class ResidentPopulation(Base):
    """The statistics office's year-end resident population of an org unit (township or county, or a
    village where it publishes one) for a year; one row per (org unit, year), replaced when entered again
    (each entry is in the audit log with the value before)."""

    __tablename__ = "resident_populations"

    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(String(200))  # e.g. 英山县2025年国民经济和社会发展统计公报
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

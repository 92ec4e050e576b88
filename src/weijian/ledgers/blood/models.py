"""Tables of voluntary blood donation: donors (blood_donors: a resident of the county, or a person from
outside it with name, identity number and birth date) and their donations (blood_donations)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class BloodDonor(Base):
    """A donor: linked to a resident (`resident_id`; name, sex and birth date copied from the record when
    registered), or from outside the county (no resident; `id_number` stored, shown masked)."""

    __tablename__ = "blood_donors"
    __table_args__ = (
        CheckConstraint("sex in ('male', 'female')", name="sex"),
        Index("ix_blood_donors_id_number", "id_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No unique index: a resident merge may leave two donor rows on one record; the service reads a
    # person's donations across them (queries.history).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str | None] = mapped_column(String(18))
    sex: Mapped[str] = mapped_column(Code(8))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    blood_group: Mapped[str | None] = mapped_column(Code(8))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class BloodDonation(Base):
    """One donation: whole blood (`volume_ml`: 200, 300 or 400) or apheresis platelets (`units`: 1 or 2
    therapeutic units), on a day; `adverse_reaction` (献血反应) ends the repeat donor's extension to 60."""

    __tablename__ = "blood_donations"
    __table_args__ = (
        CheckConstraint("kind in ('whole_blood', 'platelets')", name="kind"),
        Index("ix_blood_donations_donor", "donor_id", "donated_on"),
        Index("ix_blood_donations_date", "donated_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("blood_donors.id"))
    donated_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Code(16))
    volume_ml: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int | None] = mapped_column(Integer)
    adverse_reaction: Mapped[bool] = mapped_column(Boolean, default=False)
    site: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

"""Tables: residents, households, residents' special groups, merges, the pairs found to be two people, and
each resident's residence history (where and in what status they lived, from which date)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Computed, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class Household(Base):
    """A household (户): a village and an address. Its householder (户主) is the member whose
    `relation_to_head` is `head` (one at most, enforced by the residents service)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # household number (户号)
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    # Yearly household income in yuan where recorded (poverty-risk monitoring compares costs with it).
    annual_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    members: Mapped[list[Resident]] = relationship(
        back_populates="household", foreign_keys="Resident.household_id", order_by="Resident.id"
    )

    @property
    def head(self) -> Resident | None:
        return next((m for m in self.members if m.relation_to_head == "head"), None)


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (
        # The search indexes (residents.search). Prefix search (LIKE 'x%') runs on the first column:
        # varchar_pattern_ops makes that true on PostgreSQL whatever the database collation, and
        # case_sensitive_like does it on SQLite. The columns after it hold everything a search's count
        # and page of ids read (scope, status, the result order), so neither touches the table's rows.
        Index("ix_residents_name", "name", "id", "village_code", "status",
              postgresql_ops={"name": "varchar_pattern_ops"}),
        Index("ix_residents_name_initials", "name_initials", "village_code", "status", "name", "id",
              postgresql_ops={"name_initials": "varchar_pattern_ops"}),
        Index("ix_residents_name_pinyin", "name_pinyin", "village_code", "status", "name", "id",
              postgresql_ops={"name_pinyin": "varchar_pattern_ops"}),
        Index("ix_residents_id_number", "id_number", "village_code", "status"),
        # In result order within one first letter: the first page of a pinyin search matching tens of
        # thousands (a single letter) without sorting them all.
        Index("ix_residents_initials_first_name", "initials_first", "name", "id", "name_initials",
              "village_code", "status"),
        Index("ix_residents_pinyin_first_name", "pinyin_first", "name", "id", "name_pinyin",
              "village_code", "status"),
        # A village doctor's searches read only the village's entries.
        Index("ix_residents_village_code_name", "village_code", "name", "id", "status", "name_initials",
              "name_pinyin"),
        Index("ix_residents_village_code_id_number", "village_code", "id_number", "status"),
        Index("ix_residents_phone", "phone", postgresql_ops={"phone": "varchar_pattern_ops"}),
        # The children of an area by age (immunization recall lists): count and ids without the rows.
        Index("ix_residents_children", "birth_date", "status", "village_code", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 18 characters, normalized; NULL only for a newborn not yet numbered.
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    name_initials: Mapped[str] = mapped_column(String(50))  # pinyin initials: 张三 → zs
    name_pinyin: Mapped[str] = mapped_column(String(200))  # zhangsan
    # First letters of the two, computed by the database (so bulk loads need not know them): they lead
    # the indexes that list a pinyin search's matches in name order.
    initials_first: Mapped[str] = mapped_column(String(1), Computed("substr(name_initials, 1, 1)"))
    pinyin_first: Mapped[str] = mapped_column(String(1), Computed("substr(name_pinyin, 1, 1)"))
    sex: Mapped[str] = mapped_column(Code(8))  # male | female
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    # head | spouse | son | daughter | parent | grandchild | sibling | daughter_in_law | other
    relation_to_head: Mapped[str | None] = mapped_column(Code(24))
    insurance_scheme: Mapped[str] = mapped_column(Code(16), default="none")  # resident | employee | none
    # active | merged (into merged_into_id) | deceased | moved_out
    status: Mapped[str] = mapped_column(Code(16), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    mother_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    household: Mapped[Household | None] = relationship(back_populates="members", foreign_keys=[household_id])
    groups: Mapped[list[ResidentGroup]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", order_by="ResidentGroup.group"
    )

    @property
    def group_codes(self) -> list[str]:
        return [g.group for g in self.groups]


class ResidentGroup(Base):
    """One special group a resident belongs to (特困, 低保, 脱贫, 监测户 ...; residents/data/groups.yaml)."""

    __tablename__ = "resident_groups"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(Code(32), primary_key=True)

    resident: Mapped[Resident] = relationship(back_populates="groups")


class ResidentMerge(Base):
    """Two records found to be one person: the merged record stays (status `merged`, pointing at the
    survivor), and the rows keyed by it move to the survivor (each listed in resident_merge_moves, so the
    merge can be undone). An undone merge stays, with who undid it and why; a record is merged once at a
    time (the partial unique index)."""

    __tablename__ = "resident_merges"
    __table_args__ = (
        Index("uq_resident_merges_live", "merged_id", unique=True,
              sqlite_where=text("undone_at IS NULL"), postgresql_where=text("undone_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    reason: Mapped[str] = mapped_column(String(200))
    merged_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))
    undo_reason: Mapped[str | None] = mapped_column(String(200))


class ResidentMergeMove(Base):
    """One row a merge changed: its table and id, the values of the columns changed before and after (JSON:
    {"resident_id": [merged, survivor], "dose": [1, 2]}), and a note where the change was more than a move
    (a duplicate chronic registration closed, doses renumbered, a year's accumulations combined, a row kept
    on the merged record). Undoing the merge writes the values before back, in reverse order."""

    __tablename__ = "resident_merge_moves"
    __table_args__ = (UniqueConstraint("merge_id", "seq", name="uq_resident_merge_moves_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("resident_merges.id"))
    entity: Mapped[str] = mapped_column(String(32))  # the record type, as the audit log names it
    seq: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(32))
    changes: Mapped[str] = mapped_column(Text)


class ResidentDistinctPair(Base):
    """Two records a clerk found to be two people despite a probable-duplicate match (same name and birth
    date, phone or household): the pair is not offered for review again. `first_id` < `second_id`."""

    __tablename__ = "resident_distinct_pairs"
    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_resident_distinct_pairs"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    second_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    marked_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# The bounds of a residence history: the first row of a resident holds since always (the record's first
# village is taken as where they lived before it was entered), the open row until further notice. Dates,
# not NULLs, so that "lived there on day d" is one range condition an index answers.
SINCE_ALWAYS = date(1900, 1, 1)
OPEN_END = date(9999, 12, 31)
# Statuses a residence row can hold: "merged" is not a period of a life but a finding about the record
# (a duplicate), read from the resident's current status.
RESIDENCE_STATUSES = ("active", "deceased", "moved_out")


class ResidentResidence(Base):
    """Where a resident lived, and in what status, from `valid_from` up to the day before `valid_to`: the
    rows of one resident do not overlap and cover every day. A move or a death closes the open row on its
    effective date and opens a new one (residents.history): the figures count an event in the village of
    the row covering the event's date, and a population on a date from the rows covering that date, so a
    move in December 2026 changes nothing of 2025."""

    __tablename__ = "resident_residences"
    __table_args__ = (
        # "Where did resident r live on day d": a range read of the first three columns; the last two
        # are carried so that the population's count reads no table row.
        Index("ix_resident_residences_lookup", "resident_id", "valid_from", "valid_to", "village_code", "status"),
        # "Who lived in villages lo..hi on day d" (the population on a reference date).
        Index("ix_resident_residences_village", "village_code", "valid_from", "valid_to", "status", "resident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    valid_from: Mapped[date] = mapped_column(Date)  # SINCE_ALWAYS for the first row
    valid_to: Mapped[date] = mapped_column(Date)  # exclusive; OPEN_END for the open row
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"))
    status: Mapped[str] = mapped_column(Code(16))  # RESIDENCE_STATUSES
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

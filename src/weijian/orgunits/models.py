"""Tables: org units, facilities, and dated snapshots of each facility's capacity (beds, physicians)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class OrgUnit(Base):
    """A county, township (乡镇/街道) or village (村/社区), keyed by its 12-digit statistical code."""

    __tablename__ = "orgunits"

    code: Mapped[str] = mapped_column(Code(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(Code(16), index=True)  # county | township | village
    # township: subdistrict | town | township; village: residents_committee | villagers_committee
    kind: Mapped[str | None] = mapped_column(Code(24))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("orgunits.code"), index=True)
    urban_rural_class: Mapped[str | None] = mapped_column(Code(3))  # NBS 111..220
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.code")
    facilities: Mapped[list[Facility]] = relationship(back_populates="orgunit", order_by="Facility.code")


class Facility(Base):
    """A health facility (机构) serving an org unit, with its place in the medical community."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # registry code, e.g. 医疗机构登记号
    name: Mapped[str] = mapped_column(String(100))
    # county_general | county_tcm | county_mch | township_centre | community_centre | village_clinic | cdc | other
    type: Mapped[str] = mapped_column(Code(32), index=True)
    grade: Mapped[str | None] = mapped_column(Code(16))  # level3_a, level2_a, level1, ungraded ...
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)
    community_role: Mapped[str] = mapped_column(Code(16), default="none")  # lead | member | none
    beds_approved: Mapped[int] = mapped_column(Integer, default=0)  # 编制床位
    beds_open: Mapped[int] = mapped_column(Integer, default=0)  # 实际开放床位
    physicians: Mapped[int] = mapped_column(Integer, default=0)  # 执业医师
    assistant_physicians: Mapped[int] = mapped_column(Integer, default=0)  # 执业助理医师
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    orgunit: Mapped[OrgUnit] = relationship(back_populates="facilities")
    capacity_history: Mapped[list[FacilityCapacity]] = relationship(
        back_populates="facility", order_by="FacilityCapacity.as_of"
    )


class FacilityCapacity(Base):
    """Beds and physicians as of a date: indicators for a past year use that year's figures."""

    __tablename__ = "facility_capacity"
    __table_args__ = (UniqueConstraint("facility_id", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    beds_approved: Mapped[int] = mapped_column(Integer)
    beds_open: Mapped[int] = mapped_column(Integer)
    physicians: Mapped[int] = mapped_column(Integer)
    assistant_physicians: Mapped[int] = mapped_column(Integer)

    facility: Mapped[Facility] = relationship(back_populates="capacity_history")

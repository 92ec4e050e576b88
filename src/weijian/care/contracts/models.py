"""Tables of family-doctor contracting: teams (家庭医生团队) with their members and the villages they serve,
and contracts (签约) of a resident with a team for a year, signed, renewed (linked to the previous one) or
ended with a reason."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime

MEMBER_ROLES = ("township_doctor", "village_doctor", "nurse", "public_health")
CONTRACT_STATUSES = ("signed", "renewed", "ended")


class ContractTeam(Base):
    """A family-doctor team (家庭医生团队), run from a facility (the township centre), serving villages."""

    __tablename__ = "contract_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    members: Mapped[list[ContractTeamMember]] = relationship(
        back_populates="team", order_by="ContractTeamMember.id", cascade="all, delete-orphan")
    villages: Mapped[list[ContractTeamVillage]] = relationship(
        back_populates="team", order_by="ContractTeamVillage.village_code", cascade="all, delete-orphan")


class ContractTeamMember(Base):
    """A member of a team: a user of weijian, or a named member of a facility's staff without an account."""

    __tablename__ = "contract_team_members"
    __table_args__ = (
        CheckConstraint("role in ('township_doctor', 'village_doctor', 'nurse', 'public_health')", name="role"),
        CheckConstraint("user_id is not null or staff_name is not null", name="who"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("contract_teams.id"), index=True)
    role: Mapped[str] = mapped_column(Code(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    staff_name: Mapped[str | None] = mapped_column(String(64))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    phone: Mapped[str | None] = mapped_column(String(20))

    team: Mapped[ContractTeam] = relationship(back_populates="members")


class ContractTeamVillage(Base):
    """A village (org unit) a team serves; a village may be served by more than one team."""

    __tablename__ = "contract_team_villages"

    team_id: Mapped[int] = mapped_column(ForeignKey("contract_teams.id"), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), primary_key=True, index=True)

    team: Mapped[ContractTeam] = relationship(back_populates="villages")


class FamilyDoctorContract(Base):
    """One contract (签约) of a resident with a team, for a term (a year) from `start_date` to `end_date`
    (both included). `status`: signed (a first contract, or with another team), renewed (续约: continues
    `previous_id`), ended (解约 before its end with a reason, or superseded by its renewal: `renewed`)."""

    __tablename__ = "family_doctor_contracts"
    __table_args__ = (
        CheckConstraint("status in ('signed', 'renewed', 'ended')", name="status"),
        CheckConstraint("end_date >= start_date", name="term"),
        Index("ix_family_doctor_contracts_end_date", "end_date", "status"),
        Index("ix_family_doctor_contracts_team", "team_id", "status"),
        # One current contract per resident, whatever the writer: the service's check, held by the database.
        Index("uq_family_doctor_contracts_current", "resident_id", unique=True,
              sqlite_where=text("status != 'ended'"), postgresql_where=text("status != 'ended'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("contract_teams.id"))
    package: Mapped[str] = mapped_column(Code(32))  # contract_packages.yaml
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    signed_on: Mapped[date] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code(16), default="signed")
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("family_doctor_contracts.id"), index=True)
    # The key populations the resident belonged to on signing (comma-separated codes), for the record.
    key_populations: Mapped[str | None] = mapped_column(String(255))
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Code(24))
    end_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(64))

    team: Mapped[ContractTeam] = relationship()

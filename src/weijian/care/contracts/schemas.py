"""Shapes of family-doctor contracting: the commands every write takes (a team, signing, renewing and ending
a contract; core.commands — strict, each bad value refused naming its field) and the API's answers. What
needs the database, the clock or several fields is checked by the service."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.care.chronic.schemas import Day
from weijian.care.contracts.models import ContractTeam, FamilyDoctorContract
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command, refuse


def _resident(raw: Any) -> int:
    """A resident number as typed: anything that is no id is a resident that does not exist (in scope)."""
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse("care.contracts.errors.resident_not_found", resident_id=str(raw))
    return rid


def _team(raw: Any) -> int:
    tid = None if isinstance(raw, bool) else whole_number(raw)
    if tid is None:
        raise refuse("care.contracts.errors.team_not_found", team_id=str(raw))
    return tid


Note = Annotated[str | None, Field(max_length=500)]
TeamRef = Annotated[Id64, BeforeValidator(_team)]


class TeamMemberIn(Command):
    """A member: a weijian user (`username`) or a named member of a facility's staff (`staff_name`)."""

    role: str
    username: Annotated[str | None, Field(max_length=64)] = None
    staff_name: Annotated[str | None, Field(max_length=64)] = None
    phone: Annotated[str | None, Field(max_length=20)] = None


class TeamCreate(Command):
    """家庭医生团队: its name, the villages it serves (codes), its members; the facility defaults to the
    actor's."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    villages: list[Annotated[str, Field(max_length=12)]] = []
    members: list[TeamMemberIn] = []
    facility_id: Id64 | None = None


class ContractSign(Command):
    """签约: a resident with a team and a package, from `start_date` (default the signing day) for the term
    (contract_packages.yaml; `end_date` only to shorten or set it otherwise). The dates may be left out here:
    the service names them missing together with what it finds in the database."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    team_id: TeamRef | None = None
    package: str = "basic"
    signed_on: Day | None = None
    start_date: Day | None = None
    end_date: Day | None = None


class ContractRenew(Command):
    """续约: the contract continued (the same team unless another is named), from the day after it ends (or
    the signing day when it has lapsed) for a new term."""

    team_id: TeamRef | None = None
    package: str | None = None
    signed_on: Day | None = None


class ContractEnd(Command):
    """解约 before the end of the term: the day and the reason (contract_packages.yaml end_reasons)."""

    ended_on: Day | None = None
    reason: str | None = None
    note: Note = None


# --- answers -----------------------------------------------------------------------------------------
class TeamMemberOut(BaseModel):
    id: int
    role: str
    user_id: int | None
    name: str
    phone: str | None


class TeamOut(BaseModel):
    id: int
    name: str
    facility_id: int | None
    active: bool
    villages: list[str]
    members: list[TeamMemberOut]

    @classmethod
    def of(cls, t: ContractTeam, names: dict[int, str]) -> TeamOut:
        return cls(id=t.id, name=t.name, facility_id=t.facility_id, active=t.active,
                   villages=[v.village_code for v in t.villages],
                   members=[TeamMemberOut(id=m.id, role=m.role, user_id=m.user_id,
                                          name=m.staff_name or names.get(m.user_id or 0, ""), phone=m.phone)
                            for m in t.members])


class ContractOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    team_id: int
    team_name: str | None = None
    package: str
    fee: Decimal
    signed_on: dt.date
    start_date: dt.date
    end_date: dt.date
    status: str
    state: str | None  # active | due | lapsed for a current contract, None for an ended one
    previous_id: int | None
    key_populations: list[str]
    ended_on: dt.date | None
    end_reason: str | None
    end_note: str | None

    @classmethod
    def of(cls, c: FamilyDoctorContract, *, state: str | None, resident_name: str | None = None,
           village_code: str | None = None, team_name: str | None = None) -> ContractOut:
        return cls(id=c.id, resident_id=c.resident_id, resident_name=resident_name, village_code=village_code,
                   team_id=c.team_id, team_name=team_name, package=c.package, fee=c.fee, signed_on=c.signed_on,
                   start_date=c.start_date, end_date=c.end_date, status=c.status, state=state,
                   previous_id=c.previous_id, key_populations=[k for k in (c.key_populations or "").split(",") if k],
                   ended_on=c.ended_on, end_reason=c.end_reason, end_note=c.end_note)


class RosterRowOut(BaseModel):
    resident_id: int
    name: str
    village_code: str
    key_populations: list[str]
    contract: ContractOut | None


class RosterOut(BaseModel):
    as_of: dt.date
    counts: dict[str, int]
    items: list[RosterRowOut]

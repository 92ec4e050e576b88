"""Writes of family-doctor contracting (家庭医生签约服务): a team with its members and villages, signing a
contract (签约), renewing it (续约: a new contract linked to the previous one) and ending it (解约, with a
reason). Each write takes a command (schemas.py); what needs the database, the clock or several fields is
checked here, every refusal naming its field, before anything is written. The merge mover (this area's part
of a resident merge) is at the end; the composition root registers it.

What other modules use of this area is importable from here (queries.py, keypop.py, counts.py, rules.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.contracts import keypop, rules
from weijian.care.contracts.counts import WHICH, contract_counts, contract_records
from weijian.care.contracts.models import (
    MEMBER_ROLES,
    ContractTeam,
    ContractTeamMember,
    ContractTeamVillage,
    FamilyDoctorContract,
)
from weijian.care.contracts.queries import (
    ContractView,
    DueRow,
    ResidentContracts,
    RosterRow,
    audit_basis,
    contract_in_scope,
    current_contract,
    due_renewals,
    get_contract,
    member_names,
    resident_contracts,
    roster,
    team_in_scope,
    teams,
    teams_of_villages,
)
from weijian.care.contracts.schemas import ContractEnd, ContractRenew, ContractSign, TeamCreate
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidState
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "care.contracts.errors."


# --- teams ---------------------------------------------------------------------------------------------
def create_team(*, session: Session, team_in: TeamCreate, actor: Actor) -> ContractTeam:
    """A family-doctor team serving villages. Refused, naming the field: no village, a code that is no
    village or outside the actor's scope, a member of an unknown role, a member naming neither a user nor a
    staff name, or an unknown or inactive user."""
    actor.require("care:write")
    cmd = team_in
    errs = ErrorCollector()
    villages = list(dict.fromkeys(cmd.villages))
    if not villages:
        errs.add("villages", "core.errors.validation.missing")
    for code in villages:
        unit = orgunits_service.get(session=session, code=code)
        if unit is None or unit.level != "village":
            errs.add("villages", _E + "village_unknown", code=code)
        elif access.basis_for(actor, code) is None:
            errs.add("villages", _E + "village_out_of_scope", code=code)
    members: list[ContractTeamMember] = []
    for i, m in enumerate(cmd.members):
        field = f"members.{i}"
        if m.role not in MEMBER_ROLES:
            errs.add(f"{field}.role", _E + "role_unknown", value=m.role)
        user_id = None
        if m.username:
            user = accounts_service.get_by_username(session=session, username=m.username)
            if user is None or not user.is_active:
                errs.add(f"{field}.username", _E + "user_unknown", value=m.username)
            else:
                user_id = user.id
        elif not m.staff_name:
            errs.add(f"{field}.staff_name", _E + "member_unnamed")
        members.append(ContractTeamMember(role=m.role, user_id=user_id, staff_name=m.staff_name, phone=m.phone,
                                          facility_id=actor.facility_id))
    errs.raise_if_any()
    facility_id = cmd.facility_id if cmd.facility_id is not None else actor.facility_id
    team = ContractTeam(name=cmd.name, facility_id=facility_id,
                        active=True, created_by=actor.username, members=members,
                        villages=[ContractTeamVillage(village_code=v) for v in villages])
    session.add(team)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="contract_team",
                           entity_id=team.id, basis=access.scope_basis(actor),
                           detail={"villages": villages, "members": len(members)})
    return team


# --- signing -------------------------------------------------------------------------------------------
def _check_team(session: Session, errs: ErrorCollector, team_id: int | None, village_code: str | None,
                field: str = "team_id") -> ContractTeam | None:
    """A team that is active and serves the resident's village."""
    if team_id is None:
        errs.add(field, "core.errors.validation.missing")
        return None
    team = session.get(ContractTeam, team_id)
    if team is None or not team.active:
        errs.add(field, _E + "team_not_found", team_id=team_id)
        return None
    if village_code is not None and village_code not in {v.village_code for v in team.villages}:
        errs.add(field, _E + "team_not_serving", team=team.name)
    return team


def _check_package(errs: ErrorCollector, package: str, field: str = "package") -> None:
    if package not in rules.rules().packages:
        errs.add(field, _E + "package_unknown", value=package)


def _check_dates(errs: ErrorCollector, today: dt.date, signed_on: dt.date | None, start: dt.date | None,
                 end: dt.date | None) -> None:
    if signed_on is not None and signed_on > today:
        errs.add("signed_on", _E + "signed_future")
    if start is not None and signed_on is not None and start < signed_on:
        errs.add("start_date", _E + "start_before_signing")
    if start is not None and end is not None and end < start:
        errs.add("end_date", _E + "end_before_start", start=start)
    elif start is not None and end is not None and end > rules.term_end(start):
        errs.add("end_date", _E + "end_after_term", months=rules.rules().term_months, end=rules.term_end(start))


def sign(*, session: Session, contract_in: ContractSign, actor: Actor,
         today: dt.date | None = None) -> FamilyDoctorContract:
    """签约: a resident with a team serving the resident's village, for the term. Refused, naming the field:
    a resident outside the actor's scope (as if missing) or not active; a current contract already (renew or
    end it first: one at a time, held by a unique index too); a team missing, inactive or not serving the
    village; an unknown package; a signing day in the future; a start before the signing; an end before the
    start or after the term."""
    actor.require("care:write")
    today = today or clock.today()
    cmd = contract_in
    errs = ErrorCollector()
    resident = session.scalar(select(Resident).where(Resident.id == cmd.resident_id, access.visible(actor)))
    if resident is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
    elif resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    else:
        existing = current_contract(session, resident.id, for_update=True)
        if existing is not None:
            errs.add("resident_id", _E + "already_contracted", start=existing.start_date, end=existing.end_date)
    team = _check_team(session, errs, cmd.team_id, resident.village_code if resident is not None else None)
    _check_package(errs, cmd.package)
    signed_on = cmd.signed_on or today
    start = cmd.start_date or signed_on
    _check_dates(errs, today, signed_on, start, cmd.end_date)
    errs.raise_if_any()
    assert resident is not None and team is not None
    return _write(session, actor, resident, team, cmd.package, signed_on, start, cmd.end_date or rules.term_end(start),
                  status="signed", previous=None)


def _write(session: Session, actor: Actor, resident: Resident, team: ContractTeam, package: str, signed_on: dt.date,
           start: dt.date, end: dt.date, *, status: str, previous: FamilyDoctorContract | None) -> FamilyDoctorContract:
    keys = keypop.of_residents(session, [resident.id], start).get(resident.id, [])
    c = FamilyDoctorContract(resident_id=resident.id, team_id=team.id, package=package,
                             fee=rules.rules().packages[package].fee, signed_on=signed_on, start_date=start,
                             end_date=end, status=status, previous_id=previous.id if previous else None,
                             key_populations=",".join(keys) or None, created_by=actor.username)
    session.add(c)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="family_doctor_contract",
                           entity_id=c.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"team_id": team.id, "package": package, "status": status,
                                   "start": start.isoformat(), "end": end.isoformat(),
                                   "previous_id": previous.id if previous else None})
    return c


# --- renewal -------------------------------------------------------------------------------------------
def renew(*, session: Session, contract_id: int, renew_in: ContractRenew, actor: Actor,
          today: dt.date | None = None) -> FamilyDoctorContract:
    """续约: a new contract continuing this one (status renewed, `previous_id` this one), with the same team
    and package unless others are named, from the day after this one ends — or from the signing day when it
    has lapsed — for a new term; this one is ended as `renewed` on its own last day (or the day before the
    new start). Refused: a contract already ended; a renewal more than renew_within_days before its end; a
    signing day in the future; a team not serving the resident's village; an unknown package."""
    actor.require("care:write")
    today = today or clock.today()
    c, resident = contract_in_scope(session=session, actor=actor, contract_id=contract_id, for_update=True)
    if c.status == "ended":
        raise InvalidState(_E + "already_ended", date=c.ended_on)
    cmd = renew_in
    r = rules.rules()
    errs = ErrorCollector()
    signed_on = cmd.signed_on or today
    if signed_on > today:
        errs.add("signed_on", _E + "signed_future")
    elif (c.end_date - signed_on).days > r.renew_within_days:
        errs.add("signed_on", _E + "renew_too_early", days=r.renew_within_days, end=c.end_date)
    elif signed_on < c.start_date:
        errs.add("signed_on", _E + "start_before_signing")
    elif (signed_on - c.end_date).days > r.renew_grace_days:
        errs.add("signed_on", _E + "renew_too_late", days=r.renew_grace_days, end=c.end_date)
    team = _check_team(session, errs, cmd.team_id if cmd.team_id is not None else c.team_id, resident.village_code)
    package = cmd.package or c.package
    _check_package(errs, package)
    if resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    errs.raise_if_any()
    assert team is not None
    start = max(c.end_date + dt.timedelta(days=1), signed_on)
    c.status, c.end_reason = "ended", "renewed"
    c.ended_on = min(c.end_date, start - dt.timedelta(days=1))
    session.flush()  # the old one leaves the unique index before the new one enters it
    return _write(session, actor, resident, team, package, signed_on, start, rules.term_end(start), status="renewed",
                  previous=c)


# --- ending --------------------------------------------------------------------------------------------
def end(*, session: Session, contract_id: int, end_in: ContractEnd, actor: Actor,
        today: dt.date | None = None) -> FamilyDoctorContract:
    """解约: the contract ends on `ended_on` for a reason. Refused, naming the field: the day missing, in the
    future, before the start or after the contract's end; the reason missing or unknown (renewed and merged
    are set by weijian); a contract already ended."""
    actor.require("care:write")
    today = today or clock.today()
    c, resident = contract_in_scope(session=session, actor=actor, contract_id=contract_id, for_update=True)
    if c.status == "ended":
        raise InvalidState(_E + "already_ended", date=c.ended_on)
    cmd = end_in
    errs = ErrorCollector()
    if cmd.ended_on is None:
        errs.add("ended_on", "core.errors.validation.missing")
    elif cmd.ended_on > today:
        errs.add("ended_on", _E + "ended_future")
    elif cmd.ended_on < c.start_date:
        errs.add("ended_on", _E + "end_before_start", start=c.start_date)
    elif cmd.ended_on > c.end_date:
        errs.add("ended_on", _E + "ended_after_end", end=c.end_date)
    if not cmd.reason:
        errs.add("reason", "core.errors.validation.missing")
    elif cmd.reason not in rules.rules().end_reasons:
        errs.add("reason", _E + "reason_unknown", value=cmd.reason)
    errs.raise_if_any()
    before = c.status
    c.status, c.ended_on, c.end_reason, c.end_note = "ended", cmd.ended_on, cmd.reason, cmd.note
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="family_doctor_contract",
                           entity_id=c.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"status": [before, "ended"], "ended_on": c.ended_on.isoformat() if c.ended_on
                                   else None, "reason": cmd.reason})
    return c


def actor_villages(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the villages of the actor's scope; a county-wide actor reads them one at a time."""
    return residents_service.villages_in_scope(session=session, actor=actor)


def needs_village(actor: Actor) -> bool:
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


# --- a merge of two records of one person (residents.merging: this area's part) ------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's contracts to the survivor. Two current contracts cannot both stay current
    (one per resident): the survivor's is kept, the merged record's is ended on the merge's day (reason
    merged, note closed_duplicate)."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    kept = current_contract(session, ctx.survivor_id)
    twin = current_contract(session, ctx.merged_id)
    if kept is not None and twin is not None:
        ended_on = min(max(ctx.today, twin.start_date), twin.end_date)
        out.append(residents_service.Moved("family_doctor_contract", "family_doctor_contracts", twin.id, {
            "status": (twin.status, "ended"), "ended_on": (twin.ended_on, ended_on),
            "end_reason": (twin.end_reason, "merged")}, note="closed_duplicate"))
        twin.status, twin.ended_on, twin.end_reason = "ended", ended_on, "merged"
        session.flush()
    out += residents_service.reassign(ctx, FamilyDoctorContract, "family_doctor_contract")
    session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="care.contracts", columns=frozenset({"family_doctor_contracts.resident_id"}),
    classes=(FamilyDoctorContract,), move=move_resident, undo_problems=None)


__all__ = [
    "MERGE_MOVER", "WHICH", "ContractView", "DueRow", "ResidentContracts", "RosterRow", "actor_villages",
    "contract_counts",
    "contract_records", "create_team", "due_renewals", "end", "get_contract", "member_names", "move_resident",
    "needs_village", "renew", "resident_contracts", "roster", "sign", "team_in_scope", "teams", "teams_of_villages",
]

"""Reads of family-doctor contracting: a team or a contract in the actor's scope, a resident's contracts,
the roster of a village or a team (its residents with their key populations, signed or not), and the
contracts due to renew or lapsed. Scope is applied in each query (residents.access); every read of named
residents is audited with its basis."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.accounts.models import User
from weijian.care.contracts import keypop, rules
from weijian.care.contracts.models import ContractTeam, ContractTeamMember, ContractTeamVillage, FamilyDoctorContract
from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.core.identifiers import division_level
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.contracts.errors."
_STATE_ORDER = {"lapsed": 0, "due": 1, "active": 2}


def audit_basis(actor: Actor, village_code: str) -> str:
    return access.basis_for(actor, village_code) or "county"


def state_of(c: FamilyDoctorContract, on: dt.date) -> str | None:
    """active / due / lapsed for a current contract on `on`; None for an ended one."""
    return None if c.status == "ended" else rules.state(c.end_date, on)


def current_contract(session: Session, resident_id: int, *, for_update: bool = False) -> FamilyDoctorContract | None:
    stmt = (select(FamilyDoctorContract).where(FamilyDoctorContract.resident_id == resident_id,
                                               FamilyDoctorContract.status != "ended")
            .order_by(FamilyDoctorContract.id).limit(1))
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


# --- teams ---------------------------------------------------------------------------------------------
def _team_visible(actor: Actor, team: ContractTeam) -> bool:
    if actor.scope_code is None or division_level(actor.scope_code) == "county":
        return True
    return any(access.basis_for(actor, v.village_code) is not None for v in team.villages)


def team_in_scope(*, session: Session, actor: Actor, team_id: int) -> ContractTeam:
    """A team serving a village in the actor's scope (any team for a county-wide actor); NotFound otherwise,
    exactly as for a missing one."""
    team = session.scalar(select(ContractTeam).where(ContractTeam.id == team_id)
                          .options(selectinload(ContractTeam.villages), selectinload(ContractTeam.members)))
    if team is None or not _team_visible(actor, team):
        raise NotFound(_E + "team_not_found", team_id=team_id)
    return team


def teams(*, session: Session, actor: Actor, village_code: str | None = None) -> list[ContractTeam]:
    """The teams serving a village of the actor's scope (optionally one village), by name."""
    actor.require("care:read")
    stmt = select(ContractTeam).options(selectinload(ContractTeam.villages), selectinload(ContractTeam.members))
    if village_code:
        stmt = stmt.where(ContractTeam.id.in_(select(ContractTeamVillage.team_id)
                                              .where(ContractTeamVillage.village_code == village_code)))
    return [t for t in session.scalars(stmt.order_by(ContractTeam.name, ContractTeam.id)) if _team_visible(actor, t)]


def member_names(session: Session, team_list: list[ContractTeam]) -> dict[int, str]:
    """User id → full name (else the username) of the members who are users."""
    ids = {m.user_id for t in team_list for m in t.members if m.user_id is not None}
    if not ids:
        return {}
    return {uid: (full or name) for uid, full, name in
            session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids)))}


def teams_of_villages(session: Session, codes: list[str]) -> dict[str, list[ContractTeam]]:
    """Village code → the active teams serving it."""
    out: dict[str, list[ContractTeam]] = {}
    if not codes:
        return out
    for code, team in session.execute(select(ContractTeamVillage.village_code, ContractTeam)
                                      .join(ContractTeam, ContractTeam.id == ContractTeamVillage.team_id)
                                      .where(ContractTeamVillage.village_code.in_(codes), ContractTeam.active)
                                      .order_by(ContractTeam.name)):
        out.setdefault(code, []).append(team)
    return out


def team_of_user(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(ContractTeamMember.team_id).where(ContractTeamMember.user_id == user_id)))


# --- contracts -----------------------------------------------------------------------------------------
def contract_in_scope(*, session: Session, actor: Actor, contract_id: int,
                      for_update: bool = False) -> tuple[FamilyDoctorContract, Resident]:
    """A contract and its resident; NotFound when missing or outside the actor's scope (the same answer)."""
    stmt = (select(FamilyDoctorContract, Resident).join(Resident, Resident.id == FamilyDoctorContract.resident_id)
            .where(FamilyDoctorContract.id == contract_id, access.visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=FamilyDoctorContract)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "contract_not_found", contract_id=contract_id)
    return row[0], row[1]


@dataclass
class ContractView:
    contract: FamilyDoctorContract
    resident: Resident
    team: ContractTeam
    history: list[FamilyDoctorContract]  # the resident's contracts, newest first (this one included)
    state: str | None
    as_of: dt.date


def get_contract(*, session: Session, actor: Actor, contract_id: int, as_of: dt.date) -> ContractView:
    """One contract with the resident's other contracts, logged as a read of the resident's record."""
    actor.require("care:read")
    c, resident = contract_in_scope(session=session, actor=actor, contract_id=contract_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="family_doctor_contract",
                           entity_id=c.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code))
    history = list(session.scalars(select(FamilyDoctorContract).where(FamilyDoctorContract.resident_id == resident.id)
                                   .order_by(FamilyDoctorContract.start_date.desc(), FamilyDoctorContract.id.desc())))
    team = team_in_scope_unchecked(session, c.team_id)
    return ContractView(c, resident, team, history, state_of(c, as_of), as_of)


def team_in_scope_unchecked(session: Session, team_id: int) -> ContractTeam:
    """The team of a contract already read in scope (a contract's team may serve another village now)."""
    team = session.scalar(select(ContractTeam).where(ContractTeam.id == team_id)
                          .options(selectinload(ContractTeam.villages), selectinload(ContractTeam.members)))
    assert team is not None
    return team


@dataclass
class ResidentContracts:
    """The resident's first contact (首诊): the current contract and its team, with the earlier ones."""

    resident_id: int
    current: FamilyDoctorContract | None
    team: ContractTeam | None
    state: str | None
    history: list[FamilyDoctorContract]
    key_populations: list[str]
    member_names: dict[int, str]


def resident_contracts(*, session: Session, actor: Actor, resident_id: int, as_of: dt.date) -> ResidentContracts:
    """A resident's contracts and team (for the record page), logged as a read with its basis."""
    actor.require("care:read")
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="family_doctor_contract",
                           resident_id=resident.id, basis=basis)
    history = list(session.scalars(select(FamilyDoctorContract).where(FamilyDoctorContract.resident_id == resident.id)
                                   .order_by(FamilyDoctorContract.start_date.desc(), FamilyDoctorContract.id.desc())))
    current = next((c for c in history if c.status != "ended"), None)
    team = team_in_scope_unchecked(session, current.team_id) if current is not None else None
    keys = keypop.of_residents(session, [resident.id], as_of).get(resident.id, [])
    return ResidentContracts(resident.id, current, team, state_of(current, as_of) if current else None, history,
                             keys, member_names(session, [team]) if team else {})


# --- the roster: residents with their key populations and contract ---------------------------------
@dataclass(frozen=True)
class RosterRow:
    resident_id: int
    name: str
    village_code: str
    phone: str | None
    key_populations: list[str]
    contract: FamilyDoctorContract | None
    state: str | None


def roster(*, session: Session, actor: Actor, as_of: dt.date, village_codes: list[str], key_only: bool = False,
           signed: str = "", entity: str = "contract_roster", team_id: int | None = None) -> list[RosterRow]:
    """The active residents of these villages (each within the actor's scope) with the key populations
    they belong to on `as_of` and their current contract, key populations first, unsigned first, then by
    name. `key_only`: key-population residents only; `signed`: "yes" / "no" / "" (both). Logged as one
    list event naming the residents shown."""
    actor.require("care:read")
    codes = [c for c in village_codes if access.basis_for(actor, c) is not None]
    items: list[RosterRow] = []
    if codes:
        R, C = Resident, FamilyDoctorContract
        conds = [R.village_code.in_(codes), R.status == "active", access.visible(actor)]
        if key_only:
            conds.append(keypop.any_condition(R.id, R.birth_date, as_of))
        rows = session.execute(select(R.id, R.name, R.village_code, R.phone, C)
                               .outerjoin(C, (C.resident_id == R.id) & (C.status != "ended"))
                               .where(*conds)).all()
        if signed == "yes":
            rows = [r for r in rows if r[4] is not None]
        elif signed == "no":
            rows = [r for r in rows if r[4] is None]
        keys = keypop.of_residents(session, [r[0] for r in rows], as_of)
        items = [RosterRow(rid, name, village, phone, keys.get(rid, []), c, state_of(c, as_of) if c else None)
                 for rid, name, village, phone, c in rows]
        items.sort(key=lambda i: (not i.key_populations, i.contract is not None, i.name, i.resident_id))
    detail = {"as_of": as_of.isoformat(), "villages": codes, "key_only": key_only, "signed": signed,
              "count": len(items)}
    if team_id is not None:
        detail["team_id"] = team_id
    accounts_service.audit(session=session, actor=actor, action="list", entity_type=entity,
                           basis=access.scope_basis(actor), detail={k: v for k, v in detail.items() if v},
                           shown=[i.resident_id for i in items])
    return items


# --- due renewals -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DueRow:
    contract: FamilyDoctorContract
    resident_name: str
    village_code: str
    phone: str | None
    team_name: str
    state: str  # due | lapsed


def due_renewals(*, session: Session, actor: Actor, as_of: dt.date, within: int | None = None,
                 village_code: str | None = None, lapsed: bool = True, audit: bool = True) -> list[DueRow]:
    """Current contracts in the actor's scope ending within `within` days (renew_within_days) of `as_of`,
    and (`lapsed`) those whose end has passed without a renewal or an ending: lapsed first, then by the
    end date. Logged as one list event."""
    actor.require("care:read")
    within = rules.rules().renew_within_days if within is None else within
    C, R, T = FamilyDoctorContract, Resident, ContractTeam
    conds = [C.status != "ended", C.end_date <= as_of + dt.timedelta(days=within), access.visible(actor),
             R.status == "active"]
    if not lapsed:
        conds.append(C.end_date >= as_of)
    if village_code:
        conds.append(R.village_code == village_code)
    rows = session.execute(select(C, R.name, R.village_code, R.phone, T.name).join(R, R.id == C.resident_id)
                           .join(T, T.id == C.team_id).where(*conds)).all()
    items = [DueRow(c, name, village, phone, team, rules.state(c.end_date, as_of, within))
             for c, name, village, phone, team in rows]
    items.sort(key=lambda i: (_STATE_ORDER[i.state], i.contract.end_date, i.resident_name, i.contract.id))
    if audit:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="contract_renewals",
                               basis=access.scope_basis(actor),
                               detail={k: v for k, v in {"as_of": as_of.isoformat(), "within": within,
                                                         "village_code": village_code,
                                                         "count": len(items)}.items() if v is not None},
                               shown=[i.contract.resident_id for i in items])
    return items

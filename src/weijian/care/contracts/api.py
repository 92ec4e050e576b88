"""JSON routes of family-doctor contracting under /api/v1/care/contracts and /api/v1/care/contract-teams: the
roster of a village, signing, one contract, renewing and ending it, the renewals due, the packages, and the
teams. A contract or team outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.care.contracts import queries, rules, service
from weijian.care.contracts.schemas import (
    ContractEnd,
    ContractOut,
    ContractRenew,
    ContractSign,
    RosterOut,
    RosterRowOut,
    TeamCreate,
    TeamOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep, TranslatorDep

router = APIRouter(prefix="/api/v1/care", tags=["care: family-doctor contracts"])


def contract_visible(contract_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> int:
    """The contract in the path, looked up before the body is read (404 outside the scope, whatever the body)."""
    queries.contract_in_scope(session=session, actor=actor, contract_id=contract_id)
    return contract_id


def _out(view: queries.ContractView) -> ContractOut:
    return ContractOut.of(view.contract, state=view.state, resident_name=view.resident.name,
                          village_code=view.resident.village_code, team_name=view.team.name)


@router.get("/contracts", response_model=RosterOut)
def roster(session: SessionDep, actor: Actor = Depends(require("care:read")),
           village: str = Query(..., max_length=12), as_of: BoundedDate | None = None, key_only: bool = False,
           signed: str = Query("", pattern="^(yes|no|)$")) -> RosterOut:
    """The active residents of a village with their key populations and current contract."""
    on = as_of or clock.today()
    items = service.roster(session=session, actor=actor, as_of=on, village_codes=[village], key_only=key_only,
                           signed=signed)
    counts = {"residents": len(items), "contracted": sum(1 for i in items if i.contract),
              "key": sum(1 for i in items if i.key_populations),
              "key_contracted": sum(1 for i in items if i.key_populations and i.contract)}
    return RosterOut(as_of=on, counts=counts, items=[RosterRowOut(
        resident_id=i.resident_id, name=i.name, village_code=i.village_code, key_populations=i.key_populations,
        contract=ContractOut.of(i.contract, state=i.state) if i.contract else None) for i in items])


@router.get("/contracts/due", response_model=list[ContractOut])
def due(session: SessionDep, actor: Actor = Depends(require("care:read")), as_of: BoundedDate | None = None,
        within: int = Query(30, ge=0, le=366), village: str | None = Query(None, max_length=12)) -> list[ContractOut]:
    """Current contracts ending within `within` days, and lapsed ones: lapsed first, then by the end date."""
    rows = service.due_renewals(session=session, actor=actor, as_of=as_of or clock.today(), within=within,
                                village_code=village)
    return [ContractOut.of(r.contract, state=r.state, resident_name=r.resident_name, village_code=r.village_code,
                           team_name=r.team_name) for r in rows]


@router.get("/contracts/packages", response_model=dict)
def packages(tr: TranslatorDep, actor: Actor = Depends(require("care:read"))) -> dict:
    """The service packages, key populations and end reasons (contract_packages.yaml)."""
    return rules.as_dict(rules.rules(), tr.locale)


@router.post("/contracts", response_model=ContractOut, status_code=201)
def sign(body: ContractSign, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> ContractOut:
    c = service.sign(session=session, contract_in=body, actor=actor)
    return _out(service.get_contract(session=session, actor=actor, contract_id=c.id, as_of=clock.today()))


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def read(contract_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read"))) -> ContractOut:
    return _out(service.get_contract(session=session, actor=actor, contract_id=contract_id, as_of=clock.today()))


@router.post("/contracts/{contract_id}/renew", response_model=ContractOut, status_code=201)
def renew(body: ContractRenew, session: SessionDep, actor: Actor = Depends(require("care:write")),
          contract_id: int = Depends(contract_visible)) -> ContractOut:
    c = service.renew(session=session, contract_id=contract_id, renew_in=body, actor=actor)
    return _out(service.get_contract(session=session, actor=actor, contract_id=c.id, as_of=clock.today()))


@router.post("/contracts/{contract_id}/end", response_model=ContractOut)
def end(body: ContractEnd, session: SessionDep, actor: Actor = Depends(require("care:write")),
        contract_id: int = Depends(contract_visible)) -> ContractOut:
    service.end(session=session, contract_id=contract_id, end_in=body, actor=actor)
    return _out(service.get_contract(session=session, actor=actor, contract_id=contract_id, as_of=clock.today()))


@router.get("/contract-teams", response_model=list[TeamOut])
def teams(session: SessionDep, actor: Actor = Depends(require("care:read")),
          village: str | None = Query(None, max_length=12)) -> list[TeamOut]:
    found = service.teams(session=session, actor=actor, village_code=village)
    names = service.member_names(session, found)
    return [TeamOut.of(t, names) for t in found]


@router.post("/contract-teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamCreate, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> TeamOut:
    team = service.create_team(session=session, team_in=body, actor=actor)
    team = service.team_in_scope(session=session, actor=actor, team_id=team.id)
    return TeamOut.of(team, service.member_names(session, [team]))


@router.get("/contract-teams/{contract_team_id}", response_model=TeamOut)
def read_team(contract_team_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read"))) -> TeamOut:
    team = service.team_in_scope(session=session, actor=actor, team_id=contract_team_id)
    return TeamOut.of(team, service.member_names(session, [team]))

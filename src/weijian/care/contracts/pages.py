"""HTML pages of family-doctor contracting: the roster of a village (residents with their key populations,
contracted or not, due to renew or lapsed), the teams and one team's page (members, villages, its
key-population residents signed or not), the signing form, one contract's page with the renew and end forms,
and the record page's section (the resident's team: the first contact). Thin: each route calls the service
and renders; refused forms re-render with the errors beside the fields (422), the user's input kept."""
from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.contracts import rules, service
from weijian.care.contracts.models import MEMBER_ROLES
from weijian.care.contracts.schemas import ContractEnd, ContractRenew, ContractSign, TeamCreate
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    submit_form,
    verify_csrf,
)
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/care/contracts", "care.contracts.nav", "care:read", 31),)


def _labels(tr: Translator) -> dict[str, Any]:
    return {"packages": rules.package_labels(tr.locale), "keys": rules.key_labels(tr.locale),
            "reasons": rules.reason_labels(tr.locale)}


def _counts(items: list[service.RosterRow]) -> dict[str, int]:
    return {"total": len(items), "signed": sum(1 for i in items if i.contract),
            "key": sum(1 for i in items if i.key_populations),
            "key_signed": sum(1 for i in items if i.key_populations and i.contract),
            "due": sum(1 for i in items if i.state == "due"), "lapsed": sum(1 for i in items if i.state == "lapsed")}


@router.get("/care/contracts")
def list_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(require("care:read")),
              village: str = "", key_only: str = "", signed: str = "") -> Response:
    today = clock.today()
    villages = service.actor_villages(session, actor)
    village = village if village in dict(villages) else ("" if service.needs_village(actor) or len(villages) != 1
                                                          else villages[0][0])
    signed = signed if signed in ("yes", "no") else ""
    ctx: dict[str, Any] = {"village": village, "villages": villages, "village_names": dict(villages), "today": today,
                           "key_only": key_only == "true", "signed": signed, "items": [], "counts": {},
                           "needs_village": not village and service.needs_village(actor), **_labels(tr)}
    if not ctx["needs_village"]:
        codes = [village] if village else [c for c, _ in villages]
        items = service.roster(session=session, actor=actor, as_of=today, village_codes=codes,
                               key_only=ctx["key_only"], signed=signed)
        ctx["items"], ctx["counts"] = items, _counts(items)
        ctx["teams"] = service.teams_of_villages(session, codes)
    return render(request, "care/contracts/list.html", ctx)


@router.get("/care/contracts/teams")
def teams_page(request: Request, session: SessionDep, tr: TranslatorDep,
               actor: Actor = Depends(require("care:read"))) -> Response:
    found = service.teams(session=session, actor=actor)
    codes = {v.village_code for t in found for v in t.villages}
    return render(request, "care/contracts/teams.html", {
        "teams": found, "names": service.member_names(session, found),
        "village_names": residents_service.village_names(session=session, codes=codes)})


def _team_ctx(session: Session, actor: Actor, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "villages": service.actor_villages(session, actor),
            "roles": MEMBER_ROLES}


@router.get("/care/contracts/teams/new")
def team_new_page(request: Request, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> Response:
    return render(request, "care/contracts/team_new.html", _team_ctx(session, actor, {"villages": []}, {}))


@router.post("/care/contracts/teams/new")
async def team_new_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    """One row of the form per role (its username or staff name and phone); an empty row adds nobody."""
    form = await request.form()

    def one(key: str) -> str:
        got = form.get(key)
        return got.strip() if isinstance(got, str) else ""

    members = [{"role": role, "username": one(f"{role}_username") or None, "staff_name": one(f"{role}_name") or None,
                "phone": one(f"{role}_phone") or None}
               for role in MEMBER_ROLES if one(f"{role}_username") or one(f"{role}_name")]
    villages = [v for v in form.getlist("villages") if isinstance(v, str) and v.strip()]
    try:
        cmd = build(TeamCreate, {"name": one("name"), "villages": villages, "members": members})
        team = service.create_team(session=session, team_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        errors = form_errors(exc, tr)
        # A member's error shows beside its role's row (members.N.field → the row of the N-th member given).
        for key, message in list(errors.items()):
            if key.startswith("members."):
                index = int(key.split(".")[1])
                errors[f"{members[index]['role']}_name"] = message
        values = {**await form_values(request), "villages": villages}
        return render(request, "care/contracts/team_new.html", _team_ctx(session, actor, values, errors),
                      status_code=422)
    return RedirectResponse(f"/care/contracts/teams/{team.id}", status_code=303)


@router.get("/care/contracts/teams/{contract_team_id:int}")
def team_page(contract_team_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("care:read")), signed: str = "") -> Response:
    today = clock.today()
    team = service.team_in_scope(session=session, actor=actor, team_id=contract_team_id)
    codes = [v.village_code for v in team.villages]
    signed = signed if signed in ("yes", "no") else ""
    items = service.roster(session=session, actor=actor, as_of=today, village_codes=codes, key_only=True,
                           signed=signed, entity="contract_team_roster", team_id=team.id)
    return render(request, "care/contracts/team.html", {
        "team": team, "names": service.member_names(session, [team]), "items": items, "counts": _counts(items),
        "signed": signed, "today": today,
        "village_names": residents_service.village_names(session=session, codes=codes),
        **_labels(tr)})


def _sign_ctx(session: Session, actor: Actor, tr: Translator, values: dict[str, Any],
              errors: dict[str, str]) -> dict[str, Any]:
    found = service.teams(session=session, actor=actor)
    return {"values": values, "errors": errors, "team_options": {str(t.id): t.name for t in found if t.active},
            **_labels(tr)}


@router.get("/care/contracts/new")
def new_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(require("care:write")),
             resident_id: str = "") -> Response:
    values = {"resident_id": resident_id.strip()[:12], "signed_on": clock.today().isoformat(), "package": "basic"}
    return render(request, "care/contracts/new.html", _sign_ctx(session, actor, tr, values, {}))


@router.post("/care/contracts/new")
async def new_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, ContractSign)
        c = service.sign(session=session, contract_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _sign_ctx(session, actor, tr, await form_values(request), form_errors(exc, tr))
        return render(request, "care/contracts/new.html", ctx, status_code=422)
    return RedirectResponse(f"/care/contracts/{c.id}", status_code=303)


# --- one contract -------------------------------------------------------------------------------------
def _detail_ctx(session: Session, actor: Actor, tr: Translator, contract_id: int, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    view = service.get_contract(session=session, actor=actor, contract_id=contract_id, as_of=today)
    c = view.contract
    found = service.teams(session=session, actor=actor, village_code=view.resident.village_code)
    ctx: dict[str, Any] = {
        "view": view, "c": c, "resident": view.resident, "today": today,
        "village_name": residents_service.village_names(
            session=session, codes=[view.resident.village_code])[view.resident.village_code],
        "names": service.member_names(session, [view.team]),
        "team_options": {str(t.id): t.name for t in found if t.active},
        "renew_values": {"signed_on": today.isoformat(), "team_id": str(c.team_id), "package": c.package},
        "end_values": {"ended_on": today.isoformat()}, "renew_errors": {}, "end_errors": {}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/care/contracts/{contract_id:int}")
def detail_page(contract_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, "care/contracts/detail.html", _detail_ctx(session, actor, tr, contract_id))


async def _submit(request: Request, session: SessionDep, tr: Translator, actor: Actor, contract_id: int,
                  form: str, write: Any) -> Response:
    return await submit_form(request, session, tr, write, form=form, template="care/contracts/detail.html",
                             page=partial(_detail_ctx, session, actor, tr, contract_id),
                             redirect=lambda new_id: f"/care/contracts/{new_id}")


@router.post("/care/contracts/{contract_id:int}/renew")
async def renew_submit(contract_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> int:
        cmd = await form_command(request, ContractRenew)
        return service.renew(session=session, contract_id=contract_id, renew_in=cmd, actor=actor).id
    return await _submit(request, session, tr, actor, contract_id, "renew", write)


@router.post("/care/contracts/{contract_id:int}/end")
async def end_submit(contract_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> int:
        cmd = await form_command(request, ContractEnd)
        return service.end(session=session, contract_id=contract_id, end_in=cmd, actor=actor).id
    return await _submit(request, session, tr, actor, contract_id, "end", write)


@router.get("/care/contracts/residents/{resident_id:int}/section")
def record_section(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    """The record page's section (loaded by htmx): the resident's team, the first contact."""
    rc = service.resident_contracts(session=session, actor=actor, resident_id=resident_id, as_of=clock.today())
    return render(request, "care/contracts/_record_fragment.html", {"rc": rc, **_labels(tr)})

"""JSON routes of the newborn bundle under /api/v1/immunization: register a newborn, read a registration
(certificate, schedule, hand-offs), move a hand-off on, list and export one department's hand-offs.
A registration outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, SettingsDep, request_locale
from weijian.immunization.newborn import queries, service
from weijian.immunization.newborn.queries import PERMISSION
from weijian.immunization.newborn.schemas import (
    HandoffListItem,
    HandoffOut,
    HandoffStatusIn,
    NewbornCreate,
    NewbornListItem,
    NewbornOut,
)

router = APIRouter(prefix="/api/v1/immunization", tags=["immunization: newborns"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/newborns", response_model=NewbornOut, status_code=201)
def register_newborn(body: NewbornCreate, session: SessionDep, settings: SettingsDep,
                     actor: Actor = Depends(require(PERMISSION))) -> NewbornOut:
    birth = service.register_newborn(session=session, newborn_in=body, actor=actor)
    return NewbornOut.of(queries.get_registration(session=session, birth_id=birth.id, actor=actor,
                                                  overdue_rule=settings.immunization_overdue_rule), actor)


@router.get("/newborns", response_model=list[NewbornListItem])
def list_newborns(session: SessionDep, actor: Actor = Depends(require(PERMISSION)),
                  limit: int = Query(50, ge=1, le=500)) -> list[NewbornListItem]:
    rows = queries.list_registrations(session=session, actor=actor, limit=limit)
    return [NewbornListItem(id=b.id, child_id=c.id, child_name=c.name, sex=c.sex, born_at=b.born_at,
                            birth_certificate_number=b.birth_certificate_number,
                            handoffs={h.department: h.status for h in b.handoffs}) for b, c in rows]


@router.get("/newborns/{birth_id}", response_model=NewbornOut)
def read_newborn(birth_id: Id64, session: SessionDep, settings: SettingsDep,
                 actor: Actor = Depends(require(PERMISSION))) -> NewbornOut:
    return NewbornOut.of(queries.get_registration(session=session, birth_id=birth_id, actor=actor,
                                                  overdue_rule=settings.immunization_overdue_rule), actor)


@router.post("/newborns/{birth_id}/handoffs/{department}", response_model=HandoffOut)
def set_handoff_status(birth_id: Id64, department: str, body: HandoffStatusIn, session: SessionDep,
                       actor: Actor = Depends(require(PERMISSION))) -> HandoffOut:
    handoff = service.set_handoff_status(session=session, birth_id=birth_id, department=department,
                                         handoff_in=body, actor=actor)
    return HandoffOut.of(handoff)


@router.get("/handoffs", response_model=list[HandoffListItem])
def list_handoffs(session: SessionDep, actor: Actor = Depends(require(PERMISSION)),
                  department: str = Query(..., max_length=32), status: str | None = Query(None, max_length=16),
                  ) -> list[HandoffListItem]:
    rows = queries.list_handoffs(session=session, actor=actor, department=department, status=status or None)
    return [HandoffListItem(birth_id=r.birth.id, child_id=r.child.id, child_name=r.child.name,
                            born_at=r.birth.born_at, birth_certificate_number=r.birth.birth_certificate_number,
                            department=r.handoff.department, status=r.handoff.status,
                            updated_at=r.handoff.updated_at, next_status=queries.next_status(r.handoff.status))
            for r in rows]


@router.get("/handoffs/{department}/export")
def export_handoffs(department: str, request: Request, session: SessionDep,
                    actor: Actor = Depends(require(PERMISSION)),
                    status: str = Query("pending", max_length=16), format: str = Query("xlsx", max_length=8),
                    ) -> Response:
    if format not in ("xlsx", "json"):
        raise InvalidInput("format", "immunization.newborn.errors.export_format", value=format)
    export = queries.export_packets(session=session, department=department, status=status, actor=actor)
    if format == "json":
        return Response(content=queries.packets_json(export), media_type="application/json")
    body = queries.packets_xlsx(export, Translator(request_locale(request)))
    return Response(content=body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{department}-{status}.xlsx"'})

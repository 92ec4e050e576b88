"""JSON routes of the resident master index under /api/v1: search, read, create, update, households,
merge. A record outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.disclosure import disclosure_for
from weijian.core.web import SessionDep
from weijian.residents import queries, service
from weijian.residents.models import Resident
from weijian.residents.schemas import (
    HouseholdOut,
    MergeIn,
    MergeOut,
    ResidentCreate,
    ResidentDetail,
    ResidentListItem,
    ResidentPage,
    ResidentUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["residents"])


def _detail(session: Session, resident: Resident, actor: Actor) -> ResidentDetail:
    names = queries.village_names(session=session, codes=[resident.village_code])
    return ResidentDetail.of(resident, actor=actor, village_name=names[resident.village_code],
                             merges=queries.merges_into(session=session, resident_id=resident.id))


@router.get("/residents", response_model=ResidentPage)
def search_residents(
    session: SessionDep,
    actor: Actor = Depends(require("resident:read")),
    q: str | None = Query(None, max_length=100),
    village: str | None = Query(None, max_length=12),
    household: str | None = Query(None, max_length=32),
    page: PageNo = 1,
    page_size: int = Query(20, ge=1, le=queries.MAX_PAGE_SIZE),
) -> ResidentPage:
    result = queries.search(session=session, actor=actor, q=q, village_code=village,
                            household_number=household, page=page, page_size=page_size)
    names = queries.village_names(session=session, codes={r.village_code for r in result.items})
    return ResidentPage(items=[ResidentListItem.of(r, names, disclosure=disclosure_for(actor)) for r in result.items],
                        total=min(result.total, queries.COUNT_CAP), total_capped=result.capped,
                        page=page, page_size=page_size)


@router.get("/residents/{resident_id}", response_model=ResidentDetail)
def read_resident(resident_id: Id64, session: SessionDep,
                  actor: Actor = Depends(require("resident:read"))) -> ResidentDetail:
    resident = queries.get(session=session, resident_id=resident_id, actor=actor)
    return _detail(session, resident, actor)


@router.post("/residents", response_model=ResidentDetail, status_code=201)
def create_resident(body: ResidentCreate, session: SessionDep,
                    actor: Actor = Depends(require("resident:write"))) -> ResidentDetail:
    resident = service.create(session=session, resident_in=body, actor=actor)
    return _detail(session, resident, actor)


@router.patch("/residents/{resident_id}", response_model=ResidentDetail)
def update_resident(resident_id: Id64, body: ResidentUpdate, session: SessionDep,
                    actor: Actor = Depends(require("resident:write"))) -> ResidentDetail:
    resident = service.update(session=session, resident_id=resident_id, resident_in=body, actor=actor)
    return _detail(session, resident, actor)


@router.post("/residents/{resident_id}/merge", response_model=MergeOut, status_code=201)
def merge_residents(resident_id: Id64, body: MergeIn, session: SessionDep,
                    actor: Actor = Depends(require("resident:merge"))) -> MergeOut:
    row = service.merge(session=session, survivor_id=resident_id, merged_id=body.merged_id,
                        reason=body.reason, actor=actor,
                        confirm_different_id_numbers=body.confirm_different_id_numbers)
    return MergeOut.of(row)


@router.get("/households/{household_id}", response_model=HouseholdOut)
def read_household(household_id: Id64, session: SessionDep,
                   actor: Actor = Depends(require("resident:read"))) -> HouseholdOut:
    hh, members = queries.household(session=session, household_id=household_id, actor=actor)
    names = queries.village_names(session=session, codes=[hh.village_code])
    return HouseholdOut.of(hh, members, names[hh.village_code])

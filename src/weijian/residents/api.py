"""JSON routes of the resident master index under /api/v1: search, read, create, update, households,
merge, a merge's review and its undo. A record outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.disclosure import disclosure_for
from weijian.core.web import SessionDep, error_body, refused, request_locale
from weijian.residents import queries, service
from weijian.residents.models import Resident
from weijian.residents.schemas import (
    DistinctIn,
    DuplicatePairOut,
    HouseholdOut,
    MergeIn,
    MergeOut,
    MergeReviewOut,
    ProbableMatchOut,
    ResidentCreate,
    ResidentDetail,
    ResidentListItem,
    ResidentPage,
    ResidentUpdate,
    UnmergeIn,
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


def matches_out(session: Session, actor: Actor, matches: list[service.Match]) -> list[ProbableMatchOut]:
    names = queries.village_names(session=session, codes={m.resident.village_code for m in matches})
    shown = disclosure_for(actor)
    return [ProbableMatchOut(resident=ResidentListItem.of(m.resident, names, disclosure=shown),
                             matched_on=list(m.matched_on)) for m in matches]


@router.post("/residents", response_model=ResidentDetail, status_code=201,
             responses={409: {"description": "Probable duplicates: the error lists them as `matches`; send "
                                             "again with `confirm_probable_duplicate` once checked"}})
def create_resident(body: ResidentCreate, request: Request, session: SessionDep,
                    actor: Actor = Depends(require("resident:write"))) -> ResidentDetail | JSONResponse:
    try:
        resident = service.create(session=session, resident_in=body, actor=actor)
    except service.ProbableDuplicate as exc:
        refused(session)
        body_out = error_body(exc, request_locale(request))
        body_out["error"]["matches"] = [m.model_dump(mode="json") for m in matches_out(session, actor, exc.matches)]
        return JSONResponse(body_out, status_code=exc.status_code)
    return _detail(session, resident, actor)


@router.get("/resident-duplicates", response_model=list[DuplicatePairOut])
def probable_duplicate_pairs(session: SessionDep,
                             actor: Actor = Depends(require("resident:merge"))) -> list[DuplicatePairOut]:
    pairs = service.probable_duplicate_pairs(session=session, actor=actor)
    names = queries.village_names(session=session, codes={r.village_code for m, s in pairs
                                                           for r in (m.resident, s)})
    shown = disclosure_for(actor)
    return [DuplicatePairOut(first=ResidentListItem.of(m.resident, names, disclosure=shown),
                             second=ResidentListItem.of(s, names, disclosure=shown), matched_on=list(m.matched_on))
            for m, s in pairs]


@router.post("/resident-duplicates/distinct", status_code=204)
def mark_distinct(body: DistinctIn, session: SessionDep,
                  actor: Actor = Depends(require("resident:merge"))) -> None:
    service.mark_distinct(session=session, actor=actor, first_id=body.first_id, second_id=body.second_id,
                          reason=body.reason)


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


@router.get("/resident-merges/{merge_id}", response_model=MergeReviewOut)
def read_merge(merge_id: Id64, session: SessionDep,
               actor: Actor = Depends(require("resident:merge"))) -> MergeReviewOut:
    review = service.merge_review(session=session, merge_id=merge_id, actor=actor)
    return MergeReviewOut(merge=MergeOut.of(review.merge), moved=review.moved, notes=review.notes)


@router.post("/resident-merges/{merge_id}/undo", response_model=MergeOut)
def undo_merge(merge_id: Id64, body: UnmergeIn, session: SessionDep,
               actor: Actor = Depends(require("resident:unmerge"))) -> MergeOut:
    return MergeOut.of(service.unmerge(session=session, merge_id=merge_id, reason=body.reason or "", actor=actor))


@router.get("/households/{household_id}", response_model=HouseholdOut)
def read_household(household_id: Id64, session: SessionDep,
                   actor: Actor = Depends(require("resident:read"))) -> HouseholdOut:
    hh, members = queries.household(session=session, household_id=household_id, actor=actor)
    names = queries.village_names(session=session, codes=[hh.village_code])
    return HouseholdOut.of(hh, members, names[hh.village_code])

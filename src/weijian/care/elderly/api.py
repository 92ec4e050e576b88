"""JSON routes of the elderly's annual service under /api/v1/care/elderly: a resident's record for a year,
recording a self-care assessment (with the auxiliary tests) and a TCM form, one TCM form, the residents
still due this year, and the constitution calculator (no resident, nothing stored). A resident outside the
caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.care.elderly import rules, service
from weijian.care.elderly.schemas import (
    DueRowOut,
    ElderlyRecordOut,
    ScoreIn,
    ScoreOut,
    SelfCareCreate,
    SelfCareOut,
    TcmCreate,
    TcmOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.errors import ErrorCollector
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care/elderly", tags=["care: elderly and TCM"])


def record_out(rec: service.ElderlyRecord) -> ElderlyRecordOut:
    return ElderlyRecordOut(resident_id=rec.resident.id, age=rec.age, year=rec.year,
                            health_check_dates=[c.date for c in rec.checks],
                            self_care=[SelfCareOut.of(a) for a in rec.self_care], tcm=[TcmOut.of(t) for t in rec.tcm])


@router.get("/residents/{resident_id}", response_model=ElderlyRecordOut)
def resident_record(resident_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read")),
                    year: int | None = Query(None, ge=2000, le=2100)) -> ElderlyRecordOut:
    return record_out(service.record(session=session, actor=actor, resident_id=resident_id, year=year))


@router.post("/self-care", response_model=SelfCareOut, status_code=201)
def create_self_care(body: SelfCareCreate, session: SessionDep,
                     actor: Actor = Depends(require("care:write"))) -> SelfCareOut:
    return SelfCareOut.of(service.record_self_care(session=session, assessment_in=body, actor=actor))


@router.post("/tcm", response_model=TcmOut, status_code=201)
def create_tcm(body: TcmCreate, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> TcmOut:
    return TcmOut.of(service.record_tcm(session=session, tcm_in=body, actor=actor))


@router.get("/tcm/{tcm_id}", response_model=TcmOut)
def get_tcm(tcm_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read"))) -> TcmOut:
    return TcmOut.of(service.get_tcm(session=session, actor=actor, tcm_id=tcm_id)[0])


@router.get("/due", response_model=list[DueRowOut])
def due(session: SessionDep, actor: Actor = Depends(require("care:read")), as_of: BoundedDate | None = None,
        village: str | None = Query(None, max_length=12)) -> list[DueRowOut]:
    rows = service.due(session=session, actor=actor, as_of=as_of or clock.today(), village_code=village)
    return [DueRowOut(resident_id=r.resident_id, name=r.name, village_code=r.village_code, age=r.age,
                      missing=list(r.missing)) for r in rows]


@router.post("/constitution/score", response_model=ScoreOut)
def score(body: ScoreIn, actor: Actor = Depends(require("care:read"))) -> ScoreOut:
    """Score a 33-answer form by the 体质判定标准表 (nothing stored; refused naming the questions)."""
    return score_out(body.answers)


def score_out(answers: list[int | None]) -> ScoreOut:
    errs = ErrorCollector()
    ok = service.check_answers(answers, errs)
    errs.raise_if_any()
    assert ok is not None
    res = rules.constitution(ok)
    return ScoreOut(scores=res.scores, verdicts=res.verdicts, identified=res.identified(), main=res.main,
                    rule_version=res.version)

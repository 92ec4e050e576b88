"""The bureau's review of the people the poverty-risk list flags: a status per person — to_check (待核查),
helped (已帮扶), closed (已关闭) — with who set it, when and a note; each change audited with the status and
note before (the list itself is read in monitoring.queries)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector
from weijian.residents import access
from weijian.settlement.models import PovertyRiskReview
from weijian.settlement.monitoring.schemas import ReviewIn


def set_status(*, session: Session, actor: Actor, review_in: ReviewIn) -> PovertyRiskReview:
    """Set (or change) a person's status. Who: poverty_risk:review, for a resident in the actor's scope (a
    resident outside it is answered NotFound, as a missing one). helped and closed need a note."""
    actor.require("poverty_risk:review")
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=review_in.resident_id)
    errs = ErrorCollector()
    if review_in.status in ("helped", "closed") and not review_in.note:
        errs.add("note", "settlement.monitoring.errors.note_required")
    errs.raise_if_any()
    row = session.scalar(select(PovertyRiskReview).where(PovertyRiskReview.resident_id == resident.id))
    before = None if row is None else {"status": row.status, "note": row.note}
    now = clock.now()
    if row is None:
        row = PovertyRiskReview(resident_id=resident.id, created_at=now)
        session.add(row)
    row.status, row.note, row.updated_at, row.updated_by = review_in.status, review_in.note, now, actor.username
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create" if before is None else "update",
                           entity_type="poverty_risk", entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"status": row.status, "note": row.note, "before": before})
    return row

"""The settlement domain's service: the one module other domains import (`from weijian.settlement import
service as settlement_service`). Each area is a package (settle, paylater, budget, monitoring) with its own
service (writes) and queries (reads); their public functions are re-exported here, each under its own name
(the bundled budget and poverty-risk monitoring are pages and figures of their own, used by no other domain).

`try_settle_at_discharge` is care's discharge hook (registered by weijian.wiring), so a stay is settled in
the discharge's transaction.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_, select

from weijian.residents import service as residents_service

# Totals for the indicators domain (per village and month, one grouped query), in settlement/counts.py.
from weijian.settlement.counts import PAYERS, amounts_by_month, amounts_by_month_all, payer_column, settlement_records
from weijian.settlement.models import Balance, DepositWaiver, PovertyRiskReview, Settlement, SettlementYear
from weijian.settlement.paylater.queries import balances_ledger
from weijian.settlement.paylater.rules import paylater_rules
from weijian.settlement.paylater.service import grant_waiver, record_payment
from weijian.settlement.settle.queries import (
    SELF_PAY,
    for_encounter,
    get,
    list_for_resident,
    live_settlement,
    pending_statement,
    stay_facts,
)
from weijian.settlement.settle.service import (
    Reversal,
    reverse,
    settle_encounter,
    settle_pending,
    try_settle_at_discharge,
)

__all__ = [
    "MERGE_MOVER", "PAYERS", "SELF_PAY",
    "Reversal", "amounts_by_month", "amounts_by_month_all", "balances_ledger", "for_encounter",
    "get", "grant_waiver", "list_for_resident", "live_settlement", "payer_column", "paylater_rules",
    "pending_statement", "record_payment", "reverse", "settle_encounter", "settle_pending", "settlement_records",
    "stay_facts", "try_settle_at_discharge",
]


# --- a merge of two records of one person (residents.merging: this is settlement's part) -----------------
_YEAR_SUMS = ("deductible_paid", "basic_paid", "in_policy_share", "critical_illness_paid", "assistance_paid",
              "large_expense_paid", "assistance_deductible_paid", "tilt_share", "tilt_assistance_paid", "stays",
              "last_seq")


def settled_since(ctx: residents_service.MergeContext,
                  moves: Sequence[residents_service.ResidentMergeMove]) -> residents_service.UndoProblems:
    """What stops undoing a merge on settlement's side: a settlement made since the merge on a stay the merge
    moved (the stay would go back, its slip stay), or of the survivor in a year whose settlements the merge
    moved (its accumulations started from the combined year)."""
    stays = [m.row_id for m in moves if m.table_name == "encounters"]
    moved = [m.row_id for m in moves if m.table_name == "settlements"]
    years = set(ctx.session.scalars(select(Settlement.year).where(Settlement.id.in_(moved)))) if moved else set()
    conds: list[ColumnElement[bool]] = []
    if stays:
        conds.append(Settlement.encounter_id.in_(stays))
    if years:
        conds.append(and_(Settlement.resident_id == ctx.survivor_id, Settlement.year.in_(years)))
    if not conds:
        return []
    later = ctx.session.scalar(select(Settlement).where(
        or_(*conds), Settlement.settled_at > ctx.merge.at, Settlement.id.not_in(moved))
        .order_by(Settlement.id).limit(1))
    if later is None:
        return []
    return [("residents.errors.unmerge_settled_since", {"settlement_id": later.id, "year": later.year})]


def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's settlements, deposit waivers and pay-later balances to the survivor. A year
    settled on both records becomes one: the survivor's accumulation row gains the merged one's sums (what
    each fund paid towards the year's deductibles and caps, weijian's reading: the person paid both) and the
    merged record's settlements of that year follow the survivor's in sequence (seq + the survivor's last);
    the merged record's row of that year stays where it was (noted). The slips themselves are not changed."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    years = {y.year: y for y in session.scalars(select(SettlementYear).where(
        SettlementYear.resident_id == ctx.survivor_id))}
    offsets: dict[int, int] = {}
    for theirs in session.scalars(select(SettlementYear).where(SettlementYear.resident_id == ctx.merged_id)
                                  .order_by(SettlementYear.year)):
        mine = years.get(theirs.year)
        if mine is None:
            out += residents_service.reassign(ctx, SettlementYear, "settlement_year", rows=[theirs])
            continue
        offsets[theirs.year] = mine.last_seq
        sums = {k: (getattr(mine, k), getattr(mine, k) + getattr(theirs, k)) for k in _YEAR_SUMS}
        for k, (_b, a) in sums.items():
            setattr(mine, k, a)
        out.append(residents_service.Moved("settlement_year", "settlement_years", mine.id, sums, note="combined"))
        out.append(residents_service.Moved("settlement_year", "settlement_years", theirs.id, note="kept_on_merged"))
    for s in session.scalars(select(Settlement).where(Settlement.resident_id == ctx.merged_id).order_by(Settlement.id)):
        values: dict[str, tuple[object, object]] = {"resident_id": (ctx.merged_id, ctx.survivor_id)}
        s.resident_id = ctx.survivor_id
        if s.year in offsets:
            values["seq"] = (s.seq, s.seq + offsets[s.year])
            s.seq += offsets[s.year]
        out.append(residents_service.Moved("settlement", "settlements", s.id, values))
        if "seq" in values:
            out[-1].note = "renumbered"
    out += residents_service.reassign(ctx, DepositWaiver, "deposit_waiver")
    out += residents_service.reassign(ctx, Balance, "settlement_balance")
    # A poverty-risk review is one per person: the merged record's passes to a survivor without one; where
    # both were reviewed the survivor's stands and the merged one's stays where it was (noted).
    review = session.scalar(select(PovertyRiskReview).where(PovertyRiskReview.resident_id == ctx.merged_id))
    if review is not None:
        if session.scalar(select(PovertyRiskReview.id).where(PovertyRiskReview.resident_id == ctx.survivor_id)):
            out.append(residents_service.Moved("poverty_risk_review", "poverty_risk_reviews", review.id,
                                               note="kept_on_merged"))
        else:
            out += residents_service.reassign(ctx, PovertyRiskReview, "poverty_risk_review", rows=[review])
    session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="settlement",
    columns=frozenset({"settlements.resident_id", "settlement_years.resident_id", "deposit_waivers.resident_id",
                       "settlement_balances.resident_id", "poverty_risk_reviews.resident_id"}),
    classes=(Settlement, SettlementYear, DepositWaiver, Balance, PovertyRiskReview),
    move=move_resident, undo_problems=settled_since)

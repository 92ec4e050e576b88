"""Maternal counts for the indicators domain, per village and month of the delivery (the village the woman
lived in on the delivery's day, from the residence history: event_residence), each in one grouped query,
and the records behind them.

Definitions (public-health.md §2; the official 规范 text not read — VERIFY):
- live births (活产数): the live births of the deliveries of the period (twins: 2), outcome live_birth;
- 早孕建册: a woman delivered of a live birth in the period whose pregnancy was registered before 13 weeks
  (booked_weeks < 13) and whose 1st antenatal visit was before 13 weeks too (weeks < 13);
- 产后访视: a woman delivered of a live birth in the period with a postpartum home visit at most
  maternal.yaml's postpartum_rate_days (28) days after the discharge (the delivery when none is recorded);
- delivered (产妇数): a woman delivered in the period (live birth or stillbirth), once per delivery;
- prenatal_screened (产前筛查): such a woman with a prenatal screening (care.records' screenings, kind
  prenatal, not voided) dated from the pregnancy's LMP to its delivery — the screening record counted against
  the delivery (public-health.md §2: women screened ÷ women who delivered; serology only, VERIFY the scope).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, exists, func, literal, null, select
from sqlalchemy.orm import Session

from weijian.care.maternal import rules
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.care.models import Screening
from weijian.core.periods import month_case
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on

WHICH = ("live_births", "early_booked", "postpartum_visited", "delivered", "prenatal_screened")
# The deliveries each figure counts: the 规范's rates are over live births; 产前筛查率 over the women delivered.
_DELIVERED = ("live_birth", "stillbirth")


def _outcome(which: str) -> ColumnElement[bool]:
    if which in ("delivered", "prenatal_screened"):
        return Pregnancy.outcome.in_(_DELIVERED)
    return Pregnancy.outcome == "live_birth"



def _condition(which: str) -> ColumnElement[bool]:
    P = Pregnancy
    if which == "early_booked":
        first = exists().where(AntenatalVisit.pregnancy_id == P.id, AntenatalVisit.number == 1,
                               AntenatalVisit.weeks < 13)
        return and_(P.booked_weeks < 13, first)
    if which == "postpartum_visited":
        return exists().where(PostpartumVisit.pregnancy_id == P.id, PostpartumVisit.kind == "home",
                              PostpartumVisit.days_after_discharge <= rules.rules().postpartum_rate_days)
    if which == "prenatal_screened":
        S = Screening
        return exists().where(S.resident_id == P.resident_id, S.kind == "prenatal", S.voided_at.is_(None),
                              S.date >= P.lmp, S.date <= P.delivered_on)
    if which in ("live_births", "delivered"):
        return literal(True)
    raise AssertionError(which)


def maternal_counts(*, session: Session, lo: str, hi: str, start: date, end: date, which: str
                    ) -> dict[tuple[str, int], int]:
    """(village, yyyymm of the delivery) → live births (which = live_births) or women delivered of a live
    birth booked early (early_booked) or visited after the birth (postpartum_visited). One query."""
    P, H = Pregnancy, ResidentResidence
    ym = month_case(P.delivered_on, start, end)
    value = func.sum(P.live_births) if which == "live_births" else func.count()
    stmt = (select(H.village_code, ym, value).select_from(P).join(H, lived_on(H, P.resident_id, P.delivered_on))
            .where(_outcome(which), P.delivered_on >= start, P.delivered_on <= end, _condition(which),
                   H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code, ym))
    return {(v, int(m)): int(n) for v, m, n in session.execute(stmt) if n}


def maternal_records(*, lo: str, hi: str, start: date, end: date, which: str) -> Select[Any]:
    """The deliveries behind maternal_counts: (resident id, name, id number, village on the delivery's day, date =
    delivered_on, facility = the registering facility, detail, key = the pregnancy id, quantity = the live
    births where the figure sums them, else none)."""
    P, H, R, F = Pregnancy, ResidentResidence, Resident, Facility
    quantity = P.live_births if which == "live_births" else cast(null(), Integer)
    return (select(R.id, R.name, R.id_number, H.village_code, P.delivered_on.label("date"),
                   F.name.label("facility"), literal(which).label("detail"), P.id.label("key"),
                   quantity.label("quantity"))
            .select_from(P).join(R, R.id == P.resident_id).join(H, lived_on(H, P.resident_id, P.delivered_on))
            .outerjoin(F, F.id == P.facility_id)
            .where(_outcome(which), P.delivered_on >= start, P.delivered_on <= end, _condition(which),
                   H.village_code >= lo, H.village_code <= hi))

"""Demo TB patient management (surveillance.tb): about one patient under treatment per 2,500 residents, with
supervised doses up to the day before the reference date (a few missed) and the reference day's due, monthly
follow-ups, first home visits made — and, in the demo village, one patient notified the day before whose
first visit is still due (the village doctor's worklist) — plus a third as many treatments already ended
with their outcome (most cured or completed).

Deterministic like the builder: one `random.Random` from the build's seed, residents read in id order. The
rows are valid by construction (doses between the start and the outcome or the reference day, one a day;
follow-ups at the rules' intervals) and tests/demo/test_tb_demo.py checks them."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.residents.models import Resident
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbTreatment
from weijian.surveillance.tb.rules import add_months, follow_up_interval, rules

PER_PATIENT = 2500  # residents per patient under treatment
HOSPITAL_BY = "demo"


@dataclass(frozen=True)
class TbSummary:
    under_treatment: int
    ended: int
    doses: int
    first_visits_due: int


def build(*, session: Session, seed: int, reference: date, demo_village: str) -> TbSummary:
    """Write the demo's TB patients; flushes, never commits."""
    rng = random.Random(seed * 7919 + 16)
    young, old = add_months(reference, -80 * 12), add_months(reference, -15 * 12)
    people = session.execute(select(Resident.id, Resident.village_code).where(
        Resident.status == "active", Resident.birth_date > young, Resident.birth_date <= old)
        .order_by(Resident.id)).tuples().all()
    if not people:
        return TbSummary(0, 0, 0, 0)
    residents = session.scalar(select(func.count()).select_from(Resident).where(Resident.status == "active")) or 0
    n_active = max(2, round(residents / PER_PATIENT))
    n_ended = max(1, n_active // 3)
    local = [p for p in people if p[1] == demo_village]
    chosen: list[int] = [p[0] for p in rng.sample(local, min(2, len(local)))]
    rest = [p[0] for p in people if p[0] not in chosen]
    chosen += rng.sample(rest, min(len(rest), n_active + n_ended - len(chosen)))
    doses: list[dict[str, object]] = []
    follow_ups: list[dict[str, object]] = []
    visits_due = 0
    for i, rid in enumerate(chosen):
        active = i < n_active
        new = i == 1 and len(local) > 1  # the demo village's patient notified yesterday: first visit due
        resistant = rng.random() < 0.05
        regimen = "mdr_short" if resistant else "2HRZE/4HR"
        months = rules().regimens[regimen].months or 6
        if new:
            start = reference - timedelta(days=1)
        elif active:
            start = reference - timedelta(days=rng.randint(5, 170))
        elif i == n_active:
            # The first ended course closes cured earlier this year (when the year has begun): the current
            # year's 规则服药率 has a denominator on the dashboard.
            closed = reference - timedelta(days=rng.randint(1, max(1, min(60, reference.timetuple().tm_yday - 1))))
            start = add_months(closed + timedelta(days=1), -months)
        else:
            start = reference - timedelta(days=rng.randint(200, 420))
        notified = clock.at(start, time(9)) + timedelta(minutes=rng.randint(0, 480))
        kind = "family" if rng.random() < 0.2 else "medical"
        end_plan = add_months(start, months) - timedelta(days=1)
        outcome = outcome_on = None
        if not active:
            outcome = "cured" if i == n_active else rng.choices(["cured", "completed", "lost", "failed"],
                                                                 [55, 35, 6, 4])[0]
            outcome_on = end_plan if outcome in ("cured", "completed") else start + timedelta(days=rng.randint(30, 120))
            if outcome_on >= reference:
                outcome_on = reference - timedelta(days=1)
        t = TbTreatment(resident_id=rid, notified_at=notified, start_date=start, regimen=regimen,
                        drug_resistant=resistant, supervisor_kind=kind, supervisor_name="督导员" if kind == "family"
                        else "村医", planned_months=months, outcome=outcome, outcome_on=outcome_on,
                        created_by=HOSPITAL_BY)
        session.add(t)
        session.flush()
        done = None if new else notified + timedelta(hours=rng.randint(3, 60))
        visits_due += done is None
        session.add(TbFirstVisit(treatment_id=t.id, due_at=notified + timedelta(hours=rules().first_visit_hours),
                                 done_at=done, tries=0, done_by=None if done is None else HOSPITAL_BY))
        last = min(outcome_on or reference - timedelta(days=1), end_plan, reference - timedelta(days=1))
        # Some patients miss more than 10 % (not 规则服药); the course closed this year is regular.
        miss = 0.02 if i == n_active else rng.choice([0.02, 0.05, 0.15])
        day = start
        while day <= last:
            doses.append({"treatment_id": t.id, "date": day, "taken": rng.random() >= miss,
                          "recorded_by": HOSPITAL_BY, "recorded_at": clock.at(day, time(8))})
            day += timedelta(days=1)
        on = start + timedelta(days=follow_up_interval(start=start, on=start, supervisor_kind=kind))
        while on < min(outcome_on or reference, reference):
            step = follow_up_interval(start=start, on=on, supervisor_kind=kind)
            follow_ups.append({"treatment_id": t.id, "date": on, "findings": None,
                               "next_due": on + timedelta(days=step), "recorded_by": HOSPITAL_BY,
                               "recorded_at": clock.at(on, time(10))})
            on += timedelta(days=step)
    if doses:
        session.execute(insert(TbDose), doses)
    if follow_ups:
        session.execute(insert(TbFollowUp), follow_ups)
    session.flush()
    n_act = min(n_active, len(chosen))
    return TbSummary(under_treatment=n_act, ended=len(chosen) - n_act, doses=len(doses), first_visits_due=visits_due)

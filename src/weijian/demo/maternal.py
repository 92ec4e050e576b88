"""The demo county's maternal health management (care.maternal): about 10 births per 1,000 residents a
year — the last year's deliveries with their antenatal and postpartum visits, and the pregnancies open on
the reference date with visits due this week and some overdue — graded by the five colours (a few orange
and red, flagged for referral). Written in bulk; the windows are care.maternal.rules' own, so every row is
one the service would accept (a visit outside its window carries a reason)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from weijian.care.maternal import rules
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.core import clock
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

BIRTHS_PER_1000 = 10
COLOURS = (("green", 0.70), ("yellow", 0.20), ("orange", 0.07), ("red", 0.03))
TABLES = ("pregnancies", "antenatal_visits", "postpartum_visits")
LATE_REASON = "外出务工，返乡后建册"
MISSED_REASON = "上次未按时检查，补查"


@dataclass(frozen=True)
class MaternalSummary:
    delivered: int
    open: int
    antenatal_visits: int
    postpartum_visits: int
    referral_needed: int


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _colour(rng: random.Random) -> tuple[str, bool, list[str]]:
    r = rules.rules()
    roll, acc, colour = rng.random(), 0.0, "green"
    for code, share in COLOURS:
        acc += share
        if roll < acc:
            colour = code
            break
    criteria = [rng.choice([c.code for c in r.criteria.values() if c.colour == colour])] if colour != "green" else []
    infectious = rng.random() < 0.02
    if infectious:
        criteria.append(rng.choice([c.code for c in r.criteria.values() if c.colour == r.purple.code]))
    return colour, infectious, criteria


def build(*, session: Session, seed: int, reference: date) -> MaternalSummary:
    """Write the maternal records for the residents already in the database; flushes, never commits."""
    rng = random.Random(f"weijian-demo-maternal-{seed}")
    r = rules.rules()
    women = session.execute(select(Resident.id, Resident.village_code, Resident.birth_date)
                            .where(Resident.sex == "female", Resident.status == "active")
                            .order_by(Resident.id)).all()
    population = session.scalar(select(func.count()).select_from(Resident)) or 0
    clinics = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "village_clinic"))}
    eligible = [w for w in women if 20 <= (reference - w.birth_date).days // 365 <= 40]
    per_year = max(1, round(population * BIRTHS_PER_1000 / 1000))
    n_open = round(per_year * 0.75)  # ~9 months of pregnancies are open on any day
    chosen = rng.sample(eligible, min(len(eligible), per_year + n_open))
    now = clock.now()
    pid, vid, ppid = (_next_id(session, m) for m in (Pregnancy, AntenatalVisit, PostpartumVisit))
    pregnancies: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    postpartum: list[dict[str, Any]] = []
    flagged = 0
    for i, woman in enumerate(chosen):
        delivered = i < per_year
        if delivered:
            delivered_on = reference - timedelta(days=rng.randint(1, 365))
            lmp = delivered_on - timedelta(days=rng.randint(266, 287))
        else:
            lmp = reference - timedelta(days=rng.randint(42, 280))
            delivered_on = None
        late = rng.random() < 0.12
        registered = lmp + timedelta(days=rng.randint(95, 140) if late else rng.randint(42, 88))
        if registered > reference:
            registered = reference
        colour, infectious, criteria = _colour(rng)
        flagged += int(colour in ("orange", "red") and delivered_on is None)
        last_visit = None
        end = delivered_on - timedelta(days=1) if delivered_on else reference
        for v in r.visits:
            start, stop = v.window(lmp)
            if v.number == 1:
                day = registered
            else:
                if start > end or (stop >= reference and rng.random() < 0.6) or rng.random() < 0.08:
                    continue  # not open yet, open now and not yet done (due this week), or missed
                day = start + timedelta(days=rng.randint(0, (min(stop, end) - start).days))
            if day > end or (last_visit is not None and day < last_visit):
                continue
            weeks, days = rules.gestation(lmp, day)
            in_window = start <= day <= stop
            visits.append({"id": vid, "pregnancy_id": pid, "resident_id": woman.id, "number": v.number, "date": day,
                           "weeks": weeks, "days": days, "weight_kg": None,
                           "sbp": rng.randint(100, 135), "dbp": rng.randint(60, 85), "findings": None,
                           "out_of_window_reason": None if in_window else (LATE_REASON if v.number == 1
                                                                           else MISSED_REASON),
                           "referral_id": None, "facility_id": clinics.get(woman.village_code),
                           "created_at": now, "created_by": "demo"})
            vid += 1
            last_visit = day
        row: dict[str, Any] = {
            "id": pid, "resident_id": woman.id, "lmp": lmp, "edd": rules.edd(lmp), "registered_on": registered,
            "booked_weeks": rules.gestation(lmp, registered)[0], "facility_id": clinics.get(woman.village_code),
            "gravidity": rng.randint(1, 3), "parity": 0, "risk_colour": colour, "risk_infectious": infectious,
            "risk_criteria": ",".join(criteria) or None, "graded_on": registered, "referral_id": None,
            "status": "open", "delivered_on": None, "discharged_on": None, "outcome": None, "live_births": 0,
            "delivery_facility_name": None, "birth_registration_id": None, "created_at": now, "created_by": "demo"}
        row["parity"] = rng.randint(0, row["gravidity"] - 1)
        if delivered_on is not None:
            still = rng.random() < 0.01
            discharged = delivered_on + timedelta(days=rng.randint(1, 5))
            row.update(status="delivered", delivered_on=delivered_on, discharged_on=min(discharged, reference),
                       outcome="stillbirth" if still else "live_birth",
                       live_births=0 if still else (2 if rng.random() < 0.01 else 1))
            home = row["discharged_on"] + timedelta(days=rng.randint(1, 9))
            if rng.random() < 0.9 and home <= reference:
                postpartum.append({"id": ppid, "pregnancy_id": pid, "resident_id": woman.id, "kind": "home",
                                   "date": home, "days_after_discharge": (home - row["discharged_on"]).days,
                                   "findings": None, "facility_id": clinics.get(woman.village_code),
                                   "created_at": now, "created_by": "demo"})
                ppid += 1
            check = delivered_on + timedelta(days=rng.randint(r.check_42_from_day, r.check_42_from_day + 8))
            if rng.random() < 0.8 and check <= reference:
                postpartum.append({"id": ppid, "pregnancy_id": pid, "resident_id": woman.id, "kind": "check_42",
                                   "date": check, "days_after_discharge": (check - row["discharged_on"]).days,
                                   "findings": None, "facility_id": clinics.get(woman.village_code),
                                   "created_at": now, "created_by": "demo"})
                ppid += 1
        pregnancies.append(row)
        pid += 1
    conn = session.connection()
    for model, rows in ((Pregnancy, pregnancies), (AntenatalVisit, visits), (PostpartumVisit, postpartum)):
        if rows:
            conn.execute(insert(model.__table__), rows)
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
    session.flush()
    return MaternalSummary(delivered=per_year if len(chosen) >= per_year else len(chosen),
                           open=max(0, len(chosen) - per_year), antenatal_visits=len(visits),
                           postpartum_visits=len(postpartum), referral_needed=flagged)

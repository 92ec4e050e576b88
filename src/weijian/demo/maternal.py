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
from weijian.immunization.models import BirthRegistration
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
    # The deliveries are first those of the registry's own births of the last year (the mother of a child
    # born then delivered on its birthday; twins: two live births), so that the prenatal screenings the care
    # demo wrote for those mothers count against them and the newborns' registrations link to the delivery;
    # then, up to per_year, women without a child on the registry.
    by_id = {w.id: w for w in women}
    babies = session.execute(select(Resident.mother_id, Resident.birth_date, func.count())
                             .where(Resident.mother_id.is_not(None),
                                    Resident.birth_date >= reference - timedelta(days=365),
                                    Resident.birth_date < reference)
                             .group_by(Resident.mother_id, Resident.birth_date)
                             .order_by(Resident.birth_date, Resident.mother_id)).all()
    recent: dict[int, tuple[date, int]] = {}
    for mother_id, born, n in babies:
        if mother_id in by_id:
            recent.setdefault(mother_id, (born, int(n)))
    mothers = sorted(rng.sample(sorted(recent), min(len(recent), per_year)))
    others = [w for w in eligible if w.id not in recent]
    picked = rng.sample(others, min(len(others), per_year - len(mothers) + n_open))
    chosen = [by_id[m] for m in mothers] + picked
    births_of = {m: recent[m] for m in mothers}
    per_year = min(per_year, len(mothers) + len(picked))
    now = clock.now()
    pid, vid, ppid = (_next_id(session, m) for m in (Pregnancy, AntenatalVisit, PostpartumVisit))
    pregnancies: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    postpartum: list[dict[str, Any]] = []
    flagged = 0
    for i, woman in enumerate(chosen):
        delivered = i < per_year
        if delivered:
            own = births_of.get(woman.id)
            delivered_on = own[0] if own else reference - timedelta(days=rng.randint(1, 365))
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
            own = births_of.get(woman.id)
            still = own is None and rng.random() < 0.01
            discharged = delivered_on + timedelta(days=rng.randint(1, 5))
            row.update(status="delivered", delivered_on=delivered_on, discharged_on=min(discharged, reference),
                       outcome="stillbirth" if still else "live_birth",
                       live_births=own[1] if own else 0 if still else (2 if rng.random() < 0.01 else 1))
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


def link_newborns(*, session: Session, reference: date) -> int:
    """The deliveries of the newborns the demo registered through the newborn bundle (demo/immunization.py
    runs after build): each mother's open pregnancy is delivered on the birth day (one made when she has
    none: LMP from the gestational weeks, the first visit at booking), naming the registration, so the
    delivery and the newborn's page link to each other and the postpartum visits come due on the worklist.
    Returns the deliveries written. Flushes, never commits."""
    births = session.execute(select(BirthRegistration.id, BirthRegistration.mother_id, BirthRegistration.born_at,
                                    BirthRegistration.gestational_weeks, Facility.name)
                             .join(Facility, Facility.id == BirthRegistration.facility_id)
                             .order_by(BirthRegistration.id)).all()
    clinics = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "village_clinic"))}
    done = 0
    for bid, mother_id, born_at, weeks, hospital in births:
        born = clock.local_date(born_at)
        if session.scalar(select(Pregnancy.id).where(Pregnancy.birth_registration_id == bid)) is not None:
            continue
        if session.scalar(select(Pregnancy.id).where(  # delivered in the months before: not this mother's birth
                Pregnancy.resident_id == mother_id, Pregnancy.status == "delivered",
                Pregnancy.delivered_on > born - timedelta(days=300))) is not None:
            continue
        p = session.scalars(select(Pregnancy).where(Pregnancy.resident_id == mother_id,
                                                    Pregnancy.status == "open")).first()
        if p is None or p.lmp >= born - timedelta(days=7 * 28):
            if p is not None:  # a pregnancy too young to be this birth's: it ended unnoticed
                p.status, p.outcome, p.delivered_on = "ended", "miscarriage", p.lmp + timedelta(days=70)
            village = session.scalar(select(Resident.village_code).where(Resident.id == mother_id))
            lmp = born - timedelta(days=7 * (weeks or 39) + 3)
            registered = lmp + timedelta(days=70)
            p = Pregnancy(resident_id=mother_id, lmp=lmp, edd=rules.edd(lmp), registered_on=registered,
                          booked_weeks=rules.gestation(lmp, registered)[0], facility_id=clinics.get(village or ""),
                          gravidity=1, parity=0, risk_colour="green", risk_infectious=False, status="open",
                          live_births=0, created_by="demo")
            session.add(p)
            session.flush()
            session.add(AntenatalVisit(pregnancy_id=p.id, resident_id=mother_id, number=1, date=registered,
                                       weeks=rules.gestation(lmp, registered)[0],
                                       days=rules.gestation(lmp, registered)[1], facility_id=p.facility_id,
                                       created_by="demo"))
        p.status, p.outcome, p.delivered_on, p.live_births = "delivered", "live_birth", born, 1
        p.discharged_on = min(born + timedelta(days=3), reference)
        p.delivery_facility_name, p.birth_registration_id = hospital, bid
        done += 1
    session.flush()
    return done

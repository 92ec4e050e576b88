"""The demo county's severe mental illness management (care.mental): about 4 patients per 1,000 residents
(aged 18 or over), registered over the last six years — most with the informed consent signed, a few
without and the reason kept (no follow-ups then: the 知情同意原则) — each with the consent followed up since on
the rhythm the 规范 gives his class (stable every 3 months, otherwise within 2 weeks), up to the reference
date; a share of them behind (overdue), and the demo village's doctor with a patient due this week and one
overdue. Written in bulk; every class, next visit and rule version is care.mental.rules' own, so every row
is one the service would accept."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from weijian.care.mental import rules
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.core import clock
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

PATIENTS_PER_1000 = 4
TABLES = ("mental_patients", "mental_follow_ups")
# Each follow-up's state: (share, risk grade, symptoms, insight, social function).
STATES = ((0.68, 0, "gone", "recovered", "good"), (0.10, 0, "gone", "recovered", "fair"),
          (0.12, 1, "present", "partial", "fair"), (0.06, 2, "present", "partial", "poor"),
          (0.04, 3, "marked", "absent", "poor"))
ADHERENCE = (("regular", 0.72), ("intermittent", 0.2), ("none", 0.08))
NO_CONSENT = "家属暂不同意签署，经综合管理小组随访"
DISEASES = (("schizophrenia", "F20.9", 0.55), ("bipolar", "F31.9", 0.15), ("delusional", "F22.0", 0.08),
            ("schizoaffective", "F25.9", 0.05), ("epilepsy", "F06.8", 0.07), ("intellectual", "F70.1", 0.10))


@dataclass(frozen=True)
class MentalSummary:
    patients: int
    follow_ups: int
    overdue: int


def _pick(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    roll, acc = rng.random(), 0.0
    for option in options:
        acc += option[-1] if isinstance(option[-1], float) else option[0]
        if roll < acc:
            return option
    return options[0]


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def build(*, session: Session, seed: int, reference: date, demo_village: str) -> MentalSummary:
    """Write the severe mental illness records for the residents already in the database; flushes, never
    commits."""
    rng = random.Random(f"weijian-demo-mental-{seed}")
    r = rules.rules()
    adults = [p for p in session.execute(select(Resident.id, Resident.village_code, Resident.birth_date,
                                                Resident.name).where(Resident.status == "active")
                                         .order_by(Resident.id)).all()
              if (reference - p.birth_date).days // 365 >= 18]
    population = session.scalar(select(func.count()).select_from(Resident)) or 0
    clinics = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "village_clinic"))}
    n = min(len(adults), max(1, round(population * PATIENTS_PER_1000 / 1000)))
    chosen = rng.sample(adults, n)
    local = [p for p in adults if p.village_code == demo_village and p not in chosen][:3]
    chosen += local  # the demo village's doctor sees a few whatever the draw
    now = clock.now()
    pid, fid = _next_id(session, MentalPatient), _next_id(session, MentalFollowUp)
    patients: list[dict[str, Any]] = []
    follow_ups: list[dict[str, Any]] = []
    overdue = 0
    for person in chosen:
        disease, icd10, _share = _pick(rng, DISEASES)
        registered = reference - timedelta(days=rng.randint(120, 6 * 365))
        diagnosed = registered - timedelta(days=rng.randint(10, 2000))
        consent = rng.random() < 0.85 or person in local
        facility = clinics.get(person.village_code)
        # A sixth of the patients are behind: their follow-ups stop some weeks before the reference date.
        behind = rng.random() < 0.16 or (len(local) > 1 and person is local[1])
        stop = reference - timedelta(days=rng.randint(20, 120)) if behind else reference
        first_grade = _pick(rng, STATES)[1]
        nxt = rules.next_visit(rules.classify(risk_grade=first_grade, symptoms="gone", insight="recovered",
                                              social_function="good", severe_adverse_reaction=False,
                                              severe_physical_illness=False), registered)
        last: dict[str, Any] | None = None
        due_soon = bool(local) and person is local[0]
        # The demo village's first patient: stable at a follow-up three months before a day this week.
        final = rules.add_months(reference + timedelta(days=3), -r.stable_months) if due_soon else None
        if final is not None:
            stop = final - timedelta(days=1)
        while consent or not r.follow_up_needs_consent:  # no follow-up management without the consent
            if nxt <= stop:
                day = nxt if rng.random() < 0.7 else min(stop, nxt + timedelta(days=rng.randint(0, 6)))
                _s, grade, symptoms, insight, social = _pick(rng, STATES)
            elif final is not None and final >= registered and (last is None or final > last["date"]):
                day, grade, symptoms, insight, social = final, 0, "gone", "recovered", "good"
                final = None
            else:
                break
            adherence = _pick(rng, ADHERENCE)[0]
            klass = rules.classify(risk_grade=grade, symptoms=symptoms, insight=insight, social_function=social,
                                   severe_adverse_reaction=False, severe_physical_illness=False)
            nxt = rules.next_visit(klass, day)
            last = {"id": fid, "patient_id": pid, "resident_id": person.id, "date": day, "risk_grade": grade,
                    "symptoms": symptoms, "insight": insight, "social_function": social,
                    "severe_adverse_reaction": False, "severe_physical_illness": False, "adherence": adherence,
                    "klass": klass, "next_visit_on": nxt, "needs_referral": r.classes[klass].refer,
                    "referral_id": None, "note": None, "rule_version": r.version, "facility_id": facility,
                    "created_at": now, "created_by": "demo"}
            follow_ups.append(last)
            fid += 1
        if not consent and r.follow_up_needs_consent:
            nxt = None  # no follow-up is due before the consent is signed
        overdue += int(nxt is not None and nxt < reference)
        patients.append({
            "id": pid, "resident_id": person.id, "disease": disease, "icd10": icd10, "diagnosed_on": diagnosed,
            "diagnosed_by": "县精神卫生中心", "registered_on": registered, "consent": consent,
            "consent_signer": ("guardian" if rng.random() < 0.6 else "patient") if consent else None,
            "consent_signer_name": "家属" if consent else None, "consent_on": registered if consent else None,
            "no_consent_reason": None if consent else NO_CONSENT, "guardian_name": None, "guardian_phone": None,
            "risk_grade": last["risk_grade"] if last else first_grade, "klass": last["klass"] if last else None,
            "adherence": last["adherence"] if last else None, "last_visit_on": last["date"] if last else None,
            "next_visit_on": nxt, "status": "active", "closed_on": None, "close_reason": None,
            "rule_version": r.version, "facility_id": facility, "created_at": now, "created_by": "demo"})
        if consent and patients[-1]["consent_signer"] == "patient":
            patients[-1]["consent_signer_name"] = person.name
        pid += 1
    conn = session.connection()
    for model, rows in ((MentalPatient, patients), (MentalFollowUp, follow_ups)):
        if rows:
            conn.execute(insert(model.__table__), rows)
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
    session.flush()
    return MentalSummary(patients=len(patients), follow_ups=len(follow_ups), overdue=overdue)

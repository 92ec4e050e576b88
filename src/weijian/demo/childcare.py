"""The demo county's child health management (care.childcare): for every active child under 7, the checks of
the schedule whose window has closed, most of them recorded on a day inside it (newborn visits 92 %, the others
85 %), and of the windows open on the reference date about a third already done — so each village has children
due this week and some overdue. Weights and lengths drawn around the WHO 2006 medians (a few children below
−2 SD), haemoglobin where the check measures it, z-scores and 体弱儿 cases worked out by care.childcare.rules as
the service would. Written in bulk; every row is one the service would accept."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from weijian.care.childcare import rules
from weijian.care.childcare.models import ChildCheck, FrailChild
from weijian.core import clock
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

TABLES = ("child_checks", "frail_children")


@dataclass(frozen=True)
class ChildcareSummary:
    children: int
    checks: int
    frail_open: int


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _z(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def build(*, session: Session, seed: int, reference: date) -> ChildcareSummary:
    """Write the child-health records for the children already in the database; flushes, never commits."""
    rng = random.Random(f"weijian-demo-childcare-{seed}")
    r = rules.rules()
    oldest = reference - relativedelta(years=r.max_age_years + 1) + timedelta(days=1)
    kids = session.execute(select(Resident.id, Resident.village_code, Resident.birth_date, Resident.sex)
                           .where(Resident.status == "active", Resident.birth_date >= oldest,
                                  Resident.birth_date <= reference).order_by(Resident.id)).all()
    clinics = {code: fid for fid, code in session.execute(
        select(Facility.id, Facility.orgunit_code).where(Facility.type == "village_clinic"))}
    now = clock.now()
    cid, fid = _next_id(session, ChildCheck), _next_id(session, FrailChild)
    checks: list[dict[str, Any]] = []
    frail: list[dict[str, Any]] = []
    for kid in kids:
        frailty = rng.gauss(0, 1) - (1.6 if rng.random() < 0.04 else 0.0)  # a child's own growth channel
        open_reasons: dict[str, dict[str, Any]] = {}
        for c in r.checks:
            start, end = c.window(kid.birth_date, None, r.newborn_days)
            if start > reference:
                break
            if end < reference:
                if rng.random() > (0.92 if c.code == "newborn" else 0.85):
                    continue  # missed
                last = end
            else:  # open now: a third done already, the rest due this week or later
                if rng.random() > 0.33:
                    continue
                last = reference
            on = start + timedelta(days=rng.randint(0, (last - start).days))
            months = rules.age_months(kid.birth_date, on)
            exact = (on - kid.birth_date).days / 30.4375
            weight = round(rules.who_value("wfa", kid.sex, exact, frailty * 0.6 + rng.gauss(0, 0.4)), 2)
            length = round(rules.who_value("lhfa", kid.sex, exact, frailty * 0.5 + rng.gauss(0, 0.4)), 1)
            hb = round(rng.gauss(122, 9)) if "haemoglobin" in c.content else None
            growth = rules.assess_growth(sex=kid.sex, birth=kid.birth_date, on=on, weight_kg=weight, length_cm=length)
            found = rules.frail_reasons(growth, haemoglobin_g_l=hb, months=months)
            checks.append({
                "id": cid, "resident_id": kid.id, "check_code": c.code, "date": on, "age_months": months,
                "age_days": (on - kid.birth_date).days, "weight_kg": Decimal(str(weight)),
                "length_cm": Decimal(str(length)),
                "head_cm": Decimal(str(round(34 + 10 * min(months, 36) / 36, 1))) if "head" in c.content else None,
                "development_ok": rng.random() > 0.03, "haemoglobin_g_l": hb,
                "hearing": ("pass" if rng.random() > 0.02 else "refer") if "hearing" in c.content else None,
                "vision": "5.0" if "vision" in c.content else None, "tcm_guidance": "tcm" in c.content,
                "z_wfa": _z(growth.wfa), "z_lhfa": _z(growth.lhfa), "z_wflh": _z(growth.wflh),
                "frail": ",".join(found) or None, "findings": None, "out_of_window_reason": None,
                "facility_id": clinics.get(kid.village_code), "created_at": now, "created_by": "demo"})
            z = {"underweight": growth.wfa, "stunting": growth.lhfa, "wasting": growth.wflh}
            for reason in found:
                if reason not in open_reasons:
                    open_reasons[reason] = {
                        "id": fid, "resident_id": kid.id, "reason": reason, "severity": rules.severity(z.get(reason)),
                        "opened_on": on, "opened_check_id": cid, "status": "open", "closed_on": None,
                        "closed_check_id": None, "closed_note": None, "created_at": now, "created_by": "demo"}
                    fid += 1
            assessed = {"underweight": growth.wfa, "stunting": growth.lhfa, "wasting": growth.wflh,
                        "anaemia": hb}
            for reason, case in list(open_reasons.items()):
                if reason not in found and assessed.get(reason) is not None:
                    case.update(status="closed", closed_on=on, closed_check_id=cid)
                    frail.append(case)
                    del open_reasons[reason]
            cid += 1
        frail.extend(open_reasons.values())
    conn = session.connection()
    for model, rows in ((ChildCheck, checks), (FrailChild, frail)):
        for i in range(0, len(rows), 5000):
            conn.execute(insert(model.__table__), rows[i:i + 5000])
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
    session.flush()
    return ChildcareSummary(children=len(kids), checks=len(checks),
                            frail_open=sum(1 for f in frail if f["status"] == "open"))

"""The demo county's elderly 65+ and TCM health management (care.elderly): for most annual_65 health checks of
this year and last (demo/care.py writes them for about 70 % of the residents 65+), the self-care assessment on
the same day with the auxiliary tests, linked to the check, and a 中医体质辨识 form with its guidance; the
residents 65+ without a check this year, and a few with one, have neither yet (the worklist's and the due
page's residents). Scored by care.elderly.rules, so every row is one the service would accept."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from weijian.care.elderly import rules
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.models import HealthCheck
from weijian.core import clock

TABLES = ("elderly_assessments", "tcm_assessments")
SELF_CARE_SHARE = 0.92  # of the annual checks, those with the self-care assessment recorded
TCM_SHARE = 0.85  # and with a TCM form
# The level of one item: mostly independent, the oldest more often dependent.
LEVEL_WEIGHTS = (("independent", 0.86), ("mild", 0.08), ("moderate", 0.04), ("dependent", 0.02))
GUIDANCE = ("emotion", "diet", "routine", "exercise", "acupoint")


@dataclass(frozen=True)
class ElderlySummary:
    self_care: int
    tcm: int


def _next_id(session: Session, model: Any) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _level(rng: random.Random, item: rules.Item) -> str:
    roll, acc = rng.random(), 0.0
    for code, share in LEVEL_WEIGHTS:
        acc += share
        if roll < acc:
            return code if item.score(code) is not None else "independent"
    return "independent"


def _answers(rng: random.Random, t: rules.TcmRules) -> tuple[int, ...]:
    """Mostly low answers; about half the forms lean to one or two biased constitutions."""
    answers = [rng.choice((1, 1, 1, 2, 2, 3)) for _ in t.questions]
    for c in rng.sample(t.biased, rng.choice((0, 0, 1, 1, 2))):
        for n in c.items:
            answers[n - 1] = rng.choice((2, 3, 3, 4))
    if answers[0] == 1 and rng.random() < 0.6:  # 精力充沛 asked the other way round
        answers[0] = rng.choice((3, 4, 5))
    return tuple(answers)


def build(*, session: Session, seed: int, reference: date) -> ElderlySummary:
    """Write the assessments for the annual checks already in the database; flushes, never commits."""
    rng = random.Random(f"weijian-demo-elderly-{seed}")
    r, t = rules.rules(), rules.tcm()
    checks = session.execute(select(HealthCheck.id, HealthCheck.resident_id, HealthCheck.date,
                                    HealthCheck.facility_id)
                             .where(HealthCheck.kind == "annual_65", HealthCheck.voided_at.is_(None),
                                    HealthCheck.date >= date(reference.year - 1, 1, 1),
                                    HealthCheck.date <= reference)
                             .order_by(HealthCheck.id)).all()
    now = clock.now()
    aid, tid = _next_id(session, ElderlyAssessment), _next_id(session, TcmAssessment)
    assessments: list[dict[str, Any]] = []
    forms: list[dict[str, Any]] = []
    for check in checks:
        if rng.random() < SELF_CARE_SHARE:
            levels = {it.code: _level(rng, it) for it in r.items}
            s = rules.self_care(levels)
            tests = {code: {"result": "abnormal" if rng.random() < 0.12 else "normal", "note": None}
                     for code in r.tests if rng.random() < 0.95}
            assessments.append({"id": aid, "resident_id": check.resident_id, "health_check_id": check.id,
                                "date": check.date, "facility_id": check.facility_id, **s.scores, "total": s.total,
                                "band": s.band, "levels": json.dumps(levels, sort_keys=True),
                                "tests": json.dumps(tests, sort_keys=True), "rule_version": s.version, "note": None,
                                "created_at": now, "created_by": "demo"})
            aid += 1
        if rng.random() < TCM_SHARE:
            answers = _answers(rng, t)
            res = rules.constitution(answers)
            given = sorted(rng.sample(GUIDANCE, rng.randint(2, 5)), key=GUIDANCE.index)
            forms.append({"id": tid, "resident_id": check.resident_id, "date": check.date,
                          "facility_id": check.facility_id, "answers": "".join(map(str, answers)),
                          "scores": json.dumps(res.scores), "verdicts": json.dumps(res.verdicts), "main": res.main,
                          "guidance": ",".join(given), "guidance_other": None, "rule_version": res.version,
                          "created_at": now, "created_by": "demo"})
            tid += 1
    conn = session.connection()
    for model, rows in ((ElderlyAssessment, assessments), (TcmAssessment, forms)):
        for i in range(0, len(rows), 5000):
            conn.execute(insert(model.__table__), rows[i:i + 5000])
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
    session.flush()
    return ElderlySummary(self_care=len(assessments), tcm=len(forms))

"""Child-health counts for the indicators domain, per village of the period's last day (the village a child
lived in, active, on it: the residence history), and the children behind them. Counted from the records (a
few thousand children under 7 per 40,000 residents), in Python over one query per period: the schedule's
windows come from month arithmetic (rules.py), cached per birth date.

Definitions (public-health.md §3, from secondary copies of the 规范 — VERIFY against the official text):
- born: residents born in the period (the 新生儿访视率's denominator: live births, as the register has them);
- newborn_visited: of those, with a newborn home visit (check `newborn`) at most childcare.yaml's
  newborn_rate_days (28) days after birth;
- eligible: children aged 0–6 on the period's last day (born on or before it, not yet 7) — 辖区内0～6岁儿童数;
- checked: of those, with at least one check of the schedule dated in the period (儿童健康管理率);
- system_managed: of those, every check whose window closed in the period recorded, and at least one such
  check (儿童系统管理率: managed at the frequency the 规范 requires — weijian's reading, VERIFY)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.care.childcare import rules
from weijian.care.childcare.models import ChildCheck
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on

WHICH = ("born", "newborn_visited", "eligible", "checked", "system_managed")


@lru_cache(maxsize=4096)
def _window_ends(birth: dt.date) -> tuple[tuple[str, dt.date], ...]:
    r = rules.rules()
    return tuple((c.code, c.window(birth, None, r.newborn_days)[1]) for c in r.checks)


def _children(session: Session, lo: str, hi: str, start: dt.date, end: dt.date, which: str
              ) -> list[tuple[int, str, str | None, str, dt.date]]:
    R, H = Resident, ResidentResidence
    oldest = end - relativedelta(years=rules.rules().max_age_years + 1) + dt.timedelta(days=1)
    born_from = start if which in ("born", "newborn_visited") else oldest
    stmt = (select(R.id, R.name, R.id_number, H.village_code, R.birth_date).select_from(R)
            .join(H, lived_on(H, R.id, end))
            .where(H.status == "active", R.status != "merged", R.birth_date >= born_from, R.birth_date <= end,
                   H.village_code >= lo, H.village_code <= hi))
    return [(a, b, c, d, e) for a, b, c, d, e in session.execute(stmt)]


def _counted(session: Session, lo: str, hi: str, start: dt.date, end: dt.date, which: str
             ) -> list[tuple[int, str, str | None, str, dt.date, dt.date]]:
    """(id, name, id number, village, birth date, date shown) of the children `which` counts."""
    if which not in WHICH:
        raise AssertionError(which)
    kids = _children(session, lo, hi, start, end, which)
    if which in ("born", "eligible"):
        return [(*k, k[4]) for k in kids]
    checks: dict[int, dict[str, dt.date]] = {}
    ids = [k[0] for k in kids]
    for i in range(0, len(ids), 500):
        for rid, code, on in session.execute(select(ChildCheck.resident_id, ChildCheck.check_code, ChildCheck.date)
                                             .where(ChildCheck.resident_id.in_(ids[i:i + 500]))):
            checks.setdefault(rid, {})[code] = on
    days = rules.rules().newborn_rate_days
    out = []
    for k in kids:
        done = checks.get(k[0], {})
        if which == "newborn_visited":
            on = done.get("newborn")
            if on is not None and (on - k[4]).days <= days and on <= end:
                out.append((*k, on))
        elif which == "checked":
            dates = [d for d in done.values() if start <= d <= end]
            if dates:
                out.append((*k, max(dates)))
        else:  # system_managed
            closing = [code for code, last in _window_ends(k[4]) if start <= last <= end]
            if closing and all(code in done and done[code] <= end for code in closing):
                out.append((*k, max(done[c] for c in closing)))
    return out


def childcare_counts(*, session: Session, lo: str, hi: str, start: dt.date, end: dt.date, which: str
                     ) -> dict[str, int]:
    """village → the children `which` counts in the period [start, end] (module docstring)."""
    out: dict[str, int] = {}
    for row in _counted(session, lo, hi, start, end, which):
        out[row[3]] = out.get(row[3], 0) + 1
    return out


def childcare_records(*, session: Session, lo: str, hi: str, start: dt.date, end: dt.date, which: str
                      ) -> list[dict[str, Any]]:
    """The children behind childcare_counts, one row each (indicators.records.COLUMNS; key = the resident)."""
    return [{"key": rid, "id": rid, "name": name, "id_number": idn, "village_code": village, "date": shown,
             "facility": None, "detail": which, "quantity": None}
            for rid, name, idn, village, _birth, shown in _counted(session, lo, hi, start, end, which)]

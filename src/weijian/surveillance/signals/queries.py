"""Reads of the early-warning signals: today's and the open ones (overdue verifications first), one signal with
its linked case reports, the time to verify and to respond, the share verified within the limit, and the
epidemic curve of a disease by township from the daily counts."""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit
from weijian.surveillance import rules
from weijian.surveillance.signals.models import OPEN_STATES, STATES, Signal, SignalCase
from weijian.surveillance.signals.service import CountsProvider, get_visible

MAX_LIST = 500
MAX_CURVE_DAYS = 366
_E = "surveillance.signals.errors."


@dataclass
class SignalItem:
    signal: Signal
    overdue: bool  # still new after its verification limit
    late: bool  # verified after its limit
    today: bool  # its day is today (a signal found today for an earlier day is not marked: the demo's back-run)
    hours_to_verify: float | None
    hours_to_respond: float | None
    orgunit_name: str
    disease_name: str
    case_report_ids: list[int] = field(default_factory=list)


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds() / 3600, 1)


def is_overdue(signal: Signal, now: datetime) -> bool:
    return signal.state == "new" and now > signal.verify_due_at


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    """The registry's names of the org units (a code it does not hold is shown as it is)."""
    out = {c: c for c in codes}
    if codes:
        for code, name in session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes))):
            out[code] = name
    return out


def disease_name(code: str, on: date, locale: str = "zh_CN") -> str:
    try:
        disease = rules.edition_on(on).by_code(code)
    except LookupError:
        disease = None
    return disease.name(locale) if disease is not None else code


def _item(signal: Signal, now: datetime, today: date, names: Mapping[str, str], locale: str,
          cases: list[int] | None = None) -> SignalItem:
    return SignalItem(
        signal=signal, overdue=is_overdue(signal, now),
        late=signal.verified_at is not None and signal.verified_at > signal.verify_due_at,
        today=signal.signal_date == today,
        hours_to_verify=_hours(signal.detected_at, signal.verified_at),
        hours_to_respond=_hours(signal.detected_at, signal.responded_at),
        orgunit_name=names.get(signal.orgunit_code, signal.orgunit_code),
        disease_name=disease_name(signal.disease_code, signal.signal_date, locale), case_report_ids=cases or [])


def _scoped(stmt: Select[Any], actor: Actor) -> Select[Any]:
    return stmt.where(orgunits_service.scope_condition(Signal.orgunit_code, actor))


def list_signals(*, session: Session, actor: Actor, view: str = "open", disease: str | None = None,
                 orgunit: str | None = None, locale: str = "zh_CN", now: datetime | None = None
                 ) -> list[SignalItem]:
    """`view` "open": today's signals and every open one (new, verified true, responding); "all": every signal,
    newest first. Overdue verifications first, then the newest day."""
    actor.require("signal:read")
    errs = ErrorCollector()
    if view not in ("open", "all", *STATES):
        errs.add("view", _E + "view", value=view)
    errs.raise_if_any()
    now = now or clock.now()
    today = clock.local_date(now)
    stmt = _scoped(select(Signal), actor)
    if view == "open":
        start_of_today = datetime.combine(today, datetime.min.time(), tzinfo=clock.zone())
        stmt = stmt.where(or_(Signal.state.in_(OPEN_STATES), Signal.signal_date == today,
                              Signal.detected_at >= start_of_today))
    elif view != "all":
        stmt = stmt.where(Signal.state == view)
    if disease:
        stmt = stmt.where(Signal.disease_code == disease)
    if orgunit:
        stmt = stmt.where(Signal.orgunit_code == orgunit)
    overdue_first = and_(Signal.state == "new", Signal.verify_due_at < now)
    stmt = stmt.order_by(overdue_first.desc(), Signal.signal_date.desc(), Signal.disease_code,
                         Signal.orgunit_code, Signal.method).limit(MAX_LIST)
    signals = list(session.scalars(stmt))
    names = _names(session, {s.orgunit_code for s in signals})
    cases = _cases(session, [s.id for s in signals])
    return [_item(s, now, today, names, locale, cases.get(s.id)) for s in signals]


def _cases(session: Session, ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    if ids:
        for signal_id, case_id in session.execute(select(SignalCase.signal_id, SignalCase.case_report_id)
                                                  .where(SignalCase.signal_id.in_(ids))
                                                  .order_by(SignalCase.case_report_id)):
            out[signal_id].append(case_id)
    return out


def get(*, session: Session, signal_id: int, actor: Actor, locale: str = "zh_CN",
        now: datetime | None = None) -> SignalItem:
    signal = get_visible(session, signal_id, actor)
    now = now or clock.now()
    return _item(signal, now, clock.local_date(now), _names(session, {signal.orgunit_code}), locale,
                 _cases(session, [signal.id]).get(signal.id))


# --- timeliness -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timeliness:
    """Signals detected from `start` to `end`: how many, how many are due (verified, or past their limit),
    verified within the limit, overdue now, and the median hours to verify and to respond."""

    start: date
    end: date
    signals: int
    due: int
    within_limit: int
    overdue: int
    median_hours_to_verify: float | None
    median_hours_to_respond: float | None

    @property
    def share_within_limit(self) -> float | None:
        return None if not self.due else self.within_limit / self.due


def timeliness(*, session: Session, actor: Actor, start: date, end: date, now: datetime | None = None) -> Timeliness:
    """The indicator "signal verification within the limit": of the signals detected in start … end whose
    verification is due (verified, or still new past the limit), the share verified by their limit."""
    actor.require("signal:read")
    now = now or clock.now()
    lo = datetime.combine(start, datetime.min.time(), tzinfo=clock.zone())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=clock.zone())
    rows = session.execute(_scoped(select(Signal.state, Signal.detected_at, Signal.verify_due_at, Signal.verified_at,
                                          Signal.responded_at), actor)
                           .where(Signal.detected_at >= lo, Signal.detected_at < hi)).all()
    verify = [_hours(r.detected_at, r.verified_at) for r in rows if r.verified_at is not None]
    respond = [_hours(r.detected_at, r.responded_at) for r in rows if r.responded_at is not None]
    due = [r for r in rows if r.verified_at is not None or now > r.verify_due_at]
    within = sum(1 for r in due if r.verified_at is not None and r.verified_at <= r.verify_due_at)
    overdue = sum(1 for r in rows if r.state == "new" and now > r.verify_due_at)
    return Timeliness(start, end, len(rows), len(due), within, overdue,
                      statistics.median(h for h in verify if h is not None) if verify else None,
                      statistics.median(h for h in respond if h is not None) if respond else None)


def count_by_unit(*, session: Session, start: date, end: date) -> list[tuple[str, int, int]]:
    """(org unit, due, verified within the limit) of the signals detected start … end: the indicator's
    numerator and denominator by township (and the county's own signals), for indicators.measures."""
    now = clock.now()
    lo = datetime.combine(start, datetime.min.time(), tzinfo=clock.zone())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=clock.zone())
    due = or_(Signal.verified_at.is_not(None), Signal.verify_due_at < now)
    within = and_(Signal.verified_at.is_not(None), Signal.verified_at <= Signal.verify_due_at)
    stmt = (select(Signal.orgunit_code, func.count().filter(due), func.count().filter(within))
            .where(Signal.detected_at >= lo, Signal.detected_at < hi).group_by(Signal.orgunit_code))
    return [(code, int(d), int(w)) for code, d, w in session.execute(stmt)]


# --- the epidemic curve --------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    disease: str
    start: date
    end: date
    days: list[date]
    lines: list[tuple[str, str, list[int]]]  # (code, name, a count a day) — the townships, then the county
    signal_days: dict[str, list[str]]  # org unit → the days with a signal (ISO)


def curve(*, session: Session, actor: Actor, disease: str, start: date, end: date, counts: CountsProvider,
          locale: str = "zh_CN") -> Curve:
    """The daily counts of a disease from start to end, one line a township (and the county), with the days
    the disease signalled there."""
    actor.require("signal:read")
    errs = ErrorCollector()
    if end < start:
        errs.add("end", _E + "end_before_start")
    elif (end - start).days + 1 > MAX_CURVE_DAYS:
        errs.add("start", _E + "curve_days", max=MAX_CURVE_DAYS)
    if disease_name(disease, end, locale) == disease and not _known(disease):
        errs.add("disease", "surveillance.errors.unknown_disease", value=disease, on=end.isoformat())
    errs.raise_if_any()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    lines = []
    for (code, unit), by_day in sorted(counts(session=session, start=start, end=end).items()):
        if code != disease or not orgunits_service.in_scope(scope_code=actor.scope_code, code=unit):
            continue
        if unit[9:] != "000":  # a village's line: the curve is by township (and the county)
            continue
        lines.append((unit, [int(by_day.get(d, 0)) for d in days]))
    lines.sort(key=lambda line: (line[0].endswith("000000"), line[0]))
    names = _names(session, {u for u, _ in lines})
    marks: dict[str, list[str]] = defaultdict(list)
    for unit, day in session.execute(_scoped(select(Signal.orgunit_code, Signal.signal_date).distinct(), actor)
                                     .where(Signal.disease_code == disease, Signal.signal_date.between(start, end))
                                     .order_by(Signal.signal_date)):
        marks[unit].append(day.isoformat())
    return Curve(disease, start, end, days, [(u, names[u], xs) for u, xs in lines], dict(marks))


def _known(code: str) -> bool:
    return any(d.code == code for d in rules.disease_list().diseases)

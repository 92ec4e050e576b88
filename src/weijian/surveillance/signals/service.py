"""Writes of the early-warning signals: the daily run (each disease in force with early-warning methods, each
township and the county, the last `days` days; each signal stored once, so a re-run adds nothing) and the
lifecycle new → verified_true / verified_false → responding → closed, each move audited.

The daily counts come from a provider with the signature of `surveillance.cases.queries.daily_counts`
(`(*, session, start, end) -> {(disease code, org-unit code): {date: count}}`): `run` takes it as an argument;
the CLI passes the `daily_counts` hook, which the composition root (weijian.wiring) fills.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, ErrorCollector, InvalidInput, InvalidState, NotFound
from weijian.core.hooks import Hook
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service
from weijian.surveillance import detection, rules
from weijian.surveillance.signals.models import Signal, SignalCase
from weijian.surveillance.signals.schemas import CloseIn, RespondIn, VerifyIn

Counts = dict[tuple[str, str], dict[date, int]]
CountsProvider = Callable[..., Mapping[tuple[str, str], Mapping[date, int]]]
# The provider of the daily counts (surveillance.cases.queries.daily_counts once the lead connects them).
daily_counts: Hook[CountsProvider] = Hook("surveillance.signals.daily_counts")

MAX_DAYS = 5 * 366  # a daily run evaluates 1 day; a first run may fill in five years
FIGURE_DAYS = 14  # the days of counts kept with a signal (its figures), ending on the signal's day
_E = "surveillance.signals.errors."


def no_counts(*, session: Session, start: date, end: date) -> Counts:
    """The provider until case reports are connected: no counts, so a run stores nothing."""
    return {}


# --- the plan: each disease's methods with their parameters ---------------------------------------
@dataclass(frozen=True, slots=True)
class Step:
    method: str  # detection.METHOD_NAMES
    params: dict[str, Any]  # detection.detect's keyword arguments
    level: str | None = None  # the cluster rule's org-unit level (None: every level)


def plan(disease: rules.Disease) -> list[Step]:
    """The detection steps of a disease's methods (data/diseases.yaml, merged over the file's defaults)."""
    m = disease.methods
    steps: list[Step] = []
    if m.fixed:
        steps.append(Step("fixed", {"threshold": m.fixed.threshold}))
    if m.cluster:
        steps.append(Step("cluster", {"threshold": m.cluster.cases, "window_days": m.cluster.days},
                          m.cluster.level))
    if m.moving_percentile:
        mp = m.moving_percentile
        steps.append(Step("moving-percentile", {"px": mp.px, "window_days": mp.window_days, "years": mp.years}))
    if m.ears:
        for name, threshold in (("ears-c1", m.ears.c1), ("ears-c2", m.ears.c2), ("ears-c3", m.ears.c3)):
            steps.append(Step(name, {"threshold": threshold, "sigma_zero": m.ears.sigma_zero}))
    return steps


def history_start(since: date, steps: list[Step]) -> date:
    """The first day of counts the steps need to evaluate `since` (the moving percentile: its `years` years
    and two windows more; the others a month is plenty)."""
    first = since - timedelta(days=31)
    for step in steps:
        if step.method == "moving-percentile":
            back = detection.years_before(since, int(step.params["years"]))
            first = min(first, back - timedelta(days=2 * int(step.params["window_days"]) + 1))
    return first


def _level(code: str) -> str | None:
    try:
        return division_level(code)
    except InvalidInput:
        return None


@dataclass(frozen=True, slots=True)
class RunResult:
    as_of: date
    days: int
    series: int
    signals_found: int
    signals_new: int


def run(*, session: Session, as_of: date, days: int, counts: CountsProvider, actor: Actor,
        now: datetime | None = None) -> RunResult:
    """Detect the signals of the last `days` days ending `as_of` and store the new ones. The counts are asked
    once, for the history every method needs; each series is built once and shared by its disease's methods,
    which evaluate only the last `days` days (detection's start/end/since), not the whole history per day."""
    actor.require("signal:verify")
    errs = ErrorCollector()
    if not 1 <= days <= MAX_DAYS:
        errs.add("days", _E + "days", max=MAX_DAYS)
    try:
        edition = rules.edition_on(as_of)
    except LookupError:
        errs.add("as_of", "surveillance.errors.no_edition", on=as_of.isoformat())
    errs.raise_if_any()
    now = now or clock.now()
    since = as_of - timedelta(days=days - 1)
    plans = {d.code: (d, plan(d)) for d in edition.diseases if d.methods.names()}
    start = history_start(since, [s for _, steps in plans.values() for s in steps])
    found: list[tuple[tuple[str, str, str, date], Step, detection.Row, detection.Series, datetime]] = []
    series_count = 0
    for (disease_code, unit), raw in counts(session=session, start=start, end=as_of).items():
        entry = plans.get(disease_code)
        if entry is None:
            continue
        disease, steps = entry
        level = _level(unit)
        kept = {d: int(n) for d, n in raw.items() if start <= d <= as_of}
        if not kept:
            continue  # no case in the whole history: no method can signal
        one = detection.series(kept, start=start, end=as_of)
        if one is None:
            continue
        series_count += 1
        due = now + timedelta(hours=disease.signal_verify_hours)
        for step in steps:
            if step.level is not None and level is not None and step.level != level:
                continue
            for row in detection.detect(step.method, one, since=since, signals_only=True, **step.params):
                found.append(((disease_code, unit, step.method, row.date), step, row, one, due))
    new = _insert_new(session, found, now)
    accounts_service.audit(session=session, actor=actor, action="run", entity_type="surveillance_signals",
                           entity_id=as_of.isoformat(), basis="system",
                           detail={"as_of": as_of.isoformat(), "days": days, "series": series_count,
                                   "found": len(found), "new": new})
    return RunResult(as_of, days, series_count, len(found), new)


def _row(key: tuple[str, str, str, date], step: Step, row: detection.Row, one: detection.Series, now: datetime,
         due: datetime, params: dict[int, str]) -> dict[str, Any]:
    i = (row.date - one.first).days
    recent = ", ".join(map(str, one.xs[max(0, i - FIGURE_DAYS + 1):i + 1]))
    # The figures as JSON, written out here: a five-year first run stores some 180,000 of them.
    step_params = params.get(id(step))
    if step_params is None:
        step_params = params[id(step)] = json.dumps(step.params, ensure_ascii=False)
    figures = f'{{"params": {step_params}, "counts_to": "{row.date.isoformat()}", "counts": [{recent}]}}'
    disease_code, unit, method, day = key
    return {"disease_code": disease_code, "orgunit_code": unit, "method": method, "signal_date": day,
            "value": row.value, "threshold": row.threshold, "figures": figures,
            "state": "new", "detected_at": now, "verify_due_at": due, "version": 1}


def _insert_new(session: Session, found: list[tuple[tuple[str, str, str, date], Step, detection.Row,
                                                    detection.Series, datetime]], now: datetime) -> int:
    """Insert the signals not stored yet ((disease, org unit, method, day) is unique); how many. The rows
    (and their figures) are built only for the new ones, so that a re-run costs the detection and one read."""
    if not found:
        return 0
    days = [f[0][3] for f in found]
    cols = (Signal.disease_code, Signal.orgunit_code, Signal.method, Signal.signal_date)
    before = set(session.execute(select(*cols).where(Signal.signal_date.between(min(days), max(days)))).tuples())
    params: dict[int, str] = {}
    fresh = [_row(key, step, row, one, now, due, params) for key, step, row, one, due in found if key not in before]
    if fresh:
        session.execute(insert(Signal.__table__), fresh)
        session.flush()
    return len(fresh)


# --- the lifecycle ----------------------------------------------------------------------------------
def get_visible(session: Session, signal_id: int, actor: Actor) -> Signal:
    """The signal, if the actor may read signals and it lies in the actor's scope; otherwise as missing."""
    actor.require("signal:read")
    signal = session.get(Signal, signal_id, populate_existing=True)
    if signal is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=signal.orgunit_code):
        raise NotFound(_E + "not_found", signal_id=signal_id)
    return signal


def _check(signal: Signal, *, action: str, allowed_from: tuple[str, ...], version: int | None) -> None:
    """Refuse before anything changes: another version than the user saw (409), a state the move does not
    start from (409, naming the state)."""
    if version is not None and version != signal.version:
        raise Conflict(_E + "changed", signal_id=signal.id)
    if signal.state not in allowed_from:
        raise InvalidState(_E + "state", action=action, state=signal.state)


def _moved(session: Session, signal: Signal, *, action: str, to_state: str, actor: Actor,
           detail: dict[str, Any]) -> Signal:
    before = signal.state
    signal.state = to_state
    session.flush()
    accounts_service.audit(session=session, actor=actor, action=action, entity_type="surveillance_signal",
                           entity_id=signal.id, basis="administration",
                           detail={"from": before, "to": to_state, **detail})
    return signal


def verify(*, session: Session, signal_id: int, verify_in: VerifyIn, actor: Actor,
           now: datetime | None = None) -> Signal:
    """The county CDC's verification of a new signal: a true signal (to respond to) or a false one (a note
    saying why is required)."""
    actor.require("signal:verify")
    signal = get_visible(session, signal_id, actor)
    cmd = verify_in
    errs = ErrorCollector()
    if cmd.outcome is None:
        errs.add("outcome", "core.errors.validation.missing")
    elif cmd.outcome not in ("true", "false"):
        errs.add("outcome", _E + "outcome", value=cmd.outcome)
    elif cmd.outcome == "false" and cmd.note is None:
        errs.add("note", _E + "false_needs_note")
    errs.raise_if_any()
    _check(signal, action="verify", allowed_from=("new",), version=cmd.version)
    at = now or clock.now()
    signal.verified_at, signal.verified_by, signal.verification_note = at, actor.username, cmd.note
    to_state = "verified_true" if cmd.outcome == "true" else "verified_false"
    return _moved(session, signal, action="verify", to_state=to_state, actor=actor,
                  detail={"note": cmd.note, "late": at > signal.verify_due_at})


def respond(*, session: Session, signal_id: int, respond_in: RespondIn, actor: Actor,
            now: datetime | None = None) -> Signal:
    """Record the response to a true signal: the field investigation, the measures taken, the linked case
    reports. Allowed after a true verification and again while responding (each call adds to the notes)."""
    actor.require("signal:verify")
    signal = get_visible(session, signal_id, actor)
    cmd = respond_in
    if cmd.notes is None and cmd.measures is None and not cmd.case_report_ids:
        raise InvalidInput("notes", _E + "response_empty")
    _check(signal, action="respond", allowed_from=("verified_true", "responding"), version=cmd.version)
    at = now or clock.now()
    if signal.responded_at is None:
        signal.responded_at, signal.responded_by = at, actor.username
    if cmd.notes is not None:
        signal.response_notes = _append(signal.response_notes, cmd.notes)
    if cmd.measures is not None:
        signal.measures = _append(signal.measures, cmd.measures)
    linked = set(session.scalars(select(SignalCase.case_report_id).where(SignalCase.signal_id == signal.id)))
    added = sorted(set(cmd.case_report_ids or ()) - linked)
    for case_id in added:
        session.add(SignalCase(signal_id=signal.id, case_report_id=case_id, linked_at=at, linked_by=actor.username))
    return _moved(session, signal, action="respond", to_state="responding", actor=actor,
                  detail={"cases_linked": added, "notes": cmd.notes is not None,
                          "measures": cmd.measures is not None})


def unlink_case(*, session: Session, signal_id: int, case_report_id: int, actor: Actor) -> None:
    """Take a wrongly linked case report off an open signal."""
    actor.require("signal:verify")
    signal = get_visible(session, signal_id, actor)
    if signal.state == "closed":
        raise InvalidState(_E + "state", action="unlink", state=signal.state)
    session.execute(delete(SignalCase).where(SignalCase.signal_id == signal.id,
                                             SignalCase.case_report_id == case_report_id))
    accounts_service.audit(session=session, actor=actor, action="unlink", entity_type="surveillance_signal",
                           entity_id=signal.id, basis="administration", detail={"case_report_id": case_report_id})


def close(*, session: Session, signal_id: int, close_in: CloseIn, actor: Actor,
          now: datetime | None = None) -> Signal:
    """Close a signal: a true one once its measures are recorded, a false one at any time."""
    actor.require("signal:verify")
    signal = get_visible(session, signal_id, actor)
    _check(signal, action="close", allowed_from=("responding", "verified_false"), version=close_in.version)
    if signal.state == "responding" and signal.measures is None:
        raise InvalidInput("measures", _E + "close_needs_measures")
    at = now or clock.now()
    signal.closed_at, signal.closed_by = at, actor.username
    if close_in.note is not None:
        signal.response_notes = _append(signal.response_notes, close_in.note)
    return _moved(session, signal, action="close", to_state="closed", actor=actor, detail={"note": close_in.note})


def _append(old: str | None, new: str) -> str:
    return new if not old else f"{old}\n{new}"


def allowed_actions(signal: Signal, actor: Actor) -> list[str]:
    """What the actor may do with a signal now (the pages show exactly these buttons; the service decides)."""
    if not actor.can("signal:verify"):
        return []
    return {"new": ["verify"], "verified_true": ["respond"], "responding": ["respond", "close"],
            "verified_false": ["close"]}.get(signal.state, [])

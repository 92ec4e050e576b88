"""The resident's timeline: one list, newest first, of the record's own entries (encounters, health checks,
screenings) and of whatever other care areas add (follow-ups, referrals, consultation opinions). Each area
declares its `TimelineSource`; the composition root (weijian.wiring) adds them with `add_timeline_source`,
and `timeline` checks access and audits the read once for all of them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.models import Encounter, HealthCheck, Screening
from weijian.care.records.queries import hidden_codes, resident_facts
from weijian.care.records.schemas import ENCOUNTER_TYPES
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput
from weijian.core.hooks import NotWired
from weijian.core.i18n import Translator
from weijian.orgunits import service as orgunits_service

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class TimelineItem:
    """One row of a resident's timeline. `summary` is already in the reader's language; `data` holds the
    row's values for the API (JSON-serializable)."""

    date: date
    kind: str  # a registered kind; its label is care.timeline.kinds.<kind> in the area's catalog
    summary: str
    link: str | None = None
    facility_id: int | None = None
    facility_name: str | None = None
    entity_id: int | None = None
    at: datetime | None = None  # orders rows of one day (created_at)
    data: dict[str, Any] = field(default_factory=dict)


# fetch(session=, resident_id=, kinds=frozenset of its own kinds asked for, facility_id=None | id,
#       limit=n, tr=Translator) -> at most `limit` TimelineItems of those kinds, newest first. It reads
# without auditing and without checking access: `timeline` has done both for the resident.
TimelineFetch = Callable[..., list[TimelineItem]]


@dataclass(frozen=True)
class TimelineSource:
    name: str
    kinds: tuple[str, ...]
    fetch: TimelineFetch
    label_keys: dict[str, str]  # kind → i18n key of its label


_SOURCES: dict[str, TimelineSource] = {}
# Names a filter may use for several kinds at once.
KIND_GROUPS = {"encounter": ENCOUNTER_TYPES}


def timeline_source(name: str, kinds: Iterable[str], fetch: TimelineFetch,
                    label_keys: dict[str, str] | None = None) -> TimelineSource:
    """A source of timeline rows, declared by the area that owns them. `kinds` are the values of
    TimelineItem.kind it returns; `label_keys` maps each to the i18n key of its label (default
    care.timeline.kinds.<kind>)."""
    kinds = tuple(kinds)
    labels = {k: (label_keys or {}).get(k, f"care.timeline.kinds.{k}") for k in kinds}
    return TimelineSource(name, kinds, fetch, labels)


def add_timeline_source(source: TimelineSource) -> None:
    """Add a source to the timeline (the composition root does, at start). Adding a name again replaces
    it; a kind another source already shows is refused."""
    taken = {k: s.name for s in _SOURCES.values() if s.name != source.name for k in s.kinds}
    clash = [k for k in source.kinds if k in taken or k in KIND_GROUPS]
    if clash:
        raise ValueError(f"timeline kinds already registered: {clash}")
    _SOURCES[source.name] = source


def register_timeline_source(name: str, kinds: Iterable[str], fetch: TimelineFetch,
                             label_keys: dict[str, str] | None = None) -> None:
    """`add_timeline_source(timeline_source(...))`."""
    add_timeline_source(timeline_source(name, kinds, fetch, label_keys))


def timeline_sources() -> dict[str, TimelineSource]:
    """The sources added, by name, in the order added."""
    return dict(_SOURCES)


def timeline_kinds() -> list[tuple[str, str]]:
    """(kind, label key) of every kind the timeline can show, in registration order."""
    if not _SOURCES:
        raise NotWired("care.records: no timeline source added: weijian.wiring.wire() was not called")
    return [(k, s.label_keys[k]) for s in _SOURCES.values() for k in s.kinds]


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    page: int
    page_size: int
    has_next: bool
    basis: str
    facilities: list[tuple[int, str]]  # the facilities the resident's record names, for the filter
    kinds: list[tuple[str, str]]


def _expand_types(types: Iterable[str] | str | None) -> frozenset[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        types = [t for t in types.split(",")]
    asked = [t.strip() for t in types if t and t.strip()]
    if not asked:
        return None
    known = {k for k, _ in timeline_kinds()}
    out: set[str] = set()
    for t in asked:
        if t in KIND_GROUPS:
            out.update(KIND_GROUPS[t])
        elif t in known:
            out.add(t)
        else:
            raise InvalidInput("types", "care.records.errors.timeline_type_unknown", value=t)
    return frozenset(out)


def timeline(*, session: Session, resident_id: int, actor: Actor, types: Iterable[str] | str | None = None,
             facility_id: int | None = None, page: int = 1, page_size: int = 50,
             locale: str | None = None) -> TimelinePage:
    """The resident's health record as one list, newest first: encounters, health checks, screenings and
    the rows other care areas register, filtered by kind (`types`: kinds, or "encounter" for all three
    encounter types) and facility. Logged as one read of the record, with its basis (the actor's scope, or
    "referral" / "teleconsultation" when the actor's facility receives one for this resident)."""
    actor.require("care:read")
    page = max(1, int(page or 1))
    page_size = max(1, min(MAX_PAGE_SIZE, int(page_size or 50)))
    wanted = _expand_types(types)
    resident = resident_facts(session=session, actor=actor, resident_id=resident_id)
    tr = Translator(locale or "zh_CN")
    limit = page * page_size + 1
    rows: list[TimelineItem] = []
    for source in list(_SOURCES.values()):
        kinds = frozenset(source.kinds) if wanted is None else frozenset(source.kinds) & wanted
        if kinds:
            rows.extend(source.fetch(session=session, resident_id=resident.id, kinds=kinds,
                                     facility_id=facility_id, limit=limit, tr=tr))
    rows.sort(key=lambda r: (r.date, r.at or datetime.min.replace(tzinfo=UTC), r.entity_id or 0),
              reverse=True)
    start = (page - 1) * page_size
    items = rows[start:start + page_size]
    facilities = _record_facilities(session, resident.id, items)
    names = dict(facilities)
    items = [i if i.facility_name or i.facility_id is None else replace(i, facility_name=names.get(i.facility_id))
             for i in items]
    items = [_without_hidden(i, actor, tr) for i in items]
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="health_record",
                           entity_id=resident.id, resident_id=resident.id, basis=resident.basis,
                           detail={"types": sorted(wanted) if wanted else None, "facility_id": facility_id,
                                   "page": page})
    return TimelinePage(items=items, page=page, page_size=page_size, has_next=len(rows) > start + page_size,
                        basis=resident.basis, facilities=facilities, kinds=timeline_kinds())


def _without_hidden(item: TimelineItem, actor: Actor, tr: Translator) -> TimelineItem:
    """The row as the actor may see it: a diagnosis the actor may not see (records.diagnosis_hidden: a severe
    mental illness for a reader without mental:read) is left out of the summary and the data."""
    codes = item.data.get("diagnoses") or []
    hidden = hidden_codes(actor, codes)
    if not hidden:
        return item
    return replace(item, summary=tr("care.records.timeline.diagnosis_hidden"),
                   data={**item.data, "diagnoses": [c for c in codes if c not in hidden]})


def _record_facilities(session: Session, resident_id: int, items: list[TimelineItem]) -> list[tuple[int, str]]:
    ids = set(session.scalars(union(*(
        select(m.facility_id).where(m.resident_id == resident_id, m.facility_id.is_not(None))
        for m in (Encounter, HealthCheck, Screening)))))
    ids.update(i.facility_id for i in items if i.facility_id is not None)
    # A resident's record names a handful of facilities; each is one primary-key look-up.
    found = [orgunits_service.get_facility(session=session, facility_id=i) for i in ids if i is not None]
    return [(f.id, f.name) for f in sorted((f for f in found if f is not None), key=lambda f: f.code)]


def changes(row: Any) -> dict[str, Any]:
    """A record entry's void or last correction, for the API and the pages: the reason, who, and when (the
    county's local time, as text)."""
    out: dict[str, Any] = {"voided": row.voided_at is not None}
    if row.voided_at is not None:
        out.update(void_reason=row.void_reason, voided_by=row.voided_by, voided_at=clock.format_local(row.voided_at))
    if row.corrected_at is not None:
        out.update(correction_reason=row.correction_reason, corrected_by=row.corrected_by,
                   corrected_at=clock.format_local(row.corrected_at))
    return out


def _diagnosis_text(code: str | None, tr: Translator) -> str:
    entry = icd10.get(code)
    return f"{code} {entry.name(tr.locale)}" if entry else (code or "")


def _encounter_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                    limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(Encounter).where(Encounter.resident_id == resident_id, Encounter.type.in_(sorted(kinds)))
            .order_by(Encounter.start_date.desc(), Encounter.created_at.desc(), Encounter.id.desc()).limit(limit)
            .options(selectinload(Encounter.diagnoses)))
    if facility_id is not None:
        stmt = stmt.where(Encounter.facility_id == facility_id)
    out = []
    for e in session.scalars(stmt):
        codes = [d.code for d in e.diagnoses]
        parts = [_diagnosis_text(e.primary_diagnosis, tr)]
        if len(codes) > 1:
            parts.append(tr("care.records.timeline.more_diagnoses", n=len(codes) - 1))
        if e.department:
            parts.append(e.department)
        if e.type == "inpatient":
            parts.append(tr("care.records.timeline.ward_days", days=e.ward_days) if e.end_date
                         else tr("care.records.timeline.admitted"))
        if e.clinician_name:
            parts.append(e.clinician_name)
        if e.voided_at is not None:  # kept in the record, marked: it counts nowhere
            parts.insert(0, tr("care.records.void.voided"))
        out.append(TimelineItem(
            date=e.start_date, kind=e.type, summary=" · ".join(parts), link=f"/care/encounters/{e.id}",
            facility_id=e.facility_id, facility_name=e.outside_facility_name, entity_id=e.id, at=e.created_at,
            data={"diagnoses": codes, "end_date": e.end_date.isoformat() if e.end_date else None,
                  "ward_days": e.ward_days, "total_cost": str(e.total_cost), "department": e.department,
                  "outside_county": e.facility_id is None, **changes(e)}))
    return out


def health_check_summary(c: HealthCheck, tr: Translator) -> str:
    parts = [tr(f"care.records.health_check.kinds.{c.kind}")]
    if c.height_cm is not None:
        parts.append(tr("care.records.timeline.height", value=c.height_cm))
    if c.weight_kg is not None:
        parts.append(tr("care.records.timeline.weight", value=c.weight_kg))
    if c.bmi is not None:
        parts.append(tr("care.records.timeline.bmi", value=c.bmi))
    if c.sbp is not None:
        parts.append(tr("care.records.timeline.bp", sbp=c.sbp, dbp=c.dbp))
    if c.fasting_glucose is not None:
        parts.append(tr("care.records.timeline.glucose", value=c.fasting_glucose))
    return " · ".join(parts)


def _marked(row: HealthCheck | Screening, summary: str, tr: Translator) -> str:
    """A voided entry's summary, marked (it stays in the record and counts nowhere)."""
    return f"{tr('care.records.void.voided')} · {summary}" if row.voided_at is not None else summary


def _health_check_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                       limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(HealthCheck).where(HealthCheck.resident_id == resident_id)
            .order_by(HealthCheck.date.desc(), HealthCheck.created_at.desc(), HealthCheck.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(HealthCheck.facility_id == facility_id)
    return [TimelineItem(date=c.date, kind="health_check", summary=_marked(c, health_check_summary(c, tr), tr),
                         facility_id=c.facility_id, entity_id=c.id, at=c.created_at,
                         data={"kind": c.kind, "bmi": str(c.bmi) if c.bmi is not None else None,
                               "sbp": c.sbp, "dbp": c.dbp, **changes(c)})
            for c in session.scalars(stmt)]


def _screening_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                    limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(Screening).where(Screening.resident_id == resident_id)
            .order_by(Screening.date.desc(), Screening.created_at.desc(), Screening.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(Screening.facility_id == facility_id)
    return [TimelineItem(date=s.date, kind="screening",
                         summary=_marked(s, tr("care.records.timeline.screening",
                                               kind=tr(f"care.records.screening.{s.kind}"),
                                               result=tr(f"care.records.screening.results.{s.result}")), tr),
                         facility_id=s.facility_id, entity_id=s.id, at=s.created_at,
                         data={"kind": s.kind, "result": s.result, **changes(s)})
            for s in session.scalars(stmt)]


# This module's own rows (the root adds them first, so that they come first among the kinds).
TIMELINE_SOURCES = (timeline_source("encounters", ENCOUNTER_TYPES, _encounter_rows),
                    timeline_source("health_checks", ("health_check",), _health_check_rows),
                    timeline_source("screenings", ("screening",), _screening_rows))

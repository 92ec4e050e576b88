"""Reads of two-way referral: one referral, the lists and the desk inbox (pages of results), the worklist's
downward referrals, the access a referral or consultation gives to a resident's record, the referral-count
figure, the resident's timeline rows, and what a referral or consultation form offers (the resident, the
record extract, the facilities a referral may go to). Shared with teleconsult: `Page`, `facility_names`,
`clinician_name`, `actor_facility`, `referable_resident`, `record_extract`, `list_conditions`, `page_rows`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, case, false, func, or_, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.models import Diagnosis, Encounter, Referral, Teleconsultation
from weijian.care.records import service as records
from weijian.care.referrals.rules import (
    COUNTED_STATUSES,
    DIRECTIONS,
    OPEN_STATUSES,
    RECEIVED_STATUSES,
    STATUSES,
    TIER_NAMES,
    deadline,
    expired_condition,
    follow_up_due,
    is_expired,
    is_overdue,
    overdue_condition,
    rules,
    tier_of,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, NotFound
from weijian.core.i18n import DEFAULT_LOCALE, Translator, translate
from weijian.core.identifiers import division_range
from weijian.core.periods import parse_period
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.residents import access

# The referral lists show whose referral it is and are scoped by the resident's village: a join, read only.
from weijian.residents.models import Resident

EXTRACT_LIMIT = 5  # encounters taken into a clinical summary when none are chosen
MAX_PAGE_SIZE = 100


class Page(NamedTuple):
    """One page of a list: its items, the total over all pages, the page number and size."""

    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def check_page_size(errs: ErrorCollector, page_size: int) -> None:
    """A list's page size is 1 … MAX_PAGE_SIZE (the API's query bounds it too)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errs.add("page_size", "care.referrals.errors.page_size", max=MAX_PAGE_SIZE)


Listed = TypeVar("Listed", Referral, Teleconsultation)


def list_conditions(model: type[Referral] | type[Teleconsultation], actor: Actor, errs: ErrorCollector, *,
                    box: str | None, status: str | None, statuses: Sequence[str], resident_id: int | None,
                    page_size: int) -> list[ColumnElement[bool]]:
    """The filters a referral list and a consultation list share: the box ("sent" by the actor's facility,
    "received" by it, or none), the status (one of `statuses`), the resident. Problems are added to `errs`,
    raised with the list's own ones (the page size's too)."""
    if box not in (None, "", "sent", "received"):
        errs.add("box", "care.referrals.errors.box_unknown", value=box)
    if status not in (None, "") and status not in statuses:
        errs.add("status", "care.referrals.errors.status_unknown", value=status)
    check_page_size(errs, page_size)
    errs.raise_if_any()
    here = actor.facility_id
    conds: list[ColumnElement[bool]] = []
    if box == "sent":
        conds.append(model.from_facility_id == here if here else false())
    elif box == "received":
        conds.append(model.to_facility_id == here if here else false())
    if status:
        conds.append(model.status == status)
    if resident_id is not None:
        conds.append(model.resident_id == resident_id)
    return conds


def page_rows(session: Session, model: type[Listed], base: Select[tuple[Listed, str, str]],
              conds: Sequence[ColumnElement[bool]], order: Sequence[Any], *, page: int,
              page_size: int) -> tuple[list[tuple[Listed, str, str]], int]:
    """One page of a list joined to the resident (`base`), in `order`, and the total over all pages."""
    total = session.scalar(select(func.count()).select_from(
        select(model.id).join(Resident, Resident.id == model.resident_id).where(*conds).subquery())) or 0
    rows = list(session.execute(base.where(*conds).order_by(*order)
                                .offset((page - 1) * page_size).limit(page_size)).tuples())
    return rows, total


# --- the actor, facilities, the resident ---------------------------------------------------------
def actor_facility(session: Session, actor: Actor) -> Facility:
    """The facility the actor works at; Forbidden when the user has none (a clinician's actions need one)."""
    if actor.facility_id is None:
        raise Forbidden("care.referrals.errors.no_facility")
    return orgunits_service.get_facility_or_raise(session=session, facility_id=actor.facility_id)


def clinician_name(session: Session, actor: Actor) -> str:
    """The actor's full name as a referral or consultation records it (the user name without an account)."""
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id else None
    return user.full_name if user is not None else actor.username


def facility_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    out: dict[int, str] = {}
    for fid in ids:
        if fid is not None and (fac := orgunits_service.get_facility(session=session, facility_id=fid)):
            out[fid] = fac.name
    return out


def referable_resident(*, session: Session, actor: Actor, resident_id: int,
                       field: str = "resident_id") -> tuple[Resident, str]:
    """(resident, basis) for a resident the actor's org-unit scope covers (residents.access), or whom the
    actor's facility has received on a referral (arrived or completed: basis "referral"), so that a facility
    may refer onward a patient it is treating; NotFound otherwise, as a missing record. A merged record is
    refused naming `field`: refer the surviving one."""
    try:
        resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id)
    except NotFound:
        if not _received(session, actor, resident_id, RECEIVED_STATUSES):
            raise
        resident, basis = session.get_one(Resident, resident_id), "referral"
    if resident.status == "merged":
        raise InvalidInput(field, "care.referrals.errors.resident_merged")
    return resident, basis


def _received(session: Session, actor: Actor, resident_id: int, statuses: Sequence[str]) -> bool:
    """Whether the actor's facility received a referral of the resident now in one of `statuses`. An accepted
    referral past its arrival days still counts here until the daily job stores it as expired (the access
    hook has no "now" of the caller's)."""
    if actor.facility_id is None:
        return False
    return session.scalar(select(Referral.id).where(
        Referral.resident_id == resident_id, Referral.to_facility_id == actor.facility_id,
        Referral.status.in_(statuses)).limit(1)) is not None


# --- clinical summary from the record -------------------------------------------------------------
def record_extract(*, session: Session, resident_id: int, encounter_ids: list[int] | None = None,
                   limit: int = EXTRACT_LIMIT) -> list[dict[str, Any]]:
    """The resident's encounters as attached to a referral or consultation, newest first: the chosen ones,
    or the latest `limit`. Each: encounter_id, date, end_date, type, facility, department, diagnoses
    [{code, name}], note. InvalidInput on `encounter_ids` if one is not this resident's."""
    stmt = select(Encounter).where(Encounter.resident_id == resident_id)
    if encounter_ids:
        wanted = sorted(set(encounter_ids))
        stmt = stmt.where(Encounter.id.in_(wanted))
    stmt = stmt.order_by(Encounter.start_date.desc(), Encounter.id.desc())
    if not encounter_ids:
        stmt = stmt.limit(limit)
    encounters = list(session.scalars(stmt))
    if encounter_ids and len(encounters) != len(set(encounter_ids)):
        missing = sorted(set(encounter_ids) - {e.id for e in encounters})
        raise InvalidInput("encounter_ids", "care.referrals.errors.encounter_not_of_resident",
                           ids=", ".join(map(str, missing)))
    names = facility_names(session, {e.facility_id for e in encounters})
    diagnoses: dict[int, list[str]] = {}
    if encounters:
        for d in session.scalars(select(Diagnosis).where(Diagnosis.encounter_id.in_([e.id for e in encounters]))
                                 .order_by(Diagnosis.encounter_id, Diagnosis.seq)):
            diagnoses.setdefault(d.encounter_id, []).append(d.code)
    out = []
    for e in encounters:
        codes = diagnoses.get(e.id) or ([e.primary_diagnosis] if e.primary_diagnosis else [])
        out.append({
            "encounter_id": e.id, "date": e.start_date.isoformat(),
            "end_date": e.end_date.isoformat() if e.end_date else None, "type": e.type,
            "facility": names.get(e.facility_id) if e.facility_id else e.outside_facility_name,
            "department": e.department,
            "diagnoses": [{"code": c, "name": (icd10.get(c).name_zh if icd10.get(c) else c)} for c in codes],
            "note": e.note,
        })
    return out


def summary_text(note: str | None, extract: list[dict[str, Any]]) -> str | None:
    """The clinician's note followed by the record extract, one encounter a line. Written in the record's
    language (the default locale): it is part of a clinical document, not of the screen."""
    lines = [note] if note else []
    if extract:
        if lines:
            lines.append("")
        lines.append(translate("care.referrals.summary.from_record", DEFAULT_LOCALE))
        for e in extract:
            kind = translate(f"care.referrals.encounter_types.{e['type']}", DEFAULT_LOCALE)
            dx = "；".join(f"{d['code']} {d['name']}" for d in e["diagnoses"])
            parts = [e["date"], kind, e["facility"] or "", e["department"] or "", dx]
            lines.append(" ".join(p for p in parts if p))
    return "\n".join(lines) or None


# --- what a referral or consultation form offers ----------------------------------------------------
@dataclass
class FormResident:
    """The resident a referral or consultation form is about, and the encounters it would attach."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    extract: list[dict[str, Any]]


def form_resident(*, session: Session, actor: Actor, resident_id: int, limit: int = 10) -> FormResident:
    """The resident (in the actor's scope) and their latest encounters, for a form: logged as a read."""
    resident, basis = referable_resident(session=session, actor=actor, resident_id=resident_id)
    extract = record_extract(session=session, resident_id=resident.id, limit=limit)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"for": "referral_form", "encounters": [e["encounter_id"] for e in extract]})
    return FormResident(resident.id, resident.name, resident.sex, resident.birth_date, resident.village_code,
                        extract)


def target_facilities(*, session: Session, actor: Actor, village_code: str | None = None,
                      tiers: tuple[str, ...] | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """(tier name, [(facility id, name)]) a referral (or consultation: `tiers`) from the actor's facility may
    go to: other tiers than the actor's own; of the village clinics, only those of the resident's township
    (a county has hundreds)."""
    own = tier_of(actor_facility(session, actor).type)
    township = None
    if village_code:
        unit = orgunits_service.get(session=session, code=village_code)
        township = unit.parent_code if unit is not None else None
    groups: dict[str, list[tuple[int, str]]] = {}
    for fac in orgunits_service.list_facilities(session=session):
        rank = tier_of(fac.type)
        name = rules().tier_name(rank)
        if rank is None or (tiers is None and rank == own) or (tiers is not None and name not in tiers):
            continue
        if name == "village" and (township is None or not orgunits_service.in_scope(scope_code=township,
                                                                                    code=fac.orgunit_code)):
            continue
        groups.setdefault(name, []).append((fac.id, fac.name))
    return [(name, groups[name]) for name in TIER_NAMES if name in groups]


def may_refer_out_of_county(*, session: Session, actor: Actor) -> bool:
    """Whether the actor's facility may refer a patient out of the county directly (rules: the tiers the
    参保地 names as referral institutions; the others refer up inside the county first)."""
    return rules().may_refer_out_of_county(tier_of(actor_facility(session, actor).type))


def default_direction(*, session: Session, actor: Actor) -> str:
    """What a new referral from the actor's facility most often is: down from the county, up otherwise."""
    return "down" if tier_of(actor_facility(session, actor).type) == rules().tiers["county"] else "up"


# --- referrals ------------------------------------------------------------------------------------
@dataclass
class ReferralItem:
    """A referral as lists and pages show it."""

    referral: Referral
    resident_name: str
    village_code: str
    from_facility: str
    to_facility: str  # the facility's name, or the outside hospital's
    overdue: bool
    deadline: datetime
    expired: bool = False  # accepted, and the patient did not arrive in time (rules.is_expired)
    follow_up_due: date | None = None  # a downward referral: the day the receiving clinic follows up by
    follow_up_overdue: bool = False  # that day has passed and the referral is still open

    @property
    def id(self) -> int:
        return self.referral.id


def _items(session: Session, rows: list[tuple[Referral, str, str]], now: datetime) -> list[ReferralItem]:
    names = facility_names(session, {r.from_facility_id for r, *_ in rows} | {r.to_facility_id for r, *_ in rows})
    today = clock.local_date(now)
    dues = {r.id: follow_up_due(r) for r, *_ in rows}
    return [ReferralItem(referral=r, resident_name=name, village_code=village,
                         from_facility=names.get(r.from_facility_id, ""),
                         to_facility=(r.outside_facility_name or "") if r.out_of_county
                         else names.get(r.to_facility_id, ""),
                         overdue=is_overdue(r, now), deadline=deadline(r), expired=is_expired(r, now),
                         follow_up_due=dues[r.id],
                         follow_up_overdue=(due := dues[r.id]) is not None and r.status in OPEN_STATUSES
                         and today > due)
            for r, name, village in rows]


def visible(actor: Actor) -> ColumnElement[bool]:
    """Referrals an actor may see: of a resident in their scope (residents.access), or sent or received by
    their facility. Joined to the resident (`base()`)."""
    conds = [access.visible(actor, Resident.village_code)]
    if actor.facility_id is not None:
        conds += [Referral.from_facility_id == actor.facility_id, Referral.to_facility_id == actor.facility_id]
    return or_(*conds)


def is_visible(session: Session, referral_id: int, actor: Actor) -> bool:
    return session.scalar(select(Referral.id).join(Resident, Resident.id == Referral.resident_id)
                          .where(Referral.id == referral_id, visible(actor))) is not None


def _base() -> Select[tuple[Referral, str, str]]:
    return select(Referral, Resident.name, Resident.village_code).join(Resident, Resident.id == Referral.resident_id)


def get(*, session: Session, referral_id: int, actor: Actor, now: datetime | None = None) -> ReferralItem:
    """One referral with its clinical summary: a read of the resident's record, audited."""
    actor.require("referral:read")
    row = session.execute(_base().where(Referral.id == referral_id, visible(actor))).tuples().first()
    if row is None:
        raise NotFound("care.referrals.errors.not_found", referral_id=referral_id)
    referral, _, village = row
    # The actor's scope when it covers the resident; otherwise the referral itself (sent or received).
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="referral",
                           entity_id=referral.id, resident_id=referral.resident_id,
                           basis=access.basis_for(actor, village) or "referral")
    return _items(session, [row], now or clock.now())[0]


def children(*, session: Session, referral_id: int) -> list[Referral]:
    """The downward referrals made back from an upward one (part of a referral already read)."""
    return list(session.scalars(select(Referral).where(Referral.parent_id == referral_id).order_by(Referral.id)))


def list_referrals(*, session: Session, actor: Actor, box: str | None = None, status: str | None = None,
                   direction: str | None = None, resident_id: int | None = None, page: int = 1,
                   page_size: int = 20, now: datetime | None = None) -> Page:
    """Referrals the actor may see, newest first. box: "sent" (by the actor's facility), "received" (by it),
    or None (also those of residents in the actor's scope: a township's patients). Logged as one search."""
    actor.require("referral:read")
    errs = ErrorCollector()
    if direction not in (None, "") and direction not in DIRECTIONS:
        errs.add("direction", "care.referrals.errors.direction_unknown", value=direction)
    conds = [visible(actor), *list_conditions(Referral, actor, errs, box=box, status=status, statuses=STATUSES,
                                              resident_id=resident_id, page_size=page_size)]
    if direction:
        conds.append(Referral.direction == direction)
    page = max(1, page)
    rows, total = page_rows(session, Referral, _base(), conds, (Referral.requested_at.desc(), Referral.id.desc()),
                            page=page, page_size=page_size)
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="referral",
                           resident_id=resident_id, basis=access.scope_basis(actor),
                           detail={"box": box, "status": status, "direction": direction, "page": page,
                                   "total": total}, shown=[r.resident_id for r, *_ in rows])
    return Page(_items(session, rows, now or clock.now()), total, page, page_size)


@dataclass
class Inbox:
    page: Page
    overdue: int  # overdue referrals in the whole inbox, not only this page


def inbox(*, session: Session, actor: Actor, now: datetime | None = None, page: int = 1,
          page_size: int = 50) -> Inbox:
    """The referral desk: open referrals to the actor's facility: overdue ones first, then those waiting for an
    answer, then accepted and arrived ones; within each, urgent before routine, oldest first. Logged as one
    read."""
    actor.require("referral:respond")
    now = now or clock.now()
    errs = ErrorCollector()
    check_page_size(errs, page_size)
    errs.raise_if_any()
    page = max(1, page)
    if actor.facility_id is None:
        return Inbox(Page([], 0, page, page_size), 0)
    # An accepted referral whose patient did not come in time is no longer work (rules.is_expired).
    conds = [Referral.to_facility_id == actor.facility_id, Referral.status.in_(OPEN_STATUSES),
             ~expired_condition(now)]
    overdue = overdue_condition(Referral, now)
    order = (case((overdue, 0), (Referral.status == "requested", 1), else_=2),
             case((Referral.urgency == "urgent", 0), else_=1), Referral.requested_at, Referral.id)
    counts = session.execute(select(func.count(), func.count(case((overdue, 1))))
                             .select_from(Referral).where(*conds)).one()
    rows = list(session.execute(_base().where(*conds).order_by(*order)
                                .offset((page - 1) * page_size).limit(page_size)).tuples())
    items = _items(session, rows, now)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="referral_inbox",
                           basis="referral", detail={"page": page, "total": counts[0], "overdue": counts[1]},
                           shown=[i.referral.resident_id for i in items])
    return Inbox(Page(items, counts[0], page, page_size), counts[1])


def downward_for_worklist(*, session: Session, actor: Actor, now: datetime | None = None,
                          limit: int = 200) -> list[ReferralItem]:
    """Open downward referrals to the actor's facility: follow-up tasks on the worklist, each dated
    (`follow_up_due`, overdue ones flagged), the earliest due first."""
    if actor.facility_id is None:
        return []
    rows = list(session.execute(_base().where(
        Referral.to_facility_id == actor.facility_id, Referral.direction == "down",
        Referral.status.in_(OPEN_STATUSES)).order_by(Referral.requested_at, Referral.id).limit(limit)).tuples())
    return _items(session, rows, now or clock.now())


def linked_encounters(*, session: Session, referral_id: int) -> list[Encounter]:
    """The encounters linked to a referral (the receiving facility's on arrival; outside the county, the stay
    recorded there), oldest first: the referral's page shows them."""
    return list(session.scalars(select(Encounter).where(Encounter.referral_id == referral_id)
                                .order_by(Encounter.start_date, Encounter.id)))


def arrival_encounters(*, session: Session, referral: Referral, limit: int = 20) -> list[Encounter]:
    """The receiving facility's encounters of the patient that arrival may link (care.referrals.arrive's
    rules: there, not voided, not linked to another referral, not before the request), newest first: the
    arrival form offers them besides recording a new one."""
    if referral.to_facility_id is None:
        return []
    return list(session.scalars(select(Encounter).where(
        Encounter.resident_id == referral.resident_id, Encounter.facility_id == referral.to_facility_id,
        Encounter.voided_at.is_(None), Encounter.referral_id.is_(None),
        Encounter.start_date >= clock.local_date(referral.requested_at))
        .order_by(Encounter.start_date.desc(), Encounter.id.desc()).limit(limit)))


# --- access given by a referral or consultation ----------------------------------------------------
def access_basis_for(*, session: Session, actor: Actor, resident_id: int) -> str | None:
    """"referral" when the actor's facility receives an open referral of the resident; "referral_record"
    when it completed one on which it recorded an encounter (it keeps reading the record it added to, e.g.
    the stay it discharged, but adds nothing new: care.records refuses a new record on that basis); else
    "teleconsultation" for an open consultation it was asked for, else None. Lets the receiving facility
    read the resident's record outside its org-unit scope (residents.access.shared_basis)."""
    if actor.facility_id is None:
        return None
    if _received(session, actor, resident_id, OPEN_STATUSES):
        return "referral"
    if session.scalar(select(Referral.id).join(Encounter, Encounter.referral_id == Referral.id).where(
            Referral.resident_id == resident_id, Referral.to_facility_id == actor.facility_id,
            Referral.status == "completed", Encounter.facility_id == actor.facility_id).limit(1)) is not None:
        return records.READ_ONLY_BASIS
    if session.scalar(select(Teleconsultation.id).where(
            Teleconsultation.resident_id == resident_id, Teleconsultation.to_facility_id == actor.facility_id,
            Teleconsultation.status.in_(("requested", "scheduled"))).limit(1)) is not None:
        return "teleconsultation"
    return None


# --- figure: upward and downward referral counts -----------------------------------------------------
def referral_counts(*, session: Session, actor: Actor, period: str, orgunit: str) -> dict[str, Any]:
    """Upward and downward referrals of the residents of an org unit (by the resident's village; a township or
    the county sums its villages) requested in a period (Asia/Shanghai days), and their ratio
    value = upward ÷ downward (None when there is no downward referral). Cancelled and rejected referrals
    are not counted; referrals outside the county are upward and are also given apart."""
    actor.require("stats:read")
    p = parse_period(period)
    if not orgunit.strip():  # named: the figure is of one org unit, never silently the actor's scope
        raise InvalidInput("orgunit", "core.errors.division.format")
    code = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, field="orgunit").code
    lo, hi = division_range(code)
    start, end = clock.day_bounds(p.start, p.end)
    rows = session.execute(
        select(Referral.direction, Referral.out_of_county, func.count())
        .join(Resident, Resident.id == Referral.resident_id)
        .where(Resident.village_code >= lo, Resident.village_code <= hi,
               Referral.requested_at >= start, Referral.requested_at < end,
               Referral.status.in_(COUNTED_STATUSES))
        .group_by(Referral.direction, Referral.out_of_county)).all()
    up = sum(n for d, _, n in rows if d == "up")
    down = sum(n for d, _, n in rows if d == "down")
    outside = sum(n for d, o, n in rows if d == "up" and o)
    return {"figure": "referrals", "orgunit": code, "period": p.code, "numerator": up, "denominator": down,
            "value": round(up / down, 4) if down else None, "upward": up, "downward": down,
            "out_of_county": outside, "definition": "upward / downward"}


# --- the resident's timeline (care.records) ---------------------------------------------------------
def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Translator) -> list[records.TimelineItem]:
    stmt = (select(Referral).where(Referral.resident_id == resident_id)
            .order_by(Referral.requested_at.desc(), Referral.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(or_(Referral.from_facility_id == facility_id, Referral.to_facility_id == facility_id))
    found = list(session.scalars(stmt))
    names = facility_names(session, {r.from_facility_id for r in found} | {r.to_facility_id for r in found})
    out = []
    for r in found:
        to = r.outside_facility_name if r.out_of_county else names.get(r.to_facility_id, "")
        dx = icd10.get(r.diagnosis)
        summary = tr("care.referrals.timeline.summary", direction=tr(f"care.referrals.directions.{r.direction}"),
                     source=names.get(r.from_facility_id, ""), target=to or "",
                     diagnosis=f"{r.diagnosis} {dx.name(tr.locale)}" if dx else (r.diagnosis or ""),
                     status=tr(f"care.referrals.statuses.{r.status}"))
        out.append(records.TimelineItem(
            date=clock.local_date(r.requested_at), kind="referral", summary=summary,
            link=f"/care/referrals/{r.id}", facility_id=r.from_facility_id, entity_id=r.id, at=r.requested_at,
            data={"direction": r.direction, "status": r.status, "from_facility_id": r.from_facility_id,
                  "to_facility_id": r.to_facility_id, "out_of_county": r.out_of_county, "diagnosis": r.diagnosis,
                  "urgency": r.urgency}))
    return out


# The rows this area adds to the resident's timeline (added by the composition root, weijian.wiring).
TIMELINE = records.timeline_source("referrals", ("referral",), _timeline_rows,
                                   {"referral": "care.referrals.timeline.kind"})

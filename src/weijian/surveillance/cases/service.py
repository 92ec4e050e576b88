"""Writes of case reports (传染病报告卡): report a case (by hand, or prompted by a notifiable diagnosis of an
encounter), revise it (订正, the previous values kept), delete it with a reason, mark it a duplicate of the
card that is kept. Each card's delay from diagnosis to report is checked against the disease's limit
(timeliness.report_delay: 2 h for class A and the diseases managed as class A, 24 h for the others).

Who: `case:report` (village, township and county doctors) reports; the reporting facility's doctors and
`case:review` (the bureau) revise, delete and merge duplicates of the cards they see."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care import models as care_models
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident
from weijian.surveillance import rules
from weijian.surveillance.cases.queries import report_in_scope, township_of
from weijian.surveillance.cases.schemas import (
    CLASSIFICATIONS,
    CaseReportCreate,
    CaseReportDelete,
    CaseReportDuplicate,
    CaseReportRevise,
)
from weijian.surveillance.models import CaseReport, CaseReportRevision
from weijian.surveillance.timeliness import report_delay

_E = "surveillance.cases.errors."
# How far a card's order of certainty goes: 疑似 < 临床诊断 < 实验室确诊 / 病原携带. A move to a lower rank, to
# 排除, or out of 排除 is "backwards" and needs a reason (weijian's reading of 订正 in 传染病信息报告管理规范).
RANK = {"suspected": 0, "clinical": 1, "confirmed": 2, "carrier": 2}
# A clock a few minutes ahead of the server's is not a report "in the future".
SLACK = timedelta(minutes=5)


def backwards(old: str, new: str) -> bool:
    if old == new:
        return False
    if old == "excluded" or new == "excluded":
        return True
    return RANK[new] < RANK[old]


def _disease(errs: ErrorCollector, code: str | None, icd10: str | None, on: date) -> rules.Disease | None:
    """The disease a card reports, by its code or by the ICD-10 code it notifies on `on` (both given: they
    must agree). Names `disease` or `icd10`."""
    try:
        edition = rules.edition_on(on)
    except LookupError:
        errs.add("diagnosed_at", _E + "no_edition", date=on.isoformat())
        return None
    by_icd = rules.disease_for_icd10(icd10, on) if icd10 else None
    if icd10 and by_icd is None:
        errs.add("icd10", _E + "icd10_not_notifiable", code=icd10, date=on.isoformat())
        return None
    if code:
        disease = edition.by_code(code)
        if disease is None:
            errs.add("disease", _E + "disease_unknown", code=code, date=on.isoformat())
            return None
        if by_icd is not None and by_icd.code != disease.code:
            errs.add("icd10", _E + "icd10_other_disease", code=icd10, disease=by_icd.name("zh"))
            return None
        return disease
    if by_icd is None:
        errs.add("disease", "core.errors.validation.missing")
    return by_icd


def _dates(errs: ErrorCollector, *, onset: date | None, diagnosed: datetime | None, now: datetime,
           birth: date | None) -> None:
    if onset is not None:
        if onset > clock.local_date(now):
            errs.add("onset_date", _E + "date_future")
        elif birth is not None and onset < birth:
            errs.add("onset_date", _E + "before_birth")
        elif diagnosed is not None and onset > clock.local_date(diagnosed):
            errs.add("onset_date", _E + "onset_after_diagnosis", diagnosed=clock.format_local(diagnosed))
    if diagnosed is not None and diagnosed > now + SLACK:
        errs.add("diagnosed_at", _E + "time_future")


def _quiet(code: str, diagnosed: datetime) -> rules.Disease | None:
    """The card's own disease on its diagnosis day, without naming a problem (the card was checked when made)."""
    try:
        return rules.edition_on(clock.local_date(diagnosed)).by_code(code)
    except LookupError:
        return None


def _carrier(errs: ErrorCollector, classification: str | None, disease: rules.Disease | None) -> None:
    """A card classed 病原携带 only for a disease whose carriers are reported (diseases.yaml `carrier`)."""
    if classification == "carrier" and disease is not None and not disease.carrier:
        errs.add("classification", _E + "carrier_not_reported", disease=disease.zh)


def _delay(disease: rules.Disease, icd10: str | None, diagnosed: datetime,
           reported: datetime) -> tuple[int, Decimal, bool]:
    d = report_delay(disease, diagnosed=diagnosed, reported=reported, icd10=icd10)
    return d.limit_hours, Decimal(str(d.delay_hours)).quantize(Decimal("0.01")), d.late


def report(*, session: Session, report_in: CaseReportCreate, actor: Actor, now: datetime | None = None) -> CaseReport:
    """Make a card. Refused, naming the field: a patient outside the actor's scope or unknown, a disease not on
    the list on the diagnosis day (or an ICD-10 code that notifies none, or another one), onset after the
    diagnosis or in the future, a diagnosis in the future, a report time before the diagnosis or in the
    future, a missing or unknown classification, no reporting facility, an encounter of another patient."""
    actor.require("case:report")
    now = now or clock.now()
    cmd = report_in
    errs = ErrorCollector()
    resident: Resident | None = None
    basis = "encounter"
    try:
        resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=cmd.resident_id,
                                                   shared=True, walk_in=True)
    except NotFound:  # named as the field, with the other problems; the refused look-up is audited
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
        accounts_service.audit(session=session, actor=actor, action="refused", entity_type="case_report",
                               basis="refused", detail={"resident_id": cmd.resident_id}, survive_rollback=True)
    for name in ("onset_date", "diagnosed_at", "classification"):
        if getattr(cmd, name) is None:
            errs.add(name, "core.errors.validation.missing")
    if cmd.classification is not None and cmd.classification not in CLASSIFICATIONS:
        errs.add("classification", _E + "classification_unknown", value=cmd.classification)
    reported = cmd.reported_at or now
    diagnosed = cmd.diagnosed_at
    disease = _disease(errs, cmd.disease, cmd.icd10, clock.local_date(diagnosed or now))
    _dates(errs, onset=cmd.onset_date, diagnosed=diagnosed, now=now,
           birth=resident.birth_date if resident is not None else None)
    if reported > now + SLACK:
        errs.add("reported_at", _E + "time_future")
    elif diagnosed is not None and reported < diagnosed:
        errs.add("reported_at", _E + "reported_before_diagnosis", diagnosed=clock.format_local(diagnosed))
    facility_id = cmd.facility_id if cmd.facility_id is not None else actor.facility_id
    if facility_id is None:
        errs.add("facility_id", "core.errors.validation.missing")
    elif orgunits_service.get_facility(session=session, facility_id=facility_id) is None:
        errs.add("facility_id", _E + "facility_unknown", value=facility_id)
    elif actor.facility_id is not None and facility_id != actor.facility_id:
        errs.add("facility_id", _E + "facility_not_own")
    if cmd.encounter_id is not None:
        enc_resident = session.scalar(select(care_models.Encounter.resident_id)
                                      .where(care_models.Encounter.id == cmd.encounter_id))
        if enc_resident is None or (resident is not None and enc_resident != resident.id):
            errs.add("encounter_id", _E + "encounter_other", encounter_id=cmd.encounter_id)
    _carrier(errs, cmd.classification, disease)
    errs.raise_if_any()
    assert resident is not None and disease is not None and diagnosed is not None and facility_id is not None
    assert cmd.onset_date is not None and cmd.classification is not None
    limit, delay, late = _delay(disease, cmd.icd10, diagnosed, reported)
    card = CaseReport(
        resident_id=resident.id, disease=disease.code, icd10=(cmd.icd10 or None), onset_date=cmd.onset_date,
        diagnosed_at=diagnosed, reported_at=reported, classification=cmd.classification, facility_id=facility_id,
        doctor_id=actor.user_id, doctor_name=(cmd.doctor_name or actor.username)[:64],
        village_code=resident.village_code, township_code=township_of(resident.village_code), status="active",
        limit_hours=limit, delay_hours=delay, late=late, encounter_id=cmd.encounter_id, note=cmd.note,
        created_at=now, created_by=actor.username)
    session.add(card)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="case_report",
                           entity_id=card.id, resident_id=resident.id, basis=basis,
                           detail={"disease": disease.code, "classification": card.classification,
                                   "late": late, "encounter_id": cmd.encounter_id})
    return card


def _for_change(session: Session, actor: Actor, report_id: int) -> tuple[CaseReport, str]:
    """The card, when the actor may change it: `case:review` on a card it sees, or `case:report` at the
    reporting facility. A deleted card or one merged into another is not changed again."""
    if not (actor.can("case:review") or actor.can("case:report")):
        actor.require("case:report")
    card, _village, basis = report_in_scope(session=session, actor=actor, report_id=report_id, for_update=True)
    if not actor.can("case:review") and (actor.facility_id is None or actor.facility_id != card.facility_id):
        raise Forbidden(_E + "not_reporting_facility")
    if card.status != "active":
        raise InvalidState(_E + "deleted_already")
    if card.duplicate_of is not None:
        raise InvalidState(_E + "duplicate_already", report_id=card.duplicate_of)
    return card, basis


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.zone()).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _history(session: Session, card: CaseReport, actor: Actor, kind: str, reason: str | None,
             before: dict[str, Any], after: dict[str, Any], at: datetime) -> CaseReportRevision:
    rev = CaseReportRevision(report_id=card.id, kind=kind, at=at, by_id=actor.user_id, by_name=actor.username[:64],
                             reason=reason, before=json.dumps({k: _plain(v) for k, v in before.items()},
                                                              ensure_ascii=False),
                             after=json.dumps({k: _plain(v) for k, v in after.items()}, ensure_ascii=False))
    session.add(rev)
    return rev


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(clock.zone()).replace(second=0, microsecond=0)


def revise(*, session: Session, report_id: int, revise_in: CaseReportRevise, actor: Actor,
           now: datetime | None = None) -> CaseReport:
    """订正: change the classification, the disease, the onset date or the diagnosis time; the previous values
    are kept in the card's history with who, when and why. A classification moved backwards (确诊 → 疑似), to
    排除 or out of it needs a reason; the same checks as a new card hold for the dates and the disease. The
    delay is judged again when the diagnosis time changes (the report time stays the first report's)."""
    now = now or clock.now()
    card, basis = _for_change(session, actor, report_id)
    cmd = revise_in
    errs = ErrorCollector()
    new: dict[str, Any] = {}
    if cmd.classification is not None:
        if cmd.classification not in CLASSIFICATIONS:
            errs.add("classification", _E + "classification_unknown", value=cmd.classification)
        elif backwards(card.classification, cmd.classification) and cmd.reason is None:
            errs.add("reason", _E + "reason_backwards",
                     old=f"@surveillance.cases.classifications.{card.classification}",
                     new=f"@surveillance.cases.classifications.{cmd.classification}")
        elif cmd.classification != card.classification:
            new["classification"] = cmd.classification
    # The page sends the card's time to the minute: the same minute is no change.
    given_dx = cmd.diagnosed_at
    if given_dx is not None and _minute(given_dx) == _minute(card.diagnosed_at):
        given_dx = None
    diagnosed = given_dx or card.diagnosed_at
    onset = cmd.onset_date or card.onset_date
    resident = session.get(Resident, card.resident_id)
    _dates(errs, onset=onset, diagnosed=diagnosed, now=now, birth=resident.birth_date if resident else None)
    if card.reported_at < diagnosed:
        errs.add("diagnosed_at", _E + "diagnosis_after_report", reported=clock.format_local(card.reported_at))
    disease = None
    if cmd.disease is not None or cmd.icd10 is not None or given_dx is not None:
        icd = cmd.icd10 if cmd.icd10 is not None else (card.icd10 if cmd.disease in (None, card.disease) else None)
        disease = _disease(errs, cmd.disease or (card.disease if cmd.icd10 is None else None), icd,
                           clock.local_date(diagnosed))
        if disease is not None:
            if disease.code != card.disease:
                new["disease"] = disease.code
            if icd != card.icd10:
                new["icd10"] = icd
    if cmd.onset_date is not None and cmd.onset_date != card.onset_date:
        new["onset_date"] = cmd.onset_date
    if given_dx is not None:
        new["diagnosed_at"] = given_dx
    if cmd.note is not None and cmd.note != card.note:
        new["note"] = cmd.note
    if "classification" in new or "disease" in new:
        _carrier(errs, new.get("classification", card.classification), disease or _quiet(card.disease, diagnosed))
    errs.raise_if_any()
    if not new:
        raise InvalidInput("classification", _E + "nothing_changed")
    if disease is not None:
        limit, delay, late = _delay(disease, new.get("icd10", card.icd10), diagnosed, card.reported_at)
        for key, value in (("limit_hours", limit), ("delay_hours", delay), ("late", late)):
            if getattr(card, key) != value:
                new[key] = value
    before = {k: getattr(card, k) for k in new}
    for key, value in new.items():
        setattr(card, key, value)
    _history(session, card, actor, "revise", cmd.reason, before, new, now)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="correct", entity_type="case_report",
                           entity_id=card.id, resident_id=card.resident_id, basis=basis,
                           detail={"before": {k: _plain(v) for k, v in before.items()}, "reason": cmd.reason})
    return card


def delete(*, session: Session, report_id: int, delete_in: CaseReportDelete, actor: Actor,
           now: datetime | None = None) -> CaseReport:
    """Delete a card, with a reason (kept on the card and in its history); it stays readable and counts
    nowhere."""
    now = now or clock.now()
    card, basis = _for_change(session, actor, report_id)
    if delete_in.reason is None:
        raise InvalidInput("reason", "core.errors.validation.missing")
    _history(session, card, actor, "delete", delete_in.reason, {"status": card.status}, {"status": "deleted"}, now)
    card.status, card.delete_reason = "deleted", delete_in.reason
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="void", entity_type="case_report",
                           entity_id=card.id, resident_id=card.resident_id, basis=basis,
                           detail={"reason": delete_in.reason})
    return card


def mark_duplicate(*, session: Session, report_id: int, duplicate_in: CaseReportDuplicate, actor: Actor,
                   now: datetime | None = None) -> CaseReport:
    """This card reports a case another card reports already: it is merged into that one (`duplicate_of`),
    which is kept and counted; this one counts nowhere. The kept card must be of the same patient and disease,
    active and not itself merged into another."""
    now = now or clock.now()
    card, basis = _for_change(session, actor, report_id)
    target_id = duplicate_in.duplicate_of
    if target_id is None:
        raise InvalidInput("duplicate_of", "core.errors.validation.missing")
    if target_id == card.id:
        raise InvalidInput("duplicate_of", _E + "duplicate_of_itself")
    target = session.scalar(select(CaseReport).where(CaseReport.id == target_id))
    if target is None:
        raise InvalidInput("duplicate_of", _E + "duplicate_unknown", report_id=target_id)
    if target.resident_id != card.resident_id or target.disease != card.disease:
        raise InvalidInput("duplicate_of", _E + "duplicate_other_case", report_id=target_id)
    if target.status != "active" or target.duplicate_of is not None:
        raise InvalidInput("duplicate_of", _E + "duplicate_not_kept", report_id=target_id)
    _history(session, card, actor, "duplicate", duplicate_in.reason, {"duplicate_of": None},
             {"duplicate_of": target.id}, now)
    card.duplicate_of = target.id
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="merge", entity_type="case_report",
                           entity_id=card.id, resident_id=card.resident_id, basis=basis,
                           detail={"duplicate_of": target.id, "reason": duplicate_in.reason})
    return card


def allowed_actions(card: CaseReport, actor: Actor) -> list[str]:
    """What the actor may do with a card now (the page shows exactly these forms; the service decides)."""
    if card.status != "active" or card.duplicate_of is not None:
        return []
    if actor.can("case:review") or (actor.can("case:report") and actor.facility_id is not None
                                    and actor.facility_id == card.facility_id):
        return ["revise", "delete", "duplicate"]
    return []


def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """A resident merge moves the merged record's cards to the survivor (their village and township at the
    time stay as reported: the counts of the past do not move)."""
    return residents_service.reassign(ctx, CaseReport, "case_report")


MERGE_MOVER = residents_service.Mover(name="surveillance", columns=frozenset({"case_reports.resident_id"}),
                                      classes=(CaseReport,), move=move_resident)

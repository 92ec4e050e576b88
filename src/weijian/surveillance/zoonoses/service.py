"""Writes of zoonoses: a resident's exposure (care:write, for a resident in the actor's scope, audited with
the basis) and a screening campaign in a village (emergency:write). Every bad field is named at once."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.surveillance.zoonoses.models import ScreeningCampaign, ZoonosisExposure
from weijian.surveillance.zoonoses.rules import zoonoses
from weijian.surveillance.zoonoses.schemas import CampaignCreate, ExposureCreate

_E = "surveillance.zoonoses.errors."
_MISSING = "core.errors.validation.missing"


def _village(session: Session, errs: ErrorCollector, actor: Actor, code: str | None, field: str) -> None:
    if code is None:
        return
    try:
        level = division_level(code)
    except InvalidInput:
        errs.add(field, "core.errors.division.format")
        return
    if level != "village" or orgunits_service.get(session=session, code=code) is None:
        errs.add(field, _E + "village_unknown", code=code)
    elif not orgunits_service.in_scope(scope_code=actor.scope_code, code=code):
        errs.add(field, _E + "village_out_of_scope", code=code)


def create_exposure(*, session: Session, exposure_in: ExposureCreate, actor: Actor,
                    now: datetime | None = None) -> ZoonosisExposure:
    actor.require("care:write")
    cmd = exposure_in
    today = clock.today()
    errs = ErrorCollector()
    if cmd.resident_id is None:
        errs.add("resident_id", _MISSING)
    entry = None
    if cmd.disease is None:
        errs.add("disease", _MISSING)
    else:
        entry = zoonoses().diseases.get(cmd.disease)
        if entry is None:
            errs.add("disease", _E + "disease_unknown", value=cmd.disease, known=", ".join(zoonoses().diseases))
    if not cmd.exposure_kinds:
        errs.add("exposure_kinds", _MISSING)
    elif entry is not None:
        for i, kind in enumerate(cmd.exposure_kinds):
            if kind not in entry.exposures:
                errs.add(f"exposure_kinds.{i}", _E + "exposure_unknown", value=kind,
                         known=", ".join(entry.exposures))
    for name in ("onset_date", "diagnosis_date"):
        day = getattr(cmd, name)
        if day is not None and day > today:
            errs.add(name, _E + "in_future")
    if cmd.onset_date and cmd.diagnosis_date and cmd.diagnosis_date < cmd.onset_date:
        errs.add("diagnosis_date", _E + "diagnosis_before_onset")
    _village(session, errs, actor, cmd.village_code, "village_code")
    errs.raise_if_any()
    # The resident last: one outside the scope is NotFound (404), whatever else the form holds.
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=cmd.resident_id)
    kinds = list(dict.fromkeys(cmd.exposure_kinds or []))
    row = ZoonosisExposure(resident_id=resident.id, disease=cmd.disease, exposure_kinds=json.dumps(kinds),
                           village_code=cmd.village_code or resident.village_code, onset_date=cmd.onset_date,
                           diagnosis_date=cmd.diagnosis_date, case_report_id=cmd.case_report_id, note=cmd.note,
                           recorded_by=actor.username, recorded_at=now or clock.now())
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="zoonosis_exposure",
                           entity_id=row.id, resident_id=resident.id, basis=basis,
                           detail={"disease": row.disease, "exposure_kinds": kinds})
    return row


def create_campaign(*, session: Session, campaign_in: CampaignCreate, actor: Actor,
                    now: datetime | None = None) -> ScreeningCampaign:
    actor.require("emergency:write")
    cmd = campaign_in
    errs = ErrorCollector()
    for name in ("disease", "village_code", "screened_on", "screened", "positives", "method"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    entry = zoonoses().diseases.get(cmd.disease) if cmd.disease is not None else None
    if cmd.disease is not None and entry is None:
        errs.add("disease", _E + "disease_unknown", value=cmd.disease, known=", ".join(zoonoses().diseases))
    if entry is not None and cmd.method is not None and cmd.method not in entry.methods:
        errs.add("method", _E + "method_unknown", value=cmd.method, known=", ".join(entry.methods))
    if cmd.screened_on is not None and cmd.screened_on > clock.today():
        errs.add("screened_on", _E + "in_future")
    if cmd.screened is not None and cmd.positives is not None and cmd.positives > cmd.screened:
        errs.add("positives", _E + "positives_above_screened", positives=cmd.positives, screened=cmd.screened)
    _village(session, errs, actor, cmd.village_code, "village_code")
    errs.raise_if_any()
    row = ScreeningCampaign(disease=cmd.disease, village_code=cmd.village_code, screened_on=cmd.screened_on,
                            screened=cmd.screened, positives=cmd.positives, method=cmd.method, note=cmd.note,
                            recorded_by=actor.username, recorded_at=now or clock.now())
    session.add(row)
    session.flush()
    return row


def _move(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    return residents_service.reassign(ctx, ZoonosisExposure, "zoonosis_exposure")


# A merged resident's exposures go to the survivor (residents.merging; registered by weijian.wiring).
MERGE_MOVER = residents_service.Mover(name="zoonoses", columns=frozenset({"zoonosis_exposures.resident_id"}),
                                      classes=(ZoonosisExposure,), move=_move)

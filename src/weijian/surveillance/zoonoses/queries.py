"""Reads of zoonoses: a resident's exposures (care data: care:read, in the actor's scope, every read audited
with its basis), the screening campaigns and the by-village summary (counts only, no person)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit
from weijian.residents import access
from weijian.residents.models import Resident
from weijian.surveillance.zoonoses.models import ScreeningCampaign, ZoonosisExposure

MAX_LIST = 500


@dataclass(frozen=True)
class ExposureItem:
    exposure: ZoonosisExposure
    resident_name: str

    @property
    def kinds(self) -> list[str]:
        return list(json.loads(self.exposure.exposure_kinds))


def list_exposures(*, session: Session, actor: Actor, resident_id: int | None = None,
                   disease: str | None = None) -> list[ExposureItem]:
    """The exposures of one resident (`resident_id`: NotFound outside the scope, audited `read` with the
    basis) or of every resident in the actor's scope (audited `list`, with the residents shown)."""
    actor.require("care:read")
    stmt = select(ZoonosisExposure, Resident.name).join(Resident, Resident.id == ZoonosisExposure.resident_id)
    basis = access.scope_basis(actor)
    if resident_id is not None:
        resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id)
        stmt = stmt.where(ZoonosisExposure.resident_id == resident.id)
    else:
        stmt = stmt.where(access.visible(actor))
    if disease:
        stmt = stmt.where(ZoonosisExposure.disease == disease)
    rows = session.execute(stmt.order_by(ZoonosisExposure.id.desc()).limit(MAX_LIST)).all()
    items = [ExposureItem(e, name) for e, name in rows]
    if resident_id is not None:
        accounts_service.audit(session=session, actor=actor, action="read", entity_type="zoonosis_exposure",
                               resident_id=resident_id, basis=basis, detail={"count": len(items)})
    else:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="zoonosis_exposure",
                               basis=basis, detail={k: v for k, v in {"disease": disease}.items() if v},
                               shown=[i.exposure.resident_id for i in items])
    return items


def list_campaigns(*, session: Session, actor: Actor, disease: str | None = None) -> list[ScreeningCampaign]:
    stmt = select(ScreeningCampaign).where(orgunits_service.scope_condition(ScreeningCampaign.village_code, actor))
    if disease:
        stmt = stmt.where(ScreeningCampaign.disease == disease)
    return list(session.scalars(stmt.order_by(ScreeningCampaign.screened_on.desc(), ScreeningCampaign.id.desc())))


@dataclass(frozen=True)
class VillageSummary:
    village_code: str
    village_name: str
    disease: str
    campaigns: int
    screened: int
    positives: int
    exposures: int

    @property
    def positive_rate(self) -> float | None:
        return round(self.positives / self.screened, 4) if self.screened else None


def by_village(*, session: Session, actor: Actor, disease: str | None = None, date_from: date | None = None,
               date_to: date | None = None) -> list[VillageSummary]:
    """Per village and disease, in the actor's scope: campaigns held, people screened, positives (campaigns
    from `date_from` to `date_to`), and the exposures recorded (counts, no person)."""
    c = ScreeningCampaign
    stmt = (select(c.village_code, c.disease, func.count(c.id), func.sum(c.screened), func.sum(c.positives))
            .where(orgunits_service.scope_condition(c.village_code, actor)).group_by(c.village_code, c.disease))
    if disease:
        stmt = stmt.where(c.disease == disease)
    if date_from is not None:
        stmt = stmt.where(c.screened_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(c.screened_on <= date_to)
    figures: dict[tuple[str, str], list[int]] = {}
    for village, dis, n, screened, positives in session.execute(stmt):
        figures[(village, dis)] = [int(n), int(screened or 0), int(positives or 0), 0]
    x = ZoonosisExposure
    exp = (select(x.village_code, x.disease, func.count(x.id))
           .where(orgunits_service.scope_condition(x.village_code, actor)).group_by(x.village_code, x.disease))
    if disease:
        exp = exp.where(x.disease == disease)
    for village, dis, n in session.execute(exp):
        figures.setdefault((village, dis), [0, 0, 0, 0])[3] = int(n)
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)
                                 .where(OrgUnit.code.in_({v for v, _ in figures}))).tuples().all())
    return [VillageSummary(v, names.get(v, v), d, *figures[(v, d)]) for v, d in sorted(figures)]

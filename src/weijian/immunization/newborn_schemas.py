"""API shapes of the newborn bundle: the registration form, the registration with its certificate and
hand-offs, a hand-off's status change. Inputs are loose on purpose: the service checks every value and
names the bad field in the user's language."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from weijian.core.actor import Actor
from weijian.core.disclosure import disclosure_for
from weijian.immunization import newborn

Loose = str | int | None  # numbers, dates and times as typed; the service parses them


class NewbornIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mother_id: Loose = None  # the mother's record number, or
    mother_id_number: str | None = None  # her identity number
    child_name: str | None = None  # blank: the provisional "<mother>之子/之女"
    sex: str | None = None  # male | female
    birth_date: str | None = None  # YYYY-MM-DD (Beijing time)
    birth_time: str | None = None  # HH:MM (Beijing time)
    birth_weight_g: Loose = None
    gestational_weeks: Loose = None
    birth_certificate_number: str | None = None  # the pre-printed form's number; blank: weijian issues one
    hepb_lot_id: Loose = None
    hepb_date: str | None = None  # default: the birth date
    hepb_skip_reason: str | None = None  # refused | contraindication | temporary_deferral (then no lot)
    bcg_lot_id: Loose = None
    bcg_date: str | None = None
    bcg_skip_reason: str | None = None


class HandoffStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str  # sent | done: one step on from the current status


class PersonOut(BaseModel):
    id: int
    name: str
    sex: str
    birth_year: int
    # Full only for an actor with resident:read_identity; masked otherwise, and no birth date (core.disclosure).
    birth_date: date | None
    id_number: str | None
    village_code: str
    household_number: str | None
    relation_to_head: str | None


class DoseOut(BaseModel):
    vaccine: str
    dose: int
    date: date
    source: str
    product: str | None
    manufacturer: str | None
    lot_number: str | None
    expiry_date: dt.date | None  # dt.date: `date` is the field above
    site: str | None
    route: str | None


class RefusalOut(BaseModel):
    vaccine: str
    dose: int
    date: date
    reason: str


class ScheduleRowOut(BaseModel):
    vaccine: str
    dose: int
    status: str
    recommended_date: date
    earliest_date: date | None
    overdue_date: date
    given_date: date | None


class HandoffOut(BaseModel):
    birth_id: int
    department: str
    status: str
    updated_at: datetime
    next_status: str | None  # the one status it may move to; None when done

    @classmethod
    def of(cls, h: Any) -> HandoffOut:
        return cls(birth_id=h.birth_id, department=h.department, status=h.status, updated_at=h.updated_at,
                   next_status=newborn.next_status(h.status))


class CertificateOut(BaseModel):
    number: str
    issued_on: date


class NewbornOut(BaseModel):
    id: int
    birth_certificate_number: str
    born_at: datetime
    birth_weight_g: int | None
    gestational_weeks: int | None
    facility_id: int
    facility_name: str
    child: PersonOut
    mother: PersonOut
    certificate: CertificateOut | None
    doses: list[DoseOut]
    refusals: list[RefusalOut]
    schedule: list[ScheduleRowOut]  # the certificate's schedule on `as_of`
    as_of: date
    handoffs: list[HandoffOut]

    @classmethod
    def of(cls, view: newborn.RegistrationView, actor: Actor) -> NewbornOut:
        b = view.birth
        return cls(
            id=b.id, birth_certificate_number=b.birth_certificate_number, born_at=b.born_at,
            birth_weight_g=b.birth_weight_g, gestational_weeks=b.gestational_weeks, facility_id=b.facility_id,
            facility_name=view.facility_name, child=_person(view.child, actor), mother=_person(view.mother, actor),
            certificate=CertificateOut(number=view.certificate.number, issued_on=view.certificate.issued_on)
            if view.certificate else None,
            doses=[DoseOut(vaccine=v.vaccine, dose=v.dose, date=v.date, source=v.source, product=v.product,
                           manufacturer=v.manufacturer, lot_number=v.lot_number, expiry_date=v.expiry_date,
                           site=v.site, route=v.route) for v in view.vaccinations],
            refusals=[RefusalOut(vaccine=r.vaccine, dose=r.dose, date=r.date, reason=r.reason) for r in view.refusals],
            schedule=[ScheduleRowOut(vaccine=r.vaccine, dose=r.dose, status=r.status,
                                     recommended_date=r.recommended_date, earliest_date=r.earliest_date,
                                     overdue_date=r.overdue_date, given_date=r.given_date) for r in view.schedule],
            as_of=view.as_of, handoffs=[HandoffOut.of(h) for h in view.handoffs],
        )


def _person(r: Any, actor: Actor) -> PersonOut:
    shown = disclosure_for(actor)
    return PersonOut(id=r.id, name=r.name, sex=r.sex, birth_year=r.birth_date.year,
                     birth_date=shown.birth_date(r.birth_date), id_number=shown.id_number(r.id_number),
                     village_code=r.village_code, household_number=r.household.number if r.household else None,
                     relation_to_head=r.relation_to_head)


class NewbornListItem(BaseModel):
    id: int
    child_id: int
    child_name: str
    sex: str
    born_at: datetime
    birth_certificate_number: str
    handoffs: dict[str, str]  # department → status


class HandoffListItem(BaseModel):
    birth_id: int
    child_id: int
    child_name: str
    born_at: datetime
    birth_certificate_number: str
    department: str
    status: str
    updated_at: datetime
    next_status: str | None

"""The newborn area's commands (the registration form, a hand-off's next status: STYLE 14) and its API answers
(the registration with its certificate and hand-offs). A command refuses a value of the wrong shape with the
newborn form's own words; what needs the database or several fields (the mother, the lots and their stock, the
dates against today and the birth, the numbers' ranges and which fields are required) is checked by
newborn.service, so that one refusal names every bad field of the form at once."""
from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator, field_validator

from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command, refuse
from weijian.core.disclosure import disclosure_for
from weijian.immunization.newborn.queries import STATUSES, RegistrationView, next_status
from weijian.residents import service as residents_service

_E = "immunization.newborn.errors."
SKIP_REASONS = ("refused", "contraindication", "temporary_deferral")
BIRTH_CERTIFICATE_RE = re.compile(r"^[A-Z]\d{9}$")


def _form_date(value: Any, handler: ValidatorFunctionWrapHandler) -> date:
    """A date as the form types it (`2026-06-01`, `2026/06/01`), refused in the form's words."""
    if isinstance(value, str):
        value = value.replace("/", "-")
    try:
        return handler(value)
    except ValidationError as exc:
        bounds = next((e.get("ctx") or {} for e in exc.errors() if e["type"] == "date_out_of_range"), None)
        if bounds is not None:
            raise refuse("core.errors.validation.date_out_of_range", **bounds) from None
        raise refuse(_E + "date_invalid", value=str(value)) from None


def _form_time(value: Any, handler: ValidatorFunctionWrapHandler) -> dt.time:
    """A time of day, `HH:MM` or `HH:MM:SS` (Beijing time; `8:30` too), refused in the form's words."""
    if isinstance(value, str) and re.match(r"\d:", value):
        value = "0" + value
    try:
        return handler(value)
    except ValidationError:
        raise refuse(_E + "time_invalid", value=str(value)) from None


FormDate = Annotated[BoundedDate, WrapValidator(_form_date)]
FormTime = Annotated[dt.time, WrapValidator(_form_time)]
# A count in the form (grams, weeks): a whole number, or the text typed when it is none — the service names it
# (`not_a_number`) together with every other refusal of the form, instead of alone.
Count = Annotated[int | str, Field(union_mode="left_to_right")]


class NewbornCreate(Command):
    """The registration form: the mother (her record number, or her identity number), the child, and per
    birth dose (hepb, bcg) the lot given, its date (default: the birth date) or the reason it was not."""

    mother_id: Id64 | None = None  # the mother's record number, or
    mother_id_number: str | None = None  # her identity number
    child_name: str | None = None  # blank: the provisional "<mother>之子/之女"
    sex: str | None = None  # male | female
    birth_date: FormDate | None = None  # YYYY-MM-DD (Beijing time)
    birth_time: FormTime | None = None  # HH:MM (Beijing time)
    birth_weight_g: Count | None = None
    gestational_weeks: Count | None = None
    birth_certificate_number: str | None = None  # the pre-printed form's number; blank: weijian issues one
    hepb_lot_id: Id64 | None = None
    hepb_date: FormDate | None = None  # default: the birth date
    hepb_skip_reason: str | None = None  # refused | contraindication | temporary_deferral (then no lot)
    bcg_lot_id: Id64 | None = None
    bcg_date: FormDate | None = None
    bcg_skip_reason: str | None = None

    @field_validator("sex")
    @classmethod
    def _sex(cls, value: str | None) -> str | None:
        if value is not None and value not in residents_service.SEXES:
            raise refuse(_E + "sex_invalid")
        return value

    @field_validator("hepb_skip_reason", "bcg_skip_reason")
    @classmethod
    def _skip_reason(cls, value: str | None) -> str | None:
        if value is not None and value not in SKIP_REASONS:
            raise refuse(_E + "skip_reason_invalid")
        return value

    @field_validator("birth_certificate_number")
    @classmethod
    def _certificate_number(cls, value: str | None) -> str | None:
        """A letter and nine digits (出生医学证明编号), upper-cased."""
        if value is None:
            return None
        number = value.upper()
        if not BIRTH_CERTIFICATE_RE.match(number):
            raise refuse(_E + "birth_certificate_format")
        return number

    def dose(self, code: str) -> tuple[int | None, date | None, str | None]:
        """(lot id, date, reason not given) of a birth dose (`HepB`, `BCG`)."""
        prefix = code.lower()
        return (getattr(self, f"{prefix}_lot_id"), getattr(self, f"{prefix}_date"),
                getattr(self, f"{prefix}_skip_reason"))


class HandoffStatusIn(Command):
    status: str  # sent | done: one step on from the current status

    @field_validator("status")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in STATUSES:
            raise refuse(_E + "status_unknown", value=value)
        return value


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
                   next_status=next_status(h.status))


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
    def of(cls, view: RegistrationView, actor: Actor) -> NewbornOut:
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

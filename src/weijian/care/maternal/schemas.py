"""Shapes of maternal health management: the commands every write takes (registering a pregnancy, an
antenatal visit, a risk grading, the delivery, a postpartum visit; core.commands — strict, each bad value
refused naming its field), and the API's answers. What needs the database, the clock or the pregnancy's
dates is checked by the service."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.care.chronic.schemas import Day, Diastolic, Systolic, Weight
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command, refuse


def _resident(raw: Any) -> int:
    """A resident number as typed: anything that is no id is a resident that does not exist (in scope)."""
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse("care.maternal.errors.resident_not_found", resident_id=str(raw))
    return rid


Reason = Annotated[str | None, Field(max_length=500)]
Findings = Annotated[str | None, Field(max_length=2000)]


class PregnancyRegister(Command):
    """建册: a woman's pregnancy from its last menstrual period. The dates may be left out here: the service
    names them missing together with what it finds in the database (the resident, an open pregnancy)."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    lmp: Day | None = None
    registered_on: Day | None = None
    gravidity: Annotated[int, Field(ge=1, le=30)] = 1  # 孕次, this one included
    parity: Annotated[int, Field(ge=0, le=30)] = 0  # 产次, before this one
    facility_id: Id64 | None = None  # default: the actor's facility


class AntenatalVisitCreate(Command):
    """One of the five antenatal checks. Its window, its order and the reason asked for outside the window
    are checked by the service."""

    number: Annotated[int, Field(ge=1, le=5)]
    date: Day
    weight_kg: Weight = None
    sbp: Systolic = None
    dbp: Diastolic = None
    findings: Findings = None
    out_of_window_reason: Reason = None
    referral_id: Id64 | None = None


class RiskGrade(Command):
    """妊娠风险评估: the criteria noted (codes of maternal.yaml); orange and red need the upward referral."""

    graded_on: Day
    criteria: list[str] = []
    referral_id: Id64 | None = None


class DeliveryRecord(Command):
    """分娩 (or the pregnancy's end): the day, the outcome, the live births, the discharge, and the newborn's
    birth registration number in immunization (optional: linked later from the newborn page)."""

    delivered_on: Day
    outcome: str
    live_births: Annotated[int, Field(ge=0, le=8)] = 1
    discharged_on: Day | None = None
    delivery_facility_name: Annotated[str | None, Field(max_length=100)] = None
    birth_registration_id: Id64 | None = None


class PostpartumVisitCreate(Command):
    kind: str  # home | check_42
    date: Day
    findings: Findings = None


# --- answers -----------------------------------------------------------------------------------------
class WindowOut(BaseModel):
    visit: int
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    status: str
    done_on: dt.date | None = None


class AntenatalVisitOut(BaseModel):
    id: int
    number: int
    date: dt.date
    weeks: int
    days: int
    weight_kg: Decimal | None
    sbp: int | None
    dbp: int | None
    findings: str | None
    out_of_window_reason: str | None
    referral_id: int | None

    @classmethod
    def of(cls, v: AntenatalVisit) -> AntenatalVisitOut:
        return cls(id=v.id, number=v.number, date=v.date, weeks=v.weeks, days=v.days, weight_kg=v.weight_kg,
                   sbp=v.sbp, dbp=v.dbp, findings=v.findings, out_of_window_reason=v.out_of_window_reason,
                   referral_id=v.referral_id)


class PostpartumVisitOut(BaseModel):
    id: int
    kind: str
    date: dt.date
    findings: str | None

    @classmethod
    def of(cls, v: PostpartumVisit) -> PostpartumVisitOut:
        return cls(id=v.id, kind=v.kind, date=v.date, findings=v.findings)


class PregnancyOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    lmp: dt.date
    edd: dt.date
    registered_on: dt.date
    facility_id: int | None
    gravidity: int
    parity: int
    risk_colour: str
    risk_infectious: bool
    risk_criteria: list[str]
    graded_on: dt.date | None
    referral_id: int | None
    needs_referral: bool
    status: str
    delivered_on: dt.date | None
    discharged_on: dt.date | None
    outcome: str | None
    live_births: int
    birth_registration_id: int | None

    @classmethod
    def of(cls, p: Pregnancy, *, needs_referral: bool, resident_name: str | None = None,
           village_code: str | None = None) -> PregnancyOut:
        return cls(id=p.id, resident_id=p.resident_id, resident_name=resident_name, village_code=village_code,
                   lmp=p.lmp, edd=p.edd, registered_on=p.registered_on, facility_id=p.facility_id,
                   gravidity=p.gravidity, parity=p.parity, risk_colour=p.risk_colour,
                   risk_infectious=p.risk_infectious,
                   risk_criteria=[c for c in (p.risk_criteria or "").split(",") if c], graded_on=p.graded_on,
                   referral_id=p.referral_id, needs_referral=needs_referral, status=p.status,
                   delivered_on=p.delivered_on, discharged_on=p.discharged_on, outcome=p.outcome,
                   live_births=p.live_births, birth_registration_id=p.birth_registration_id)


class PregnancyDetail(PregnancyOut):
    windows: list[WindowOut]
    antenatal_visits: list[AntenatalVisitOut]
    postpartum_visits: list[PostpartumVisitOut]


class RegisterRowOut(BaseModel):
    pregnancy: PregnancyOut
    weeks: int
    days: int
    next_visit: int | None
    next_status: str | None
    next_from: dt.date | None
    next_to: dt.date | None


class RegisterOut(BaseModel):
    as_of: dt.date
    counts: dict[str, int]
    items: list[RegisterRowOut]

"""Shapes of child health management: the commands the writes take (a check of the schedule, closing a 体弱儿
case; core.commands — strict, each bad value refused naming its field) and the API's answers. Plausible
ranges, the child's age and the check's window need the rules file, the birth date or the clock: the service
checks them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.care.childcare.models import ChildCheck, FrailChild
from weijian.care.chronic.schemas import Day
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command, refuse


def _resident(raw: Any) -> int:
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse("care.childcare.errors.resident_not_found", resident_id=str(raw))
    return rid


Text500 = Annotated[str | None, Field(max_length=500)]
Text2000 = Annotated[str | None, Field(max_length=2000)]
Kg = Annotated[Decimal | None, Field(max_digits=5, decimal_places=2)]
Cm = Annotated[Decimal | None, Field(max_digits=5, decimal_places=1)]


class ChildCheckCreate(Command):
    """One check of the schedule for a child (`check`: a childcare.yaml code)."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    check: Annotated[str, Field(max_length=8)]
    date: Day
    weight_kg: Kg = None
    length_cm: Cm = None
    head_cm: Cm = None
    development_ok: bool | None = None
    haemoglobin_g_l: Annotated[int | None, Field(ge=0, le=1000)] = None
    hearing: Annotated[str | None, Field(max_length=8)] = None  # pass | refer
    vision: Annotated[str | None, Field(max_length=16)] = None
    tcm_guidance: bool = False
    findings: Text2000 = None
    out_of_window_reason: Text500 = None


class FrailClose(Command):
    closed_on: Day
    note: Annotated[str, Field(min_length=1, max_length=500)]


# --- answers ---------------------------------------------------------------------------------------------
class ScheduleRowOut(BaseModel):
    check: str
    age: str
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    status: str
    done_on: dt.date | None = None


class ChildCheckOut(BaseModel):
    id: int
    resident_id: int
    check: str
    date: dt.date
    age_months: int
    weight_kg: Decimal | None
    length_cm: Decimal | None
    head_cm: Decimal | None
    development_ok: bool | None
    haemoglobin_g_l: int | None
    hearing: str | None
    vision: str | None
    tcm_guidance: bool
    z_wfa: Decimal | None
    z_lhfa: Decimal | None
    z_wflh: Decimal | None
    frail: list[str]
    out_of_window_reason: str | None

    @classmethod
    def of(cls, c: ChildCheck) -> ChildCheckOut:
        return cls(id=c.id, resident_id=c.resident_id, check=c.check_code, date=c.date, age_months=c.age_months,
                   weight_kg=c.weight_kg, length_cm=c.length_cm, head_cm=c.head_cm, development_ok=c.development_ok,
                   haemoglobin_g_l=c.haemoglobin_g_l, hearing=c.hearing, vision=c.vision,
                   tcm_guidance=c.tcm_guidance, z_wfa=c.z_wfa, z_lhfa=c.z_lhfa, z_wflh=c.z_wflh,
                   frail=[f for f in (c.frail or "").split(",") if f], out_of_window_reason=c.out_of_window_reason)


class FrailOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    reason: str
    severity: str | None
    opened_on: dt.date
    status: str
    closed_on: dt.date | None
    closed_note: str | None

    @classmethod
    def of(cls, f: FrailChild, *, resident_name: str | None = None, village_code: str | None = None) -> FrailOut:
        return cls(id=f.id, resident_id=f.resident_id, resident_name=resident_name, village_code=village_code,
                   reason=f.reason, severity=f.severity, opened_on=f.opened_on, status=f.status,
                   closed_on=f.closed_on, closed_note=f.closed_note)


class ChildOut(BaseModel):
    resident_id: int
    name: str
    sex: str
    birth_date: dt.date
    village_code: str
    as_of: dt.date
    age_months: int
    schedule: list[ScheduleRowOut]
    checks: list[ChildCheckOut]
    frail: list[FrailOut]


class DueRowOut(BaseModel):
    resident_id: int
    name: str
    village_code: str
    birth_date: dt.date
    check: str
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    status: str

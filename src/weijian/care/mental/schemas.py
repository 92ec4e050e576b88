"""Shapes of severe mental illness management: the commands every write takes (registering a patient with
the informed consent, a follow-up, closing a registration; core.commands — strict, each bad value refused
naming its field) and the API's answers. What needs the database, the clock or several fields is checked
by the service."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.care.chronic.schemas import Day
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command, refuse


def _resident(raw: Any) -> int:
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse("care.mental.errors.resident_not_found", resident_id=str(raw))
    return rid


Name = Annotated[str | None, Field(max_length=50)]
Note = Annotated[str | None, Field(max_length=2000)]
Grade = Annotated[int, Field(ge=0, le=5)]


class PatientRegister(Command):
    """登记在册: a resident with a confirmed diagnosis of one of the six diseases, the informed consent to
    community management (yes with the signer, the name and the day; no with the reason), the risk grade of
    the first assessment. The dates may be left out here: the service names them missing."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    disease: str
    icd10: Annotated[str, Field(max_length=10)]
    diagnosed_on: Day | None = None
    diagnosed_by: Annotated[str | None, Field(max_length=100)] = None
    registered_on: Day | None = None
    consent: bool
    consent_signer: str | None = None  # patient | guardian
    consent_signer_name: Name = None
    consent_on: Day | None = None
    no_consent_reason: Annotated[str | None, Field(max_length=500)] = None
    guardian_name: Name = None
    guardian_phone: Annotated[str | None, Field(max_length=20)] = None
    risk_grade: Grade = 0


class FollowUpCreate(Command):
    """随访: the risk grade (危险性评估), the state (symptoms, insight, social function, a serious drug reaction,
    a serious physical illness) and the adherence; the class and the next visit are the service's."""

    date: Day
    risk_grade: Grade
    symptoms: str
    insight: str
    social_function: str
    severe_adverse_reaction: bool = False
    severe_physical_illness: bool = False
    adherence: str
    referral_id: Id64 | None = None
    note: Note = None


class ConsentRecord(Command):
    """知情同意书 signed after the registration: who signed, the name, the day."""

    consent_signer: str | None = None
    consent_signer_name: Name = None
    consent_on: Day | None = None


class PatientClose(Command):
    closed_on: Day
    reason: str  # CLOSE_REASONS


# --- answers -----------------------------------------------------------------------------------------
class FollowUpOut(BaseModel):
    id: int
    date: dt.date
    risk_grade: int
    symptoms: str
    insight: str
    social_function: str
    severe_adverse_reaction: bool
    severe_physical_illness: bool
    adherence: str
    klass: str = Field(serialization_alias="class")
    next_visit_on: dt.date
    needs_referral: bool
    referral_id: int | None
    note: str | None
    rule_version: int

    @classmethod
    def of(cls, v: MentalFollowUp) -> FollowUpOut:
        return cls(id=v.id, date=v.date, risk_grade=v.risk_grade, symptoms=v.symptoms, insight=v.insight,
                   social_function=v.social_function, severe_adverse_reaction=v.severe_adverse_reaction,
                   severe_physical_illness=v.severe_physical_illness, adherence=v.adherence, klass=v.klass,
                   next_visit_on=v.next_visit_on, needs_referral=v.needs_referral, referral_id=v.referral_id,
                   note=v.note, rule_version=v.rule_version)


class PatientOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    disease: str
    icd10: str
    diagnosed_on: dt.date
    registered_on: dt.date
    consent: bool
    consent_signer: str | None
    consent_on: dt.date | None
    risk_grade: int
    klass: str | None = Field(serialization_alias="class")
    adherence: str | None
    last_visit_on: dt.date | None
    next_visit_on: dt.date | None
    due_status: str | None = None
    status: str
    rule_version: int

    @classmethod
    def of(cls, p: MentalPatient, *, resident_name: str | None = None, village_code: str | None = None,
           due_status: str | None = None) -> PatientOut:
        return cls(id=p.id, resident_id=p.resident_id, resident_name=resident_name, village_code=village_code,
                   disease=p.disease, icd10=p.icd10, diagnosed_on=p.diagnosed_on, registered_on=p.registered_on,
                   consent=p.consent, consent_signer=p.consent_signer, consent_on=p.consent_on,
                   risk_grade=p.risk_grade, klass=p.klass, adherence=p.adherence, last_visit_on=p.last_visit_on,
                   next_visit_on=p.next_visit_on, due_status=due_status, status=p.status,
                   rule_version=p.rule_version)


class PatientDetail(PatientOut):
    basis: str
    follow_ups: list[FollowUpOut]


class RegisterOut(BaseModel):
    as_of: dt.date
    counts: dict[str, int]
    items: list[PatientOut]

"""API shapes of two-way referral, remote consultation, the worklist and the referral-count figure. Inputs are
loose on purpose: the services check every value and name the field in the user's language."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from weijian.care import icd10
from weijian.care.referrals import ReferralItem
from weijian.care.teleconsult import ConsultationItem
from weijian.core.bounds import Id64


# --- input --------------------------------------------------------------------------------------
class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64 | None = None
    direction: str | None = None  # up | down
    to_facility_id: Id64 | None = None
    to_department: str | None = None
    out_of_county: bool = False
    outside_facility_name: str | None = None
    reason: str | None = None
    diagnosis: str | None = None  # ICD-10
    urgency: str | None = None  # routine | urgent
    summary: str | None = None  # the clinician's note; the latest encounters of the record are appended


class DownwardIn(BaseModel):
    """A downward referral back home after a completed upward one (to_facility_id: by default the facility
    that sent the patient up; diagnosis: by default the upward one's; summary: by default its discharge
    summary)."""

    model_config = ConfigDict(extra="forbid")

    to_facility_id: Id64 | None = None
    to_department: str | None = None
    reason: str | None = None
    diagnosis: str | None = None
    urgency: str | None = None
    summary: str | None = None


class ActionIn(BaseModel):
    """`version`: the referral's version the user saw; a different one answers 409."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = None


class RejectIn(ActionIn):
    reason: str | None = None


class CompleteIn(ActionIn):
    discharge_summary: str | None = None


class ConsultationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64 | None = None
    to_facility_id: Id64 | None = None
    department: str | None = None
    question: str | None = None
    urgency: str | None = None
    encounter_ids: list[int] | None = None  # the encounters to attach; the latest ones when absent


class ScheduleIn(ActionIn):
    specialist_id: Id64 | None = None
    specialist_username: str | None = None
    scheduled_at: datetime | None = None  # without a zone: Beijing time


class AnswerIn(ActionIn):
    opinion: str | None = None


# --- output -------------------------------------------------------------------------------------
class ReferralListItem(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    direction: str
    status: str
    urgency: str
    from_facility_id: int
    from_facility: str
    to_facility_id: int | None
    to_facility: str
    to_department: str | None
    out_of_county: bool
    diagnosis: str | None
    diagnosis_name: str | None
    requested_at: datetime
    deadline: datetime
    overdue: bool
    parent_id: int | None
    version: int

    @classmethod
    def of(cls, item: ReferralItem) -> ReferralListItem:
        r = item.referral
        dx = icd10.get(r.diagnosis)
        return cls(id=r.id, resident_id=r.resident_id, resident_name=item.resident_name, direction=r.direction,
                   status=r.status, urgency=r.urgency, from_facility_id=r.from_facility_id,
                   from_facility=item.from_facility, to_facility_id=r.to_facility_id, to_facility=item.to_facility,
                   to_department=r.to_department, out_of_county=r.out_of_county, diagnosis=r.diagnosis,
                   diagnosis_name=dx.name_zh if dx else None, requested_at=r.requested_at,
                   deadline=item.deadline, overdue=item.overdue, parent_id=r.parent_id, version=r.version)


class ReferralOut(ReferralListItem):
    from_clinician_name: str | None
    outside_facility_name: str | None
    reason: str
    summary: str | None
    responded_at: datetime | None
    responded_by: str | None
    reject_reason: str | None
    arrived_at: datetime | None
    completed_at: datetime | None
    discharge_summary: str | None

    @classmethod
    def of(cls, item: ReferralItem) -> ReferralOut:
        r = item.referral
        base = ReferralListItem.of(item).model_dump()
        return cls(**base, from_clinician_name=r.from_clinician_name, outside_facility_name=r.outside_facility_name,
                   reason=r.reason, summary=r.summary, responded_at=r.responded_at, responded_by=r.responded_by,
                   reject_reason=r.reject_reason, arrived_at=r.arrived_at, completed_at=r.completed_at,
                   discharge_summary=r.discharge_summary)


class ReferralPage(BaseModel):
    items: list[ReferralListItem]
    total: int
    page: int
    page_size: int


class InboxOut(ReferralPage):
    overdue: int  # overdue referrals in the whole inbox


class ConsultationListItem(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    status: str
    urgency: str
    from_facility_id: int
    from_facility: str
    requester_name: str | None
    to_facility_id: int
    to_facility: str
    department: str
    requested_at: datetime
    deadline: datetime
    overdue: bool
    specialist_id: int | None
    specialist_name: str | None
    scheduled_at: datetime | None
    answered_at: datetime | None
    version: int

    @classmethod
    def of(cls, item: ConsultationItem) -> ConsultationListItem:
        c = item.consultation
        return cls(id=c.id, resident_id=c.resident_id, resident_name=item.resident_name, status=c.status,
                   urgency=c.urgency, from_facility_id=c.from_facility_id, from_facility=item.from_facility,
                   requester_name=c.requester_name, to_facility_id=c.to_facility_id, to_facility=item.to_facility,
                   department=c.department, requested_at=c.requested_at, deadline=item.deadline,
                   overdue=item.overdue, specialist_id=c.specialist_id, specialist_name=c.specialist_name,
                   scheduled_at=c.scheduled_at, answered_at=c.answered_at, version=c.version)


class ConsultationOut(ConsultationListItem):
    question: str
    extracts: list[dict[str, Any]]
    opinion: str | None

    @classmethod
    def of(cls, item: ConsultationItem) -> ConsultationOut:
        c = item.consultation
        return cls(**ConsultationListItem.of(item).model_dump(), question=c.question, extracts=item.extracts,
                   opinion=c.opinion)


class ConsultationPage(BaseModel):
    items: list[ConsultationListItem]
    total: int
    page: int
    page_size: int


class FollowUpDue(BaseModel):
    registration_id: int
    resident_id: int
    resident_name: str
    program: str
    last_follow_up: date | None
    next_due: date
    status: str


class WorklistOut(BaseModel):
    today: date
    follow_ups: list[FollowUpDue] | None  # None: the chronic area is not installed
    downward_referrals: list[ReferralListItem]
    consultation_replies: list[ConsultationListItem]


class ReferralFigure(BaseModel):
    figure: str
    orgunit: str
    period: str
    numerator: int  # upward referrals
    denominator: int  # downward referrals
    value: float | None  # upward ÷ downward
    upward: int
    downward: int
    out_of_county: int
    definition: str

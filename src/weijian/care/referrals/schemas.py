"""Commands and answers of two-way referral (and of the worklist and the referral-count figure, which the
referral routes serve). Commands are strict (core.commands.Command): a bad value is refused before the
service runs, naming the field. A command for an action on a referral (accept … downward) keeps its fields
optional: the service looks the referral up first (a referral the user may not see answers 404, whatever
the body), then names what is missing."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from weijian.care import icd10
from weijian.care.referrals.queries import ReferralItem
from weijian.care.referrals.rules import DIRECTIONS, URGENCIES
from weijian.care.teleconsult.schemas import ConsultationListItem
from weijian.core.bounds import Id64
from weijian.core.commands import Command, refuse

DEPARTMENT_MAX = 50
NAME_MAX = 100


def _direction(value: str) -> str:
    if value not in DIRECTIONS:
        raise refuse("care.referrals.errors.direction_unknown", value=value)
    return value


def _urgency(value: str) -> str:
    if value not in URGENCIES:
        raise refuse("care.referrals.errors.urgency_unknown", value=value)
    return value


def _diagnosis(value: str) -> str:
    entry = icd10.get(value)
    if entry is None:
        raise refuse("care.errors.icd10_unknown", code=value)
    return entry.code


Direction = Annotated[str, AfterValidator(_direction)]  # up | down
Urgency = Annotated[str, AfterValidator(_urgency)]  # routine | urgent
Diagnosis = Annotated[str, AfterValidator(_diagnosis)]  # a listed ICD-10 code
Department = Annotated[str, Field(max_length=DEPARTMENT_MAX)]


# --- commands -------------------------------------------------------------------------------------
class ReferralCreate(Command):
    """A referral from the actor's facility. `summary`: the clinician's note; the latest encounters of the
    record are appended. Out of the county: `outside_facility_name` instead of `to_facility_id`."""

    resident_id: Id64
    direction: Direction
    to_facility_id: Id64 | None = None
    to_department: Department | None = None
    out_of_county: bool = False
    outside_facility_name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    reason: str
    diagnosis: Diagnosis
    urgency: Urgency = "routine"
    summary: str | None = None


class DownwardCreate(Command):
    """A downward referral back home after a completed upward one (to_facility_id: by default the facility
    that sent the patient up; diagnosis: by default the upward one's; summary: by default its discharge
    summary). `reason` is required (the service names it, after the upward referral is found)."""

    to_facility_id: Id64 | None = None
    to_department: Department | None = None
    reason: str | None = None
    diagnosis: Diagnosis | None = None
    urgency: Urgency = "routine"
    summary: str | None = None


class ActionIn(Command):
    """`version`: the referral's version the user saw; a different one answers 409."""

    version: Id64 | None = None


ARRIVAL_ENCOUNTER_TYPES = ("outpatient", "inpatient")


def _arrival_type(value: str) -> str:
    if value not in ARRIVAL_ENCOUNTER_TYPES:
        raise refuse("care.referrals.errors.arrival_type_unknown", value=value)
    return value


class ArriveIn(ActionIn):
    """The patient is received (接诊). `encounter_id`: the receiving facility's encounter already recorded for
    this visit or admission, linked to the referral; without it one is recorded now (`encounter_type`, by
    default an admission on an upward referral and a visit on a downward one) through care.records."""

    encounter_id: Id64 | None = None
    encounter_type: Annotated[str, AfterValidator(_arrival_type)] | None = None


class RejectIn(ActionIn):
    reason: str | None = None  # required; named as `reject_reason` by the service


class CompleteIn(ActionIn):
    discharge_summary: str | None = None  # required (the service names it)


# --- answers --------------------------------------------------------------------------------------
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
    expired: bool = False  # accepted, the patient did not arrive within the rules' arrival_days
    follow_up_due: date | None = None  # downward: the day the receiving clinic follows the patient up by
    follow_up_overdue: bool = False

    @classmethod
    def of(cls, item: ReferralItem) -> ReferralListItem:
        r = item.referral
        dx = icd10.get(r.diagnosis)
        return cls(id=r.id, resident_id=r.resident_id, resident_name=item.resident_name, direction=r.direction,
                   status=r.status, urgency=r.urgency, from_facility_id=r.from_facility_id,
                   from_facility=item.from_facility, to_facility_id=r.to_facility_id, to_facility=item.to_facility,
                   to_department=r.to_department, out_of_county=r.out_of_county, diagnosis=r.diagnosis,
                   diagnosis_name=dx.name_zh if dx else None, requested_at=r.requested_at,
                   deadline=item.deadline, overdue=item.overdue, parent_id=r.parent_id, version=r.version,
                   expired=item.expired, follow_up_due=item.follow_up_due,
                   follow_up_overdue=item.follow_up_overdue)


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


class FollowUpDue(BaseModel):
    registration_id: int
    resident_id: int
    resident_name: str
    program: str
    last_follow_up: date | None
    next_due: date
    status: str
    urgent: bool  # the latest follow-up called for an urgent referral (紧急转诊): listed first


class WorklistTask(BaseModel):
    """One task of the day's single list (care.worklist.tasks): urgent, overdue or due."""

    programme: str  # care.worklist.PROGRAMMES
    resident_id: int
    resident_name: str
    village_code: str
    due: date | None
    status: str  # urgent | overdue | due
    detail: str


class WorklistOut(BaseModel):
    today: date
    follow_ups: list[FollowUpDue] | None  # None: the chronic area is not installed
    downward_referrals: list[ReferralListItem]
    consultation_replies: list[ConsultationListItem]
    # Every package's tasks in one list (TB, mothers, children, the elderly, contracts, mental health too),
    # urgent first, then overdue, then due; filtered by `programme` and `village`, paged.
    tasks: list[WorklistTask]
    tasks_total: int


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

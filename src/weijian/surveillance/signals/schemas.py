"""Commands and answers of the early-warning signals. Every command field is optional: the signal is looked up
first (one the user may not see answers 404, whatever the body), then the service names what is missing."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from weijian.core.bounds import Id64
from weijian.core.commands import Command
from weijian.surveillance.signals.models import Signal

MAX_LINKED = 200


class SignalAction(Command):
    """`version`: the signal's version the user saw; a different one answers 409."""

    version: Id64 | None = None


class VerifyIn(SignalAction):
    """The county CDC's verification: `outcome` "true" (a true signal: respond) or "false" (a false signal,
    with a `note` saying why)."""

    outcome: str | None = None
    note: str | None = None


class RespondIn(SignalAction):
    """The response to a true signal: the field investigation (`notes`), the `measures` taken, and the case
    reports linked to the signal (ids; added to those already linked). Repeatable until closed."""

    notes: str | None = None
    measures: str | None = None
    case_report_ids: list[Id64] | None = Field(None, max_length=MAX_LINKED)

    @field_validator("case_report_ids", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # The page's one text field: "12, 15 17" (commas, spaces or 、 between the ids).
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(v, str) for v in items):
            return [p for v in items for p in v.replace("、", " ").replace(",", " ").replace("，", " ").split()]
        return value


class CloseIn(SignalAction):
    note: str | None = None


class SignalOut(BaseModel):
    id: int
    disease_code: str
    orgunit_code: str
    method: str
    signal_date: date
    value: float | None
    threshold: float
    figures: dict[str, Any]
    state: str
    detected_at: datetime
    verify_due_at: datetime
    overdue: bool
    verified_at: datetime | None
    verified_by: str | None
    verification_note: str | None
    responded_at: datetime | None
    responded_by: str | None
    response_notes: str | None
    measures: str | None
    closed_at: datetime | None
    closed_by: str | None
    hours_to_verify: float | None
    hours_to_respond: float | None
    case_report_ids: list[int]
    version: int

    @classmethod
    def of(cls, signal: Signal, *, overdue: bool, case_report_ids: list[int], hours_to_verify: float | None,
           hours_to_respond: float | None) -> SignalOut:
        return cls(id=signal.id, disease_code=signal.disease_code, orgunit_code=signal.orgunit_code,
                   method=signal.method, signal_date=signal.signal_date, value=signal.value,
                   threshold=signal.threshold, figures=json.loads(signal.figures or "{}"), state=signal.state,
                   detected_at=signal.detected_at, verify_due_at=signal.verify_due_at, overdue=overdue,
                   verified_at=signal.verified_at, verified_by=signal.verified_by,
                   verification_note=signal.verification_note, responded_at=signal.responded_at,
                   responded_by=signal.responded_by, response_notes=signal.response_notes,
                   measures=signal.measures, closed_at=signal.closed_at, closed_by=signal.closed_by,
                   hours_to_verify=hours_to_verify, hours_to_respond=hours_to_respond,
                   case_report_ids=case_report_ids, version=signal.version)


class SignalPage(BaseModel):
    items: list[SignalOut]
    total: int


class RunOut(BaseModel):
    as_of: date
    days: int
    series: int
    signals_found: int
    signals_new: int


class TimelinessOut(BaseModel):
    """The indicator "signal verification within the limit" and the median hours to verify and to respond."""

    start: date
    end: date
    signals: int
    due: int
    within_limit: int
    share_within_limit: float | None
    overdue: int
    median_hours_to_verify: float | None
    median_hours_to_respond: float | None

    @classmethod
    def of(cls, t: Any) -> TimelinessOut:
        return cls(start=t.start, end=t.end, signals=t.signals, due=t.due, within_limit=t.within_limit,
                   share_within_limit=t.share_within_limit, overdue=t.overdue,
                   median_hours_to_verify=t.median_hours_to_verify, median_hours_to_respond=t.median_hours_to_respond)

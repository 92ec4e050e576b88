"""API shapes of the indicators domain."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from weijian.core.commands import Command
from weijian.indicators.definitions import Indicator, Term


class TermOut(BaseModel):
    measure: str
    filters: dict[str, Any]

    @classmethod
    def of(cls, term: Term) -> TermOut:
        return cls(measure=term.measure, filters=term.filter_dict)


class TargetOut(BaseModel):
    op: str
    value: float
    amber: float | None = None


class IndicatorOut(BaseModel):
    id: str
    name: str
    name_zh_CN: str
    name_en: str
    category: str
    numerator: TermOut
    denominator: TermOut | None
    factor: int
    unit: str
    decimals: int
    target: TargetOut | None
    source: str

    @classmethod
    def of(cls, ind: Indicator, locale: str) -> IndicatorOut:
        t = ind.target
        return cls(id=ind.id, name=ind.name(locale), name_zh_CN=ind.name_zh, name_en=ind.name_en,
                   category=ind.category, numerator=TermOut.of(ind.numerator),
                   denominator=TermOut.of(ind.denominator) if ind.denominator else None, factor=ind.factor,
                   unit=ind.unit(locale), decimals=ind.decimals,
                   target=TargetOut(op=t.op, value=float(t.value), amber=float(t.amber) if t.amber is not None
                                    else None) if t else None, source=ind.source)


class ValueOut(BaseModel):
    indicator: str
    orgunit: str
    orgunit_name: str
    level: str
    period: str
    numerator: int | float | None
    denominator: int | float | None
    value: int | float | None
    target: int | float | None
    status: str | None


class ValuesOut(BaseModel):
    indicator: IndicatorOut
    values: list[ValueOut]


class RecordOut(BaseModel):
    resident_id: int | None
    name: str | None
    id_number: str | None
    village_code: str | None
    village_name: str | None
    date: date | None
    facility: str | None
    detail: str | None
    quantity: float | None = None  # what the row adds to a summed figure (beds, money)


class RecordsOut(BaseModel):
    indicator: str
    orgunit: str
    period: str
    columns: list[str]
    total: int
    page: int
    page_size: int
    which: str = Field("counted", serialization_alias="list")  # counted | missing
    lists: list[str] = ["counted"]  # the lists this figure has
    per: str = "record"  # what one row is: record | person | facility
    quantity: float | None = None  # the rows' quantities added up, every page
    rows: list[RecordOut]


# --- the statistics office's year-end resident population (indicators.population) -------------------
class PopulationSet(Command):
    """The year-end resident population (常住人口) of an org unit for a year, as the statistics office
    published it (the API's body, the page's form, `weijian indicators population set`)."""

    orgunit: str = Field(min_length=12, max_length=12)
    year: int = Field(ge=1949, le=2100)
    value: int = Field(ge=0, le=100_000_000)
    source: str | None = Field(default=None, max_length=200)


class PopulationOut(BaseModel):
    orgunit: str
    year: int
    value: int
    source: str | None
    entered_by: str
    entered_at: datetime


# --- approved periods (indicators.approval) ----------------------------------------------------------
class ApprovalCreate(Command):
    """Approve (lock) an org unit's figures for a period that has ended (`2025`, `2025Q3`, `202509`)."""

    orgunit: str = Field(min_length=12, max_length=12)
    period: str = Field(min_length=4, max_length=8)
    note: str | None = Field(default=None, max_length=500)


class ApprovalUnapprove(Command):
    """Lift an approval; the reason is required and kept."""

    reason: str = Field(min_length=1, max_length=500)


class ApprovalOut(BaseModel):
    id: int
    orgunit: str
    period: str
    approved_at: datetime
    approved_by: str
    note: str | None
    active: bool
    unapproved_at: datetime | None
    unapproved_by: str | None
    unapprove_reason: str | None
    corrections: int

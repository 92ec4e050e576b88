"""Shapes of the elderly's annual service: the commands of the two writes (a self-care assessment with the
auxiliary tests; a TCM constitution form) and the API's answers. Levels, test results, the 33 answers and
the resident's age are checked by the service, which names each field it refuses."""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.care.chronic.schemas import Day
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command, refuse

Note = Annotated[str | None, Field(max_length=2000)]
Level = Annotated[str | None, Field(max_length=16)]


def _resident(raw: Any) -> int:
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse("care.elderly.errors.resident_not_found", resident_id=str(raw))
    return rid


def _answer(raw: Any) -> int | None:
    """One answer as typed: blank is unanswered; a non-number is 0 (refused as out of 1–5 by the service)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    n = None if isinstance(raw, bool) else whole_number(raw)
    return 0 if n is None else n


Answer = Annotated[int | None, BeforeValidator(_answer)]


class TestResult(Command):
    result: Annotated[str, Field(max_length=16)]
    note: Annotated[str | None, Field(max_length=500)] = None


class SelfCareCreate(Command):
    """老年人生活自理能力评估 (the level chosen for each of the five items) with the auxiliary tests of the
    year's health check (elderly.yaml tests → result normal / abnormal / not_done)."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    date: Day | None = None
    health_check_id: Id64 | None = None  # default: the resident's annual_65 check of the same year, if any
    eating: Level = None
    grooming: Level = None
    dressing: Level = None
    toileting: Level = None
    activity: Level = None
    tests: dict[str, TestResult] = Field(default_factory=dict)
    note: Note = None


class TcmCreate(Command):
    """中医体质辨识: the 33 answers (1–5, question 1 first; none may be left out) and the guidance given."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    date: Day | None = None
    answers: Annotated[list[Answer], Field(max_length=40)] = Field(default_factory=list)
    guidance: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=10)] = Field(
        default_factory=list)
    guidance_other: Note = None


class SelfCareOut(BaseModel):
    id: int
    resident_id: int
    date: dt.date
    health_check_id: int | None
    levels: dict[str, str]
    scores: dict[str, int]
    total: int
    band: str
    tests: dict[str, dict[str, Any]]
    rule_version: int
    note: str | None

    @classmethod
    def of(cls, a: ElderlyAssessment) -> SelfCareOut:
        return cls(id=a.id, resident_id=a.resident_id, date=a.date, health_check_id=a.health_check_id,
                   levels=json.loads(a.levels),
                   scores={"eating": a.eating, "grooming": a.grooming, "dressing": a.dressing,
                           "toileting": a.toileting, "activity": a.activity},
                   total=a.total, band=a.band, tests=json.loads(a.tests), rule_version=a.rule_version, note=a.note)


class TcmOut(BaseModel):
    id: int
    resident_id: int
    date: dt.date
    answers: list[int]
    scores: dict[str, int]
    verdicts: dict[str, str]
    main: str | None
    guidance: list[str]
    guidance_other: str | None
    rule_version: int

    @classmethod
    def of(cls, t: TcmAssessment) -> TcmOut:
        return cls(id=t.id, resident_id=t.resident_id, date=t.date, answers=[int(c) for c in t.answers],
                   scores=json.loads(t.scores), verdicts=json.loads(t.verdicts), main=t.main,
                   guidance=[g for g in (t.guidance or "").split(",") if g], guidance_other=t.guidance_other,
                   rule_version=t.rule_version)


class ScoreIn(Command):
    """A form scored without storing it (the API's and the CLI's calculator)."""

    answers: Annotated[list[Answer], Field(max_length=40)]


class ScoreOut(BaseModel):
    scores: dict[str, int]
    verdicts: dict[str, str]
    identified: list[str]
    main: str | None
    rule_version: int


class ElderlyRecordOut(BaseModel):
    resident_id: int
    age: int
    year: int
    health_check_dates: list[dt.date]
    self_care: list[SelfCareOut]
    tcm: list[TcmOut]


class DueRowOut(BaseModel):
    resident_id: int
    name: str
    village_code: str
    age: int
    missing: list[str]

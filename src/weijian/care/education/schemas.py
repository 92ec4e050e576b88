"""Shapes of health education: the command recording an activity (core.commands — strict, each bad value
refused naming its field) and the API's answers. What needs the database, the clock or the facility's type
is checked by the service; a photo is checked by the service from its bytes."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.care.chronic.schemas import Day
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.core.bounds import Id64
from weijian.core.commands import Command


class ActivityCreate(Command):
    """One activity: its kind (data/health_education.yaml), day, topic (for materials and video: the title,
    one 种), place and audience (people reached; copies handed out, for materials). `facility_id`: the
    actor's facility when left out."""

    kind: Annotated[str, Field(max_length=16)]
    date: Day
    topic: Annotated[str, Field(min_length=1, max_length=200)]
    place: Annotated[str | None, Field(max_length=200)] = None
    audience: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    facility_id: Id64 | None = None


class PhotoOut(BaseModel):
    id: int
    content_type: str
    size_bytes: int
    width: int
    height: int
    original_name: str | None
    url: str

    @classmethod
    def of(cls, p: EducationPhoto) -> PhotoOut:
        return cls(id=p.id, content_type=p.content_type, size_bytes=p.size_bytes, width=p.width, height=p.height,
                   original_name=p.original_name, url=f"/care/education/photos/{p.id}")


class ActivityOut(BaseModel):
    id: int
    facility_id: int
    facility_name: str | None = None
    kind: str
    date: dt.date
    topic: str
    place: str | None
    audience: int
    created_by: str | None
    photos: list[PhotoOut]

    @classmethod
    def of(cls, a: EducationActivity, facility_name: str | None = None) -> ActivityOut:
        return cls(id=a.id, facility_id=a.facility_id, facility_name=facility_name, kind=a.kind, date=a.date,
                   topic=a.topic, place=a.place, audience=a.audience, created_by=a.created_by,
                   photos=[PhotoOut.of(p) for p in a.photos])


class KindOut(BaseModel):
    kind: str
    done: int
    minimum: int | None
    expected: int
    state: str


class FacilityCompletionOut(BaseModel):
    facility_id: int
    facility_name: str
    facility_type: str
    orgunit_code: str
    behind: int
    kinds: list[KindOut]


class CompletionOut(BaseModel):
    year: int
    as_of: dt.date
    facilities: list[FacilityCompletionOut]

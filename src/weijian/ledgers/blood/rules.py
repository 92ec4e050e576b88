"""The rules of voluntary blood donation as data (data/blood.yaml: GB 18467-2011's ages, volumes and
intervals, the 无偿献血奉献奖 thresholds), read and validated at first use (`rules()`), and the pure
arithmetic on them: a person's age on a day, the first day a donation of one kind may follow another, the
honours count of a donation and the award a count reaches."""
from __future__ import annotations

import calendar
import datetime as dt
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import RulesInvalid

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "blood.yaml"
KINDS = ("whole_blood", "platelets")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeLimits(_Strict):
    min: Annotated[int, Field(ge=16, le=70)]
    max: Annotated[int, Field(ge=16, le=70)]
    repeat_max: Annotated[int, Field(ge=16, le=70)]


class Kind(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    volumes_ml: tuple[int, ...] = ()
    units: tuple[int, ...] = ()
    max_per_year: int | None = None

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class Interval(_Strict):
    months: Annotated[int, Field(ge=0, le=24)] = 0
    weeks: Annotated[int, Field(ge=0, le=104)] = 0

    def after(self, day: dt.date) -> dt.date:
        """The first day a donation may be made this interval after one on `day`."""
        return add_months(day, self.months) + dt.timedelta(weeks=self.weeks)


class Award(_Strict):
    code: str
    zh: str
    en: str
    donations: Annotated[int, Field(ge=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class Honours(_Strict):
    count_ml_per_donation: Annotated[int, Field(ge=1)]
    count_per_platelet_unit: Annotated[int, Field(ge=1)]
    awards: tuple[Award, ...]


class BloodRules(_Strict):
    version: int
    age: AgeLimits
    kinds: dict[str, Kind]
    intervals: dict[str, dict[str, Interval]]
    honours: Honours

    def interval(self, last: str, following: str) -> Interval:
        return self.intervals[last][following]


def load(path: Path = DATA_FILE) -> BloodRules:
    """Read and validate the file (RulesInvalid naming each bad key path): both kinds, an interval for each
    pair of kinds, the awards in rising order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = BloodRules.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None
    if set(parsed.kinds) != set(KINDS):
        raise RulesInvalid.one(path.name, "kinds", "the kinds are whole_blood and platelets")
    for last in KINDS:
        if set(parsed.intervals.get(last, {})) != set(KINDS):
            raise RulesInvalid.one(path.name, f"intervals.{last}", "an interval to each kind is needed")
    if not parsed.age.min < parsed.age.max <= parsed.age.repeat_max:
        raise RulesInvalid.one(path.name, "age", "min < max <= repeat_max")
    counts = [a.donations for a in parsed.honours.awards]
    if counts != sorted(set(counts)):
        raise RulesInvalid.one(path.name, "honours.awards", "awards in rising order of donations")
    return parsed


@cache
def rules() -> BloodRules:
    """data/blood.yaml, read once."""
    return load()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day number `months` later, or that month's last day when it is shorter (31 August + 6 months
    = 28 February, or 29 in a leap year)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Completed years (周岁) on `day`; one born on 29 February has a birthday on 1 March in a common year."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def earliest_next(last_kind: str, last_on: dt.date, next_kind: str) -> dt.date:
    """The first day a donation of `next_kind` may follow one of `last_kind` made on `last_on`."""
    return rules().interval(last_kind, next_kind).after(last_on)


def honours_count(kind: str, volume_ml: int | None, units: int | None) -> int:
    """How many donations one counts for the awards: whole blood per 200 ml (400 ml = 2), platelets per
    therapeutic unit."""
    h = rules().honours
    if kind == "whole_blood":
        return (volume_ml or 0) // h.count_ml_per_donation
    return (units or 0) * h.count_per_platelet_unit


def award_for(count: int) -> Award | None:
    """The highest award `count` donations reach, if any."""
    reached = [a for a in rules().honours.awards if count >= a.donations]
    return reached[-1] if reached else None
